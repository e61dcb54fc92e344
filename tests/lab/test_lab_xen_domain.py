"""xen_domain on the real Xen lab: every state transition of a batch of two PV domains.

Needs lab1 running as Xen dom0 (`hypervisor/lab up`, then the smoke test or
`hypervisor/lab restore xen-ready`); fails with the reason otherwise. XENOPS_LAB=skip skips it.
The domains boot the dom0's kernel with the lab's busybox initramfs
(hypervisor/scripts/make-busybox-initramfs.sh): they come up in seconds and need little memory.
`dt-b` ignores shutdown requests (xenops_ignore_shutdown on its command line), to show what a
shutdown timeout does. Everything the test creates (domains dt-*, their config files and
autostart links, a data image, the bridge xenbrt) is removed at the end.
The tests run in file order and build on each other.
"""

import os
import re
import sys
import time

import pytest

import labkit

labkit.skip_unless_enabled()
sys.path.insert(0, labkit.COLLECTIONS)

from ansible_collections.xenops.xen.plugins.module_utils._names import stable_mac  # noqa: E402 pylint: disable=wrong-import-position

LAB = labkit.Lab()
INVENTORY = os.path.join(labkit.REPO, ".tmp", "lab-xen-domain-inventory.yml")
MODULE = "xenops.xen.xen_domain"
BRIDGE = "xenbrt"
DATA = "/var/tmp/xenops-dt-a-data.img"
FIXED_MAC = "00:16:3e:0a:0b:0c"
VG = "vg_dt"
VG_IMAGE = "/var/tmp/xenops-dt-vg.img"
BASE = {"type": "pv", "kernel": labkit.BUSYBOX_KERNEL, "ramdisk": labkit.BUSYBOX_RAMDISK,
        "boot_settle": 5}
A = dict(BASE, name="dt-a", extra="console=hvc0 quiet", memory=128, maxmem=160, vcpus=1, maxvcpus=2,
         vifs=[{"bridge": BRIDGE}], autostart=True)
B = dict(BASE, name="dt-b", extra="console=hvc0 quiet xenops_ignore_shutdown", memory=96, vcpus=1,
         vifs=[{"bridge": BRIDGE, "mac": FIXED_MAC}], shutdown_timeout=15)
TIMES = {}


def xen_domain(args, check=False, diff=False):
    return LAB.module(INVENTORY, MODULE, args, check=check, diff=diff)


def ok(result):
    """The result of a run that must have succeeded (else fail with its message and output)."""
    assert result["failed"] is False, "%s\n%s\n%s" % (result.get("msg"), result.get("stderr", ""), result.get("stdout", ""))
    return result


def kinds(result):
    return [a["action"] for a in result["actions"]]


def xl_row(name):
    """(domid, memory MiB, vcpus, state) from `xl list NAME`, or None when the domain does not exist."""
    rc, out = LAB.ssh("xl list %s" % name)
    lines = out.strip().splitlines()
    if rc != 0 or len(lines) != 2:
        return None
    fields = lines[1].split()
    return int(fields[1]), int(fields[2]), int(fields[3]), fields[4]


def xenstore(domid, key):
    return LAB.must("xenstore-read /local/domain/%d/%s" % (domid, key)).strip()


def cleanup():
    LAB.ssh("for d in dt-a dt-b dt-bad dt-c dt-d; do xl destroy $d 2>/dev/null; rm -f /etc/xen/$d.cfg /etc/xen/auto/$d.cfg "
            "/etc/xen/.$d.cfg.tmp; done; rm -f %s; ip link del %s 2>/dev/null; "
            "vgremove -f %s 2>/dev/null; for l in $(losetup -j %s -O NAME -n); do pvremove -ff -y $l; losetup -d $l; done; "
            "rm -f %s; true" % (DATA, BRIDGE, VG, VG_IMAGE, VG_IMAGE))


@pytest.fixture(scope="module", autouse=True)
def dom0():
    labkit.ensure_collection()
    labkit.must(LAB.lab("wait", LAB.host, "--timeout", "120"), "%s is not up (run `hypervisor/lab up`)" % LAB.host)
    if not LAB.is_dom0():
        pytest.fail("%s is not a Xen dom0 (run the smoke test or `hypervisor/lab restore xen-ready`)" % LAB.host)
    LAB.inventory(INVENTORY)
    LAB.busybox_boot_files()
    cleanup()
    LAB.must("ip link add %s type bridge && ip link set %s up && truncate -s 16M %s" % (BRIDGE, BRIDGE, DATA))
    yield
    cleanup()
    print("\nxen_domain on %s: %s" % (LAB.host, ", ".join("%s %.1f s" % kv for kv in TIMES.items())))


