# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``xen_vg``: a volume group on the devices the task names, never taking a device that holds data or another group's.

:func:`plan` is pure: the devices (resolved paths), the physical volumes and
volume groups LVM reports and the blkid signatures of the devices that are
not physical volumes yet in, a list of :class:`~._plan.Action` out, or
:class:`VgError` naming every problem.  :func:`converge` reads, plans and
(outside check mode) applies through :class:`~._lvm.Lvm`.
"""

from __future__ import annotations

import os

from ansible_collections.xenops.xen.plugins.module_utils import _plan
from ansible_collections.xenops.xen.plugins.module_utils._inuse import device_identity
from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandError
from ansible_collections.xenops.xen.plugins.module_utils._volume_spec import name_error

PVCREATE = 'pvcreate'
VGCREATE = 'vgcreate'
VGEXTEND = 'vgextend'


class VgError(Exception):
    """Invalid input or a refused change; the message is meant for the user."""


def resolve(devices, exists=os.path.exists, realpath=os.path.realpath, identity=device_identity):
    """The devices as canonical paths (symlinks such as /dev/disk/by-id resolved), each device once whatever its
    spelling (see :func:`~._inuse.device_identity`); :class:`VgError` for a missing one."""
    if not devices:
        raise VgError('pvs must name at least one device')
    missing = [d for d in devices if not isinstance(d, str) or not d.startswith('/') or not exists(d)]
    if missing:
        raise VgError('device(s) %s do not exist (give absolute paths of block devices)' % ', '.join(map(str, missing)))
    resolved, seen = [], set()
    for device in devices:
        key = identity(device)
        if key not in seen:
            seen.add(key)
            resolved.append(realpath(device))
    return resolved


def same_spelling(devices, pvs, identity=device_identity):
    """``pvs`` (``{name LVM reports: group}``) with each physical volume that is one of ``devices`` named as there.

    LVM names a PV on device-mapper ``/dev/mapper/NAME`` while the task's device resolves to ``/dev/dm-N`` (or
    the other way round): both sides are compared by the device they name, never by their spelling.
    """
    spelling = {}
    for device in devices:
        spelling.setdefault(identity(device), device)
    return dict((spelling.get(identity(name), name), group) for name, group in pvs.items())


def plan(vg, devices, pvs, vgs, signatures, force=False):
    """Actions that put every one of ``devices`` into volume group ``vg``.

    ``pvs`` maps each physical volume to its group (``''``: none), ``vgs``
    are the names of the existing groups, ``signatures`` maps each device
    that is not a physical volume to its :class:`~._lvm.Signature` or None.
    """
    error = name_error('volume group', vg)
    if error:
        raise VgError(error)
    problems = []
    foreign = ['%s (in %s)' % (d, pvs[d]) for d in devices if pvs.get(d) not in (None, '', vg)]
    if foreign:
        problems.append('%s already belong to another volume group; xen_vg never takes a device from another '
                        'group (vgreduce it there first)' % ', '.join(foreign))
    new = [d for d in devices if d not in pvs]
    dirty = ['%s (%s)' % (d, signatures[d].kind) for d in new if signatures.get(d) is not None]
    if dirty and not force:
        problems.append('refusing to use devices that hold data: %s; wipe them yourself or set force: true to '
                        'overwrite them' % ', '.join(dirty))
    if problems:
        raise VgError('; '.join(problems))
    actions = [_plan.Action(PVCREATE, 'create physical volume %s%s' % (
        d, ' (overwriting %s)' % signatures[d].kind if signatures.get(d) is not None else ''), device=d) for d in new]
    if vg not in vgs:
        actions.append(_plan.Action(VGCREATE, 'create volume group %s on %s' % (vg, ', '.join(devices)),
                                    vg=vg, devices=list(devices)))
    else:
        add = [d for d in devices if pvs.get(d) != vg]
        if add:
            actions.append(_plan.Action(VGEXTEND, 'add %s to volume group %s' % (', '.join(add), vg), vg=vg, devices=add))
    return actions


HANDLERS = {
    PVCREATE: lambda lvm, action: lvm.pvcreate(action.device),
    VGCREATE: lambda lvm, action: lvm.vgcreate(action.vg, action.devices),
    VGEXTEND: lambda lvm, action: lvm.vgextend(action.vg, action.devices),
}


def _state(vg, devices, pvs, vgs):
    members = sorted(d for d, group in pvs.items() if group == vg)
    return {'state': 'present' if vg in vgs else 'absent', 'pvs': members}


def converge(lvm, vg, devices, force=False, check_mode=False, diff=False, identity=device_identity):
    """Read the PVs, VGs and the signatures of new devices once, plan, apply; return the module result.

    Raises :class:`VgError` (nothing changed), :class:`~._runner.CommandError`
    from reading (nothing changed) or :class:`~._plan.ActionFailed`.
    """
    error = name_error('volume group', vg)
    if error:
        raise VgError(error)
    pvs = same_spelling(devices, lvm.physical_volumes(), identity)
    vgs = lvm.volume_groups()
    new = [d for d in devices if d not in pvs]
    signatures = lvm.signatures(new) if new else {}
    actions = plan(vg, devices, pvs, vgs, signatures, force=force)
    if not check_mode:
        _plan.apply(actions, HANDLERS, (lvm,), errors=(CommandError,))
    after_pvs = dict(pvs, **dict((d, vg) for d in devices))
    before, after = _state(vg, devices, pvs, vgs), _state(vg, devices, after_pvs, vgs | set([vg]))
    result = {'changed': bool(actions), 'vg': vg, 'pvs': after['pvs'], 'actions': [a.description for a in actions]}
    if diff:
        result['diff'] = {'before': before, 'after': after, 'before_header': 'volume group %s' % vg,
                          'after_header': 'volume group %s' % vg}
    return result
