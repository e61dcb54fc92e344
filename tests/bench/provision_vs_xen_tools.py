# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A new Debian domain with xen-tools' xen-create-image against the domains role, to "answers on SSH".

    make bench-provision [BENCH_ARGS='--runs 3']
    XENOPS_LAB_RUN_DIR=... .venv/bin/python tests/bench/provision_vs_xen_tools.py [--host lab1] [--runs 3]
        [--lab] [--results FILE] [--summary]

Needs a lab host that is a Xen host (playbooks/site.yml applied: volume group vg_xen,
bridge xenbr0 with 192.0.2.1/24, as in playbooks/inventory/host_vars/lab1.yml). With
--lab (what `make bench-provision` passes, with the run dir .tmp/bench-lab) the script
brings it up itself: boots the lab, restores its snapshot "converged" when it has one,
else runs site.yml with the lab inventory and saves that snapshot (not timed).
Installs Debian's xen-tools there (set-up, not timed), then per run:

  xen-tools, cold   empty xen-tools package cache: xen-create-image (LVM, its default
                    install method debootstrap, same suite and mirror as the host), xl create
  xen-tools, cached the same again with the .deb files the cold run left in its cache
  domains role      playbooks/domains.yml with one domain (the base system cached on the
                    controller and the host by an untimed warm-up run)

Every domain: bookworm, a 1G ext4 root logical volume, no swap, 192 MiB, one vif on xenbr0
with a static address. Each is timed from the start of its command to the moment its SSH
port answers (probed from dom0), then removed (xl destroy and xen-delete-image, or the
play with state absent). Prints the median (min-max) of each and the ratios. A script,
not a test: timings under QEMU without KVM vary with the load of the machine.

Every measurement is added to the results file (--results, default
.tmp/bench/provision_vs_xen_tools.json) as soon as it is made, with its date, the commit
and the controller's load average before and after, so an interrupted invocation keeps
what it measured and a later one adds to it: the summary covers every measurement in the
file (--summary prints it without measuring).