def test_bad_input_fails_before_anything_runs():
    result, _ignored, _ignored = xen_domain({"domains": [dict(A), dict(B, name="12")]})
    assert result["failed"] is True
    assert "12" in result["msg"] and "digits" in result["msg"], result["msg"]
    assert xl_row("dt-a") is None
    assert LAB.ssh("test -e /etc/xen/dt-a.cfg")[0] != 0


def test_check_mode_changes_nothing():
    result, _ignored, printed = xen_domain({"domains": [A, B]}, check=True, diff=True)
    ok(result)
    assert result["changed"] is True
    assert [kinds(r) for r in result["domains"]] == [["write_config", "create", "link_autostart"],
                                                     ["write_config", "create"]]
    assert "+++ after: /etc/xen/dt-a.cfg" in printed, printed[-3000:]
    assert xl_row("dt-a") is None and xl_row("dt-b") is None
    assert LAB.ssh("ls /etc/xen/dt-a.cfg /etc/xen/dt-b.cfg /etc/xen/auto/dt-a.cfg /etc/xen/.dt-a.cfg.tmp 2>&1")[0] != 0


def test_create_batch_then_noop():
    result, seconds, _ignored = xen_domain({"domains": [A, B]})
    TIMES["create 2 domains"] = seconds
    ok(result)
    assert [kinds(r) for r in result["domains"]] == [["write_config", "create", "link_autostart"],
                                                     ["write_config", "create"]]
    row_a, row_b = xl_row("dt-a"), xl_row("dt-b")
    assert row_a is not None and row_a[1:3] == (128, 1), row_a
    assert row_b is not None and row_b[1:3] == (96, 1), row_b
    assert LAB.must("readlink /etc/xen/auto/dt-a.cfg").strip() == "/etc/xen/dt-a.cfg"
    assert LAB.ssh("test -e /etc/xen/auto/dt-b.cfg")[0] != 0
    # the generated MAC is the stable one, in the config file, the facts and the running domain
    mac = stable_mac("dt-a", 0)
    assert mac.startswith("00:16:3e:")
    assert mac in LAB.must("cat /etc/xen/dt-a.cfg")
    assert [v["mac"] for v in result["domains"][0]["domain"]["vifs"]] == [mac]
    assert mac in LAB.must("xl network-list dt-a")
    assert FIXED_MAC in LAB.must("xl network-list dt-b")
    assert LAB.must("ip -br link show master %s" % BRIDGE).count("vif") == 2

    again, noop_seconds, _ignored = xen_domain({"domains": [A, B]})
    TIMES["no-op re-run of 2 domains"] = noop_seconds
    ok(again)
    assert again["changed"] is False
    assert [r["actions"] for r in again["domains"]] == [[], []]
    assert [r["state"] for r in again["domains"]] == ["running", "running"]
    assert xl_row("dt-a")[0] == row_a[0]


def test_hand_edited_file_with_the_same_meaning_is_no_change():
    edited = """# dt-b, written by hand
name='dt-b'; type='pv'
memory = 0x60  # 96 MiB
vcpus=1
kernel='%s'; ramdisk = '%s'
extra = 'console=hvc0 quiet xenops_ignore_shutdown'
vif = [ 'bridge=%s,mac=%s' ]
""" % (labkit.BUSYBOX_KERNEL, labkit.BUSYBOX_RAMDISK, BRIDGE, FIXED_MAC)
    LAB.must("cat > /etc/xen/dt-b.cfg", input=edited.encode())
    result, _ignored, _ignored = xen_domain(B)
    ok(result)
    assert (result["changed"], result["actions"]) == (False, [])
    assert LAB.must("cat /etc/xen/dt-b.cfg") == edited


