# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The domains of an inventory as Ansible hosts: module_utils/_inventory.py."""

from __future__ import annotations

import shlex

import pytest

from ansible_collections.xenops.xen.plugins.module_utils._inventory import (
    InventoryError, domain_address, domain_hosts, group_name, private_bridges, proxy_command)
from ansible_collections.xenops.xen.plugins.module_utils._names import domain_name_error

LAB_CONNECTION = {
    'ansible_host': '127.0.0.1',
    'ansible_port': 2201,
    'ansible_user': 'root',
    'ansible_ssh_private_key_file': '/root/.cache/xenops-lab/ssh/id_ed25519',
    'ansible_ssh_common_args': '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes',
}
PRIVATE = [{'name': 'xenbr0', 'method': 'static', 'addresses': ['192.0.2.1/24']}]
UPLINK = [{'name': 'br0', 'uplink': 'eth0', 'method': 'dhcp'}]


def dom0(name='lab1', domains=(), bridges=None, connection=None):
    return {'name': name, 'domains': list(domains), 'network_bridges': PRIVATE if bridges is None else bridges,
            'connection': dict(LAB_CONNECTION if connection is None else connection)}


def by_name(entries):
    return dict((e['name'], e) for e in entries)


def proxy_of(entry):
    """The ProxyCommand of an entry as ssh would run it, split into argv."""
    args = shlex.split(entry['vars']['ansible_ssh_extra_args'])
    assert args[0] == '-o' and args[1].startswith('ProxyCommand=')
    return shlex.split(args[1][len('ProxyCommand='):])


@pytest.mark.parametrize('dom, expected', [
    ({'name': 'a', 'ip': '192.0.2.10/24', 'vifs': [{'bridge': 'xenbr0'}]}, ('192.0.2.10', 'xenbr0')),
    ({'name': 'a', 'ip': '192.0.2.10'}, ('192.0.2.10', None)),
    ({'name': 'a', 'vifs': [{'bridge': 'xenbr0', 'ip': 'dhcp'}, {'bridge': 'xenbr1', 'ip': '198.51.100.7/24'}]},
     ('198.51.100.7', 'xenbr1')),
    ({'name': 'a', 'ip': 'DHCP', 'vifs': [{'bridge': 'br0'}]}, (None, 'br0')),
    ({'name': 'a'}, (None, None)),
])
def test_domain_address(dom, expected):
    assert domain_address(dom) == expected


def test_private_bridges_are_those_without_uplink():
    assert private_bridges(PRIVATE + UPLINK + [{'name': 'xenbr9', 'uplink': ''}, 'junk']) == {'xenbr0', 'xenbr9'}


@pytest.mark.parametrize('text, expected', [('lab1', 'lab1'), ('xen-host.example', 'xen_host_example'),
                                            ('1host', '_1host')])
def test_group_name(text, expected):
    assert group_name(text) == expected


def test_proxy_command_uses_the_dom0_connection():
    argv = shlex.split(proxy_command('lab1', LAB_CONNECTION))
    assert argv == ['ssh', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o',
                    'IdentitiesOnly=yes', '-i', '/root/.cache/xenops-lab/ssh/id_ed25519', '-p', '2201',
                    '-W', '%h:%p', 'root@127.0.0.1']


def test_proxy_command_of_a_dom0_without_connection_vars_uses_its_name():
    assert shlex.split(proxy_command('xen1.example.org', {})) == ['ssh', '-W', '%h:%p', 'xen1.example.org']


def test_proxy_command_quotes_a_key_path_with_a_space():
    argv = shlex.split(proxy_command('h', {'ansible_private_key_file': '/keys/my key', 'ansible_ssh_user': 'admin',
                                           'ansible_ssh_host': '10.0.0.1', 'ansible_ssh_port': '22'}))
    assert argv == ['ssh', '-i', '/keys/my key', '-p', '22', '-W', '%h:%p', 'admin@10.0.0.1']


