# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Applying ``xen_domain`` plans: read the host, plan every domain of a task, then change it.

* :func:`read_current` reads what exists of a domain (config file, ``auto/``
  link) beside its facts from ``Toolstack.state()``;
* :class:`Executor` applies a plan through a :class:`~._xl.Toolstack` and
  plain file operations (the config file is validated with ``xl -N create``
  and moved into place with ``atomic_move``), with the handler table of
  :mod:`._plan`;
* :class:`DomainManager` drives a whole task: one ``Toolstack.state()`` for
  the batch, every plan and every cross-domain check (names, MACs) before the
  first change, then the plans in order, and one more ``state()`` at the end
  when a domain was started, stopped or changed at run time.

Check mode runs only the two reading commands (``xl list -l``, ``xl list``):
it writes no temporary file, so the new config is not validated with
``xl -N create`` either.
"""

from __future__ import annotations

import os
import time

from ansible_collections.xenops.xen.plugins.module_utils import _plan
from ansible_collections.xenops.xen.plugins.module_utils._domain_plan import (
    CREATE, DESTROY, LINK_AUTOSTART, MEM_SET, PAUSE, REMOVE_CONFIG, RESTART, RUNTIME_ACTIONS, SHUTDOWN, UNLINK_AUTOSTART,
    UNPAUSE, VCPU_SET, WRITE_CONFIG, Current, apply_order, check_unique_macs, plan_domain)
from ansible_collections.xenops.xen.plugins.module_utils._domain_spec import (
    BACKEND_READY_KEY, BACKEND_READY_VALUE, DOM0_NAMES, DomainError, desired_domains, pvshim_paths)
from ansible_collections.xenops.xen.plugins.module_utils._files import write_new
from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandError
from ansible_collections.xenops.xen.plugins.module_utils._xl import ShutdownTimeout
from ansible_collections.xenops.xen.plugins.module_utils._xl_devices import parse_vif_spec

LOG_DIR = '/var/log/xen'
POLL_INTERVAL = 1.0
# libxl kills a hotplug script after 40 s (LIBXL_HOTPLUG_TIMEOUT) and leaves its vif unconnected; a vif
# served by a driver domain that is not connected this long after xl create is attached again, at most
# HOTPLUG_ATTEMPTS times
HOTPLUG_WAIT = 60
HOTPLUG_ATTEMPTS = 3
# a slow driver domain can let `xl network-detach` time out before it removed the backend; libxl's record of
# the vif stays and the attach would fail ("device already exists"): the detach is tried again, this often,
# DETACH_PAUSE seconds apart (a later one finds the backend gone and cleans up the frontend only)
DETACH_ATTEMPTS = 3
DETACH_PAUSE = 5
# After `xl shutdown -w` returns, the domain's xl daemon still has to destroy it
# (on_poweroff); how long to wait for its name to be free again.
GONE_TIMEOUT = 30
LOG_TAIL_LINES = 20


def autostart_state(auto_path, config_path):
    if os.path.islink(auto_path):
        target = os.readlink(auto_path)
        if not os.path.isabs(target):
            target = os.path.join(os.path.dirname(auto_path), target)
        same = os.path.normpath(target) == os.path.normpath(config_path)
        return 'linked' if same or os.path.realpath(auto_path) == os.path.realpath(config_path) else 'other'
    if os.path.lexists(auto_path):
        return 'file'
    return 'absent'


def read_current(desired, domains):
    """The :class:`Current` of ``desired`` from files and ``domains`` (name -> facts)."""
    text = None
    if os.path.isfile(desired.config_path):
        try:
            with open(desired.config_path, 'rb') as f:
                text = f.read().decode('utf-8', 'replace')
        except (IOError, OSError) as exc:
            raise DomainError('cannot read %s: %s' % (desired.config_path, exc))
    elif os.path.lexists(desired.config_path):
        raise DomainError('%s exists and is not a regular file' % desired.config_path)
    return Current(text, domains.get(desired.name), autostart_state(desired.auto_path, desired.config_path))


class Clock(object):
    """Time for polling; replaced in unit tests so they do not sleep."""

    def now(self):
        return time.monotonic()

    def sleep(self, seconds):
        time.sleep(seconds)


def tail(path, lines=LOG_TAIL_LINES, max_bytes=65536):
    """The last ``lines`` lines of file ``path`` (a string), or None when it cannot be read."""
    try:
        with open(path, 'rb') as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except (IOError, OSError):
        return None
    text = data.decode('utf-8', 'replace')
    return '\n'.join(text.splitlines()[-lines:])


class Executor(object):
    """Applies plans through a :class:`~._xl.Toolstack` and file operations.

    ``atomic_move(src, dest)`` is ``AnsibleModule.atomic_move``; ``clock``
    a :class:`Clock`; ``log_dir`` where xl writes ``xl-NAME.log`` and
    ``console/guest-NAME.log``.
    """

    def __init__(self, toolstack, atomic_move, clock=None, log_dir=None, poll_interval=None):
        self.toolstack = toolstack
        self.atomic_move = atomic_move
        self.clock = clock or Clock()
        self.log_dir = log_dir or LOG_DIR
        self.poll_interval = poll_interval or POLL_INTERVAL
        self.handlers = {
            WRITE_CONFIG: self._write_config, REMOVE_CONFIG: self._remove_config,
            LINK_AUTOSTART: self._link_autostart, UNLINK_AUTOSTART: self._unlink_autostart,
            SHUTDOWN: self._shutdown, DESTROY: self._destroy, CREATE: self._create, RESTART: self._restart,
            PAUSE: self._pause, UNPAUSE: self._unpause, MEM_SET: self._mem_set, VCPU_SET: self._vcpu_set,
        }

    def apply(self, plan):
        """Run the actions of ``plan`` in order; returns the list of those done.

        A failure raises :class:`~._domain_spec.DomainError` with the keys
        ``actions_done`` and ``failed_action`` (and the command's output when a
        command failed).
        """
        d = plan.desired
        try:
            return _plan.apply(plan.actions, self.handlers, (d, plan), errors=(CommandError, DomainError, IOError, OSError))
        except _plan.ActionFailed as failed:
            exc, action = failed.error, failed.action
            progress = dict(actions_done=[a.as_dict() for a in failed.done], failed_action=action.as_dict())
            if isinstance(exc, DomainError):
                for key, value in progress.items():
                    exc.details.setdefault(key, value)
                raise exc
            if isinstance(exc, CommandError):
                raise DomainError('domain %s: %s failed: %s' % (d.name, action.kind, exc.msg), **dict(exc.output(), **progress))
            raise DomainError('domain %s: %s failed: %s' % (d.name, action.kind, exc), **progress)

    # -- files

    def _write_config(self, d, plan, action):
        tmp = d.tmp_path
        write_new(tmp, plan.after, 0o644)
        try:
            self.toolstack.validate(tmp)
        except CommandError as exc:
            os.remove(tmp)
            raise DomainError('xl rejected the new config of domain %s (%s left unchanged): %s'
                              % (d.name, d.config_path, (exc.stderr or exc.stdout or exc.msg).strip()),
                              **exc.output())
        self.atomic_move(tmp, d.config_path)

    def _remove_config(self, d, plan, action):
        os.remove(d.config_path)

    def _link_autostart(self, d, plan, action):
        auto_dir = os.path.dirname(d.auto_path)
        if not os.path.isdir(auto_dir):
            os.makedirs(auto_dir, 0o755)
        if os.path.islink(d.auto_path):
            os.remove(d.auto_path)
        os.symlink(d.config_path, d.auto_path)

    def _unlink_autostart(self, d, plan, action):
        os.remove(d.auto_path)

    # -- domains

    def _shutdown_domain(self, d, plan):
        """Shut ``d`` down; returns its ``xl list`` row when it is still there (shut down, not yet destroyed).

        An hvm domain may have no PV drivers: it gets an ACPI power button event then (``xl shutdown -F``).
        """
        hvm = (plan.current.facts or {}).get('type') == 'hvm'
        try:
            self.toolstack.shutdown(d.name, d.shutdown_timeout, acpi=hvm)
        except ShutdownTimeout as exc:
            if not d.force_destroy:
                raise DomainError('domain %s did not shut down within %d seconds (shutdown_timeout); it may still be '
                                  'shutting down. Set force_destroy=true to destroy it after the timeout'
                                  % (d.name, d.shutdown_timeout), **exc.output())
            self.toolstack.destroy(d.name)
            return None
        return self._wait_gone(d)

    def _wait_gone(self, d):
        """`xl shutdown -w` returns once the guest has shut down; its xl daemon destroys it a moment later.

        Polls ``xl list`` until the name is gone (at most GONE_TIMEOUT seconds); returns the
        row of a domain that is still there (e.g. kept by on_poweroff=preserve), else None.
        """
        start = self.clock.now()
        while True:
            row = self.toolstack.list_plain().get(d.name)
            if row is None or self.clock.now() - start >= GONE_TIMEOUT:
                return row
            self.clock.sleep(self.poll_interval)

    def _shutdown(self, d, plan, action):
        self._shutdown_domain(d, plan)

    def _destroy(self, d, plan, action):
        self.toolstack.destroy(d.name)

    def _create(self, d, plan, action):
        self._wait_backends(d)
        try:
            self.toolstack.create(d.config_path)
        except CommandError as exc:
            hint = device_model_hint(exc.stderr)
            if hint:
                exc.msg = '%s\n%s' % (exc.msg, hint)
            raise
        self._verify_boot(d)
        self._wait_backend_vifs(d)

    def _restart(self, d, plan, action):
        if self._shutdown_domain(d, plan) is not None:
            # shut down but kept (on_poweroff=preserve, or a slow teardown): its name must be free for xl create
            self.toolstack.destroy(d.name)
        self._create(d, plan, action)

    def _pause(self, d, plan, action):
        self.toolstack.pause(d.name)

    def _unpause(self, d, plan, action):
        self.toolstack.unpause(d.name)

    def _mem_set(self, d, plan, action):
        self.toolstack.mem_set(d.name, action.params['mib'])

    def _vcpu_set(self, d, plan, action):
        self.toolstack.vcpu_set(d.name, action.params['count'])

    def _wait_backends(self, d):
        """Wait until every driver domain that serves ``d`` runs and says it serves its backends.

        A driver domain says so with ``BACKEND_READY_KEY`` below its xenstore home; with
        ``backend_timeout`` 0 it only has to run.  Fails at once, with the end of its console log,
        when it does not run (or crashed), and when it does not get ready within ``backend_timeout``
        seconds.
        """
        for backend in d.backends:
            start = self.clock.now()
            while True:
                row = self.toolstack.list_plain().get(backend)
                alive = row is not None and row['state'] not in ('crashed', 'shutdown', 'dying')
                if alive and not d.backend_timeout:
                    break
                if alive and self.toolstack.xenstore_read(
                        '/local/domain/%d/%s' % (row['domid'], BACKEND_READY_KEY)) == BACKEND_READY_VALUE:
                    break
                if not alive:
                    self._backend_failed(d, backend, 'it is not running' if row is None else 'it is %s' % row['state'])
                if self.clock.now() - start >= d.backend_timeout:
                    self._backend_failed(d, backend, 'it runs, but did not say it serves its backends (%s in its '
                                                     'xenstore home) within %d seconds (backend_timeout)'
                                         % (BACKEND_READY_KEY, d.backend_timeout))
                self.clock.sleep(self.poll_interval)

    def _wait_backend_vifs(self, d):
        """After ``xl create``: wait until the hotplug script in its driver domain connected each vif it serves.

        It reads ``hotplug-status`` of the vif's backend in the driver domain's xenstore home. libxl
        kills a hotplug script after 40 s, which a busy host can exceed, and leaves the vif
        unconnected: such a vif (not connected after HOTPLUG_WAIT seconds) is detached and attached
        again with its spec, at most HOTPLUG_ATTEMPTS times, then the task fails.  Nothing to do
        with ``backend_timeout`` 0, or when the domain or its driver domain is gone (the boot check
        and the next run tell).
        """
        if not d.backend_timeout or not d.config:
            return
        vifs = []
        for devid, spec in enumerate(d.config.get('vif') or []):
            backend = parse_vif_spec(spec).get('backend')
            if backend is not None and backend not in DOM0_NAMES:
                vifs.append((devid, spec, backend))
        attempts = 0
        errors = []
        while vifs:
            start = self.clock.now()
            while True:
                rows = self.toolstack.list_plain()
                pending = []
                for devid, spec, backend in vifs:
                    row, backend_row = rows.get(d.name), rows.get(backend)
                    if row is None or backend_row is None:
                        return
                    status = self.toolstack.xenstore_read('/local/domain/%d/backend/vif/%d/%d/hotplug-status'
                                                          % (backend_row['domid'], row['domid'], devid))
                    if status != 'connected':
                        pending.append((devid, spec, backend))
                if not pending:
                    return
                if self.clock.now() - start >= HOTPLUG_WAIT:
                    break
                self.clock.sleep(self.poll_interval)
            if attempts >= HOTPLUG_ATTEMPTS:
                raise DomainError('domain %s runs, but the hotplug scripts in its driver domain did not connect its '
                                  'vif(s) %s after %d new attachments; see the driver domain\'s journal%s'
                                  % (d.name, ', '.join('%d (%s)' % (v[0], v[2]) for v in pending), attempts,
                                     ''.join('\n%s' % e for e in errors)))
            attempts += 1
            errors = []
            for devid, spec, _backend in pending:
                try:
                    self._detach_vif(d.name, devid)
                    self.toolstack.network_attach(d.name, ['devid=%d' % devid] + spec.split(','))
                except CommandError as exc:
                    # counted as an attempt: the next wait sees the vif still unconnected
                    errors.append(exc.msg)
            vifs = pending

    def _detach_vif(self, name, devid):
        """``xl network-detach``, tried again DETACH_ATTEMPTS times, DETACH_PAUSE seconds apart."""
        for attempt in range(1, DETACH_ATTEMPTS + 1):
            try:
                return self.toolstack.network_detach(name, devid)
            except CommandError:
                if attempt == DETACH_ATTEMPTS:
                    raise
                self.clock.sleep(DETACH_PAUSE)

    def _backend_failed(self, d, backend, what):
        parts = ['domain %s was not started: its driver domain %s is not ready: %s' % (d.name, backend, what)]
        logs = {}
        path = os.path.join(self.log_dir, 'console', 'guest-%s.log' % backend)
        text = tail(path)
        if text is not None:
            logs['console_log'] = text
            parts.append('last lines of %s:\n%s' % (path, text))
        raise DomainError('\n\n'.join(parts), **logs)

    def _verify_boot(self, d):
        """Poll ``xl list`` until ``boot_settle`` seconds have passed; fail when the domain is gone or crashed."""
        if not d.boot_settle:
            return
        start = self.clock.now()
        while True:
            remaining = d.boot_settle - (self.clock.now() - start)
            if remaining <= 0:
                return
            self.clock.sleep(min(self.poll_interval, remaining))
            row = self.toolstack.list_plain().get(d.name)
            if row is not None and row['state'] not in ('crashed', 'shutdown', 'dying'):
                continue
            elapsed = self.clock.now() - start
            if row is None:
                what = 'it was gone after %.0f seconds' % elapsed
            else:
                what = 'it was %s after %.0f seconds%s' % (
                    row['state'], elapsed, ' (%s)' % row['shutdown_reason'] if row.get('shutdown_reason') else '')
                try:
                    self.toolstack.destroy(d.name)
                except CommandError:
                    pass
            self._boot_failed(d, what)

    def _boot_failed(self, d, what):
        logs = {}
        parts = ['domain %s did not stay up after xl create: %s (boot_settle is %d seconds)' % (d.name, what, d.boot_settle)]
        for key, path in (('xl_log', os.path.join(self.log_dir, 'xl-%s.log' % d.name)),
                          ('console_log', os.path.join(self.log_dir, 'console', 'guest-%s.log' % d.name))):
            text = tail(path)
            if text is not None:
                logs[key] = text
                parts.append('last lines of %s:\n%s' % (path, text))
        raise DomainError('\n\n'.join(parts), **logs)


# libxl's words when dom0 lacks what an hvm domain needs: the firmware (SeaBIOS, hvmloader's BIOS
# file) or the device model (QEMU built for Xen); Debian's qemu-system-xen brings both
_DEVICE_MODEL_ERRORS = ('failed to read BIOS file', 'device model', 'qemu-system-i386')


def device_model_hint(stderr):
    """A hint for a failed ``xl create`` of an hvm domain whose firmware or device model is missing, or None."""
    text = stderr or ''
    if 'libxl' not in text or not any(word in text for word in _DEVICE_MODEL_ERRORS):
        return None
    return ('HVM domains need a device model and its firmware in dom0: install Debian\'s qemu-system-xen '
            '(the xenops.xen.hypervisor role does with hypervisor_hvm: true).')


# A whole task

def _domain_result(plan, facts, actions):
    d = plan.desired
    return {
        'name': d.name,
        'changed': bool(actions),
        'actions': [a.as_dict() for a in actions],
        'restart_required': plan.restart_required,
        'restart_reasons': list(plan.restart_reasons),
        'state': plan.runtime[1],
        'domain': facts,
        'config_file': d.config_path,
    }


def restart_warning(result):
    """The warning for a domain that keeps running with an older configuration than its config file's."""
    return ('domain %s runs with an older configuration and needs a restart (%s); set its restart option to '
            'if_needed to restart it' % (result['name'], '; '.join(result['restart_reasons'])))


