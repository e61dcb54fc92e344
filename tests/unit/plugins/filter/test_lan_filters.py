# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Private LANs (xen_networks): their bridges, VXLAN ports and files, and their members' vifs."""

from __future__ import annotations

import os
import re

import jinja2
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.xenops.xen.plugins.filter.lan import FilterModule, private_lan_bridges, private_lan_domains
from ansible_collections.xenops.xen.plugins.filter.network import network_files
from ansible_collections.xenops.xen.plugins.filter.domains import domain_plan

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
TEMPLATES = os.path.join(ROOT, 'roles', 'network', 'templates')
NETWORKD = '/etc/systemd/network/05-xenops-'
BACKEND = [{'name': 'backend', 'subnet': '10.77.0.0/24', 'id': 77, 'members': ['web', 'db']}]


def test_filters_are_registered():
    assert sorted(FilterModule().filters()) == ['private_lan_bridges', 'private_lan_domains']


def test_a_lan_over_hosts_gets_a_vxlan_port_to_every_other_host():
    assert private_lan_bridges(BACKEND, '10.99.0.11', ['10.99.0.12', '10.99.0.11', '10.99.0.13', '']) == [
        {'name': 'lan-backend', 'method': 'none', 'mtu': 1450,
         'vxlan': {'id': 77, 'name': 'vxl77', 'local': '10.99.0.11', 'remotes': ['10.99.0.12', '10.99.0.13'],
                   'port': 4789}}]


@pytest.mark.parametrize('local,peers', [('', ['10.99.0.12']), ('10.99.0.11', []), ('10.99.0.11', ['10.99.0.11'])])
def test_without_a_local_address_or_peers_the_lan_stays_on_its_host(local, peers):
    assert private_lan_bridges(BACKEND, local, peers) == [{'name': 'lan-backend', 'method': 'none', 'mtu': 1450}]


def test_a_lan_without_id_has_no_vxlan_and_the_default_mtu():
    lans = [{'name': 'db', 'subnet': '10.78.0.0/29', 'members': ['a'], 'bridge': 'dbnet'}]
    assert private_lan_bridges(lans, '10.99.0.11', ['10.99.0.12']) == [{'name': 'dbnet', 'method': 'none'}]
    assert private_lan_bridges([], '10.99.0.11', ['10.99.0.12']) == []
    assert private_lan_bridges(None) == []


def test_members_get_a_vif_with_the_nth_address_or_their_own():
    lans = [{'name': 'backend', 'subnet': '10.77.0.0/24', 'id': 77, 'members': ['web', {'name': 'db', 'ip': '10.77.0.20'}]},
            {'name': 'mgmt', 'subnet': '10.78.0.0/24', 'members': ['db']}]
    domains = [{'name': 'web', 'vifs': [{'bridge': 'xenbr0'}]}, {'name': 'db'}, {'name': 'mail', 'vifs': []}]
    assert private_lan_domains(domains, lans) == [
        {'name': 'web', 'vifs': [{'bridge': 'xenbr0'}, {'bridge': 'lan-backend', 'ip': '10.77.0.1/24', 'mtu': 1450}]},
        # a domain without vifs keeps its default vif first
        {'name': 'db', 'vifs': [{}, {'bridge': 'lan-backend', 'ip': '10.77.0.20/24', 'mtu': 1450},
                                {'bridge': 'lan-mgmt', 'ip': '10.78.0.1/24'}]},
        {'name': 'mail', 'vifs': []}]
    # twice is once; the input is not changed
    once = private_lan_domains(domains, lans)
    assert private_lan_domains(once, lans) == once
    assert domains[0] == {'name': 'web', 'vifs': [{'bridge': 'xenbr0'}]}
    assert private_lan_domains(domains, []) is domains


