# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How a domain moves from one Xen host to another, and whether it can: the preflight of a move.

Pure code.  :func:`plan_move` takes the domain (its memory, disks and
bridges), the source and the target host (Xen version, free memory, bridges,
the names of the domains they run) and returns a :class:`Move`: ``live``
(``xl migrate``: memory and device state move, disks do not, so the target
must open the same disks: none, replicated with DRBD, or shared storage the
inventory marks ``shared``), ``cold`` (shut down, copy the disks, start on
the target, remove on the source only after the target runs it; only when
the user allows cold moves) or a :class:`MoveError` with every reason.
"""

from __future__ import annotations

import re
from collections import namedtuple

from ansible_collections.xenops.xen.plugins.module_utils._names import domain_name_error

LIVE = 'live'
COLD = 'cold'
#: Names xl gives a domain during a migration (xl migrate: on the target while it arrives, on the source
#: before the final handshake); a domain of that name on either host is a migration that did not finish.
MIGRATION_SUFFIXES = ('--incoming', '--migratedaway')
REPLICATED_SCRIPTS = ('block-drbd',)
#: ``xl list`` states of a domain that moves (live or cold); crashed, shut down (kept by ``on_poweroff=preserve``
#: and the like) or dying it does not: ``xl migrate`` and ``xl shutdown`` need it live.
LIVE_STATES = ('running', 'blocked', 'paused')

_VERSION_RE = re.compile(r'(\d+)\.(\d+)')


class MoveError(ValueError):
    """A move that cannot happen; the message lists every reason, and nothing has changed."""


class Move(namedtuple('Move', ('name', 'source', 'target', 'method', 'notes'))):
    """``method`` (``live`` or ``cold``) of moving ``name`` from ``source`` to ``target``, and why (``notes``)."""

    __slots__ = ()

    def as_dict(self):
        return {'name': self.name, 'from': self.source, 'to': self.target, 'method': self.method, 'notes': list(self.notes),
                'summary': '%s: %s -> %s (%s)' % (self.name, self.source, self.target, self.method)}


def xen_version(text):
    """``(major, minor)`` of a version such as ``4.17.5`` or ``4.17.5-pre``; :class:`MoveError` otherwise."""
    match = _VERSION_RE.match(str(text or ''))
    if not match:
        raise MoveError('cannot read the Xen version %r' % (text,))
    return int(match.group(1)), int(match.group(2))


#: How many minor versions newer a target's Xen may be for a live migration (same major version). Xen supports
#: migrating to the same and the next release; never to an older one (the stream of a newer Xen may hold records
#: an older one cannot restore).
LIVE_MINOR_SPAN = 1


def live_version_problem(src, dst):
    """Why a live migration from Xen ``src`` to Xen ``dst`` (``(major, minor)``) is not safe, or None; the text has
    two ``%s`` for the source and target host names."""
    if src[0] != dst[0] or not 0 <= dst[1] - src[1] <= LIVE_MINOR_SPAN:
        newer = 'the next minor' if LIVE_MINOR_SPAN == 1 else 'a minor at most %d newer' % LIVE_MINOR_SPAN
        return ('live migration from Xen %d.%d on %%s to Xen %d.%d on %%s is not safe (the target must have the same '
                'major version and the same or %s)' % (src + dst + (newer,)))
    return None


def local_disks(domain):
    """Disks the target cannot open at the same path: neither replicated (DRBD) nor marked ``shared``."""
    return [d['target'] for d in domain.get('disks') or []
            if not d.get('shared') and (d.get('script') or '').split('/')[-1] not in REPLICATED_SCRIPTS and d.get('target')]


def drbd_resources(domain):
    """The DRBD resources of a domain's disks (the targets of its ``block-drbd`` disks)."""
    return [d['target'] for d in domain.get('disks') or []
            if (d.get('script') or '').split('/')[-1] in REPLICATED_SCRIPTS and d.get('target')]


def _drbd_problems(domain, source, target):
    """A DRBD disk moves live only to a host where its resource is Connected (to the source) and UpToDate.

    ``target['drbd']`` is what xen_info reports (None: no DRBD set up there); a target without the key is not
    known and not checked.
    """
    names = drbd_resources(domain)
    if not names or 'drbd' not in target:
        return []
    known = target['drbd']
    if known is None:
        return ['%s has no DRBD set up, so it cannot open %s' % (target['name'], ', '.join(names))]
    problems = []
    for name in names:
        state = known.get(name)
        if state is None:
            problems.append('%s has no DRBD resource %s' % (target['name'], name))
        elif state.get('connection') != 'Connected' or state.get('disk') != 'UpToDate':
            problems.append('DRBD resource %s on %s is %s and %s, not Connected and UpToDate'
                            % (name, target['name'], state.get('connection'), state.get('disk') or 'without a disk'))
    return problems


