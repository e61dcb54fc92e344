"""The safe first boot into Xen (roles/grub) on a UEFI lab host.

A lab host booted by OVMF from a GPT disk with an EFI system partition and
grub-efi-amd64 (`hypervisor/lab up --firmware uefi`) goes through the host roles that
matter for the boot (hypervisor, grub) three times:

1. with an impossible Xen command line (dom0_mem=16M): Xen panics, reboots, the
   one-time GRUB entry is used up and the host comes back on its old kernel; the play
   fails with the evidence, and the GRUB default is unchanged;
2. with the lab's settings: the one-time boot into Xen works, `xl info` answers, and
   Xen becomes the GRUB default;
3. again: nothing changes (changed=0).

`make lab-faults` runs all three; `make lab-uefi` (part of `make test`) runs 2 and 3.

One VM, in a lab run directory of its own kept in the lab's cache
(~/.cache/xenops-lab/runs/uefi-KEY). The Xen packages are not what this test is about: the
first run installs them with the hypervisor role and keeps the host in the snapshot
``xen-packages`` (Xen installed, never booted); later runs, also from other checkouts, start
from it while KEY (a hash of the hypervisor role, site.yml and the lab inventory) is the same.
XENOPS_LAB=skip skips it. Timings and the play logs go to .tmp/lab-uefi/.
"""

import json
import os
import re
import time

import pytest

import labkit

labkit.skip_unless_enabled()

OUT_DIR = os.path.join(labkit.REPO, ".tmp", "lab-uefi")
# the run dir is chosen by the fixture (labkit.cached_run_dir)
LAB = labkit.Lab(run_dir=None, pipelining=False)
HOST = LAB.host
must = labkit.must
TIMINGS = {}
# the roles that install Xen and boot into it
TAGS = "hypervisor,grub"
SNAPSHOT = "xen-packages"


def lab(*args, timeout=1800):
    return LAB.lab(*args, timeout=timeout)


def ssh(cmd, timeout=300):
    return LAB.must(cmd, timeout=timeout)


def site(inventory, *extra, tags=TAGS):
    t0 = time.time()
    rc, out = LAB.playbook(os.path.join(labkit.REPO, "playbooks", "inventory", "lab.yml"),
                           os.path.join(labkit.REPO, "playbooks", "site.yml"),
                           "-i", inventory, "--tags", tags, *extra, timeout=3600)
    return rc, out, time.time() - t0


@pytest.fixture(scope="module")
def lab_host():
    os.makedirs(OUT_DIR, exist_ok=True)
    LAB.run_dir = labkit.cached_run_dir("uefi", "roles/hypervisor", "playbooks/site.yml", "playbooks/inventory")
    # for `make lab-uefi`, which stops the VM if the test could not
    with open(os.path.join(OUT_DIR, "run-dir"), "w") as fh:
        fh.write(LAB.run_dir + "\n")
    labkit.ensure_collection()
    t0 = time.time()
    must(lab("up", "--hosts", "1", "--firmware", "uefi"), "lab up --firmware uefi")
    inventory = LAB.inventory(os.path.join(LAB.run_dir, "inventory.yml"))
    if SNAPSHOT in LAB.snapshots():
        must(lab("restore", SNAPSHOT), "lab restore " + SNAPSHOT)
        TIMINGS["restored_" + SNAPSHOT] = True
    else:
        # the disks kept from an earlier run that was stopped before it saved the snapshot can be anywhere in the
        # first boot (even running Xen): install on fresh disks
        must(lab("down", "--wipe"), "lab down --wipe")
        must(lab("up", "--hosts", "1", "--firmware", "uefi"), "lab up --firmware uefi")
        inventory = LAB.inventory(os.path.join(LAB.run_dir, "inventory.yml"))
        assert ssh("test -e /sys/hypervisor/type && echo xen || echo none").strip() == "none"
        rc, out, seconds = site(inventory, tags="hypervisor")
        assert rc == 0, out[-4000:]
        TIMINGS["xen_packages_install_seconds"] = round(seconds)
        must(lab("snapshot", SNAPSHOT), "lab snapshot " + SNAPSHOT)
    TIMINGS["lab_up_seconds"] = round(time.time() - t0)
    yield {"inventory": inventory}
    with open(os.path.join(OUT_DIR, "timings.json"), "w") as fh:
        json.dump(TIMINGS, fh, indent=2)
    print("timings: %s" % TIMINGS)
    # the disks (and the snapshot) stay for the next run
    lab("down")


