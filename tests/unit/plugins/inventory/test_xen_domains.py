# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory plugin xenops.xen.xen_domains, run by ansible-inventory on real inventory files."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.xenops.xen.plugins.filter.fleet import domain_addresses

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), 'ansible-inventory')


def inventory(*sources, check=True):
    env = dict(os.environ, ANSIBLE_INVENTORY_UNPARSED_FAILED='true', ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED='true')
    argv = [ANSIBLE_INVENTORY]
    for source in sources:
        argv += ['-i', str(source)]
    proc = subprocess.run(argv + ['--list'], capture_output=True, text=True, env=env, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)
    return proc


def plain(value):
    """ansible-inventory --list marks strings that are no templates as {'__ansible_unsafe': TEXT}."""
    if isinstance(value, dict):
        if set(value) == {'__ansible_unsafe'}:
            return value['__ansible_unsafe']
        return dict((k, plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def hostvars(data, name):
    return plain(data['_meta']['hostvars'][name])


def members(data, group):
    return set(data.get(group, {}).get('hosts', []))


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def plugin_file(tmp_path):
    return write(tmp_path / 'plugin' / 'zz.xen_domains.yml', 'plugin: xenops.xen.xen_domains\n')


def test_the_lab_inventory_domains_become_hosts(tmp_path, plugin_file):
    """playbooks/inventory (the example of the lab) and the connection that `hypervisor/lab inventory` writes."""
    lab = write(tmp_path / 'lab' / 'inventory.yml', '''\
        all:
          children:
            xen_hosts:
              hosts:
                lab1:
                  ansible_host: 127.0.0.1
                  ansible_port: 2201
                  ansible_user: root
                  ansible_ssh_private_key_file: /root/.cache/xenops-lab/ssh/id_ed25519
                  ansible_ssh_common_args: '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'
        ''')
    data = inventory(os.path.join(ROOT, 'playbooks', 'inventory', 'lab.yml'), lab, plugin_file)
    assert members(data, 'xen_domus') == {'web', 'mail'}
    assert members(data, 'xen_on_lab1') == {'web', 'mail'}
    assert members(data, 'xen_hosts') == {'lab1'}
    web = hostvars(data, 'web')
    assert web['ansible_host'] == '192.0.2.10'
    assert web['xen_dom0'] == 'lab1'
    # mail has no address in the inventory: the same one the domains role derives from domains_subnet
    mail_ip = domain_addresses([{'name': 'mail'}], '198.51.100.0/24', reserved=['198.51.100.1'], method='name')[0]['ip']
    assert hostvars(data, 'mail')['ansible_host'] == mail_ip
    # both bridges of lab1 have no uplink: through lab1's forwarded port with the lab's key
    for name in ('web', 'mail'):
        args = shlex.split(hostvars(data, name)['ansible_ssh_extra_args'])
        proxy = shlex.split(args[1][len('ProxyCommand='):])
        assert proxy == ['ssh', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
                         '-i', '/root/.cache/xenops-lab/ssh/id_ed25519', '-p', '2201', '-W', '%h:%p', 'root@127.0.0.1']


def test_two_hosts_fleet_domains_groups_vars_and_templates(tmp_path, plugin_file):
    inv = tmp_path / 'inv'
    write(inv / 'hosts.yml', '''\
        all:
          children:
            xen_hosts:
              hosts:
                xen1: {ansible_host: 10.0.0.1}
                xen2: {ansible_host: 10.0.0.2}
              vars:
                xen_fleet_domains:
                  - {name: db1, host: xen2, ip: 203.0.113.21/24, groups: [db]}
                  - {name: db2, avoid: [db1], ip: 203.0.113.22/24, groups: [db]}
            web:
              hosts:
                www1: {http_port: 8081}
        ''')
    write(inv / 'host_vars' / 'xen1.yml', '''\
        site_net: 203.0.113
        network_bridges:
          - {name: br0, uplink: eth0, method: dhcp}
          - {name: lan0, method: static, addresses: [192.0.2.1/24]}
        xen_domains:
          - name: www1
            ip: "{{ site_net }}.11/24"
            vifs: [{bridge: br0}]
            groups: [web]
            vars: {http_port: 8080, tier: front}
          - name: cache1
            vifs: [{bridge: lan0, ip: 192.0.2.30/24}]
          - {name: old1, state: absent}
        ''')
    data = inventory(inv, plugin_file)
    assert members(data, 'xen_domus') == {'www1', 'cache1', 'db1', 'db2'}
    assert members(data, 'xen_on_xen1') == {'www1', 'cache1'}
    assert members(data, 'xen_on_xen2') == {'db1'}
    assert members(data, 'web') == {'www1'}
    assert members(data, 'db') == {'db1', 'db2'}
    assert 'old1' not in data['_meta']['hostvars']
    www1 = hostvars(data, 'www1')
    assert www1['ansible_host'] == '203.0.113.11'
    # the static inventory's own value is kept; the domain's other vars are added
    assert www1['http_port'] == 8081 and www1['tier'] == 'front'
    assert 'ansible_ssh_extra_args' not in www1
    assert shlex.split(hostvars(data, 'cache1')['ansible_ssh_extra_args'])[1].endswith('-W %h:%p 10.0.0.1')
    assert hostvars(data, 'db1')['xen_dom0'] == 'xen2'
    assert 'xen_dom0' not in hostvars(data, 'db2')


def test_jump_always_and_group_names_from_the_config(tmp_path):
    inv = write(tmp_path / 'inv' / 'hosts.yml', '''\
        xen_hosts:
          hosts:
            xen1:
              ansible_host: 10.0.0.1
              xen_domains: [{name: a, ip: 203.0.113.5}]
        ''')
    cfg = write(tmp_path / 'plugin' / 'guests.xen_domains.yaml', '''\
        plugin: xenops.xen.xen_domains
        jump: always
        domains_group: guests
        dom0_group_prefix: on_
        user: admin
        ''')
    data = inventory(inv, cfg)
    assert members(data, 'guests') == {'a'} and members(data, 'on_xen1') == {'a'}
    assert hostvars(data, 'a')['ansible_user'] == 'admin'
    assert 'ProxyCommand=ssh -W %h:%p 10.0.0.1' in shlex.split(hostvars(data, 'a')['ansible_ssh_extra_args'])[1]


@pytest.mark.parametrize('domains, fleet, message', [
    ('[{name: xen2}]', '[]', 'xen2 is also the name of a Xen host of the inventory'),
    ('[{name: a, groups: [web-servers]}]', '[]', "'web-servers' is not a group name"),
    ('{name: a}', '[]', 'xen_domains of host xen1 must be a list of domains, not a mapping'),
    ('[{name: a, ip: "{{ undefined_thing }}"}]', '[]', 'xen_domains of host xen1 cannot be templated at inventory time'),
    # xen_fleet_domains is checked as xen_domains is, and its names as xen_domain checks them
    ('[{name: a}]', '{dns1: {memory: 256}}', 'xen_fleet_domains of host xen1 must be a list of domains, not a mapping'),
    ('[{name: a}]', 'dns1', 'xen_fleet_domains of host xen1 must be a list of domains, not a string'),
    ('[{name: a}]', '7', 'xen_fleet_domains of host xen1 must be a list of domains, not a number'),
    ('[{name: a}]', '[{name: "web server"}]', "fleet domain web server: invalid domain name 'web server'"),
])
def test_bad_domains_fail_the_inventory_with_a_clear_error(tmp_path, plugin_file, domains, fleet, message):
    inv = write(tmp_path / 'inv' / 'hosts.yml', '''\
        xen_hosts:
          hosts:
            xen1: {xen_domains: %s}
            xen2: {}
          vars:
            xen_fleet_domains: %s
        ''' % (domains, fleet))
    proc = inventory(inv, plugin_file, check=False)
    assert proc.returncode != 0
    assert message in ' '.join(proc.stderr.split())


def test_only_files_named_xen_domains_are_taken(tmp_path):
    inv = write(tmp_path / 'inv' / 'hosts.yml', 'xen_hosts: {hosts: {xen1: {xen_domains: [{name: a}]}}}\n')
    other = write(tmp_path / 'plugin' / 'domains.yml', 'plugin: xenops.xen.xen_domains\n')
    proc = inventory(inv, other, check=False)
    assert proc.returncode != 0
    assert 'a' not in proc.stdout


def test_a_domain_in_a_group_of_its_own_name(tmp_path, plugin_file):
    """A domain web in group web: Ansible allows a host and a group of one name (with a warning); the plugin too."""
    hosts = write(tmp_path / 'inv' / 'hosts.yml', '''\
        xen_hosts:
          hosts:
            xen1:
              ansible_host: 192.0.2.11
              xen_domains:
                - {name: web, ip: 192.0.2.80/24, groups: [web, frontends]}
                - {name: db, ip: 192.0.2.81/24, groups: [web]}
        ''')
    data = inventory(hosts, plugin_file)
    assert members(data, 'web') == {'web', 'db'}
    assert members(data, 'frontends') == {'web'}
    assert members(data, 'xen_on_xen1') == {'web', 'db'}
    assert hostvars(data, 'web')['ansible_host'] == '192.0.2.80'


def test_the_example_inventory_for_real_hosts():
    """playbooks/inventory/example: two hosts, their domains and the fleet-wide ones as hosts, in their groups."""
    data = inventory(os.path.join(ROOT, 'playbooks', 'inventory', 'example'))
    assert members(data, 'xen_hosts') == {'xen1', 'xen2'}
    assert members(data, 'xen_domus') == {'web', 'db', 'dns1', 'dns2'}
    assert members(data, 'xen_on_xen1') == {'web'} and members(data, 'xen_on_xen2') == {'db'}
    assert members(data, 'dns') == {'dns1', 'dns2'}
    assert members(data, 'webservers') == {'web'} and members(data, 'databases') == {'db'}
    assert hostvars(data, 'web')['ansible_host'] == '203.0.113.80'
    assert hostvars(data, 'web')['nginx_worker_processes'] == 2
    # the uplink bridge reaches the domains directly: no jump through the dom0
    assert 'ansible_ssh_extra_args' not in hostvars(data, 'db')
