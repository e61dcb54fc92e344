"""Inventory changes to a running domain, through playbooks/domains.yml on the lab.

Needs a lab host on which playbooks/site.yml has run with the lab inventory (`make demo`,
or the molecule default scenario with `molecule converge`): domain `web` of
playbooks/inventory/host_vars/lab1.yml running. XENOPS_LAB_RUN_DIR selects the lab.
The test overrides xen_domains with extra vars (the inventory's list, with web changed):

  1. web's memory lowered: applied live (xl mem-set), same domid, no restart;
  2. a data disk added with restart never: the volume is created, the config file
     written, the play reports that web needs a restart, web keeps running as it was;
  3. the same with restart if_needed: web is restarted with the disk and answers on SSH;
  4. back to the inventory as it is: web restarted without the disk, the volume removed
     (xen_lv, which refuses while a running domain uses it).

Not part of `make test` (it needs the domains installed, which takes most of an hour
under QEMU without KVM); run it after `make demo`:
    .venv/bin/python -m pytest -v -s tests/lab/test_lab_domains_changes.py
"""

import copy
import json
import os
import time

import pytest
import yaml

import labkit

labkit.skip_unless_enabled()

LAB = labkit.Lab(run_dir=os.environ.get("XENOPS_LAB_RUN_DIR") or None)
INVENTORY_DIR = os.path.join(labkit.REPO, "playbooks", "inventory")
PLAYBOOK = os.path.join(labkit.REPO, "playbooks", "domains.yml")
CONNECTION = os.path.join(labkit.REPO, ".tmp", "lab-domains-changes-inventory.yml")
VARS = os.path.join(labkit.REPO, ".tmp", "lab-domains-changes-vars.json")
WEB_IP = "192.0.2.10"
DATA = {"function": "data", "size": "64M", "fstype": "ext4", "vdev": "xvdc"}

with open(os.path.join(INVENTORY_DIR, "host_vars", "lab1.yml")) as _fh:
    DOMAINS = yaml.safe_load(_fh)["xen_domains"]


def web_row():
    """(domid, memory MiB) of web from `xl list web`."""
    fields = LAB.must("xl list web").strip().splitlines()[1].split()
    return int(fields[1]), int(fields[2])


def play(change):
    """domains.yml with xen_domains = the inventory's, web changed by ``change``: (rc, output, seconds)."""
    domains = copy.deepcopy(DOMAINS)
    for dom in domains:
        if dom["name"] == "web":
            change(dom)
    with open(VARS, "w") as fh:
        json.dump({"xen_domains": domains}, fh)
    t0 = time.time()
    rc, out = LAB.playbook(os.path.join(INVENTORY_DIR, "lab.yml"), PLAYBOOK, "-i", CONNECTION, "-e", "@" + VARS,
                           timeout=3600)
    return rc, out, time.time() - t0


def recap_changed(out):
    line = [l for l in out.splitlines() if l.startswith(LAB.host + " ") and "changed=" in l][-1]
    return int(line.split("changed=")[1].split()[0])


def answers_ssh(address, timeout=300):
    end = time.time() + timeout
    while time.time() < end:
        if LAB.ssh("timeout 5 bash -c 'exec 3<>/dev/tcp/%s/22 && head -c 7 <&3'" % address)[1].startswith("SSH-2.0"):
            return True
        time.sleep(5)
    return False


@pytest.fixture(scope="module", autouse=True)
def host():
    labkit.ensure_collection()
    labkit.must(LAB.lab("wait", LAB.host, "--timeout", "120"), "%s is not up" % LAB.host)
    LAB.inventory(CONNECTION)
    if LAB.ssh("xl list web")[0] != 0:
        pytest.fail("domain web does not run on %s: run `make demo` first" % LAB.host)
    yield
    # whatever happened: back to the inventory as it is
    play(lambda web: web.update(restart="if_needed"))


def test_lower_memory_is_applied_live():
    domid, memory = web_row()
    lower = memory - 32
    rc, out, seconds = play(lambda web: web.update(memory=lower, maxmem=web["memory"]))
    assert rc == 0, out[-4000:]
    assert recap_changed(out) >= 1
    assert "needs a restart" not in out, out[-4000:]
    end = time.time() + 120
    while time.time() < end and web_row()[1] > lower + 1:
        time.sleep(5)
    assert web_row()[0] == domid
    assert web_row()[1] <= lower + 1
    assert "memory = %d\n" % lower in LAB.must("cat /etc/xen/web.cfg")
    print("\nmemory %d -> %d MiB live: %.0f s" % (memory, lower, seconds))


def test_added_disk_is_reported_with_restart_never():
    domid, _memory = web_row()
    rc, out, _seconds = play(lambda web: web["disks"].append(dict(DATA)))
    assert rc == 0, out[-4000:]
    # xen_domain's warning (Ansible folds long warnings over several lines)
    assert "domain web runs with an older configuration and needs a restart" in " ".join(out.split()), out[-4000:]
    assert "disk xvdc is not attached to the running domain" in out
    assert web_row()[0] == domid
    assert "vdev=xvdc" in LAB.must("cat /etc/xen/web.cfg")
    assert LAB.ssh("lvs vg_xen/web-data")[0] == 0
    assert "xvdc" not in LAB.must("xl block-list web") and "51744" not in LAB.must("xl block-list web")


def test_added_disk_with_restart_if_needed_restarts_web():
    domid, _memory = web_row()
    rc, out, seconds = play(lambda web: (web["disks"].append(dict(DATA)), web.update(restart="if_needed")))
    assert rc == 0, out[-4000:]
    assert web_row()[0] != domid
    assert "51744" in LAB.must("xl block-list web")  # xvdc
    assert answers_ssh(WEB_IP)
    print("\nrestart of web with a new disk: play %.0f s" % seconds)


def test_back_to_the_inventory_and_the_volume_removed():
    domid, _memory = web_row()
    rc, out, _seconds = play(lambda web: web.update(restart="if_needed"))
    assert rc == 0, out[-4000:]
    assert web_row()[0] != domid
    assert "51744" not in LAB.must("xl block-list web")
    result, _seconds, _printed = LAB.module(CONNECTION, "xenops.xen.xen_lv",
                                            {"vg": "vg_xen", "name": "web-data", "state": "absent"})
    assert result["failed"] is False, result
    assert LAB.ssh("lvs vg_xen/web-data")[0] != 0
    assert answers_ssh(WEB_IP)
