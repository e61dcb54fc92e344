# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Private LANs between chosen domains: their bridges on every Xen host and the vifs of their members.

Pure code. A private LAN (an entry of ``xen_networks``) is a bridge with no uplink and no address
of the host's, so neither dom0 nor a domain outside it reaches it; its members get one more vif on
it, with an address of the LAN's subnet. When the LAN has a VXLAN ``id`` and the host knows its own
address on the hosts' network (``local``) and the other hosts' (``peers``), the bridge also gets a
VXLAN port with a forwarding entry to each peer, so members on different hosts share one LAN and a
member that migrates stays on it (every host has the bridge).
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.xenops.xen.plugins.module_utils._checks import list_of, whole_number

LAN_KEYS = frozenset(('name', 'subnet', 'members', 'id', 'bridge', 'mtu', 'port'))
MEMBER_KEYS = frozenset(('name', 'ip'))
_NAME_RE = re.compile(r'^[a-z0-9][a-z0-9-]*$')
_BRIDGE_RE = re.compile(r'^[a-zA-Z0-9_.-]{1,15}$')
VXLAN_PORT = 4789
# a VXLAN packet carries 50 bytes of headers over IPv4: the LAN's MTU when it spans hosts on a 1500 network
VXLAN_MTU = 1450
MAX_VNI = (1 << 24) - 1


class LanError(Exception):
    pass


def _int(value, what, low, high):
    # 7.5 is refused, not taken as 7
    return whole_number(value, what, LanError, low, high)


def _not_hosts(network):
    """The addresses of a subnet that no member may have: its network address and (IPv4) its broadcast address."""
    result = {network.network_address: 'network'}
    if network.version == 4:
        result[network.broadcast_address] = 'broadcast'
    return result


def _address(value, what):
    try:
        return ipaddress.ip_address(str(value).split('/', maxsplit=1)[0])
    except ValueError:
        raise LanError('%s %r is not an IP address' % (what, value))


def parse(networks):
    """The checked LANs of ``xen_networks``: a list of dicts with name, bridge, network, id, mtu, port, members.

    ``members`` is a list of ``(domain name, ipaddress interface)``: an explicit ``ip`` or, without one, the
    n-th address of the subnet for the n-th member (the first member gets the subnet's first host address).
    """
    if networks is None:
        return []
    networks = list_of(networks, 'xen_networks (a list of private LANs)', LanError)
    result = []
    names, bridges, ids, subnets = set(), set(), set(), {}
    for index, lan in enumerate(networks):
        if not isinstance(lan, dict) or not lan.get('name'):
            raise LanError('private LAN %d has no name: %r' % (index, lan))
        name = str(lan['name'])
        where = 'private LAN %s' % name
        unknown = sorted(set(lan) - LAN_KEYS)
        if unknown:
            raise LanError('%s: unknown key(s) %s (known: %s)' % (where, ', '.join(unknown), ', '.join(sorted(LAN_KEYS))))
        if not _NAME_RE.match(name):
            raise LanError('%s: a name is lower-case letters, digits and -' % where)
        if name in names:
            raise LanError('%s is listed twice' % where)
        names.add(name)
        bridge = str(lan.get('bridge') or 'lan-' + name)
        if not _BRIDGE_RE.match(bridge):
            raise LanError('%s: bridge name %s is longer than 15 characters or has other characters than '
                           'letters, digits, _ . -; set bridge:' % (where, bridge))
        if bridge in bridges:
            raise LanError('%s: bridge %s is the bridge of another private LAN' % (where, bridge))
        bridges.add(bridge)
        if not lan.get('subnet'):
            raise LanError('%s has no subnet (for example 10.77.0.0/24)' % where)
        try:
            network = ipaddress.ip_network(str(lan['subnet']), strict=True)
        except ValueError as exc:
            raise LanError('%s: subnet %r: %s' % (where, lan['subnet'], exc))
        for other, known in sorted(subnets.items()):
            if known.version == network.version and known.overlaps(network):
                raise LanError('%s: subnet %s overlaps subnet %s of private LAN %s' % (where, network, known, other))
        subnets[name] = network
        vni = None
        if lan.get('id') is not None:
            vni = _int(lan['id'], where + ': id (its VXLAN network identifier)', 1, MAX_VNI)
            if vni in ids:
                raise LanError('%s: id %d is the id of another private LAN' % (where, vni))
            ids.add(vni)
        mtu = _int(lan['mtu'], where + ': mtu', 576, 65535) if lan.get('mtu') is not None else (
            VXLAN_MTU if vni is not None else None)
        port = _int(lan.get('port', VXLAN_PORT), where + ': port', 1, 65535)
        members_in = list_of(lan.get('members') or [], '%s: members (domain names)' % where, LanError)
        hosts = network.hosts() if network.num_addresses > 2 else iter(network)
        members, seen_domains, seen_ips = [], set(), set()
        for position, member in enumerate(members_in):
            if isinstance(member, dict):
                unknown = sorted(set(member) - MEMBER_KEYS)
                if unknown or not member.get('name'):
                    raise LanError('%s: member %d must be a domain name or {name, ip}, got %r' % (where, position, member))
                domain, ip = str(member['name']), member.get('ip')
            elif isinstance(member, str) and member:
                domain, ip = member, None
            else:
                raise LanError('%s: member %d must be a domain name, got %r' % (where, position, member))
            automatic = next(hosts, None)
            if ip is None:
                if automatic is None:
                    raise LanError('%s: subnet %s has no address left for member %s' % (where, network, domain))
                address = automatic
            else:
                address = _address(ip, '%s: ip of member %s' % (where, domain))
                if address not in network:
                    raise LanError('%s: ip %s of member %s is not in subnet %s' % (where, address, domain, network))
                if network.num_addresses > 2 and address in _not_hosts(network):
                    raise LanError('%s: ip %s of member %s is the %s address of subnet %s, not a host address'
                                   % (where, address, domain, _not_hosts(network)[address], network))
            if domain in seen_domains:
                raise LanError('%s: domain %s is a member twice' % (where, domain))
            if address in seen_ips:
                raise LanError('%s: address %s is given to two members' % (where, address))
            seen_domains.add(domain)
            seen_ips.add(address)
            members.append((domain, ipaddress.ip_interface('%s/%d' % (address, network.prefixlen))))
        result.append({'name': name, 'bridge': bridge, 'network': network, 'id': vni, 'mtu': mtu, 'port': port,
                       'members': members})
    return result


