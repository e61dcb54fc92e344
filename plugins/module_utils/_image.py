# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``xen_image``: a file-backed disk image of a Xen domain, with the safety rules of ``xen_lv``.

:func:`plan` is pure: the desired image, the file's :class:`FileFacts`, its
blkid signature and who uses it in, an :class:`ImagePlan` of
:class:`~._plan.Action` out, or :class:`ImageError` naming every problem.
:func:`converge` reads only what the plan needs (``os.stat``, blkid,
``losetup``, ``xl list -l``, /proc/mounts), plans and applies: commands through
:class:`~._lvm.Lvm`, file operations as Python calls in the handlers.  A new
image is written as ``PATH.part`` and renamed to ``PATH`` when complete.
"""

from __future__ import annotations

import os
import re
import stat

from ansible_collections.xenops.xen.plugins.module_utils import _plan
from ansible_collections.xenops.xen.plugins.module_utils._lvm import EXT_FILESYSTEMS, LABEL_MAX
from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandError
from ansible_collections.xenops.xen.plugins.module_utils._size import SizeError, format_size, parse_size

PART_SUFFIX = '.part'
LOSETUP_ARGV = ['losetup', '--list', '--noheadings', '--raw', '--output', 'NAME,BACK-FILE']

CREATE = 'create'
MKFS = 'mkfs'
RENAME = 'rename'
RESIZE = 'resize'
GROWFS = 'growfs'
CHMOD = 'chmod'
REMOVE = 'remove'

_MODE_RE = re.compile(r'^(0o)?[0-7]{1,5}$')


class ImageError(Exception):
    """Invalid input or a refused change; the message is meant for the user."""


# ---------------------------------------------------------------------------
# Desired state

class DesiredImage(object):
    """The image as the task asks for it; ``size`` in bytes or None (keep), ``mode`` an int."""

    __slots__ = ('path', 'size', 'state', 'fstype', 'label', 'mode', 'force')

    def __init__(self, path, size=None, state='present', fstype=None, label=None, mode=0o600, force=False):
        self.path = path
        self.size = size
        self.state = state
        self.fstype = None if fstype in (None, 'none') else fstype
        self.label = label
        self.mode = mode
        self.force = bool(force)


def parse_mode(value):
    """An octal mode (``'0600'``, ``'600'``, ``'0o600'``) as an int; :class:`ImageError` otherwise."""
    text = str(value).strip()
    if not _MODE_RE.match(text) or int(text, 8) > 0o7777:
        raise ImageError('mode %r is not an octal file mode such as 0600 (quote it in YAML)' % (value,))
    return int(text, 8)


def desired_image(params):
    """The :class:`DesiredImage` of the module parameters; :class:`ImageError` lists every problem."""
    problems = []
    path = params.get('path')
    if not isinstance(path, str) or not path.startswith('/'):
        problems.append('path must be an absolute path, got %r' % (path,))
    else:
        path = os.path.normpath(path)
        if params['path'].endswith('/'):
            problems.append('path %r must name a file, not a directory' % params['path'])
    size = None
    if params.get('size') is not None:
        try:
            size = parse_size(params['size'])
        except SizeError as exc:
            problems.append(str(exc))
    fstype = None if params.get('fstype') in (None, 'none') else params['fstype']
    label = params.get('label') or None
    if label is not None:
        if not fstype:
            problems.append('label needs fstype ext4, xfs or swap')
        elif len(label.encode('utf-8')) > LABEL_MAX[fstype]:
            problems.append('%s labels are at most %d bytes, %r is longer' % (fstype, LABEL_MAX[fstype], label))
    mode = None
    try:
        mode = parse_mode(params.get('mode', '0600'))
    except ImageError as exc:
        problems.append(str(exc))
    if problems:
        raise ImageError('; '.join(problems))
    return DesiredImage(path, size=size, state=params.get('state') or 'present', fstype=fstype, label=label,
                        mode=mode, force=params.get('force'))


# ---------------------------------------------------------------------------
# Facts and who uses the image

class FileFacts(object):
    """What ``os.stat`` says: ``exists``, ``size``, ``mode``, ``regular``; ``directory``: its directory exists."""

    __slots__ = ('exists', 'size', 'mode', 'regular', 'directory')

    def __init__(self, exists, size=None, mode=None, regular=True, directory=True):
        self.exists = exists
        self.size = size
        self.mode = mode
        self.regular = regular
        self.directory = directory


def file_facts(path):
    """:class:`FileFacts` of ``path`` (symlinks followed)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return FileFacts(False, directory=os.path.isdir(os.path.dirname(path)))
    except OSError as exc:
        raise ImageError('cannot read %s: %s' % (path, exc.strerror or exc))
    return FileFacts(True, st.st_size, stat.S_IMODE(st.st_mode), stat.S_ISREG(st.st_mode))