def test_memory_and_vcpus_are_applied_live():
    domid = xl_row("dt-a")[0]
    result, _ignored, printed = xen_domain(dict(A, memory=112, vcpus=2), diff=True)
    ok(result)
    assert sorted(kinds(result)) == ["mem_set", "vcpu_set", "write_config"]
    assert result["restart_required"] is False
    assert "-memory = 128" in printed and "+memory = 112" in printed, printed[-3000:]
    assert xl_row("dt-a")[0] == domid
    assert xenstore(domid, "memory/target") == str(112 * 1024)
    assert xenstore(domid, "cpu/1/availability") == "online"
    end = time.time() + 120
    while time.time() < end and xl_row("dt-a")[1] > 113:
        time.sleep(3)
    assert xl_row("dt-a")[1] <= 113
    assert re.search(r"^memory = 112$", LAB.must("cat /etc/xen/dt-a.cfg"), re.M)
    assert xen_domain(dict(A, memory=112, vcpus=2))[0]["changed"] is False


def test_disk_change_is_reported_then_restarted_if_needed():
    a = dict(A, memory=112, vcpus=2, disks=[{"target": DATA, "vdev": "xvdb", "format": "raw"}])
    domid = xl_row("dt-a")[0]
    result, _ignored, _ignored = xen_domain(a)
    ok(result)
    assert kinds(result) == ["write_config"]
    assert result["restart_required"] is True
    assert any("xvdb" in reason for reason in result["restart_reasons"]), result["restart_reasons"]
    assert xl_row("dt-a")[0] == domid
    assert LAB.must("xl block-list dt-a").strip().count("\n") == 0

    restarted, seconds, _ignored = xen_domain(dict(a, restart="if_needed"))
    TIMES["restart with a new disk"] = seconds
    ok(restarted)
    assert kinds(restarted) == ["restart"]
    assert restarted["restart_required"] is False
    new = xl_row("dt-a")
    assert new is not None and new[0] != domid
    assert "51728" in LAB.must("xl block-list dt-a")  # xvdb
    assert xen_domain(dict(a, restart="if_needed"))[0]["changed"] is False


def test_pause_then_run_again():
    result, _ignored, _ignored = xen_domain(dict(B, state="paused"))
    assert (result["failed"], kinds(result), result["state"]) == (False, ["pause"], "paused")
    assert "p" in xl_row("dt-b")[3]
    result, _ignored, _ignored = xen_domain(B)
    assert (result["failed"], kinds(result), result["state"]) == (False, ["unpause"], "running")
    assert "p" not in xl_row("dt-b")[3]


def test_stop_a_guest_that_ignores_shutdown_needs_force_destroy():
    domid = xl_row("dt-b")[0]
    result, seconds, _ignored = xen_domain(dict(B, state="stopped"))
    assert result["failed"] is True
    assert result["msg"] == ("domain dt-b did not shut down within 15 seconds (shutdown_timeout); it may still be "
                             "shutting down. Set force_destroy=true to destroy it after the timeout")
    assert seconds >= 15
    assert xl_row("dt-b")[0] == domid
    result, _ignored, _ignored = xen_domain(dict(B, state="stopped", force_destroy=True))
    assert (result["failed"], kinds(result), result["state"]) == (False, ["shutdown"], "stopped")
    assert xl_row("dt-b") is None
    assert LAB.ssh("test -e /etc/xen/dt-b.cfg")[0] == 0


def test_stop_gracefully_keeps_config_and_autostart():
    result, seconds, _ignored = xen_domain(dict(A, memory=112, vcpus=2, state="stopped",
                                                disks=[{"target": DATA, "vdev": "xvdb", "format": "raw"}]))
    TIMES["graceful stop"] = seconds
    assert (result["failed"], kinds(result), result["state"]) == (False, ["shutdown"], "stopped"), result
    assert xl_row("dt-a") is None
    assert LAB.must("readlink /etc/xen/auto/dt-a.cfg").strip() == "/etc/xen/dt-a.cfg"


def test_a_domain_that_crashes_at_boot_is_reported_and_removed():
    bad = dict(BASE, name="dt-bad", extra="console=hvc0 rdinit=/no/such/init", memory=96, boot_settle=90,
               on_crash="preserve")
    result, _ignored, _ignored = xen_domain(bad)
    assert result["failed"] is True
    assert result["msg"].startswith("domain dt-bad did not stay up after xl create: it was crashed after"), \
        result["msg"]
    assert "last lines of /var/log/xen/xl-dt-bad.log" in result["msg"]
    assert xl_row("dt-bad") is None
    assert LAB.ssh("test -e /etc/xen/auto/dt-bad.cfg")[0] != 0
    result, _ignored, _ignored = xen_domain(dict(bad, state="absent"))
    ok(result)
    assert LAB.ssh("test -e /etc/xen/dt-bad.cfg")[0] != 0


