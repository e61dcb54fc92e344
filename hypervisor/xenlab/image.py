"""Build the lab's base disk images (Debian 13 or 12 via debootstrap, no Xen).

Two firmwares: "bios" (an MBR disk, grub-pc) and "uefi" (a GPT disk with an EFI
system partition, grub-efi-amd64, booted by OVMF). Each has its own cached images.

Two cached stages under ${XDG_CACHE_HOME:-~/.cache}/xenops-lab/:

* rootfs-<hash>.tar: the debootstrap result (slow, ~5 min), keyed by suite,
  package list and mirror.
* base-<hash>.qcow2 (+ .vmlinuz/.initrd): the bootable image, keyed by the
  rootfs hash, the guest configuration files and the lab SSH public key.

No loop devices or mounts are used: the ext4 root file system is written
straight into the partition of a raw image with ``mkfs.ext4 -d -E offset=``.
GRUB is installed by a first boot (direct kernel boot) inside QEMU, which
then powers off.
"""

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time

from . import common
from .common import LabError, log, run

BUILD_VERSION = "4"  # the image stage
ROOTFS_VERSION = "3"  # the debootstrap stage
# Debian releases a lab host can be made of: its debootstrap suite. Debian 13 is the default (what an
# admin installs today); XENOPS_LAB_SUITE changes the default of `lab up`/`lab build`.
SUITES = ("trixie", "bookworm")
DEFAULT_SUITE = "trixie"
VARIANT = "minbase"
PACKAGES = [
    "ca-certificates",
    "grub-pc",
    "iproute2",
    "iputils-ping",
    "kmod",
    "less",
    "linux-image-amd64",
    "lvm2",
    "netbase",
    "openssh-server",
    "procps",
    "python3",
    "python3-apt",
    "sudo",
    "systemd-sysv",
    "udev",
]
FIRMWARES = ("bios", "uefi")
IMAGE_SIZE_MIB = 10240
PART_OFFSET_MIB = 1
# uefi: the EFI system partition (FAT32) from 1 MiB, the root file system after it
ESP_MIB = 63
UEFI_ROOT_OFFSET_MIB = PART_OFFSET_MIB + ESP_MIB
ESP_LABEL = "XLAB-ESP"
MAX_HOSTS = 20
FIRSTBOOT_MARKER = "XENOPS-LAB-FIRSTBOOT-OK"


def shared_ip(n):
    return "10.99.0.%d" % (10 + n)


def shared_mac(n):
    return "52:54:00:99:00:%02x" % n


def ssh_key_path():
    """The lab's SSH private key, created once (ed25519, no passphrase)."""
    keydir = os.path.join(common.cache_dir(), "ssh")
    os.makedirs(keydir, mode=0o700, exist_ok=True)
    key = os.path.join(keydir, "id_ed25519")
    # two labs started at once on a fresh machine: one makes the key, the other waits and uses it
    # (without the lock the second ssh-keygen found the first one's file and stopped at "Overwrite (y/n)?")
    with common.cache_lock("ssh"):
        if not (os.path.exists(key) and os.path.exists(key + ".pub")):
            for path in (key, key + ".pub"):
                if os.path.exists(path):
                    os.unlink(path)
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "xenops-lab", "-f", key],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return key


def default_suite():
    suite = os.environ.get("XENOPS_LAB_SUITE") or DEFAULT_SUITE
    if suite not in SUITES:
        raise LabError("XENOPS_LAB_SUITE=%s: not a lab suite (one of: %s)" % (suite, ", ".join(SUITES)))
    return suite


def _sources(mirror, security, suite):
    text = "Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n" \
           "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n" % (mirror, suite, suite)
    if security:
        text += "\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n" \
                "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n" % (security, suite)
    return text


def packages(firmware):
    if firmware == "uefi":
        return sorted(set(PACKAGES) - {"grub-pc"} | {"grub-efi-amd64", "dosfstools"})
    return PACKAGES


