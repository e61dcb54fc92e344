"""xen_lv on the real Xen lab: create, no-op re-run, check mode, grow, shrink, remove, in-use refusals.

Works on its own volume group `vg_lvtest`, on a loop device backed by a file in /var/tmp of lab1,
so it does not touch `vg_xen` or the domains of the other lab tests; everything is removed at the
end. Needs lab1 running as Xen dom0 (`hypervisor/lab up`, then the smoke test or
`hypervisor/lab restore xen-ready`); fails with the reason otherwise. XENOPS_LAB=skip skips it.
The module runs through ad-hoc `ansible -t DIR` (one JSON result per run) from the repository's venv.
"""

import os
import time

import pytest

import labkit

labkit.skip_unless_enabled()

LAB = labkit.Lab()
HOST = LAB.host
VG = "vg_lvtest"
IMG = "/var/tmp/xenops-lvtest.img"
INVENTORY = os.path.join(labkit.REPO, ".tmp", "lab-lvtest-inventory.yml")
DOMU = "lvtest"
DOMU_CFG = labkit.busybox_cfg(DOMU, 'disk = ["phy:/dev/mapper/%s-t--raw,xvda,w"]' % VG)

MIB = 1024 ** 2
ssh = LAB.ssh
must = LAB.must


lab = LAB.lab


def xen_lv(args, check=False, diff=False):
    """Run xen_lv on lab1: (result dict, seconds, what ansible printed); see labkit.Lab.module."""
    return LAB.module(INVENTORY, "xenops.xen.xen_lv", args, check=check, diff=diff, timeout=600)


def lv_sizes():
    out = must("lvs --noheadings --units b --nosuffix -o lv_name,lv_size %s" % VG)
    return dict((line.split()[0], int(line.split()[1])) for line in out.splitlines() if line.strip())


def blkid(name):
    rc, out = ssh("blkid -p -o export /dev/%s/%s" % (VG, name))
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line) if rc == 0 else {}


@pytest.fixture(scope="module")
def vg():
    rc, out = lab("wait", HOST, "--timeout", "120")
    if rc != 0:
        pytest.fail("%s is not up (run `hypervisor/lab up`):\n%s" % (HOST, out))
    if ssh("grep -q control_d /proc/xen/capabilities && xl info >/dev/null")[0] != 0:
        pytest.fail("%s is not a Xen dom0 (run the smoke test or `hypervisor/lab restore xen-ready`)" % HOST)
    labkit.ensure_collection()
    LAB.inventory(INVENTORY)
    cleanup = ("xl destroy %s 2>/dev/null; umount /mnt/lvtest 2>/dev/null; vgremove -f -y %s >/dev/null 2>&1; "
               "for d in $(losetup -j %s -O NAME -n); do pvremove -y -ff $d >/dev/null 2>&1; losetup -d $d; done; "
               "rm -f %s; true" % (DOMU, VG, IMG, IMG))
    must(cleanup)
    must("truncate -s 1G %s && d=$(losetup --find --show %s) && pvcreate -q $d && vgcreate -q -s 4M %s $d"
         % (IMG, IMG, VG))
    must("command -v mkfs.xfs >/dev/null || (apt-get update -qq && "
         "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xfsprogs)")
    tools = must("for t in mkfs.xfs xfs_growfs; do command -v $t >/dev/null && echo $t; done; true").split()
    yield {"xfs": "mkfs.xfs" in tools}
    must(cleanup)


BATCH = {"vg": VG, "volumes": [
    {"name": "t-root", "size": "64M", "fstype": "ext4", "label": "t-root"},
    {"name": "t-swap", "size": "16M", "fstype": "swap"},
    {"name": "t-raw", "size": "8M"},
]}


def test_create_check_mode_changes_nothing(vg):
    result, _ignored, printed = xen_lv(BATCH, check=True, diff=True)
    assert result["failed"] is False, result
    assert result["changed"] is True
    assert result["actions"] == ["create volume %s/t-root of 64 MiB" % VG,
                                 "create ext4 filesystem on /dev/%s/t-root" % VG,
                                 "create volume %s/t-swap of 16 MiB" % VG,
                                 "create swap area on /dev/%s/t-swap" % VG,
                                 "create volume %s/t-raw of 8 MiB" % VG]
    assert printed.count("--- before: %s/" % VG) == 3
    assert '+    "size_bytes": %d,' % (64 * MIB) in printed
    assert lv_sizes() == {}


def test_create_then_noop(vg):
    result, seconds, _ignored = xen_lv(BATCH)
    assert result["failed"] is False, result
    assert result["changed"] is True
    assert lv_sizes() == {"t-root": 64 * MIB, "t-swap": 16 * MIB, "t-raw": 8 * MIB}
    assert (blkid("t-root")["TYPE"], blkid("t-root")["LABEL"]) == ("ext4", "t-root")
    assert blkid("t-swap")["TYPE"] == "swap"
    assert blkid("t-raw") == {}
    again, noop_seconds, _ignored = xen_lv(BATCH)
    assert again["failed"] is False, again
    assert (again["changed"], again["actions"]) == (False, [])
    print("\nxen_lv on lab1: create batch of 3 %.1f s, no-op re-run %.1f s" % (seconds, noop_seconds))


