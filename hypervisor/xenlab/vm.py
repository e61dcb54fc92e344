"""Lab hosts: QEMU processes, their disks, ports, monitor and the shared switch."""

import json
import os
import re
import signal
import socket
import subprocess
import time

from . import common, image
from .common import LabError, log, run

SSH_BASE_PORT = 2221
DATA_DISK_SIZE = "8G"


def pid_alive(pid, expect=None):
    """True if pid runs and (optionally) its command line mentions expect."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        with open("/proc/%d/stat" % pid) as fh:
            if fh.read().split(")")[-1].split()[0] == "Z":
                return False
    except OSError:
        return False
    if expect:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as fh:
                return expect.encode() in fh.read()
        except OSError:
            return False
    return True


def read_pid(path):
    try:
        with open(path) as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def stop_pid(pidfile, expect, graceful=None, timeout=15):
    """Stop the process named in pidfile (only if its cmdline mentions expect)."""
    pid = read_pid(pidfile)
    if pid and pid_alive(pid, expect):
        if graceful:
            try:
                graceful()
            except (OSError, LabError):
                pass
            _wait_gone(pid, timeout)
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if not pid_alive(pid, expect):
                break
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            _wait_gone(pid, wait)
        if pid_alive(pid, expect):
            raise LabError("could not stop pid %d (%s)" % (pid, expect))
    try:
        os.unlink(pidfile)
    except FileNotFoundError:
        pass


def _wait_gone(pid, timeout):
    end = time.time() + timeout
    while time.time() < end and pid_alive(pid):
        time.sleep(0.2)


def port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Switch:
    """vde_switch on a unix socket: the shared network between lab hosts (NIC 2)."""

    def __init__(self, rundir):
        self.sock = os.path.join(rundir, "vde.ctl")
        self.pidfile = os.path.join(rundir, "vde.pid")
        self.mgmt = os.path.join(rundir, "vde.mgmt")

    def running(self):
        pid = read_pid(self.pidfile)
        return bool(pid and pid_alive(pid, "vde_switch"))

    def start(self):
        if self.running():
            return
        for stale in (self.mgmt,):
            if os.path.exists(stale):
                os.unlink(stale)
        run([common.which("vde_switch"), "--sock", self.sock, "--daemon",
             "--pidfile", self.pidfile, "--mgmt", self.mgmt],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        end = time.time() + 10
        while time.time() < end and not (self.running() and os.path.exists(os.path.join(self.sock, "ctl"))):
            time.sleep(0.1)
        if not self.running():
            raise LabError("vde_switch did not start")

    def stop(self):
        stop_pid(self.pidfile, "vde_switch")
        for path in (self.mgmt,):
            if os.path.exists(path):
                os.unlink(path)
        if os.path.isdir(self.sock):
            for name in os.listdir(self.sock):
                os.unlink(os.path.join(self.sock, name))
            os.rmdir(self.sock)


class Host:
    def __init__(self, rundir, name):
        if not name.startswith("lab") or not name[3:].isdigit() or int(name[3:]) < 1:
            raise LabError("bad host name %r (expected lab1, lab2, ...)" % name)
        self.name = name
        self.index = int(name[3:])
        if self.index > image.MAX_HOSTS:
            raise LabError("at most %d hosts" % image.MAX_HOSTS)
        self.rundir = rundir

        def p(suffix):
            return os.path.join(rundir, name + suffix)

        self.overlay = p(".qcow2")
        self.data = p("-data.qcow2")
        self.vars = p("-vars.qcow2")  # uefi: the host's own UEFI variable store
        self.pidfile = p(".pid")
        self.monitor_path = p(".monitor")
        self.console_log = p(".console.log")
        self.state_file = p(".json")

    # -- state ---------------------------------------------------------------
    def state(self):
        try:
            with open(self.state_file) as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return {}

    def save_state(self, **kw):
        st = self.state()
        st.update(kw)
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(st, fh, indent=2, sort_keys=True)
        os.rename(tmp, self.state_file)

    @property
    def port(self):
        return self.state().get("ssh_port")

    def pid(self):
        pid = read_pid(self.pidfile)
        return pid if pid and pid_alive(pid, "qemu-system") else None

    def running(self):
        return self.pid() is not None

    # -- lifecycle -----------------------------------------------------------
    @property
    def firmware(self):
        return self.state().get("firmware") or "bios"

    @property
    def suite(self):
        """The Debian release the host's disks were made of (hosts made before suites were recorded: bookworm)."""
        return self.state().get("suite") or ("bookworm" if self.state().get("base") else None)

    def prepare_disks(self, base, firmware="bios", suite=None):
        backing = self.state().get("base")
        if os.path.exists(self.overlay) and backing != base:
            log("%s: base image changed, recreating its overlay" % self.name)
            os.unlink(self.overlay)
        if not os.path.exists(self.overlay):
            if os.path.exists(self.vars):
                os.unlink(self.vars)
            run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, self.overlay])
            self.save_state(base=base, snapshots=[], firmware=firmware, suite=suite)
        if firmware == "uefi" and not os.path.exists(self.vars):
            image.make_vars(self.vars)
        if not os.path.exists(self.data):
            run(["qemu-img", "create", "-q", "-f", "qcow2", self.data, DATA_DISK_SIZE])

    def pick_port(self, taken):
        want = self.port
        if want and want not in taken and port_free(want):
            return want
        port = SSH_BASE_PORT + self.index - 1
        while port in taken or not port_free(port):
            port += 1
        return port

    def qemu_argv(self, memory, port, switch, loadvm=None, firmware="bios"):
        idx = self.index
        extra = ["-loadvm", loadvm] if loadvm else []
        return [common.which("qemu-system-x86_64"), "-name", self.name] + \
            image.base_qemu_args(memory) + image.firmware_args(firmware, self.vars) + [
            "-daemonize", "-pidfile", self.pidfile,
            "-monitor", "unix:%s,server=on,wait=off" % self.monitor_path,
            "-chardev", "file,id=ser0,path=%s,append=on" % self.console_log,
            "-serial", "chardev:ser0",
            "-smbios", "type=1,serial=%s" % self.name,
            "-device", "virtio-scsi-pci,id=scsi0",
            "-drive", "file=%s,if=none,id=d0,format=qcow2,discard=unmap" % self.overlay,
            "-device", "scsi-hd,drive=d0,bus=scsi0.0,bootindex=0",
            "-drive", "file=%s,if=none,id=d1,format=qcow2,discard=unmap" % self.data,
            "-device", "scsi-hd,drive=d1,bus=scsi0.0",
            "-netdev", "user,id=n0,ipv6=off,hostfwd=tcp:127.0.0.1:%d-:22" % port,
            "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:00:%02x" % idx,
            "-netdev", "vde,id=n1,sock=%s" % switch.sock,
            "-device", "virtio-net-pci,netdev=n1,mac=%s" % image.shared_mac(idx),
        ] + extra

    def start(self, base, memory, port, switch, loadvm=None, firmware="bios", suite=None):
        if loadvm:
            if not os.path.exists(self.overlay):
                raise LabError("%s: no disk to restore %s from" % (self.name, loadvm))
        else:
            self.prepare_disks(base, firmware, suite)
        if os.path.exists(self.monitor_path):
            os.unlink(self.monitor_path)
        with open(self.console_log, "a") as fh:
            fh.write("\n==== lab: %s starting at %s ====\n" % (self.name, time.strftime("%F %T")))
        argv = self.qemu_argv(memory, port, switch, loadvm, firmware)
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0 or not self.running():
            raise LabError("%s: qemu failed to start (rc=%d): %s"
                           % (self.name, proc.returncode, proc.stderr.decode(errors="replace").strip()))
        self.save_state(ssh_port=port, memory=memory, name=self.name,
                        shared_ip=image.shared_ip(self.index), started=time.time())

    def stop(self):
        stop_pid(self.pidfile, "qemu-system", graceful=lambda: self.monitor("quit", expect_prompt=False),
                 timeout=15)
        if os.path.exists(self.monitor_path):
            os.unlink(self.monitor_path)

    # -- monitor -------------------------------------------------------------
    def monitor(self, command, timeout=600, expect_prompt=True):
        """Run an HMP command on the monitor socket; return its output."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.monitor_path)
            _read_until(s, b"(qemu) ")
            s.sendall(command.encode() + b"\n")
            if not expect_prompt:
                try:
                    s.recv(65536)
                except OSError:
                    pass
                return ""
            out = _read_until(s, b"(qemu) ").decode(errors="replace")
        except OSError as exc:
            raise LabError("%s: monitor command %r failed: %s" % (self.name, command, exc))
        finally:
            s.close()
        # drop terminal control sequences and the echoed command line
        out = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", out).replace("\r", "")
        lines = [l for l in out.split("\n") if l.strip() and "(qemu)" not in l]
        if lines and lines[0].strip().endswith(command):
            lines = lines[1:]
        return "\n".join(lines)

    # -- ssh -----------------------------------------------------------------
    def ssh_argv(self, tty=False):
        argv = ["ssh", "-i", image.ssh_key_path(), "-p", str(self.port),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes",
                "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=8"]
        if tty:
            argv.append("-t")
        return argv + ["root@127.0.0.1"]

    def ssh_ok(self, timeout=10):
        argv = self.ssh_argv()
        argv[1:1] = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=%d" % timeout]
        try:
            proc = subprocess.run(argv + ["true"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, timeout=timeout + 10, check=False)
        except subprocess.TimeoutExpired:
            return False
        return proc.returncode == 0

    def wait_ssh(self, timeout=600):
        end = time.time() + timeout
        while time.time() < end:
            if not self.running():
                raise LabError("%s: qemu exited while booting; see `lab console %s`:\n%s"
                               % (self.name, self.name, self.console_tail(20)))
            if self.ssh_ok():
                return
            time.sleep(2)
        raise LabError("%s: no SSH after %d s; console tail:\n%s"
                       % (self.name, timeout, self.console_tail(20)))

    def console_tail(self, lines):
        try:
            with open(self.console_log, errors="replace") as fh:
                return "".join(fh.readlines()[-lines:])
        except OSError:
            return ""


def _read_until(sock, marker):
    buf = b""
    while not buf.endswith(marker):
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


def all_hosts(rundir):
    names = []
    for fn in os.listdir(rundir):
        base = fn.split(".")[0]
        if base.startswith("lab") and base[3:].isdigit() and base not in names \
                and (fn.endswith(".json") or fn.endswith(".pid") or fn.endswith(".qcow2")):
            names.append(base)
    return [Host(rundir, n) for n in sorted(names, key=lambda n: int(n[3:]))]