def _grub_install(firmware):
    if firmware == "uefi":
        # the boot loader goes to the removable-media path EFI/BOOT/BOOTX64.EFI, which the
        # firmware finds without a boot entry in its NVRAM (each lab host has its own NVRAM,
        # made fresh from OVMF's template); the package's own grub-install runs (upgrades) do the same
        return """debconf-set-selections <<EOF
grub-efi-amd64 grub2/force_efi_extra_removable boolean true
grub-efi-amd64 grub2/update_nvram boolean false
EOF
mountpoint -q /boot/efi
grub-install --target=x86_64-efi --efi-directory=/boot/efi --removable --no-nvram"""
    return "grub-install --target=i386-pc /dev/sda"


def guest_files(pubkey, mirror, security, firmware="bios", suite=DEFAULT_SUITE):
    """Files written into the root file system: {path: (mode, content)}."""
    files = {}
    files["/etc/hostname"] = (0o644, "lab\n")
    hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    hosts += "".join("%s\tlab%d\n" % (shared_ip(n), n) for n in range(1, MAX_HOSTS + 1))
    files["/etc/hosts"] = (0o644, hosts)
    fstab = "LABEL=xenlab-root / ext4 errors=remount-ro 0 1\n"
    if firmware == "uefi":
        fstab += "LABEL=%s /boot/efi vfat umask=0077 0 1\n" % ESP_LABEL
    files["/etc/fstab"] = (0o644, fstab)
    files["/etc/resolv.conf"] = (0o644, "nameserver 10.0.2.3\n")
    files["/etc/apt/sources.list.d/debian.sources"] = (0o644, _sources(mirror, security, suite))
    files["/etc/apt/apt.conf.d/80xenops-lab"] = (
        0o644, 'APT::Install-Recommends "false";\nAcquire::Languages "none";\n')
    # The image's first initrd is built with MODULES=most (in the chroot nothing can be
    # detected); later rebuilds (e.g. when Xen is installed) only take the modules in use,
    # which is several times faster under TCG.
    files["/etc/initramfs-tools/conf.d/xenops-lab.conf"] = (0o644, "MODULES=dep\n")
    files["/root/.ssh/authorized_keys"] = (0o600, pubkey.strip() + "\n")
    files["/etc/ssh/sshd_config.d/xenops-lab.conf"] = (
        0o644, "PermitRootLogin prohibit-password\nUseDNS no\n")
    files["/etc/default/grub.d/xenops-lab.cfg"] = (0o644, "\n".join([
        'GRUB_TIMEOUT=1',
        'GRUB_TERMINAL="serial"',
        'GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"',
        'GRUB_CMDLINE_LINUX="net.ifnames=0 biosdevname=0"',
        'GRUB_CMDLINE_LINUX_DEFAULT="console=ttyS0,115200 loglevel=4"',
        'GRUB_DISABLE_OS_PROBER=true',
        '']))
    # NIC 1: DHCP from QEMU user networking.
    files["/etc/systemd/network/10-eth0.network"] = (
        0o644, "[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n")
    # NIC 2: the shared lab network, static address derived from the MAC.
    for n in range(1, MAX_HOSTS + 1):
        files["/etc/systemd/network/20-lab%d.network" % n] = (
            0o644,
            "[Match]\nMACAddress=%s\n\n[Network]\nAddress=%s/24\nLinkLocalAddressing=no\n"
            "IPv6AcceptRA=no\n" % (shared_mac(n), shared_ip(n)))
    # Host name from the SMBIOS serial QEMU is given (-smbios type=1,serial=labN).
    files["/usr/local/sbin/xenops-lab-hostname"] = (0o755, """#!/bin/sh
serial=$(cat /sys/class/dmi/id/product_serial 2>/dev/null)
case "$serial" in
  lab[0-9]*)
    hostname "$serial"
    [ "$(cat /etc/hostname 2>/dev/null)" = "$serial" ] || echo "$serial" > /etc/hostname
    ;;
esac
exit 0
""")
    files["/etc/systemd/system/xenops-lab-hostname.service"] = (0o644, """[Unit]
Description=Set the lab host name from the SMBIOS serial
DefaultDependencies=no
After=local-fs.target
Before=network-pre.target sysinit.target
Wants=network-pre.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/xenops-lab-hostname
RemainAfterExit=yes

[Install]
WantedBy=sysinit.target
""")
    files["/usr/local/sbin/xenops-lab-firstboot"] = (0o755, """#!/bin/sh
# Runs once while the base image is built: install GRUB %s, then power off.
set -e
echo "xenops-lab firstboot: installing grub"
%s
update-grub
apt-get clean
# every host made from the image is a machine of its own: it gets its own machine-id (an empty
# file: systemd makes one at the next boot, which is not a "first boot") and SSH host keys
# (xenops-lab-hostkeys.service)
rm -f /etc/ssh/ssh_host_*
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
mkdir -p /var/lib/xenops-lab
touch /var/lib/xenops-lab/firstboot-done
sync
echo "%s"
""" % ("into the EFI system partition" if firmware == "uefi" else "into the MBR", _grub_install(firmware),
       FIRSTBOOT_MARKER))
    files["/etc/systemd/system/xenops-lab-hostkeys.service"] = (0o644, """[Unit]
Description=SSH host keys of this lab host, made at its first boot
ConditionPathExists=/var/lib/xenops-lab/firstboot-done
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
""")
    files["/etc/systemd/system/xenops-lab-firstboot.service"] = (0o644, """[Unit]
Description=Install the boot loader of the lab base image
ConditionPathExists=!/var/lib/xenops-lab/firstboot-done
After=local-fs.target
Before=getty.target serial-getty@ttyS0.service
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/xenops-lab-firstboot
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
""")
    return files


