# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Who uses a block device: paths of the same device, mounts of dom0, disks of running domains.

Pure parsers, and :func:`read_mounts` (the one file read here).
"""

from __future__ import annotations

import os
import re
import stat

from ansible_collections.xenops.xen.plugins.module_utils._names import DOM0_NAME

# Seam for tests: the file read by :func:`read_mounts`.
PROC_MOUNTS = '/proc/mounts'


# ---------------------------------------------------------------------------
# Matching device paths: /dev/VG/LV, /dev/mapper/VG-LV, symlinks

def split_dm_name(name):
    """Split a device-mapper name ``vg_xen-news--root`` into ``('vg_xen', 'news-root')``.

    LVM doubles the hyphens inside VG and LV names and joins them with a
    single hyphen.  Returns None when the name is not of that form.
    """
    index = 0
    while index < len(name):
        if name[index] != '-':
            index += 1
        elif name[index + 1:index + 2] == '-':
            index += 2
        else:
            if index == 0 or index == len(name) - 1:
                return None
            return name[:index].replace('--', '-'), name[index + 1:].replace('--', '-')
    return None


def path_keys(path, exists=os.path.exists, realpath=os.path.realpath):
    """Keys under which ``path`` may match another path to the same device.

    ``('lv', VG, LV)`` for ``/dev/VG/LV`` and ``/dev/mapper/VG-LV``, and
    ``('dev', REALPATH)`` when the path exists (symlinks resolved).
    """
    keys = set()
    if not path:
        return keys
    norm = os.path.normpath(path)
    parts = norm.split('/')
    if len(parts) == 4 and parts[:2] == ['', 'dev']:
        if parts[2] == 'mapper':
            split = split_dm_name(parts[3])
            if split:
                keys.add(('lv',) + split)
        else:
            keys.add(('lv', parts[2], parts[3]))
    if exists(norm):
        keys.add(('dev', realpath(norm)))
    return keys


def device_identity(path, stat_path=os.stat, realpath=os.path.realpath):
    """What makes two names of one device equal, whatever their spelling.

    A block device is its ``('block', major, minor)`` (``/dev/mapper/NAME``,
    ``/dev/dm-N`` and a udev link of it alike, even where ``/dev/mapper/NAME``
    is a node of its own rather than a link); anything else that exists is its
    real path; a name that does not resolve is its normalised spelling.
    """
    try:
        info = stat_path(path)
    except (OSError, TypeError, ValueError):
        return ('name', os.path.normpath(path) if isinstance(path, str) else path)
    if stat.S_ISBLK(info.st_mode):
        return ('block', os.major(info.st_rdev), os.minor(info.st_rdev))
    return ('path', realpath(path))


def lv_keys(lv, exists=os.path.exists, realpath=os.path.realpath):
    """Keys of a logical volume (see :func:`path_keys`)."""
    return path_keys(lv.path, exists, realpath) | set([('lv', lv.vg, lv.name)])


# ---------------------------------------------------------------------------
# /proc/mounts

def _unescape_mounts(value):
    # /proc/mounts escapes space, tab, newline and backslash as \ooo.
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), value)


def parse_mounts(text):
    """Parse /proc/mounts; return a list of ``(device, mountpoint, fstype)``."""
    mounts = []
    for line in (text or '').splitlines():
        fields = line.split()
        if len(fields) >= 3:
            mounts.append((_unescape_mounts(fields[0]), _unescape_mounts(fields[1]), fields[2]))
    return mounts


def read_mounts():
    """Read :data:`PROC_MOUNTS` (a file, not a command)."""
    with open(PROC_MOUNTS) as handle:
        return parse_mounts(handle.read())


# ---------------------------------------------------------------------------
# Disks of running domains

def domain_disks(entries):
    """``[(domain, pdev_path, vdev)]`` of every domain but Domain-0.

    ``entries`` is ``xl list -l`` as parsed by :func:`~._xl.parse_list_long`;
    every domain it lists exists (running, paused...) and holds its disks.
    """
    disks = []
    for entry in entries:
        config = entry.get('config') or {}
        name = (config.get('c_info') or {}).get('name')
        if entry.get('domid') == 0 or name == DOM0_NAME:
            continue
        for disk in config.get('disks') or []:
            path = disk.get('pdev_path')
            if path:
                if not path.startswith('/') and not disk.get('script'):
                    # libxl opens a relative phy: target below /dev
                    path = '/dev/' + path
                disks.append((name, path, disk.get('vdev')))
    return disks
