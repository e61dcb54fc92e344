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

A migration that did not finish (``NAME--incoming``, ``NAME--migratedaway``
on a host) is read with :func:`_migrate.interrupted`, the rule xen_migrate
recovers by: the plan sees the hosts as that recovery leaves them, and
hands the recovery to the run of xen_migrate that continues the
migration (the move from where it began, or a move of its own when the
domain already runs where it went).  When no such run is in the plan, or
the leftover is the only copy, the plan fails with the commands by hand.
"""

from __future__ import annotations

from ansible_collections.xenops.xen.plugins.module_utils._checks import list_of, mapping, whole_number
from ansible_collections.xenops.xen.plugins.module_utils._migrate import (MigrateError, domain_for_move, interrupted,
                                                                          used_memory)
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


def _running(running):
    """domain name -> the hosts that run it (``running``: host -> its domains)."""
    where = {}
    for host in sorted(running):
        for name in running[host]:
            where.setdefault(name, []).append(host)
    return where


def _recover(names, running, free):
    """The interrupted migrations of ``names``: name -> :class:`_migrate.Interrupted`; ``running`` (host -> its
    domains) and ``free`` (host -> MiB) updated to what their recovery leaves."""
    found = {}
    for name in sorted(names):
        try:
            rec = interrupted(name, dict((h, {'domains': running[h]}) for h in running), 'its config file')
        except MigrateError as exc:
            raise FleetError(str(exc))
        if rec is None:
            continue
        found[name] = rec
        after, freed = rec.after(dict((h, running[h]) for h in (rec.source, rec.target) if h is not None))
        running.update(after)
        for host, mib in freed.items():
            free[host] += mib
    return found


def _recovery_move(rec, placed):
    """How xen_migrate gets to recover ``rec`` when the plan places the domain on ``placed``.

    None: the domain's own move in the plan does it (it begins where the migration began and goes where it went, or
    anywhere when nothing is left there). A move of its own (``method: recover``, first in the plan) when the domain
    already runs where the migration went: xen_migrate from where it began destroys the stale copy and hands the files
    over. :class:`FleetError` with the commands by hand when no run of xen_migrate in the plan does it.
    """
    if rec.runs_on == rec.target:
        commands = rec.commands
        return {'name': rec.name, 'from': rec.source, 'to': rec.target, 'method': 'recover', 'memory': 0,
                'recover': commands, 'notes': ['recover the interrupted move of %s: %s' % (rec.name, ', '.join(commands))],
                'summary': '%s: %s -> %s (recover the interrupted move)' % (rec.name, rec.source, rec.target)}
    if rec.recovered_by(rec.source, placed):
        return None
    why = 'and the fleet %s %s on %s' % ('keeps' if placed == rec.runs_on else 'puts', rec.name, placed)
    raise FleetError(str(rec.refused(why)))


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
    listed = [(h, e) for h, e in listed if h is None or e.get('name') not in idle]
    entries = dict((e.get('name'), e) for h, e in listed)
    running = dict((h, dict((hosts[h].get('info') or {}).get('domains') or {})) for h in hosts)
    free = dict((h, int(((hosts[h].get('info') or {}).get('host') or {}).get('free_memory_mib') or 0)) for h in hosts)
    recovering = _recover(entries, running, free)
    where = _running(running)
    domains = []
    for host, entry in listed:
        name = entry.get('name')
        avoid = [] if name in idle else [a for a in _list(entry.get('avoid'), 'domain %s: avoid' % name) if a not in idle]
        now = [used_memory(running[h][name]) for h in where.get(name, [])]
        domains.append({'name': name, 'memory': _memory(entry, default_memory, max(now or [0])), 'avoid': avoid,
                        'host': (None if host in drain else host) if host is not None else entry.get('host')})
    twice = sorted('%s (on %s)' % (n, ', '.join(h)) for n, h in where.items() if n in entries and len(h) > 1)
    if twice:
        raise FleetError('domains run on more than one host: %s; nothing was changed' % '; '.join(twice))
    memory = dict((d['name'], d['memory']) for d in domains)
    view = {}
    for host in sorted(hosts):
        facts = (hosts[host].get('info') or {}).get('host') or {}
        view[host] = {'name': host, 'xen_version': facts.get('xen_version'), 'virt_caps': facts.get('virt_caps'),
                      'pvshim': facts.get('pvshim'),
                      'bridges': list(facts.get('bridges') or []), 'drbd': facts.get('drbd'),
                      'domains': sorted(running[host])}
    state = dict((h, {'free_mib': free[h], 'domains': dict((n, used_memory(f)) for n, f in running[h].items())})
                 for h in hosts)
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
    # an interrupted migration is recovered first: by a move of its own, or by the domain's move (tried first)
    moves = [m for m in (_recovery_move(rec, placed.hosts[n]) for n, rec in sorted(recovering.items())) if m]
    problems = []
    pending = sorted(placed.moves, key=lambda move: move[0] not in recovering)
    # a move may need the memory that another move frees on its target: retry until no move goes through
    while pending:
        problems, left = [], []
        for name, source, target in pending:
            facts = running[source][name]
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
            move = dict(move.as_dict(), memory=domain['memory'])
            rec = recovering.get(name)
            if rec is not None and rec.source == source:
                move.update(recover=rec.commands, summary='%s: %s -> %s (%s, after recovering the interrupted move)' % (
                    name, source, target, move['method']),
                    notes=['recover the interrupted move of %s first: %s' % (name, ', '.join(rec.commands))]
                    + move['notes'])
            moves.append(move)
        if len(left) == len(pending):
            break
        pending = left
    if pending and problems:
        raise FleetError('%s; nothing was changed' % '; '.join(problems))
    return {'placement': placement, 'moves': moves,
            'hosts': dict((h, {'free_mib': free[h], 'domains': sorted(d['name'] for d in placement[h])}) for h in hosts)}