class DomainManager(object):
    """Runs one task: read once, plan and check everything, then apply in order."""

    def __init__(self, toolstack, atomic_move, clock=None, log_dir=None, hypervisor_dir='/sys/hypervisor'):
        self.toolstack = toolstack
        self.executor = Executor(toolstack, atomic_move, clock=clock, log_dir=log_dir)
        self.hypervisor_dir = hypervisor_dir

    def xen_version(self):
        """``X.Y`` of the running Xen, from ``/sys/hypervisor/version`` (None when it cannot be read)."""
        try:
            parts = []
            for name in ('major', 'minor'):
                with open(os.path.join(self.hypervisor_dir, 'version', name)) as fh:
                    parts.append(str(int(fh.read().strip())))
        except (OSError, ValueError):
            return None
        return '.'.join(parts)

    def check_shims(self, desired):
        """Refuse, before any change, a domain with ``pvshim`` where the host has no shim for it."""
        wanted = [d for d in desired if d.config and d.config.get('pvshim') and d.state != 'absent']
        if not wanted:
            return
        version = self.xen_version()
        for d in wanted:
            paths = pvshim_paths(d.config, version)
            if not any(os.path.isfile(p) for p in paths):
                raise DomainError('domain %s: pvshim needs the PV shim of Xen%s, and this host has none (looked for %s); '
                                  'install the Xen packages of the host\'s Debian, which ship it, or set pvshim_path in '
                                  'extra_options' % (d.name, ' ' + version if version else '', ', '.join(paths)))

    def run(self, params, check_mode=False, diff=False):
        desired = desired_domains(params)
        if not desired:
            # an empty batch: nothing to read, nothing to change
            return dict({'changed': False, 'domains': []}, **({'diff': []} if diff else {}))
        config_dir = desired[0].config_dir
        if self.toolstack.runner.find('xl') is None:
            raise DomainError('xl (the Xen toolstack) is not installed on this host: make it a Xen host first, for '
                              'example with the role xenops.xen.hypervisor')
        if not os.path.isdir(config_dir):
            raise DomainError('config_dir %s does not exist or is not a directory' % config_dir)
        self.check_shims(desired)
        try:
            state = self.toolstack.state()
        except CommandError as exc:
            raise DomainError(exc.msg, **exc.output())
        domains = state['domains']
        plans = [plan_domain(d, read_current(d, domains)) for d in desired]
        order = apply_order(plans)
        check_unique_macs(order, domains)

        done = {}
        results = []
        for plan in order:
            if check_mode:
                done[plan.desired.name] = list(plan.actions)
                continue
            try:
                done[plan.desired.name] = self.executor.apply(plan)
            except DomainError as exc:
                if params.get('domains') is not None:
                    exc.details['domains'] = [_domain_result(p, p.current.facts, done[p.desired.name])
                                              for p in order if p.desired.name in done]
                exc.details['changed'] = any(a for a in done.values()) or bool(exc.details.get('actions_done'))
                raise
        done = [done[plan.desired.name] for plan in plans]
        runtime_changed = any(a.kind in RUNTIME_ACTIONS for actions in done for a in actions)
        after = domains
        if runtime_changed and not check_mode:
            try:
                after = self.toolstack.state()['domains']
            except CommandError as exc:
                raise DomainError('the changes were made, but reading the domains again failed: %s' % exc.msg,
                                  **exc.output())
        for plan, actions in zip(plans, done):
            results.append(_domain_result(plan, after.get(plan.desired.name), actions))

        if params.get('domains') is None:
            result = dict(results[0])
        else:
            result = {'changed': any(r['changed'] for r in results), 'domains': results}
        if diff:
            result['diff'] = [entry for plan in plans for entry in plan.diff()]
        warnings = [restart_warning(r) for r in results if r['restart_required']]
        if warnings:
            result['warnings'] = warnings
        return result
