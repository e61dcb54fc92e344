"""A network driver domain on the lab's Xen: a domain that serves the vif of another one.

On a lab dom0 (run dir .tmp/lab-driver, from its xen-ready snapshot when there is one),
playbooks/site.yml (roles hypervisor, storage, network, domains; not kernel and grub,
the snapshot already boots Xen) with two domains instead of the lab inventory's:

- ``dd``, a driver domain (``driver_domain: true``): its first vif on dom0's xenbr0 (for
  SSH), and inside it the bridge ``lan0`` with 10.77.0.1/24 and no uplink; its base system
  has xen-utils, and its service xenops-backend runs ``xl devd``;
- ``client``, whose only vif names ``dd`` as backend: 10.77.0.10/24 on ``lan0``.

Then: the client's vif has dd as backend (``xl network-list``), dd reaches the client on
lan0, and dom0 has no vif of the client, no address on lan0 and the client's MAC on none of
its bridges; a re-run changes nothing; with
dd's backend service stopped, the client's start fails after backend_timeout with dd's
console log instead of hanging, and starts once the service runs again; after a reboot of
dom0 the boot service starts dd, waits for its backends and starts the client (before
xendomains); the first vif hotplug in dd after the reboot is made to outlast libxl's 40 s (as
on a busy host), and the boot service attaches that vif again, so the client answers on lan0.

`make lab-driver-domain`; not part of `make test`. XENOPS_LAB=skip skips it. Timings go to
.tmp/lab-driver/timings.json.
"""

import json
import os
import re
import subprocess
import time

import pytest

import labkit

labkit.skip_unless_enabled()

RUN_DIR = os.path.join(labkit.REPO, ".tmp", "lab-driver")
LAB = labkit.Lab(run_dir=RUN_DIR)
must = labkit.must
TIMINGS = {}
DD_IP = "192.0.2.30"
CLIENT_IP = "10.77.0.10"
VIF_BRIDGE = "/etc/xen/scripts/vif-bridge"
VIF_BRIDGE_ORIG = "/root/vif-bridge.orig"
SLOW_MARK = "/var/lib/xenops-test-slow-hotplug"
DOMAINS = [
    # the client first: the role and xen_domain start the driver domain before it anyway
    {"name": "client", "memory": 160, "vcpus": 1,
     "disks": [{"function": "root", "size": "1G", "fstype": "ext4"}],
     "vifs": [{"backend": "dd", "ip": CLIENT_IP + "/24"}]},
    {"name": "dd", "driver_domain": True, "memory": 256, "vcpus": 1,
     "disks": [{"function": "root", "size": "1G", "fstype": "ext4"}],
     "vifs": [{"bridge": "xenbr0", "ip": DD_IP + "/24", "gateway": "192.0.2.1"}],
     "bridges": [{"name": "lan0", "addresses": ["10.77.0.1/24"]}]},
]
VARS = os.path.join(RUN_DIR, "driver-domain-vars.json")


@pytest.fixture(scope="module")
def dom0():
    yield from labkit.xen_dom0(LAB, RUN_DIR, TIMINGS)


def play(dom0, name, check=False, **extra):
    """site.yml (no kernel, no grub) with the two domains, in check mode with --diff when ``check``: (rc, output);
    the log goes to the run dir."""
    with open(VARS, "w") as fh:
        json.dump(dict({"xen_domains": DOMAINS}, **extra), fh)
    t0 = time.time()
    rc, out = LAB.playbook(os.path.join(labkit.REPO, "playbooks", "inventory", "lab.yml"),
                           os.path.join(labkit.REPO, "playbooks", "site.yml"), "-i", dom0["inventory"],
                           "--tags", "hypervisor,storage,network,domains", "-e", "@" + VARS,
                           *(["--check", "--diff"] if check else []), timeout=5400)
    TIMINGS[name + "_seconds"] = round(time.time() - t0)
    with open(os.path.join(RUN_DIR, name + ".log"), "w") as fh:
        fh.write(out)
    return rc, out