def parse_losetup(text):
    """``losetup --list --noheadings --raw --output NAME,BACK-FILE``: ``[(loop, file)]`` (``\\xHH`` decoded)."""
    loops = []
    for line in (text or '').splitlines():
        fields = line.split()
        if len(fields) == 2:
            loops.append(tuple(re.sub(r'\\x([0-9a-fA-F]{2})', lambda m: chr(int(m.group(1), 16)), f) for f in fields))
    return loops


def usage(path, loops=(), disks=(), mounts=(), realpath=os.path.realpath):
    """Why ``path`` is in use: loop devices (:func:`parse_losetup`) and their mounts, disks ``(domain, pdev_path,
    vdev)`` of running domains, mounts ``(device, mountpoint, fstype)`` of /proc/mounts; real paths compared.
    """
    real = realpath(path)
    mounted = {}
    for device, mountpoint, fstype in mounts:
        if device.startswith('/'):
            mounted.setdefault(realpath(device), []).append(mountpoint)
    reasons = []
    for name, back in loops:
        if realpath(back) == real:
            where = mounted.get(realpath(name))
            reasons.append('attached to loop device %s%s' % (name, ' (mounted on %s)' % ', '.join(where) if where else ''))
    for domain, pdev, vdev in disks:
        if pdev.startswith('/') and realpath(pdev) == real:
            reasons.append('used by running domain %s' % ('%s (%s)' % (domain, vdev) if vdev else domain))
    reasons += ['mounted on %s' % mountpoint for mountpoint in mounted.get(real, [])]
    return reasons


def _target(desired, facts):
    return desired.size if desired.size is not None else facts.size


def needs_signature(desired, facts):
    """blkid only for an existing image whose content matters: an ``fstype`` is asked, or the size changes."""
    if desired.state != 'present' or not facts.exists or not facts.regular:
        return False
    target = _target(desired, facts)
    # a shrink without force is refused: nothing to read for it
    return bool(desired.fstype) or target > facts.size or (target < facts.size and desired.force)


def needs_usage(desired, facts, signature):
    """The usage probes only before a grow, a forced shrink, mkfs on an existing image or a removal without force."""
    if not facts.exists or not facts.regular:
        return False
    if desired.state == 'absent':
        return not desired.force
    target = _target(desired, facts)
    return (target > facts.size or (target < facts.size and desired.force)
            or (bool(desired.fstype) and signature is None))


# ---------------------------------------------------------------------------
# Plan

def _state(size, fstype, mode):
    return dict(state='present', size=format_size(size), size_bytes=size, fstype=fstype, mode='%04o' % mode)


ABSENT = dict(state='absent')


class ImagePlan(object):
    """The plan of one image: state before and after, actions, warnings."""

    def __init__(self, desired, before):
        self.desired = desired
        self.before = before
        self.after = dict(ABSENT)
        self.actions = []
        self.warnings = []

    def add(self, kind, description, **params):
        self.actions.append(_plan.Action(kind, description, **dict(dict(path=self.desired.path), **params)))


def _mkfs_description(fstype, path):
    return 'create swap area on %s' % path if fstype == 'swap' else 'create %s filesystem on %s' % (fstype, path)


