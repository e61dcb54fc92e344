"""Capture real Xen toolstack / LVM output from a lab host into the unit-test fixtures.

    hypervisor/capture-fixtures [--host lab1] [--out DIR]

Needs a running lab host (`hypervisor/lab up`). If the host is not running Xen yet, Xen is
installed with hypervisor/scripts/install-xen.sh and the host is rebooted into it.
Re-runnable: the volume group and LVs are reused, the domUs are recreated each run.
"""

import argparse
import datetime
import io
import os
import shutil
import subprocess
import sys
import tarfile

from xenlab.common import LabError
from xenlab.remote import Remote

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_OUT = os.path.join(REPO, "tests", "unit", "plugins", "module_utils", "fixtures", "lab")
GUEST_OUT = "/root/xenops-fixtures"


def capture(host, out):
    if host.lab("wait", host.host, "--timeout", "60")[0] != 0:
        host.fail("%s is not up; run `hypervisor/lab up` first" % host.host)
    if not host.is_dom0():
        print("capture-fixtures: installing Xen on %s and rebooting into it" % host.host, flush=True)
        host.install_xen()
    host.busybox_boot_files()
    host.push("capture-fixtures-guest.py", "/usr/local/sbin/xenops-capture-fixtures")
    host.must("python3 /usr/local/sbin/xenops-capture-fixtures " + GUEST_OUT, timeout=1800)

    data = host.check(host.ssh("tar -C %s -cf - ." % GUEST_OUT, text=False), "tar of " + GUEST_OUT)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            if member.isfile() and "/" not in member.name.lstrip("./"):
                member.name = os.path.basename(member.name)
                tar.extract(member, out)
    write_readme(out)
    print("capture-fixtures: %d files in %s" % (len(os.listdir(out)), out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--host", default="lab1")
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    try:
        capture(Remote(host=args.host), args.out)
    except LabError as exc:
        sys.exit("capture-fixtures: %s" % exc)


README = """# Real Xen / LVM output from the lab

Captured by `hypervisor/capture-fixtures` (guest side: `hypervisor/scripts/capture-fixtures-guest.py`)
on {date} from lab host `{host}`: Debian 12 running as Xen dom0 inside QEMU {qemu} with TCG
(no KVM), `-cpu max,-smap,-rdtscp`, 2 vCPUs, 2 GiB RAM, dom0_mem=768M.

- Xen: {xen}
- dom0 kernel: {kernel}
- LVM: {lvm}

Re-run `hypervisor/lab up && hypervisor/capture-fixtures` to refresh. Do not edit by hand.
A new capture has new domain ids, UUIDs, random MACs and timings: unit tests that pin
values from these files must be updated with it.

## Setup done before capturing

- VG `vg_xen` on the lab's second, 8 GiB disk (`/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_d1`,
  `{disk}` at capture time); LVs `news-root` (1 GiB, ext4),
  `news-swap` (256 MiB, swap), `web-root` (512 MiB, no file system).
- Bridge `xenbr0` in dom0 (no uplink).
- domU `news`: PV, `news.cfg`; domU `web`: PVH, `web.cfg`. Both boot the dom0's kernel with a
  busybox initramfs (`/init` mounts proc and sleeps).

Every command also has a `NAME.json` file with `{{argv, rc, stdout, stderr}}` (`LC_ALL=C`).
Raw files hold the command's stdout exactly.

## Files

| file | produced by |
| --- | --- |
| `xl_list.txt` | `xl list` (news and web running) |
| `xl_list_l.json` | `xl list -l` |
| `xl_list_l_news.json` | `xl list -l news` |
| `xl_list_l_web.json` | `xl list -l web` |
| `xl_list_paused.txt` | `xl list` while `web` is paused (`xl pause web`) |
| `xl_info.txt` | `xl info` |
| `xl_vcpu_list.txt` | `xl vcpu-list` |
| `xl_block_list_news.txt` | `xl block-list news` |
| `xl_network_list_news.txt` | `xl network-list news` |
| `xl_create_N_valid.txt` | `xl -N create /etc/xen/news.cfg` (dry run; prints the parsed config as JSON) |
| `xl_create_N_invalid.txt` | `xl -N create` on `bad-syntax.cfg` and `bad-disk.cfg`: rc, stdout, stderr (also `xl_create_N_invalid_*.json`) |
| `xl_shutdown_missing.txt` | `xl shutdown nosuch`: rc, stdout, stderr (also `.json`) |
| `xl_destroy_missing.json`, `xl_domid_missing.json` | `xl destroy nosuch`, `xl domid nosuch` |
| `lvs.json` | `lvs --reportformat json --units b --nosuffix -o vg_name,lv_name,lv_path,lv_size,lv_attr` |
| `lvs_missing_vg.json` | the same `lvs` for a VG that does not exist (`vg_nosuch`) |
| `vgs.json` | `vgs --reportformat json --units b --nosuffix -o vg_name,vg_size,vg_free,vg_extent_size,vg_free_count` |
| `blkid_news-root.txt` | `blkid -p -o export /dev/vg_xen/news-root` (ext4) |
| `blkid_news-swap.txt` | `blkid -p -o export /dev/vg_xen/news-swap` (swap) |
| `blkid_web-root.txt` | `blkid -p -o export /dev/vg_xen/web-root`: no signature, empty output, rc in `blkid_web-root.json` |
| `news.cfg`, `web.cfg` | the xl.cfg files of the two domUs |
| `bad-syntax.cfg`, `bad-disk.cfg` | the invalid configs used for `xl -N create` |
| `xl_version.txt` | `dpkg-query` versions of the Xen packages and the `xen_*` version lines of `xl info` |
| `lvm_version.txt` | `lvm version` |
| `xl_conf.txt` | `/etc/xen/xl.conf` |
| `uname.txt` | `uname -a` in dom0 |
"""


def write_readme(out):
    def read(name):
        try:
            with open(os.path.join(out, name)) as fh:
                return fh.read()
        except OSError:
            return ""
    info = read("xl_info.txt")
    xen = " ".join(l.split(":", 1)[1].strip() for l in info.splitlines()
                   if l.startswith("xen_version")) or "unknown"
    pkgs = [l for l in read("xl_version.txt").splitlines() if l.startswith("xen-hypervisor") and len(l.split()) == 2]
    if pkgs:
        xen += " (Debian package %s)" % pkgs[0]
    kernel = (read("uname.txt").split() + ["?"] * 3)[2]
    disk = read("data_disk.txt").strip() or "/dev/sdb"
    lvm = " ".join(l.strip() for l in read("lvm_version.txt").splitlines()[:1]) or "unknown"
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], stdout=subprocess.PIPE,
                          universal_newlines=True, check=False).stdout.split("\n")[0].replace("QEMU emulator version ", "")
    with open(os.path.join(out, "README.md"), "w") as fh:
        fh.write(README.format(date=datetime.date.today().isoformat(), host="lab1", qemu=qemu,
                               xen=xen, kernel=kernel, lvm=lvm, disk=disk))


if __name__ == "__main__":
    main()
