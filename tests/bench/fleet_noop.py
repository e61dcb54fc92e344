# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cost of a no-op re-run of the domains play at fleet scale: hosts x domains, batch against per-domain loop.

    make bench-fleet            (or: .venv/bin/python tests/bench/fleet_noop.py [--hosts 1,4] [--domains 1,10,50])

Each benchmark host is an sshd on 127.0.0.1 (port 22101, 22102, ...) in a mount namespace of its own,
where /usr/local/sbin (first on root's PATH) holds xl, lvs, vgs, pvs, lvcreate, blkid and mkfs.ext4
of tests/bench/fakehost.py (answers shaped like the lab's captured output, state per host) and
/sys/class/net shows a bridge xenbr0. Ansible reaches the hosts over SSH as it reaches real ones,
with docs/ansible.cfg (pipelining, ControlPersist), and runs the collection's real modules there.

For every hosts x domains size: the domains are made once (playbooks/domains.yml, domains_os none, a
64M root volume each), then the no-op re-run is timed --runs times (each must report changed=0);
then the same domains with tests/bench/loop_domains.yml (one xen_lv and one xen_domain task run per
domain), made once and timed the same way. The table: median wall time (min-max), tasks and commands
per host of one no-op run, and the ratio to the 1-domain run of the same pattern and hosts.

Needs root (mount namespaces) and openssh-server (installed with apt-get when missing). Timings
depend on the machine: run it on an otherwise idle one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

import yaml

import benchlib

REPO = benchlib.REPO
WORK = os.path.join(benchlib.OUT, 'fleet-noop')
FAKEHOST = os.path.join(REPO, 'tests', 'bench', 'fakehost.py')
PYTHON = os.path.join(REPO, '.venv', 'bin', 'python')
COMMANDS = ('xl', 'lvs', 'vgs', 'pvs', 'lvcreate', 'blkid', 'mkfs.ext4')
BASE_PORT = 22100
KERNEL_VERSION = '6.1.0-bench'


def log(msg):
    benchlib.log(msg)


def prerequisites():
    if os.geteuid() != 0:
        sys.exit('bench: fleet_noop needs root (a mount namespace per benchmark host)')
    if not os.path.exists('/usr/sbin/sshd'):
        log('installing openssh-server (the benchmark hosts are sshd processes)')
        env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
        subprocess.run(['apt-get', 'update', '-qq'], check=True, env=env)
        subprocess.run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'openssh-server'],
                       check=True, env=env)
    os.makedirs('/run/sshd', exist_ok=True)
    subprocess.run(['make', '-C', REPO, '-s', 'venv', 'collection'], check=True)


def host_dir(index):
    return os.path.join(WORK, 'host%02d' % index)


def setup_host(index):
    """The directory of benchmark host ``index``: command wrappers, a bridge, an sshd config and key."""
    hdir = host_dir(index)
    for sub in ('sbin', 'net/xenbr0/bridge', 'xen/auto'):
        os.makedirs(os.path.join(hdir, sub), exist_ok=True)
    for command in COMMANDS:
        path = os.path.join(hdir, 'sbin', command)
        with open(path, 'w') as fh:
            fh.write('#!/bin/sh\nexec %s %s %s "$@"\n' % (PYTHON, FAKEHOST, command))
        os.chmod(path, 0o755)
    key = os.path.join(hdir, 'ssh_host_ed25519_key')
    if not os.path.exists(key):
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key], check=True)
    with open(os.path.join(hdir, 'sshd_config'), 'w') as fh:
        fh.write('\n'.join([
            'Port %d' % (BASE_PORT + index), 'ListenAddress 127.0.0.1', 'HostKey %s' % key,
            'PidFile %s/sshd.pid' % hdir, 'AuthorizedKeysFile %s/client_key.pub' % WORK,
            'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
            'UsePAM no', 'StrictModes no', 'SetEnv XENOPS_FAKEHOST=%s' % hdir, 'Subsystem sftp internal-sftp',
            'MaxSessions 200', 'MaxStartups 200:30:400', '']))
    return hdir


def start_host(index):
    hdir = host_dir(index)
    script = ('mount --bind {h}/sbin /usr/local/sbin && mount --bind {h}/net /sys/class/net && '
              'exec /usr/sbin/sshd -D -e -f {h}/sshd_config').format(h=hdir)
    logfile = open(os.path.join(hdir, 'sshd.log'), 'w')  # pylint: disable=consider-using-with
    return subprocess.Popen(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script],
                            stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def wait_port(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1) as sock:
                if sock.recv(4).startswith(b'SSH'):
                    return
        except OSError:
            time.sleep(0.2)
    sys.exit('bench: no sshd on 127.0.0.1:%d, see %s' % (port, WORK))


