# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fixtures of the module scenario tests: the /proc/mounts seam and the module's warnings."""

from __future__ import annotations

from unittest import mock

import pytest

from ansible.module_utils import basic

from ansible_collections.xenops.xen.plugins.module_utils import _inuse


@pytest.fixture(autouse=True)
def proc_mounts(tmp_path, monkeypatch):
    """/proc/mounts seam: nothing of the test's disks mounted unless a test writes to it."""
    path = tmp_path / 'mounts'
    path.write_text('proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n')
    monkeypatch.setattr(_inuse, 'PROC_MOUNTS', str(path))
    return path


@pytest.fixture
def warnings():
    """The messages the module passed to ``warn``."""
    seen = []
    with mock.patch.object(basic.AnsibleModule, 'warn', lambda module, msg: seen.append(msg)):
        yield seen
