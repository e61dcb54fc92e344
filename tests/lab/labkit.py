"""Helpers shared by the lab tests: drive hypervisor/lab, run commands and modules on a lab host.

pytest puts this directory on sys.path (rootdir-relative "prepend" import), so the tests do
``import labkit``. Every call returns what it saw; ``must`` turns a failure into a test failure
with the command's output tail.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
import yaml
from xenlab.remote import Remote  # hypervisor/xenlab, on sys.path by pytest.ini

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, ".tmp", "collections")
BIN = os.path.dirname(sys.executable)
# Boot files of the busybox test domains on a lab dom0 (hypervisor/scripts/make-busybox-initramfs.sh).
BUSYBOX_KERNEL = "/var/lib/xenops-lab/vmlinuz"
BUSYBOX_RAMDISK = "/var/lib/xenops-lab/busybox-initramfs.cpio.gz"
# the ELF kernel inside BUSYBOX_KERNEL, for PVH domains (they cannot boot a bzImage)
BUSYBOX_VMLINUX = "/var/lib/xenops-lab/vmlinux"


def skip_unless_enabled():
    """XENOPS_LAB=skip skips every lab test explicitly; otherwise a lab that cannot run fails."""
    if os.environ.get("XENOPS_LAB", "") == "skip":
        pytest.skip("XENOPS_LAB=skip", allow_module_level=True)


def busybox_cfg(name, *lines):
    """xl config of a busybox PV test domain (96 MiB, 1 vCPU), with ``lines`` appended."""
    return "".join(line + "\n" for line in [
        'name = "%s"' % name, 'type = "pv"', 'kernel = "%s"' % BUSYBOX_KERNEL, 'ramdisk = "%s"' % BUSYBOX_RAMDISK,
        'extra = "console=hvc0 quiet"', "memory = 96", "vcpus = 1"] + list(lines))


def busybox_fleet_group_vars(**extra):
    """group_vars of a two-host lab fleet of busybox PVH domains: the lab's own host settings (grub: dom0 memory,
    serial console, timeouts under emulation), networkd, migrations over the shared lab network, the lab's second
    disk (drive d1) as vg_xen; ``extra`` on top."""
    with open(os.path.join(REPO, "playbooks", "inventory", "group_vars", "xen_hosts.yml")) as fh:
        group = yaml.safe_load(fh)
    group.update({
        "network_backend": "systemd-networkd",
        "domains_kernel": BUSYBOX_VMLINUX,
        "domains_ramdisk": BUSYBOX_RAMDISK,
        "domains_disks": [],
        "domains_os": "none",
        "domains_type": "pvh",
        "domains_boot_settle": 5,
        "fleet_migration_address": "{{ xenops_lab_shared_ip }}",
        "storage_pvs": ["/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_d1"],
    })
    group.update(extra)
    return group


def ensure_collection():
    """The collection symlink under .tmp/collections that ANSIBLE_COLLECTIONS_PATH points at."""
    link = os.path.join(COLLECTIONS, "ansible_collections", "xenops", "xen")
    if not os.path.exists(link):
        subprocess.run(["make", "-C", REPO, "collection"], check=True, stdout=subprocess.DEVNULL)


class Lab(Remote):
    """One lab run directory (None: the default one, hypervisor/.run) and one host in it; a failure fails the test."""

    def __init__(self, run_dir=None, host="lab1", pipelining=True):
        super(Lab, self).__init__(run_dir=run_dir, host=host)
        self.pipelining = pipelining

    def env(self):
        env = super(Lab, self).env()
        env["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS
        env["ANSIBLE_NOCOLOR"] = "1"
        env["ANSIBLE_HOST_KEY_CHECKING"] = "False"
        if self.pipelining:
            env["ANSIBLE_PIPELINING"] = "True"
        return env

    def fail(self, message):
        pytest.fail(message)

    def grub_env(self):
        """GRUB's environment block on the host: (saved_entry, the non-empty next_entry lines, the whole listing)."""
        env = self.must("grub-editenv list")
        saved = [line.split("=", 1)[1] for line in env.splitlines() if line.startswith("saved_entry=")]
        pending = [line for line in env.splitlines() if line.startswith("next_entry=") and line != "next_entry="]
        return (saved[0] if saved else ""), pending, env

    def assert_fell_back(self, boot_before, kernel_before):
        """After a failed boot into Xen: a new boot of the old kernel, without Xen, the GRUB default the
        plain kernel, no one-time entry pending, and the trial boot's watchdog gone."""
        assert self.must("cat /proc/sys/kernel/random/boot_id").strip() != boot_before
        assert self.must("uname -r").strip() == kernel_before
        assert self.must("test -e /sys/hypervisor/type && cat /sys/hypervisor/type || echo none").strip() == "none"
        saved, pending, env = self.grub_env()
        assert saved.startswith("gnulinux-simple-"), env
        assert not pending, env
        assert self.must("ls /etc/systemd/system/ | grep -c xenops-xen-trial || true").strip() == "0"

    def hosts_status(self):
        """``lab status --json`` of the run directory: host name -> its entry (running, ssh_port, address,
        shared_ip, snapshots, ...); empty when it cannot be read."""
        rc, out = self.lab("status", "--json")
        if rc != 0:
            return {}
        try:
            return dict((h["name"], h) for h in json.loads(out))
        except ValueError:
            return {}

    def status(self):
        """What ``lab status --json`` says of this host, which must run: the ports and addresses the lab gave it
        (never assume them: ``ssh_port`` depends on the other labs running on the machine)."""
        entry = self.hosts_status().get(self.host)
        if not entry or not entry["running"]:
            self.fail("lab status --json has no running host %s: %r" % (self.host, entry))
        return entry

    def snapshots(self):
        """Snapshots of the running host (empty when it does not run)."""
        entry = self.hosts_status().get(self.host)
        return list(entry["snapshots"]) if entry and entry["running"] else []

    def xen_ready(self, snapshot="xen-ready", fresh=False):
        """Bring the host up as a Xen dom0: restore ``snapshot``, reuse a running dom0, or install.

        An install (hypervisor/scripts/install-xen.sh, reboot) takes the snapshot for the
        next time. ``fresh`` wipes the host's disks first. Returns (how, timings in seconds).
        """
        timings = {}
        t0 = time.time()
        if fresh:
            must(self.lab("down", "--wipe"), "hypervisor/lab down --wipe")
        must(self.lab("up"), "hypervisor/lab up")
        timings["up"] = time.time() - t0
        how = None
        if snapshot in self.snapshots():
            t1 = time.time()
            rc, out = self.lab("restore", snapshot, timeout=900)
            if rc == 0 and self.is_dom0():
                how = "restored"
                timings["restore"] = time.time() - t1
            else:
                print("\nrestore of %s failed, installing Xen instead:\n%s" % (snapshot, out[-2000:]))
        if how is None and self.is_dom0():
            how = "reused"
        if how is None:
            how = "installed"
            self.install_xen(timings)
            t3 = time.time()
            must(self.lab("snapshot", snapshot, timeout=900), "snapshot " + snapshot)
            timings["snapshot"] = time.time() - t3
        timings["total_setup"] = time.time() - t0
        return how, timings

    def wait_domain_up(self, name, timeout):
        """Poll ``xl list NAME`` every 2 s until its state has r or b, for at most ``timeout`` seconds.

        Returns (the last state seen or None, the last ``xl list`` output).
        """
        state, out = None, ""
        end = time.time() + timeout
        while time.time() < end:
            rc, out = self.ssh("xl list %s" % name)
            lines = out.strip().splitlines()
            if rc == 0 and len(lines) == 2:
                state = lines[1].split()[4]
                if "r" in state or "b" in state:
                    break
            time.sleep(2)
        return state, out

    def inventory(self, path):
        must(self.lab("inventory", path), "hypervisor/lab inventory " + path)
        return path

    def module(self, inventory, name, args, check=False, diff=False, timeout=900):
        """Run one module on the host with ad-hoc ``ansible -t DIR`` (its result is written as JSON).

        Returns (result dict, seconds, what ansible printed). The written result carries no
        ``failed``, warnings or diff: ``failed`` is set here from ansible's exit code, the warnings
        and the diff are in the printed text.
        """
        tree = tempfile.mkdtemp(prefix="xenops-lab-module-")
        argv = [os.path.join(BIN, "ansible"), self.host, "-i", inventory, "-t", tree, "-m", name,
                "-a", json.dumps(args)]
        argv += ["--check"] if check else []
        argv += ["--diff"] if diff else []
        started = time.time()
        proc = subprocess.run(argv, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, check=False)
        seconds = time.time() - started
        try:
            with open(os.path.join(tree, self.host)) as fh:
                result = json.load(fh)
        except (OSError, ValueError):
            result = None
        finally:
            shutil.rmtree(tree, ignore_errors=True)
        printed = proc.stdout.decode("utf-8", "replace")
        if result is None or "unreachable" in result:
            pytest.fail("ansible wrote no result for %s (rc=%d):\n%s" % (name, proc.returncode, printed[-3000:]))
        result["failed"] = proc.returncode != 0
        return result, seconds, printed

    def recap(self, out):
        """The PLAY RECAP counts of the host in ansible-playbook output: {ok, changed, unreachable, failed}."""
        found = re.search(r"^%s\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)" % self.host,
                          out, re.M)
        assert found, out[-3000:]
        return {k: int(v) for k, v in zip(("ok", "changed", "unreachable", "failed"), found.groups())}

    def playbook(self, inventory, playbook, *extra, timeout=5400):
        """Run ansible-playbook: (rc, output)."""
        argv = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, playbook] + list(extra)
        proc = subprocess.run(argv, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, timeout=timeout, check=False)
        return proc.returncode, proc.stdout.decode("utf-8", "replace")


