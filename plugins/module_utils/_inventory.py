# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The domains of an inventory as Ansible hosts (pure code of the xenops.xen.xen_domains inventory plugin).

Input: the Xen hosts (dom0s) of the loaded inventory, each with its domains
(``xen_domains``, addresses already given from ``domains_subnet``), the bridges of
its network role (``network_bridges``) and its own connection variables, and the
fleet-wide domains (``xen_fleet_domains``). Output: one entry per domain with the
groups it belongs to and the variables it gets. The plugin adds them to the
inventory; nothing here reads files or runs commands.
"""

from __future__ import annotations

import re
import shlex

from ansible_collections.xenops.xen.plugins.module_utils._checks import kind
from ansible_collections.xenops.xen.plugins.module_utils._names import domain_name_error

JUMP_MODES = ('auto', 'always', 'never')
_GROUP_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')

# The connection variables of a dom0 an SSH jump through it needs, each with its alias.
_HOST_VARS = ('ansible_host', 'ansible_ssh_host')
_PORT_VARS = ('ansible_port', 'ansible_ssh_port')
_USER_VARS = ('ansible_user', 'ansible_ssh_user')
_KEY_VARS = ('ansible_ssh_private_key_file', 'ansible_private_key_file')


class InventoryError(Exception):
    """Domains that cannot become hosts; the message names the domain and its dom0."""


def _first(mapping, names):
    for name in names:
        value = mapping.get(name)
        if value not in (None, ''):
            return value
    return None


def group_name(text):
    """A group name from a host name: what Ansible's group name rules allow (``lab-1`` becomes ``lab_1``)."""
    name = re.sub(r'[^A-Za-z0-9_]', '_', str(text))
    if not re.match(r'^[A-Za-z_]', name):
        name = '_' + name
    return name


def domain_address(dom):
    """The address the controller reaches the domain at, and the bridge it is on.

    The domain's own ``ip`` (with or without a prefix) belongs to its first vif; else
    the first vif with a static ``ip``. ``dhcp`` is no address. Returns
    ``(address or None, bridge or None)``.
    """
    vifs = [v for v in (dom.get('vifs') or []) if isinstance(v, dict)]
    first_bridge = vifs[0].get('bridge') if vifs else None
    ip = dom.get('ip')
    if ip and str(ip).strip().lower() != 'dhcp':
        return str(ip).strip().split('/', 1)[0], first_bridge
    for vif in vifs:
        ip = vif.get('ip')
        if ip and str(ip).strip().lower() != 'dhcp':
            return str(ip).strip().split('/', 1)[0], vif.get('bridge')
    return None, first_bridge


def private_bridges(network_bridges):
    """Names of the bridges of a dom0's network role that have no uplink (a network only that dom0 reaches)."""
    result = set()
    for bridge in network_bridges or []:
        if isinstance(bridge, dict) and bridge.get('name') and not bridge.get('uplink'):
            result.add(str(bridge['name']))
    return result


def proxy_command(dom0_name, connection):
    """``ssh ... -W %h:%p USER@HOST``: the dom0 as the jump host, with its own port, key and SSH options."""
    host = _first(connection, _HOST_VARS) or dom0_name
    argv = ['ssh']
    common = connection.get('ansible_ssh_common_args')
    if common:
        argv += shlex.split(str(common))
    key = _first(connection, _KEY_VARS)
    if key:
        argv += ['-i', str(key)]
    port = _first(connection, _PORT_VARS)
    if port:
        argv += ['-p', str(port)]
    user = _first(connection, _USER_VARS)
    argv += ['-W', '%h:%p', '%s@%s' % (user, host) if user else str(host)]
    return ' '.join(shlex.quote(a) for a in argv)


def _groups_of(dom, where):
    groups = dom.get('groups') or []
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, list):
        raise InventoryError('%s: groups must be a list of group names, not %s' % (where, kind(groups)))
    for group in groups:
        if not isinstance(group, str) or not _GROUP_RE.match(group):
            raise InventoryError('%s: %r is not a group name (letters, digits and _, not starting with a digit)'
                                 % (where, group))
    return list(groups)


