"""Command line of hypervisor/lab."""

import argparse
import json
import os
import subprocess
import sys
import time

from . import common, image, vm
from .common import LabError, log


def _rundir():
    return common.run_dir()


def _host(name):
    host = vm.Host(_rundir(), name)
    if not host.running():
        raise LabError("%s is not running (try `lab up`)" % name)
    return host


def _running_hosts():
    return [h for h in vm.all_hosts(_rundir()) if h.running()]


def cmd_build(args):
    common.ensure_prereqs()
    img = image.Image(args.firmware, args.suite)
    t0 = time.time()
    path = img.ensure()
    print("base image: %s (%.0f s)" % (path, time.time() - t0))


def cmd_up(args):
    t0 = time.time()
    common.ensure_prereqs(list(common.PREREQS) + (list(common.UEFI_PREREQS) if args.firmware == "uefi" else []))
    rundir = _rundir()
    hosts = [vm.Host(rundir, "lab%d" % i) for i in range(1, args.hosts + 1)]
    # --suite is the Debian release of the hosts this command makes; a host keeps the release of its
    # disks (it may have been upgraded since) unless --suite names another one, which gives it new disks.
    # Hosts of different releases side by side: `up --hosts 1 --suite bookworm`, then `up --hosts 2`.
    suites = {}
    for host in hosts:
        if host.running():
            suites[host.name] = host.suite
        elif args.suite:
            suites[host.name] = args.suite
        elif os.path.exists(host.overlay) and host.suite:
            suites[host.name] = host.suite
        else:
            suites[host.name] = image.default_suite()
    bases = {}
    for suite in sorted({s for name, s in suites.items() if not vm.Host(rundir, name).running()}):
        bases[suite] = image.Image(args.firmware, suite).ensure()
    switch = vm.Switch(rundir)
    switch.start()
    taken = {h.port for h in vm.all_hosts(rundir) if h.running()}
    started = []
    for host in hosts:
        suite = suites[host.name]
        if host.running():
            if host.firmware != args.firmware:
                raise LabError("%s already runs with %s firmware, not %s (lab down --wipe first)"
                               % (host.name, host.firmware, args.firmware))
            if args.suite and host.suite and host.suite != args.suite:
                log("%s already runs, made as %s; --suite %s applies to the hosts this command starts"
                    % (host.name, host.suite, args.suite))
            log("%s already running (ssh port %s)" % (host.name, host.port))
            continue
        if os.path.exists(host.overlay) and (host.firmware != args.firmware or (host.suite or suite) != suite):
            log("%s: %s/%s changes to %s/%s, new disks"
                % (host.name, host.firmware, host.suite, args.firmware, suite))
            # (prepare_disks makes a new variable store with the new overlay)
            for path in (host.overlay, host.data):
                if os.path.exists(path):
                    os.unlink(path)
        for attempt in range(5):
            port = host.pick_port(taken)
            taken.add(port)
            try:
                host.start(bases[suite], args.memory, port, switch, firmware=args.firmware, suite=suite)
                break
            except LabError as exc:
                # another lab may have taken the port between the check and QEMU's bind
                if "forwarding" not in str(exc) or attempt == 4:
                    raise
        started.append(host)
        log("%s started (pid %s, ssh 127.0.0.1:%d, %s, %s)" % (host.name, host.pid(), port, args.firmware, suite))
    for host in hosts:
        host.wait_ssh(args.timeout)
    log("all hosts reachable over SSH after %.0f s" % (time.time() - t0))
    inv = _write_inventory(os.path.join(rundir, "inventory.yml"))
    for host in hosts:
        print("%s: ssh -i %s -p %d root@127.0.0.1   (shared net %s; or: %s ssh %s)"
              % (host.name, image.ssh_key_path(), host.port, image.shared_ip(host.index),
                 sys.argv[0], host.name))
    print("inventory: %s" % inv)


def cmd_status(args):
    rundir = _rundir()
    hosts = vm.all_hosts(rundir)
    switch = vm.Switch(rundir)
    if args.json:
        out = []
        for host in hosts:
            st = host.state()
            out.append({"name": host.name, "running": host.running(), "pid": host.pid(),
                        "address": "127.0.0.1", "ssh_port": st.get("ssh_port"), "user": "root",
                        "identity_file": image.ssh_key_path(), "shared_ip": image.shared_ip(host.index),
                        "memory": st.get("memory"), "firmware": host.firmware, "suite": host.suite,
                        "snapshots": st.get("snapshots") or []})
        print(json.dumps(out, indent=2))
        return 0
    print("run dir: %s" % rundir)
    print("switch: %s" % ("running" if switch.running() else "stopped"))
    if not hosts:
        print("no hosts")
    for host in hosts:
        st = host.state()
        if host.running():
            ssh = "ssh ok" if host.ssh_ok(timeout=5) else "ssh not answering"
            print("%s: running pid %d, ssh 127.0.0.1:%s, %s MiB, %s, made as %s, shared net %s, %s"
                  % (host.name, host.pid(), st.get("ssh_port"), st.get("memory"), host.firmware, host.suite,
                     image.shared_ip(host.index), ssh))
        else:
            print("%s: stopped" % host.name)
        snaps = st.get("snapshots") or []
        if snaps:
            print("  snapshots: %s" % ", ".join(snaps))
    return 0


