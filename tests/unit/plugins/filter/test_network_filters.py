# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""network_files: the files of the network role for each backend."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.xenops.xen.plugins.filter.network import FilterModule, network_files

NETWORKD = '/etc/systemd/network/05-xenops-'
IFUPDOWN = '/etc/network/interfaces.d/xenops-'
FACTS = {'eth0': {'macaddress': '52:54:00:12:34:56'}, 'en_p1': {'macaddress': '52:54:00:00:00:01'}}
T = 'etc/systemd/network/05-xenops-'


def dests(files):
    return [(f['dest'][len(NETWORKD):] if f['dest'].startswith(NETWORKD) else f['dest'], f['template']) for f in files]


def test_filter_is_registered():
    assert sorted(FilterModule().filters()) == ['network_files']


def test_uplink_bridge_vlan_bridge_and_private_bridge_with_networkd():
    bridges = [{'name': 'xenbr0', 'uplink': 'eth0', 'method': 'dhcp'}, {'name': 'xenbr10', 'uplink': 'eth0', 'vlan': 10},
               {'name': 'xenbr9'}]
    files = network_files(bridges, 'systemd-networkd', NETWORKD, FACTS)
    assert dests(files) == [
        ('xenbr0.netdev', T + 'bridge.netdev.j2'), ('xenbr0.network', T + 'bridge.network.j2'),
        ('xenbr10.netdev', T + 'bridge.netdev.j2'), ('xenbr10.network', T + 'bridge.network.j2'),
        ('eth0.10.netdev', T + 'vlan.netdev.j2'), ('eth0.10.network', T + 'vlan.network.j2'),
        ('xenbr9.netdev', T + 'bridge.netdev.j2'), ('xenbr9.network', T + 'bridge.network.j2'),
        ('eth0.network', T + 'port.network.j2')]
    assert files[0]['dev'] == {'name': 'xenbr0', 'uplink': 'eth0', 'method': 'dhcp', 'port': 'eth0',
                               'mac': '52:54:00:12:34:56', 'vlans': []}
    # a VLAN bridge does not take the NIC's MAC; the NIC carries the untagged bridge and the VLAN
    assert (files[2]['dev']['port'], files[2]['dev']['mac'], files[2]['dev']['method']) == ('eth0.10', '', 'none')
    assert files[-1]['dev'] == {'name': 'eth0', 'bridge': 'xenbr0', 'vlans': ['eth0.10']}
    assert files[6]['dev']['port'] == '' and files[6]['dev']['mac'] == ''


def test_vlans_on_a_bridge_and_a_nic_name_with_a_dash():
    bridges = [{'name': 'xenbr0', 'uplink': 'en-p1'}, {'name': 'xenbr5', 'uplink': 'xenbr0', 'vlan': 5}]
    files = network_files(bridges, 'systemd-networkd', NETWORKD, FACTS)
    assert files[0]['dev']['mac'] == '52:54:00:00:00:01'      # facts name the NIC en_p1
    assert files[0]['dev']['vlans'] == ['xenbr0.5']
    assert files[-1]['dev'] == {'name': 'en-p1', 'bridge': 'xenbr0', 'vlans': []}
    assert [d for d, t in dests(files)].count('xenbr0.5.netdev') == 1


def test_nic_with_only_vlans_has_no_bridge():
    bridges = [{'name': 'xenbr1', 'uplink': 'eth1', 'vlan': 20}, {'name': 'xenbr2', 'uplink': 'eth1', 'vlan': 30}]
    files = network_files(bridges, 'systemd-networkd', NETWORKD, {})
    assert files[-1]['dev'] == {'name': 'eth1', 'bridge': '', 'vlans': ['eth1.20', 'eth1.30']}


def test_unknown_nic_has_no_mac():
    files = network_files([{'name': 'xenbr0', 'uplink': 'eth9'}], 'systemd-networkd', NETWORKD, FACTS)
    assert files[0]['dev']['mac'] == ''


def test_ifupdown_one_file_per_bridge():
    bridges = [{'name': 'xenbr0', 'uplink': 'eth0'}, {'name': 'xenbr10', 'uplink': 'eth0', 'vlan': 10}]
    files = network_files(bridges, 'ifupdown', IFUPDOWN, FACTS)
    assert [(f['dest'], f['template']) for f in files] == [
        (IFUPDOWN + 'xenbr0', 'etc/network/interfaces.d/xenops-bridge.j2'),
        (IFUPDOWN + 'xenbr10', 'etc/network/interfaces.d/xenops-bridge.j2')]
    assert files[1]['dev']['port'] == 'eth0.10'


def test_no_bridges_no_files():
    assert network_files([], 'systemd-networkd', NETWORKD, FACTS) == []


def test_unknown_backend():
    with pytest.raises(AnsibleFilterError, match="network backend must be one of systemd-networkd, ifupdown, got 'nm'"):
        network_files([], 'nm', NETWORKD)