def _vars_of(dom, where):
    hostvars = dom.get('vars') or {}
    if not isinstance(hostvars, dict):
        raise InventoryError('%s: vars must be a mapping of host variables, not %s' % (where, kind(hostvars)))
    return dict(hostvars)


def domain_hosts(dom0s, fleet_domains=(), jump='auto', domains_group='xen_domus', dom0_group_prefix='xen_on_',
                 user='root'):
    """The domains of ``dom0s`` and ``fleet_domains`` as Ansible hosts.

    ``dom0s`` is a list of dicts: ``name`` (the inventory host), ``domains``,
    ``network_bridges`` and ``connection`` (its connection variables). A fleet
    domain with ``host:`` belongs to that dom0; one without has no dom0 until the
    fleet role places it, so it gets no dom0 group and no jump. Returns a list of
    ``{'name', 'dom0', 'address', 'groups', 'vars'}`` in inventory order.
    """
    if jump not in JUMP_MODES:
        raise InventoryError('jump must be one of %s, not %r' % (', '.join(JUMP_MODES), jump))
    by_dom0 = dict((d['name'], d) for d in dom0s)
    listed = []
    for dom0 in dom0s:
        for dom in dom0.get('domains') or []:
            label = dom.get('name') if isinstance(dom, dict) else dom
            listed.append((dom0['name'], dom, 'domain %s of %s' % (label, dom0['name'])))
    for dom in fleet_domains or []:
        name = dom.get('name') if isinstance(dom, dict) else dom
        pin = dom.get('host') if isinstance(dom, dict) else None
        if pin and pin not in by_dom0:
            raise InventoryError('fleet domain %s: host %s is not a Xen host of the inventory (one with xen_domains '
                                 'or in the Xen hosts group)' % (name, pin))
        listed.append((pin, dom, 'fleet domain %s' % name))

    seen = {}
    result = []
    for dom0_name, dom, where in listed:
        if not isinstance(dom, dict) or not dom.get('name'):
            raise InventoryError('%s: a domain is a mapping with a name, not %r' % (where, dom))
        error = domain_name_error(dom['name'])
        if error:
            # the name xen_domain would refuse, with its message
            raise InventoryError('%s: %s' % (where, error))
        name = dom['name']
        if dom.get('state') == 'absent':
            continue
        if name in by_dom0:
            raise InventoryError('%s: %s is also the name of a Xen host of the inventory' % (where, name))
        if name in seen:
            raise InventoryError('%s: %s is also listed as %s' % (where, name, seen[name]))
        seen[name] = where
        groups = [domains_group] if domains_group else []
        if dom0_name and dom0_group_prefix is not None:
            groups.append(group_name(dom0_group_prefix + dom0_name))
        groups += [g for g in _groups_of(dom, where) if g not in groups]
        hostvars = _vars_of(dom, where)
        address, bridge = domain_address(dom)
        computed = {}
        if address:
            computed['ansible_host'] = address
        if user:
            computed['ansible_user'] = user
        if dom0_name:
            computed['xen_dom0'] = dom0_name
            dom0 = by_dom0[dom0_name]
            private = bridge is not None and bridge in private_bridges(dom0.get('network_bridges'))
            if jump == 'always' or (jump == 'auto' and private):
                # extra args, so that ansible_ssh_common_args of the domains (group vars) still apply
                computed['ansible_ssh_extra_args'] = '-o ' + shlex.quote(
                    'ProxyCommand=' + proxy_command(dom0_name, dom0.get('connection') or {}))
        for key, value in computed.items():
            hostvars.setdefault(key, value)
        result.append({'name': name, 'dom0': dom0_name, 'address': address, 'groups': groups, 'vars': hostvars})
    return result
