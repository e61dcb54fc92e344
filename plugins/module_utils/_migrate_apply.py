# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Carry out a live migration planned by :mod:`_migrate`: read both hosts, migrate, hand the files over.

The target host is reached with SSH: :class:`RemoteRunner` runs an argv
there through the local :class:`CommandRunner` (``ssh ... -l USER ADDRESS
'QUOTED ARGV'``), so every command still goes through the one runner and
:class:`Toolstack` parses the target's ``xl`` output as it parses the
source's.
"""

from __future__ import annotations

import os
import time

from ansible_collections.xenops.xen.plugins.module_utils import _cold as c
from ansible_collections.xenops.xen.plugins.module_utils import _migrate as m
from ansible_collections.xenops.xen.plugins.module_utils._lvm import LVS_ARGV, VGS_ARGV, Lvm, parse_lvs, parse_vgs
from ansible_collections.xenops.xen.plugins.module_utils import _drbd
from ansible_collections.xenops.xen.plugins.module_utils._moves import drbd_resources, local_disks
from ansible_collections.xenops.xen.plugins.module_utils._plan import ActionFailed, apply
from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandError
from ansible_collections.xenops.xen.plugins.module_utils._xl import Toolstack

#: How much of xl's output a failure reports.
OUTPUT_TAIL = 3000


class RemoteRunner(object):
    """``run(argv)`` on another host over SSH, with the interface of :class:`CommandRunner`."""

    def __init__(self, local, ssh):
        self.local = local
        self.ssh = list(ssh)

    def run(self, argv, check=True, data=None, cwd=None, expect_output=False):
        return self.local.run(self.ssh + [m.remote_command(argv, cwd)], check=check, data=data,
                              expect_output=expect_output)


def _recover(steps, handlers):
    """Apply recovery steps as far as they go: (the steps done, the :class:`ActionFailed` of the one that failed or None)."""
    try:
        return apply(steps, handlers, errors=(CommandError,)), None
    except ActionFailed as exc:
        return exc.done, exc


class Migration(object):
    """One domain moved from this host to ``target``; ``params`` are the module's."""

    def __init__(self, local, params):
        self.p = params
        self.local = local
        ssh = m.ssh_argv(params['ssh_command'], params['ssh_user'], params['target'])
        self.remote = RemoteRunner(local, ssh)
        self.src_xl = Toolstack(local)
        self.dst_xl = Toolstack(self.remote)
        self.label = params['target_name'] or params['target']
        self.here = params['source_name'] or 'this host'
        self.config_path = os.path.join(params['config_dir'], params['name'] + '.cfg')
        # the domain's type on this host (converge reads it): an hvm domain is shut down with xl shutdown -F
        self.source_type = None
        self.auto_path = os.path.join(params['autostart_dir'], params['name'] + '.cfg')
        self.seconds = None
        self.output = None
        self.stopped_at = None
        self.downtime = None
        self.copy_seconds = 0.0

    # -- reading ---------------------------------------------------------
    def _remote_text(self, path):
        result = self.remote.run(['cat', '--', path], check=False)
        if result.rc == 0:
            return result.stdout
        if result.rc == 1 and 'No such file' in (result.stderr or ''):
            return None
        raise CommandError(result.cmd, result.rc, result.stdout, result.stderr)

    def _remote_test(self, flag, path):
        result = self.remote.run(['test', flag, path], check=False)
        if result.rc not in (0, 1):
            raise CommandError(result.cmd, result.rc, result.stdout, result.stderr)
        return result.rc == 0

    def _remote_drbd(self, facts):
        """``{'drbd': resources}`` of the target for a domain with DRBD disks (None: no DRBD there); else ``{}``.

        Reads the resource files of the domain's resources and /proc/drbd on the target, so the plan sends the
        domain live only where its resources are Connected and UpToDate.
        """
        names = drbd_resources(m.domain_for_move(facts))
        if not names:
            return {}
        texts = dict((n, self._remote_text(_drbd.config_path(n))) for n in names)
        texts = dict((n, t) for n, t in texts.items() if t is not None)
        proc_text = self._remote_text(_drbd.PROC_DRBD)
        if not texts and proc_text is None:
            return {'drbd': None}
        return {'drbd': _drbd.resources(texts, proc_text)}

    def _files(self):
        text = None
        if os.path.isfile(self.config_path):
            with open(self.config_path) as fh:
                text = fh.read()
        return {'config_path': self.config_path, 'auto_path': self.auto_path, 'source_config': text,
                'target_config': self._remote_text(self.config_path),
                'source_autostart': os.path.islink(self.auto_path),
                'target_autostart': self._remote_test('-L', self.auto_path)}

    def read(self):
        """Both hosts as :func:`_migrate.plan` wants them."""
        source = {'label': self.here, 'state': self.src_xl.state()}
        target = {'label': self.label, 'state': self.dst_xl.state()}
        name = self.p['name']
        missing = []
        if name in source['state']['domains'] and name not in target['state']['domains']:
            source['info'] = self.src_xl.info()
            target['info'] = self.dst_xl.info()
            target['bridges'] = m.bridge_names(self.remote.run(['ip', '-o', 'link', 'show', 'type', 'bridge']).stdout)
            target.update(self._remote_drbd(source['state']['domains'][name]))
            if self.p['shared_disks']:
                for disk in source['state']['domains'][name].get('disks') or []:
                    if disk.get('target') and not disk.get('cdrom') and not self._remote_test('-e', disk['target']):
                        missing.append(disk['target'])
        return source, target, self._files(), missing

    def _disk_here(self, path):
        """A local disk as :func:`_cold.plan` wants it: an LV (vg, lv, size), an image file (size) or other."""
        lvs = self.local.run(LVS_ARGV + [path], check=False, expect_output=True)
        volumes = parse_lvs(lvs.stdout) if lvs.rc == 0 else []
        if len(volumes) == 1:
            return {'path': path, 'kind': c.LV, 'vg': volumes[0].vg, 'lv': volumes[0].name, 'size': volumes[0].size}
        kind, size = c.parse_stat(self.local.run(['stat', '-L', '-c', '%s %F', '--', path], expect_output=True).stdout)
        return {'path': path, 'kind': kind, 'size': size}

    def read_cold(self, source, target):
        """What a cold move needs (None when cold moves are not allowed or the domain has no local disk)."""
        name = self.p['name']
        facts = source['state']['domains'].get(name)
        if not self.p['cold'] or facts is None or name in target['state']['domains']:
            return None
        paths = local_disks(m.domain_for_move(facts, shared=self.p['shared_disks']))
        disks = [self._disk_here(p) for p in paths]
        target_disks = {}
        for disk in disks:
            entry = {'exists': self._remote_test('-e', disk['path']), 'vg_free': None}
            if disk['kind'] == c.LV:
                vgs = self.remote.run(VGS_ARGV + [disk['vg']], check=False, expect_output=True)
                groups = parse_vgs(vgs.stdout) if vgs.rc == 0 else []
                entry['vg_free'] = groups[0].free if len(groups) == 1 else None
            target_disks[disk['path']] = entry
        return {'disks': disks, 'target_disks': target_disks, 'remove_source_disks': self.p['remove_source_disks']}

    # -- changing --------------------------------------------------------
    def _migrate(self, action):
        name = action.name
        was_paused = self.src_xl.state()['domains'].get(name, {}).get('state') == 'paused'
        argv = ['xl', 'migrate', '-s', m.xl_ssh_string(self.p['ssh_command'], self.p['ssh_user'])]
        argv += ['--debug'] if self.p['debug'] else []
        started = time.time()
        result = self.local.run(argv + [name, self.p['target']], check=False)
        self.seconds = round(time.time() - started, 1)
        self.output = ((result.stdout or '') + (result.stderr or ''))[-OUTPUT_TAIL:]
        source, target = self.src_xl.state(), self.dst_xl.state()
        if result.rc == 0 and name in target['domains'] and name not in source['domains']:
            return
        steps, where = m.recovery(name, source, target, self.here, self.label, was_paused=was_paused)
        headline = 'xl migrate of %s to %s failed (rc=%d)' % (name, self.label, result.rc)
        failure = dict(cmd=result.cmd, rc=result.rc, stdout=result.stdout, stderr=result.stderr)
        done = self.recover(steps, headline, **failure)
        outcome = ('%s runs on %s' % (name, where)) if where else ('%s runs on neither host: start it again from %s'
                                                                   % (name, self.config_path))
        raise m.MigrateError(
            '%s; %s%s' % (headline, outcome, ('; recovered: ' + ', '.join(a.description for a in done)) if done else ''),
            runs_on=where, recovery=[a.description for a in done], changed=bool(done) or where == self.label,
            **failure)

    def recover(self, steps, headline, **details):
        """Apply recovery steps (each an argv on the source or the target); return the steps done.

        When one fails the domain's state is undefined: both hosts are read again and :class:`MigrateError` says
        what each has, the command that failed, and how to finish by hand.
        """
        runners = {m.SOURCE: self.local, m.TARGET: self.remote}
        done, failed = _recover(steps, dict((s.kind, lambda a: runners[a.host].run(a.argv)) for s in steps))
        if failed is None:
            return done
        name = self.p['name']
        try:
            source, target = self.src_xl.state(), self.dst_xl.state()
        except CommandError as exc:
            found, where, after = None, None, 'reading both hosts again failed too (%s): check both hosts' % exc.msg
        else:
            found = {self.here: m.copies(name, source), self.label: m.copies(name, target)}
            where = m.runs_on(name, source, target, self.here, self.label)
            rest = m.recovery(name, source, target, self.here, self.label)[0]
            after = 'found %s: %s. Run the task again to recover%s' % (
                ', '.join('%s on %s' % (', '.join(copies) or 'nothing', label) for label, copies in found.items()),
                ('%s runs on %s' % (name, where)) if where else '%s runs on neither host' % name,
                (', or by hand: ' + ', '.join(m.by_hand(rest, self.here, self.label))) if rest else '')
        error = failed.error
        raise m.MigrateError(
            '%s; recovery stopped at "%s": %s%s; %s' % (
                headline, failed.action.description, error,
                ('; recovered before: ' + ', '.join(a.description for a in done)) if done else '', after),
            runs_on=where, found=found, recovery=[a.description for a in done], changed=True,
            recovery_failed=dict(error.output(), action=failed.action.description), **details)

    def _put_config(self, action):
        self.remote.run(['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1.xenops-new" && mv -f "$1.xenops-new" "$1"',
                         'sh', action.path], data=action.text)

    def _link_autostart(self, action):
        self.remote.run(['sh', '-c', 'mkdir -p "$(dirname "$2")" && ln -sfn "$1" "$2"', 'sh', action.target, action.path])

    @staticmethod
    def _unlink(action):
        os.unlink(action.path)

    # -- cold moves ------------------------------------------------------
    def _prepare_disk(self, action):
        disk = action.disk
        if disk['kind'] == c.LV:
            Lvm(self.remote, self.dst_xl).create(disk['vg'], disk['lv'], disk['size'])
        else:
            self.remote.run(['sh', '-c', 'mkdir -p "$(dirname "$1")" && truncate -s "$2" "$1%s"' % c.PART_SUFFIX,
                             'sh', disk['path'], str(disk['size'])])

    def _stop_source(self, action):
        started = time.time()
        # an hvm domain may have no PV drivers: -F sends it an ACPI power button event then
        self.src_xl.shutdown(action.name, wait_timeout=self.p['shutdown_timeout'], acpi=self.source_type == 'hvm')
        self.stopped_at = started

    def _copy_disk(self, action):
        disk = action.disk
        lv = disk['kind'] == c.LV
        dest = disk['path'] if lv else disk['path'] + c.PART_SUFFIX
        # image files stay sparse; an LV is written whole (a new LV is not zeroed)
        writer = m.remote_command(['dd', 'of=' + dest, 'bs=4M', 'status=none'] + ([] if lv else ['conv=sparse,notrunc']))
        started = time.time()
        self.local.run(['sh', '-c', 'src=$1; shift; dd if="$src" bs=4M status=none | "$@"', 'sh', disk['path']]
                       + self.remote.ssh + [writer])
        self.copy_seconds += time.time() - started
        checksum = ['sh', '-c', 'head -c "$1" -- "$2" | sha256sum', 'sh', str(disk['size'])]
        here = self.local.run(checksum + [disk['path']], expect_output=True).stdout.split()[:1]
        there = self.remote.run(checksum + [dest], expect_output=True)
        there_sum = there.stdout.split()[:1]
        if here != there_sum:
            raise CommandError(there.cmd, 1, there.stdout, 'the copy of %s on %s differs from it (sha256 %s here, %s '
                               'there)' % (disk['path'], self.label, here, there_sum))
        if not lv:
            self.remote.run(['mv', '-f', '--', dest, disk['path']])

    def _start_target(self, action):
        self.remote.run(['xl', 'create', action.path], cwd='/dev')
        if self.stopped_at is not None:
            self.downtime = round(time.time() - self.stopped_at, 1)

    def _remove_source_disk(self, action):
        disk = action.disk
        if disk['kind'] == c.LV:
            Lvm(self.local, self.src_xl).remove(disk['path'])
        else:
            os.unlink(disk['path'])

    def _drop_target_disk(self, action):
        disk = action.disk
        if disk['kind'] == c.LV:
            Lvm(self.remote, self.dst_xl).remove(disk['path'])
        else:
            # the image was new there (the move refuses a path the target has): both names go
            self.remote.run(['rm', '-f', '--', disk['path'] + c.PART_SUFFIX, disk['path']])

    def cold_recovery(self, exc):
        """After a failed cold move: undo it where the domain did not start on the target; re-raise with what happened."""
        name = self.p['name']
        source, target = self.src_xl.state(), self.dst_xl.state()
        steps = c.recovery(name, exc.done, exc.action, name in target['domains'], name in source['domains'],
                           self.config_path, self.label)
        handlers = {c.DESTROY_TARGET_COPY: lambda a: self.dst_xl.destroy(a.name),
                    c.REMOVE_TARGET_CONFIG: lambda a: self.remote.run(['rm', '-f', '--', a.path]),
                    c.RESTORE_TARGET_CONFIG: self._put_config,
                    c.DROP_TARGET_DISK: self._drop_target_disk,
                    c.START_SOURCE: lambda a: self.local.run(['xl', 'create', a.path], cwd='/dev')}
        done, failed = _recover(steps, handlers)
        problem = ('%s: %s' % (failed.action.description, failed.error)) if failed else None
        started = c.START_TARGET in [a.kind for a in exc.done]
        where = self.label if started else (self.here if problem is None else None)
        detail = getattr(exc.error, 'stderr', '') or str(exc.error)
        raise m.MigrateError(
            'cold move of %s to %s failed at "%s": %s; %s%s%s' % (
                name, self.label, exc.action.description, detail.strip()[-OUTPUT_TAIL:],
                ('%s runs on %s' % (name, where)) if where else ('%s may run on neither host: check both' % name),
                ('; undone: ' + ', '.join(a.description for a in done)) if done else '',
                ('; undoing failed: ' + problem) if problem else ''),
            runs_on=where, recovery=[a.description for a in done],
            actions=[a.description for a in exc.done], changed=True)

    def handlers(self):
        return {m.MIGRATE: self._migrate, m.PUT_CONFIG: self._put_config, m.LINK_AUTOSTART: self._link_autostart,
                m.UNLINK_AUTOSTART: self._unlink, m.REMOVE_CONFIG: self._unlink,
                c.PREPARE_DISK: self._prepare_disk, c.STOP_SOURCE: self._stop_source, c.COPY_DISK: self._copy_disk,
                c.START_TARGET: self._start_target, c.REMOVE_SOURCE_DISK: self._remove_source_disk}


