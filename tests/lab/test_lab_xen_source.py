"""Xen built from source by roles/hypervisor (hypervisor_install_method: source) on a lab host.

A plain Debian 12 lab host gets Xen from a real Xen 4.17 source tarball (Debian's
xen_4.17.*.orig.tar.xz, fetched once into ~/.cache/xenops-lab/xen-source by
tests/scripts/fetch-xen-source.sh), served over HTTP from this machine's loopback (the VM
reaches it as 10.0.2.2 through QEMU's user network). The kernel, hypervisor and grub roles
build and install it, boot into it safely, and a busybox PV domU runs under the built
toolstack; a second run builds nothing and reports changed=0.

Slow under QEMU without KVM (the build runs in the emulated VM): run it with
``make lab-source``; it is not part of ``make test``. Uses its own lab run directory
(.tmp/lab-xen-source) and one VM, wiped before and after (XENOPS_LAB_KEEP=1: neither).
Timings go to .tmp/lab-xen-source/timings.json.
"""

import functools
import hashlib
import http.server
import json
import os
import re
import subprocess
import threading
import time

import pytest

import labkit

labkit.skip_unless_enabled()

RUN_DIR = os.path.join(labkit.REPO, ".tmp", "lab-xen-source")
LAB = labkit.Lab(run_dir=RUN_DIR)
must = labkit.must
PLAYBOOK = """\
- name: Xen from source
  hosts: xen_hosts
  become: true
  roles:
    - role: xenops.xen.kernel
    - role: xenops.xen.hypervisor
    - role: xenops.xen.grub
"""
TIMINGS = {}


