# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.xenops.xen.plugins.module_utils._capacity import capacity, render_html
from ansible_collections.xenops.xen.plugins.module_utils._fleet import FleetError, plan as plan_fleet
from ansible_collections.xenops.xen.plugins.module_utils._placement import PlacementError, place

try:
    import netaddr
except ImportError:  # pragma: no cover - reported when the filter is used
    netaddr = None


def _require_netaddr():
    if netaddr is None:
        raise AnsibleFilterError('the xenops.xen fleet filters need the Python library netaddr on the controller (pip install netaddr)')


def _reserved_set(network, reserved):
    result = set()
    for item in reserved or []:
        item = str(item).strip()
        try:
            if '-' in item:
                first, last = item.split('-', 1)
                rng = netaddr.IPRange(first.strip(), last.strip())
                result.update(int(a) for a in rng)
            else:
                result.add(int(netaddr.IPAddress(item)))
        except (netaddr.AddrFormatError, ValueError) as exc:
            raise AnsibleFilterError('reserved entry %r is not an address or a range a-b: %s' % (item, exc))
    return result


def _host_range(network):
    first, last = network.first, network.last
    if network.size > 2:
        first, last = first + 1, last - 1
    return first, last


def domain_addresses(domains, subnet, reserved=None, method='index'):
    """Fill in ``ip``/``prefix`` for domains that have none."""
    _require_netaddr()
    if not isinstance(domains, list):
        raise AnsibleFilterError('domain_addresses expects a list of domains, got %s' % type(domains).__name__)
    if method not in ('index', 'name'):
        raise AnsibleFilterError("domain_addresses: method must be 'index' or 'name', got %r" % (method,))
    try:
        network = netaddr.IPNetwork(subnet)
    except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
        raise AnsibleFilterError('domain_addresses: %r is not a subnet in CIDR form: %s' % (subnet, exc))
    first, last = _host_range(network)
    taken = _reserved_set(network, reserved)
    for dom in domains:
        if not isinstance(dom, dict) or not dom.get('name'):
            raise AnsibleFilterError('domain_addresses: every domain needs a name, got %r' % (dom,))
        if dom.get('ip'):
            try:
                addr = netaddr.IPAddress(str(dom['ip']).split('/', maxsplit=1)[0])
            except (netaddr.AddrFormatError, ValueError) as exc:
                raise AnsibleFilterError('domain %s: ip %r is not an address: %s' % (dom['name'], dom['ip'], exc))
            taken.add(int(addr))

    size = last - first + 1
    result = []
    index_cursor = first
    for dom in domains:
        dom = dict(dom)
        if not dom.get('ip'):
            if method == 'index':
                candidate = index_cursor
                while candidate <= last and candidate in taken:
                    candidate += 1
                if candidate > last:
                    raise AnsibleFilterError('subnet %s has no free address left for domain %s' % (subnet, dom['name']))
                index_cursor = candidate + 1
            else:
                start = int(hashlib.sha256(dom['name'].encode('utf-8')).hexdigest(), 16) % size
                for step in range(size):
                    candidate = first + (start + step) % size
                    if candidate not in taken:
                        break
                else:
                    raise AnsibleFilterError('subnet %s has no free address left for domain %s' % (subnet, dom['name']))
            taken.add(candidate)
            dom['ip'] = str(netaddr.IPAddress(candidate, network.version))
        if not dom.get('prefix'):
            dom['prefix'] = network.prefixlen
        result.append(dom)
    return result


def _domain_macs(dom):
    macs = []
    for vif in dom.get('vifs') or []:
        if isinstance(vif, dict) and vif.get('mac'):
            macs.append(str(vif['mac']).lower())
    return macs


def _domain_ips(dom):
    ips = []
    if dom.get('ip'):
        ips.append(str(dom['ip']).split('/', maxsplit=1)[0])
    for vif in dom.get('vifs') or []:
        if isinstance(vif, dict) and vif.get('ip'):
            ips.extend(str(vif['ip']).split())
    return ips


