# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Desired logical volumes, the planner and the diff (used by ``xen_lv``).

The planner is pure: :func:`desired_volumes` turns module parameters into
:class:`DesiredVolume` objects, :func:`probes` says what must be read besides
the LVM report (blkid signatures, mounts, running domains), :func:`plan`
compares and returns a :class:`Plan` of :class:`Action` objects.  Every check
(names, volume groups, free space of the whole batch, shrink and removal
safety) happens there, before anything changes.

:func:`converge` drives a :class:`~._lvm.Lvm` service passed in: one LVM
report, the probes the plan needs, then (outside check mode) the actions.
"""

from __future__ import annotations

import re

from ansible_collections.xenops.xen.plugins.module_utils._lvm import (
    EXT_FILESYSTEMS, LABEL_MAX, SizeError, format_size, lv_keys, parse_size, path_keys, round_up_to_extents)
from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandError

FSTYPES = ('ext4', 'xfs', 'swap', 'none')
GROWABLE = EXT_FILESYSTEMS + ('xfs', 'swap')

CREATE = 'create'
MKFS = 'mkfs'
EXTEND = 'extend'
GROWFS = 'growfs'
REDUCE = 'reduce'
REMOVE = 'remove'

NAME_MAX = 127
_NAME_RE = re.compile(r'^[A-Za-z0-9+_.-]+$')
# lvm(8), VALID NAMES: strings an LV name must not contain / start with.
_RESERVED_PARTS = ('_cdata', '_cmeta', '_corig', '_iorig', '_mimage', '_mlog', '_pmspare', '_rimage', '_rmeta',
                   '_tdata', '_tmeta', '_vdata', '_vorigin', '_wcorig', '_wdata')
_RESERVED_PREFIXES = ('snapshot', 'pvmove')


class VolumeError(Exception):
    """Invalid input or a refused change; the message is meant for the user."""


# ---------------------------------------------------------------------------
# Desired state

def name_error(kind, name):
    """Why ``name`` is not a valid VG/LV name (lvm(8) VALID NAMES), or None."""
    if not name:
        return '%s name must not be empty' % kind
    if len(name) > NAME_MAX:
        return '%s name %r is longer than %d characters' % (kind, name, NAME_MAX)
    if not _NAME_RE.match(name):
        return '%s name %r may only contain letters, digits and + _ . -' % (kind, name)
    if name.startswith('-'):
        return '%s name %r must not start with -' % (kind, name)
    if name in ('.', '..'):
        return '%s name must not be %r' % (kind, name)
    if kind == 'volume':
        for prefix in _RESERVED_PREFIXES:
            if name.startswith(prefix):
                return 'volume name %r must not start with %r (reserved by LVM)' % (name, prefix)
        for part in _RESERVED_PARTS:
            if part in name:
                return 'volume name %r must not contain %r (reserved by LVM)' % (name, part)
    return None


class DesiredVolume(object):
    """One volume as the task asks for it; ``size`` in bytes or None (keep)."""

    __slots__ = ('vg', 'name', 'size', 'size_text', 'state', 'fstype', 'label', 'force')

    def __init__(self, vg, name, size=None, state='present', fstype=None, label=None, force=False, size_text=None):
        self.vg = vg
        self.name = name
        self.size = size
        self.size_text = size_text
        self.state = state
        self.fstype = None if fstype in (None, 'none') else fstype
        self.label = label
        self.force = bool(force)

    @property
    def key(self):
        return (self.vg, self.name)

    @property
    def path(self):
        return '/dev/%s/%s' % (self.vg, self.name)

    def __repr__(self):
        return 'DesiredVolume(%r, %r, size=%r, state=%r, fstype=%r)' % (
            self.vg, self.name, self.size, self.state, self.fstype)


def _desired_one(options, default_vg, errors):
    name = options.get('name')
    domain, function = options.get('domain'), options.get('function')
    if name is None:
        if not domain or not function:
            errors.append('domain and function must both be set and not empty (name = domain-function), got %r and %r'
                          % (domain, function))
            return None
        name = '%s-%s' % (domain, function)
    vg = options.get('vg') or default_vg
    problems = []
    if not vg:
        problems.append('vg is required for volume %r (set it on the volume or at the top level)' % name)
    else:
        problems.append(name_error('volume group', vg))
    problems.append(name_error('volume', name))
    size = None
    size_text = options.get('size')
    if size_text is not None:
        try:
            size = parse_size(size_text)
        except SizeError as exc:
            problems.append('volume %r: %s' % (name, exc))
    fstype = options.get('fstype')
    fstype = None if fstype in (None, 'none') else fstype
    label = options.get('label')
    if label is not None:
        if not fstype:
            problems.append('volume %r: label needs fstype ext4, xfs or swap' % name)
        elif len(label.encode('utf-8')) > LABEL_MAX[fstype]:
            problems.append('volume %r: %s labels are at most %d bytes, %r is longer'
                            % (name, fstype, LABEL_MAX[fstype], label))
    problems = [p for p in problems if p]
    if problems:
        errors.extend(problems)
        return None
    return DesiredVolume(vg, name, size=size, state=options.get('state') or 'present', fstype=fstype,
                         label=label, force=options.get('force'), size_text=size_text)


def desired_volumes(params):
    """Desired volumes from the module parameters (one volume, or ``volumes`` with ``vg`` as default).

    Raises :class:`VolumeError` listing every problem found.
    """
    errors = []
    items = params.get('volumes')
    if items is None:
        items = [params]
    elif not items:
        raise VolumeError('volumes must list at least one volume')
    desired = []
    for item in items:
        volume = _desired_one(item, params.get('vg'), errors)
        if volume is not None:
            desired.append(volume)
    seen = set()
    for volume in desired:
        if volume.key in seen:
            errors.append('volume %s/%s is listed more than once' % volume.key)
        seen.add(volume.key)
    if errors:
        raise VolumeError('; '.join(_unique(errors)))
    return desired


def _unique(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


# ---------------------------------------------------------------------------
# What to read besides the LVM report

class Probes(object):
    """Reads the plan needs: ``signatures`` (paths for blkid), ``mounts`` and ``domains`` (bools).

    ``domains`` (``xl list -l``) implies ``mounts``: a volume is in use when
    a running domain uses it or it is mounted.
    """

    def __init__(self):
        self.signatures = []
        self.mounts = False
        self.domains = False


def _target_size(volume, vg, lv):
    if volume.size is None:
        return lv.size if lv is not None else None
    return round_up_to_extents(volume.size, vg.extent_size)


def probes(report, desired):
    """What must be read to plan ``desired`` against ``report``.

    blkid only for existing, active volumes whose filesystem matters (an
    ``fstype`` is asked, or the size changes); ``/proc/mounts`` when an
    existing volume is resized or removed; ``xl list -l`` only when a
    removal (without force) or a forced shrink is planned.
    """
    needed = Probes()
    for volume in desired:
        vg = report.vg(volume.vg)
        lv = report.lv(volume.vg, volume.name)
        if vg is None or lv is None:
            continue
        if volume.state == 'absent':
            if not volume.force:
                needed.mounts = needed.domains = True
            continue
        target = _target_size(volume, vg, lv)
        # a shrink without force is refused: nothing to read for it
        shrink = target < lv.size and volume.force
        resize = target > lv.size or shrink
        if lv.active and (volume.fstype or resize):
            needed.signatures.append(lv.path)
        if resize:
            needed.mounts = True
        if shrink:
            needed.domains = True
    return needed


class Usage(object):
    """Who uses a volume: running domains (``'news (xvda)'``) and dom0 mount points."""

    def __init__(self):
        self.domains = []
        self.mountpoints = []

    def reasons(self):
        out = ['used by running domain %s' % d for d in self.domains]
        out += ['mounted on %s' % m for m in self.mountpoints]
        return out


def usage(lvs, disks=(), mounts=()):
    """Map ``(vg, name)`` of each of ``lvs`` to its :class:`Usage`.

    ``disks`` are ``(domain, pdev_path, vdev)`` from ``xl list -l``, ``mounts``
    ``(device, mountpoint, fstype)`` from /proc/mounts.  Paths match as
    ``/dev/VG/LV``, ``/dev/mapper/VG-LV`` or through symlinks.
    """
    result = {}
    disk_keys = [(domain, vdev, path_keys(pdev)) for domain, pdev, vdev in disks]
    mount_keys = [(mountpoint, path_keys(device)) for device, mountpoint, fstype in mounts if device.startswith('/')]
    for lv in lvs:
        keys = lv_keys(lv)
        found = Usage()
        for domain, vdev, dkeys in disk_keys:
            if keys & dkeys:
                found.domains.append('%s (%s)' % (domain, vdev) if vdev else domain)
        for mountpoint, mkeys in mount_keys:
            if keys & mkeys:
                found.mountpoints.append(mountpoint)
        result[(lv.vg, lv.name)] = found
    return result


# ---------------------------------------------------------------------------
# Plan

class Action(object):
    """One change.  ``kind`` is create, mkfs, extend, growfs, reduce or remove."""

    __slots__ = ('kind', 'vg', 'name', 'path', 'description', 'size', 'fstype', 'label', 'uuid', 'mountpoint',
                 'check_blank')

    def __init__(self, kind, volume, path, description, size=None, fstype=None, label=None, uuid=None,
                 mountpoint=None, check_blank=False):
        self.kind = kind
        self.vg = volume.vg
        self.name = volume.name
        self.path = path
        self.description = description
        self.size = size
        self.fstype = fstype
        self.label = label
        self.uuid = uuid
        self.mountpoint = mountpoint
        # mkfs right after create: check with blkid that the new volume is blank.
        self.check_blank = check_blank

    def __repr__(self):
        return 'Action(%r, %r)' % (self.kind, self.description)


class VolumePlan(object):
    """The plan of one volume: state before and after, actions, warnings."""

    def __init__(self, volume, path, before, after):
        self.volume = volume
        self.path = path
        self.before = before
        self.after = after
        self.actions = []
        self.warnings = []

    @property
    def changed(self):
        return bool(self.actions)

    def add(self, kind, description, **kwargs):
        self.actions.append(Action(kind, self.volume, self.path, description, **kwargs))

    def result(self):
        """The per-volume entry of the module's ``volumes`` return value."""
        return dict(name=self.volume.name, vg=self.volume.vg, path=self.path, state=self.volume.state,
                    size_bytes=self.after.get('size_bytes'), fstype=self.after.get('fstype'),
                    changed=self.changed, actions=[a.description for a in self.actions])

    def diff(self):
        header = '%s/%s' % (self.volume.vg, self.volume.name)
        return dict(before=self.before, after=self.after, before_header=header, after_header=header)


