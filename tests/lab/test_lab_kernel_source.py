"""A kernel built from source by roles/kernel (kernel_install_method: source), run as a domU on the lab.

The build runs on the controller (kernel_source_build_host: localhost, as a fleet would
build once on a build host): Debian's linux-source package, tinyconfig with the role's
Xen fragment and what a busybox PV domain needs on top, made into a Debian package
(make bindeb-pkg). The role copies the package to the lab dom0 and installs it; the test
then boots a PV domU with that kernel under the real Xen and checks that the guest kernel
came up (it writes its shutdown features into xenstore). Also: a check-mode run changes
nothing, and a second run builds and installs nothing (changed=0).

Uses the default lab run directory like the smoke test (restores the ``xen-ready``
snapshot, or installs Xen) and removes the kernel package again at the end, since GRUB's
Xen entry would boot this tiny kernel as dom0. Run it with ``make lab-kernel``.
Timings go to .tmp/lab-kernel-source/timings.json.
"""

import json
import os
import re
import shutil
import subprocess
import time

import pytest

import labkit

labkit.skip_unless_enabled()

LAB = labkit.Lab()
must = labkit.must
WORK = os.path.join(labkit.REPO, ".tmp", "lab-kernel-source")
BUILD_DIR = os.path.join(WORK, "kernel-build")
PACKAGES = os.path.join(WORK, "packages")
TIMINGS = {}
PLAYBOOK = """\
- name: Kernel from source
  hosts: xen_hosts
  become: true
  roles:
    - role: xenops.xen.kernel
  post_tasks:
    - name: Show the kernel facts for domains
      ansible.builtin.debug:
        msg: "XENOPS_KERNEL_FACTS {{ {'kernel': kernel_domu_kernel, 'ramdisk': kernel_domu_ramdisk,
          'version': kernel_domu_version} | to_json }}"
"""
LOCALHOST = """\
all:
  hosts:
    localhost:
      ansible_connection: local
      ansible_become: false
      ansible_python_interpreter: /usr/bin/python3
"""
# tinyconfig lacks what even a busybox PV domain needs: these come on top of the role's fragment
EXTRA = ["CONFIG_64BIT=y", "CONFIG_PRINTK=y", "CONFIG_TTY=y", "CONFIG_BLOCK=y", "CONFIG_BLK_DEV=y",
         "CONFIG_NET=y", "CONFIG_INET=y", "CONFIG_NETDEVICES=y", "CONFIG_BLK_DEV_INITRD=y", "CONFIG_RD_GZIP=y",
         "CONFIG_BINFMT_ELF=y", "CONFIG_BINFMT_SCRIPT=y", "CONFIG_PROC_FS=y", "CONFIG_SYSFS=y",
         "CONFIG_DEVTMPFS=y", "CONFIG_MODULES=y"]
VARS = {
    "kernel_install_method": "source",
    "kernel_source": "linux-source",
    "kernel_source_config": "tinyconfig",
    "kernel_source_config_extra": EXTRA,
    "kernel_source_build_host": "localhost",
    "kernel_source_build_dir": BUILD_DIR,
    "kernel_source_controller_dir": PACKAGES,
}


def save_timings():
    with open(os.path.join(WORK, "timings.json"), "w") as fh:
        json.dump(TIMINGS, fh, indent=2, sort_keys=True)


@pytest.fixture(scope="module")
def setup():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    labkit.ensure_collection()
    # the build host is the controller: ansible's apt module there needs python3-apt, in
    # check mode too (where it cannot install it itself)
    if subprocess.run(["/usr/bin/python3", "-c", "import apt"], stderr=subprocess.DEVNULL, check=False).returncode:
        subprocess.run(["apt-get", "install", "-y", "-q", "python3-apt"], stdout=subprocess.DEVNULL,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), check=True)
    how, timings = LAB.xen_ready()
    TIMINGS["lab_setup_" + how] = round(timings["total_setup"])
    inventory = LAB.inventory(os.path.join(WORK, "lab-inventory.yml"))
    localhost = os.path.join(WORK, "localhost.yml")
    with open(localhost, "w") as fh:
        fh.write(LOCALHOST)
    playbook = os.path.join(WORK, "kernel-source.yml")
    with open(playbook, "w") as fh:
        fh.write(PLAYBOOK)
    yield {"inventories": [os.path.join(labkit.REPO, "playbooks", "inventory", "lab.yml"), inventory, localhost],
           "playbook": playbook}
    save_timings()
    # GRUB's Xen entry would boot the tiny kernel as dom0: take it off the lab host again
    LAB.must("dpkg-query -W -f='${Package}\\n' 'linux-image-*-xenops' 2>/dev/null"
             " | xargs -r env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q"
             " && rm -f /var/lib/xenops-xen/kernel-source-build", timeout=1800)
    assert built_kernels() == [], "the built kernel is still in /boot"
    assert LAB.ssh("grep -q -- '-xenops' /boot/grub/grub.cfg")[0] != 0, "grub.cfg still boots the built kernel"


