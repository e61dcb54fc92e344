"""Testinfra checks of a lab host (molecule verifier)."""


def test_debian_12(host):
    info = host.system_info
    assert info.distribution == "debian"
    assert info.release.startswith("12")


def test_sshd_running(host):
    sshd = host.service("ssh")
    assert sshd.is_running
    assert sshd.is_enabled
    assert host.socket("tcp://0.0.0.0:22").is_listening


def test_python3_present(host):
    assert host.exists("python3")
    out = host.check_output("python3 -c 'import sys; print(sys.version_info[0])'")
    assert out.strip() == "3"


DATA_DISK = "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_d1"


def test_second_disk_present(host):
    # usually /dev/sdb; the kernel may name the two SCSI disks in either order
    disk = host.block_device(DATA_DISK)
    assert disk.size >= 8 * 1024**3
    assert not disk.is_partition
    real = host.check_output("readlink -f %s", DATA_DISK)
    assert real.startswith("/dev/sd")
    root = host.check_output("findmnt -n -o SOURCE /")
    assert not root.startswith(real)


def test_lvm_tools_present(host):
    assert host.package("lvm2").is_installed
    assert host.exists("pvcreate")


def test_shared_network_address(host):
    name = host.check_output("hostname")
    assert name.startswith("lab")
    index = int(name[3:])
    addrs = host.interface("eth1").addresses
    assert "10.99.0.%d" % (10 + index) in addrs


def test_serial_console_on_kernel_cmdline(host):
    cmdline = host.file("/proc/cmdline").content_string
    # plain Debian boots with console=ttyS0; under Xen the dom0 console is hvc0
    assert "console=ttyS0" in cmdline or "console=hvc0" in cmdline