def xen_dom0(lab, run_dir, timings):
    """The body of a module fixture: ``lab``'s host as a Xen dom0 (:meth:`Lab.xen_ready`), an inventory of it.

    Yields ``{"inventory": path, "host": its inventory vars}``; the timings go into ``timings``
    and, at the end, into ``run_dir``/timings.json.
    """
    os.makedirs(run_dir, exist_ok=True)
    ensure_collection()
    how, seconds = lab.xen_ready()
    timings.update({"dom0": how}, **{"dom0_" + k: v for k, v in seconds.items()})
    inventory = lab.inventory(os.path.join(run_dir, "inventory.yml"))
    with open(inventory) as fh:
        host = yaml.safe_load(fh)["all"]["children"]["xen_hosts"]["hosts"][lab.host]
    yield {"inventory": inventory, "host": host}
    with open(os.path.join(run_dir, "timings.json"), "w") as fh:
        json.dump(timings, fh, indent=2)
    print("timings: %s" % timings)


def grub_reboot_seconds(out):
    """How long the grub role's reboot into Xen took (the reboot module's "elapsed", printed with -v), or None."""
    found = re.search(r"TASK \[xenops\.xen\.grub : Reboot into the Xen entry once\].*?\"elapsed\": (\d+)", out, re.S)
    return int(found.group(1)) if found else None