def run_play(setup, log_name, *extra):
    argv = []
    for inventory in setup["inventories"]:
        argv += ["-i", inventory]
    t0 = time.time()
    rc, out = LAB.playbook(argv[1], setup["playbook"], *(argv[2:] + ["-e", json.dumps(VARS), "-v"] + list(extra)),
                           timeout=3 * 3600)
    seconds = round(time.time() - t0)
    with open(os.path.join(WORK, log_name), "w") as fh:
        fh.write(out)
    return rc, out, seconds


def kernel_facts(out):
    found = re.search(r'XENOPS_KERNEL_FACTS (\{.*?\})"', out)
    assert found, out[-3000:]
    return json.loads(json.loads('"%s"' % found.group(1)))


def built_kernels():
    return LAB.ssh("ls /boot | grep -- '-xenops$'")[1].split()


def test_check_mode_changes_nothing(setup):
    rc, out, seconds = run_play(setup, "check.log", "--check")
    TIMINGS["check"] = seconds
    assert rc == 0, out[-6000:]
    assert LAB.recap(out)["changed"] > 0, "check mode reported no change for a host without the build"
    assert built_kernels() == [], "check mode installed a kernel"
    assert LAB.ssh("test -e /var/lib/xenops-xen/kernel-source-build")[0] != 0, "check mode wrote the marker"
    assert not os.path.exists(BUILD_DIR), "check mode created the build directory on the build host"


def test_build_installs_the_kernel(setup):
    rc, out, seconds = run_play(setup, "converge.log")
    TIMINGS["converge"] = seconds
    save_timings()
    assert rc == 0, out[-6000:]
    print("\nbuild on the controller + install on the lab host: %d s" % seconds)
    marker = json.loads(LAB.must("cat /var/lib/xenops-xen/kernel-source-build"))
    release = marker["release"]
    assert release.endswith("-xenops"), marker
    assert LAB.ssh("dpkg-query -W -f='${Status}' linux-image-%s | grep -q 'ok installed'" % release)[0] == 0
    boot = LAB.must("ls /boot")
    assert "vmlinuz-%s" % release in boot.split(), boot
    config = LAB.must("cat /boot/config-%s" % release)
    for line in ("CONFIG_XEN_DOM0=y", "CONFIG_XEN_BLKDEV_FRONTEND=y", "CONFIG_HVC_XEN=y", "CONFIG_DEBUG_INFO_NONE=y"):
        assert line in config.splitlines(), line
    # the package's maintainer scripts ran update-grub
    assert "vmlinuz-%s" % release in LAB.must("cat /boot/grub/grub.cfg")
    facts = kernel_facts(out)
    assert facts["kernel"] == "/boot/vmlinuz-%s" % release and facts["version"] == release, facts
    # built once, on the controller; the package went through the controller's directory
    assert os.path.exists(os.path.join(BUILD_DIR, marker["build_id"], "result.json"))
    assert any(name.startswith("linux-image-%s_" % release)
               for name in os.listdir(os.path.join(PACKAGES, marker["build_id"])))


def test_domu_boots_the_built_kernel(setup):
    marker = json.loads(LAB.must("cat /var/lib/xenops-xen/kernel-source-build"))
    kernel = "/boot/vmlinuz-%s" % marker["release"]
    LAB.busybox_boot_files()
    cfg = "".join(line + "\n" for line in [
        'name = "kbuild"', 'type = "pv"', 'kernel = "%s"' % kernel, 'ramdisk = "%s"' % labkit.BUSYBOX_RAMDISK,
        'extra = "console=hvc0"', "memory = 96", "vcpus = 1", 'on_crash = "preserve"'])
    LAB.must("cat > /etc/xen/kbuild.cfg", input=cfg.encode())
    LAB.ssh("xl destroy kbuild 2>/dev/null")
    t0 = time.time()
    LAB.must("xl create /etc/xen/kbuild.cfg")
    try:
        state, out = LAB.wait_domain_up("kbuild", 180)
        assert state and ("r" in state or "b" in state), "domU state %r:\n%s" % (state, out)
        # the guest kernel's xenbus is up: it announced its shutdown features in xenstore
        domid = LAB.must("xl domid kbuild").strip()
        feature = ""
        end = time.time() + 180
        while time.time() < end and feature != "1":
            feature = LAB.ssh("xenstore-read /local/domain/%s/control/feature-poweroff" % domid)[1].strip()
            time.sleep(3)
        TIMINGS["domu_up"] = round(time.time() - t0)
        assert feature == "1", "no control/feature-poweroff from the guest kernel"
        state = LAB.must("xl list kbuild").strip().splitlines()[-1].split()[4]
        assert "c" not in state, "the guest crashed: %r" % state
        info = json.loads(LAB.must("xl list -l kbuild"))
        assert info[0]["config"]["b_info"]["kernel"] == kernel, info[0]["config"]["b_info"]
    finally:
        LAB.ssh("xl destroy kbuild")


def test_second_run_builds_nothing(setup):
    marker_mtime = LAB.must("stat -c %Y /var/lib/xenops-xen/kernel-source-build").strip()
    rc, out, seconds = run_play(setup, "rerun.log")
    TIMINGS["rerun"] = seconds
    save_timings()
    assert rc == 0, out[-6000:]
    print("\nre-run: %d s" % seconds)
    assert LAB.recap(out)["changed"] == 0, out[-6000:]
    assert LAB.must("stat -c %Y /var/lib/xenops-xen/kernel-source-build").strip() == marker_mtime
