# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the lab benchmarks: run the domains play against a lab host and time it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(REPO, 'hypervisor', 'lab')
OUT = os.path.join(REPO, '.tmp', 'bench')
VENV_BIN = os.path.join(REPO, '.venv', 'bin')
RECAP_RE = re.compile(r'^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)


def log(msg):
    print('bench: %s' % msg, file=sys.stderr, flush=True)


def lab(*args, check=True, capture=True):
    proc = subprocess.run([LAB] + list(args), stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None, universal_newlines=True,
                          stdin=subprocess.DEVNULL, check=False)
    if check and proc.returncode != 0:
        sys.exit('bench: lab %s failed (rc=%d): %s' % (' '.join(args), proc.returncode, proc.stderr))
    return proc


def ssh(host, command, check=True):
    """Run a shell command line on the lab host (the benchmark's own set-up, not the role)."""
    return lab('ssh', host, '--', command, check=check)


def inventory():
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, 'lab-inventory.yml')
    lab('inventory', path)
    return path


def write_vars(name, data):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    with open(path, 'w') as fh:
        json.dump(data, fh, indent=2)
    return path


def run_play(inventory_path, vars_path, label, playbook='playbooks/domains.yml', limit=None):
    """Run a playbook; return (seconds, recap dict host -> counters). Exits on failure."""
    env = dict(os.environ)
    env.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(REPO, '.tmp', 'collections'))
    env['PATH'] = VENV_BIN + os.pathsep + env.get('PATH', '')
    env.setdefault('ANSIBLE_HOST_KEY_CHECKING', 'false')
    env.setdefault('ANSIBLE_PIPELINING', 'true')
    argv = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', os.path.join(REPO, 'playbooks', 'inventory', 'lab.yml'),
            '-i', inventory_path, '-e', '@' + vars_path, os.path.join(REPO, playbook)]
    if limit:
        argv += ['--limit', limit]
    logpath = os.path.join(OUT, re.sub(r'[^A-Za-z0-9_.-]', '_', label) + '.log')
    log('%s: ansible-playbook (log %s)' % (label, os.path.relpath(logpath, REPO)))
    start = time.monotonic()
    with open(logpath, 'w') as fh:
        proc = subprocess.run(argv, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, check=False)
    seconds = time.monotonic() - start
    with open(logpath) as fh:
        text = fh.read()
    recap = dict((m.group(1), {'ok': int(m.group(2)), 'changed': int(m.group(3)), 'unreachable': int(m.group(4)),
                               'failed': int(m.group(5))}) for m in RECAP_RE.finditer(text))
    if proc.returncode != 0:
        sys.exit('bench: %s failed (rc=%d), see %s\n%s' % (label, proc.returncode, logpath, text[-3000:]))
    recap_lines = [line for line in text.splitlines() if RECAP_RE.match(line)]
    log('%s: %.1f s; %s' % (label, seconds, '; '.join(' '.join(l.split()) for l in recap_lines)))
    return seconds, recap


def wait_ssh(host, address, timeout=600):
    """Seconds until the domain's SSH port answers, probed from dom0."""
    start = time.monotonic()
    probe = "timeout 3 bash -c '</dev/tcp/%s/22' 2>/dev/null" % address
    while time.monotonic() - start < timeout:
        if ssh(host, probe, check=False).returncode == 0:
            return time.monotonic() - start
        time.sleep(2)
    sys.exit('bench: %s:22 did not answer within %d s' % (address, timeout))


def save(name, data):
    path = write_vars(name, data)
    log('results in %s' % os.path.relpath(path, REPO))
    return path