def plan_move(domain, source, target, allow_cold=False):
    """The :class:`Move` of ``domain`` (name, memory, disks, bridges, ``state``) from host ``source`` to host ``target``.

    A host is a dict: ``name``, ``xen_version``, ``free_mib``, ``bridges`` (names), ``domains`` (names
    it runs), ``virt_caps`` (``xl info``'s, or None when not known) and ``drbd`` (xen_info's DRBD resources;
    None: no DRBD there; no key: not known).  Raises :class:`MoveError` naming every reason the move cannot happen.
    """
    name = domain['name']
    error = domain_name_error(name)
    if error:
        raise MoveError(error)
    problems = []
    if source['name'] == target['name']:
        problems.append('%s already runs on %s' % (name, target['name']))
    if name not in (source.get('domains') or []):
        problems.append('%s does not run on %s' % (name, source['name']))
    state = domain.get('state')
    if state is not None and state not in LIVE_STATES:
        problems.append('%s is %s on %s, and only a running domain moves: destroy it there (xl destroy %s, after '
                        'xl dump-core if its crash is to be examined) or start it again, then run again'
                        % (name, state, source['name'], name))
    for host in (source, target):
        stuck = [n for n in host.get('domains') or [] if n in ['%s%s' % (name, s) for s in MIGRATION_SUFFIXES]]
        if stuck:
            problems.append('%s runs %s: an earlier migration of %s did not finish; clean it up first'
                            % (host['name'], ', '.join(stuck), name))
    if name in (target.get('domains') or []):
        problems.append('a domain named %s already runs on %s' % (name, target['name']))
    missing = sorted(set(domain.get('bridges') or []) - set(target.get('bridges') or []))
    if missing:
        problems.append('%s has no bridge %s' % (target['name'], ', '.join(missing)))
    if domain.get('pvshim') and 'pvshim' in target and not target['pvshim']:
        # xen_info's host fact: the path of the host's shim, None where its Xen has none
        problems.append('%s runs in Xen\'s PV shim, and %s has none (Xen %s; Debian ships it with its Xen packages)'
                        % (name, target['name'], target.get('xen_version') or '?'))
    missing = sorted(set(domain.get('backends') or []) - set(target.get('domains') or []))
    if missing:
        problems.append('%s runs no driver domain %s (the backend of vifs of %s)'
                        % (target['name'], ', '.join(missing), name))
    memory = domain['memory']
    if int(target.get('free_mib') or 0) < memory:
        problems.append('%s has %d MiB free, %s needs %d MiB' % (target['name'], int(target.get('free_mib') or 0), name, memory))
    problems += _drbd_problems(domain, source, target)
    notes = []
    method = LIVE
    local = local_disks(domain)
    if local:
        if not allow_cold:
            problems.append('%s cannot move live: its disks %s are local to %s (not replicated or shared), and cold '
                            'moves are not allowed' % (name, ', '.join(local), source['name']))
        method = COLD
        notes.append('cold: disks %s are copied while the domain is shut down' % ', '.join(local))
    caps = source.get('virt_caps')
    if method == LIVE and domain.get('type') == 'pv' and caps is not None and 'shadow' not in caps:
        # xl migrate tracks the pages a PV domain dirties with shadow paging ("Failed to enable logdirty: 95")
        problems.append('%s is a PV domain, and the Xen of %s cannot migrate PV domains: it has no shadow paging '
                        '(virt_caps: %s; Debian builds Xen without CONFIG_SHADOW_PAGING since XSA-495); run its PV '
                        'kernel inside Xen\'s PV shim to move it live (type pvh with pvshim: true; domains_pvshim in the '
                        'domains role), or move it cold (it is shut down, its disks copied)'
                        % (name, source['name'], ' '.join(caps)))
    if method == LIVE and domain.get('type') in ('pvh', 'hvm') and caps is not None and not {'hap', 'shadow'} & set(caps):
        # a PVH or HVM domain's dirty pages are tracked with hardware-assisted paging (or shadow paging)
        problems.append('%s is a %s domain, and the Xen of %s can track its memory neither with hardware-assisted '
                        'paging nor with shadow paging (virt_caps: %s), so it cannot migrate live; move it cold'
                        % (name, domain['type'].upper(), source['name'], ' '.join(caps)))
    if method == LIVE:
        try:
            src, dst = xen_version(source.get('xen_version')), xen_version(target.get('xen_version'))
        except MoveError as exc:
            problems.append(str(exc))
        else:
            why = live_version_problem(src, dst)
            if why and dst >= src and allow_cold:
                # a newer Xen takes the domain after a cold start there; an older one never (see live_version_problem)
                method = COLD
                notes.append('cold: %s' % why % (source['name'], target['name']))
            elif why:
                problems.append((why % (source['name'], target['name']))
                                + ('' if dst < src else '; allow cold moves to move it to the newer Xen shut down'))
    if problems:
        raise MoveError('cannot move %s from %s to %s: %s' % (name, source['name'], target['name'], '; '.join(problems)))
    return Move(name, source['name'], target['name'], method, notes)
