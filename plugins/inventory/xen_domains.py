# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
name: xen_domains
short_description: The Xen domains of the inventory as Ansible hosts
version_added: 0.1.0
author:
  - xenops.xen contributors (@xenops)
description:
  - Reads the Xen hosts (dom0s) of the inventory loaded before it and adds every domain they list in
    C(xen_domains), and every fleet-wide domain of C(xen_fleet_domains), as an Ansible host, so that one
    C(ansible-playbook) run can install Xen, make the domains and then configure the services inside them.
  - Each domain host gets C(ansible_host) (its static address, the first vif's or the domain's C(ip), or one
    derived from the dom0's C(domains_subnet) as the xenops.xen.domains role derives it), C(ansible_user)
    (O(user)), C(xen_dom0) (the name of its dom0) and the domain's own C(vars:) as host variables.
  - Where the domain's network is private to its dom0 (its bridge is one of the dom0's C(network_bridges)
    without an uplink), C(ansible_ssh_extra_args) makes the connection jump through the dom0 with the
    dom0's own address, port, user, key and SSH options (C(ssh -W)); see O(jump).
  - Groups; O(domains_group) holds every domain, O(dom0_group_prefix) plus the dom0's name the domains of one
    dom0, and a domain's C(groups:) key names further groups (for example C(web)).
  - A variable a domain's host already has (from another inventory source or its C(vars:)) is never
    overwritten.
  - A fleet-wide domain without C(host:) has no dom0 until the xenops.xen.fleet role places it, so it gets no
    dom0 group, no C(xen_dom0) and no jump.
  - C(xen_domains) and C(xen_fleet_domains) must be lists of domain mappings; anything else (a mapping, a string, a
    number) fails the inventory naming the variable and the host. A domain name that xenops.xen.xen_domain refuses
    fails here too, with its message.
  - This plugin must come after the sources that define the Xen hosts; in an inventory directory name its
    file so that it sorts last, for example C(zz.xen_domains.yml).
