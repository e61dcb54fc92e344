# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A wrong type in a role's main variables fails in the role's argument spec, before any task of the role runs.

One ``ansible-playbook`` run on localhost (local connection, no facts): each
case includes a role with one bad variable inside a block whose rescue
records the failure; the roles never get past their argument checks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

# (role, variable, bad value): a value the spec's type cannot take (a dict for a list, a word for an int or a bool)
CASES = [
    ('domains', 'domains_list', {'name': 'web'}),
    ('domains', 'domains_memory', 'lots'),
    ('domains', 'domains_autostart', 'maybe'),
    ('grub', 'grub_reboot_timeout', 'soon'),
    ('grub', 'grub_xen_options', {'dom0_mem': '1G'}),
    ('hypervisor', 'hypervisor_disable_lib_tls', 'maybe'),
    ('hypervisor', 'hypervisor_xendomains_stop_maxwait', 'long'),
    ('kernel', 'kernel_source_for_domains', 'maybe'),
    ('network', 'network_bridges', {'name': 'xenbr0'}),
    ('network', 'network_rollback_timeout', 'later'),
    ('storage', 'storage_force', 'maybe'),
    ('storage', 'storage_pvs', {'dev': '/dev/sdb'}),
]


# the roles whose variables the example inventory for real hosts sets, with how many of them (per host)
EXAMPLE_ROLES = {'grub': 6, 'storage': 2, 'network': 2, 'domains': 2, 'fleet': 1}