def test_lab_domains_on_a_private_bridge_jump_through_dom0():
    entries = domain_hosts([dom0(domains=[
        {'name': 'web', 'vifs': [{'bridge': 'xenbr0', 'ip': '192.0.2.10/24'}], 'groups': ['web'],
         'vars': {'http_port': 8080}},
        {'name': 'mail', 'vifs': [{'bridge': 'xenbr1', 'ip': '198.51.100.44/24'}]},
    ], bridges=PRIVATE + [{'name': 'xenbr1', 'method': 'static', 'addresses': ['198.51.100.1/24']}])])
    web, mail = entries
    assert web['name'] == 'web' and mail['name'] == 'mail'
    assert web['groups'] == ['xen_domus', 'xen_on_lab1', 'web']
    assert mail['groups'] == ['xen_domus', 'xen_on_lab1']
    assert web['vars']['ansible_host'] == '192.0.2.10'
    assert web['vars']['ansible_user'] == 'root'
    assert web['vars']['xen_dom0'] == 'lab1'
    assert web['vars']['http_port'] == 8080
    assert proxy_of(web)[-3:] == ['-W', '%h:%p', 'root@127.0.0.1']
    assert proxy_of(mail) == proxy_of(web)


def test_domain_on_an_uplink_bridge_is_reached_directly():
    [entry] = domain_hosts([dom0(domains=[{'name': 'www', 'ip': '203.0.113.5/24', 'vifs': [{'bridge': 'br0'}]}],
                                 bridges=UPLINK)])
    assert entry['vars']['ansible_host'] == '203.0.113.5'
    assert 'ansible_ssh_extra_args' not in entry['vars']


def test_domain_on_a_bridge_the_network_role_does_not_know_is_reached_directly():
    [entry] = domain_hosts([dom0(domains=[{'name': 'www', 'ip': '203.0.113.5', 'vifs': [{'bridge': 'handmade0'}]}])])
    assert 'ansible_ssh_extra_args' not in entry['vars']


@pytest.mark.parametrize('jump, jumps', [('always', True), ('never', False), ('auto', False)])
def test_jump_modes(jump, jumps):
    [entry] = domain_hosts([dom0(domains=[{'name': 'www', 'ip': '203.0.113.5', 'vifs': [{'bridge': 'br0'}]}],
                                 bridges=UPLINK)], jump=jump)
    assert ('ansible_ssh_extra_args' in entry['vars']) is jumps


def test_never_does_not_jump_even_on_a_private_bridge():
    [entry] = domain_hosts([dom0(domains=[{'name': 'w', 'ip': '192.0.2.3', 'vifs': [{'bridge': 'xenbr0'}]}])],
                           jump='never')
    assert 'ansible_ssh_extra_args' not in entry['vars']


def test_unknown_jump_mode_refused():
    with pytest.raises(InventoryError, match='jump must be one of auto, always, never'):
        domain_hosts([], jump='sometimes')


def test_domain_vars_win_over_computed_ones():
    [entry] = domain_hosts([dom0(domains=[{
        'name': 'w', 'ip': '192.0.2.3', 'vifs': [{'bridge': 'xenbr0'}],
        'vars': {'ansible_host': 'w.example.org', 'ansible_user': 'admin', 'ansible_ssh_extra_args': ''}}])])
    assert entry['vars']['ansible_host'] == 'w.example.org'
    assert entry['vars']['ansible_user'] == 'admin'
    assert entry['vars']['ansible_ssh_extra_args'] == ''


def test_dhcp_domain_has_no_ansible_host():
    [entry] = domain_hosts([dom0(domains=[{'name': 'd', 'vifs': [{'bridge': 'br0', 'ip': 'dhcp'}]}], bridges=UPLINK)])
    assert 'ansible_host' not in entry['vars']
    assert entry['address'] is None


def test_absent_domains_are_no_hosts():
    entries = domain_hosts([dom0(domains=[{'name': 'gone', 'state': 'absent'}, {'name': 'here', 'state': 'stopped'}])])
    assert [e['name'] for e in entries] == ['here']


