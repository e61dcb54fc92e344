# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filter ``debian_mirror``: the Debian archive named in a host's apt sources (deb822 or one-line form)."""

from __future__ import annotations

from ansible.module_utils.common.text.converters import to_text


def _deb822_stanzas(text):
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
    """``(uri, [suites])`` of the ``deb`` entries in a sources.list or deb822 .sources text."""
    text = to_text(text)
    entries = []
    for stanza in _deb822_stanzas(text):
        if 'deb' not in stanza.get('types', '').split() or stanza.get('enabled', 'yes').lower() == 'no':
            continue
        for uri in stanza.get('uris', '').split():
            entries.append((uri, stanza.get('suites', '').split()))
    for line in text.splitlines():
        parts = line.split('#', 1)[0].split()
        if len(parts) < 3 or parts[0] != 'deb':
            continue
        parts = parts[1:]
        if parts[0].startswith('['):
            while parts and not parts[0].endswith(']'):
                parts = parts[1:]
            parts = parts[1:]
        if len(parts) >= 2:
            entries.append((parts[0], [parts[1]]))
    return entries


def debian_mirror(texts):
    """``{mirror, security_mirror}`` from the texts of a host's apt sources files (see debian_mirror.yml)."""
    if isinstance(texts, (str, bytes)):
        texts = [texts]
    entries = []
    for text in texts or []:
        entries.extend(apt_entries(text))
    mirror = security = ''
    for uri, suites in entries:
        is_security = 'security' in uri or any(s.endswith(('-security', '/updates')) for s in suites)
        if is_security and not security:
            security = uri.rstrip('/')
        elif not is_security and not mirror:
            mirror = uri.rstrip('/')
    return {'mirror': mirror, 'security_mirror': security}


class FilterModule(object):
    def filters(self):
        return {
            'debian_mirror': debian_mirror,
        }
