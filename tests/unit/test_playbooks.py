# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""site.yml: each tag selects its role, and the host play rolls out xen_serial hosts at a time."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
ROLES = ('kernel', 'hypervisor', 'storage', 'network', 'grub', 'domains')


def list_tasks(*args):
    env = dict(os.environ, ANSIBLE_NOCOLOR='1')
    env.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(ROOT, '.tmp', 'collections'))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'lab1,',
                           '--list-tasks', os.path.join(ROOT, 'playbooks', 'site.yml')] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=300, check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    assert proc.returncode == 0, out[-3000:]
    return out


def roles_of(listing):
    """The roles whose tasks are listed (``xenops.xen.ROLE : task``), besides the argument checks every role runs."""
    lines = [line for line in listing.splitlines() if 'Validating arguments against arg spec' not in line]
    return sorted(set(re.findall(r'^\s+(?:xenops\.xen\.)?(%s) : ' % '|'.join(ROLES), '\n'.join(lines), re.M)))


@pytest.fixture(scope='module')
def everything():
    return list_tasks()


def test_all_roles_without_tags(everything):
    assert roles_of(everything) == sorted(ROLES)


@pytest.mark.parametrize('role', ROLES)
def test_tag_selects_its_role(role):
    assert roles_of(list_tasks('--tags', role)) == [role]


def test_host_play_is_serial_and_stops_on_a_failed_host():
    with open(os.path.join(ROOT, 'playbooks', 'site.yml')) as f:
        play = yaml.safe_load(f)[0]
    assert play['serial'] == '{{ xen_serial | default(1) }}'
    assert play['max_fail_percentage'] == 0