def _plan_create(step, desired, facts, errors, check_mode):
    if desired.size is None:
        errors.append('size is required to create image %s' % desired.path)
    if not facts.directory:
        message = 'directory %s of image %s does not exist' % (os.path.dirname(desired.path), desired.path)
        if check_mode:  # a task before this one may create it: predict the image
            step.warnings.append(message + ' (yet); check mode reports the image as created')
        else:
            errors.append(message + '; create it first')
    if errors:
        return
    part = desired.path + PART_SUFFIX
    step.add(CREATE, 'create sparse file %s of %s (mode %04o)' % (part, format_size(desired.size), desired.mode),
             path=part, size=desired.size, mode=desired.mode)
    if desired.fstype:
        step.add(MKFS, _mkfs_description(desired.fstype, part), path=part, fstype=desired.fstype,
                 label=desired.label)
    step.add(RENAME, 'rename %s to %s' % (part, desired.path), part=part)
    step.after = _state(desired.size, desired.fstype, desired.mode)


def _plan_growfs(step, path, signature):
    """After a grow (never of an image in use): grow what is on the image, or say why not."""
    if signature is None:
        return
    if signature.type in EXT_FILESYSTEMS:
        step.add(GROWFS, 'grow %s filesystem on %s' % (signature.type, path), fstype=signature.type)
    elif signature.type == 'swap':
        step.add(GROWFS, 'rewrite swap signature on %s for the new size' % path, fstype='swap',
                 label=signature.label, uuid=signature.uuid)
    elif signature.type == 'xfs':
        step.warnings.append('xfs on %s was not grown: xfs_growfs needs the filesystem mounted; attach the image to a '
                             'loop device, mount it and run xfs_growfs (or grow it inside the domain)' % path)
    else:
        step.warnings.append('%s holds %s; only ext2/3/4 and swap are grown, grow it yourself' % (path, signature.kind))


def _plan_present(step, desired, facts, signature, users, errors):
    path = desired.path
    target = _target(desired, facts)
    in_use = ', '.join(users)
    if facts.mode != desired.mode:
        step.add(CHMOD, 'set mode of %s to %04o (was %04o)' % (path, desired.mode, facts.mode), mode=desired.mode)
    grown = False
    sizes = (path, format_size(facts.size), format_size(target))
    if target > facts.size:
        if users:
            errors.append('refusing to grow image %s from %s to %s: it is %s; an image in use is never resized'
                          % (sizes + (in_use,)))
        else:
            step.add(RESIZE, 'grow image %s from %s to %s' % sizes, size=target)
            grown = True
    elif target < facts.size:
        if not desired.force:
            errors.append('refusing to shrink image %s from %s to %s: data past the new end is lost '
                          '(set force: true to shrink it anyway)' % sizes)
        elif users:
            errors.append('refusing to shrink image %s: it is %s; an image in use is never shrunk' % (path, in_use))
        else:
            step.add(RESIZE, 'shrink image %s from %s to %s' % sizes, size=target)
            if signature is not None:
                step.warnings.append('%s on %s was not shrunk: it is now larger than its image and the data past the '
                                     'new end is lost' % (signature.kind, path))
    fstype = signature.type if signature is not None else None
    created = False
    if desired.fstype and signature is None:
        if users:
            errors.append('image %s has no filesystem but is %s; refusing to create %s on it'
                          % (path, in_use, desired.fstype))
        else:
            step.add(MKFS, _mkfs_description(desired.fstype, path), fstype=desired.fstype, label=desired.label)
            fstype, created = desired.fstype, True
    elif desired.fstype and signature.type != desired.fstype:
        errors.append('image %s holds %s, not %s; refusing to reformat it (remove the image or wipe it first)'
                      % (path, signature.kind, desired.fstype))
    elif desired.label is not None and signature is not None and signature.label != desired.label:
        step.warnings.append('%s on %s has label %r, not %r; labels are only set when the filesystem is created'
                             % (desired.fstype, path, signature.label, desired.label))
    if grown and not created:
        _plan_growfs(step, path, signature)
    step.after = _state(target, fstype, desired.mode)


