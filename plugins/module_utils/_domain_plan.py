# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The planner of ``xen_domain``: current state and desired state in, a :class:`Plan` (actions, diff) out.

:func:`plan_domain` compares one :class:`~._domain_spec.Desired` with a
:class:`Current` (the config file text, the ``auto/`` link, the facts of the
running domain) and returns a :class:`Plan`: an ordered list of
:class:`~._plan.Action` objects, whether a restart is needed and why, and the
diff.  :func:`check_unique_macs` checks the MACs of a whole batch.  Pure code:
it runs no command and touches no file.
"""

from __future__ import annotations

from ansible_collections.xenops.xen.plugins.module_utils import _xlcfg
from ansible_collections.xenops.xen.plugins.module_utils._domain_compare import compare_running, same_config
from ansible_collections.xenops.xen.plugins.module_utils._domain_spec import DomainError
from ansible_collections.xenops.xen.plugins.module_utils._plan import Action
from ansible_collections.xenops.xen.plugins.module_utils._xl_devices import config_macs

# Actions, in the words of the returned ``actions`` list.
WRITE_CONFIG = 'write_config'
CREATE = 'create'
SHUTDOWN = 'shutdown'
DESTROY = 'destroy'
PAUSE = 'pause'
UNPAUSE = 'unpause'
MEM_SET = 'mem_set'
VCPU_SET = 'vcpu_set'
RESTART = 'restart'
LINK_AUTOSTART = 'link_autostart'
UNLINK_AUTOSTART = 'unlink_autostart'
REMOVE_CONFIG = 'remove_config'
RUNTIME_ACTIONS = (CREATE, SHUTDOWN, DESTROY, PAUSE, UNPAUSE, MEM_SET, VCPU_SET, RESTART)


# ---------------------------------------------------------------------------
# Current state

class Current(object):
    """What exists of a domain: config file text, ``auto/`` link, facts.

    ``autostart`` is ``'absent'``, ``'linked'`` (a symlink to the config
    file), ``'other'`` (a symlink elsewhere) or ``'file'`` (not a symlink).
    ``facts`` are the domain's facts from ``Toolstack.state()`` or None.
    """

    def __init__(self, text=None, facts=None, autostart='absent'):
        self.text = text
        self.facts = facts
        self.autostart = autostart


def run_state(facts):
    """``stopped`` (no domain), ``running`` (running or blocked), ``paused`` or ``dead`` (crashed, shut down, dying)."""
    if facts is None:
        return 'stopped'
    state = facts.get('state')
    if state == 'paused':
        return 'paused'
    if state in ('crashed', 'shutdown', 'dying'):
        return 'dead'
    return 'running'


# ---------------------------------------------------------------------------
# Planning

class Plan(object):
    """What to do for one domain.

    ``before``/``after`` are the config file texts (None: no file),
    ``restart_required`` whether the running domain differs from its
    configuration in a way only a restart fixes (``restart_reasons`` says
    how), ``runtime`` the run state before and after (``stopped``,
    ``running``, ``paused``; ``dead`` before only).
    """

    def __init__(self, desired, current):
        self.desired = desired
        self.current = current
        self.actions = []
        self.restart_required = False
        self.restart_reasons = []
        self.before = current.text
        self.after = current.text
        self.config = None
        self.runtime = (run_state(current.facts), run_state(current.facts))
        self.live = {}

    def add(self, kind, description, **params):
        self.actions.append(Action(kind, description, **params))

    @property
    def changed(self):
        return bool(self.actions)

    def kinds(self):
        return [a.kind for a in self.actions]

    def diff(self):
        """Diff entries (before/after texts with headers) for what the plan changes."""
        entries = []
        d = self.desired
        if self.before != self.after:
            entries.append({'before_header': d.config_path, 'after_header': d.config_path,
                            'before': self.before or '', 'after': self.after or ''})
        kinds = self.kinds()
        if LINK_AUTOSTART in kinds or UNLINK_AUTOSTART in kinds:
            linked = '%s -> %s\n' % (d.auto_path, d.config_path)
            before = '' if self.current.autostart == 'absent' else (
                linked if self.current.autostart == 'linked' else '%s (%s)\n' % (d.auto_path, self.current.autostart))
            entries.append({'before_header': '%s (autostart)' % d.auto_path, 'after_header': '%s (autostart)' % d.auto_path,
                            'before': before, 'after': linked if LINK_AUTOSTART in kinds else ''})
        if any(k in RUNTIME_ACTIONS for k in kinds):
            entries.append({'before_header': 'domain %s' % d.name, 'after_header': 'domain %s' % d.name,
                            'before': self._runtime_text(self.runtime[0], self.current.facts or {}, {}),
                            'after': self._runtime_text(self.runtime[1], self.current.facts or {}, self.live)})
        return entries

    @staticmethod
    def _runtime_text(state, facts, live):
        lines = ['state: %s' % state]
        if state in ('running', 'paused'):
            memory = live.get('memory', facts.get('memory_mib'))
            vcpus = live.get('vcpus', facts.get('vcpus'))
            if memory is not None:
                lines.append('memory: %s MiB' % memory)
            if vcpus is not None:
                lines.append('vcpus: %s' % vcpus)
        return '\n'.join(lines) + '\n'


def _parse_existing(current):
    """``(config dict, None)``, ``(None, parse error)`` or ``(None, None)`` when there is no file."""
    if current.text is None:
        return None, None
    try:
        return _xlcfg.parse(current.text), None
    except _xlcfg.XlCfgError as exc:
        return None, str(exc)


def _plan_stop(plan, run):
    d = plan.desired
    if run == 'paused':
        plan.add(UNPAUSE, 'unpause %s so that it can shut down' % d.name)
    if run in ('running', 'paused'):
        plan.add(SHUTDOWN, 'shut %s down (xl shutdown -w, at most %d seconds%s)'
                 % (d.name, d.shutdown_timeout, ', then xl destroy' if d.force_destroy else ''))
    elif run == 'dead':
        plan.add(DESTROY, 'destroy %s (%s)' % (d.name, plan.current.facts.get('state')))


def _plan_start(plan, run):
    d = plan.desired
    if run == 'dead':
        plan.add(DESTROY, 'destroy %s (%s) before starting it again' % (d.name, plan.current.facts.get('state')))
    plan.add(CREATE, 'start %s (xl create %s%s)' % (
        d.name, d.config_path, ', then check it stays up for %d seconds' % d.boot_settle if d.boot_settle else ''))


def _plan_changes(plan, run):
    """Live changes or a restart for a running or paused domain (desired running or paused)."""
    d = plan.desired
    if plan.restart_required and d.restart == 'if_needed':
        if run == 'paused':
            plan.add(UNPAUSE, 'unpause %s so that it can shut down' % d.name)
        plan.add(RESTART, 'restart %s (shut down, xl create) because %s' % (d.name, '; '.join(plan.restart_reasons)))
        plan.live = {}
        return 'running'
    facts = plan.current.facts
    if 'memory' in plan.live:
        plan.add(MEM_SET, 'set the memory of %s to %d MiB (now %s MiB)' % (d.name, plan.live['memory'], facts.get('memory_mib')),
                 mib=plan.live['memory'])
    if 'vcpus' in plan.live:
        plan.add(VCPU_SET, 'set the online vCPUs of %s to %d (now %s)' % (d.name, plan.live['vcpus'], facts.get('vcpus')),
                 count=plan.live['vcpus'])
    return run


def plan_domain(desired, current):
    """The :class:`Plan` that takes ``current`` to ``desired``; runs nothing."""
    plan = Plan(desired, current)
    d = desired
    run = run_state(current.facts)
    existing, parse_error = _parse_existing(current)

    if d.state == 'absent':
        _plan_stop(plan, run)
        if current.autostart == 'file':
            raise DomainError('%s is not a symbolic link: move it away before removing domain %s' % (d.auto_path, d.name))
        if current.autostart != 'absent':
            plan.add(UNLINK_AUTOSTART, 'remove %s' % d.auto_path)
        if current.text is not None:
            plan.add(REMOVE_CONFIG, 'remove %s' % d.config_path)
            plan.after = None
        plan.runtime = (run, 'stopped')
        return plan

    if d.config is not None:
        plan.config = d.config
        if existing is None or not same_config(existing, d.config):
            plan.after = _xlcfg.render(d.config)
            plan.add(WRITE_CONFIG, '%s %s' % ('create' if current.text is None else 'update', d.config_path))
    elif current.text is not None:
        if parse_error:
            raise DomainError('cannot read the config of domain %s from %s: %s (give configuration options to '
                              'replace it)' % (d.name, d.config_path, parse_error))
        plan.config = existing
    elif d.state == 'present' or (d.state in ('running', 'paused') and run in ('stopped', 'dead')):
        raise DomainError('domain %s has no config file %s and the task gives no configuration options (such as '
                          'memory, kernel, disks)' % (d.name, d.config_path))

    if run in ('running', 'paused') and plan.config is not None:
        previous = existing if plan.config is not existing else None
        plan.restart_reasons, plan.live = compare_running(plan.config, current.facts, previous)
        plan.restart_required = bool(plan.restart_reasons)

    after = run
    if d.state == 'running':
        if run in ('stopped', 'dead'):
            _plan_start(plan, run)
            after = 'running'
        else:
            if run == 'paused' and not (plan.restart_required and d.restart == 'if_needed'):
                plan.add(UNPAUSE, 'unpause %s' % d.name)
            _plan_changes(plan, run)
            after = 'running'
    elif d.state == 'paused':
        if run in ('stopped', 'dead'):
            _plan_start(plan, run)
            plan.add(PAUSE, 'pause %s' % d.name)
        else:
            now = _plan_changes(plan, run)
            if now == 'running':
                plan.add(PAUSE, 'pause %s' % d.name)
        after = 'paused'
    elif d.state == 'stopped':
        _plan_stop(plan, run)
        after = 'stopped'
        plan.live = {}
    else:  # present: the run state is left alone
        plan.live = {}
    if after == 'stopped' or RESTART in plan.kinds():
        # restart_required: a restart is still needed after this task
        plan.restart_required = False
    plan.runtime = (run, after)

    if d.autostart is not None and current.autostart == 'file':
        raise DomainError('%s is not a symbolic link: move it away to let the module manage autostart of %s'
                          % (d.auto_path, d.name))
    if d.autostart and current.autostart != 'linked':
        plan.add(LINK_AUTOSTART, 'link %s -> %s' % (d.auto_path, d.config_path))
    elif d.autostart is False and current.autostart != 'absent':
        plan.add(UNLINK_AUTOSTART, 'remove %s' % d.auto_path)
    return plan


def apply_order(plans):
    """The order in which a task applies ``plans``: first the domains it stops or removes, then the others.

    Each group keeps the task's order, except that a driver domain comes before the domains of the task whose
    devices it serves (``backend=``), so that it runs before they start.  A domain that stops frees its MACs
    before another domain starts with them.
    """
    first = [p for p in plans if p.desired.state in ('absent', 'stopped')]
    rest = [p for p in plans if p.desired.state not in ('absent', 'stopped')]
    names = set(p.desired.name for p in rest)
    placed = set()
    ordered = []
    while rest:
        ready = [p for p in rest if all(b in placed or b not in names for b in p.desired.backends)]
        if not ready:
            raise DomainError('the backends of domains %s name each other in a circle'
                              % ', '.join(sorted(p.desired.name for p in rest)))
        plan = ready[0]
        ordered.append(plan)
        placed.add(plan.desired.name)
        rest.remove(plan)
    return first + ordered


def _running_macs(plan):
    facts = plan.current.facts
    if facts is None:
        return []
    return [(i, vif['mac'].lower()) for i, vif in enumerate(facts.get('vifs') or []) if vif.get('mac')]


def check_unique_macs(plans, domains):
    """Refuse a MAC that two domains would use at the same time, at any step of the task.

    ``plans`` are in the order they are applied (:func:`apply_order`).  The
    MACs of the domains the task keeps must differ from each other and from
    those of the running domains it does not manage; and when a domain starts
    (``xl create``, a restart), no other domain may still run with one of its
    MACs: a domain waiting for a restart keeps its old MACs, and a domain is
    stopped or restarted only at its turn.
    """
    managed = set(p.desired.name for p in plans)
    owners = {}
    for name in sorted(domains):
        if name in managed:
            continue
        for i, vif in enumerate(domains[name].get('vifs') or []):
            if vif.get('mac'):
                owners.setdefault(vif['mac'].lower(), 'domain %s vif %d (running)' % (name, i))
    seen = {}
    for plan in plans:
        if plan.desired.state == 'absent':
            continue
        for i, mac in config_macs(plan.config):
            where = 'domain %s vif %d' % (plan.desired.name, i)
            if mac in owners:
                raise DomainError('MAC address %s of %s is already used by %s' % (mac, where, owners[mac]))
            if mac in seen:
                raise DomainError('MAC address %s is used twice: by %s and by %s' % (mac, seen[mac], where))
            seen[mac] = where
    running = {}
    for plan in plans:
        for i, mac in _running_macs(plan):
            running[mac] = (plan.desired.name, i)
    later = dict((p.desired.name, p) for p in plans)
    for plan in plans:
        name = plan.desired.name
        kinds = plan.kinds()
        if CREATE in kinds or RESTART in kinds or plan.runtime[1] == 'stopped':
            for mac in [m for m, (owner, i) in running.items() if owner == name]:
                del running[mac]
        if CREATE not in kinds and RESTART not in kinds:
            continue
        for i, mac in config_macs(plan.config):
            if mac in running and running[mac][0] != name:
                holder, j = running[mac]
                if RESTART in later[holder].kinds():
                    why = '%s is restarted with its new MACs later in the task; list %s before %s in domains' % (
                        holder, holder, name)
                elif later[holder].restart_required:
                    why = ('%s keeps its running MACs until it is restarted; set restart: if_needed on %s and list it '
                           'before %s, or restart it first' % (holder, holder, name))
                else:
                    why = '%s still runs then' % holder
                raise DomainError('MAC address %s of domain %s vif %d is still used by domain %s vif %d when %s starts: '
                                  '%s (or give %s another MAC)' % (mac, name, i, holder, j, name, why, name))
            running[mac] = (name, i)
