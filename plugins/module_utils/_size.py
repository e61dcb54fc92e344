# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Sizes: the one size grammar of the collection (``xen_lv``, the domains role's filters), extents, display.

Sizes are always bytes (``int``).
"""

from __future__ import annotations

import re
from fractions import Fraction

KIB = 1024
UNITS = {'': 1, 'b': 1, 'k': KIB, 'm': KIB ** 2, 'g': KIB ** 3, 't': KIB ** 4, 'p': KIB ** 5}

_SIZE_RE = re.compile(r'^(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[a-zA-Z]*)$')
_UNIT_RE = re.compile(r'^(?P<letter>[bkmgtp])(?P<ib>ib)?$')


class SizeError(ValueError):
    """A size the module does not accept; the message is meant for the user."""


def parse_size(value):
    """Parse an absolute size into bytes (``int``, rounded up to a whole byte).

    Accepted: a plain number of bytes (``1073741824``, also as an int), or a
    number with a unit ``B``, ``K``, ``M``, ``G``, ``T``, ``P`` optionally
    followed by ``iB`` (``512M``, ``1.5g``, ``10GiB``, ``2048m``).  Like
    ``lvcreate -L`` (lvcreate(8): "input units are always treated as base two
    values, regardless of capitalization"), every unit is binary: ``1G`` and
    ``1g`` are both 1024 MiB.  Unlike ``lvcreate -L``, a number without a
    unit is bytes, not MiB.

    Refused with a message: relative sizes (``+1G``, ``-1G``), percentages
    (``100%FREE``, ``50%VG``), decimal units (``GB``), zero and negative sizes.
    """
    if isinstance(value, bool):
        raise SizeError('size must be a number of bytes or a string such as 10G, got %r' % (value,))
    if isinstance(value, int):
        if value <= 0:
            raise SizeError('size must be greater than zero, got %d' % value)
        return value
    if not isinstance(value, str):
        raise SizeError('size must be a number of bytes or a string such as 10G, got %r' % (value,))
    text = value.strip()
    if not text:
        raise SizeError('size must not be empty')
    if '%' in text:
        raise SizeError('size %r is a percentage (%%FREE, %%VG...); only absolute sizes such as 10G are supported, '
                        'so that running the task twice gives the same volume' % value)
    if text[0] in '+-':
        raise SizeError('size %r is relative; give the absolute size the volume should have, such as 10G' % value)
    match = _SIZE_RE.match(text)
    if not match:
        raise SizeError('size %r is not a number followed by an optional unit B, K, M, G, T or P (such as 512M, 1.5G, 10GiB)'
                        % value)
    unit = match.group('unit').lower()
    unit_match = _UNIT_RE.match(unit) if unit else None
    if unit and (not unit_match or (unit_match.group('ib') and unit_match.group('letter') == 'b')):
        if unit.endswith('b') and unit[:-1] in UNITS:
            raise SizeError('size %r: unit %r is ambiguous; sizes are binary like LVM, write %s or %siB'
                            % (value, match.group('unit'), unit[0].upper(), unit[0].upper()))
        raise SizeError('size %r has an unknown unit %r; use B, K, M, G, T or P (binary: 1K = 1024 bytes)'
                        % (value, match.group('unit')))
    multiplier = UNITS[unit_match.group('letter')] if unit_match else 1
    exact = Fraction(match.group('number')) * multiplier
    size = -(-exact.numerator // exact.denominator)
    if size <= 0:
        raise SizeError('size must be greater than zero, got %r' % value)
    return size


def round_up_to_extents(size, extent_size):
    """Round ``size`` bytes up to a whole number of extents; return bytes."""
    if extent_size <= 0:
        raise ValueError('extent size must be positive, got %r' % (extent_size,))
    return -(-size // extent_size) * extent_size


def format_size(size):
    """Human readable binary size: ``2 GiB``, ``1.50 GiB``, ``512 MiB``, ``4096 B``."""
    if size is None:
        return None
    for unit, factor in (('PiB', KIB ** 5), ('TiB', KIB ** 4), ('GiB', KIB ** 3), ('MiB', KIB ** 2), ('KiB', KIB)):
        if size >= factor:
            if size % factor == 0:
                return '%d %s' % (size // factor, unit)
            return '%.2f %s' % (float(size) / factor, unit)
    return '%d B' % size