class Plan(object):
    def __init__(self, volumes):
        self.volumes = volumes

    @property
    def actions(self):
        return [action for volume in self.volumes for action in volume.actions]

    @property
    def warnings(self):
        return [warning for volume in self.volumes for warning in volume.warnings]

    @property
    def changed(self):
        return any(volume.changed for volume in self.volumes)


def _state(size, fstype):
    state = dict(state='present', size=format_size(size), size_bytes=size)
    if fstype:
        state['fstype'] = fstype
    return state


ABSENT = dict(state='absent')


def _size_note(volume, target):
    if volume.size is not None and target != volume.size:
        return ' (%s rounded up to whole extents)' % volume.size_text
    return ''


def _mkfs_description(fstype, path):
    if fstype == 'swap':
        return 'create swap area on %s' % path
    return 'create %s filesystem on %s' % (fstype, path)


def _plan_create(volume, vg, errors):
    if volume.size is None:
        errors.append('size is required to create volume %s/%s' % volume.key)
        return None, 0
    target = _target_size(volume, vg, None)
    step = VolumePlan(volume, volume.path, dict(ABSENT), _state(target, volume.fstype))
    step.add(CREATE, 'create volume %s/%s of %s%s' % (volume.vg, volume.name, format_size(target),
                                                      _size_note(volume, target)), size=target)
    if volume.fstype:
        step.add(MKFS, _mkfs_description(volume.fstype, volume.path), fstype=volume.fstype,
                 label=volume.label, check_blank=True)
    return step, target


