# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet plan: which host runs which domain of the inventory, and the moves that get it there.

Pure code, for the ``fleet_plan`` filter and the fleet role.  Input per
host: the domains its ``xen_domains`` lists (they are pinned to it), what
``xen_info`` reads there (free memory, Xen version, bridges, the domains
that run), and whether it is being drained.  Fleet-wide domains
(``xen_fleet_domains``) have no host, or a ``host`` pin; :func:`_placement.place`
puts them where the memory is.  A domain of a drained host is placed like a
fleet-wide one, on the other hosts.

Every move is checked before any changes (:func:`_moves.plan_move`: Xen
versions, bridges, memory on the target counting the moves before it, the
name, disks that the target cannot open), and one problem fails the whole
plan with every reason, so a run that cannot finish does not begin.
"""

from __future__ import annotations

from ansible_collections.xenops.xen.plugins.module_utils._checks import list_of, mapping, whole_number
from ansible_collections.xenops.xen.plugins.module_utils._migrate import domain_for_move, used_memory
from ansible_collections.xenops.xen.plugins.module_utils._moves import MoveError, plan_move
from ansible_collections.xenops.xen.plugins.module_utils._placement import PlacementError, place

#: Keys of a domain entry that only the fleet reads; the domains role gets the entry without them.
FLEET_KEYS = ('host', 'avoid', 'shared_disks')
#: Domains in these states stay where they are listed; they do not run, so they do not move.
NOT_PLACED = ('absent', 'stopped')


class FleetError(ValueError):
    """The fleet cannot be planned as the inventory says; nothing has changed.  The message is for the user."""


def _clean(entry):
    return dict((k, v) for k, v in entry.items() if k not in FLEET_KEYS)


def _memory(entry, default_memory, now=None):
    """The one memory figure of a domain, for its placement and for the preflight of its move.

    The larger of what the inventory gives it and what it uses now (``now``, from ``xl list`` of the host that
    runs it): a move needs what it uses now on the target, and the domains role gives it its inventory memory there.
    """
    memory = entry.get('memory', default_memory)
    try:
        memory = int(memory)
    except (TypeError, ValueError):
        raise FleetError('domain %s: memory must be a whole number of MiB, got %r' % (entry.get('name'), memory))
    return max(memory, now or 0)


def _list(value, what):
    return [] if value is None else list_of(value, what, FleetError)


def _entries(hosts, fleet_domains):
    """``(host or None, entry)`` of every host's domains, then of the fleet domains, each checked to be a mapping."""
    mapping(hosts, 'hosts (host name -> {domains, info})', FleetError)
    listed = []
    for host in sorted(hosts):
        mapping(hosts[host], 'hosts.%s' % host, FleetError)
        for index, entry in enumerate(_list(hosts[host].get('domains'), 'hosts.%s.domains' % host)):
            listed.append((host, mapping(entry, 'hosts.%s.domains[%d] (an entry of its xen_domains)' % (host, index),
                                         FleetError)))
    for index, entry in enumerate(_list(fleet_domains, 'fleet_domains')):
        listed.append((None, mapping(entry, 'fleet_domains[%d]' % index, FleetError)))
    return listed


def _running(hosts):
    """domain name -> the hosts that run it (``xen_info`` domains of every host)."""
    where = {}
    for host in sorted(hosts):
        for name in (hosts[host].get('info') or {}).get('domains') or {}:
            where.setdefault(name, []).append(host)
    return where