def converge(local, params, check_mode=False, diff=False):
    """The module's result: ``name`` runs on the target, with its config file and autostart link there.

    What an interrupted migration left (``NAME--incoming``, ``NAME--migratedaway``) is recovered first, as after a
    failed ``xl migrate``; then both hosts are read again and the move goes on.
    """
    name = params['name']
    mig = Migration(local, params)
    source, target, files, missing = mig.read()
    recover = m.leftover_recovery(name, source, target, mig.config_path)
    if recover and check_mode:
        result = {'changed': True, 'name': name, 'target': mig.label, 'actions': [a.description for a in recover]}
        if diff:
            found = ''.join('%s on %s\n' % (', '.join(m.copies(name, host['state'])) or 'nothing', host['label'])
                            for host in (source, target))
            result['diff'] = {'before': found,
                              'after': 'runs on %s\n' % mig.label, 'before_header': 'domain %s' % name,
                              'after_header': 'domain %s' % name}
        return result
    recovered = mig.recover(recover, 'an earlier migration of %s did not finish (%s)'
                            % (name, ', '.join(m.leftovers(name, source, target)))) if recover else []
    if recovered:
        source, target, files, missing = mig.read()
    try:
        return _move(mig, source, target, files, missing, params, check_mode, diff, recovered)
    except m.MigrateError as exc:
        if recovered:
            exc.details.update(changed=True, actions=[a.description for a in recovered])
        raise
    except ActionFailed as exc:
        raise ActionFailed(exc.error, exc.action, recovered + exc.done)