def reset_host(index):
    """No domains, volumes or config files on the host (its state before the converge run)."""
    hdir = host_dir(index)
    for name in ('state.json', 'commands.log'):
        if os.path.exists(os.path.join(hdir, name)):
            os.unlink(os.path.join(hdir, name))
    for directory in (os.path.join(hdir, 'xen'), os.path.join(hdir, 'xen', 'auto')):
        for name in os.listdir(directory):
            path = os.path.join(directory, name)
            if not os.path.isdir(path) or os.path.islink(path):
                os.unlink(path)


def commands_run(index):
    try:
        with open(os.path.join(host_dir(index), 'commands.log')) as fh:
            return sum(1 for _line in fh)
    except FileNotFoundError:
        return 0


def write_inventory(hosts, domains):
    boot = os.path.join(WORK, 'boot')
    hosts_yaml = {}
    for index in range(1, hosts + 1):
        hosts_yaml['host%02d' % index] = {
            'ansible_host': '127.0.0.1', 'ansible_port': BASE_PORT + index, 'ansible_user': 'root',
            'ansible_ssh_private_key_file': os.path.join(WORK, 'client_key'),
            'ansible_ssh_common_args': '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes',
            'domains_config_dir': os.path.join(host_dir(index), 'xen'),
            'xen_domains': [{'name': 'h%02d-d%03d' % (index, d), 'memory': 64,
                             'disks': [{'function': 'root', 'size': '64M', 'fstype': 'ext4'}],
                             'vifs': [{'bridge': 'xenbr0'}]} for d in range(1, domains + 1)],
        }
    inventory = {'all': {'children': {'xen_hosts': {
        'hosts': hosts_yaml,
        'vars': {'ansible_python_interpreter': '/usr/bin/python3', 'domains_os': 'none', 'domains_type': 'pvh',
                 'domains_kernel': os.path.join(boot, 'vmlinuz-' + KERNEL_VERSION),
                 'domains_ramdisk': os.path.join(boot, 'initrd.img-' + KERNEL_VERSION),
                 'domains_vg': 'vg_xen',
                 # nothing boots: no need to wait for a new domain to settle
                 'domains_boot_settle': 0}}}}}
    path = os.path.join(WORK, 'inventory-%dx%d.yml' % (hosts, domains))
    with open(path, 'w') as fh:
        yaml.safe_dump(inventory, fh)
    return path


MITOGEN = {}


def use_mitogen():
    """Install mitogen (its newest release) into the venv; the strategy plugin's directory."""
    subprocess.run([PYTHON, '-m', 'pip', 'install', '-q', '--upgrade', 'mitogen'], check=True)
    found = subprocess.run([PYTHON, '-c', 'import ansible_mitogen, os, mitogen; '
                            'print(os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy")); '
                            'print(".".join(str(n) for n in mitogen.__version__))'],
                           check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout.split()
    MITOGEN.update(ANSIBLE_STRATEGY_PLUGINS=found[0], ANSIBLE_STRATEGY='mitogen_linear')
    return found[1]


def play(inventory, playbook, label):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'docs', 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.tmp', 'collections'),
               ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_NOCOLOR='1', ANSIBLE_CALLBACK_RESULT_FORMAT='json',
               **MITOGEN)
    logpath = os.path.join(WORK, label + '.log')
    start = time.monotonic()
    with open(logpath, 'w') as fh:
        proc = subprocess.run([os.path.join(benchlib.VENV_BIN, 'ansible-playbook'), '-i', inventory, playbook],
                              cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              check=False)
    seconds = time.monotonic() - start
    with open(logpath) as fh:
        text = fh.read()
    if proc.returncode != 0:
        sys.exit('bench: %s failed (rc=%d), see %s\n%s' % (label, proc.returncode, logpath, text[-3000:]))
    recap = dict((m.group(1), {'ok': int(m.group(2)), 'changed': int(m.group(3)),
                               # task runs: a looped task once per item
                               'runs': len(re.findall(r'^(?:ok|changed): \[%s\]' % re.escape(m.group(1)), text, re.M))})
                 for m in benchlib.RECAP_RE.finditer(text))
    return seconds, recap