def dd_ssh(dom0, cmd, timeout=120):
    """Run ``cmd`` in the driver domain over SSH through dom0 (the lab's key is root's key in the domains)."""
    host = dom0["host"]
    opts = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
            "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR", "-i", host["ansible_ssh_private_key_file"]]
    proxy = "ssh %s -p %s -W %%h:%%p root@%s" % (" ".join(opts), host["ansible_port"], host["ansible_host"])
    proc = subprocess.run(["ssh"] + opts + ["-o", "ProxyCommand=" + proxy, "root@" + DD_IP, cmd],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, check=False)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def wait_for(what, probe, timeout):
    """Call ``probe()`` every 5 s until it returns true; the seconds it took, or fail."""
    t0 = time.time()
    last = None
    while time.time() - t0 < timeout:
        last = probe()
        if last and last[0]:
            return round(time.time() - t0)
        time.sleep(5)
    pytest.fail("%s: not within %d s; last: %r" % (what, timeout, last))


def client_answers(dom0):
    rc, out = dd_ssh(dom0, "ping -c 2 -W 3 %s" % CLIENT_IP)
    return rc == 0, out


def xendomains_active():
    rc, out = LAB.ssh("systemctl is-active xendomains.service")
    return out.strip() == "active", out


def domid(name):
    return int(LAB.must("xl domid %s" % name).strip())


def test_site_makes_the_driver_domain_and_its_client(dom0):
    rc, out = play(dom0, "converge")
    assert rc == 0, out[-6000:]
    recap = LAB.recap(out)
    TIMINGS["converge_recap"] = recap
    assert recap["failed"] == 0 and recap["changed"] > 0
    cfg = LAB.must("cat /etc/xen/dd.cfg")
    assert "driver_domain = 1" in cfg, cfg
    assert re.search(r'"mac=[0-9a-f:]+,bridge=lan0,backend=dd"', LAB.must("cat /etc/xen/client.cfg"))
    # the domains' initramfs has the backend drivers for the driver domain
    modules = LAB.must("lsinitramfs /var/lib/xenops-xen/initramfs/initrd.img-$(uname -r)")
    assert "xen-netback.ko" in modules and "/bridge.ko" in modules


def test_the_client_vif_is_served_by_the_driver_domain(dom0):
    dd, client = domid("dd"), domid("client")
    rows = LAB.must("xl network-list client").strip().splitlines()
    assert len(rows) == 2, rows
    # Idx BE Mac Addr. handle state evt-ch tx-/rx-ring-ref BE-path
    fields = rows[1].split()
    assert int(fields[1]) == dd and fields[4] == "4", rows   # backend domain, state 4 (connected)
    assert "/local/domain/%d/backend/vif/%d/0" % (dd, client) in rows[1]
    mac = fields[2]
    TIMINGS["client_answers_after"] = wait_for("client answers dd on lan0", lambda: client_answers(dom0), 600)
    # dom0 carries none of the client's traffic: no vif of it, no address on its LAN, its MAC on none of
    # dom0's bridges (dom0's default route leads to QEMU's user network, which answers pings itself)
    assert "vif%d." % client not in LAB.must("ip -o link show")
    assert " 10.77.0." not in LAB.must("ip -o addr show")
    assert mac not in LAB.must("bridge fdb show").lower()
    rc, out = dd_ssh(dom0, "systemctl is-active xenops-backend; ip -o link show master lan0")
    assert rc == 0 and out.startswith("active"), out
    assert "vif%d.0" % client in out, out


def test_a_second_run_changes_nothing(dom0):
    rc, out = play(dom0, "check", check=True)
    assert rc == 0, out[-6000:]
    recap = LAB.recap(out)
    TIMINGS["check_recap"] = recap
    assert recap["changed"] == 0, out[-6000:]
    rc, out = play(dom0, "rerun")
    assert rc == 0, out[-6000:]
    recap = LAB.recap(out)
    TIMINGS["rerun_recap"] = recap
    assert recap["changed"] == 0, out[-6000:]


