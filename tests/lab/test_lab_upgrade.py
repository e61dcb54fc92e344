"""A fleet upgraded from Debian 12 to Debian 13 with its domains running: playbooks/upgrade.yml -e xen_upgrade_release=trixie.

Two Debian 12 lab hosts (Xen 4.17) in their own run dir (.tmp/lab-upgrade), Xen installed on both at once the first
time and kept as the snapshot ``upgrade-ready``. Three busybox domains: ``u1`` whose disk DRBD replicates between
the hosts (in Xen's PV shim where both hosts have one: Debian's own kernel, unchanged), ``u2`` diskless PVH and
``u3`` PVH with a disk on a local LV (it moves cold). upgrade.yml runs once per host (lab1, then lab2); while one
host goes through it, the other one pings every domain every 0.1 s, so each domain's longest gap (its downtime,
live or cold) is measured from outside. Then every domain runs where the inventory puts it, both hosts run Debian 13
with Xen 4.20, DRBD is connected without a split brain, and a re-run of upgrade.yml and site.yml changes nothing.

A release upgrade under emulation takes hours: ``make lab-upgrade``, not part of ``make test``.
"""

import os
import re
import threading
import time

import pytest
import yaml

import labkit

REPO = labkit.REPO
RUN_DIR = os.path.join(REPO, ".tmp", "lab-upgrade")
LAB1 = labkit.Lab(RUN_DIR, "lab1")
LAB2 = labkit.Lab(RUN_DIR, "lab2")
HOSTS = {"lab1": LAB1, "lab2": LAB2}
ADDRESS = {"u1": "10.99.0.61", "u2": "10.99.0.62", "u3": "10.99.0.63"}
PLACE = {"lab1": ["u1", "u2"], "lab2": ["u3"]}
must = labkit.must

labkit.skip_unless_enabled()

DRBD_PLAY = """
- name: The volume of u1's disk on both hosts, replicated with DRBD over the shared lab network
  hosts: xen_hosts
  become: true
  gather_facts: false
  tasks:
    - name: drbd-utils
      ansible.builtin.apt:
        name: drbd-utils
        install_recommends: false
    - name: Volume u1-data
      xenops.xen.xen_lv:
        vg: vg_xen
        name: u1-data
        size: 64M
        fstype: none
    - name: DRBD resource u1-data
      xenops.xen.xen_drbd:
        name: u1-data
        disk: /dev/vg_xen/u1-data
        minor: 0
        port: 7791
        hosts:
          - {name: lab1, address: "{{ hostvars['lab1'].xenops_lab_shared_ip }}"}
          - {name: lab2, address: "{{ hostvars['lab2'].xenops_lab_shared_ip }}"}
"""


def has_shim(lab):
    """Whether the host's Xen ships the PV shim (Debian puts it in /usr/lib/xen-X.Y/boot)."""
    return lab.ssh("ls /usr/lib/xen-*/boot/xen-shim")[0] == 0


def domain(name, shim):
    extra = "console=hvc0 quiet xenops_ip=%s/24" % ADDRESS[name]
    if name == "u1":
        entry = {"name": name, "memory": 96, "vcpus": 1, "extra": extra, "vifs": [{"bridge": "xenbr0"}],
                 "disks": [{"type": "drbd", "function": "data", "vdev": "xvda"}]}
        if shim:
            # Debian's bzImage, unchanged, inside the shim: a PVH domain to the host
            entry.update(type="pvh", pvshim=True, kernel=labkit.BUSYBOX_KERNEL)
        return entry
    entry = {"name": name, "memory": 96, "vcpus": 1, "extra": extra, "vifs": [{"bridge": "xenbr0"}]}
    if name == "u3":
        entry["disks"] = [{"function": "data", "size": "128M", "fstype": "none", "vdev": "xvda"}]
    return entry