def test_domains_of_two_dom0s_in_their_own_groups():
    entries = by_name(domain_hosts([
        dom0('lab1', [{'name': 'a', 'ip': '192.0.2.10'}]),
        dom0('lab-2', [{'name': 'b', 'ip': '192.0.2.11'}], connection=dict(LAB_CONNECTION, ansible_port=2202)),
    ], user=''))
    assert entries['a']['groups'] == ['xen_domus', 'xen_on_lab1']
    assert entries['b']['groups'] == ['xen_domus', 'xen_on_lab_2']
    assert entries['b']['vars']['xen_dom0'] == 'lab-2'
    assert 'ansible_user' not in entries['a']['vars']


def test_fleet_domains_pinned_and_unpinned():
    entries = by_name(domain_hosts(
        [dom0('lab1'), dom0('lab2', connection=dict(LAB_CONNECTION, ansible_port=2202))],
        fleet_domains=[{'name': 'db1', 'host': 'lab2', 'ip': '192.0.2.20', 'vifs': [{'bridge': 'xenbr0'}],
                        'groups': 'db'},
                       {'name': 'db2', 'avoid': ['db1'], 'ip': '192.0.2.21', 'vifs': [{'bridge': 'xenbr0'}]}]))
    assert entries['db1']['groups'] == ['xen_domus', 'xen_on_lab2', 'db']
    assert entries['db1']['vars']['xen_dom0'] == 'lab2'
    assert '-p 2202' in ' '.join(proxy_of(entries['db1']))
    # placed at run time by the fleet role: no dom0 known here
    assert entries['db2']['dom0'] is None
    assert entries['db2']['groups'] == ['xen_domus']
    assert 'xen_dom0' not in entries['db2']['vars'] and 'ansible_ssh_extra_args' not in entries['db2']['vars']


def test_custom_group_names():
    [entry] = domain_hosts([dom0(domains=[{'name': 'a'}])], domains_group='guests', dom0_group_prefix='guests_of_')
    assert entry['groups'] == ['guests', 'guests_of_lab1']
    [entry] = domain_hosts([dom0(domains=[{'name': 'a'}])], domains_group='', dom0_group_prefix=None)
    assert entry['groups'] == []


@pytest.mark.parametrize('dom0s, fleet, message', [
    ([dom0('lab1', [{'name': 'a'}]), dom0('lab2', [{'name': 'a'}])], [],
     'domain a of lab2: a is also listed as domain a of lab1'),
    ([dom0('lab1', [{'name': 'a'}])], [{'name': 'a'}], 'fleet domain a: a is also listed as domain a of lab1'),
    ([dom0('lab1', [{'name': 'lab2'}]), dom0('lab2')], [], 'lab2 is also the name of a Xen host of the inventory'),
    ([dom0('lab1')], [{'name': 'x', 'host': 'lab9'}], 'fleet domain x: host lab9 is not a Xen host of the inventory'),
    ([dom0('lab1', [{'memory': 128}])], [], 'a domain is a mapping with a name'),
    ([dom0('lab1', ['web'])], [], "a domain is a mapping with a name, not 'web'"),
    ([dom0('lab1', [{'name': 'a', 'groups': ['web-servers']}])], [], "'web-servers' is not a group name"),
    ([dom0('lab1', [{'name': 'a', 'groups': {'web': 1}}])], [], 'groups must be a list of group names, not a mapping'),
    ([dom0('lab1', [{'name': 'a', 'vars': ['x=1']}])], [], 'vars must be a mapping of host variables, not a list'),
])
def test_bad_domains_refused_with_their_name(dom0s, fleet, message):
    with pytest.raises(InventoryError) as exc:
        domain_hosts(dom0s, fleet)
    assert message in str(exc.value)


@pytest.mark.parametrize('name', ['web server', '-web', '.web', '123', 'Domain-0', 'x' * 80, 7])
def test_names_xen_domain_refuses_are_refused_with_its_message(name):
    for dom0s, fleet, where in (([dom0('lab1', [{'name': name}])], [], 'domain %s of lab1' % name),
                                ([dom0('lab1')], [{'name': name}], 'fleet domain %s' % name)):
        with pytest.raises(InventoryError) as exc:
            domain_hosts(dom0s, fleet)
        assert str(exc.value) == '%s: %s' % (where, domain_name_error(name))