def test_the_member_vif_reaches_the_domain_config_and_the_guest_network():
    dom = private_lan_domains([{'name': 'web', 'vifs': [{'bridge': 'xenbr0'}], 'os': 'none'}], BACKEND)
    plan = domain_plan(dom, {'bridge': 'xenbr0', 'os': 'none'})
    assert plan['domains'][0]['vifs'] == [{'bridge': 'xenbr0'}, {'bridge': 'lan-backend', 'mtu': 1450}]
    assert [v['ip'] for v in plan['fleet'][0]['vifs']] == ['', '10.77.0.1']


@pytest.mark.parametrize('lans,message', [
    ({'name': 'x'}, 'must be a list'),
    ([{'subnet': '10.0.0.0/24'}], 'has no name'),
    ([{'name': 'Back', 'subnet': '10.0.0.0/24'}], 'lower-case'),
    ([{'name': 'a', 'subnet': '10.0.0.0/24'}, {'name': 'a', 'subnet': '10.0.1.0/24'}], 'listed twice'),
    ([{'name': 'a-very-long-lan-name', 'subnet': '10.0.0.0/24'}], 'longer than 15'),
    ([{'name': 'a', 'subnet': '10.0.0.0/24', 'bridge': 'x'}, {'name': 'b', 'subnet': '10.0.1.0/24', 'bridge': 'x'}],
     'bridge of another'),
    ([{'name': 'a'}], 'has no subnet'),
    ([{'name': 'a', 'subnet': '10.0.0.1/24'}], 'host bits set'),
    ([{'name': 'a', 'subnet': '10.0.0.0/24', 'id': 0}], 'from 1 to 16777215'),
    ([{'name': 'a', 'subnet': '10.0.0.0/24', 'id': 'x'}], 'must be a whole number'),
    ([{'name': 'a', 'subnet': '10.0.0.0/24', 'id': 5}, {'name': 'b', 'subnet': '10.0.1.0/24', 'id': 5}],
     'id of another'),
    ([{'name': 'a', 'subnet': '10.0.0.0/24', 'members': 'web'}], 'must be a list'),
    ([{'name': 'a', 'subnet': '10.0.0.0/30', 'members': ['x', 'y', 'z']}], 'no address left for member z'),
    ([{'name': 'a', 'subnet': '10.0.0.0/24', 'members': [{'name': 'x', 'ip': '10.9.0.1'}]}], 'not in subnet'),
    ([{'name': 'a', 'subnet': '10.0.0.0/24', 'members': ['x', {'name': 'y', 'ip': '10.0.0.1'}]}], 'two members'),
    ([{'name': 'a', 'subnet': '10.0.0.0/24', 'members': ['x', 'x']}], 'member twice'),
    ([{'name': 'a', 'subnet': '10.0.0.0/24', 'members': [{'name': 'x', 'mac': '1'}]}], 'must be a domain name or'),
    ([{'name': 'a', 'subnet': '10.0.0.0/24', 'vlan': 3}], 'unknown key(s) vlan'),
    # refused, not taken as 7, nor accepted
    ([{'name': 'a', 'subnet': '10.0.0.0/24', 'id': 7.5}],
     'private LAN a: id (its VXLAN network identifier) must be a whole number from 1 to 16777215, got 7.5'),
    ([{'name': 'a', 'subnet': '10.0.0.0/24', 'mtu': '1400.5'}], "private LAN a: mtu must be a whole number from 576"),
    ([{'name': 'a', 'subnet': '10.0.0.0/24'}, {'name': 'b', 'subnet': '10.0.0.128/25'}],
     'private LAN b: subnet 10.0.0.128/25 overlaps subnet 10.0.0.0/24 of private LAN a'),
    ([{'name': 'a', 'subnet': '10.0.0.0/16'}, {'name': 'b', 'subnet': '10.1.0.0/24'}, {'name': 'c', 'subnet': '10.0.5.0/24'}],
     'private LAN c: subnet 10.0.5.0/24 overlaps subnet 10.0.0.0/16 of private LAN a'),
    ([{'name': 'a', 'subnet': '10.0.0.0/24', 'members': [{'name': 'x', 'ip': '10.0.0.0'}]}],
     'private LAN a: ip 10.0.0.0 of member x is the network address of subnet 10.0.0.0/24, not a host address'),
    ([{'name': 'a', 'subnet': '10.0.0.0/24', 'members': [{'name': 'x', 'ip': '10.0.0.255/24'}]}],
     'private LAN a: ip 10.0.0.255 of member x is the broadcast address of subnet 10.0.0.0/24, not a host address'),
    ([{'name': 'a', 'subnet': 'fd00:77::/64', 'members': [{'name': 'x', 'ip': 'fd00:77::'}]}],
     'is the network address of subnet fd00:77::/64'),
])
def test_bad_lans_are_refused_with_what_is_wrong(lans, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        private_lan_bridges(lans)
    with pytest.raises(AnsibleFilterError):
        private_lan_domains([{'name': 'x'}], lans)


def test_host_addresses_at_the_edges_of_a_subnet_and_lans_side_by_side_are_taken():
    lans = [{'name': 'a', 'subnet': '10.0.0.0/25', 'members': [{'name': 'x', 'ip': '10.0.0.1'}, {'name': 'y', 'ip': '10.0.0.126'}]},
            {'name': 'b', 'subnet': '10.0.0.128/25', 'id': '78'},
            {'name': 'c', 'subnet': '10.0.1.0/31', 'members': [{'name': 'p', 'ip': '10.0.1.0'}, {'name': 'q', 'ip': '10.0.1.1'}]}]
    assert [b['name'] for b in private_lan_bridges(lans)] == ['lan-a', 'lan-b', 'lan-c']


def _render(entry):
    # trim_blocks: as ansible.builtin.template renders
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), keep_trailing_newline=True, trim_blocks=True)
    return env.get_template(entry['template']).render(item=entry, ansible_managed='managed')