def plan(desired, facts, signature=None, users=(), check_mode=False):
    """Plan ``desired`` against ``facts``: an :class:`ImagePlan`, or :class:`ImageError` listing every problem.

    ``signature``: what blkid found (None: blank, or not read, see :func:`needs_signature`); ``users``: the
    reasons of :func:`usage` (empty when not read, see :func:`needs_usage`); in ``check_mode`` a missing directory
    is a warning.
    """
    if facts.exists and not facts.regular:
        raise ImageError('%s exists and is not a regular file; xen_image only manages image files' % desired.path)
    before = _state(facts.size, signature.type if signature else None, facts.mode) if facts.exists else dict(ABSENT)
    step = ImagePlan(desired, before)
    errors = []
    if desired.state == 'absent':
        if facts.exists and users and not desired.force:
            errors.append('refusing to remove image %s: it is %s (set force: true to remove it anyway)'
                          % (desired.path, ', '.join(users)))
        elif facts.exists:
            step.add(REMOVE, 'remove image %s (%s)' % (desired.path, format_size(facts.size)))
    elif not facts.exists:
        _plan_create(step, desired, facts, errors, check_mode)
    else:
        _plan_present(step, desired, facts, signature, users, errors)
    if errors:
        raise ImageError('; '.join(errors))
    return step


# ---------------------------------------------------------------------------
# Applying

def _create(lvm, action):
    if os.path.lexists(action.path):
        os.unlink(action.path)  # a stale PATH.part of an earlier, interrupted run
    fd = os.open(action.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, action.mode)
    try:
        os.fchmod(fd, action.mode)  # os.open applies the umask
        os.ftruncate(fd, action.size)
    finally:
        os.close(fd)


def _rename(lvm, action):
    os.rename(action.part, action.path)
    fd = os.open(os.path.dirname(action.path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _growfs(lvm, action):
    if action.fstype in EXT_FILESYSTEMS:
        lvm.grow_ext(action.path, mounted=False)
    else:
        lvm.grow_swap(action.path, action.label, action.uuid)


def _file_operation(function):
    def handler(lvm, action):
        try:
            function(lvm, action)
        except OSError as exc:
            raise ImageError('%s failed: %s' % (action.description, exc.strerror or exc))
    return handler


HANDLERS = {
    CREATE: _file_operation(_create),
    MKFS: lambda lvm, action: lvm.mkfs(action.path, action.fstype, action.label),
    RENAME: _file_operation(_rename),
    RESIZE: _file_operation(lambda lvm, action: os.truncate(action.path, action.size)),
    GROWFS: _growfs,
    CHMOD: _file_operation(lambda lvm, action: os.chmod(action.path, action.mode)),
    REMOVE: _file_operation(lambda lvm, action: os.unlink(action.path)),
}


def converge(lvm, desired, check_mode=False, diff=False):
    """Read what the plan needs, plan, and (outside check mode) apply; return the module result.

    Raises :class:`ImageError` (nothing changed), :class:`~._runner.CommandError`
    from reading (nothing changed) or :class:`~._plan.ActionFailed`.
    """
    facts = file_facts(desired.path)
    signature = lvm.signature(desired.path) if needs_signature(desired, facts) else None
    users = []
    if needs_usage(desired, facts, signature):
        loops = parse_losetup(lvm.losetup(LOSETUP_ARGV[1:]))
        users = usage(desired.path, loops, lvm.domain_disks(), lvm.mounts())
    step = plan(desired, facts, signature, users, check_mode)
    if not check_mode:
        _plan.apply(step.actions, HANDLERS, (lvm,), errors=(CommandError, ImageError))
    result = dict(changed=bool(step.actions), path=desired.path, size_bytes=step.after.get('size_bytes'),
                  fstype=step.after.get('fstype'), actions=[a.description for a in step.actions],
                  warnings=step.warnings)
    if diff:
        result['diff'] = dict(before=step.before, after=step.after, before_header=desired.path,
                              after_header=desired.path)
    return result
