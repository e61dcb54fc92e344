# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filter ``debian_mirror``: the Debian archive named in a host's apt sources (deb822 or one-line form)."""

from __future__ import annotations

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.xenops.xen.plugins.module_utils._apt_sources import apt_entries


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


class FilterModule(object):
    def filters(self):
        return {
            'debian_mirror': debian_mirror,
        }
