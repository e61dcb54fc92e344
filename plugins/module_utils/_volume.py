# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The planner of ``xen_lv``: the LVM report and the desired volumes in, a :class:`Plan` out.

:func:`probes` says what must be read besides the LVM report (blkid
signatures, mounts, running domains), :func:`plan` compares and returns a
:class:`Plan` of :class:`~._plan.Action` objects.  Every check (volume groups,
free space of the whole batch, shrink and removal safety) happens here,
before anything changes.  Pure code: no commands.
"""

from __future__ import annotations

from ansible_collections.xenops.xen.plugins.module_utils._inuse import lv_keys, path_keys
from ansible_collections.xenops.xen.plugins.module_utils._lvm import EXT_FILESYSTEMS
from ansible_collections.xenops.xen.plugins.module_utils._plan import Action
from ansible_collections.xenops.xen.plugins.module_utils._size import format_size, round_up_to_extents
from ansible_collections.xenops.xen.plugins.module_utils._volume_spec import VolumeError, unique

GROWABLE = EXT_FILESYSTEMS + ('xfs', 'swap')

CREATE = 'create'
MKFS = 'mkfs'
EXTEND = 'extend'
GROWFS = 'growfs'
REDUCE = 'reduce'
REMOVE = 'remove'


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

#: Parameters of every volume action (besides kind and description).
ACTION_PARAMS = dict(size=None, fstype=None, label=None, uuid=None, mountpoint=None, check_blank=False)


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
        """Add an action; ``check_blank`` (mkfs right after create) makes it check with blkid that the volume is blank."""
        unknown = set(kwargs) - set(ACTION_PARAMS)
        if unknown:
            raise TypeError('unknown volume action parameter(s) %s' % ', '.join(sorted(unknown)))
        params = dict(ACTION_PARAMS, **kwargs)
        self.actions.append(Action(kind, description, vg=self.volume.vg, name=self.volume.name, path=self.path, **params))

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
    # open with no known user: a domain or a process holds it all the same
    reasons = (use.reasons() if use else []) or (['open (in use)'] if lv.open else [])
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
        raise VolumeError('; '.join(unique(errors)))
    return Plan(steps)
