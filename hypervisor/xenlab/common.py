"""Shared helpers: paths, logging, running commands, host prerequisites."""

import contextlib
import fcntl
import glob
import importlib.util
import os
import shutil
import subprocess
import sys

HYPERVISOR_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class LabError(Exception):
    """A failure to report to the user without a traceback."""


def log(msg):
    print("lab: " + msg, file=sys.stderr, flush=True)


def run(argv, check=True, **kwargs):
    """Run a command, raising LabError with its output on failure."""
    proc = subprocess.run(argv, **kwargs, check=False)
    if check and proc.returncode != 0:
        detail = ""
        for stream in (getattr(proc, "stdout", None), getattr(proc, "stderr", None)):
            if stream:
                text = stream if isinstance(stream, str) else stream.decode("utf-8", "replace")
                detail += "\n" + text.strip()[-3000:]
        raise LabError("command failed (rc=%d): %s%s" % (proc.returncode, " ".join(argv), detail))
    return proc


def run_dir():
    path = os.environ.get("XENOPS_LAB_RUN_DIR") or os.path.join(HYPERVISOR_DIR, ".run")
    os.makedirs(path, exist_ok=True)
    return os.path.abspath(path)


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "xenops-lab")
    os.makedirs(path, exist_ok=True)
    return path


@contextlib.contextmanager
def cache_lock(name):
    """An exclusive lock of the cache, held for the block: labs started at once take turns."""
    with open(os.path.join(cache_dir(), name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# command (or absolute path of a file) -> Debian package that provides it
PREREQS = {
    "qemu-system-x86_64": "qemu-system-x86",
    "qemu-img": "qemu-utils",
    "debootstrap": "debootstrap",
    "mkfs.ext4": "e2fsprogs",
    "sfdisk": "fdisk",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "vde_switch": "vde2",
}
# UEFI hosts (lab up --firmware uefi): the firmware and the EFI system partition's file system
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
UEFI_PREREQS = {
    OVMF_CODE: "ovmf",
    OVMF_VARS: "ovmf",
    "mkfs.fat": "dosfstools",
}
PREREQS_ALL = dict(PREREQS, **UEFI_PREREQS)


def _which(cmd):
    if cmd.startswith("/"):
        return cmd if os.path.exists(cmd) else None
    return shutil.which(cmd) or shutil.which(cmd, path="/usr/sbin:/sbin:/usr/bin:/bin")


def ensure_prereqs(commands=None):
    """Make sure the host commands exist; install them with apt-get as root."""
    commands = list(commands or PREREQS)
    missing = [c for c in commands if not _which(c)]
    if not missing:
        return
    if os.geteuid() != 0:
        raise LabError(
            "missing host commands: %s (install Debian packages: %s)"
            % (", ".join(missing), " ".join(sorted({PREREQS_ALL[c] for c in missing})))
        )
    # two labs started at once (make lab-test runs two suites side by side) install one after the other
    with cache_lock("apt"):
        missing = [c for c in commands if not _which(c)]
        if missing:
            pkgs = sorted({PREREQS_ALL[c] for c in missing})
            log("installing host packages: " + " ".join(pkgs))
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            # and wait for any other apt-get on the machine instead of failing on its lock
            wait = ["-o", "DPkg::Lock::Timeout=900"]
            run(["apt-get"] + wait + ["update", "-qq"], env=env)
            run(["apt-get"] + wait + ["install", "-y", "-qq", "--no-install-recommends"] + pkgs, env=env)
    still = [c for c in commands if not _which(c)]
    if still:
        raise LabError("still missing after install: " + ", ".join(still))


def which(cmd):
    path = _which(cmd)
    if not path:
        raise LabError("command not found: " + cmd)
    return path


def _apt_sources_parser():
    """The collection's apt sources parser (plugins/module_utils/_apt_sources.py), loaded by its path."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "plugins", "module_utils", "_apt_sources.py")
    spec = importlib.util.spec_from_file_location("xenops_apt_sources", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def host_apt_sources():
    """Return [(uri, suites, components)] of the host's deb entries (.sources files first)."""
    parser = _apt_sources_parser()
    entries = []
    paths = (sorted(glob.glob("/etc/apt/sources.list.d/*.sources")) + ["/etc/apt/sources.list"]
             + sorted(glob.glob("/etc/apt/sources.list.d/*.list")))
    for path in paths:
        try:
            with open(path) as fh:
                text = fh.read()
        except OSError:
            continue
        entries.extend(parser.apt_entries(text))
    return entries


def debian_mirror(suite="bookworm"):
    """The Debian archive URI: $XENOPS_LAB_MIRROR or the host's apt configuration."""
    env = os.environ.get("XENOPS_LAB_MIRROR")
    if env:
        return env.rstrip("/")
    for uri, suites, _components in host_apt_sources():
        if suite in suites and "security" not in uri:
            return uri.rstrip("/")
    for uri, suites, _components in host_apt_sources():
        if any(not s.endswith(("-security", "/updates")) for s in suites) and "security" not in uri:
            return uri.rstrip("/")
    raise LabError("cannot find a Debian mirror in the host's apt sources; set XENOPS_LAB_MIRROR")


def debian_security_mirror(suite="bookworm"):
    env = os.environ.get("XENOPS_LAB_SECURITY_MIRROR")
    if env:
        return env.rstrip("/")
    entries = host_apt_sources()
    for uri, suites, _components in entries:
        if suite + "-security" in suites:
            return uri.rstrip("/")
    # a host of another release: its security archive serves every suite (trixie-security beside
    # bookworm-security)
    for uri, suites, _components in entries:
        if any(s.endswith("-security") for s in suites):
            return uri.rstrip("/")
    return None
