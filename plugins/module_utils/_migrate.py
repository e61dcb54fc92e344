# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Live migration of one domain to another Xen host: what to do, and what to do after a failure.

Pure code.  :func:`plan` looks at both hosts as they are (``xl list`` of the
source and of the target, the target's ``xl info`` and bridges, where the
domain's config file and autostart link are) and returns the actions of
the move: ``xl migrate``, then the config file and the autostart link
handed over to the target and removed from the source.  A domain that
already runs on the target only gets what is left of that handover, so a
move that was cut off after the migration finishes on the next run.

:func:`recovery` reads both hosts after a failed ``xl migrate``.  xl
names the domain ``NAME--incoming`` on the target while it arrives and
``NAME--migratedaway`` on the source before the final handshake; a failed
handshake can leave either behind (xl: "domain is undefined, check at
both ends").  The rule: a domain that runs under its own name wins; an
``--incoming`` copy that never ran is destroyed; a ``--migratedaway``
source gets its name back and runs again.  Each recovery step carries the
host it runs on and its argv, so that a step that cannot be run is named
as the exact command.  :func:`leftover_recovery` applies the same rule on a
later run that finds such a leftover, and :func:`config_conflict` refuses a
different config file of the same name on the target.
"""

from __future__ import annotations

import difflib
import shlex
from collections import namedtuple

from ansible_collections.xenops.xen.plugins.module_utils import _cold
from ansible_collections.xenops.xen.plugins.module_utils._moves import COLD, MIGRATION_SUFFIXES, MoveError, plan_move
from ansible_collections.xenops.xen.plugins.module_utils._plan import Action

INCOMING, MIGRATEDAWAY = MIGRATION_SUFFIXES

MIGRATE = 'migrate'
PUT_CONFIG = 'put_config'
LINK_AUTOSTART = 'link_autostart'
REMOVE_CONFIG = 'remove_config'
UNLINK_AUTOSTART = 'unlink_autostart'
DESTROY_TARGET = 'destroy_target'
RENAME_SOURCE = 'rename_source'
UNPAUSE_SOURCE = 'unpause_source'
DESTROY_SOURCE = 'destroy_source'
UNPAUSE_TARGET = 'unpause_target'
#: The host a recovery step runs on.
SOURCE, TARGET = 'source', 'target'


class MigrateError(ValueError):
    """A move that cannot happen or did not happen; the message is for the user."""

    def __init__(self, msg, **details):
        super(MigrateError, self).__init__(msg)
        self.msg = msg
        self.details = details

    def as_result(self):
        return dict(self.details, msg=self.msg)


def ssh_argv(ssh_command, user, address):
    """The argv that opens an SSH session to ``user@address`` (``ssh_command``: ssh and its options)."""
    return list(ssh_command) + ['-l', user, address]


def xl_ssh_string(ssh_command, user):
    """``xl migrate -s`` takes a string for sh, to which xl appends the host and ``xl migrate-receive``."""
    return ' '.join(shlex.quote(part) for part in list(ssh_command) + ['-l', user])


def remote_command(argv, cwd=None):
    """One string for the remote shell (ssh joins its arguments with spaces): every word quoted."""
    text = ' '.join(shlex.quote(str(a)) for a in argv)
    return ('cd %s && %s' % (shlex.quote(cwd), text)) if cwd else text


def bridge_names(ip_link_output):
    """Names of the bridges in ``ip -o link show type bridge`` (``5: xenbr0: <...> ...`` lines)."""
    names = []
    for line in ip_link_output.splitlines():
        parts = line.split(': ', 2)
        if len(parts) >= 2 and parts[1]:
            names.append(parts[1].split('@', 1)[0])
    return names


def _served(vif):
    """The vif is served by a driver domain (not dom0)."""
    return vif.get('backend') not in (None, '', '0', 'Domain-0')


def used_memory(facts):
    """MiB a running domain takes on a host (its ``xl list -l`` facts): the larger of its configured and current memory."""
    return max(int(facts.get('memory_mib') or 0), int(facts.get('current_memory_mib') or 0))


def domain_for_move(facts, shared=False):
    """The domain as :func:`_moves.plan_move` wants it, from its ``xl list -l`` facts."""
    return {
        'name': facts['name'],
        'type': facts.get('type'),
        'pvshim': bool(facts.get('pvshim')),
        # crashed, shut down or dying: not moved (see _moves.LIVE_STATES)
        'state': facts.get('state'),
        'memory': used_memory(facts),
        # a vif served by a driver domain is on a bridge inside that domain: the target needs the domain
        'bridges': sorted(set(v['bridge'] for v in facts.get('vifs') or [] if v.get('bridge') and not _served(v))),
        'backends': sorted(set(v['backend'] for v in facts.get('vifs') or [] if _served(v))),
        'disks': [{'target': d.get('target'), 'script': d.get('script'), 'shared': shared}
                  for d in facts.get('disks') or [] if not d.get('cdrom')],
    }


def _host(label, state, info=None, bridges=(), **drbd):
    """A host as :func:`_moves.plan_move` wants it; ``drbd=`` the target's DRBD resources (checked only when given)."""
    return dict({'name': label, 'xen_version': (info or {}).get('xen_version'), 'virt_caps': (info or {}).get('virt_caps'),
                 'free_mib': (info or {}).get('free_memory_mib') or 0, 'bridges': list(bridges),
                 'domains': sorted(state['domains'])}, **drbd)


def config_conflict(files, target_label, force=False):
    """The diff of a different config file of the same name on the target (None when there is none to replace).

    :class:`MigrateError` unless ``force``: a move never overwrites another file of that name silently.
    """
    theirs, ours = files['target_config'], files['source_config']
    if theirs is None or ours is None or theirs == ours:
        return None
    cfg = files['config_path']
    diff = {'before': theirs, 'after': ours, 'before_header': '%s on %s' % (cfg, target_label),
            'after_header': '%s here' % cfg}
    if not force:
        text = ''.join(difflib.unified_diff(theirs.splitlines(True), ours.splitlines(True), diff['before_header'],
                                            diff['after_header']))
        raise MigrateError('%s has a different %s: set force: true to replace it with the one here; nothing was '
                           'changed\n%s' % (target_label, cfg, text), config_diff=diff)
    return diff


def _handover(name, files, target_label):
    """Config file and autostart link: onto the target, then off the source (what is not done yet)."""
    actions = []
    cfg = files['config_path']
    if files['source_config'] is not None and files['target_config'] != files['source_config']:
        replacing = ' (replacing a different one)' if files['target_config'] is not None else ''
        # previous: what a failed cold move puts back (None: the file is removed again)
        actions.append(Action(PUT_CONFIG, 'write %s on %s%s' % (cfg, target_label, replacing), path=cfg,
                              text=files['source_config'], previous=files['target_config']))
    if files['source_autostart'] and not files['target_autostart']:
        actions.append(Action(LINK_AUTOSTART, 'link %s to %s on %s' % (files['auto_path'], cfg, target_label),
                              path=files['auto_path'], target=cfg))
    if files['source_autostart']:
        actions.append(Action(UNLINK_AUTOSTART, 'remove the autostart link %s here' % files['auto_path'],
                              path=files['auto_path']))
    if files['source_config'] is not None:
        actions.append(Action(REMOVE_CONFIG, 'remove %s here' % cfg, path=cfg))
    return actions


def plan(name, source, target, files, shared_disks=False, missing_paths=(), cold=None, force=False):
    """The actions that make ``name`` run on the target, or :class:`MigrateError`.

    ``source``/``target``: ``{'label', 'state' (Toolstack.state()), 'info' (xl info facts), 'bridges'}``
    (the source needs only ``label`` and ``state``); the target's ``drbd`` (its DRBD resources, None for no DRBD)
    when the domain has DRBD disks.  ``files``: ``config_path``, ``auto_path``,
    ``source_config``/``target_config`` (text or None), ``source_autostart``/``target_autostart`` (bool).
    ``missing_paths``: disk paths the target does not have (checked only with ``shared_disks``).
    ``cold``: None when cold moves are not allowed, else ``{'disks', 'target_disks', 'remove_source_disks'}``
    (see :func:`_cold.plan`) for a domain with local disks.  ``force``: replace a different config file of the
    same name on the target (see :func:`config_conflict`).
    """
    here, there = source['state']['domains'], target['state']['domains']
    src_label, dst_label = source['label'], target['label']
    stuck = leftovers(name, source, target)
    if stuck:
        # the caller recovers leftovers first (leftover_recovery); one still here was not cleared by that
        steps = recovery(name, source['state'], target['state'], src_label, dst_label)[0]
        raise MigrateError('an earlier migration of %s did not finish (%s); nothing was changed. By hand: %s'
                           % (name, ', '.join(stuck), ', '.join(by_hand(steps, src_label, dst_label))), stuck=stuck)
    if name in here and name in there:
        raise MigrateError('%s runs on both %s (domid %s) and %s (domid %s): check which one is right, nothing was changed'
                           % (name, src_label, here[name]['domid'], dst_label, there[name]['domid']))
    config_conflict(files, dst_label, force=force)
    if name in there:
        return _handover(name, files, dst_label)
    if name not in here:
        raise MigrateError('%s runs neither on %s nor on %s' % (name, src_label, dst_label))
    domain = domain_for_move(here[name], shared=shared_disks)
    try:
        move = plan_move(domain, _host(src_label, source['state'], source.get('info')),
                         _host(dst_label, target['state'], target.get('info'), target.get('bridges') or (),
                               **dict((k, target[k]) for k in ('drbd',) if k in target)),
                         allow_cold=cold is not None)
    except MoveError as exc:
        raise MigrateError('%s; nothing was changed' % exc)
    if move.method == COLD:
        try:
            steps = _cold.plan(name, cold['disks'], cold['target_disks'], files['source_config'], files['config_path'],
                               src_label, dst_label, remove_source_disks=cold.get('remove_source_disks', False))
        except _cold.ColdMoveError as exc:
            raise MigrateError(str(exc))
        # a config file the same as ours already there is used as it is (and left there if the move is undone)
        handover = _handover(name, files, dst_label)
        start = [a.kind for a in steps].index(_cold.START_TARGET)
        put = [a for a in handover if a.kind == PUT_CONFIG]
        return steps[:start] + put + [steps[start]] + [a for a in handover if a.kind != PUT_CONFIG] + steps[start + 1:]
    if missing_paths:
        raise MigrateError('cannot move %s from %s to %s: %s lacks the disks %s at the same paths; nothing was changed'
                           % (name, src_label, dst_label, dst_label, ', '.join(missing_paths)))
    actions = [Action(MIGRATE, 'migrate %s live from %s to %s' % (name, src_label, dst_label), name=name)]
    return actions + _handover(name, files, dst_label)


def _xl_step(kind, description, host, *argv, **params):
    """A recovery step: ``xl ARGV`` on ``host`` (:data:`SOURCE` or :data:`TARGET`)."""
    return Action(kind, description, host=host, argv=['xl'] + list(argv), **params)


def recovery(name, source_state, target_state, source_label, target_label, was_paused=False):
    """After a failed ``xl migrate``: (actions that put ``name`` back on one host, where it runs then or None).

    ``source_state``/``target_state`` are :meth:`Toolstack.state` of both hosts read after the failure;
    ``was_paused``: the domain was paused before the migration (it stays paused on the source).
    Each action has ``host`` (:data:`SOURCE` or :data:`TARGET`) and the ``argv`` that carries it out there.
    """
    here, there = source_state['domains'], target_state['domains']
    actions = []
    alive = ('running', 'blocked')
    target_runs = name in there and there[name].get('state') in alive
    if name + INCOMING in there:
        actions.append(_xl_step(DESTROY_TARGET, 'destroy %s%s on %s (it never ran there)' % (name, INCOMING, target_label),
                                TARGET, 'destroy', name + INCOMING, name=name + INCOMING))
    if target_runs:
        # the target runs it under its own name: the migration went through, the source's copy is stale
        if name + MIGRATEDAWAY in here:
            actions.append(_xl_step(DESTROY_SOURCE, 'destroy the stale %s%s here' % (name, MIGRATEDAWAY),
                                    SOURCE, 'destroy', name + MIGRATEDAWAY, name=name + MIGRATEDAWAY))
        return actions, target_label
    if name in there:
        # on the target, but not running (paused before the handshake): the source copy is the one to keep
        if name + MIGRATEDAWAY in here or name in here:
            actions.append(_xl_step(DESTROY_TARGET, 'destroy %s on %s (it %s there)' % (
                name, target_label, there[name].get('state')), TARGET, 'destroy', name, name=name))
        else:
            # the source copy is gone: the paused copy on the target is the domain now
            actions.append(_xl_step(UNPAUSE_TARGET, 'run %s on %s' % (name, target_label), TARGET, 'unpause', name,
                                    name=name))
            return actions, target_label
    if name + MIGRATEDAWAY in here:
        actions.append(_xl_step(RENAME_SOURCE, 'rename %s%s back to %s here' % (name, MIGRATEDAWAY, name),
                                SOURCE, 'rename', name + MIGRATEDAWAY, name, old=name + MIGRATEDAWAY, new=name))
        if not was_paused:
            actions.append(_xl_step(UNPAUSE_SOURCE, 'run %s here again' % name, SOURCE, 'unpause', name, name=name))
        return actions, source_label
    if name in here:
        if here[name].get('state') == 'paused' and not was_paused:
            actions.append(_xl_step(UNPAUSE_SOURCE, 'run %s here again' % name, SOURCE, 'unpause', name, name=name))
        return actions, source_label
    return actions, None


def by_hand(steps, source_label, target_label):
    """The exact commands of recovery steps, each with its host: ``['xl destroy web--incoming on lab2', ...]``."""
    labels = {SOURCE: source_label, TARGET: target_label}
    return ['%s on %s' % (' '.join(shlex.quote(a) for a in step.argv), labels[step.host]) for step in steps]


def copies(name, state):
    """What one host has of ``name``, under its own name or a migration's: ``['web--migratedaway (paused)']``."""
    doms = state['domains']
    return ['%s (%s)' % (n, doms[n].get('state')) for n in (name, name + INCOMING, name + MIGRATEDAWAY) if n in doms]


def runs_on(name, source_state, target_state, source_label, target_label):
    """The host that runs ``name`` under its own name (running or blocked), or None (neither, or both)."""
    hosts = [label for label, state in ((source_label, source_state), (target_label, target_state))
             if (state['domains'].get(name) or {}).get('state') in ('running', 'blocked')]
    return hosts[0] if len(hosts) == 1 else None


def leftovers(name, source, target):
    """``['web--incoming on lab2', ...]``: what an earlier migration that did not finish left on either host."""
    return ['%s on %s' % (n, host['label']) for host in (source, target)
            for n in sorted(host['state']['domains']) if n in (name + INCOMING, name + MIGRATEDAWAY)]


def _neither(name, stuck, steps, found, source_label, target_label, config):
    """The leftover is the only copy: nothing is destroyed, the commands by hand are named."""
    return MigrateError('an earlier migration of %s did not finish (%s) and %s runs on neither host; nothing was '
                        'changed. By hand: %s, then start %s from %s on one host'
                        % (name, ', '.join(stuck), name, ', '.join(by_hand(steps, source_label, target_label)), name,
                           config), stuck=stuck, found=found, runs_on=None)


class Interrupted(namedtuple('Interrupted', ('name', 'source', 'target', 'runs_on', 'steps', 'stuck', 'found'))):
    """A migration of ``name`` from host ``source`` to host ``target`` (None: nothing of it there) that did not
    finish: the ``steps`` of :func:`recovery` that clear what it left (``stuck``: ``['web--incoming on lab2']``),
    the host that runs the domain after them (``runs_on``) and what each host has (``found``)."""

    __slots__ = ()

    def recovered_by(self, source, target):
        """A run of xen_migrate that moves the domain from ``source`` to ``target`` recovers it first.

        It reads only those two hosts and takes the ``--migratedaway`` copy for its own: it must run where the
        interrupted migration began, towards the host with the ``--incoming`` copy (or any other host when there is none).
        """
        return source == self.source and target != source and self.target in (None, target)

    @property
    def commands(self):
        """The steps as exact commands with their host: ``['xl destroy web--incoming on lab2', ...]``."""
        return by_hand(self.steps, self.source, self.target)

    def refused(self, why):
        """:class:`MigrateError`: ``why`` no run of xen_migrate recovers it here (``'and this task ...'``)."""
        route = 'from %s' % self.source + (' to %s' % self.target if self.target else '')
        return MigrateError('an earlier migration of %s %s did not finish (%s) %s: xen_migrate recovers it only in a '
                            'move %s; nothing was changed. By hand: %s'
                            % (self.name, route, ', '.join(self.stuck), why, route, ', '.join(self.commands)),
                            stuck=self.stuck, found=self.found)

    def after(self, domains):
        """``domains`` (host -> {name: facts}) as the steps leave them, and the MiB each destroyed copy frees there."""
        hosts = {SOURCE: self.source, TARGET: self.target}
        domains = dict((label, dict(domains[label])) for label in domains)
        freed = {}
        for step in self.steps:
            label = hosts[step.host]
            here = domains[label]
            if step.kind in (DESTROY_TARGET, DESTROY_SOURCE):
                freed[label] = freed.get(label, 0) + used_memory(here.pop(step.name))
            elif step.kind == RENAME_SOURCE:
                here[step.new] = dict(here.pop(step.old), name=step.new)
            else:
                here[step.name] = dict(here[step.name], state='running')
        return domains, freed


def interrupted(name, states, config_path):
    """What a migration of ``name`` that did not finish left on the hosts: an :class:`Interrupted`, or None.

    ``states``: host -> ``{'domains': {name: facts with 'state'}}`` (:meth:`Toolstack.state`, or what xen_info
    reports).  The host with ``NAME--migratedaway`` (else the one that has ``NAME``) is where that migration began,
    the one with ``NAME--incoming`` (else the other one with ``NAME``) where it went; :func:`recovery` decides as
    after a failed ``xl migrate`` (the domain was running, so a ``--migratedaway`` copy runs again).  The only copy of
    the domain is never destroyed, and copies on more than two hosts are not guessed at: :class:`MigrateError` then.
    """
    names = (name, name + INCOMING, name + MIGRATEDAWAY)
    holding = dict((label, [n for n in names if n in states[label]['domains']]) for label in sorted(states))
    holding = dict((label, held) for label, held in holding.items() if held)
    away = [label for label, held in sorted(holding.items()) if name + MIGRATEDAWAY in held]
    incoming = [label for label, held in sorted(holding.items()) if name + INCOMING in held]
    if not away and not incoming:
        return None
    stuck = ['%s on %s' % (n, label) for label, held in sorted(holding.items()) for n in held if n != name]
    found = dict((label, copies(name, states[label])) for label in states)
    own = [label for label, held in sorted(holding.items()) if name in held and label not in incoming]
    source = away[0] if away else (own[0] if own else None)
    target = incoming[0] if incoming else next((label for label in own if label != source), None)
    if len(away) > 1 or len(incoming) > 1 or source == target or set(holding) - set([source, target]):
        raise MigrateError('an earlier migration of %s did not finish and left copies on %s (%s): check which one is '
                           'right; nothing was changed' % (name, ', '.join(sorted(holding)), ', '.join(stuck)),
                           stuck=stuck, found=found, runs_on=None)
    empty = {'domains': {}}
    steps, where = recovery(name, states.get(source, empty), states.get(target, empty), source, target)
    if where is None:
        raise _neither(name, stuck, steps, found, source, target, config_path)
    return Interrupted(name, source, target, where, steps, stuck, found)


def leftover_recovery(name, source, target, config_path):
    """A later run that finds a leftover of an interrupted migration: the steps of :func:`recovery` ([] for none).

    Decided by :func:`interrupted` (the domain was running, so a ``--migratedaway`` copy runs again; the only copy of
    the domain is never destroyed); :class:`MigrateError` names the commands when this run cannot recover it.
    """
    src_label, dst_label = source['label'], target['label']
    found = interrupted(name, {src_label: source['state'], dst_label: target['state']}, config_path)
    if found is None:
        return []
    if not found.recovered_by(src_label, dst_label):
        raise found.refused('and this task moves %s from %s to %s' % (name, src_label, dst_label))
    return found.steps
