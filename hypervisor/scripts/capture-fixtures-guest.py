"""Run inside a Xen lab host (dom0, as root): set up storage, a bridge and two domUs,
then record real toolstack output into a directory. Driven by hypervisor/capture-fixtures.

    capture-fixtures-guest.py OUTDIR
"""

import json
import os
import shutil
import subprocess
import sys
import time

OUT = sys.argv[1] if len(sys.argv) > 1 else "/root/xenops-fixtures"
ENV = dict(os.environ, LC_ALL="C", LANG="C")
LIB = "/var/lib/xenops-lab"
KERNEL = LIB + "/vmlinuz"
ELF_KERNEL = LIB + "/vmlinux"  # PVH needs the ELF image, not the bzImage
RAMDISK = LIB + "/busybox-initramfs.cpio.gz"
VG = "vg_xen"
# The lab's second disk (QEMU drive d1). Usually /dev/sdb, but the kernel may name the
# two SCSI disks in either order, so go by id.
DISK_ID = "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_d1"
DISK = os.path.realpath(DISK_ID) if os.path.exists(DISK_ID) else "/dev/sdb"

NEWS_CFG = """# PV domU used for the xenops test fixtures
name = "news"
type = "pv"
kernel = "%(kernel)s"
ramdisk = "%(ramdisk)s"
extra = "console=hvc0 quiet"
vcpus = 2
maxvcpus = 2
memory = 128
maxmem = 192
disk = [ "phy:/dev/vg_xen/news-root,xvda,w", "phy:/dev/vg_xen/news-swap,xvdb,w" ]
vif = [ "mac=00:16:3e:00:00:01,bridge=xenbr0", "bridge=xenbr0" ]
on_poweroff = "destroy"
on_reboot = "restart"
on_crash = "destroy"
""" % {"kernel": KERNEL, "ramdisk": RAMDISK}

WEB_CFG = """# PVH domU used for the xenops test fixtures
name = "web"
type = "pvh"
kernel = "%(kernel)s"
ramdisk = "%(ramdisk)s"
extra = "console=hvc0 quiet"
vcpus = 1
memory = 96
disk = [ "phy:/dev/vg_xen/web-root,xvda,w" ]
vif = [ "mac=00:16:3e:00:00:02,bridge=xenbr0" ]
""" % {"kernel": ELF_KERNEL, "ramdisk": RAMDISK}

BAD_SYNTAX_CFG = """name = "bad-syntax"
type = "pv"
memory = 64
vcpus = 1 2
kernel = "%s"
""" % KERNEL

BAD_DISK_CFG = """name = "bad-disk"
type = "pv"
kernel = "%s"
ramdisk = "%s"
memory = 64
disk = [ "phy:/dev/vg_xen/web-root,xvda,w,frobnicate=yes" ]
""" % (KERNEL, RAMDISK)


def run(argv, check=False, input=None):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
                          universal_newlines=True, input=input, check=False)
    if check and proc.returncode != 0:
        sys.stderr.write("FAILED (rc=%d): %s\n%s%s" % (proc.returncode, " ".join(argv), proc.stdout, proc.stderr))
        sys.exit(1)
    return proc


def write(name, text):
    with open(os.path.join(OUT, name), "w") as fh:
        fh.write(text)


def record(name, argv, raw=None, input=None):
    """Run argv; write NAME.json {argv, rc, stdout, stderr} and, if raw, stdout to raw."""
    proc = run(argv, input=input)
    write(name + ".json", json.dumps({"argv": argv, "rc": proc.returncode, "stdout": proc.stdout,
                                      "stderr": proc.stderr}, indent=2) + "\n")
    if raw:
        write(raw, proc.stdout)
    print("captured %-28s rc=%d" % (raw or name + ".json", proc.returncode))
    return proc


def ok(argv):
    return run(argv).returncode == 0


def setup_storage():
    if not ok(["vgs", VG]):
        run(["pvcreate", "-ff", "-y", DISK], check=True)
        run(["vgcreate", VG, DISK], check=True)
    lvs = [("news-root", "1G", ["mkfs.ext4", "-q", "-L", "news-root"]),
           ("news-swap", "256M", ["mkswap", "-L", "news-swap"]),
           ("web-root", "512M", ["wipefs", "-a"])]
    for name, size, mk in lvs:
        if not ok(["lvs", "%s/%s" % (VG, name)]):
            run(["lvcreate", "-y", "-W", "y", "-Z", "y", "-n", name, "-L", size, VG], check=True)
            run(mk + ["/dev/%s/%s" % (VG, name)], check=True)


def setup_bridge():
    if not ok(["ip", "link", "show", "xenbr0"]):
        run(["ip", "link", "add", "xenbr0", "type", "bridge"], check=True)
    run(["ip", "link", "set", "xenbr0", "up"], check=True)


def destroy(name):
    if ok(["xl", "domid", name]):
        run(["xl", "destroy", name])


