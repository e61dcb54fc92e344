# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Names and addresses as Xen and Linux check them, in one place for the modules and the filters.

* domain names (:func:`domain_name_error`);
* MAC addresses: the stable MAC of a vif (:func:`stable_mac`), and which MACs
  a domain may have (:func:`normalize_mac`);
* virtual disk names and their device numbers, with libxl's rules
  (:func:`vdev_number`, xen-vbd-interface(7));
* network interface names such as bridges (:func:`ifname_error`).

Pure code.
"""

from __future__ import annotations

import hashlib
import re

MAC_PREFIX = '00:16:3e'
#: The longest domain name accepted (the name is also a file name, a log file name and often a host name).
DOMAIN_NAME_MAX = 64
#: Linux interface names are at most IFNAMSIZ - 1 = 15 bytes.
IFNAME_MAX = 15
DOM0_NAME = 'Domain-0'

_DOMAIN_NAME_RE = re.compile(r'[A-Za-z0-9._-]+\Z')
_MAC_RE = re.compile(r'[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}\Z')
_IFNAME_RE = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]*\Z')
_VDEV_D_RE = re.compile(r'd([0-9]+)p([0-9]+)\Z')
_VDEV_LETTERS_RE = re.compile(r'(xvd|hd|sd)([a-z]+)([0-9]*)\Z')
# prefix: (highest disk index, highest partition), libxl__device_disk_dev_number
_VDEV_LIMITS = {'xvd': ((1 << 20) - 1, 255), 'hd': (3, 63), 'sd': (15, 15)}
_INT_MAX = (1 << 31) - 1


class SpecError(ValueError):
    """A disk or vif spec (or a part of one) that cannot be used; the caller adds which one."""


def domain_name_error(name):
    """Why ``name`` cannot be the name of a managed domain, or None."""
    if not isinstance(name, str) or not name:
        return 'domain name must be a non-empty string, got %r' % (name,)
    if len(name) > DOMAIN_NAME_MAX:
        return 'domain name %r... is %d characters long; at most %d are allowed' % (name[:20], len(name), DOMAIN_NAME_MAX)
    if not _DOMAIN_NAME_RE.match(name):
        return "invalid domain name %r: use only letters, digits, '.', '_' and '-'" % name
    if name[0] in '-.':
        return "invalid domain name %r: it must not start with '-' or '.'" % name
    if name.isdigit():
        return 'invalid domain name %r: a name of only digits would be taken for a domain id' % name
    if name == DOM0_NAME:
        return 'domain %s is the control domain and cannot be managed' % DOM0_NAME
    return None


def stable_mac(name, index):
    """The MAC of vif ``index`` of domain ``name`` when none is given.

    ``00:16:3e`` (Xen's OUI) and the first three bytes of
    ``sha256("NAME/INDEX")``: the same on every run and every host.
    """
    digest = hashlib.sha256(('%s/%d' % (name, index)).encode('utf-8')).digest()
    return '%s:%02x:%02x:%02x' % ((MAC_PREFIX,) + tuple(bytearray(digest[:3])))


def normalize_mac(mac):
    """``mac`` in lower case; :class:`SpecError` unless it is a unicast MAC other than all zeros.

    libxl replaces an all-zero MAC with a random one at every ``xl create``,
    so the domain would get another address at each start.
    """
    if isinstance(mac, int) and not isinstance(mac, bool):
        # YAML 1.1 reads an unquoted 00:16:30:00:00:01 (digits only) as a base-60 number
        raise SpecError('mac %r is a number, not a MAC address: quote the MAC in YAML ("00:16:30:00:00:01")' % (mac,))
    if not isinstance(mac, str) or not _MAC_RE.match(mac):
        raise SpecError('mac %r is not a MAC address (six pairs of hex digits separated by colons)' % (mac,))
    mac = mac.lower()
    if mac == 'ff:ff:ff:ff:ff:ff':
        raise SpecError('mac %s is the broadcast address' % mac)
    if int(mac[:2], 16) & 1:
        raise SpecError('mac %s is a multicast address (the first byte must be even)' % mac)
    if mac == '00:00:00:00:00:00':
        raise SpecError('mac %s is all zeros, which libxl replaces with a random MAC at each start; leave mac out '
                        'for a stable one or give a real address' % mac)
    return mac


def ifname_error(name, what='interface name'):
    """Why ``name`` cannot be a Linux network interface name (a bridge, an uplink, a vifname), or None.

    Linux takes 1 to 15 bytes without ``/``, ``:`` or white space; the vif
    hotplug scripts are shell scripts and the tools take a leading ``-`` for an
    option, so only letters, digits, ``_``, ``.`` and ``-`` are accepted here,
    not first ``.`` or ``-``.  One rule for the modules and the filters.
    """
    if not isinstance(name, str) or not name:
        return '%s must be a non-empty string, got %r' % (what, name)
    if len(name) > IFNAME_MAX:
        return '%s %r is longer than %d characters (the Linux limit)' % (what, name, IFNAME_MAX)
    if not _IFNAME_RE.match(name):
        return '%s %r may only contain letters, digits, _, . and -, and may not begin with . or -' % (what, name)
    return None


def _letters_index(letters):
    """``a`` -> 0, ``z`` -> 25, ``aa`` -> 26: the disk index of xvd/hd/sd names."""
    index = -1
    for char in letters:
        index = (index + 1) * 26 + ord(char) - ord('a')
    return index


def guest_device(vdev):
    """The device node a Linux domain sees for virtual disk ``vdev`` (blkfront names every disk xvd*)."""
    match = _VDEV_LETTERS_RE.match(vdev)
    if not match:
        return '/dev/' + vdev
    return '/dev/xvd%s%s' % (match.group(2), match.group(3))


def vdev_number(vdev):
    """The device number libxl gives virtual disk ``vdev``; :class:`SpecError` when libxl refuses the name.

    Names (xen-vbd-interface(7)): ``xvdX``/``xvdXN`` (disks up to 2^20,
    partitions 1-255), ``dNpM``, ``hdX``/``hdXN`` (hda-hdd, partitions 1-63),
    ``sdX``/``sdXN`` (sda-sdp, partitions 1-15), or the number itself.  A
    partition number has no leading zero (``xvda0`` is refused); ``d0p0`` is
    the whole disk ``xvda``.
    """
    if not isinstance(vdev, str) or not vdev:
        raise SpecError('vdev must be a non-empty string, got %r' % (vdev,))
    match = _VDEV_D_RE.match(vdev)
    if match:
        disk, partition = int(match.group(1)), int(match.group(2))
        if disk >= 1 << 20 or partition > 255:
            raise SpecError('vdev %r: dNpM takes disks below 1048576 and partitions up to 255' % vdev)
        return _xvd_number(disk, partition)
    if vdev.isdigit() and not vdev.startswith('0'):
        number = int(vdev)
        if number > _INT_MAX:
            raise SpecError('vdev %r is larger than a device number can be' % vdev)
        return number
    match = _VDEV_LETTERS_RE.match(vdev)
    if not match:
        raise SpecError('vdev %r is not a virtual device name (xvda, xvdb1, hda, sda, d0p1, see xen-vbd-interface(7))'
                        % vdev)
    prefix, letters, digits = match.groups()
    disk = _letters_index(letters)
    max_disk, max_partition = _VDEV_LIMITS[prefix]
    if disk > max_disk:
        raise SpecError('vdev %r: %s names go up to %s%s' % (vdev, prefix, prefix, {'hd': 'd', 'sd': 'p'}.get(prefix, '...')))
    partition = 0
    if digits:
        if digits.startswith('0'):
            raise SpecError('vdev %r: a partition number starts at 1 and has no leading zero (the whole disk is %s%s)'
                            % (vdev, prefix, letters))
        partition = int(digits)
        if partition > max_partition:
            raise SpecError('vdev %r: %s partitions go up to %d' % (vdev, prefix, max_partition))
    if prefix == 'xvd':
        return _xvd_number(disk, partition)
    if prefix == 'hd':
        return ((3 if disk < 2 else 22) << 8) | ((disk & 1) << 6) | partition
    return (8 << 8) | (disk << 4) | partition


def _xvd_number(disk, partition):
    if disk <= 15 and partition <= 15:
        return (202 << 8) | (disk << 4) | partition
    return (1 << 28) | (disk << 8) | partition
