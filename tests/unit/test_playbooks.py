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


def _playbook(name, *args, inventory='xen_hosts:\n  hosts:\n    lab1: {}\n    lab2: {}\n', tmp_path=None):
    path = tmp_path / 'hosts.yml'
    path.write_text(inventory)
    env = dict(os.environ, ANSIBLE_NOCOLOR='1')
    env.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(ROOT, '.tmp', 'collections'))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(path),
                           os.path.join(ROOT, 'playbooks', name)] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=300, check=False)
    return proc.returncode, proc.stdout.decode('utf-8', 'replace')


def test_upgrade_lists_its_steps_per_host(tmp_path):
    rc, out = _playbook('upgrade.yml', '--list-tasks', tmp_path=tmp_path)
    assert rc == 0, out[-3000:]
    assert 'Check the hosts to upgrade' in out and 'Upgrade each host in turn' in out


@pytest.mark.parametrize('extra, message', [
    ('{"xen_upgrade_hosts": ["lab9"]}', 'xen_upgrade_hosts must name hosts of the play (lab1, lab2)'),
    ('{"xen_upgrade_reboot": "never"}', 'xen_upgrade_reboot must be if_changed or always'),
    ('{"xen_upgrade_release": "Debian 13"}', 'xen_upgrade_release the code name of a Debian release (such as trixie), '
                                             'not Debian 13'),
])
def test_upgrade_refuses_bad_settings_before_touching_a_host(tmp_path, extra, message):
    rc, out = _playbook('upgrade.yml', '-c', 'local', '-e', 'ansible_become=false', '-e', extra, tmp_path=tmp_path)
    assert rc != 0
    assert message in ' '.join(out.split()), out[-3000:]
    assert 'Upgrade each host in turn' not in out
