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
