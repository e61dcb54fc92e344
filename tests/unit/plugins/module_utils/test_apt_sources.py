# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""_apt_sources: the one apt sources parser of the collection and of the lab."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import pytest

from ansible_collections.xenops.xen.plugins.module_utils import _apt_sources

DEB822 = """# main archive
Types: deb deb-src
URIs: http://archive.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security

Types: deb
Enabled: no
URIs: http://off.example/debian
Suites: bookworm

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
"""
ONE_LINE = """deb http://mirror.example/debian bookworm main non-free-firmware
# deb http://commented.example/debian bookworm main
deb [arch=amd64 signed-by=/etc/apt/keyrings/x.gpg] http://options.example/debian bookworm main
deb-src http://src.example/debian bookworm main
deb http://bare.example/debian bookworm
"""


@pytest.mark.parametrize('text, entries', [
    (DEB822, [('http://archive.example/debian', ['bookworm', 'bookworm-updates'], ['main', 'contrib']),
              ('http://security.example/debian-security', ['bookworm-security'], ['main'])]),
    (ONE_LINE, [('http://mirror.example/debian', ['bookworm'], ['main', 'non-free-firmware']),
                ('http://options.example/debian', ['bookworm'], ['main']),
                ('http://bare.example/debian', ['bookworm'], ['main'])]),
    ('', []),
])
def test_apt_entries(text, entries):
    assert _apt_sources.apt_entries(text) == entries


def test_continuation_lines_are_joined():
    stanzas = _apt_sources.deb822_stanzas('Types: deb\nURIs: http://a.example/debian\n http://b.example/debian\n')
    assert stanzas == [{'types': 'deb', 'uris': 'http://a.example/debian http://b.example/debian'}]


def test_the_lab_uses_the_same_parser():
    xenlab = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'hypervisor', 'xenlab')
    spec = importlib.util.spec_from_file_location('xenlab', os.path.join(xenlab, '__init__.py'),
                                                  submodule_search_locations=[xenlab])
    package = importlib.util.module_from_spec(spec)
    sys.modules['xenlab'] = package
    spec.loader.exec_module(package)
    common = importlib.import_module('xenlab.common')
    parser = common._apt_sources_parser()
    assert os.path.samefile(parser.__file__, _apt_sources.__file__)
    assert parser.apt_entries(DEB822 + '\n' + ONE_LINE) == _apt_sources.apt_entries(DEB822 + '\n' + ONE_LINE)


# the apt sources of a Debian 12 lab host (hypervisor/lab writes them like Debian's installer does)
LAB_BOOKWORM = """Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def test_a_release_upgrade_renames_the_suites_of_a_deb822_file_and_nothing_else():
    new = _apt_sources.switch_release(LAB_BOOKWORM, 'bookworm', 'trixie')
    assert new == LAB_BOOKWORM.replace('bookworm', 'trixie')
    assert [e[1] for e in _apt_sources.apt_entries(new)] == [['trixie', 'trixie-updates'], ['trixie-security']]
    # the disabled stanza, a continuation line and other suites
    text = DEB822.replace('Suites: bookworm bookworm-updates', 'Suites: bookworm\n  bookworm-backports sid')
    out = _apt_sources.switch_release(text, 'bookworm', 'trixie')
    assert 'Suites: trixie\n  trixie-backports sid\n' in out
    assert 'URIs: http://archive.example/debian\n' in out and 'Enabled: no\n' in out
    assert out.count('trixie') == text.count('bookworm') and 'bookworm' not in out


def test_a_release_upgrade_renames_the_suite_of_one_line_entries_in_place():
    text = ("deb http://deb.debian.org/debian bookworm main contrib\r\n"
            "deb [arch=amd64 signed-by=/k.gpg]  http://security.debian.org/debian-security  bookworm-security main\n"
            "#deb-src http://deb.debian.org/debian bookworm main\n"
            "deb http://mirror.example/bookworm bookworm-backports main  # comment bookworm\n"
            "deb http://security.debian.org/ bullseye/updates main\n"
            "deb http://deb.debian.org/debian bookwormish main\n")
    out = _apt_sources.switch_release(text, 'bookworm', 'trixie')
    assert out == ("deb http://deb.debian.org/debian trixie main contrib\r\n"
                   "deb [arch=amd64 signed-by=/k.gpg]  http://security.debian.org/debian-security  trixie-security main\n"
                   "#deb-src http://deb.debian.org/debian trixie main\n"
                   "deb http://mirror.example/bookworm trixie-backports main  # comment bookworm\n"
                   "deb http://security.debian.org/ bullseye/updates main\n"
                   "deb http://deb.debian.org/debian bookwormish main\n")
    assert _apt_sources.switch_release("deb http://s.example/ bullseye/updates main\n", 'bullseye', 'bookworm') == \
        "deb http://s.example/ bookworm-security main\n"


def test_the_filter_refuses_a_release_that_is_not_a_name():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.xenops.xen.plugins.filter.apt_sources import apt_sources_release
    assert apt_sources_release(LAB_BOOKWORM, 'bookworm', 'trixie').count('trixie') == 3
    for bad in ('', 'trixie main', None, 13):
        with pytest.raises(AnsibleFilterError, match='new must be a Debian release name'):
            apt_sources_release(LAB_BOOKWORM, 'bookworm', bad)
