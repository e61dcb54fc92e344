# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Applying ``xen_lv`` plans: one LVM report, the probes the plan needs, then the actions.

:func:`converge` drives a :class:`~._lvm.Lvm` service passed in; the actions
run with the handler table of :mod:`._plan`.
"""

from __future__ import annotations

from ansible_collections.xenops.xen.plugins.module_utils import _plan
from ansible_collections.xenops.xen.plugins.module_utils._lvm import EXT_FILESYSTEMS
from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandError
from ansible_collections.xenops.xen.plugins.module_utils._volume import (
    CREATE, EXTEND, GROWFS, MKFS, REDUCE, REMOVE, plan, probes, usage)
from ansible_collections.xenops.xen.plugins.module_utils._volume_spec import VolumeError


# ---------------------------------------------------------------------------
# Running the plan against a service

def _mkfs(lvm, action):
    if action.check_blank:
        signature = lvm.signature(action.path)
        if signature is not None:
            raise VolumeError('new volume %s already carries %s; not creating %s on it'
                              % (action.path, signature.kind, action.fstype))
    lvm.mkfs(action.path, action.fstype, action.label)


def _growfs(lvm, action):
    if action.fstype in EXT_FILESYSTEMS:
        lvm.grow_ext(action.path, mounted=bool(action.mountpoint))
    elif action.fstype == 'xfs':
        lvm.grow_xfs(action.mountpoint)
    else:
        lvm.grow_swap(action.path, action.label, action.uuid)


HANDLERS = {
    CREATE: lambda lvm, action: lvm.create(action.vg, action.name, action.size),
    MKFS: _mkfs,
    EXTEND: lambda lvm, action: lvm.extend(action.path, action.size),
    GROWFS: _growfs,
    REDUCE: lambda lvm, action: lvm.reduce(action.path, action.size),
    REMOVE: lambda lvm, action: lvm.remove(action.path),
}


def execute(lvm, action):
    """Run one :class:`~._plan.Action` with an :class:`~._lvm.Lvm` service."""
    _plan.apply([action], HANDLERS, (lvm,), errors=())


def converge(lvm, desired, check_mode=False, diff=False):
    """Read once, plan, and (outside check mode) apply; return the module result.

    Raises :class:`VolumeError` (nothing changed), :class:`~._runner.CommandError`
    from reading commands (nothing changed) or :class:`~._plan.ActionFailed` (a
    change failed; it carries what was done before).
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
        _plan.apply(result_plan.actions, HANDLERS, (lvm,), errors=(CommandError, VolumeError))
    result = dict(changed=result_plan.changed,
                  volumes=[step.result() for step in result_plan.volumes],
                  actions=[action.description for action in result_plan.actions],
                  warnings=result_plan.warnings)
    if diff:
        result['diff'] = [step.diff() for step in result_plan.volumes if step.changed]
    return result
