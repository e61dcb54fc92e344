# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Placement of fleet domains on Xen hosts: which host runs which domain.

Pure code.  :func:`place` takes the domains (memory, optional pin
``host``, ``avoid`` for anti-affinity) and the hosts as they are now (the
free memory ``xl info`` reports and the domains each one runs) and returns a
:class:`Placement`, or raises :class:`PlacementError` naming, for every
domain that does not fit, what each host lacks.  Nothing is changed.

The rules, in order:

1. a domain pinned to a host goes there (and must fit);
2. a domain that runs on a host that is not drained stays there while it
   fits (stability: no move without a reason);
3. the others, largest first, go to the host with the most memory left that
   holds none of the domains they avoid (ties: host name).

A host's capacity is its free memory plus the memory of the fleet domains it
runs now (they can move away), less ``reserve_mib``.  ``avoid`` is
symmetric: when web avoids web2, web2 also avoids web.
"""

from __future__ import annotations

from ansible_collections.xenops.xen.plugins.module_utils._checks import list_of, mapping, whole_number
from ansible_collections.xenops.xen.plugins.module_utils._names import domain_name_error


class PlacementError(ValueError):
    """The fleet cannot hold its domains, or the input is wrong; the message is meant for the user."""


class Placement(object):
    """``hosts``: domain -> host; ``moves``: (domain, from host, to host) for the domains that change host."""

    def __init__(self, hosts, moves, left):
        self.hosts = hosts
        self.moves = moves
        self.left = left

    def as_dict(self):
        return {'hosts': dict(self.hosts), 'moves': [{'name': n, 'from': a, 'to': b} for n, a, b in self.moves],
                'free_mib': dict(self.left)}


def _memory(domain):
    memory = domain.get('memory')
    if isinstance(memory, bool) or not isinstance(memory, int) or memory < 1:
        raise PlacementError('domain %s: memory must be a whole number of MiB, got %r' % (domain.get('name'), memory))
    return memory


def _shapes(domains, hosts, drain, reserve_mib):
    """The input as :func:`place` reads it, or :class:`PlacementError` naming the option that has the wrong shape."""
    domains = list_of(domains, 'domains', PlacementError)
    for index, domain in enumerate(domains):
        mapping(domain, 'domains[%d]' % index, PlacementError)
        if domain.get('avoid') is not None:
            list_of(domain['avoid'], 'domain %s: avoid' % domain.get('name'), PlacementError)
    mapping(hosts, 'hosts (host name -> {free_mib, domains})', PlacementError)
    for host in sorted(hosts, key=str):
        mapping(hosts[host], 'hosts.%s' % host, PlacementError)
        whole_number(hosts[host].get('free_mib') or 0, 'hosts.%s.free_mib' % host, PlacementError)
        now = hosts[host].get('domains') or []
        if not isinstance(now, dict):
            list_of(now, 'hosts.%s.domains' % host, PlacementError)
    drain = list_of(drain or [], 'drain', PlacementError)
    return domains, drain, whole_number(reserve_mib or 0, 'reserve_mib', PlacementError, low=0)


def _check(domains, hosts, drain):
    every = set(d.get('name') for d in domains)
    names = []
    for domain in domains:
        error = domain_name_error(domain.get('name'))
        if error:
            raise PlacementError(error)
        if domain['name'] in names:
            raise PlacementError('domain %s is listed twice in the fleet' % domain['name'])
        names.append(domain['name'])
        _memory(domain)
        pin = domain.get('host')
        if pin is not None and pin not in hosts:
            raise PlacementError('domain %s is pinned to %s, which is not a host of the fleet (%s)'
                                 % (domain['name'], pin, ', '.join(sorted(hosts))))
        if pin is not None and pin in drain:
            raise PlacementError('domain %s is pinned to %s, which is being drained' % (domain['name'], pin))
        unknown = [a for a in domain.get('avoid') or [] if a not in every]
        if unknown:
            raise PlacementError('domain %s avoids %s, which are not domains of the fleet' % (domain['name'], ', '.join(unknown)))
    unknown = [h for h in drain if h not in hosts]
    if unknown:
        raise PlacementError('cannot drain %s: not a host of the fleet' % ', '.join(unknown))


def _avoids(domains):
    """domain -> set of domains it must not share a host with (both directions)."""
    avoid = dict((d['name'], set(d.get('avoid') or [])) for d in domains)
    for name, others in list(avoid.items()):
        for other in others:
            avoid[other].add(name)
    return avoid


def place(domains, hosts, drain=(), reserve_mib=0):
    """Place ``domains`` (dicts: name, memory, host, avoid) on ``hosts``.

    ``hosts`` maps a host name to ``{free_mib, domains}``; ``domains`` are
    the domains it runs now, a list of names or a dict name -> MiB they use
    (else their ``memory`` counts).
    """
    domains, drain, reserve_mib = _shapes(domains, hosts, drain, reserve_mib)
    drain = set(drain)
    _check(domains, hosts, drain)
    fleet = dict((d['name'], d) for d in domains)
    running, using = {}, {}
    for host in sorted(hosts):
        now = hosts[host].get('domains') or []
        for name in now:
            if name in fleet:
                running[name] = host
                # what the domain uses now (it may have a new memory size in the inventory)
                using[name] = (whole_number(now[name], 'hosts.%s.domains.%s' % (host, name), PlacementError)
                               if isinstance(now, dict) else _memory(fleet[name]))
    left = {}
    for host in sorted(hosts):
        if host in drain:
            continue
        held = sum(using[n] for n, h in running.items() if h == host)
        left[host] = int(hosts[host].get('free_mib') or 0) + held - reserve_mib
    avoid = _avoids(domains)
    placed = {}

    def fits(name, host):
        return left[host] >= _memory(fleet[name]) and not any(placed.get(o) == host for o in avoid[name])

    def put(name, host):
        placed[name] = host
        left[host] -= _memory(fleet[name])

    for domain in domains:
        if domain.get('host') is not None:
            if not fits(domain['name'], domain['host']):
                raise PlacementError(_shortfall(domain['name'], fleet, [domain['host']], left, placed, avoid))
            put(domain['name'], domain['host'])
    for domain in sorted(domains, key=lambda d: (-_memory(d), d['name'])):
        name = domain['name']
        if name not in placed and running.get(name) in left and fits(name, running[name]):
            put(name, running[name])
    problems = []
    for domain in sorted(domains, key=lambda d: (-_memory(d), d['name'])):
        name = domain['name']
        if name in placed:
            continue
        candidates = sorted((h for h in left if fits(name, h)), key=lambda h: (-left[h], h))
        if not candidates:
            problems.append(_shortfall(name, fleet, sorted(left), left, placed, avoid))
            continue
        put(name, candidates[0])
    if problems:
        raise PlacementError('the fleet cannot hold its domains, nothing was changed: ' + '; '.join(problems))
    moves = [(n, running[n], placed[n]) for n in sorted(placed) if n in running and running[n] != placed[n]]
    return Placement(placed, moves, left)


def _shortfall(name, fleet, candidates, left, placed, avoid):
    need = _memory(fleet[name])
    reasons = []
    for host in candidates:
        clash = sorted(o for o in avoid[name] if placed.get(o) == host)
        if clash:
            reasons.append('%s runs %s, which it avoids' % (host, ', '.join(clash)))
        else:
            reasons.append('%s has %d MiB left (%d MiB short)' % (host, left[host], need - left[host]))
    return 'domain %s (%d MiB) fits on no host: %s' % (name, need, ', '.join(reasons) or 'no host is left')
