# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters over a host's apt sources (deb822 or one-line form): ``debian_mirror``, the Debian archive they name;
``apt_sources_release``, the text with its suites moved to another release."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.xenops.xen.plugins.module_utils._apt_sources import apt_entries, switch_release


def debian_mirror(texts):
    """``{mirror, security_mirror}`` from the texts of a host's apt sources files (see debian_mirror.yml)."""
    if isinstance(texts, (str, bytes)):
        texts = [texts]
    entries = []
    for text in texts or []:
        entries.extend(apt_entries(to_text(text)))
    mirror = security = ''
    for uri, suites, _components in entries:
        is_security = 'security' in uri or any(s.endswith(('-security', '/updates')) for s in suites)
        if is_security and not security:
            security = uri.rstrip('/')
        elif not is_security and not mirror:
            mirror = uri.rstrip('/')
    return {'mirror': mirror, 'security_mirror': security}


def apt_sources_release(text, old, new):
    """``text`` (an apt sources file) with the suites of release ``old`` renamed to those of ``new``."""
    for name, value in (('old', old), ('new', new)):
        if not isinstance(value, str) or not value.strip() or any(c.isspace() or c in '/#' for c in value):
            raise AnsibleFilterError('apt_sources_release: %s must be a Debian release name such as trixie, got %r'
                                     % (name, value))
    return switch_release(to_text(text), old, new)


class FilterModule(object):
    def filters(self):
        return {
            'apt_sources_release': apt_sources_release,
            'debian_mirror': debian_mirror,
        }