def cache_dir():
    """The lab's cache (images, and run dirs kept between runs): ${XDG_CACHE_HOME:-~/.cache}/xenops-lab."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "xenops-lab")


def content_key(*paths):
    """A short hash of the files at paths (files or directories, relative to the repository)."""
    digest = hashlib.sha256()
    for path in paths:
        full = os.path.join(REPO, path)
        files = [full] if os.path.isfile(full) else sorted(
            os.path.join(top, f) for top, _subdirs, names in os.walk(full) for f in names if "__pycache__" not in top)
        for name in files:
            digest.update(os.path.relpath(name, REPO).encode() + b"\0")
            with open(name, "rb") as fh:
                digest.update(fh.read() + b"\0")
    return digest.hexdigest()[:12]


def cached_run_dir(prefix, *paths):
    """A lab run dir in the cache whose name carries the content key of paths, so that a snapshot
    made in it is reused only while those files are unchanged; older ones of the prefix are removed
    (after their VMs are stopped)."""
    runs = os.path.join(cache_dir(), "runs")
    os.makedirs(runs, exist_ok=True)
    mine = os.path.join(runs, "%s-%s" % (prefix, content_key(*paths)))
    for name in os.listdir(runs):
        old = os.path.join(runs, name)
        if name.startswith(prefix + "-") and old != mine:
            Lab(run_dir=old).lab("down", "--wipe", timeout=300)
            shutil.rmtree(old, ignore_errors=True)
    os.makedirs(mine, exist_ok=True)
    return mine


def must(result, what):
    """(rc, output) of a command: fail the test with the output tail unless rc is 0 (:meth:`Remote.check`)."""
    return Lab().check(result, what)