def plan(hosts, fleet_domains=(), drain=(), reserve_mib=0, default_memory=256, allow_cold=False):
    """``{'placement': {host: [entries]}, 'moves': [...], 'hosts': {...}}`` or :class:`FleetError`.

    ``hosts``: host -> ``{'domains': [entries of its xen_domains], 'info': the xen_info result}``.
    ``fleet_domains``: entries with an optional ``host`` pin.  ``drain``: hosts to empty.
    A move is ``{'name', 'from', 'to', 'method', 'memory'}``, in the order to run them.
    """
    listed = _entries(hosts, fleet_domains)
    fleet_domains = [e for h, e in listed if h is None]
    drain = _list(drain, 'drain')
    reserve_mib = whole_number(reserve_mib, 'reserve_mib', FleetError, low=0)
    default_memory = whole_number(default_memory, 'default_memory', FleetError, low=1)
    unknown = [h for h in drain if h not in hosts]
    if unknown:
        raise FleetError('cannot drain %s: not a host of this play (%s)' % (', '.join(unknown), ', '.join(sorted(hosts))))
    placement = dict((h, []) for h in hosts)
    owner = {}
    for host, entry in listed:
        name = entry.get('name')
        if name in owner:
            if owner[name] == host:
                raise FleetError('domain %s is listed twice %s' % (name, 'for %s' % host if host else 'as a fleet domain'))
            if host is None:
                raise FleetError('domain %s is listed for %s and as a fleet domain' % (name, owner[name]))
            raise FleetError('domain %s is listed for both %s and %s' % (name, owner[name], host))
        owner[name] = host
    # a domain that will not run is no one's neighbour: avoiding it is satisfied wherever it is
    idle = set(e.get('name') for h, e in listed if e.get('state', 'running') in NOT_PLACED)
    where = _running(hosts)
    entries, domains = {}, []
    for host, entry in listed:
        name = entry.get('name')
        if host is not None and name in idle:
            continue
        entries[name] = entry
        avoid = [] if name in idle else [a for a in _list(entry.get('avoid'), 'domain %s: avoid' % name) if a not in idle]
        now = [used_memory(hosts[h]['info']['domains'][name]) for h in where.get(name, [])]
        domains.append({'name': name, 'memory': _memory(entry, default_memory, max(now or [0])), 'avoid': avoid,
                        'host': (None if host in drain else host) if host is not None else entry.get('host')})
    twice = sorted('%s (on %s)' % (n, ', '.join(h)) for n, h in where.items() if n in entries and len(h) > 1)
    if twice:
        raise FleetError('domains run on more than one host: %s; nothing was changed' % '; '.join(twice))
    memory = dict((d['name'], d['memory']) for d in domains)
    free = {}
    view = {}
    for host in sorted(hosts):
        info = hosts[host].get('info') or {}
        facts = info.get('host') or {}
        running = info.get('domains') or {}
        free[host] = int(facts.get('free_memory_mib') or 0)
        view[host] = {'name': host, 'xen_version': facts.get('xen_version'), 'virt_caps': facts.get('virt_caps'),
                      'pvshim': facts.get('pvshim'),
                      'bridges': list(facts.get('bridges') or []), 'drbd': facts.get('drbd'),
                      'domains': sorted(running)}
    state = dict((h, {'free_mib': free[h], 'domains': dict(
        (n, used_memory(f)) for n, f in ((hosts[h].get('info') or {}).get('domains') or {}).items())}) for h in hosts)
    try:
        placed = place(domains, state, drain=drain, reserve_mib=reserve_mib)
    except PlacementError as exc:
        raise FleetError(str(exc))
    # each host's list keeps the order of its inventory entries, then the domains placed there from elsewhere
    for host in sorted(hosts):
        own = [e for e in hosts[host].get('domains') or []
               if e.get('state', 'running') in NOT_PLACED or placed.hosts.get(e.get('name')) == host]
        names = [e.get('name') for e in own]
        others = [entries[n] for n in [e.get('name') for h in sorted(hosts) for e in hosts[h].get('domains') or []]
                  + [e.get('name') for e in fleet_domains or ()] if placed.hosts.get(n) == host and n not in names]
        placement[host] = [_clean(e) for e in own + others]
    moves, problems = [], []
    pending = list(placed.moves)
    # a move may need the memory that another move frees on its target: retry until no move goes through
    while pending:
        problems, left = [], []
        for name, source, target in pending:
            facts = hosts[source]['info']['domains'][name]
            # the figure placement counted (at least what it uses now, which xen_migrate checks again)
            domain = dict(domain_for_move(facts, shared=bool(entries[name].get('shared_disks'))), memory=memory[name])
            try:
                move = plan_move(domain, dict(view[source], free_mib=free[source]),
                                 dict(view[target], free_mib=free[target] - reserve_mib), allow_cold=allow_cold)
            except MoveError as exc:
                problems.append(str(exc))
                left.append((name, source, target))
                continue
            free[target] -= domain['memory']
            free[source] += domain['memory']
            view[target]['domains'].append(name)
            view[source]['domains'].remove(name)
            moves.append(dict(move.as_dict(), memory=domain['memory']))
        if len(left) == len(pending):
            break
        pending = left
    if pending and problems:
        raise FleetError('%s; nothing was changed' % '; '.join(problems))
    return {'placement': placement, 'moves': moves,
            'hosts': dict((h, {'free_mib': free[h], 'domains': sorted(d['name'] for d in placement[h])}) for h in hosts)}