def wait_running(name, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        proc = run(["xl", "list", name])
        lines = proc.stdout.strip().splitlines()
        if proc.returncode == 0 and len(lines) > 1:
            state = lines[1].split()[4]
            if "r" in state or "b" in state:
                return
        time.sleep(1)
    sys.stderr.write("domain %s did not reach state r/b\n" % name)
    sys.exit(1)


def main():
    if not os.path.exists("/proc/xen/capabilities") or "control_d" not in open("/proc/xen/capabilities").read():
        sys.exit("not running as Xen dom0")
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    setup_storage()
    setup_bridge()
    for name, text in (("news.cfg", NEWS_CFG), ("web.cfg", WEB_CFG),
                       ("bad-syntax.cfg", BAD_SYNTAX_CFG), ("bad-disk.cfg", BAD_DISK_CFG)):
        with open("/etc/xen/" + name, "w") as fh:
            fh.write(text)
        write(name, text)
    for name in ("news", "web", "bad-syntax", "bad-disk"):
        destroy(name)

    record("xl_create_N_valid", ["xl", "-N", "create", "/etc/xen/news.cfg"], raw="xl_create_N_valid.txt")
    bad1 = record("xl_create_N_invalid_syntax", ["xl", "-N", "create", "/etc/xen/bad-syntax.cfg"])
    bad2 = record("xl_create_N_invalid_disk", ["xl", "-N", "create", "/etc/xen/bad-disk.cfg"])
    text = ""
    for proc, cfg in ((bad1, "bad-syntax.cfg"), (bad2, "bad-disk.cfg")):
        text += "$ xl -N create /etc/xen/%s\nrc: %d\n--- stdout\n%s--- stderr\n%s\n" % (
            cfg, proc.returncode, proc.stdout, proc.stderr)
    write("xl_create_N_invalid.txt", text)

    run(["xl", "create", "/etc/xen/news.cfg"], check=True)
    run(["xl", "create", "/etc/xen/web.cfg"], check=True)
    wait_running("news")
    wait_running("web")
    time.sleep(3)

    record("xl_list", ["xl", "list"], raw="xl_list.txt")
    record("xl_list_l", ["xl", "list", "-l"], raw="xl_list_l.json")
    record("xl_list_l_news", ["xl", "list", "-l", "news"], raw="xl_list_l_news.json")
    record("xl_list_l_web", ["xl", "list", "-l", "web"], raw="xl_list_l_web.json")
    record("xl_info", ["xl", "info"], raw="xl_info.txt")
    record("xl_vcpu_list", ["xl", "vcpu-list"], raw="xl_vcpu_list.txt")
    record("xl_block_list_news", ["xl", "block-list", "news"], raw="xl_block_list_news.txt")
    record("xl_network_list_news", ["xl", "network-list", "news"], raw="xl_network_list_news.txt")
    run(["xl", "pause", "web"], check=True)
    record("xl_list_paused", ["xl", "list"], raw="xl_list_paused.txt")
    run(["xl", "unpause", "web"], check=True)
    record("xl_shutdown_missing", ["xl", "shutdown", "nosuch"], raw="xl_shutdown_missing.txt")
    # the raw .txt of an error case holds stdout + stderr + rc
    for name in ("xl_shutdown_missing",):
        with open(os.path.join(OUT, name + ".json")) as fh:
            res = json.load(fh)
        write(name + ".txt", "$ %s\nrc: %d\n--- stdout\n%s--- stderr\n%s" % (
            " ".join(res["argv"]), res["rc"], res["stdout"], res["stderr"]))
    record("xl_destroy_missing", ["xl", "destroy", "nosuch"])
    record("xl_domid_missing", ["xl", "domid", "nosuch"])

    record("lvs", ["lvs", "--reportformat", "json", "--units", "b", "--nosuffix",
                   "-o", "vg_name,lv_name,lv_path,lv_size,lv_attr"], raw="lvs.json")
    record("vgs", ["vgs", "--reportformat", "json", "--units", "b", "--nosuffix",
                   "-o", "vg_name,vg_size,vg_free,vg_extent_size,vg_free_count"], raw="vgs.json")
    record("lvs_missing_vg", ["lvs", "--reportformat", "json", "--units", "b", "--nosuffix",
                              "-o", "vg_name,lv_name,lv_path,lv_size,lv_attr", "vg_nosuch"])
    record("blkid_news-root", ["blkid", "-p", "-o", "export", "/dev/vg_xen/news-root"],
           raw="blkid_news-root.txt")
    record("blkid_news-swap", ["blkid", "-p", "-o", "export", "/dev/vg_xen/news-swap"],
           raw="blkid_news-swap.txt")
    record("blkid_web-root", ["blkid", "-p", "-o", "export", "/dev/vg_xen/web-root"],
           raw="blkid_web-root.txt")

    versions = run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n",
                    "xen-system-amd64", "xen-hypervisor-*", "xen-utils-4*", "xen-utils-common"]).stdout
    versions = "".join(l + "\n" for l in versions.splitlines() if len(l.split()) == 2)
    info = run(["xl", "info"]).stdout
    versions += "".join(l + "\n" for l in info.splitlines() if l.startswith(("xen_version", "xen_major",
                                                                             "xen_minor", "xen_extra")))
    write("xl_version.txt", versions)
    record("lvm_version", ["lvm", "version"], raw="lvm_version.txt")
    with open("/etc/xen/xl.conf") as fh:
        write("xl_conf.txt", fh.read())
    write("uname.txt", run(["uname", "-a"]).stdout)
    write("data_disk.txt", DISK + "\n")

    if "--keep" not in sys.argv:
        destroy("news")
        destroy("web")
    print("done")


if __name__ == "__main__":
    main()