def cmd_ssh(args):
    host = _host(args.host)
    cmd = list(args.command)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    argv = host.ssh_argv(tty=not cmd and sys.stdin.isatty()) + cmd
    sys.stdout.flush()
    os.execvp(argv[0], argv)


def cmd_console(args):
    host = vm.Host(_rundir(), args.host)
    if not os.path.exists(host.console_log):
        raise LabError("no console log for %s" % args.host)
    if args.follow:
        os.execvp("tail", ["tail", "-n", str(args.lines), "-F", host.console_log])
    sys.stdout.write(host.console_tail(args.lines))
    return 0


def _check_name(name):
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise LabError("bad snapshot name %r" % name)


def cmd_snapshot(args):
    _check_name(args.name)
    hosts = _running_hosts()
    if not hosts:
        raise LabError("no running hosts")
    for host in hosts:
        t0 = time.time()
        # flush guest file system buffers so the snapshot is tidy
        subprocess.run(host.ssh_argv() + ["sync"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, check=False)
        out = host.monitor("savevm " + args.name)
        if "rror" in out:
            raise LabError("%s: savevm failed: %s" % (host.name, out))
        snaps = [s for s in host.state().get("snapshots", []) if s != args.name] + [args.name]
        host.save_state(snapshots=snaps)
        print("%s: snapshot %s saved (%.1f s)" % (host.name, args.name, time.time() - t0))
    return 0


def cmd_restore(args):
    """Restart each running host's QEMU with -loadvm NAME.

    A `loadvm` in the running QEMU is not used: QEMU keeps the guest TSC monotonic across
    it, so the TSC jumps forward by the time since the snapshot while the HPET/PM timer
    go back, and Xen then stalls ("Platform timer appears to have unexpectedly wrapped").
    A fresh QEMU process restores TSC and platform timers consistently.
    """
    _check_name(args.name)
    hosts = _running_hosts()
    if not hosts:
        raise LabError("no running hosts")
    missing = [h.name for h in hosts if args.name not in (h.state().get("snapshots") or [])]
    if missing:
        raise LabError("no snapshot %s on %s" % (args.name, ", ".join(missing)))
    rundir = _rundir()
    switch = vm.Switch(rundir)
    t0 = time.time()
    for host in hosts:
        st = host.state()
        host.stop()
        switch.start()
        host.start(st.get("base"), st.get("memory") or 2048, st["ssh_port"], switch, loadvm=args.name,
                   firmware=host.firmware, suite=host.suite)
    for host in hosts:
        host.wait_ssh(args.timeout)
        if args.set_clock:
            # the guest clock resumes at snapshot time
            try:
                subprocess.run(host.ssh_argv() + ["date -s @%d >/dev/null" % int(time.time())],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=30, check=False)
            except subprocess.TimeoutExpired:
                log("%s: could not set the clock" % host.name)
        print("%s: restored %s, ssh ok after %.1f s" % (host.name, args.name, time.time() - t0))
    return 0


def _boot_id(host):
    proc = subprocess.run(host.ssh_argv() + ["cat /proc/sys/kernel/random/boot_id"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, timeout=60, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def cmd_wait(args):
    hosts = [_host(args.host)] if args.host else _running_hosts()
    for host in hosts:
        host.wait_ssh(args.timeout)
        print("%s: ssh ok" % host.name)
    return 0


def cmd_reboot(args):
    host = _host(args.host)
    t0 = time.time()
    before = _boot_id(host)
    subprocess.run(host.ssh_argv() + ["systemd-run --on-active=1 --timer-property=AccuracySec=100ms"
                                      " systemctl reboot >/dev/null 2>&1 || (sleep 1; reboot) &"],
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60, check=False)
    end = time.time() + args.timeout
    while time.time() < end:
        time.sleep(3)
        host.wait_ssh(max(1, int(end - time.time())))
        now = _boot_id(host)
        if now and now != before:
            print("%s: rebooted, ssh ok after %.0f s" % (host.name, time.time() - t0))
            return 0
    raise LabError("%s: did not reboot within %d s" % (host.name, args.timeout))


def _write_inventory(path):
    hosts = _running_hosts()
    key = image.ssh_key_path()
    lines = ["# Ansible inventory of the running xenops lab hosts (written by hypervisor/lab)",
             "all:", "  children:", "    xen_hosts:", "      hosts:"]
    if not hosts:
        lines[-1] += " {}"
    for host in hosts:
        lines += [
            "        %s:" % host.name,
            "          ansible_host: 127.0.0.1",
            "          ansible_port: %d" % host.port,
            "          ansible_user: root",
            "          ansible_ssh_private_key_file: %s" % key,
            "          ansible_ssh_common_args: '-o StrictHostKeyChecking=no"
            " -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes'",
            "          ansible_python_interpreter: /usr/bin/python3",
            "          xenops_lab_shared_ip: %s" % image.shared_ip(host.index),
        ]
    text = "\n".join(lines) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return "-"
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)
    return path


def cmd_inventory(args):
    path = args.path or os.path.join(_rundir(), "inventory.yml")
    out = _write_inventory(path)
    if out != "-":
        print(out)
    return 0


def cmd_down(args):
    rundir = _rundir()
    for host in vm.all_hosts(rundir):
        was = host.running()
        if was and not args.wipe:
            # stopping is pulling the plug: write the guest's dirty pages first, or the
            # disk misses what the guest changed in its last seconds
            try:
                subprocess.run(host.ssh_argv() + ["sync"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=120, check=False)
            except subprocess.TimeoutExpired:
                log("%s: sync did not finish, stopping anyway" % host.name)
        host.stop()
        if was:
            print("%s: stopped" % host.name)
        if args.wipe:
            for path in (host.overlay, host.data, host.vars, host.state_file):
                if os.path.exists(path):
                    os.unlink(path)
    vm.Switch(rundir).stop()
    if args.wipe:
        inv = os.path.join(rundir, "inventory.yml")
        if os.path.exists(inv):
            os.unlink(inv)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lab", description="Local QEMU lab of Debian 13 and 12 Xen hosts.")
    sub = parser.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("up", help="build the image if needed and boot the hosts")
    p.add_argument("--hosts", type=int, default=1)
    p.add_argument("--memory", type=int, default=2048, help="MiB per host (default 2048)")
    p.add_argument("--timeout", type=int, default=600, help="seconds to wait for SSH")
    p.add_argument("--firmware", choices=image.FIRMWARES, default="bios",
                   help="bios (SeaBIOS, MBR disk; default) or uefi (OVMF, GPT disk with an EFI system partition)")
    p.add_argument("--suite", choices=image.SUITES,
                   help="Debian release of the hosts this command makes: trixie (13) or bookworm (12); default: "
                        "a host's own release, else $XENOPS_LAB_SUITE, else trixie")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("build", help="build the base image only")
    p.add_argument("--firmware", choices=image.FIRMWARES, default="bios")
    p.add_argument("--suite", choices=image.SUITES)
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("status", help="show the hosts")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("ssh", help="ssh into a host: lab ssh lab1 [-- CMD...]")
    p.add_argument("host")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_ssh)

    p = sub.add_parser("console", help="print (or follow with -f) a host's serial log")
    p.add_argument("host")
    p.add_argument("-f", "--follow", action="store_true")
    p.add_argument("-n", "--lines", type=int, default=100)
    p.set_defaults(func=cmd_console)

    p = sub.add_parser("wait", help="wait until a host (default: all running) answers on SSH")
    p.add_argument("host", nargs="?")
    p.add_argument("--timeout", type=int, default=600)
    p.set_defaults(func=cmd_wait)

    p = sub.add_parser("reboot", help="reboot a host and wait until it is back on SSH")
    p.add_argument("host")
    p.add_argument("--timeout", type=int, default=900)
    p.set_defaults(func=cmd_reboot)

    p = sub.add_parser("snapshot", help="savevm NAME on every running host")
    p.add_argument("name")
    p.set_defaults(func=cmd_snapshot)

    p = sub.add_parser("restore", help="loadvm NAME on every running host")
    p.add_argument("name")
    p.add_argument("--timeout", type=int, default=300)
    p.add_argument("--no-set-clock", dest="set_clock", action="store_false",
                   help="leave the guest clock at snapshot time")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("inventory", help="write an Ansible inventory (default RUN_DIR/inventory.yml, - for stdout)")
    p.add_argument("path", nargs="?")
    p.set_defaults(func=cmd_inventory)

    p = sub.add_parser("down", help="stop every lab process")
    p.add_argument("--wipe", action="store_true", help="also delete the host disks (overlays, data disks)")
    p.set_defaults(func=cmd_down)

    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except LabError as exc:
        print("lab: error: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