def measure(hosts, domains, pattern, runs):
    playbook = (os.path.join(REPO, 'playbooks', 'domains.yml') if pattern == 'batch'
                else os.path.join(REPO, 'tests', 'bench', 'loop_domains.yml'))
    inventory = write_inventory(hosts, domains)
    label = '%s-%dx%d' % (pattern, hosts, domains)
    seconds, _recap = play(inventory, playbook, label + '-converge')
    log('%s: made in %.1f s' % (label, seconds))
    times, tasks, task_runs, commands = [], None, None, None
    for run in range(1, runs + 1):
        before = [commands_run(i) for i in range(1, hosts + 1)]
        seconds, recap = play(inventory, playbook, '%s-noop%d' % (label, run))
        changed = dict((h, r['changed']) for h, r in recap.items() if r['changed'])
        if changed or len(recap) != hosts:
            sys.exit('bench: the no-op run %s %d is not one: %s' % (label, run, recap))
        times.append(seconds)
        tasks = max(r['ok'] for r in recap.values())
        task_runs = max(r['runs'] for r in recap.values())
        commands = max(commands_run(i) - b for i, b in zip(range(1, hosts + 1), before))
        log('%s: no-op run %d: %.1f s' % (label, run, seconds))
    return {'hosts': hosts, 'domains': domains, 'pattern': pattern, 'times': times,
            'median': statistics.median(times), 'min': min(times), 'max': max(times),
            'tasks_per_host': tasks, 'task_runs_per_host': task_runs,
            'commands_per_host': commands}


def table(results):
    lines = ['| hosts | domains/host | pattern | no-op re-run, median (min-max) | tasks/host | task runs/host | '
             'commands/host | ratio to 1 domain |', '| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |']
    base = dict(((r['hosts'], r['pattern']), r['median']) for r in results if r['domains'] == 1)
    for r in results:
        one = base.get((r['hosts'], r['pattern']))
        lines.append('| %d | %d | %s | %.1f s (%.1f-%.1f) | %d | %d | %d | %s |' % (
            r['hosts'], r['domains'], r['pattern'], r['median'], r['min'], r['max'], r['tasks_per_host'],
            r['task_runs_per_host'], r['commands_per_host'], '%.2f' % (r['median'] / one) if one else '-'))
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    ap.add_argument('--hosts', default='1,4', help='host counts, comma-separated (default 1,4)')
    ap.add_argument('--domains', default='1,10,50', help='domains per host, comma-separated (default 1,10,50)')
    ap.add_argument('--patterns', default='batch,loop', help='batch (playbooks/domains.yml), loop (one task per domain)')
    ap.add_argument('--runs', type=int, default=3, help='timed no-op runs per size (default 3)')
    ap.add_argument('--mitogen', action='store_true',
                    help="with mitogen's strategy mitogen_linear (pip installs its newest release into the venv)")
    args = ap.parse_args()
    host_counts = [int(x) for x in args.hosts.split(',')]
    domain_counts = [int(x) for x in args.domains.split(',')]
    patterns = args.patterns.split(',')
    if not set(patterns) <= {'batch', 'loop'} or min(host_counts + domain_counts) < 1 or args.runs < 1:
        ap.error('patterns are batch and loop; counts and runs are at least 1')
    prerequisites()
    strategy = 'linear'
    if args.mitogen:
        strategy = 'mitogen_linear (mitogen %s)' % use_mitogen()
    os.makedirs(os.path.join(WORK, 'boot'), exist_ok=True)
    for name in ('vmlinuz-', 'initrd.img-'):
        open(os.path.join(WORK, 'boot', name + KERNEL_VERSION), 'a').close()
    if not os.path.exists(os.path.join(WORK, 'client_key')):
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', os.path.join(WORK, 'client_key')],
                       check=True)
    most = max(host_counts)
    procs = []
    try:
        for index in range(1, most + 1):
            setup_host(index)
            procs.append(start_host(index))
        for index in range(1, most + 1):
            wait_port(BASE_PORT + index)
        results = []
        for hosts in host_counts:
            for domains in domain_counts:
                for pattern in patterns:
                    for index in range(1, most + 1):
                        reset_host(index)
                    results.append(measure(hosts, domains, pattern, args.runs))
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in procs:
            proc.wait()
    results_path = os.path.join(WORK, 'results-mitogen.json' if args.mitogen else 'results.json')
    with open(results_path, 'w') as fh:
        json.dump(results, fh, indent=2)
    print('fleet no-op re-run of the domains play (%s, strategy %s, %d runs each; %s)' % (
        time.strftime('%Y-%m-%d'), strategy, args.runs, os.path.relpath(results_path, REPO)))
    print(table(results))


if __name__ == '__main__':
    main()