def test_vxlan_files_of_networkd():
    bridges = private_lan_bridges(BACKEND, '10.99.0.11', ['10.99.0.12', '10.99.0.13'])
    files = network_files(bridges, 'systemd-networkd', NETWORKD, {})
    assert [f['dest'][len(NETWORKD):] for f in files] == ['lan-backend.netdev', 'lan-backend.network',
                                                          'vxl77.netdev', 'vxl77.network']
    netdev = _render(files[2])
    assert 'Name=vxl77\nKind=vxlan\nMTUBytes=1450\n' in netdev
    assert 'VNI=77\nLocal=10.99.0.11\nDestinationPort=4789\nMacLearning=yes\nIndependent=yes\n' in netdev
    network = _render(files[3])
    assert '[Match]\nName=vxl77\n' in network and 'Bridge=lan-backend\n' in network
    assert network.count('[BridgeFDB]\nMACAddress=00:00:00:00:00:00\nDestination=') == 2
    assert 'Destination=10.99.0.12\n' in network and 'Destination=10.99.0.13\n' in network
    # the bridge: no address of the host, the LAN's MTU
    assert 'MTUBytes=1450' in _render(files[0])
    assert 'Address=' not in _render(files[1]) and 'DHCP' not in _render(files[1])


def test_vxlan_needs_networkd_and_no_uplink():
    bridges = private_lan_bridges(BACKEND, '10.99.0.11', ['10.99.0.12'])
    with pytest.raises(AnsibleFilterError, match='needs network_backend systemd-networkd'):
        network_files(bridges, 'ifupdown', '/etc/network/interfaces.d/xenops-', {})
    with pytest.raises(AnsibleFilterError, match='has an uplink and a VXLAN port'):
        network_files([dict(bridges[0], uplink='eth0')], 'systemd-networkd', NETWORKD, {})
    # one host, no VXLAN: ifupdown makes the private bridge
    files = network_files(private_lan_bridges(BACKEND), 'ifupdown', '/etc/network/interfaces.d/xenops-', {})
    assert [f['dest'] for f in files] == ['/etc/network/interfaces.d/xenops-lan-backend']