def test_the_host_boots_through_uefi_from_its_efi_system_partition(lab_host):
    assert ssh("test -d /sys/firmware/efi && echo uefi || echo bios").strip() == "uefi"
    # the lab's OVMF has no Secure Boot: the role's check must let it through
    assert ssh("od -An -tu1 -j4 -N1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
               " 2>/dev/null || echo absent").strip() in ("0", "absent")
    mounts = ssh("findmnt -n -o FSTYPE,SOURCE /boot/efi").split()
    assert mounts[0] == "vfat", mounts
    assert ssh("test -s /boot/efi/EFI/BOOT/BOOTX64.EFI && echo yes").strip() == "yes"
    assert ssh("dpkg-query -W -f='${Status}' grub-efi-amd64").strip() == "install ok installed"


def console_size():
    path = os.path.join(LAB.run_dir, HOST + ".console.log")
    return os.path.getsize(path) if os.path.exists(path) else 0


def console_since(offset):
    """What the host's serial console printed since offset (the log is appended across runs)."""
    with open(os.path.join(LAB.run_dir, HOST + ".console.log"), "rb") as fh:
        fh.seek(offset)
        return fh.read().decode("utf-8", "replace")


def test_impossible_xen_cmdline_falls_back_to_the_old_kernel(lab_host):
    console_start = console_size()
    kernel_before = ssh("uname -r").strip()
    boot_before = ssh("cat /proc/sys/kernel/random/boot_id").strip()
    rc, out, seconds = site(lab_host["inventory"], "-e", json.dumps({"grub_xen_dom0_mem": "16M,max:16M"}), "-v")
    TIMINGS["failing_play_seconds"] = round(seconds)
    TIMINGS["failing_reboot_to_fallback_seconds"] = labkit.grub_reboot_seconds(out)
    with open(os.path.join(OUT_DIR, "fault-play.log"), "w") as fh:
        fh.write(out)

    assert rc != 0, out[-4000:]
    assert "Xen did not come up" in out, out[-4000:]
    assert "(UEFI firmware)" in out, out[-4000:]
    assert "never reached dom0 user space" in out, out[-4000:]
    assert "dom0_mem=16M,max:16M" in out

    # GRUB loads Xen with multiboot2 on UEFI
    cfg = ssh("cat /boot/grub/grub.cfg")
    xen_entry = cfg[cfg.index("menuentry 'Debian GNU/Linux, with Xen hypervisor'"):]
    assert re.search(r"^\s*multiboot2\s+/boot/xen", xen_entry, re.M), xen_entry[:1500]

    # back on the old kernel, without Xen, the GRUB default unchanged, the watchdog gone
    LAB.assert_fell_back(boot_before, kernel_before)

    # Xen's own report on the serial console, of this run
    console = console_since(console_start)
    assert "Domain 0 allocation is too small for kernel image" in console
    assert "EFI RAM map" in console  # Xen was started by the EFI GRUB (multiboot2)


def test_the_safe_first_boot_into_xen_works_on_uefi(lab_host):
    console_start = console_size()
    rc, out, seconds = site(lab_host["inventory"], "-v")
    TIMINGS["first_boot_play_seconds"] = round(seconds)
    TIMINGS["reboot_into_xen_seconds"] = labkit.grub_reboot_seconds(out)
    with open(os.path.join(OUT_DIR, "first-boot-play.log"), "w") as fh:
        fh.write(out)
    assert rc == 0, out[-4000:]

    assert ssh("cat /sys/hypervisor/type").strip() == "xen"
    info = ssh("xl info")
    assert re.search(r"^xen_major\s*:\s*4$", info, re.M), info
    assert "dom0_mem=" in info
    # Xen was started by the EFI GRUB (its memory map is the firmware's), and dom0 sees the firmware too
    assert "EFI RAM map" in console_since(console_start)
    assert ssh("test -d /sys/firmware/efi && echo uefi || echo bios").strip() == "uefi"
    saved, pending, env = LAB.grub_env()
    assert saved.startswith("xen-gnulinux-simple-"), env
    assert not pending, env


def test_a_second_run_changes_nothing(lab_host):
    rc, out, seconds = site(lab_host["inventory"])
    TIMINGS["noop_play_seconds"] = round(seconds)
    assert rc == 0, out[-4000:]
    recap = LAB.recap(out)
    assert recap["changed"] == 0 and recap["failed"] == 0, out[-3000:]
