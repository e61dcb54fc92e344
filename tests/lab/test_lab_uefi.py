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

Uses its own lab run directory (.tmp/lab-uefi) and one VM. XENOPS_LAB=skip skips it.
Timings go to .tmp/lab-uefi/timings.json.
"""

import json
import os
import re
import time

import pytest

import labkit

labkit.skip_unless_enabled()

RUN_DIR = os.path.join(labkit.REPO, ".tmp", "lab-uefi")
LAB = labkit.Lab(run_dir=RUN_DIR, pipelining=False)
HOST = LAB.host
must = labkit.must
TIMINGS = {}
# the roles that install Xen and boot into it
TAGS = "hypervisor,grub"


def lab(*args, timeout=1800):
    return LAB.lab(*args, timeout=timeout)


def ssh(cmd, timeout=300):
    return LAB.must(cmd, timeout=timeout)


def site(lab_host, *extra):
    t0 = time.time()
    rc, out = LAB.playbook(os.path.join(labkit.REPO, "playbooks", "inventory", "lab.yml"),
                           os.path.join(labkit.REPO, "playbooks", "site.yml"),
                           "-i", lab_host["inventory"], "--tags", TAGS, *extra, timeout=3600)
    return rc, out, time.time() - t0


def reboot_seconds(out):
    found = re.search(r"TASK \[xenops\.xen\.grub : Reboot into the Xen entry once\].*?\"elapsed\": (\d+)",
                      out, re.S)
    return int(found.group(1)) if found else None


def saved_entry():
    env = ssh("grub-editenv list")
    saved = [line.split("=", 1)[1] for line in env.splitlines() if line.startswith("saved_entry=")]
    pending = [line for line in env.splitlines() if line.startswith("next_entry=") and line != "next_entry="]
    return (saved[0] if saved else ""), pending, env


@pytest.fixture(scope="module")
def lab_host():
    os.makedirs(RUN_DIR, exist_ok=True)
    labkit.ensure_collection()
    t0 = time.time()
    must(lab("up", "--hosts", "1", "--firmware", "uefi"), "lab up --firmware uefi")
    TIMINGS["lab_up_seconds"] = round(time.time() - t0)
    inventory = LAB.inventory(os.path.join(RUN_DIR, "inventory.yml"))
    yield {"inventory": inventory}
    with open(os.path.join(RUN_DIR, "timings.json"), "w") as fh:
        json.dump(TIMINGS, fh, indent=2)
    print("timings: %s" % TIMINGS)
    lab("down", "--wipe")


def test_the_host_boots_through_uefi_from_its_efi_system_partition(lab_host):
    assert ssh("test -d /sys/firmware/efi && echo uefi || echo bios").strip() == "uefi"
    # the lab's OVMF has no Secure Boot: the role's check must let it through
    assert ssh("od -An -tu1 -j4 -N1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
               " 2>/dev/null || echo absent").strip() in ("0", "absent")
    mounts = ssh("findmnt -n -o FSTYPE,SOURCE /boot/efi").split()
    assert mounts[0] == "vfat", mounts
    assert ssh("test -s /boot/efi/EFI/BOOT/BOOTX64.EFI && echo yes").strip() == "yes"
    assert ssh("dpkg-query -W -f='${Status}' grub-efi-amd64").strip() == "install ok installed"


def test_impossible_xen_cmdline_falls_back_to_the_old_kernel(lab_host):
    kernel_before = ssh("uname -r").strip()
    boot_before = ssh("cat /proc/sys/kernel/random/boot_id").strip()
    rc, out, seconds = site(lab_host, "-e", json.dumps({"grub_xen_dom0_mem": "16M,max:16M"}), "-v")
    TIMINGS["failing_play_seconds"] = round(seconds)
    TIMINGS["failing_reboot_to_fallback_seconds"] = reboot_seconds(out)
    with open(os.path.join(RUN_DIR, "fault-play.log"), "w") as fh:
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
    assert ssh("cat /proc/sys/kernel/random/boot_id").strip() != boot_before
    assert ssh("uname -r").strip() == kernel_before
    assert ssh("test -e /sys/hypervisor/type && cat /sys/hypervisor/type || echo none").strip() == "none"
    saved, pending, env = saved_entry()
    assert saved.startswith("gnulinux-simple-"), env
    assert not pending, env
    assert ssh("ls /etc/systemd/system/ | grep -c xenops-xen-trial || true").strip() == "0"

    console = must(lab("console", HOST, "-n", "3000"), "lab console")
    assert "Domain 0 allocation is too small for kernel image" in console


def test_the_safe_first_boot_into_xen_works_on_uefi(lab_host):
    rc, out, seconds = site(lab_host)
    TIMINGS["first_boot_play_seconds"] = round(seconds)
    TIMINGS["reboot_into_xen_seconds"] = reboot_seconds(out)
    with open(os.path.join(RUN_DIR, "first-boot-play.log"), "w") as fh:
        fh.write(out)
    assert rc == 0, out[-4000:]

    assert ssh("cat /sys/hypervisor/type").strip() == "xen"
    info = ssh("xl info")
    assert re.search(r"^xen_major\s*:\s*4$", info, re.M), info
    assert "dom0_mem=" in info
    # Xen found the UEFI firmware (multiboot2 from an EFI GRUB), and dom0 is still on it
    dmesg = ssh("xl dmesg")
    assert re.search(r"EFI", dmesg), dmesg[:3000]
    assert ssh("test -d /sys/firmware/efi && echo uefi || echo bios").strip() == "uefi"
    saved, pending, env = saved_entry()
    assert saved.startswith("xen-gnulinux-simple-"), env
    assert not pending, env


def test_a_second_run_changes_nothing(lab_host):
    rc, out, seconds = site(lab_host)
    TIMINGS["noop_play_seconds"] = round(seconds)
    assert rc == 0, out[-4000:]
    recap = LAB.recap(out)
    assert recap["changed"] == 0 and recap["failed"] == 0, out[-3000:]
