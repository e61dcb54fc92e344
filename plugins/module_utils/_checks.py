# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The shapes of user input that filters and the inventory plugin read: one rule each, one message each.

Pure code.  Each check takes the value, what it is (the option, as the user
wrote it: ``drain``, ``domain dns1: avoid``) and the error class of the caller,
and returns the value or raises that error naming the option.

The rule for lists: a string where a list is meant is refused, also for one
entry (``avoid: dns2`` must be ``avoid: [dns2]``), as ``xen_domain`` refuses it;
it is never split into letters nor guessed to be a one-item list.
"""

from __future__ import annotations


def kind(value):
    """What a value is, in words (types from Ansible's templating have names of their own)."""
    for cls, words in ((dict, 'a mapping'), (str, 'a string'), (list, 'a list'), (bool, 'a boolean'),
                       (int, 'a number'), (float, 'a number'), (type(None), 'null')):
        if isinstance(value, cls):
            return words
    return type(value).__name__


def list_of(value, what, error):
    """``value`` as a list; ``error`` naming ``what`` for a string (also for one entry) or anything but a list."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        raise error('%s must be a list, also for one entry; got the string %r (write [%s])' % (what, value, value))
    raise error('%s must be a list, got %s' % (what, kind(value)))


def mapping(value, what, error):
    """``value`` when it is a mapping; ``error`` naming ``what`` otherwise."""
    if not isinstance(value, dict):
        raise error('%s must be a mapping, got %s %r' % (what, kind(value), value))
    return value


def whole_number(value, what, error, low=None, high=None):
    """``value`` as an int: a whole number or a string of digits, within ``low``..``high`` when given.

    ``7.5``, ``'7.5'``, ``true`` and ``'lots'`` are refused (never truncated), naming ``what``.
    """
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip('-').isdigit():
        number = int(value.strip())
    if number is None or (low is not None and number < low) or (high is not None and number > high):
        bounds = ''
        if low is not None and high is not None:
            bounds = ' from %d to %d' % (low, high)
        elif low is not None:
            bounds = ' of at least %d' % low
        raise error('%s must be a whole number%s, got %r' % (what, bounds, value))
    return number