def save_timings():
    with open(os.path.join(RUN_DIR, "timings.json"), "w") as fh:
        json.dump(TIMINGS, fh, indent=2, sort_keys=True)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def tarball_server():
    """Serve the cached Xen source tarball on 127.0.0.1; yields (url as the VM sees it, sha256, version)."""
    proc = subprocess.run([os.path.join(labkit.REPO, "tests", "scripts", "fetch-xen-source.sh")],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        pytest.fail("fetch-xen-source.sh failed:\n" + proc.stderr.decode(errors="replace"))
    path = proc.stdout.decode().strip().splitlines()[-1]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    name = os.path.basename(path)
    version = re.match(r"xen_(.+)\.orig\.tar\.xz$", name).group(1)
    handler = functools.partial(QuietHandler, directory=os.path.dirname(path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # 10.0.2.2 is this machine's loopback as seen from inside the lab VM (QEMU user network)
        yield "http://10.0.2.2:%d/%s" % (server.server_address[1], name), digest.hexdigest(), version
    finally:
        server.shutdown()


# XENOPS_LAB_KEEP=1: start from the host this run directory already has (a build done by
# an earlier run: the converge then only checks it) and keep it afterwards
KEEP = os.environ.get("XENOPS_LAB_KEEP", "") == "1"


@pytest.fixture(scope="module")
def lab_host():
    os.makedirs(RUN_DIR, exist_ok=True)
    labkit.ensure_collection()
    if not KEEP:
        LAB.lab("down", "--wipe")
    t0 = time.time()
    must(LAB.lab("up", "--hosts", "1"), "lab up")
    TIMINGS["up"] = round(time.time() - t0)
    inventory = LAB.inventory(os.path.join(RUN_DIR, "inventory.yml"))
    playbook = os.path.join(RUN_DIR, "xen-source.yml")
    with open(playbook, "w") as fh:
        fh.write(PLAYBOOK)
    yield {"inventory": inventory, "playbook": playbook}
    save_timings()
    if KEEP:
        LAB.lab("down")
    else:
        LAB.lab("down", "--wipe")


def run_play(lab_host, tarball_server, log_name):
    url, sha256, version = tarball_server
    extra = {
        "hypervisor_install_method": "source",
        "hypervisor_source_url": url,
        "hypervisor_source_checksum": "sha256:" + sha256,
        "hypervisor_source_version": version,
        "storage_pvs": [],
    }
    t0 = time.time()
    rc, out = LAB.playbook(os.path.join(labkit.REPO, "playbooks", "inventory", "lab.yml"), lab_host["playbook"],
                           "-i", lab_host["inventory"], "-e", json.dumps(extra), "-v", timeout=6 * 3600)
    seconds = round(time.time() - t0)
    with open(os.path.join(RUN_DIR, log_name), "w") as fh:
        fh.write(out)
    return rc, out, seconds


def test_source_build_boots_into_xen(lab_host, tarball_server):
    rc, out, seconds = run_play(lab_host, tarball_server, "converge.log")
    TIMINGS["converge"] = seconds
    save_timings()
    assert rc == 0, out[-6000:]
    print("\nconverge with the source build: %d s" % seconds)
    assert LAB.is_dom0(), "the host is not a Xen dom0 after the play"
    info = LAB.must("xl info")
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    assert (fields.get("xen_major"), fields.get("xen_minor")) == ("4", "17"), info
    # the toolstack and the hypervisor are the build's, not Debian's packages
    assert LAB.ssh("dpkg -S /usr/sbin/xl")[0] != 0
    assert LAB.ssh("dpkg-query -W -f='${Status}' 'xen-hypervisor-*' 2>/dev/null | grep -q 'ok installed'")[0] != 0
    boot = LAB.must("ls /boot")
    assert re.search(r"^xen-4\.17.*\.gz$", boot, re.M), boot
    marker = json.loads(LAB.must("cat /var/lib/xenops-xen/xen-source-build"))
    assert marker["version"] == tarball_server[2]
    assert marker["tarball_sha256"] == tarball_server[1]
    # the Xen entry is GRUB's default now (the safe first boot made it so)
    saved, _pending, env = LAB.grub_env()
    assert saved.startswith("xen-gnulinux-simple-"), env
    for unit in ("xenstored", "xenconsoled"):
        assert LAB.ssh("systemctl is-active %s.service" % unit)[0] == 0, unit


def test_busybox_domu_runs_under_the_built_toolstack(lab_host):
    if not LAB.is_dom0():
        pytest.fail("no dom0 (the converge test failed)")
    LAB.busybox_boot_files(timeout=1800)
    LAB.must("cat > /etc/xen/srcbuild.cfg", input=labkit.busybox_cfg("srcbuild").encode())
    t0 = time.time()
    LAB.must("xl create /etc/xen/srcbuild.cfg")
    try:
        state, _out = LAB.wait_domain_up("srcbuild", 180)
        TIMINGS["domu_running"] = round(time.time() - t0)
        assert state and ("r" in state or "b" in state), "domU state %r" % state
        # its console reaches the busybox init (xenconsoled of the build logs guest consoles)
        end = time.time() + 120
        console = ""
        while time.time() < end and "xenops busybox domU is up" not in console:
            console = LAB.ssh("cat /var/log/xen/console/guest-srcbuild.log 2>/dev/null")[1]
            time.sleep(3)
        assert "xenops busybox domU is up" in console, console[-2000:]
    finally:
        LAB.ssh("xl destroy srcbuild")


def test_second_run_builds_nothing(lab_host, tarball_server):
    if not LAB.is_dom0():
        pytest.fail("no dom0 (the converge test failed)")
    marker_mtime = LAB.must("stat -c %Y /var/lib/xenops-xen/xen-source-build").strip()
    rc, out, seconds = run_play(lab_host, tarball_server, "rerun.log")
    TIMINGS["rerun"] = seconds
    save_timings()
    assert rc == 0, out[-6000:]
    print("\nre-run: %d s" % seconds)
    assert LAB.recap(out)["changed"] == 0, out[-6000:]
    # the build and install commands report changed whenever they run: changed=0 means
    # neither ran; the marker of the build is the same file
    assert LAB.must("stat -c %Y /var/lib/xenops-xen/xen-source-build").strip() == marker_mtime
