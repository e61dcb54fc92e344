# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Files the modules write: a new content is first written to a file of its own, then moved over the old one."""

from __future__ import annotations

import os


def write_new(path, text, mode):
    """Create ``path`` anew with ``text`` (a leftover of an interrupted run is removed first); ``mode`` less the umask."""
    if os.path.lexists(path):
        os.remove(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, text.encode('utf-8'))
    finally:
        os.close(fd)
