# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Desired logical volumes of ``xen_lv``: module parameters checked and turned into :class:`DesiredVolume` objects.

Pure code: names (lvm(8) VALID NAMES), sizes (:mod:`._size`), labels.
"""

from __future__ import annotations

import re

from ansible_collections.xenops.xen.plugins.module_utils._lvm import LABEL_MAX
from ansible_collections.xenops.xen.plugins.module_utils._size import SizeError, parse_size


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
        raise VolumeError('; '.join(unique(errors)))
    return desired


def unique(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out