def test_grow_offline_ext4_and_swap(vg):
    uuid = blkid("t-swap")["UUID"]
    args = {"vg": VG, "volumes": [{"name": "t-root", "size": "128M", "fstype": "ext4"},
                                  {"name": "t-swap", "size": "30M", "fstype": "swap"}]}
    result, _ignored, _ignored = xen_lv(args)
    assert result["failed"] is False, result
    assert result["actions"] == ["extend volume %s/t-root from 64 MiB to 128 MiB" % VG,
                                 "grow ext4 filesystem on /dev/%s/t-root" % VG,
                                 "extend volume %s/t-swap from 16 MiB to 32 MiB (30M rounded up to whole extents)" % VG,
                                 "rewrite swap signature on /dev/%s/t-swap for the new size" % VG]
    out = must("dumpe2fs -h /dev/%s/t-root 2>/dev/null | grep -E '^(Block count|Block size):'" % VG)
    fields = dict((k.strip(), int(v)) for k, v in (line.split(":") for line in out.splitlines()))
    assert fields["Block count"] * fields["Block size"] == 128 * MIB
    assert blkid("t-swap")["UUID"] == uuid
    assert xen_lv(args)[0]["changed"] is False


def test_xfs_grows_only_when_mounted(vg):
    if not vg["xfs"]:
        pytest.skip("xfsprogs is not installed on %s" % HOST)
    result, _ignored, _ignored = xen_lv({"vg": VG, "name": "t-xfs", "size": "300M", "fstype": "xfs"})
    assert result["failed"] is False, result
    result, _ignored, printed = xen_lv({"vg": VG, "name": "t-xfs", "size": "320M", "fstype": "xfs"})
    assert result["actions"] == ["extend volume %s/t-xfs from 300 MiB to 320 MiB" % VG]
    assert "xfs on /dev/%s/t-xfs was not grown: xfs_growfs needs the filesystem mounted" % VG in printed
    must("mkdir -p /mnt/lvtest && mount /dev/%s/t-xfs /mnt/lvtest" % VG)
    result, _ignored, _ignored = xen_lv({"vg": VG, "name": "t-xfs", "size": "340M", "fstype": "xfs"})
    assert result["actions"] == ["extend volume %s/t-xfs from 320 MiB to 340 MiB" % VG,
                                 "grow xfs filesystem mounted on /mnt/lvtest"]
    refused, _ignored, _ignored = xen_lv({"vg": VG, "name": "t-xfs", "state": "absent"})
    assert refused["failed"] is True
    assert refused["msg"] == ("refusing to remove volume %s/t-xfs: it is mounted on /mnt/lvtest "
                              "(set force: true to remove it anyway)" % VG)
    must("umount /mnt/lvtest")
    removed, _ignored, _ignored = xen_lv({"vg": VG, "name": "t-xfs", "state": "absent"})
    assert removed["actions"] == ["remove volume %s/t-xfs (340 MiB)" % VG]


def start_domain():
    """xl create the test domain and wait until it runs (TCG is slow).

    `xl create` in the lab now and then dies in its daemonizing child ("corrupted double-linked
    list"); that is retried, it is not what this test is about.
    """
    out = ""
    for _ignored in range(3):
        rc, out = ssh("xl create /etc/xen/%s.cfg" % DOMU)
        end = time.time() + 120
        while rc == 0 and time.time() < end:
            lines = must("xl list %s" % DOMU).strip().splitlines()
            if len(lines) == 2 and ("r" in lines[1].split()[4] or "b" in lines[1].split()[4]):
                time.sleep(5)
                return
            time.sleep(2)
        ssh("xl destroy %s" % DOMU)
    pytest.fail("domain %s does not start:\n%s" % (DOMU, out[-2000:]))


def test_shrink_and_remove_refused_while_a_domain_uses_the_volume(vg):
    must("test -e %s && test -e %s" % (labkit.BUSYBOX_KERNEL, labkit.BUSYBOX_RAMDISK))
    must("cat > /etc/xen/%s.cfg" % DOMU, input=DOMU_CFG.encode())
    try:
        start_domain()
        refused, _ignored, _ignored = xen_lv({"vg": VG, "name": "t-raw", "state": "absent"})
        assert refused["failed"] is True
        assert refused["msg"] == ("refusing to remove volume %s/t-raw: it is used by running domain %s (xvda) "
                                  "(set force: true to remove it anyway)" % (VG, DOMU))
        refused, _ignored, _ignored = xen_lv({"vg": VG, "name": "t-raw", "size": "4M", "force": True})
        assert refused["failed"] is True
        assert refused["msg"] == ("refusing to shrink volume %s/t-raw: it is used by running domain %s (xvda); "
                                  "a volume in use is never shrunk" % (VG, DOMU))
    finally:
        ssh("xl destroy %s; rm -f /etc/xen/%s.cfg" % (DOMU, DOMU))
    assert lv_sizes()["t-raw"] == 8 * MIB


def test_shrink_needs_force_then_remove(vg):
    refused, _ignored, _ignored = xen_lv({"vg": VG, "name": "t-raw", "size": "4M"})
    assert refused["failed"] is True
    assert refused["msg"].startswith("refusing to shrink volume %s/t-raw from 8 MiB to 4 MiB" % VG)
    shrunk, _ignored, _ignored = xen_lv({"vg": VG, "name": "t-raw", "size": "4M", "force": True})
    assert shrunk["actions"] == ["shrink volume %s/t-raw from 8 MiB to 4 MiB" % VG]
    assert lv_sizes()["t-raw"] == 4 * MIB
    removed, _ignored, _ignored = xen_lv({"vg": VG, "volumes": [{"name": name, "state": "absent"} for name in ("t-raw", "t-root", "t-swap")]})
    assert removed["changed"] is True
    assert lv_sizes() == {}
