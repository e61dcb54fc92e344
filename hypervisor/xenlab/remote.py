"""A lab host seen from this machine: commands over ``hypervisor/lab ssh``, scripts copied to it, Xen on it.

Used by ``hypervisor/capture-fixtures`` and, through ``tests/lab/labkit.py`` (which turns a
failure into a test failure), by the lab tests. Every call returns what it saw; ``must``
raises ``LabError`` with the command's output tail unless it exited 0.
"""

import os
import subprocess
import time

from xenlab.common import HYPERVISOR_DIR, LabError

LAB = os.path.join(HYPERVISOR_DIR, "lab")
SCRIPTS = os.path.join(HYPERVISOR_DIR, "scripts")


class Remote(object):
    """One lab run directory (None: the default one, hypervisor/.run) and one host in it."""

    def __init__(self, run_dir=None, host="lab1"):
        self.run_dir = run_dir
        self.host = host

    def env(self):
        env = dict(os.environ)
        if self.run_dir:
            env["XENOPS_LAB_RUN_DIR"] = self.run_dir
        return env

    def fail(self, message):
        raise LabError(message)

    def lab(self, *args, input=None, timeout=1800, text=True):
        """Run ``hypervisor/lab ARGS``: (rc, stdout and stderr; bytes unless ``text``)."""
        proc = subprocess.run([LAB] + list(args), input=input, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT if text else subprocess.PIPE,
                              stdin=None if input is not None else subprocess.DEVNULL, timeout=timeout,
                              env=self.env(), check=False)
        if not text:
            if proc.returncode != 0:
                return proc.returncode, proc.stderr
            return proc.returncode, proc.stdout
        return proc.returncode, proc.stdout.decode("utf-8", "replace")

    def ssh(self, cmd, input=None, timeout=900, text=True):
        """Run a shell command on the host: (rc, output)."""
        return self.lab("ssh", self.host, "--", cmd, input=input, timeout=timeout, text=text)

    def check(self, result, what):
        """(rc, output) of a command: its output when rc is 0, else ``fail`` with the output tail."""
        rc, out = result
        if rc != 0:
            if isinstance(out, bytes):
                out = out.decode("utf-8", "replace")
            self.fail("%s failed (rc=%d):\n%s" % (what, rc, out[-4000:]))
        return out

    def must(self, cmd, input=None, timeout=900):
        """Run a shell command on the host; ``fail`` unless it exits 0. Returns its output."""
        return self.check(self.ssh(cmd, input=input, timeout=timeout), cmd)

    def push(self, script, remote):
        """Copy one of hypervisor/scripts to the host as an executable."""
        with open(os.path.join(SCRIPTS, script), "rb") as fh:
            self.must("mkdir -p %s && cat > %s && chmod 0755 %s" % (os.path.dirname(remote), remote, remote),
                      input=fh.read())

    def is_dom0(self):
        return self.ssh("grep -q control_d /proc/xen/capabilities 2>/dev/null && xl info >/dev/null")[0] == 0

    def install_xen(self, timings=None, timeout=3600, reboot_timeout=1800):
        """Install Xen (hypervisor/scripts/install-xen.sh, with busybox-static) and reboot into it.

        ``timings`` (a dict) gets ``xen_install`` and ``reboot_into_xen`` in seconds.
        """
        timings = {} if timings is None else timings
        t0 = time.time()
        self.push("install-xen.sh", "/usr/local/sbin/xenops-install-xen")
        self.must("EXTRA_PACKAGES=busybox-static /usr/local/sbin/xenops-install-xen", timeout=timeout)
        timings["xen_install"] = time.time() - t0
        t1 = time.time()
        self.check(self.lab("reboot", self.host, timeout=reboot_timeout), "reboot %s into Xen" % self.host)
        timings["reboot_into_xen"] = time.time() - t1
        if not self.is_dom0():
            self.fail("%s did not boot as Xen dom0; console tail:\n%s"
                      % (self.host, self.lab("console", self.host, "-n", "60")[1]))
        return timings

    def busybox_boot_files(self, timeout=900, ssh=False):
        """Install busybox-static and build the busybox initramfs of the test domains on the host.

        ``ssh``: the domains also run dropbear for root with the host's own authorized keys (the lab key).
        """
        self.push("make-busybox-initramfs.sh", "/usr/local/sbin/xenops-make-busybox-initramfs")
        # xz-utils: Debian 13's modules are .ko.xz; zstd: its bzImage is zstd-compressed (the PVH vmlinux)
        packages = "busybox-static xz-utils zstd" + (" dropbear-bin" if ssh else "")
        # dpkg-query -W also succeeds for a package dpkg merely knows of: ask for its status
        self.must("missing=; for p in %s; do dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q 'ok installed' || "
                  "missing=\"$missing $p\"; done; [ -z \"$missing\" ] || (apt-get update -qq && "
                  "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing)" % packages,
                  timeout=timeout)
        self.must(("XENOPS_DOMU_AUTHORIZED_KEYS=/root/.ssh/authorized_keys " if ssh else "")
                  + "/usr/local/sbin/xenops-make-busybox-initramfs")
