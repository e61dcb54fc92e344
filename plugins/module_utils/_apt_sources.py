# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``deb`` entries of apt sources, deb822 (``.sources``) or one-line (``sources.list``) form.

Pure Python without Ansible imports: the filter ``debian_mirror`` uses it, and so does the
lab under ``hypervisor/`` (which loads this file by its path) to find the mirror of the
machine it runs on.
"""

from __future__ import annotations


def deb822_stanzas(text):
    """The stanzas of a deb822 text as dicts, keys lower-case, continuation lines joined."""
    stanzas, current, key = [], {}, None
    for line in text.splitlines():
        if line.startswith('#'):
            continue
        if not line.strip():
            if current:
                stanzas.append(current)
            current, key = {}, None
            continue
        if line[0] in ' \t' and key:
            current[key] += ' ' + line.strip()
            continue
        if ':' in line:
            key, value = line.split(':', 1)
            key = key.strip().lower()
            current[key] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def apt_entries(text):
    """``(uri, [suites], [components])`` of the enabled ``deb`` entries of a sources.list or deb822 text."""
    entries = []
    for stanza in deb822_stanzas(text):
        if 'deb' not in stanza.get('types', '').split() or stanza.get('enabled', 'yes').lower() == 'no':
            continue
        for uri in stanza.get('uris', '').split():
            entries.append((uri, stanza.get('suites', '').split(), stanza.get('components', 'main').split()))
    for line in text.splitlines():
        parts = line.split('#', 1)[0].split()
        if len(parts) < 3 or parts[0] != 'deb':
            continue
        parts = parts[1:]
        if parts[0].startswith('['):
            # an options block such as [arch=amd64 signed-by=...]
            while parts and not parts[0].endswith(']'):
                parts = parts[1:]
            parts = parts[1:]
        if len(parts) >= 2:
            entries.append((parts[0], [parts[1]], parts[2:] or ['main']))
    return entries