def _plan_absent(volume, lv, use, errors):
    step = VolumePlan(volume, lv.path if lv else volume.path, _state(lv.size, None) if lv else dict(ABSENT),
                      dict(ABSENT))
    if lv is None:
        return step
    reasons = use.reasons() if use else []
    if reasons and not volume.force:
        errors.append('refusing to remove volume %s/%s: it is %s (set force: true to remove it anyway)'
                      % (volume.vg, volume.name, ', '.join(reasons)))
        return step
    step.add(REMOVE, 'remove volume %s/%s (%s)' % (volume.vg, volume.name, format_size(lv.size)))
    return step


def _plan_growfs(step, lv, signature, use):
    """After an extend: grow what is on the volume, or say why not."""
    if signature is None:
        return
    fstype = signature.type
    mountpoint = use.mountpoints[0] if use and use.mountpoints else None
    path = lv.path
    if fstype not in GROWABLE:
        step.warnings.append('%s holds %s; only ext2/3/4, xfs and swap are grown, grow it yourself'
                             % (path, signature.kind))
    elif fstype in EXT_FILESYSTEMS and (mountpoint or not lv.open):
        step.add(GROWFS, 'grow %s filesystem on %s%s' % (fstype, path, ' (mounted on %s)' % mountpoint if mountpoint else ''),
                 fstype=fstype, mountpoint=mountpoint)
    elif fstype == 'xfs' and mountpoint:
        step.add(GROWFS, 'grow xfs filesystem mounted on %s' % mountpoint, fstype=fstype, mountpoint=mountpoint)
    elif fstype == 'swap' and not lv.open:
        step.add(GROWFS, 'rewrite swap signature on %s for the new size' % path, fstype=fstype,
                 label=signature.label, uuid=signature.uuid)
    elif fstype == 'xfs' and not lv.open:
        step.warnings.append('xfs on %s was not grown: xfs_growfs needs the filesystem mounted; mount it and run '
                             'xfs_growfs' % path)
    else:
        step.warnings.append('%s on %s was not grown: the volume is open (in use by a running domain?); grow it '
                             'where it is used (for example resize2fs, xfs_growfs or mkswap inside the domain)'
                             % (fstype, path))