@pytest.fixture(scope='module')
def failures(tmp_path_factory):
    work = tmp_path_factory.mktemp('argspec')
    out = work / 'failures.json'
    tasks = []
    for i, (role, var, value) in enumerate(CASES):
        tasks.append({'name': 'case %d: %s with a bad %s' % (i, role, var), 'block': [
            {'ansible.builtin.include_role': {'name': 'xenops.xen.%s' % role}, 'vars': {var: value}},
            {'ansible.builtin.set_fact': {'argspec_failures': '{{ argspec_failures | combine({"%d": "passed"}) }}' % i}},
        ], 'rescue': [
            {'ansible.builtin.set_fact': {'argspec_failures': '{{ argspec_failures | combine({"%d": '
                                                              'ansible_failed_result.msg | default("")}) }}' % i}},
        ]})
    # the domains of the lab inventory pass the spec of domains_list; a misspelt key does not
    spec = '{{ (lookup("ansible.builtin.file", "%s") | from_yaml).argument_specs.main.options }}' % os.path.join(
        ROOT, 'roles', 'domains', 'meta', 'argument_specs.yml')
    with open(os.path.join(ROOT, 'playbooks', 'inventory', 'host_vars', 'lab1.yml')) as f:
        lab_domains = yaml.safe_load(f)['xen_domains']
    example = os.path.join(ROOT, 'playbooks', 'inventory', 'example')
    example_domains = []
    for name in ('host_vars/xen1.yml', 'host_vars/xen2.yml', 'group_vars/xen_hosts.yml'):
        with open(os.path.join(example, name)) as f:
            data = yaml.safe_load(f)
        # fleet-wide entries carry the fleet role's placement keys on top of a domains_list entry
        example_domains += [dict((k, v) for k, v in d.items() if k not in ('host', 'avoid'))
                            for d in data.get('xen_domains', []) + data.get('xen_fleet_domains', [])]
    assert len(example_domains) == 4
    for key, domains in (('lab1', lab_domains), ('example', example_domains), ('misspelt', [{'name': 'web', 'memroy': 256}]),
                         ('bad disk', [{'name': 'web', 'disks': [{'function': 'root', 'size': '1G', 'fstype': 'btrfs'}]}])):
        tasks.append({'name': 'domains_list: %s' % key, 'block': [
            {'ansible.builtin.validate_argument_spec': {'argument_spec': spec, 'provided_arguments': {'domains_list': domains}}},
            {'ansible.builtin.set_fact': {'argspec_failures': '{{ argspec_failures | combine({"%s": "passed"}) }}' % key}},
        ], 'rescue': [
            {'ansible.builtin.set_fact': {'argspec_failures': '{{ argspec_failures | combine({"%s": '
                                                              'ansible_failed_result.msg | default("")}) }}' % key}},
        ]})
    # every role's variables of the example inventory's hosts pass that role's spec (templated values left out)
    for host in ('xen1', 'xen2'):
        with open(os.path.join(example, 'group_vars', 'xen_hosts.yml')) as f:
            values = yaml.safe_load(f)
        with open(os.path.join(example, 'host_vars', host + '.yml')) as f:
            values.update(yaml.safe_load(f))
        values['domains_list'] = values.pop('xen_domains')
        values['fleet_domains'] = values.pop('xen_fleet_domains')
        for role in EXAMPLE_ROLES:
            mine = dict((k, v) for k, v in values.items() if k.startswith(role + '_') and '{{' not in json.dumps(v))
            spec = '{{ (lookup("ansible.builtin.file", "%s") | from_yaml).argument_specs.main.options }}' % os.path.join(
                ROOT, 'roles', role, 'meta', 'argument_specs.yml')
            key = 'example %s %s' % (host, role)
            tasks.append({'name': key, 'block': [
                {'ansible.builtin.validate_argument_spec': {'argument_spec': spec, 'provided_arguments': mine}},
                {'ansible.builtin.set_fact': {'argspec_failures': '{{ argspec_failures | combine({"%s": %d}) }}'
                                              % (key, len(mine))}},
            ], 'rescue': [
                {'ansible.builtin.set_fact': {'argspec_failures': '{{ argspec_failures | combine({"%s": '
                                                                  'ansible_failed_result.msg | default("")}) }}' % key}},
            ]})
    tasks.append({'ansible.builtin.copy': {'content': '{{ argspec_failures | to_json }}', 'dest': str(out), 'mode': '0644'},
                  'check_mode': False})
    # check mode: should a role ever accept its bad value, its tasks still change nothing on this machine
    play = [{'hosts': 'localhost', 'gather_facts': False, 'check_mode': True, 'vars': {'argspec_failures': {}},
             'tasks': tasks}]
    playbook = work / 'play.yml'
    playbook.write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    env.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(ROOT, '.tmp', 'collections'))
    bindir = os.path.dirname(sys.executable)
    proc = subprocess.run([os.path.join(bindir, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           '-e', 'ansible_python_interpreter=%s' % sys.executable, str(playbook)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=600, check=False)
    output = proc.stdout.decode('utf-8', 'replace')
    assert proc.returncode == 0, output[-4000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize('index', range(len(CASES)), ids=['%s-%s' % (c[0], c[1]) for c in CASES])
def test_wrong_type_fails_in_argument_spec(failures, index):
    role, var, value = CASES[index]
    msg = failures[str(index)]
    assert msg != 'passed', 'role %s accepted %s=%r' % (role, var, value)
    assert msg.startswith('Validation of arguments failed'), msg
    assert "argument '%s' is of type" % var in msg, msg


@pytest.mark.parametrize('key', ['lab1', 'example'])
def test_inventory_domains_pass_the_domains_list_spec(failures, key):
    """The domains of the lab's inventory and of the example inventory for real hosts."""
    assert failures[key] == 'passed'


@pytest.mark.parametrize('key, words', [('misspelt', 'memroy'), ('bad disk', "value of fstype must be one of: ext4, xfs, "
                                                                             "swap, none, got: btrfs")])
def test_domain_keys_are_checked_by_the_spec(failures, key, words):
    assert failures[key].startswith('Validation of arguments failed'), failures[key]
    assert words in failures[key]


def test_domains_list_spec_has_the_keys_the_filter_reads():
    from ansible_collections.xenops.xen.plugins.filter import domains
    with open(os.path.join(ROOT, 'roles', 'domains', 'meta', 'argument_specs.yml')) as f:
        options = yaml.safe_load(f)['argument_specs']['main']['options']['domains_list']['options']
    assert sorted(options) == sorted(domains.DOMAIN_KEYS)
    assert sorted(options['disks']['options']) == sorted(domains.DISK_KEYS)
    assert sorted(options['vifs']['options']) == sorted(domains.VIF_KEYS)


@pytest.mark.parametrize('host', ['xen1', 'xen2'])
@pytest.mark.parametrize('role', sorted(EXAMPLE_ROLES))
def test_example_inventory_passes_the_role_specs(failures, host, role):
    """The variables of playbooks/inventory/example pass each role's spec (the count: none was left out unseen)."""
    assert failures['example %s %s' % (host, role)] == EXAMPLE_ROLES[role]