def _move(mig, source, target, files, missing, params, check_mode, diff, recovered):
    mig.source_type = (source['state']['domains'].get(params['name']) or {}).get('type')
    cold = mig.read_cold(source, target)
    actions = m.plan(params['name'], source, target, files, shared_disks=params['shared_disks'], missing_paths=missing,
                     cold=cold, force=params['force'])
    result = {'changed': bool(recovered or actions), 'name': params['name'], 'target': mig.label,
              'actions': [a.description for a in recovered + actions]}
    if diff:
        before = mig.here if params['name'] in source['state']['domains'] else mig.label
        result['diff'] = {'before': 'runs on %s\n' % before, 'after': 'runs on %s\n' % mig.label,
                          'before_header': 'domain %s' % params['name'], 'after_header': 'domain %s' % params['name']}
        replaced = m.config_conflict(files, mig.label, force=True)
        if replaced:
            result['diff'] = [result['diff'], replaced]
    if check_mode or not actions:
        return result
    # a failed migration raises MigrateError itself (with what its recovery did); it is the first action
    try:
        apply(actions, mig.handlers(), errors=(CommandError, OSError))
    except ActionFailed as exc:
        if c.STOP_SOURCE in [a.kind for a in actions]:
            mig.cold_recovery(exc)
        raise
    if mig.seconds is not None:
        result.update(migrate_seconds=mig.seconds, xl_output=mig.output)
    if mig.stopped_at is not None:
        result.update(method='cold', downtime_seconds=mig.downtime, copy_seconds=round(mig.copy_seconds, 1))
    elif mig.seconds is not None:
        result.update(method='live')
    return result
