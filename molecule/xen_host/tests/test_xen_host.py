"""Testinfra checks of a lab host after playbooks/site.yml (molecule verifier)."""

import json

XEN_CMDLINE = "dom0_mem=1024M,max:1024M dom0_max_vcpus=1-2 console=com1 com1=115200,8n1"
DATA_DISK = "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_d1"


def _xl_info(host):
    out = host.check_output("xl info")
    return dict((k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in out.splitlines() if ":" in line))


def test_xl_info_works(host):
    info = _xl_info(host)
    assert info["xen_major"] == "4"
    assert info["xen_minor"] == "17"
    assert "dom0_mem=1024M,max:1024M" in info["xen_commandline"]


def test_running_as_dom0(host):
    assert host.file("/sys/hypervisor/type").content_string.strip() == "xen"
    assert host.file("/proc/xen/capabilities").content_string.strip() == "control_d"
    assert "console=hvc0" in host.file("/proc/cmdline").content_string


def test_grub_default_is_the_xen_entry(host):
    env = host.check_output("grub-editenv list")
    saved = [line.split("=", 1)[1] for line in env.splitlines() if line.startswith("saved_entry=")]
    assert saved and saved[0].startswith("xen-gnulinux-simple-")
    assert "$menuentry_id_option '%s'" % saved[0] in host.file("/boot/grub/grub.cfg").content_string
    # the one-time boot entry was used up
    assert [line for line in env.splitlines() if line.startswith("next_entry=") and line != "next_entry="] == []


def test_grub_xen_cmdline_as_asked(host):
    cfg = host.file("/etc/default/grub.d/xenops-xen.cfg")
    assert cfg.exists
    assert 'GRUB_CMDLINE_XEN_DEFAULT="%s"' % XEN_CMDLINE in cfg.content_string
    assert 'GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT="console=hvc0 loglevel=4 panic=10"' in cfg.content_string
    assert "GRUB_DEFAULT=saved" in cfg.content_string
    assert XEN_CMDLINE in _xl_info(host)["xen_commandline"]


def test_trial_watchdog_removed(host):
    assert not host.file("/etc/systemd/system/xenops-xen-trial-watchdog.timer").exists
    assert not host.file("/etc/systemd/system/xenops-xen-trial-watchdog.service").exists


def test_volume_group_on_second_disk(host):
    disk = host.check_output("realpath %s" % DATA_DISK)
    report = json.loads(host.check_output("pvs --reportformat json -o pv_name,vg_name"))
    pvs = {pv["pv_name"]: pv["vg_name"] for pv in report["report"][0]["pv"]}
    assert pvs.get(disk) == "vg_xen"
    assert host.run("vgs vg_xen").rc == 0


def test_image_directory(host):
    d = host.file("/var/lib/xen/images")
    assert d.is_directory
    assert d.user == "root"


def test_lib_tls_moved(host):
    assert not host.file("/lib/tls").exists
    assert host.file("/lib/tls.disabled").is_directory
    assert host.file("/lib/tls.disabled/xenops-marker").exists


def test_xl_conf(host):
    conf = host.file("/etc/xen/xl.conf").content_string
    assert 'output_format="json"' in conf
    assert 'autoballoon="off"' in conf
    assert 'vif.default.script="vif-bridge"' in conf


def test_guest_console_logging(host):
    assert '--log=guest' in host.file("/etc/default/xen").content_string
    procs = host.process.filter(comm="xenconsoled")
    assert procs
    assert any("--log=guest" in p.args for p in procs)
    assert host.file("/var/log/xen/console").is_directory


def test_xen_services_enabled(host):
    for name in ("xen", "xendomains"):
        assert host.service(name).is_enabled


def test_kernel_for_domains(host):
    assert host.file("/boot/vmlinuz-%s" % host.check_output("uname -r")).exists
