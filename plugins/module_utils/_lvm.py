# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""LVM, blkid and mkfs: pure parsers and a thin service over the runner.

Parsers (no I/O): :func:`parse_lvs`, :func:`parse_vgs`, :func:`parse_blkid_export`, :func:`parse_blkid_export_devices`,
:func:`parse_pvs`; who uses a device is in :mod:`._inuse`.

Service: :class:`Lvm` runs every command through
:class:`~._runner.CommandRunner`; it holds no state besides the runner.

Sizes are always bytes (``int``).  Commands are given sizes with an explicit
``b`` (bytes) unit so nothing depends on LVM's default unit (MiB for ``-L``).
"""

from __future__ import annotations

import json
import re
from collections import namedtuple

from ansible_collections.xenops.xen.plugins.module_utils._plan import ActionFailed, finish
from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandError, CommandRunner
from ansible_collections.xenops.xen.plugins.module_utils._inuse import domain_disks, read_mounts
from ansible_collections.xenops.xen.plugins.module_utils._xl import Toolstack

LVS_ARGV = ['lvs', '--reportformat', 'json', '--units', 'b', '--nosuffix',
            '-o', 'vg_name,lv_name,lv_path,lv_size,lv_attr']
VGS_ARGV = ['vgs', '--reportformat', 'json', '--units', 'b', '--nosuffix',
            '-o', 'vg_name,vg_size,vg_free,vg_extent_size,vg_free_count']
PVS_ARGV = ['pvs', '--reportformat', 'json', '-o', 'pv_name,vg_name']

# blkid exit codes (blkid(8)): 2 = nothing found (or the device cannot be
# opened), 8 = ambivalent result (more than one signature).
BLKID_NOT_FOUND = 2
BLKID_AMBIVALENT = 8

EXT_FILESYSTEMS = ('ext2', 'ext3', 'ext4')

# Maximum label length, in bytes, of each filesystem type mkfs can create.
LABEL_MAX = {'ext4': 16, 'xfs': 12, 'swap': 16}
# what a new volume or image file can be made with (none: left empty)
FSTYPES = ('ext4', 'xfs', 'swap', 'none')


class LvmParseError(ValueError):
    """Output of an LVM command that does not have the expected shape."""

    def as_result(self):
        return {'msg': 'cannot read what LVM reports, nothing was changed: %s' % self}


# ---------------------------------------------------------------------------
# lvs / vgs

class LogicalVolume(object):
    """One row of the ``lvs`` report."""

    __slots__ = ('vg', 'name', 'path', 'size', 'attr')

    def __init__(self, vg, name, path, size, attr):
        self.vg = vg
        self.name = name
        self.path = path or '/dev/%s/%s' % (vg, name)
        self.size = size
        self.attr = attr

    @property
    def active(self):
        """lv_attr character 5: ``a`` = active."""
        return len(self.attr) > 4 and self.attr[4] == 'a'

    @property
    def open(self):
        """lv_attr character 6: ``o`` = the device is open (a running domain, a mount...)."""
        return len(self.attr) > 5 and self.attr[5] == 'o'

    def __repr__(self):
        return 'LogicalVolume(%r, %r, %r, %r, %r)' % (self.vg, self.name, self.path, self.size, self.attr)


class VolumeGroup(object):
    """One row of the ``vgs`` report (sizes in bytes)."""

    __slots__ = ('name', 'size', 'free', 'extent_size', 'free_count')

    def __init__(self, name, size, free, extent_size, free_count):
        self.name = name
        self.size = size
        self.free = free
        self.extent_size = extent_size
        self.free_count = free_count

    def __repr__(self):
        return 'VolumeGroup(%r, %r, %r, %r, %r)' % (self.name, self.size, self.free, self.extent_size, self.free_count)


class Report(object):
    """What LVM says about volume groups and logical volumes, read once."""

    def __init__(self, vgs, lvs):
        self.vgs = dict((vg.name, vg) for vg in vgs)
        self.lvs = dict(((lv.vg, lv.name), lv) for lv in lvs)

    def vg(self, name):
        return self.vgs.get(name)

    def lv(self, vg, name):
        return self.lvs.get((vg, name))


def _report_rows(data, key, command):
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise LvmParseError('%s printed output that is not JSON: %s' % (command, exc))
    if not isinstance(data, dict) or not isinstance(data.get('report'), list):
        raise LvmParseError('%s output has no "report" list' % command)
    rows = []
    for section in data['report']:
        if isinstance(section, dict):
            rows.extend(section.get(key) or [])
    return rows


def _int_field(row, field, command):
    value = row.get(field)
    try:
        return int(str(value).strip())
    except ValueError:
        raise LvmParseError('%s: field %s is not a whole number of bytes: %r (run with --units b --nosuffix)'
                            % (command, field, value))


def lv_rows(data):
    """The rows (dicts of the fields asked for) of ``lvs --reportformat json`` output, text or decoded."""
    return _report_rows(data, 'lv', 'lvs')


def parse_lvs(data):
    """Parse ``lvs --reportformat json --units b --nosuffix -o vg_name,lv_name,lv_path,lv_size,lv_attr``.

    ``data`` is the JSON text or the decoded object; returns a list of
    :class:`LogicalVolume`.
    """
    return [LogicalVolume(row.get('vg_name', ''), row.get('lv_name', ''), row.get('lv_path', ''),
                          _int_field(row, 'lv_size', 'lvs'), row.get('lv_attr', ''))
            for row in lv_rows(data)]


def parse_pvs(data):
    """Parse ``pvs --reportformat json -o pv_name,vg_name``: ``{pv_name: vg_name}`` (``''`` for a PV in no group)."""
    return dict((row.get('pv_name', ''), row.get('vg_name', '')) for row in _report_rows(data, 'pv', 'pvs'))


def parse_vgs(data):
    """Parse ``vgs --reportformat json --units b --nosuffix -o vg_name,vg_size,vg_free,vg_extent_size,vg_free_count``."""
    return [VolumeGroup(row.get('vg_name', ''), _int_field(row, 'vg_size', 'vgs'), _int_field(row, 'vg_free', 'vgs'),
                        _int_field(row, 'vg_extent_size', 'vgs'), _int_field(row, 'vg_free_count', 'vgs'))
            for row in _report_rows(data, 'vg', 'vgs')]


# ---------------------------------------------------------------------------
# blkid

class Signature(namedtuple('Signature', ('type', 'label', 'uuid', 'pttype'), defaults=(None, None, None, None))):
    """What ``blkid -p`` found on a device: a filesystem (TYPE) or a partition table (PTTYPE)."""

    __slots__ = ()

    @property
    def kind(self):
        """A short name for messages: ``ext4``, ``swap``, ``dos partition table``."""
        if self.type:
            return self.type
        if self.pttype:
            return '%s partition table' % self.pttype
        return 'unknown signature'


def _unescape_blkid(value):
    # ``-o export`` escapes characters that are not safe in a shell with a
    # backslash (blkid's safe_print); drop the backslashes.
    return re.sub(r'\\(.)', r'\1', value)


def parse_blkid_export(text):
    """Parse ``blkid -p -o export DEVICE`` output; return a :class:`Signature` or None."""
    fields = {}
    for line in (text or '').splitlines():
        key, sep, value = line.strip().partition('=')
        if sep:
            fields[key] = _unescape_blkid(value)
    if not fields.get('TYPE') and not fields.get('PTTYPE'):
        return None
    return Signature(type=fields.get('TYPE'), label=fields.get('LABEL'), uuid=fields.get('UUID'),
                     pttype=fields.get('PTTYPE'))


def parse_blkid_export_devices(text):
    """Parse ``blkid -p -o export DEVICE...``: ``{DEVNAME: Signature or None}``.

    Each device is a block of ``KEY=value`` lines starting with ``DEVNAME``;
    blocks are separated by an empty line.
    """
    devices = {}
    for block in re.split(r'\n\s*\n', (text or '').strip()):
        devname = None
        for line in block.splitlines():
            key, sep, value = line.strip().partition('=')
            if sep and key == 'DEVNAME':
                devname = _unescape_blkid(value)
        if devname:
            devices[devname] = parse_blkid_export(block)
    return devices


# ---------------------------------------------------------------------------
# Service

class Lvm(object):
    """LVM, blkid and mkfs commands through a :class:`~._runner.CommandRunner`."""

    def __init__(self, runner, toolstack=None):
        self.runner = runner
        self.toolstack = toolstack or Toolstack(runner)

    def report(self, vgs=None):
        """Run ``lvs`` and ``vgs`` once each; return a :class:`Report`.

        The commands always list every VG (so an unknown VG can be reported
        with the names that exist); ``vgs`` only filters the result.
        """
        lv_rows = parse_lvs(self.runner.run_json(LVS_ARGV))
        vg_rows = parse_vgs(self.runner.run_json(VGS_ARGV))
        if vgs is not None:
            wanted = set(vgs)
            lv_rows = [lv for lv in lv_rows if lv.vg in wanted]
        return Report(vg_rows, lv_rows)

    def volume_groups(self):
        """Names of the volume groups (``vgs`` alone)."""
        return set(vg.name for vg in parse_vgs(self.runner.run_json(VGS_ARGV)))

    def physical_volumes(self):
        """``{device: volume group}`` of every physical volume (``''``: in no group)."""
        return parse_pvs(self.runner.run_json(PVS_ARGV))

    def pvcreate(self, device):
        self.runner.run(['pvcreate', '--yes', device])

    def vgcreate(self, vg, devices):
        self.runner.run(['vgcreate', vg] + list(devices))

    def vgextend(self, vg, devices):
        self.runner.run(['vgextend', vg] + list(devices))

    def create(self, vg, name, size):
        self.runner.run(['lvcreate', '-y', '--wipesignatures', 'y', '-n', name, '-L', '%db' % size, vg])

    def extend(self, path, size):
        self.runner.run(['lvextend', '-L', '%db' % size, path])

    def reduce(self, path, size):
        """Shrink the volume; the filesystem on it is not shrunk (only called with ``force``)."""
        self.runner.run(['lvreduce', '-f', '-L', '%db' % size, path])

    def remove(self, path):
        self.runner.run(['lvremove', '-f', path])

    def signature(self, path):
        """Return the :class:`Signature` on ``path`` or None when blkid finds nothing (rc 2)."""
        return self.signatures([path])[path]

    def signatures(self, paths):
        """``{path: Signature or None}`` for several devices, with as few blkid runs as possible.

        ``blkid -p`` probes the devices in order and stops at the first one
        without a signature (rc 2; util-linux 2.38): the devices before it are
        printed, that one is blank, and the next run starts after it.  When
        every device has a signature (a run that changes nothing), that is
        one command for all of them.
        """
        found = {}
        rest = list(paths)
        while rest:
            result = self.runner.run(['blkid', '-p', '-o', 'export'] + rest, check=False, expect_output=True)
            if result.rc not in (0, BLKID_NOT_FOUND, BLKID_AMBIVALENT):
                raise CommandError(result.cmd, result.rc, result.stdout, result.stderr)
            printed = parse_blkid_export_devices(result.stdout)
            missing = [path for path in rest if path not in printed]
            if missing and result.rc == BLKID_AMBIVALENT:
                raise CommandError(result.cmd, result.rc, result.stdout, result.stderr,
                                   msg='%s carries more than one signature (blkid rc 8); inspect it with wipefs'
                                   % missing[0])
            if missing and result.rc == 0:
                raise CommandError(result.cmd, result.rc, result.stdout, result.stderr,
                                   msg='blkid printed nothing for %s' % missing[0])
            found.update((path, printed[path]) for path in rest if path in printed)
            if missing:
                found[missing[0]] = None
            rest = missing[1:]
        return found

    def mkfs(self, path, fstype, label=None):
        label_args = ['-L', label] if label else []
        if fstype == 'swap':
            argv = ['mkswap'] + label_args + [path]
        elif fstype in ('ext4', 'xfs'):
            argv = ['mkfs.%s' % fstype, '-q'] + label_args + [path]
        else:
            raise ValueError('cannot create a filesystem of type %r' % (fstype,))
        self.runner.run(argv)

    def grow_ext(self, path, mounted):
        """Grow an ext2/3/4 filesystem to its device.

        Mounted: ``resize2fs`` grows it online.  Not mounted: ``resize2fs``
        refuses a filesystem that was mounted since its last check, so
        ``e2fsck -f -p`` runs first (rc 1 = errors fixed, still fine).
        """
        if not mounted:
            result = self.runner.run(['e2fsck', '-f', '-p', path], check=False)
            if result.rc not in (0, 1):
                raise CommandError(result.cmd, result.rc, result.stdout, result.stderr)
        self.runner.run(['resize2fs', path])

    def grow_xfs(self, mountpoint):
        self.runner.run(['xfs_growfs', mountpoint])

    def grow_swap(self, path, label=None, uuid=None):
        """Rewrite the swap signature for the new size, keeping its label and UUID."""
        argv = ['mkswap']
        if label:
            argv += ['-L', label]
        if uuid:
            argv += ['-U', uuid]
        self.runner.run(argv + [path])

    def losetup(self, argv):
        """Output of a ``losetup`` listing (``argv`` its arguments after the program name)."""
        return self.runner.run(['losetup'] + list(argv)).stdout

    def mounts(self):
        return read_mounts()

    def xl_installed(self):
        return self.runner.find('xl') is not None

    def domain_disks(self):
        """Disks of running domains (``xl list -l``); none when xl is not installed."""
        if not self.xl_installed():
            return []
        return domain_disks(self.toolstack.list_long())


def finish_lvm(module, errors, work):
    """End a module of LVM volumes, volume groups or images: ``work(lvm)`` with the host's :class:`Lvm` returns
    the result; one of ``errors``, an unexpected LVM report, a failed command or action fails the task."""
    finish(module, lambda: work(Lvm(CommandRunner(module))), tuple(errors) + (LvmParseError, CommandError, ActionFailed))
