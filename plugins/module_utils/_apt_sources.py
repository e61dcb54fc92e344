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


#: Suites that belong to a release: its own name and these suffixes (``bookworm-security``...). Debian 10 and
#: older named the security suite ``RELEASE/updates``.
RELEASE_SUFFIXES = ('', '-updates', '-security', '-backports', '-proposed-updates', '/updates')


def _switch_suites(words, old, new):
    """``words`` (suite names) with those of release ``old`` renamed to release ``new``; ``/updates`` becomes
    ``-security``, the name Debian 11 and later give the security suite."""
    out = []
    for word in words:
        for suffix in RELEASE_SUFFIXES:
            if word == old + suffix:
                word = new + ('-security' if suffix == '/updates' else suffix)
                break
        out.append(word)
    return out


def switch_release(text, old, new):
    """The text of an apt sources file (deb822 or one-line form) with the suites of release ``old`` renamed to
    those of release ``new`` (``bookworm`` -> ``trixie``, ``bookworm-security`` -> ``trixie-security``...).

    Only the suite fields change: ``Suites:`` of deb822 stanzas and the suite word of ``deb``/``deb-src`` lines,
    disabled or commented entries included (they stay as they are otherwise); URIs, components, options and
    comments are kept byte for byte.
    """
    if not old or not new:
        raise ValueError('switch_release needs both release names')
    lines = text.splitlines(True)
    out = []
    in_suites = False
    for line in lines:
        body = line.rstrip('\r\n')
        end = line[len(body):]
        stripped = body.lstrip()
        code = stripped[1:].lstrip() if stripped.startswith('#') else stripped
        prefix = body[:len(body) - len(code)]
        key = code.split(':', 1)[0].strip().lower() if ':' in code else ''
        if key == 'suites' or (in_suites and body[:1] in (' ', '\t') and not stripped.startswith('#')):
            head, value = (code.split(':', 1) if key == 'suites' else ('', code))
            words = value.split()
            renamed = _switch_suites(words, old, new)
            if renamed != words:
                lead = value[:len(value) - len(value.lstrip())]
                value = lead + ' '.join(renamed)
                code = (head + ':' + value) if key == 'suites' else value
                body = prefix + code
            in_suites = True if key == 'suites' else in_suites
            out.append(body + end)
            continue
        in_suites = False
        parts = code.split()
        if parts and parts[0] in ('deb', 'deb-src'):
            i = 1
            if len(parts) > i and parts[i].startswith('['):
                while i < len(parts) and not parts[i].endswith(']'):
                    i += 1
                i += 1
            # parts[i] is the URI, parts[i + 1] the suite
            if len(parts) > i + 1:
                renamed = _switch_suites([parts[i + 1]], old, new)[0]
                if renamed != parts[i + 1]:
                    # replace that word in place, keeping the spacing of the line
                    pos = 0
                    for j, word in enumerate(parts):
                        pos = code.index(word, pos)
                        if j == i + 1:
                            code = code[:pos] + renamed + code[pos + len(word):]
                            break
                        pos += len(word)
                    body = prefix + code
        out.append(body + end)
    return ''.join(out)
