"""Fault test of the safe first boot into Xen (roles/grub) on a lab host.

playbooks/site.yml runs on a plain Debian 12 lab host with an impossible Xen command
line: dom0_mem=16M is smaller than the dom0 kernel and its initrd, so Xen panics
("Domain 0 allocation is too small for kernel image") and reboots; the one-time GRUB
entry is used up and the host comes back on its old kernel. The play must fail with a
clear message, and the host must be reachable, without Xen, with its GRUB default
unchanged.

Uses its own lab run directory (.tmp/lab-grub-fault) and one VM; takes ~10-15 min under
QEMU TCG (most of it the Xen package install and two boots). XENOPS_LAB=skip skips it.
Timings go to .tmp/lab-grub-fault/timings.json.
"""

import json
import os
import time

import pytest

import labkit

labkit.skip_unless_enabled()

RUN_DIR = os.path.join(labkit.REPO, ".tmp", "lab-grub-fault")
LAB = labkit.Lab(run_dir=RUN_DIR, pipelining=False)
HOST = LAB.host
must = labkit.must


def lab(*args, timeout=1800):
    return LAB.lab(*args, timeout=timeout)


def ssh(cmd, timeout=300):
    return LAB.must(cmd, timeout=timeout)


@pytest.fixture(scope="module")
def lab_host():
    os.makedirs(RUN_DIR, exist_ok=True)
    labkit.ensure_collection()
    t0 = time.time()
    must(lab("up", "--hosts", "1"), "lab up")
    inventory = LAB.inventory(os.path.join(RUN_DIR, "inventory.yml"))
    yield {"inventory": inventory, "up_seconds": time.time() - t0}
    lab("down", "--wipe")


def test_impossible_xen_cmdline_falls_back_to_the_old_kernel(lab_host):
    kernel_before = ssh("uname -r").strip()
    boot_before = ssh("cat /proc/sys/kernel/random/boot_id").strip()
    extra = {"grub_xen_dom0_mem": "16M,max:16M", "storage_pvs": []}
    t0 = time.time()
    rc, out = LAB.playbook(os.path.join(labkit.REPO, "playbooks", "inventory", "lab.yml"),
                           os.path.join(labkit.REPO, "playbooks", "site.yml"),
                           "-i", lab_host["inventory"], "-e", json.dumps(extra), "-v", timeout=3600)
    play_seconds = time.time() - t0
    with open(os.path.join(RUN_DIR, "fault-play.log"), "w") as fh:
        fh.write(out)

    # the play fails, with the reason
    assert rc != 0, out[-4000:]
    assert "Xen did not come up" in out, out[-4000:]
    assert "never reached dom0 user space" in out, out[-4000:]
    assert "dom0_mem=16M,max:16M" in out

    # the host is back on its old kernel, without Xen, its GRUB default unchanged, the trial boot's watchdog gone
    LAB.assert_fell_back(boot_before, kernel_before)

    # Xen's own report on the serial console
    console = must(lab("console", HOST, "-n", "3000"), "lab console")
    assert "Domain 0 allocation is too small for kernel image" in console

    timings = {"lab_up_seconds": round(lab_host["up_seconds"]),
               "failing_play_seconds": round(play_seconds)}
    # the reboot module reports how long the boot into Xen, the panic and the way back took
    reboot = labkit.grub_reboot_seconds(out)
    if reboot is not None:
        timings["reboot_to_fallback_seconds"] = reboot
    with open(os.path.join(RUN_DIR, "timings.json"), "w") as fh:
        json.dump(timings, fh, indent=2)
    print("timings: %s" % timings)
