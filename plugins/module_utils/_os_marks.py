# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which root disks of the domains role still need an OS installed, and which of those are in use.

Pure: the role reads ``lvs`` (JSON, with ``lv_path,lv_tags,lv_attr``), the image files and their
stamps (``find``), and the files behind loop devices (``losetup``), and hands the output here.

A root volume carries the LVM tag ``xenops_os=<suite>`` once an OS is installed on it; a root image
file carries a stamp file next to it (``<image>.xenops-os``), which only counts when the image was
found too (the role removes the stale stamp of an image it makes).  A root disk without its mark is
installed into, unless it is in use: an open volume (a running domain, a mount) or an image behind
a loop device is reported and left alone.
"""

from __future__ import annotations

from ansible_collections.xenops.xen.plugins.module_utils._lvm import lv_rows

MARK_TAG = 'xenops_os'
STAMP_SUFFIX = '.xenops-os'


def _tagged(row):
    return any(tag.split('=', 1)[0] == MARK_TAG and '=' in tag for tag in (row.get('lv_tags') or '').split(','))


def _open(row):
    attr = row.get('lv_attr') or ''
    return len(attr) > 5 and attr[5] == 'o'


def os_install_roots(roots, lvs='', image_files=(), loop_files=()):
    """``{'unmarked', 'pending', 'busy'}`` for the domain plan's ``roots`` (dicts with ``marker`` and ``device``).

    ``unmarked``: the roots without a mark of an installed OS; ``pending``: those of them not in use
    (to install into); ``busy``: the devices of those in use.  ``lvs`` is the ``lvs`` JSON text ('' when
    it was not read), ``image_files`` the paths found of the images and stamps, ``loop_files`` the
    lines of ``losetup --list --noheadings --output BACK-FILE``.  An ``lvs`` output that cannot be
    read raises :class:`._lvm.LvmParseError`.
    """
    rows = lv_rows(lvs) if lvs else []
    found = set(image_files or ())
    marked = set(row.get('lv_path') for row in rows if _tagged(row))
    marked.update(path for path in found if path.endswith(STAMP_SUFFIX) and path[:-len(STAMP_SUFFIX)] in found)
    busy_paths = set(row.get('lv_path') for row in rows if _open(row))
    busy_paths.update(line.strip() for line in loop_files or () if line.strip())
    unmarked = [root for root in roots if root['marker'] not in marked]
    return {'unmarked': unmarked,
            'pending': [root for root in unmarked if root['device'] not in busy_paths],
            'busy': [root['device'] for root in unmarked if root['device'] in busy_paths]}
