# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):
    """Module attributes (and the author) shared by the modules of this collection.

    ``xenops.xen.attributes`` describes the attributes; a module adds its
    ``support`` (and ``details``) under ``attributes:`` or takes them from
    ``xenops.xen.attributes.info_module`` when it only reads.
    """

    DOCUMENTATION = r'''
options: {}
author:
  - xenops.xen contributors (@xenops)
attributes:
  check_mode:
    description: Can run in check mode and return the changed status prediction without changing the target.
  diff_mode:
    description: Returns details on what has changed (or would change in check mode) when run with C(--diff).
  idempotent:
    description: Running the task twice in a row with the same arguments, the second run reports no change.
'''

    # For modules that only read and never change anything.
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    details: The module never changes anything, so it runs the same in check mode.
  diff_mode:
    support: none
    details: The module never changes anything, so there is no diff.
  idempotent:
    support: full
    details: The module never changes anything.
'''