def bridges(networks, local=None, peers=None):
    """The bridge entries (network role's ``network_bridges`` form) of the private LANs on one host.

    ``local`` is this host's address on the hosts' network, ``peers`` the other hosts' addresses: with both
    and a LAN ``id``, the bridge gets ``vxlan: {id, name, local, remotes, port}``.
    """
    lans = parse(networks)
    local = str(local).strip() if local else ''
    remotes = []
    for peer in peers or []:
        if peer in (None, ''):
            continue
        address = str(_address(peer, 'the peer address'))
        if address != local and address not in remotes:
            remotes.append(address)
    if local:
        local = str(_address(local, 'the local address (network_lan_local)'))
    result = []
    for lan in lans:
        entry = {'name': lan['bridge'], 'method': 'none'}
        if lan['mtu'] is not None:
            entry['mtu'] = lan['mtu']
        if lan['id'] is not None and local and remotes:
            entry['vxlan'] = {'id': lan['id'], 'name': 'vxl%d' % lan['id'], 'local': local, 'remotes': remotes,
                              'port': lan['port']}
        result.append(entry)
    return result


def domains(domain_list, networks):
    """``domain_list`` with one more vif for each private LAN a domain is a member of (bridge, ip, mtu).

    A domain that already has a vif on the LAN's bridge keeps it as it is (so applying this twice changes
    nothing); members that are not in ``domain_list`` are left to the hosts that list them.
    """
    lans = parse(networks)
    if not lans:
        return domain_list
    result = []
    for dom in domain_list or []:
        if not isinstance(dom, dict) or not dom.get('name'):
            result.append(dom)
            continue
        extra = []
        for lan in lans:
            for domain, iface in lan['members']:
                if domain != dom['name']:
                    continue
                vif = {'bridge': lan['bridge'], 'ip': str(iface)}
                if lan['mtu'] is not None:
                    vif['mtu'] = lan['mtu']
                extra.append(vif)
        if not extra:
            result.append(dom)
            continue
        vifs = dom.get('vifs')
        if vifs is None:
            # a domain without vifs: has one on the default bridge (the domains role's default), then the LANs
            vifs = [{}]
        vifs = list_of(vifs, 'domain %s: vifs' % dom['name'], LanError)
        have = set(v.get('bridge') for v in vifs if isinstance(v, dict))
        result.append(dict(dom, vifs=list(vifs) + [v for v in extra if v['bridge'] not in have]))
    return result
