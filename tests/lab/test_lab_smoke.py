"""Smoke test of the Xen lab: a Debian 12 QEMU VM becomes a Xen dom0 and runs a PV domU.

Drives hypervisor/lab through subprocess. It needs root (first image build), QEMU and a few
GiB of disk; from scratch it took 18 min on a loaded 2-core machine (most of it the Xen
install and reboot), ~2 min when the `xen-ready` snapshot
can be restored (`hypervisor/lab restore xen-ready`, taken by the first run). If the lab
cannot run, the test FAILS with the reason; set XENOPS_LAB=skip to skip it explicitly.
XENOPS_LAB=fresh wipes the lab's disks first (`lab down --wipe`) and installs Xen again.
"""

import os
import time

import pytest

import labkit

LAB = labkit.Lab()
HOST = LAB.host
SNAPSHOT = "xen-ready"
MODE = os.environ.get("XENOPS_LAB", "")

labkit.skip_unless_enabled()

DOMU_CFG = labkit.busybox_cfg("smoke")
ssh = LAB.ssh
must = labkit.must


@pytest.fixture(scope="module")
def xen_host():
    """lab1 running Xen: restore the snapshot, reuse a running dom0, or install from scratch."""
    how, timings = LAB.xen_ready(SNAPSHOT, fresh=MODE == "fresh")
    print("\nlab setup (%s): %s" % (how, ", ".join("%s %.0f s" % kv for kv in timings.items())))
    return timings


def test_xl_info(xen_host):
    out = must(ssh("xl info"), "xl info")
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    assert fields.get("xen_major") == "4", out
    assert int(fields["nr_cpus"]) >= 1
    assert int(fields["total_memory"]) > 1024


def test_pv_domu_runs(xen_host):
    LAB.busybox_boot_files()
    must(ssh("cat > /etc/xen/smoke.cfg", input=DOMU_CFG.encode()), "write smoke.cfg")
    ssh("xl destroy smoke 2>/dev/null")
    t0 = time.time()
    must(ssh("xl create /etc/xen/smoke.cfg"), "xl create")
    try:
        state, out = LAB.wait_domain_up("smoke", 120)
        print("\ndomU smoke: state %r after %.0f s" % (state, time.time() - t0))
        assert state and ("r" in state or "b" in state), "domU state %r:\n%s" % (state, out)
        names = [l.split()[0] for l in must(ssh("xl list"), "xl list").splitlines()[1:]]
        assert "smoke" in names and "Domain-0" in names
    finally:
        must(ssh("xl destroy smoke"), "xl destroy")
    rc, out = ssh("xl list smoke")
    assert rc != 0, out