options:
  plugin:
    description: The name of this plugin; it must be V(xenops.xen.xen_domains).
    type: str
    required: true
    choices: [xenops.xen.xen_domains]
  xen_hosts_group:
    description:
      - The group of the Xen hosts. Every host of it, and every other host that defines O(domains_var), is a dom0.
    type: str
    default: xen_hosts
  domains_var:
    description: The host variable with a dom0's domains.
    type: str
    default: xen_domains
  fleet_var:
    description: The variable (usually of a group) with the fleet-wide domains.
    type: str
    default: xen_fleet_domains
  domains_group:
    description: The group of all domains; empty for none.
    type: str
    default: xen_domus
  dom0_group_prefix:
    description:
      - Prefix of the group of the domains of one dom0 (V(xen_on_lab1) for the domains of C(lab1)); characters
        that group names cannot have become C(_).
    type: str
    default: xen_on_
  jump:
    description:
      - When the connection to a domain jumps through its dom0.
      - V(auto) - when the bridge of the domain's address is a bridge of the dom0's C(network_bridges) without
        C(uplink). V(always) - for every domain with a dom0. V(never) - never.
    type: str
    choices: [auto, always, never]
    default: auto
  user:
    description: C(ansible_user) of the domains (the xenops.xen.domains role installs root's SSH keys).
    type: str
    default: root
  use_vars_plugins:
    description:
      - Read the variables of the hosts and groups from vars plugins too (C(host_vars/) and C(group_vars/) next
        to the inventory), where domains are usually listed.
    type: bool
    default: true
notes:
  - The variables this plugin reads (the domain lists, C(network_bridges), C(domains_subnet) and the dom0's
    connection variables) are templated with the dom0's inventory variables only; facts are not known yet.
'''

EXAMPLES = r'''
# inventory/zz.xen_domains.yml, after inventory/hosts.yml with the Xen hosts:
plugin: xenops.xen.xen_domains

# host_vars/xen1.yml of a Xen host:
#   xen_domains:
#     - name: web1
#       ip: 192.0.2.10/24
#       groups: [web]
#       vars: {http_port: 8080}
# Then ansible-inventory -i inventory/ --graph shows web1 in the groups xen_domus, xen_on_xen1 and web,
# and `ansible -i inventory/ web -m ansible.builtin.ping` reaches it (through xen1 when its bridge is private).

# Another file: jump through the dom0 for every domain, other group names:
#   plugin: xenops.xen.xen_domains
#   jump: always
#   domains_group: guests
#   dom0_group_prefix: guests_of_
'''

import os

from ansible.errors import AnsibleParserError
from ansible.inventory.helpers import get_group_vars
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin
from ansible.utils.vars import combine_vars
from ansible.vars.plugins import get_vars_from_inventory_sources

from ansible_collections.xenops.xen.plugins.filter.fleet import allocate_addresses
from ansible_collections.xenops.xen.plugins.module_utils._checks import kind
from ansible_collections.xenops.xen.plugins.module_utils._inventory import InventoryError, domain_hosts

# What the plugin reads of a dom0, templated.
_CONNECTION_VARS = ('ansible_host', 'ansible_ssh_host', 'ansible_port', 'ansible_ssh_port', 'ansible_user',
                    'ansible_ssh_user', 'ansible_ssh_private_key_file', 'ansible_private_key_file',
                    'ansible_ssh_common_args')


class InventoryModule(BaseInventoryPlugin):

    NAME = 'xenops.xen.xen_domains'

    def verify_file(self, path):
        if not super(InventoryModule, self).verify_file(path):
            return False
        return os.path.basename(path).endswith(('.xen_domains.yml', '.xen_domains.yaml'))

    def _host_vars(self, host, sources):
        groups = host.get_groups()
        result = get_group_vars(groups)
        if self.get_option('use_vars_plugins'):
            result = combine_vars(result, get_vars_from_inventory_sources(self.loader, sources, groups, 'all'))
        result = combine_vars(result, host.get_vars())
        if self.get_option('use_vars_plugins'):
            result = combine_vars(result, get_vars_from_inventory_sources(self.loader, sources, [host], 'all'))
        return result

    def _value(self, hostvars, name, default, host):
        if name not in hostvars:
            return default
        self.templar.available_variables = hostvars
        try:
            return self.templar.template(hostvars[name])
        except Exception as exc:
            raise AnsibleParserError('xen_domains: %s of host %s cannot be templated at inventory time: %s'
                                     % (name, host, to_native(exc)))

    def _domains(self, hostvars, name, var):
        """The list of domains ``var`` of host ``name`` (``xen_domains`` or ``xen_fleet_domains``), checked alike."""
        domains = self._value(hostvars, var, [], name)
        if domains is None:
            return []
        if not isinstance(domains, list):
            raise AnsibleParserError('xen_domains: %s of host %s must be a list of domains, not %s'
                                     % (var, name, kind(domains)))
        return domains

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        sources = getattr(inventory, 'processed_sources', [])
        hosts_group = self.get_option('xen_hosts_group')
        domains_var = self.get_option('domains_var')
        fleet_var = self.get_option('fleet_var')

        dom0s = []
        fleet = []
        fleet_seen = {}
        for name in list(inventory.hosts):
            host = inventory.hosts[name]
            hostvars = self._host_vars(host, sources)
            in_group = any(g.name == hosts_group for g in host.get_groups())
            if not in_group and domains_var not in hostvars:
                continue
            domains = self._domains(hostvars, name, domains_var)
            subnet = self._value(hostvars, 'domains_subnet', '', name)
            if subnet:
                reserved = self._value(hostvars, 'domains_subnet_reserved', [], name)
                method = self._value(hostvars, 'domains_subnet_method', 'name', name)
                try:
                    domains = allocate_addresses([d for d in domains if isinstance(d, dict)], subnet, reserved, method)
                except Exception as exc:
                    raise AnsibleParserError('xen_domains: addresses of the domains of %s from domains_subnet %s: %s'
                                             % (name, subnet, to_native(exc)))
            connection = dict((v, self._value(hostvars, v, None, name)) for v in _CONNECTION_VARS if v in hostvars)
            dom0s.append({'name': name, 'domains': domains, 'connection': connection,
                          'network_bridges': self._value(hostvars, 'network_bridges', [], name) or []})
            for dom in self._domains(hostvars, name, fleet_var):
                key = dom.get('name') if isinstance(dom, dict) else repr(dom)
                if key in fleet_seen:
                    if fleet_seen[key] != dom:
                        raise AnsibleParserError('xen_domains: fleet domain %s is listed twice, differently' % key)
                    continue
                fleet_seen[key] = dom
                fleet.append(dom)

        try:
            entries = domain_hosts(dom0s, fleet, jump=self.get_option('jump'),
                                   domains_group=self.get_option('domains_group'),
                                   dom0_group_prefix=self.get_option('dom0_group_prefix'),
                                   user=self.get_option('user'))
        except InventoryError as exc:
            raise AnsibleParserError('xen_domains: %s' % exc)

        for entry in entries:
            name = entry['name']
            self.inventory.add_host(name)
            host = self.inventory.get_host(name)
            for group in entry['groups']:
                self.inventory.add_group(group)
                # not add_child(group, name): where a group has the domain's name (a domain web in group web),
                # add_child takes the name for the group and fails with "can't add group to itself"
                self.inventory.groups[group].add_host(host)
            self.inventory._groups_dict_cache = {}
            known = self.inventory.get_host(name).get_vars()
            for key, value in entry['vars'].items():
                if key not in known:
                    self.inventory.set_variable(name, key, value)
