# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filter ``network_files``: the configuration files the network role writes for its bridges (see network_files.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

NETWORKD = 'systemd-networkd'
BACKENDS = (NETWORKD, 'ifupdown')
TEMPLATES = {
    'bridge.netdev': 'etc/systemd/network/05-xenops-bridge.netdev.j2',
    'bridge.network': 'etc/systemd/network/05-xenops-bridge.network.j2',
    'vlan.netdev': 'etc/systemd/network/05-xenops-vlan.netdev.j2',
    'vlan.network': 'etc/systemd/network/05-xenops-vlan.network.j2',
    'port.network': 'etc/systemd/network/05-xenops-port.network.j2',
    'vxlan.netdev': 'etc/systemd/network/05-xenops-vxlan.netdev.j2',
    'vxlan.network': 'etc/systemd/network/05-xenops-vxlan.network.j2',
    'ifupdown': 'etc/network/interfaces.d/xenops-bridge.j2',
}


def _vlans_on(bridges, device):
    """``DEVICE.VLAN`` of every VLAN bridge whose uplink is ``device``."""
    return ['%s.%s' % (device, b['vlan']) for b in bridges if 'vlan' in b and b.get('uplink') == device]


def _file(dest, kind, dev):
    return {'dest': dest, 'template': TEMPLATES[kind], 'dev': dev}


def network_files(bridges, backend, prefix, facts=None):
    """One entry ``{dest, template, dev}`` per file the network role writes; ``dev`` is what the template needs.

    ``bridges`` is ``network_bridges``; ``facts`` the host's ``ansible_facts``
    (the MAC of a bridge's uplink NIC, which the bridge takes over).
    """
    if backend not in BACKENDS:
        raise AnsibleFilterError('network backend must be one of %s, got %r' % (', '.join(BACKENDS), backend))
    facts = facts or {}
    names = [b['name'] for b in bridges]
    files = []
    for bridge in bridges:
        name, uplink = bridge['name'], bridge.get('uplink')
        vxlan = bridge.get('vxlan')
        if vxlan and backend != NETWORKD:
            raise AnsibleFilterError('bridge %s: a VXLAN port (a private LAN that spans hosts) needs network_backend '
                                     '%s; with %s give the LAN no id (one host only)' % (name, NETWORKD, backend))
        if vxlan and uplink is not None:
            raise AnsibleFilterError('bridge %s has an uplink and a VXLAN port: a private LAN has no uplink' % name)
        port = '%s.%s' % (uplink, bridge['vlan']) if 'vlan' in bridge else (uplink or '')
        if vxlan:
            port = vxlan['name']
        mac = ''
        if uplink is not None and 'vlan' not in bridge and uplink not in names:
            mac = (facts.get(uplink.replace('-', '_')) or {}).get('macaddress') or ''
        dev = dict(bridge, port=port, mac=mac, vlans=_vlans_on(bridges, name), method=bridge.get('method', 'none'))
        if backend != NETWORKD:
            files.append(_file(prefix + name, 'ifupdown', dev))
            continue
        files.append(_file(prefix + name + '.netdev', 'bridge.netdev', dev))
        files.append(_file(prefix + name + '.network', 'bridge.network', dev))
        if 'vlan' in bridge:
            files.append(_file(prefix + port + '.netdev', 'vlan.netdev', dev))
            files.append(_file(prefix + port + '.network', 'vlan.network', dev))
        if vxlan:
            files.append(_file(prefix + port + '.netdev', 'vxlan.netdev', dev))
            files.append(_file(prefix + port + '.network', 'vxlan.network', dev))
    if backend == NETWORKD:
        # physical NICs: the uplink of a bridge and/or the raw device of VLANs
        nics = []
        for bridge in bridges:
            if 'uplink' in bridge and bridge['uplink'] not in names and bridge['uplink'] not in nics:
                nics.append(bridge['uplink'])
        for nic in nics:
            untagged = [b['name'] for b in bridges if b.get('uplink') == nic and 'vlan' not in b]
            files.append(_file(prefix + nic + '.network', 'port.network',
                               {'name': nic, 'bridge': untagged[0] if untagged else '', 'vlans': _vlans_on(bridges, nic)}))
    return files


class FilterModule(object):
    def filters(self):
        return {
            'network_files': network_files,
        }