ENABLE_UNITS = {
    # unit: target.wants directory
    "xenops-lab-hostname.service": "sysinit.target.wants",
    "xenops-lab-firstboot.service": "multi-user.target.wants",
    "xenops-lab-hostkeys.service": "multi-user.target.wants",
}
SYSTEM_UNITS = {
    "systemd-networkd.service": "multi-user.target.wants",
    "systemd-networkd.socket": "sockets.target.wants",
}
MASK_UNITS = ["systemd-networkd-wait-online.service"]


def _hash(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def rootfs_inputs(mirror, firmware="bios", suite=DEFAULT_SUITE):
    inputs = {"build_version": ROOTFS_VERSION, "suite": suite, "variant": VARIANT,
              "packages": packages(firmware), "mirror": mirror}
    if firmware != "bios":
        inputs["firmware"] = firmware
    return inputs


def image_inputs(mirror, security, pubkey, firmware="bios", suite=DEFAULT_SUITE):
    inputs = {"rootfs": _hash(rootfs_inputs(mirror, firmware, suite)), "build_version": BUILD_VERSION,
              "files": guest_files(pubkey, mirror, security, firmware, suite), "size": IMAGE_SIZE_MIB,
              "units": [ENABLE_UNITS, SYSTEM_UNITS, MASK_UNITS]}
    if firmware != "bios":
        inputs.update(firmware=firmware, esp=[ESP_MIB, ESP_LABEL])
    return inputs


def firmware_args(firmware, vars_file):
    """QEMU arguments of the firmware: none for SeaBIOS; OVMF's code (read-only) and the
    host's own copy of its variable store (qcow2, so that savevm can snapshot it)."""
    if firmware != "uefi":
        return []
    return ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=%s" % common.OVMF_CODE,
            "-drive", "if=pflash,format=qcow2,unit=1,file=%s" % vars_file]


def make_vars(path):
    """A fresh UEFI variable store (OVMF's template) for one machine."""
    run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", common.OVMF_VARS, path])


