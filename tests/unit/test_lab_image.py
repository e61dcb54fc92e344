"""The lab's base images (hypervisor/xenlab/image.py): what a BIOS and a UEFI image are made of."""

import json
import shutil
import subprocess

import pytest
from xenlab import common, image  # hypervisor/xenlab, on sys.path by pytest.ini

MIRROR = "http://mirror.invalid/debian"
SECURITY = "http://mirror.invalid/debian-security"


def test_bios_inputs_carry_no_firmware_key_so_the_cached_bios_images_stay_valid():
    assert "firmware" not in image.rootfs_inputs(MIRROR)
    assert "firmware" not in image.image_inputs(MIRROR, SECURITY, "ssh-ed25519 AAAA lab")
    assert image.rootfs_inputs(MIRROR, "bios") == image.rootfs_inputs(MIRROR)
    assert "grub-pc" in image.packages("bios")


def test_uefi_image_has_its_own_cache_keys():
    for stage in (image.rootfs_inputs(MIRROR, "uefi"), image.image_inputs(MIRROR, SECURITY, "k", "uefi")):
        assert stage["firmware"] == "uefi"
    assert image._hash(image.rootfs_inputs(MIRROR, "uefi")) != image._hash(image.rootfs_inputs(MIRROR))
    assert image._hash(image.image_inputs(MIRROR, SECURITY, "k", "uefi")) != \
        image._hash(image.image_inputs(MIRROR, SECURITY, "k"))


def test_uefi_packages_swap_grub_pc_for_grub_efi():
    uefi = image.packages("uefi")
    assert "grub-pc" not in uefi
    assert {"grub-efi-amd64", "dosfstools"} <= set(uefi)
    assert set(uefi) - {"grub-efi-amd64", "dosfstools"} == set(image.PACKAGES) - {"grub-pc"}


@pytest.mark.parametrize("firmware, expect, refuse", [
    ("bios", "grub-install --target=i386-pc /dev/sda", "x86_64-efi"),
    ("uefi", "grub-install --target=x86_64-efi --efi-directory=/boot/efi --removable --no-nvram", "i386-pc"),
])
def test_first_boot_installs_the_boot_loader_of_the_firmware(firmware, expect, refuse):
    script = image.guest_files("k", MIRROR, SECURITY, firmware)["/usr/local/sbin/xenops-lab-firstboot"][1]
    assert expect in script
    assert refuse not in script
    assert script.rstrip().endswith('echo "%s"' % image.FIRSTBOOT_MARKER)


def test_uefi_fstab_mounts_the_efi_system_partition():
    bios = image.guest_files("k", MIRROR, SECURITY)["/etc/fstab"][1]
    uefi = image.guest_files("k", MIRROR, SECURITY, "uefi")["/etc/fstab"][1]
    assert "/boot/efi" not in bios
    assert "LABEL=%s /boot/efi vfat umask=0077 0 1" % image.ESP_LABEL in uefi.splitlines()
    # FAT labels are at most 11 characters
    assert len(image.ESP_LABEL) <= 11


def test_firmware_args():
    assert image.firmware_args("bios", "/run/lab1-vars.qcow2") == []
    args = image.firmware_args("uefi", "/run/lab1-vars.qcow2")
    drives = [args[i + 1] for i, a in enumerate(args) if a == "-drive"]
    assert len(drives) == 2
    code, nvram = drives
    assert "readonly=on" in code and "unit=0" in code and code.endswith("OVMF_CODE_4M.fd")
    # the variable store is the host's own, writable, and qcow2 (savevm needs that)
    assert "format=qcow2" in nvram and "unit=1" in nvram and "readonly" not in nvram
    assert nvram.endswith("file=/run/lab1-vars.qcow2")


@pytest.mark.parametrize("firmware", ["bios", "uefi"])
def test_the_root_file_system_fits_its_partition(tmp_path, firmware):
    sfdisk = shutil.which("sfdisk") or shutil.which("sfdisk", path="/usr/sbin:/sbin")
    if not sfdisk:
        pytest.skip("sfdisk (package fdisk) is not installed")
    disk = tmp_path / "disk.raw"
    with open(disk, "wb") as fh:
        fh.truncate(image.IMAGE_SIZE_MIB * 1024 * 1024)
    table, root_offset, root_mib = image.partition_table(firmware)
    subprocess.run([sfdisk, "-q", str(disk)], input=table, check=True, capture_output=True)
    parts = json.loads(subprocess.run([sfdisk, "--json", str(disk)], check=True, capture_output=True).stdout)
    parts = parts["partitiontable"]["partitions"]
    root = parts[-1]
    # mkfs.ext4 writes root_mib MiB at root_offset: exactly the partition, nothing past it
    assert root["start"] == root_offset * 2048
    assert root["size"] == root_mib * 2048
    if firmware == "uefi":
        esp = parts[0]
        assert esp["type"] == "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
        assert esp["start"] == image.PART_OFFSET_MIB * 2048 and esp["size"] == image.ESP_MIB * 2048
        # the backup GPT (the last 33 sectors) stays outside the root file system
        assert root["start"] + root["size"] <= image.IMAGE_SIZE_MIB * 2048 - 33


def test_each_suite_has_its_own_cache_keys_and_apt_sources():
    keys = dict((suite, image._hash(image.image_inputs('http://m/debian', 'http://s/debian-security', 'KEY', suite=suite)))
                for suite in image.SUITES)
    assert len(set(keys.values())) == len(image.SUITES) == 2
    rootfs = dict((suite, image.rootfs_inputs('http://m/debian', suite=suite)) for suite in image.SUITES)
    assert rootfs['trixie']['suite'] == 'trixie' and rootfs['bookworm']['suite'] == 'bookworm'
    files = image.guest_files('KEY', 'http://m/debian', 'http://s/debian-security', suite='trixie')
    sources = files['/etc/apt/sources.list.d/debian.sources'][1]
    assert 'Suites: trixie trixie-updates\n' in sources and 'Suites: trixie-security\n' in sources
    assert 'bookworm' not in sources


def test_the_default_suite_is_debian_13_unless_the_environment_says_otherwise(monkeypatch):
    monkeypatch.delenv('XENOPS_LAB_SUITE', raising=False)
    assert image.default_suite() == 'trixie'
    monkeypatch.setenv('XENOPS_LAB_SUITE', 'bookworm')
    assert image.default_suite() == 'bookworm'
    monkeypatch.setenv('XENOPS_LAB_SUITE', 'jessie')
    with pytest.raises(common.LabError, match='XENOPS_LAB_SUITE=jessie: not a lab suite'):
        image.default_suite()


def test_a_host_of_another_release_finds_the_security_archive_of_its_own(monkeypatch):
    monkeypatch.delenv('XENOPS_LAB_SECURITY_MIRROR', raising=False)
    monkeypatch.setattr(common, 'host_apt_sources', lambda: [
        ('http://deb.debian.org/debian', ['bookworm', 'bookworm-updates'], ['main']),
        ('http://deb.debian.org/debian-security', ['bookworm-security'], ['main'])])
    assert common.debian_security_mirror('trixie') == common.debian_security_mirror('bookworm') == \
        'http://deb.debian.org/debian-security'
    monkeypatch.setattr(common, 'host_apt_sources', lambda: [('http://deb.debian.org/debian', ['bookworm'], ['main'])])
    assert common.debian_security_mirror('trixie') is None