class Fleet(object):
    def __init__(self, tmp, shim):
        self.tmp = tmp
        self.shim = shim
        self.connection = LAB1.inventory(os.path.join(tmp, "lab.yml"))
        self.vars_dir = os.path.join(tmp, "fleet")
        for sub in ("group_vars", "host_vars"):
            os.makedirs(os.path.join(self.vars_dir, sub))
        with open(os.path.join(self.vars_dir, "hosts.yml"), "w") as fh:
            yaml.safe_dump({"all": {"children": {"xen_hosts": {"hosts": {"lab1": None, "lab2": None}}}}}, fh)
        # u3's disk is local: it moves cold; and so does a domain whose live move the Xen versions forbid
        group = labkit.busybox_fleet_group_vars(fleet_cold_moves=True)
        with open(os.path.join(self.vars_dir, "group_vars", "xen_hosts.yml"), "w") as fh:
            yaml.safe_dump(group, fh)
        for host in HOSTS:
            data = {"network_bridges": [{"name": "xenbr0", "uplink": "eth1", "method": "static",
                                         "addresses": ["{{ xenops_lab_shared_ip }}/24"]}],
                    "xen_domains": [domain(n, shim) for n in PLACE[host]]}
            with open(os.path.join(self.vars_dir, "host_vars", host + ".yml"), "w") as fh:
                yaml.safe_dump(data, fh)

    def playbook(self, play, *extra):
        t0 = time.time()
        path = play if os.path.isabs(play) else os.path.join(REPO, "playbooks", play)
        rc, out = LAB1.playbook(self.connection, path, "-i", self.vars_dir, *extra, timeout=6 * 3600)
        return rc, out, time.time() - t0


def running(host):
    out = must(HOSTS[host].ssh("xl list"), "xl list on " + host)
    return sorted(r.split()[0] for r in out.strip().splitlines()[1:] if not r.startswith("Domain-0"))


def release(host):
    out = must(HOSTS[host].ssh(". /etc/os-release; echo $VERSION_CODENAME; xl info | sed -n 's/^xen_version *: //p'"),
               "release of " + host)
    codename, xen = out.split()[-2:]
    return codename, xen


