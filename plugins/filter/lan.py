# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the private LANs (``xen_networks``): their bridges on a host and their members' vifs."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.xenops.xen.plugins.module_utils._lan import LanError, bridges, domains


def private_lan_bridges(networks, local=None, peers=None):
    """The bridges of the private LANs on one host, in the network role's bridge form."""
    try:
        return bridges(networks, local, peers)
    except LanError as exc:
        raise AnsibleFilterError(str(exc))


def private_lan_domains(domain_list, networks):
    """The domains with one more vif on each private LAN they are a member of."""
    try:
        return domains(domain_list, networks)
    except LanError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {
            'private_lan_bridges': private_lan_bridges,
            'private_lan_domains': private_lan_domains,
        }