def _check_fstype(volume, lv, signature, step, errors):
    """Existing volume with an ``fstype``: plan mkfs on a blank one, refuse to reformat."""
    if not volume.fstype:
        return False
    if not lv.active:
        errors.append('volume %s/%s is not active, its filesystem cannot be checked (activate it with lvchange -ay)'
                      % volume.key)
        return False
    if signature is None:
        if lv.open:
            errors.append('volume %s/%s has no filesystem but is open (in use); refusing to create %s on it'
                          % (volume.vg, volume.name, volume.fstype))
            return False
        step.add(MKFS, _mkfs_description(volume.fstype, lv.path), fstype=volume.fstype,
                 label=volume.label)
        return True
    if signature.type != volume.fstype:
        errors.append('volume %s/%s holds %s, not %s; refusing to reformat it (remove the volume or wipe it first)'
                      % (volume.vg, volume.name, signature.kind, volume.fstype))
    elif volume.label is not None and signature.label != volume.label:
        step.warnings.append('%s on %s has label %r, not %r; labels are only set when the filesystem is created'
                             % (volume.fstype, lv.path, signature.label, volume.label))
    return False


def _plan_present(volume, vg, lv, signature, use, errors):
    target = _target_size(volume, vg, lv)
    before_fstype = signature.type if signature and signature.type else None
    after_fstype = volume.fstype or before_fstype
    step = VolumePlan(volume, lv.path, _state(lv.size, before_fstype), _state(target, after_fstype))
    growth = 0
    if target > lv.size:
        step.add(EXTEND, 'extend volume %s/%s from %s to %s%s' % (
            volume.vg, volume.name, format_size(lv.size), format_size(target), _size_note(volume, target)), size=target)
        growth = target - lv.size
    elif target < lv.size:
        reasons = (use.reasons() if use else []) or (['open (in use)'] if lv.open else [])
        if not volume.force:
            errors.append('refusing to shrink volume %s/%s from %s to %s: data past the new end is lost '
                          '(set force: true to shrink it anyway)'
                          % (volume.vg, volume.name, format_size(lv.size), format_size(target)))
        elif reasons:
            errors.append('refusing to shrink volume %s/%s: it is %s; a volume in use is never shrunk'
                          % (volume.vg, volume.name, ', '.join(reasons)))
        else:
            step.add(REDUCE, 'shrink volume %s/%s from %s to %s' % (
                volume.vg, volume.name, format_size(lv.size), format_size(target)), size=target)
            if signature is not None:
                step.warnings.append('%s on %s was not shrunk: it is now larger than its volume and the data past '
                                     'the new end is lost' % (signature.kind, lv.path))
    created_fs = _check_fstype(volume, lv, signature, step, errors)
    if growth and not created_fs:
        if lv.active:
            _plan_growfs(step, lv, signature, use)
        else:
            step.warnings.append('volume %s/%s is not active; any filesystem on it was not grown' % volume.key)
    return step, growth


