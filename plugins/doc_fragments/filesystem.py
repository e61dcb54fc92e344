# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):
    """The file system options of the modules that make domain disks (``xen_lv``, ``xen_image``)."""

    DOCUMENTATION = r'''
options:
  fstype:
    description:
      - Filesystem the disk holds. Created when the disk has no signature at all (new or blank); a disk that holds
        something else is an error, never reformatted.
      - V(none) leaves whatever is on the disk alone.
    type: str
    choices: [ext4, xfs, swap, none]
    default: none
  label:
    description:
      - Label given to the filesystem when it is created (at most 16 bytes for ext4 and swap, 12 for xfs). Needs
        O(fstype).
      - An existing filesystem with another label is left alone, with a warning.
    type: str
'''