class Image:
    def __init__(self, firmware="bios", suite=None):
        if firmware not in FIRMWARES:
            raise LabError("unknown firmware %r (one of: %s)" % (firmware, ", ".join(FIRMWARES)))
        suite = suite or default_suite()
        if suite not in SUITES:
            raise LabError("unknown suite %r (one of: %s)" % (suite, ", ".join(SUITES)))
        self.firmware = firmware
        self.suite = suite
        self.mirror = common.debian_mirror(suite)
        self.security = common.debian_security_mirror(suite)
        self.key = ssh_key_path()
        with open(self.key + ".pub") as fh:
            self.pubkey = fh.read()
        self.cache = common.cache_dir()
        self.rootfs_id = _hash(rootfs_inputs(self.mirror, firmware, suite))
        self.image_id = _hash(image_inputs(self.mirror, self.security, self.pubkey, firmware, suite))
        self.rootfs_tar = os.path.join(self.cache, "rootfs-%s.tar" % self.rootfs_id)
        self.base = os.path.join(self.cache, "base-%s.qcow2" % self.image_id)

    def cached(self):
        return os.path.exists(self.base)

    def ensure(self):
        if self.cached():
            return self.base
        if os.geteuid() != 0:
            raise LabError("building the base image needs root (debootstrap); run as root")
        # several labs (run dirs) share the cache: build once, the others wait
        with open(os.path.join(self.cache, "build.lock"), "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                log("another build of the base image is running; waiting for it")
                fcntl.flock(lock, fcntl.LOCK_EX)
            if self.cached():
                return self.base
            return self._build()

    def _build(self):
        t0 = time.time()
        if not os.path.exists(self.rootfs_tar):
            self._debootstrap()
        self._make_image()
        log("base image ready in %.0f s: %s" % (time.time() - t0, self.base))
        return self.base

    # -- stage 1 -------------------------------------------------------------
    def _debootstrap(self):
        common.ensure_prereqs(["debootstrap"])
        work = tempfile.mkdtemp(prefix="rootfs-", dir=self.cache)
        target = os.path.join(work, "rootfs")
        t0 = time.time()
        log("debootstrap %s from %s (takes a few minutes)" % (self.suite, self.mirror))
        try:
            logf = os.path.join(self.cache, "debootstrap.log")
            with open(logf, "w") as fh:
                proc = subprocess.run(
                    ["debootstrap", "--arch=amd64", "--variant=" + VARIANT,
                     "--include=" + ",".join(packages(self.firmware)), "--components=main",
                     self.suite, target, self.mirror],
                    stdout=fh, stderr=subprocess.STDOUT,
                    env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), check=False)
            _umount_below(target)
            if proc.returncode != 0:
                raise LabError("debootstrap failed (rc=%d), see %s" % (proc.returncode, logf))
            run(["chroot", target, "apt-get", "clean"])
            tmp_tar = self.rootfs_tar + ".tmp"
            run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-C", target,
                 "-cf", tmp_tar, "."])
            os.rename(tmp_tar, self.rootfs_tar)
            log("debootstrap done in %.0f s" % (time.time() - t0))
        finally:
            _umount_below(target)
            shutil.rmtree(work, ignore_errors=True)

    # -- stage 2 -------------------------------------------------------------
    def _make_image(self):
        need = ["qemu-system-x86_64", "qemu-img", "mkfs.ext4", "sfdisk"]
        if self.firmware == "uefi":
            need += list(common.UEFI_PREREQS)
        common.ensure_prereqs(need)
        work = tempfile.mkdtemp(prefix="image-", dir=self.cache)
        root = os.path.join(work, "rootfs")
        os.mkdir(root)
        try:
            t0 = time.time()
            run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-C", root,
                 "-xpf", self.rootfs_tar])
            self._customize(root)
            kernel, initrd = _boot_files(root)
            shutil.copy(kernel, os.path.join(work, "vmlinuz"))
            shutil.copy(initrd, os.path.join(work, "initrd.img"))
            raw = os.path.join(work, "disk.raw")
            with open(raw, "wb") as fh:
                fh.truncate(IMAGE_SIZE_MIB * 1024 * 1024)
            table, root_offset, root_mib = partition_table(self.firmware)
            run(["sfdisk", "-q", raw], input=table, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if self.firmware == "uefi":
                _write_esp(raw, work)
            run(["mkfs.ext4", "-q", "-F", "-L", "xenlab-root",
                 "-E", "offset=%d" % (root_offset * 1024 * 1024),
                 "-d", root, raw, "%dM" % root_mib], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            shutil.rmtree(root)
            stage = os.path.join(work, "stage.qcow2")
            run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, stage])
            os.unlink(raw)
            log("disk image written in %.0f s; first boot installs GRUB" % (time.time() - t0))
            self._first_boot(work, stage)
            os.chmod(stage, 0o444)
            os.rename(stage, self.base)
        finally:
            _umount_below(root)
            shutil.rmtree(work, ignore_errors=True)

    def _customize(self, root):
        for path, (mode, content) in guest_files(self.pubkey, self.mirror, self.security, self.firmware,
                                                 self.suite).items():
            dest = os.path.join(root, path.lstrip("/"))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if os.path.islink(dest):
                os.unlink(dest)
            with open(dest, "w") as fh:
                fh.write(content)
            os.chmod(dest, mode)
        os.chmod(os.path.join(root, "root/.ssh"), 0o700)
        old = os.path.join(root, "etc/apt/sources.list")
        if os.path.exists(old):
            os.unlink(old)
        etc = os.path.join(root, "etc/systemd/system")
        for unit, wants in ENABLE_UNITS.items():
            _symlink("/etc/systemd/system/" + unit, os.path.join(etc, wants, unit))
        for unit, wants in SYSTEM_UNITS.items():
            _symlink("/lib/systemd/system/" + unit, os.path.join(etc, wants, unit))
        for unit in MASK_UNITS:
            _symlink("/dev/null", os.path.join(etc, unit))
        # root password "xenops" for the serial console only (SSH is key-only)
        run(["chroot", root, "chpasswd"], input=b"root:xenops\n")

    def _first_boot(self, work, disk):
        log_path = os.path.join(work, "firstboot.log")
        root = "/dev/sda1"
        firmware = []
        if self.firmware == "uefi":
            # OVMF boots the kernel given with -kernel; Linux then sees the EFI runtime
            # (efivarfs), as on the hosts made from the image
            root = "/dev/sda2"
            vars_file = os.path.join(work, "vars.qcow2")
            make_vars(vars_file)
            firmware = firmware_args("uefi", vars_file)
        argv = [common.which("qemu-system-x86_64")] + base_qemu_args(2048) + firmware + [
            "-drive", "file=%s,if=none,id=d0,format=qcow2" % disk,
            "-device", "virtio-scsi-pci,id=scsi0",
            "-device", "scsi-hd,drive=d0,bus=scsi0.0",
            "-nic", "none", "-no-reboot",
            "-kernel", os.path.join(work, "vmlinuz"),
            "-initrd", os.path.join(work, "initrd.img"),
            "-append", "root=%s ro console=ttyS0,115200 net.ifnames=0" % root,
            "-serial", "file:" + log_path,
        ]
        t0 = time.time()
        try:
            proc = subprocess.run(argv, timeout=1200, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        except subprocess.TimeoutExpired:
            raise LabError("first boot of the base image timed out; serial log kept at %s"
                           % _keep(log_path, self.cache))
        with open(log_path, errors="replace") as fh:
            serial = fh.read()
        if proc.returncode != 0 or FIRSTBOOT_MARKER not in serial:
            raise LabError("first boot failed (qemu rc=%d); serial log kept at %s\n%s"
                           % (proc.returncode, _keep(log_path, self.cache),
                              proc.stdout.decode(errors="replace")[-2000:]))
        _keep(log_path, self.cache)
        log("first boot done in %.0f s" % (time.time() - t0))


# -smap: Xen's PV dom0 crashes on SMAP under TCG; -rdtscp: PVH guests need it off;
# -xsave: with XSAVE (and so AVX/AVX2, which QEMU 7.2's TCG emulates) processes in
# dom0 and the domUs died at random once several domains ran (glibc heap corruption
# in xl, "unable to XZ decompress kernel" in libxc, systemd segfaulting in libc);
# without it Xen and the guests save FPU state with FXSAVE and glibc uses SSE2.
CPU = "max,-smap,-rdtscp,-xsave"
# A CPU model under which Xen's PV shim boots (XENOPS_LAB_CPU=...; not the default, which the tests were proven
# on). Under `max` (QEMU's qemu64 identity, AMD family 15) the shim's init_amd writes MSR_K8_HWCR, which Xen
# 4.20's guest MSR handling refuses (#GP, the shim panics); an EPYC (family 0x17) skips that write. -monitor:
# with MONITOR/MWAIT advertised the host's Xen faults in mwait_idle under TCG.
SHIM_CPU = "EPYC,-smap,-rdtscp,-xsave,-monitor,+svm,+npt"


def cpu_model():
    """The CPU model of the lab's QEMU: CPU, or $XENOPS_LAB_CPU (to try another model)."""
    return os.environ.get("XENOPS_LAB_CPU") or CPU


def base_qemu_args(memory, smp=2):
    return ["-machine", "pc", "-accel", "tcg,thread=multi", "-cpu", cpu_model(),
            "-smp", str(smp), "-m", str(memory), "-display", "none", "-vga", "none"]


def partition_table(firmware, size_mib=IMAGE_SIZE_MIB):
    """The disk's partition table (an sfdisk script), and the root partition's offset and size in MiB."""
    if firmware == "uefi":
        # the root partition ends 1 MiB before the disk does: the backup GPT is there
        root_offset = UEFI_ROOT_OFFSET_MIB
        root_mib = size_mib - root_offset - 1
        table = b"label: gpt\nstart=%dMiB, size=%dMiB, type=U\nstart=%dMiB, size=%dMiB, type=L\n" \
            % (PART_OFFSET_MIB, ESP_MIB, root_offset, root_mib)
        return table, root_offset, root_mib
    table = b"label: dos\nstart=%dMiB, type=83, bootable\n" % PART_OFFSET_MIB
    return table, PART_OFFSET_MIB, size_mib - PART_OFFSET_MIB


def _write_esp(raw, work):
    """Format the EFI system partition (FAT32) in a file and copy it into its place in raw."""
    esp = os.path.join(work, "esp.img")
    run(["mkfs.fat", "-F", "32", "-s", "1", "-n", ESP_LABEL, "-C", esp, str(ESP_MIB * 1024)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with open(esp, "rb") as src, open(raw, "r+b") as dst:
        dst.seek(PART_OFFSET_MIB * 1024 * 1024)
        shutil.copyfileobj(src, dst, 1024 * 1024)
    os.unlink(esp)


def _keep(path, cache):
    dest = os.path.join(cache, "firstboot.log")
    try:
        shutil.copy(path, dest)
    except OSError:
        return path
    return dest


def _symlink(target, link):
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(target, link)


def _boot_files(root):
    boot = os.path.join(root, "boot")
    kernels = sorted(f for f in os.listdir(boot) if f.startswith("vmlinuz-"))
    if not kernels:
        raise LabError("no kernel in the root file system")
    version = kernels[-1][len("vmlinuz-"):]
    initrd = os.path.join(boot, "initrd.img-" + version)
    if not os.path.exists(initrd):
        raise LabError("no initrd for kernel " + version)
    return os.path.join(boot, kernels[-1]), initrd


def _umount_below(path):
    """Unmount anything mounted at or below path (debootstrap mounts /proc, /sys...)."""
    path = os.path.realpath(path)
    try:
        with open("/proc/mounts") as fh:
            mounts = [line.split()[1].replace("\\040", " ") for line in fh]
    except OSError:
        return
    for mnt in sorted((m for m in mounts if m == path or m.startswith(path + "/")),
                      key=len, reverse=True):
        subprocess.run(["umount", "-l", mnt], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
