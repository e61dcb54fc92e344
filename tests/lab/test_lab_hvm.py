"""An HVM domain on the lab's Xen: a non-Linux guest booted from an ISO image.

The lab's Xen runs HVM guests with hardware-assisted paging (QEMU's TCG offers AMD SVM
with nested paging to it; Debian's Xen has no shadow paging, so HAP is the only way). The
test, on a lab dom0 (run dir .tmp/lab-hvm, from its xen-ready snapshot when there is one):

1. the hypervisor role with hypervisor_hvm: true installs the device model (qemu-system-xen);
2. dom0 makes a GRUB rescue ISO (grub-mkrescue) whose GRUB prints a marker on the serial
   port over and over;
3. xen_domain creates an hvm domain with the ISO as a CD-ROM and boot order "d", and nothing
   about consoles: the module's defaults give it serial="pty" and vnclisten="127.0.0.1";
4. the marker is read with `xl console`, the VNC server listens on 127.0.0.1 only, a re-run
   changes nothing, and the domain is removed: `xl shutdown -F` (no PV drivers in the guest, so
   an ACPI power button event, which GRUB ignores), then `xl destroy` after shutdown_timeout.

`make lab-hvm`; not part of `make test` (~10 min from the snapshot, ~20 min without).
XENOPS_LAB=skip skips it. Timings go to .tmp/lab-hvm/timings.json.
"""

import json
import os
import re
import time

import pytest

import labkit

labkit.skip_unless_enabled()

RUN_DIR = os.path.join(labkit.REPO, ".tmp", "lab-hvm")
LAB = labkit.Lab(run_dir=RUN_DIR, pipelining=False)
must = labkit.must
TIMINGS = {}
ISO = "/var/lib/xen/images/xenops-hvm-test.iso"
MARKER = "XENOPS-HVM-GRUB-OK"
GRUB_CFG = """serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
while true; do
  echo %s
  sleep 5
done
""" % MARKER
DOMAIN = {"name": "hvm1", "type": "hvm", "memory": 128, "vcpus": 1, "boot_settle": 5,
          "disks": [{"target": ISO, "vdev": "hdc", "devtype": "cdrom", "access": "ro"}],
          "extra_options": {"boot": "d"}, "state": "running"}


@pytest.fixture(scope="module")
def dom0():
    yield from labkit.xen_dom0(LAB, RUN_DIR, TIMINGS)


def test_hypervisor_role_installs_the_device_model(dom0):
    t0 = time.time()
    rc, out = LAB.playbook(os.path.join(labkit.REPO, "playbooks", "inventory", "lab.yml"),
                           os.path.join(labkit.REPO, "playbooks", "site.yml"),
                           "-i", dom0["inventory"], "--tags", "hypervisor",
                           "-e", json.dumps({"hypervisor_hvm": True}), timeout=1800)
    TIMINGS["hypervisor_role_seconds"] = round(time.time() - t0)
    assert rc == 0, out[-4000:]
    assert LAB.must("dpkg-query -W -f='${Status}' qemu-system-xen").strip() == "install ok installed"
    # what libxl starts for an hvm domain, and hvmloader's BIOS
    LAB.must("test -x /usr/libexec/xen-qemu-system-i386 && test -s /usr/share/seabios/bios-256k.bin")


def test_an_iso_boots_as_an_hvm_domain_with_its_consoles_on_the_host_only(dom0):
    t0 = time.time()
    LAB.must("command -v grub-mkrescue >/dev/null && command -v xorriso >/dev/null && command -v mformat >/dev/null"
             " || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends"
             " grub-pc-bin grub-common xorriso mtools >/dev/null", timeout=900)
    LAB.must("set -e; d=$(mktemp -d); mkdir -p $d/boot/grub; cat > $d/boot/grub/grub.cfg;"
             " mkdir -p %s; grub-mkrescue -o %s $d >/dev/null 2>&1; rm -rf $d; test -s %s"
             % (os.path.dirname(ISO), ISO, ISO), input=GRUB_CFG.encode(), timeout=600)
    TIMINGS["iso_seconds"] = round(time.time() - t0)

    t0 = time.time()
    result, seconds, printed = LAB.module(dom0["inventory"], "xenops.xen.xen_domain", DOMAIN)
    TIMINGS["create_seconds"] = round(seconds)
    assert not result["failed"], printed[-3000:]
    assert result["changed"] is True
    cfg = LAB.must("cat /etc/xen/hvm1.cfg")
    for line in ('type = "hvm"', 'serial = "pty"', 'vnclisten = "127.0.0.1"', 'boot = "d"',
                 '"format=raw, vdev=hdc, access=ro, devtype=cdrom, target=%s"' % ISO):
        assert line in cfg, cfg
    info = json.loads(LAB.must("xl list -l hvm1"))[0]
    assert info["config"]["c_info"]["type"] == "hvm"

    # GRUB's marker on the domain's serial port (a pty; xl console needs a terminal, script gives it one)
    seen = ""
    end = time.time() + 600
    while time.time() < end and MARKER not in seen:
        rc, seen = LAB.ssh("script -qfc 'timeout 30 xl console hvm1' /dev/null", timeout=120)
    TIMINGS["create_to_marker_seconds"] = round(time.time() - t0)
    assert MARKER in seen, seen[-2000:]
    print("serial console of hvm1: %r" % seen[-300:])

    # the VNC console listens on the host's loopback only
    listen = LAB.must("ss -Hltnp")
    vnc = [line for line in listen.splitlines() if "qemu" in line and re.search(r":59\d\d\s", line)]
    assert vnc and all(re.search(r"\s127\.0\.0\.1:59\d\d\s", line) for line in vnc), listen

    # the HAP the domain runs with (no shadow paging in Debian's Xen)
    assert "hap" in LAB.must("xl info | grep ^virt_caps")


def test_second_run_changes_nothing_then_the_domain_goes(dom0):
    result, seconds, printed = LAB.module(dom0["inventory"], "xenops.xen.xen_domain", DOMAIN)
    TIMINGS["noop_seconds"] = round(seconds)
    assert not result["failed"] and result["changed"] is False, printed[-3000:]
    result, seconds, printed = LAB.module(dom0["inventory"], "xenops.xen.xen_domain",
                                          {"name": "hvm1", "state": "absent", "force_destroy": True,
                                           "shutdown_timeout": 20})
    assert not result["failed"] and result["changed"] is True, printed[-3000:]
    assert LAB.ssh("xl list hvm1")[0] != 0