def _install(lab, errors):
    try:
        lab.install_xen()
        lab.busybox_boot_files(ssh=True)
    except BaseException as exc:  # pytest.fail raises an exception outside Exception
        errors.append("%s: %s" % (lab.host, exc))


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    t0 = time.time()
    must(LAB1.lab("up", "--hosts", "2", "--suite", "bookworm", timeout=3600), "lab up --hosts 2 --suite bookworm")
    ready = all("upgrade-ready" in lab.snapshots() for lab in HOSTS.values())
    if ready:
        rc, out = LAB1.lab("restore", "upgrade-ready", timeout=1800)
        ready = rc == 0 and all(lab.is_dom0() for lab in HOSTS.values())
    if not ready:
        errors = []
        threads = [threading.Thread(target=_install, args=(lab, errors)) for lab in HOSTS.values()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        must(LAB1.lab("snapshot", "upgrade-ready", timeout=1800), "snapshot upgrade-ready")
    assert {h: release(h)[0] for h in HOSTS} == {"lab1": "bookworm", "lab2": "bookworm"}
    shim = all(has_shim(lab) for lab in HOSTS.values())
    print("\nupgrade lab ready (%s): %.0f s; PV shim on both hosts: %s"
          % ("restored" if ready else "installed", time.time() - t0, shim))
    yield Fleet(str(tmp_path_factory.mktemp("upgrade")), shim)
    if not os.environ.get("XENOPS_UPGRADE_KEEP"):
        LAB1.lab("down")


def test_three_domains_run_on_two_debian_12_hosts(fleet):
    # the volume group and the bridge first, then u1's DRBD resource on both hosts, then the domains
    rc, out, seconds = fleet.playbook("site.yml", "--tags", "storage,network")
    assert rc == 0, out[-5000:]
    play = os.path.join(fleet.tmp, "drbd.yml")
    with open(play, "w") as fh:
        fh.write(DRBD_PLAY)
    rc, out, seconds = fleet.playbook(play)
    assert rc == 0, out[-5000:]
    rc, out, seconds = fleet.playbook("site.yml", "--tags", "storage,network,fleet,domains")
    print("\nsite.yml on 2 Debian 12 hosts, 3 domains: %.0f s" % seconds)
    assert rc == 0, out[-5000:]
    assert {h: running(h) for h in HOSTS} == PLACE
    print("releases before: %s" % {h: release(h) for h in HOSTS})


def _pinger(host):
    """Start a ping of every domain every 0.1 s on ``host`` (logs in /tmp/upgrade-ping-NAME.log)."""
    cmd = "; ".join("rm -f /tmp/upgrade-ping-{n}.log; (nohup ping -D -n -i 0.1 {a} > /tmp/upgrade-ping-{n}.log 2>&1 &)"
                    .format(n=n, a=a) for n, a in sorted(ADDRESS.items()))
    must(HOSTS[host].ssh(cmd + "; sleep 2"), "start the pings on " + host)


def _gaps(host):
    HOSTS[host].ssh("pkill -INT -f 'ping -D -n -i 0.1' ; sleep 1")
    gaps = {}
    for name in sorted(ADDRESS):
        log = must(HOSTS[host].ssh("cat /tmp/upgrade-ping-%s.log" % name), "ping log of " + name)
        stamps = [float(s) for s in re.findall(r"^\[(\d+\.\d+)\] \d+ bytes from", log, re.M)]
        assert len(stamps) > 10, (name, log[-1500:])
        gaps[name] = round(max(b - a for a, b in zip(stamps, stamps[1:])), 2)
    return gaps


@pytest.mark.parametrize("host, other", [("lab1", "lab2"), ("lab2", "lab1")])
def test_upgrade_one_host_to_debian_13_with_its_domains_running(fleet, host, other):
    _pinger(other)
    try:
        rc, out, seconds = fleet.playbook("upgrade.yml", "-e", "xen_upgrade_release=trixie",
                                          "-e", '{"xen_upgrade_hosts": ["%s"]}' % host)
    finally:
        gaps = _gaps(other)
    moves = re.findall(r"(\w+ moved (?:live in seconds|cold, down for seconds): [0-9.]+)", out)
    print("\nupgrade of %s to Debian 13: %.0f s; moves: %s; longest ping gap per domain (from %s): %s"
          % (host, seconds, "; ".join(moves), other, gaps))
    assert rc == 0, out[-6000:]
    assert release(host)[0] == "trixie" and release(host)[1].startswith("4.20."), release(host)
    assert {h: running(h) for h in HOSTS} == PLACE
    for name in ADDRESS:
        assert HOSTS[other].ssh("ping -c 2 -W 3 %s" % ADDRESS[name])[0] == 0, name


def test_after_the_upgrade_drbd_is_connected_and_a_rerun_changes_nothing(fleet):
    for host in HOSTS:
        state = must(HOSTS[host].ssh("cat /proc/drbd"), "/proc/drbd of " + host)
        assert "cs:Connected" in state and "ds:UpToDate/UpToDate" in state, (host, state)
        assert "StandAlone" not in state, (host, state)
    rc, out, seconds = fleet.playbook("upgrade.yml", "-e", "xen_upgrade_release=trixie")
    print("\nupgrade.yml again on 2 Debian 13 hosts: %.0f s" % seconds)
    assert rc == 0, out[-5000:]
    assert {h: HOSTS[h].recap(out)["changed"] for h in HOSTS} == {"lab1": 0, "lab2": 0}, out[-3000:]
    rc, out, seconds = fleet.playbook("site.yml", "--tags", "storage,network,fleet,domains")
    assert rc == 0, out[-5000:]
    assert {h: HOSTS[h].recap(out)["changed"] for h in HOSTS} == {"lab1": 0, "lab2": 0}, out[-3000:]
    print("releases after: %s" % {h: release(h) for h in HOSTS})