def test_absent_removes_domain_config_and_autostart_link():
    result, _ignored, _ignored = xen_domain({"domains": [dict(A, state="running"), dict(B, state="running")]})
    ok(result)
    assert xl_row("dt-a") is not None and xl_row("dt-b") is not None
    gone, _ignored, _ignored = xen_domain({"domains": [{"name": "dt-a", "state": "absent"},
                                                       {"name": "dt-b", "state": "absent", "force_destroy": True,
                                                        "shutdown_timeout": 10}]})
    ok(gone)
    assert [kinds(r) for r in gone["domains"]] == [["shutdown", "unlink_autostart", "remove_config"],
                                                   ["shutdown", "remove_config"]]
    assert xl_row("dt-a") is None and xl_row("dt-b") is None
    assert LAB.ssh("ls /etc/xen/dt-a.cfg /etc/xen/dt-b.cfg /etc/xen/auto/dt-a.cfg 2>&1")[0] != 0
    again, _ignored, _ignored = xen_domain({"domains": [{"name": "dt-a", "state": "absent"},
                                                        {"name": "dt-b", "state": "absent"}]})
    assert (again["failed"], again["changed"]) == (False, False)


def test_relative_lv_target_is_written_as_dev_path_and_boots():
    """A disk given as phy:VG/LV (the old relative form) is written as /dev/VG/LV; xl create opens it."""
    LAB.must("truncate -s 64M %s && dev=$(losetup -f --show %s) && pvcreate -q $dev && vgcreate -q %s $dev && "
             "lvcreate -q -y -L 8M -n dt-c-data %s" % (VG_IMAGE, VG_IMAGE, VG, VG))
    c = dict(BASE, name="dt-c", extra="console=hvc0 quiet", memory=96, vcpus=1, vifs=[{"bridge": BRIDGE}],
             disks=["phy:%s/dt-c-data,xvdb,w" % VG])
    result, seconds, _ignored = xen_domain(c)
    TIMES["create with a relative LV target"] = seconds
    ok(result)
    assert kinds(result) == ["write_config", "create"]
    assert "target=/dev/%s/dt-c-data" % VG in LAB.must("cat /etc/xen/dt-c.cfg")
    assert "51728" in LAB.must("xl block-list dt-c")  # xvdb
    domid = xl_row("dt-c")[0]
    params = LAB.must("xenstore-read /local/domain/0/backend/vbd/%d/51728/params" % domid).strip()
    assert params == "/dev/%s/dt-c-data" % VG
    assert xen_domain(c)[0]["changed"] is False


def test_batch_hands_a_mac_over_from_a_removed_domain():
    """dt-c runs with a MAC that the batch gives to dt-a while it removes dt-c later in the list: dt-c goes first."""
    mac = LAB.must("xl network-list dt-c | awk 'NR==2 {print $3}'").strip()
    assert re.match(r"([0-9a-f]{2}:){5}[0-9a-f]{2}\Z", mac), mac
    a = dict(A, state="running", vifs=[{"bridge": BRIDGE, "mac": mac}], autostart=None)
    result, _ignored, _ignored = xen_domain({"domains": [a, {"name": "dt-c", "state": "absent"}]})
    ok(result)
    assert [kinds(r) for r in result["domains"]] == [["write_config", "create"], ["shutdown", "remove_config"]]
    assert xl_row("dt-c") is None
    assert mac in LAB.must("xl network-list dt-a")
    ok(xen_domain({"name": "dt-a", "state": "absent"})[0])


def test_hand_written_config_with_a_relative_target_starts_as_it_is():
    """A config file used as it is (no configuration options): xl runs from /dev, where phy:VG/LV resolves."""
    LAB.must("cat > /etc/xen/dt-d.cfg", input=labkit.busybox_cfg(
        "dt-d", 'disk = ["phy:%s/dt-c-data,xvdb,w"]' % VG).encode())
    result, _ignored, _ignored = xen_domain({"name": "dt-d", "state": "running", "boot_settle": 5})
    ok(result)
    assert kinds(result) == ["create"]
    assert "51728" in LAB.must("xl block-list dt-d")
    assert "target" not in LAB.must("cat /etc/xen/dt-d.cfg")   # left as written
    ok(xen_domain({"name": "dt-d", "state": "absent"})[0])
