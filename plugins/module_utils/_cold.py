# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Cold move of a domain with local disks to another Xen host: the steps, and the way back after a failure.

Pure code.  A domain whose disks only its host has (LVM volumes, image files)
cannot migrate live. A cold move shuts it down, copies each disk to the
same path on the target (a new LV of the same size in a VG of the same name,
or an image file written sparse), compares checksums, starts the domain there
and only then removes its config file and autostart link here. The disks here
are kept unless the user asks to remove them.

:func:`plan` refuses, before anything changes, a disk that is neither an LV
nor a file, a path the target already has (nothing is overwritten), a VG the
target lacks or one with too little free space. :func:`recovery` undoes a move
that failed before the domain ran on the target: the target's copy and the
volumes made for it go, and the domain starts here again.
"""

from __future__ import annotations

from ansible_collections.xenops.xen.plugins.module_utils._plan import Action

LV = 'lv'
FILE = 'file'

PREPARE_DISK = 'prepare_disk'
STOP_SOURCE = 'stop_source'
COPY_DISK = 'copy_disk'
START_TARGET = 'start_target'
REMOVE_SOURCE_DISK = 'remove_source_disk'
# recovery
DESTROY_TARGET_COPY = 'destroy_target_copy'
REMOVE_TARGET_CONFIG = 'remove_target_config'
RESTORE_TARGET_CONFIG = 'restore_target_config'
DROP_TARGET_DISK = 'drop_target_disk'
START_SOURCE = 'start_source'

#: Suffix of an image file while it is copied; renamed to its path once the checksums match.
PART_SUFFIX = '.xenops-part'


class ColdMoveError(ValueError):
    """A cold move that cannot happen; nothing has changed."""


def _mib(size):
    return '%d MiB' % (size // (1 << 20)) if size % (1 << 20) == 0 else '%d bytes' % size


def disk_description(disk):
    if disk['kind'] == LV:
        return '%s/%s' % (disk['vg'], disk['lv'])
    return disk['path']


def plan(name, disks, target_disks, config_text, config_path, src_label, dst_label, remove_source_disks=False):
    """The actions of a cold move of ``name``, or :class:`ColdMoveError` with every reason.

    ``disks``: the local disks of the domain as read here, each ``{'path', 'kind'}`` with ``kind`` ``lv``
    (and ``vg``, ``lv``, ``size`` in bytes), ``file`` (and ``size``) or anything else (refused).
    ``target_disks``: path -> ``{'exists': bool, 'vg_free': bytes or None}`` (``vg_free`` of the disk's VG
    on the target, None when the target has no VG of that name). ``config_text``: the domain's config
    file here (None when it has none). The handover of the autostart link and the removal of the config
    file here come after these actions (:func:`_migrate._handover`).
    """
    problems = []
    if config_text is None:
        problems.append('%s has no config file %s to start it from on %s' % (src_label, config_path, dst_label))
    need = {}
    for disk in disks:
        where = target_disks.get(disk['path']) or {}
        if disk['kind'] not in (LV, FILE):
            problems.append('disk %s is neither an LVM volume nor an image file; only those are copied' % disk['path'])
            continue
        if where.get('exists'):
            problems.append('%s already has %s (it is not overwritten)' % (dst_label, disk['path']))
        if disk['kind'] == LV:
            if where.get('vg_free') is None:
                problems.append('%s has no volume group %s for %s' % (dst_label, disk['vg'], disk['path']))
            else:
                need.setdefault(disk['vg'], [0, where['vg_free']])[0] += disk['size']
    for vg, (size, free) in sorted(need.items()):
        if size > free:
            problems.append('volume group %s on %s has %s free, the disks need %s' % (vg, dst_label, _mib(free), _mib(size)))
    if problems:
        raise ColdMoveError('cannot move %s cold from %s to %s: %s; nothing was changed'
                            % (name, src_label, dst_label, '; '.join(problems)))
    actions = []
    for disk in disks:
        what = ('LVM volume %s/%s' % (disk['vg'], disk['lv'])) if disk['kind'] == LV else ('image %s' % disk['path'])
        actions.append(Action(PREPARE_DISK, 'create the %s (%s) on %s' % (what, _mib(disk['size']), dst_label),
                              disk=disk))
    actions.append(Action(STOP_SOURCE, 'shut %s down here' % name, name=name))
    for disk in disks:
        actions.append(Action(COPY_DISK, 'copy %s (%s) to %s and compare checksums' % (disk['path'], _mib(disk['size']),
                                                                                       dst_label), disk=disk))
    actions.append(Action(START_TARGET, 'start %s on %s' % (name, dst_label), name=name, path=config_path))
    if remove_source_disks:
        for disk in disks:
            actions.append(Action(REMOVE_SOURCE_DISK, 'remove %s here' % disk_description(disk), disk=disk))
    return actions


def recovery(name, done, failed, target_has_domain, source_has_domain, config_path, dst_label):
    """Actions that undo a cold move that failed at action ``failed`` after the actions ``done``.

    Once the domain has started on the target (``START_TARGET`` done) nothing is undone: it runs there, and
    what is left of the handover is finished by the next run. Before that: the target's copy of the domain
    (``target_has_domain``) is destroyed, the config file written there removed (or, where it replaced one, the
    earlier file, the ``previous`` text of the ``put_config`` action, put back; a file the move did not write is
    left alone), the volumes made there removed, and the domain started here again unless it still runs
    (``source_has_domain``).
    """
    kinds = [a.kind for a in done]
    if START_TARGET in kinds:
        return []
    actions = []
    if target_has_domain:
        actions.append(Action(DESTROY_TARGET_COPY, 'destroy the copy of %s on %s' % (name, dst_label), name=name))
    for action in done:
        if action.kind != 'put_config':
            continue
        previous = action.params.get('previous')
        if previous is None:
            actions.append(Action(REMOVE_TARGET_CONFIG, 'remove %s on %s' % (action.path, dst_label), path=action.path))
        else:
            # force replaced a different file of that name: it is put back as it was
            actions.append(Action(RESTORE_TARGET_CONFIG, 'put back the earlier %s on %s' % (action.path, dst_label),
                                  path=action.path, text=previous))
    for action in done:
        if action.kind == PREPARE_DISK:
            actions.append(Action(DROP_TARGET_DISK, 'remove %s on %s again' % (disk_description(action.disk), dst_label),
                                  disk=action.disk))
    stopping = STOP_SOURCE in kinds or (failed is not None and failed.kind == STOP_SOURCE)
    if stopping and not source_has_domain:
        actions.append(Action(START_SOURCE, 'start %s here again' % name, name=name, path=config_path))
    return actions


def parse_stat(text):
    """``(kind, size)`` from ``stat -L -c '%s %F' PATH``: ``file`` for a regular file, else the type stat names."""
    parts = text.strip().split(' ', 1)
    kind = parts[1] if len(parts) > 1 else ''
    return (FILE if kind == 'regular file' else kind), int(parts[0])
