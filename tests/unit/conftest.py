# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared by every unit test.

pytest reads this file first and, in its default (prepend) import mode, puts
this directory on ``sys.path``, so a test does ``import labdata`` for the
output captured on the Xen lab; it also puts each test's own directory there,
so the module scenario tests do ``from utils import ...`` without touching
``sys.path`` themselves.
"""

from __future__ import annotations

import pytest

import labdata


@pytest.fixture
def lab_text():
    """``lab_text(NAME)``: the text of a captured fixture file."""
    return labdata.text