def test_the_client_does_not_start_while_its_driver_domain_serves_no_backends(dom0):
    LAB.must("xl destroy client")
    rc, out = dd_ssh(dom0, "systemctl stop xenops-backend && systemctl is-active xenops-backend || true")
    assert "inactive" in out, out
    assert LAB.ssh("xenstore-read /local/domain/%d/data/xenops-backend" % domid("dd"))[0] != 0
    # check mode says the client would start, and neither waits for dd nor starts it
    rc, out = play(dom0, "check-not-ready", check=True, domains_backend_timeout=30)
    assert rc == 0, out[-6000:]
    assert LAB.recap(out)["changed"] > 0, out[-6000:]
    assert re.search(r"TASK \[xenops\.xen\.domains : Domains\][^\n]*\n(?:(?!TASK \[)[^\n]*\n)*?changed: \[lab1\]", out), out[-6000:]
    assert LAB.ssh("xl domid client")[0] != 0
    t0 = time.time()
    rc, out = play(dom0, "not-ready", domains_backend_timeout=30)
    TIMINGS["not_ready_failure_seconds"] = round(time.time() - t0)
    assert rc != 0, out[-6000:]
    assert "domain client was not started: its driver domain dd is not ready: it runs, but did not say it serves " \
           "its backends (data/xenops-backend in its xenstore home) within 30 seconds" in out, out[-6000:]
    assert "last lines of /var/log/xen/console/guest-dd.log" in out, out[-6000:]
    assert LAB.ssh("xl domid client")[0] != 0

    rc, out = dd_ssh(dom0, "systemctl start xenops-backend && systemctl is-active xenops-backend")
    assert rc == 0, out
    rc, out = play(dom0, "ready-again")
    assert rc == 0, out[-6000:]
    wait_for("client answers dd again", lambda: client_answers(dom0), 600)


def test_after_a_reboot_the_driver_domain_starts_before_its_client(dom0):
    assert LAB.must("systemctl is-enabled xenops-driver-domain-dd.service").strip() == "enabled"
    # the first vif hotplug in dd after the reboot sleeps 50 s, so libxl kills it after its 40 s
    slow = '[ "$1" = online ] && [ ! -e %s ] && touch %s && sleep 50' % (SLOW_MARK, SLOW_MARK)
    must(dd_ssh(dom0, "test -e %s || cp %s %s; rm -f %s; { head -n 1 %s; echo '%s'; tail -n +2 %s; } > %s"
                % (VIF_BRIDGE_ORIG, VIF_BRIDGE, VIF_BRIDGE_ORIG, SLOW_MARK, VIF_BRIDGE_ORIG, slow,
                   VIF_BRIDGE_ORIG, VIF_BRIDGE)), "slow vif-bridge in dd")
    try:
        t0 = time.time()
        must(LAB.lab("reboot", LAB.host, timeout=1800), "reboot lab1")
        TIMINGS["reboot_seconds"] = round(time.time() - t0)
        TIMINGS["client_answers_after_reboot"] = wait_for("client answers dd after the reboot",
                                                          lambda: client_answers(dom0), 900)
        # the client can answer before xendomains, ordered after the boot service, has finished
        wait_for("xendomains has started", xendomains_active, 600)
        log = LAB.must("journalctl -b -u xenops-driver-domain-dd.service -u xendomains.service --no-pager "
                       "-o short-monotonic")
        print(log[-3000:])
        # the slow hotplug ran, and the boot service attached that vif again
        assert must(dd_ssh(dom0, "ls %s" % SLOW_MARK), "the slow hotplug's mark").strip() == SLOW_MARK
        ready = log.index("serves its backends after")
        assert ready < log.index("vif 0 of client not connected by its hotplug script in dd"), log
        assert "attaching it again" in log, log
        assert log.index("attaching it again") < log.index("every vif it serves is connected"), log
        # the client started before xendomains, which found it running
        assert "Xen domain client already running" in log, log
        rows = LAB.must("xl network-list client").strip().splitlines()
        assert len(rows) == 2 and rows[1].split()[1] == str(domid("dd")) and rows[1].split()[4] == "4", rows
    finally:
        dd_ssh(dom0, "test -e %s && cp %s %s" % (VIF_BRIDGE_ORIG, VIF_BRIDGE_ORIG, VIF_BRIDGE))