def plan(report, desired, in_use=None, signatures=None):
    """Plan ``desired`` (list of :class:`DesiredVolume`) against ``report`` (:class:`~._lvm.Report`).

    ``in_use`` maps ``(vg, name)`` to :class:`Usage`; ``signatures`` maps the
    paths named by :func:`probes` to a :class:`~._lvm.Signature` or None.
    Returns a :class:`Plan`; raises :class:`VolumeError` listing every
    problem (nothing is changed then).
    """
    in_use = in_use or {}
    signatures = signatures or {}
    errors = []
    steps = []
    needed = {}
    for volume in desired:
        vg = report.vg(volume.vg)
        if vg is None:
            errors.append('volume group %r not found (volume groups: %s)'
                          % (volume.vg, ', '.join(sorted(report.vgs)) or 'none'))
            continue
        lv = report.lv(volume.vg, volume.name)
        use = in_use.get(volume.key)
        if volume.state == 'absent':
            steps.append(_plan_absent(volume, lv, use, errors))
            continue
        if lv is None:
            step, growth = _plan_create(volume, vg, errors)
        else:
            step, growth = _plan_present(volume, vg, lv, signatures.get(lv.path), use, errors)
        if step is not None:
            steps.append(step)
        needed[volume.vg] = needed.get(volume.vg, 0) + growth
    for name in sorted(needed):
        vg = report.vg(name)
        if needed[name] > vg.free_count * vg.extent_size:
            errors.append('not enough free space in volume group %s: the volumes need %s (%d extents), %s '
                          '(%d extents) is free' % (name, format_size(needed[name]), needed[name] // vg.extent_size,
                                                    format_size(vg.free_count * vg.extent_size), vg.free_count))
    if errors:
        raise VolumeError('; '.join(_unique(errors)))
    return Plan(steps)


# ---------------------------------------------------------------------------
# Running the plan against a service

def execute(lvm, action):
    """Run one :class:`Action` with an :class:`~._lvm.Lvm` service."""
    if action.kind == CREATE:
        lvm.create(action.vg, action.name, action.size)
    elif action.kind == MKFS:
        if action.check_blank:
            signature = lvm.signature(action.path)
            if signature is not None:
                raise VolumeError('new volume %s already carries %s; not creating %s on it'
                                  % (action.path, signature.kind, action.fstype))
        lvm.mkfs(action.path, action.fstype, action.label)
    elif action.kind == EXTEND:
        lvm.extend(action.path, action.size)
    elif action.kind == GROWFS:
        if action.fstype in EXT_FILESYSTEMS:
            lvm.grow_ext(action.path, mounted=bool(action.mountpoint))
        elif action.fstype == 'xfs':
            lvm.grow_xfs(action.mountpoint)
        else:
            lvm.grow_swap(action.path, action.label, action.uuid)
    elif action.kind == REDUCE:
        lvm.reduce(action.path, action.size)
    elif action.kind == REMOVE:
        lvm.remove(action.path)
    else:
        raise ValueError('unknown action %r' % (action.kind,))


class ConvergeError(Exception):
    """A command or check failed while applying; ``done`` lists what was already done."""

    def __init__(self, error, done):
        super(ConvergeError, self).__init__(str(error))
        self.error = error
        self.done = done

    def as_result(self):
        result = self.error.as_result() if isinstance(self.error, CommandError) else dict(msg=str(self.error))
        result.update(changed=bool(self.done), actions=list(self.done))
        return result


def converge(lvm, desired, check_mode=False, diff=False):
    """Read once, plan, and (outside check mode) apply; return the module result.

    Raises :class:`VolumeError` (nothing changed), :class:`~._runner.CommandError`
    from reading commands (nothing changed) or :class:`ConvergeError` (a change
    failed; it carries what was done before).
    """
    vgs = sorted(set(volume.vg for volume in desired))
    report = lvm.report(vgs)
    needed = probes(report, desired)
    signatures = lvm.signatures(needed.signatures) if needed.signatures else {}
    in_use = {}
    if needed.mounts:
        disks = lvm.domain_disks() if needed.domains else []
        existing = [report.lv(*volume.key) for volume in desired if report.lv(*volume.key)]
        in_use = usage(existing, disks, lvm.mounts())
    result_plan = plan(report, desired, in_use, signatures)
    if not check_mode:
        done = []
        for action in result_plan.actions:
            try:
                execute(lvm, action)
            except (CommandError, VolumeError) as exc:
                raise ConvergeError(exc, done)
            done.append(action.description)
    result = dict(changed=result_plan.changed,
                  volumes=[step.result() for step in result_plan.volumes],
                  actions=[action.description for action in result_plan.actions],
                  warnings=result_plan.warnings)
    if diff:
        result['diff'] = [step.diff() for step in result_plan.volumes if step.changed]
    return result