def fleet_check(fleet):
    """Check a mapping host -> list of domains for duplicates across the fleet.

    Returns the mapping unchanged when names, MACs and IPs are unique;
    raises an error listing every duplicate otherwise.
    """
    if not isinstance(fleet, dict):
        raise AnsibleFilterError('fleet_check expects a mapping of host name to list of domains, got %s' % type(fleet).__name__)
    seen = {'name': {}, 'MAC': {}, 'IP': {}}
    problems = []
    for host in sorted(fleet):
        domains = fleet[host] or []
        if not isinstance(domains, list):
            raise AnsibleFilterError('fleet_check: domains of host %s must be a list, got %s' % (host, type(domains).__name__))
        for dom in domains:
            if not isinstance(dom, dict) or not dom.get('name'):
                raise AnsibleFilterError('fleet_check: host %s has a domain without a name: %r' % (host, dom))
            where = '%s/%s' % (host, dom['name'])
            for kind, values in (('name', [dom['name']]), ('MAC', _domain_macs(dom)), ('IP', _domain_ips(dom))):
                for value in values:
                    if value in seen[kind]:
                        problems.append('duplicate %s %s: %s and %s' % (kind, value, seen[kind][value], where))
                    else:
                        seen[kind][value] = where
    if problems:
        raise AnsibleFilterError('the fleet inventory has conflicts: ' + '; '.join(problems))
    return fleet


def _wants_address(dom):
    """Whether domain_addresses should give this domain (its first vif) an address."""
    if dom.get('state') == 'absent' or dom.get('ip'):
        return False
    vifs = dom.get('vifs')
    if vifs is None:
        return True
    if not vifs or not isinstance(vifs, list) or not isinstance(vifs[0], dict):
        return False
    return not vifs[0].get('ip')


def allocate_addresses(domains, subnet, reserved, method):
    """Give the domains whose first vif has no address one from ``subnet`` (``domain_addresses``); used by ``domain_plan``."""
    taken = []
    wanting = []
    for dom in domains:
        if _wants_address(dom):
            wanting.append(dom)
        elif dom.get('state') != 'absent':
            for vif in dom.get('vifs') or []:
                if isinstance(vif, dict) and vif.get('ip') and to_text(vif['ip']).lower() != 'dhcp':
                    taken.append(to_text(vif['ip']).split('/')[0])
            if dom.get('ip') and to_text(dom['ip']).lower() != 'dhcp':
                taken.append(to_text(dom['ip']).split('/')[0])
    if not wanting:
        return domains
    given = domain_addresses(wanting, subnet, reserved=list(reserved or []) + taken, method=method)
    by_name = dict((d['name'], d) for d in given)
    return [by_name.get(d['name'], d) if _wants_address(d) else d for d in domains]


def fleet_placement(domains, hosts, drain=None, reserve_mib=0):
    """Which host runs which fleet domain (see fleet_placement.yml and module_utils/_placement.py)."""
    try:
        return place([] if domains is None else domains, {} if hosts is None else hosts, drain=drain,
                     reserve_mib=reserve_mib).as_dict()
    except PlacementError as exc:
        raise AnsibleFilterError(str(exc))


def fleet_plan(hosts, fleet_domains=None, drain=None, reserve_mib=0, default_memory=256, allow_cold=False):
    """Where every domain runs and the moves to get there (see fleet_plan.yml and module_utils/_fleet.py)."""
    try:
        return plan_fleet({} if hosts is None else hosts, fleet_domains, drain=drain, reserve_mib=reserve_mib,
                          default_memory=default_memory, allow_cold=bool(allow_cold))
    except FleetError as exc:
        raise AnsibleFilterError(str(exc))


def fleet_capacity(infos):
    """Per host memory, vCPUs and domains from ``xen_info`` results by host (see fleet_capacity.yml)."""
    return capacity(infos or {})


def fleet_capacity_html(report, title='Xen fleet capacity'):
    """The ``fleet_capacity`` report as a self-contained HTML page."""
    return render_html(report, title)


class FilterModule(object):
    def filters(self):
        return {
            'domain_addresses': domain_addresses,
            'fleet_check': fleet_check,
            'fleet_capacity': fleet_capacity,
            'fleet_capacity_html': fleet_capacity_html,
            'fleet_placement': fleet_placement,
            'fleet_plan': fleet_plan,
        }