How the xen-tools domain boots: like the role's, as a PV guest from dom0's kernel (the
file /vmlinuz points at) and the small initramfs the role builds for that kernel version
(/var/lib/xenops-xen/initramfs/initrd.img-VERSION, domains_ramdisk auto; it exists after
the warm-up run), both named in the domain's config (kernel = ..., ramdisk = ...), given
to xen-create-image as --kernel and --initrd. No kernel is installed in the guest; its
hook 80-install-modules copies dom0's /lib/modules/VERSION into it (xen-tools' own
behaviour without pygrub: Debian has no linux-modules-VERSION package). Why not its
defaults: xen-tools 4.9.2 marks bookworm "pygrub" in /etc/xen-tools/distributions.conf,
and xen-create-image then sets pygrub on after reading the command line (--nopygrub has no
effect; and with pygrub defined but 0 its config template would write neither a kernel nor
a bootloader line, from its xm.tmpl). With pygrub on, its hooks install linux-image-amd64,
initramfs-tools and grub into the guest under emulation (most of an hour and a half on the
lab host) and the config says bootloader = 'pygrub'; in a first try `xl create` then
failed with pygrub's "Error opening /boot/initrd.img-6.1.0-50-amd64 in guest". So the
set-up (not timed) removes the word pygrub from the suite's line of distributions.conf,
and every run checks (untimed, before xl create) that the guest's /boot is empty and that
the config has kernel and ramdisk and no bootloader. One more change to what
xen-create-image writes, also before xl create: net.ifnames=0 on the kernel command line
(its config's extra line). xen-tools configures eth0 with ifupdown, and the bookworm
guest's udev names the front-end enX0, so without it networking.service failed in the
guest and the domain did not answer SSH within 600 s (seen in a run; with it, it does).
The role's systemd-networkd file matches both names. dom0's own initramfs would not do on
the lab host: it is built with MODULES=dep (/etc/initramfs-tools/conf.d/xenops-lab.conf)
and has no xen-blkfront.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import time

import benchlib

SUITE = 'bookworm'
VG = 'vg_xen'
XT_CACHE = '/var/cache/xen-tools/archives'
XT_ADDRESS = '192.0.2.211'
ROLE_INITRAMFS_DIR = '/var/lib/xenops-xen/initramfs'
ROLE_ADDRESS = '192.0.2.212'


def role_domain(state='running'):
    return {'name': 'bench-role', 'state': state, 'memory': 192, 'vcpus': 1, 'purge_disks': True,
            'disks': [{'function': 'root', 'size': '1G', 'fstype': 'ext4'}],
            'vifs': [{'bridge': 'xenbr0', 'ip': ROLE_ADDRESS + '/24', 'gateway': '192.0.2.1'}]}


def host_mirror(host):
    """The Debian mirror the lab host's own apt sources use (xen-tools gets the same one)."""
    out = benchlib.ssh(host, "grep -h -E '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources "
                             "/etc/apt/sources.list 2>/dev/null | grep -v security").stdout
    for line in out.splitlines():
        words = line.split()
        uri = words[1] if words[0] == 'URIs:' else next((w for w in words[1:] if '://' in w), '')
        if uri:
            return uri
    raise SystemExit('bench: no Debian mirror in the apt sources of %s' % host)


def xen_tools_no_pygrub(host):
    """Take the word pygrub off the suite's line of distributions.conf (see the docstring)."""
    benchlib.ssh(host, r"sed -i -E 's/^(%s\s*=.*)\s+pygrub\b/\1/' /etc/xen-tools/distributions.conf" % SUITE)
    line = benchlib.ssh(host, "grep -E '^%s\\s*=' /etc/xen-tools/distributions.conf" % SUITE).stdout.strip()
    if 'pygrub' in line:
        raise SystemExit('bench: could not turn pygrub off for %s: %s' % (SUITE, line))
    return line


def boot_files(host):
    """dom0's kernel (what /vmlinuz points at) and the role's initramfs for its version."""
    kernel = benchlib.ssh(host, 'readlink -f /vmlinuz').stdout.strip()
    initrd = '%s/initrd.img-%s' % (ROLE_INITRAMFS_DIR, kernel.rsplit('/vmlinuz-', 1)[-1])
    if benchlib.ssh(host, 'test -f %s -a -f %s' % (kernel, initrd), check=False).returncode != 0:
        raise SystemExit('bench: %s or %s missing on %s' % (kernel, initrd, host))
    return kernel, initrd


def xen_tools_check(host, name):
    """The domain boots dom0's kernel and no kernel went into the guest (see the docstring)."""
    cfg = benchlib.ssh(host, 'cat /etc/xen/%s.cfg' % name).stdout
    boot = benchlib.ssh(host, 'd=$(mktemp -d) && mount -o ro /dev/%s/%s-disk $d && ls -A $d/boot; '
                              'umount $d; rmdir $d' % (VG, name)).stdout.split()
    keys = [line.split('=')[0].strip() for line in cfg.splitlines() if '=' in line]
    if 'bootloader' in keys or 'kernel' not in keys or 'ramdisk' not in keys or boot or 'net.ifnames=0' not in cfg:
        raise SystemExit('bench: the xen-tools domain would not boot dom0\'s kernel (guest /boot: %s):\n%s'
                         % (' '.join(boot) or 'empty', cfg))


def xen_tools_remove(host, name):
    benchlib.ssh(host, 'xl destroy %s >/dev/null 2>&1; xen-delete-image --lvm=%s %s >/dev/null 2>&1; '
                       'rm -f /etc/xen/%s.cfg; true' % (name, VG, name, name), check=False)


def xen_tools_run(host, name, mirror, boot, cold):
    """Seconds of xen-create-image, of xl create, and from xl create to SSH."""
    xen_tools_remove(host, name)
    benchlib.ssh(host, 'rm -f /var/log/xen-tools/%s.log' % name)
    if cold:
        benchlib.ssh(host, 'rm -rf %s && mkdir -p %s' % (XT_CACHE, XT_CACHE))
    argv = ['xen-create-image', '--hostname=' + name, '--lvm=' + VG, '--size=1G', '--noswap', '--fs=ext4',
            '--memory=192M', '--vcpus=1', '--dist=' + SUITE, '--arch=amd64', '--mirror=' + mirror,
            '--install-method=debootstrap', '--cache=yes', '--cachedir=' + XT_CACHE,
            '--ip=' + XT_ADDRESS, '--netmask=255.255.255.0', '--gateway=192.0.2.1', '--bridge=xenbr0',
            '--kernel=' + boot[0], '--initrd=' + boot[1],
            '--output=/etc/xen', '--extension=.cfg', '--force']
    label = 'xen-tools %s' % ('cold' if cold else 'cached')
    benchlib.log('%s: %s' % (label, ' '.join(argv)))
    start = time.monotonic()
    proc = benchlib.ssh(host, ' '.join(shlex.quote(a) for a in argv) + ' >/var/log/bench-xen-create-image.log 2>&1',
                        check=False)
    created = time.monotonic() - start
    if proc.returncode != 0:
        log = benchlib.ssh(host, 'tail -40 /var/log/bench-xen-create-image.log', check=False).stdout
        raise SystemExit('bench: xen-create-image failed (rc=%d):\n%s' % (proc.returncode, log))
    benchlib.ssh(host, r"""sed -i -E "s/^(extra *= *')(.*)'/\1\2 net.ifnames=0'/" /etc/xen/%s.cfg""" % name)
    xen_tools_check(host, name)
    start = time.monotonic()
    benchlib.ssh(host, 'xl create /etc/xen/%s.cfg' % name)
    booted = time.monotonic() - start
    ssh_s = benchlib.wait_ssh(host, XT_ADDRESS)
    cache = benchlib.ssh(host, 'ls %s | wc -l' % XT_CACHE).stdout.strip()
    benchlib.log('%s: create %.1f s, xl create %.1f s, SSH %.1f s later (%s files in the cache)'
                 % (label, created, booted, ssh_s, cache))
    xen_tools_remove(host, name)
    return {'create_s': created, 'start_s': booted, 'ssh_s': ssh_s, 'total_s': created + booted + ssh_s}


def role_run(host, inv, present, absent):
    play_s, _recap = benchlib.run_play(inv, present, 'xen_tools-role', limit=host)
    ssh_s = benchlib.wait_ssh(host, ROLE_ADDRESS)
    benchlib.log('domains role: play %.1f s, SSH %.1f s later' % (play_s, ssh_s))
    benchlib.run_play(inv, absent, 'xen_tools-role-remove', limit=host)
    return {'play_s': play_s, 'ssh_s': ssh_s, 'total_s': play_s + ssh_s}


ROWS = (('xen_tools_cold', 'xen-tools, cold cache'), ('xen_tools_cached', 'xen-tools, its cache'),
        ('role', 'domains role, cached base'))


def load_results(path):
    if not os.path.exists(path):
        return {'measurements': []}
    with open(path) as fh:
        return json.load(fh)


def record(path, results, row, measured, context):
    """Add one measurement to the results file at once (an interrupted run keeps it)."""
    entry = dict(context, row=row, date=time.strftime('%Y-%m-%d %H:%M:%S'),
                 load_after=round(os.getloadavg()[0], 2), **measured)
    results['measurements'].append(entry)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w') as fh:
        json.dump(results, fh, indent=2)
        fh.write('\n')
    benchlib.log('%s: recorded in %s' % (row, path))


def measure(path, results, row, context, func, *args, **kwargs):
    load_before = round(os.getloadavg()[0], 2)
    measured = func(*args, **kwargs)
    record(path, results, row, dict(measured, load_before=load_before), context)


def summary(values):
    return '%.0f s (%.0f-%.0f)' % (statistics.median(values), min(values), max(values))


def print_summary(results):
    totals = dict((row, [m['total_s'] for m in results['measurements'] if m['row'] == row]) for row, _label in ROWS)
    versions = sorted(set(m['xen_tools'] for m in results['measurements'] if 'xen_tools' in m))
    dates = sorted(m['date'] for m in results['measurements'])
    if not dates:
        print('no measurements yet')
        return
    print('xen-tools %s, %s to %s, to "answers on SSH", median (min-max), n = measurements:'
          % (', '.join(versions), dates[0], dates[-1]))
    role = statistics.median(totals['role']) if totals['role'] else None
    for row, label in ROWS:
        values = totals[row]
        if not values:
            print('  %-26s no measurement' % label)
            continue
        ratio = ''
        if row != 'role' and role:
            ratio = 'ratio to the role %.1fx' % (statistics.median(values) / role)
        print('  %-26s %-20s n=%d  %s' % (label, summary(values), len(values), ratio))


def lab_up(host):
    """Boot the lab; restore the snapshot converged, or converge with site.yml and save it (not timed)."""
    benchlib.lab('up', capture=False)
    status = json.loads(benchlib.lab('status', '--json').stdout)
    snapshots = [snap for h in status if h['name'] == host and h['running'] for snap in h['snapshots']]
    if 'converged' in snapshots:
        benchlib.log('restoring the snapshot converged of %s' % host)
        benchlib.lab('restore', 'converged', capture=False)
        return
    benchlib.log('converging %s with site.yml, then saving the snapshot converged (not timed)' % host)
    empty = benchlib.write_vars('xt-none.json', {})
    benchlib.run_play(benchlib.inventory(), empty, 'xen_tools-site', playbook='playbooks/site.yml', limit=host)
    benchlib.lab('snapshot', 'converged', capture=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    ap.add_argument('--host', default='lab1')
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--lab', action='store_true', help='bring the lab host up converged first')
    ap.add_argument('--results', default=os.path.join(benchlib.OUT, 'provision_vs_xen_tools.json'))
    ap.add_argument('--summary', action='store_true', help='print the summary of the results file and stop')
    args = ap.parse_args()

    results = load_results(args.results)
    if args.summary:
        print_summary(results)
        return
    if results['measurements']:
        benchlib.log('%d measurements in %s already: adding to them' % (len(results['measurements']), args.results))
    if args.lab:
        lab_up(args.host)
    inv = benchlib.inventory()
    present = benchlib.write_vars('xt-role.json', {'xen_domains': [role_domain()]})
    absent = benchlib.write_vars('xt-role-absent.json', {'xen_domains': [role_domain('absent')]})
    benchlib.log('installing xen-tools on %s (not timed)' % args.host)
    benchlib.ssh(args.host, 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q xen-tools >/dev/null')
    version = benchlib.ssh(args.host, "dpkg-query -W -f '${Version}' xen-tools").stdout.strip()
    benchlib.log('%s: %s' % (args.host, xen_tools_no_pygrub(args.host)))
    mirror = host_mirror(args.host)
    benchlib.log('warm-up of the domains role: base system cached, domain removed (not timed)')
    role_run(args.host, inv, present, absent)
    boot = boot_files(args.host)
    benchlib.log('xen-tools domains boot kernel %s, ramdisk %s' % boot)

    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=benchlib.REPO, stdout=subprocess.PIPE,
                            universal_newlines=True, check=False).stdout.strip()
    context = {'host': args.host, 'xen_tools': version, 'commit': commit, 'kernel': boot[0], 'ramdisk': boot[1]}
    for index in range(args.runs):
        benchlib.log('run %d of %d' % (index + 1, args.runs))
        measure(args.results, results, 'xen_tools_cold', context, xen_tools_run, args.host, 'bench-xt', mirror, boot,
                cold=True)
        measure(args.results, results, 'xen_tools_cached', context, xen_tools_run, args.host, 'bench-xt', mirror,
                boot, cold=False)
        measure(args.results, results, 'role', context, role_run, args.host, inv, present, absent)
    print_summary(results)


if __name__ == '__main__':
    main()
