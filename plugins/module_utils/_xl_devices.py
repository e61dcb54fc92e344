# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""xl disk and vif specs: parse every form xl accepts, check, render one canonical form; stable MACs.

Pure code, no commands and no files: xl-disk-configuration(5) and
xl-network-configuration(5) as libxl reads them.
"""

from __future__ import annotations

import re

from ansible_collections.xenops.xen.plugins.module_utils._names import SpecError, ifname_error, normalize_mac, vdev_number

DISK_FORMATS = ('raw', 'qcow', 'qcow2', 'vhd', 'qed')
DISK_BACKENDTYPES = ('phy', 'tap', 'qdisk', 'standalone')
DISK_DEVTYPES = ('disk', 'cdrom')
DISK_ACCESS = {'r': 'ro', 'ro': 'ro', 'w': 'rw', 'rw': 'rw'}
DISK_KEYS = ('target', 'vdev', 'access', 'format', 'backendtype', 'devtype', 'backend', 'script')
VIF_KEYS = ('mac', 'bridge', 'ip', 'vifname', 'model', 'type', 'backend', 'script', 'rate', 'mtu')

_SIMPLE_VALUE_RE = re.compile(r'[^,\n]*\Z')


# ---------------------------------------------------------------------------
# Disk specs, xl-disk-configuration(5)

_DISK_VALUE_KEYS = ('format', 'devtype', 'access', 'backend', 'backendtype', 'specification', 'vdev', 'script',
                    'colo-host', 'colo-port', 'colo-export', 'active-disk', 'hidden-disk', 'grant_usage')
_DISK_FLAGS = ('cdrom', 'direct-io-safe', 'discard', 'no-discard', 'colo', 'no-colo', 'trusted', 'untrusted')
_DISK_PREFIX_RE = re.compile(r'(raw|qcow2|qcow|vhd|iscsi|enbd|nbd|drbd|tapdisk|tap2|tap|aio|ioemu|file|phy):')
_DISK_BAD_PREFIX_RE = re.compile(r'[a-z][a-z0-9]*:(?![a-z0-9])')
_BLANKS_RE = re.compile(r'[ \t\n]+')
_DISK_TARGET_TAIL_RE = re.compile(r',\s*(%s)=' % '|'.join(re.escape(k) for k in _DISK_VALUE_KEYS))


def _new_disk():
    return {'target': None, 'format': None, 'vdev': None, 'access': None, 'devtype': None, 'backendtype': None,
            'backend': None, 'script': None, 'specification': None, 'options': []}


def _set_once(disk, key, value, what=None):
    if disk[key] not in (None, '') and disk[key] != value:
        raise SpecError('%s given twice (%r and %r)' % (what or key, disk[key], value))
    disk[key] = value


def _disk_format(disk, value):
    if value == '':
        value = 'raw'
    if value not in DISK_FORMATS and value != 'empty':
        raise SpecError('%r is not a disk format (%s)' % (value, ', '.join(DISK_FORMATS)))
    _set_once(disk, 'format', value)


def _disk_vdev_devtype(disk, value):
    """Positional ``vdev:devtype`` (deprecated); False when ``value`` has no colon."""
    if ':' not in value:
        return False
    vdev, devtype = value.rsplit(':', 1)
    if devtype not in DISK_DEVTYPES:
        raise SpecError('unknown device type %r in %r' % (devtype, value))
    _set_once(disk, 'vdev', vdev)
    disk['devtype'] = devtype
    return True


def _disk_keyword(disk, key, value):
    if key == 'format':
        _disk_format(disk, value)
    elif key == 'devtype':
        if value not in DISK_DEVTYPES:
            raise SpecError('devtype %r is not one of %s' % (value, ', '.join(DISK_DEVTYPES)))
        disk['devtype'] = value
    elif key == 'access':
        if value not in DISK_ACCESS and value != '':
            raise SpecError('access %r is not one of r, ro, w, rw' % value)
        disk['access'] = DISK_ACCESS.get(value)
    elif key == 'backendtype':
        if value not in DISK_BACKENDTYPES:
            raise SpecError('backendtype %r is not one of %s' % (value, ', '.join(DISK_BACKENDTYPES)))
        _set_once(disk, 'backendtype', value)
    elif key in ('vdev', 'backend', 'script', 'specification'):
        _set_once(disk, key, value)
    else:
        disk['options'].append('%s=%s' % (key, value))


def _disk_positional(disk, token, state):
    if disk['target'] is None:
        disk['target'] = token
    elif not state['prefix'] and disk['format'] is None:
        if disk['target'] == '' and _disk_vdev_devtype(disk, token):
            disk['format'] = 'empty'
        else:
            if token not in DISK_FORMATS and token != '':
                raise SpecError('%r is not a disk format (%s); in the old form target,vdev,access the target needs '
                                'a prefix such as phy:' % (token, ', '.join(DISK_FORMATS)))
            _disk_format(disk, token)
    elif disk['vdev'] is None:
        if not _disk_vdev_devtype(disk, token):
            disk['vdev'] = token
    elif not state['access']:
        state['access'] = True
        if token not in DISK_ACCESS and token != '':
            raise SpecError('access %r is not one of r, ro, w, rw' % token)
        disk['access'] = DISK_ACCESS.get(token)
    else:
        raise SpecError('too many positional parameters (%r)' % token)


def parse_disk_spec(spec):
    """Parse an xl disk spec string (any form xl accepts) into a disk dict.

    Keyword form (``format=raw, vdev=xvda, access=rw, target=/dev/vg/x``),
    positional form (``/dev/vg/x,raw,xvda,rw``) and the deprecated form with
    a prefix (``phy:vg/news-root,sda1,w``, ``file:/img,xvda,w``,
    ``,hdc:cdrom,r``), with the rules of xl's own parser: a prefix (which xl
    strips and ignores, except ``raw:``/``qcow2:``/``vhd:`` which set the
    format and ``iscsi:``/``nbd:``/``drbd:`` which set a script) removes the
    format from the positional parameters; ``target=`` takes the rest.
    """
    if not isinstance(spec, str):
        raise SpecError('a disk spec must be a string or a dict, got %s' % type(spec).__name__)
    disk = _new_disk()
    state = {'prefix': False, 'access': False}
    pos, end = 0, len(spec)
    while pos < end:
        m = _BLANKS_RE.match(spec, pos)
        if m:
            pos = m.end()
            continue
        rest = spec[pos:]
        if rest.startswith('target='):
            value = rest[len('target='):]
            if value.endswith(','):
                value = value[:-1]
            m = _DISK_TARGET_TAIL_RE.search(value)
            if m:
                raise SpecError('target= must be the last parameter: xl takes everything after it as the target '
                                '(here %r, which includes %r)' % (value, m.group(0)[1:]))
            _set_once(disk, 'target', value)
            break
        m = _DISK_PREFIX_RE.match(rest)
        if m:
            state['prefix'] = True
            prefix = m.group(1)
            if prefix in ('raw', 'qcow', 'qcow2', 'vhd'):
                _disk_format(disk, prefix)
            elif prefix in ('iscsi', 'nbd', 'enbd', 'drbd'):
                _set_once(disk, 'script', 'block-' + prefix)
            pos += m.end()
            continue
        if _DISK_BAD_PREFIX_RE.match(rest):
            raise SpecError('unknown prefix %r' % _DISK_BAD_PREFIX_RE.match(rest).group(0))
        comma = spec.find(',', pos)
        if comma < 0:
            token, pos = spec[pos:], end
        else:
            token, pos = spec[pos:comma], comma + 1
        if '=' in token:
            key, value = token.split('=', 1)
            if key not in _DISK_VALUE_KEYS:
                raise SpecError('unknown parameter %r' % key)
            _disk_keyword(disk, key, value)
        elif token in _DISK_FLAGS:
            if token == 'cdrom':
                disk['devtype'] = 'cdrom'
            else:
                disk['options'].append(token)
        else:
            _disk_positional(disk, token, state)
    return _finish_disk(disk)


def _finish_disk(disk):
    if disk['devtype'] is None:
        disk['devtype'] = 'disk'
    cdrom = disk['devtype'] == 'cdrom'
    if not disk['vdev']:
        raise SpecError('no vdev (the device name the domain sees, such as xvda)')
    vdev_number(disk['vdev'])
    if disk['target'] is None:
        disk['target'] = ''
    if disk['target'] == '' and not cdrom:
        raise SpecError('no target (the host device or image file)')
    if disk['format'] is None:
        disk['format'] = 'empty' if cdrom and disk['target'] == '' else 'raw'
    if disk['access'] is None:
        disk['access'] = 'ro' if cdrom else 'rw'
    return disk


def disk_from_dict(value):
    """A structured disk (module option) as a disk dict."""
    unknown = sorted(set(value) - set(DISK_KEYS))
    if unknown:
        raise SpecError('unknown key(s) %s (known: %s)' % (', '.join(unknown), ', '.join(DISK_KEYS)))
    disk = _new_disk()
    for key in DISK_KEYS:
        item = value.get(key)
        if item is None:
            continue
        if not isinstance(item, str):
            raise SpecError('%s must be a string, got %r' % (key, item))
        if key != 'target' and not _SIMPLE_VALUE_RE.match(item):
            raise SpecError('%s %r must not contain a comma' % (key, item))
        if key == 'target':
            disk['target'] = item
        elif key == 'access':
            if item not in DISK_ACCESS:
                raise SpecError('access %r is not one of r, ro, w, rw' % item)
            disk['access'] = DISK_ACCESS[item]
        else:
            _disk_keyword(disk, key, item)
    return _finish_disk(disk)


def render_disk(disk):
    """The canonical keyword form of a disk dict (``target=`` last)."""
    parts = []
    empty = disk['target'] == ''
    if not empty:
        parts.append('format=%s' % disk['format'])
    parts.append('vdev=%s' % disk['vdev'])
    parts.append('access=%s' % disk['access'])
    if disk['devtype'] == 'cdrom':
        parts.append('devtype=cdrom')
    for key in ('backendtype', 'backend', 'script', 'specification'):
        if disk[key]:
            parts.append('%s=%s' % (key, disk[key]))
    parts.extend(disk['options'])
    if not empty:
        parts.append('target=%s' % disk['target'])
    return ', '.join(parts)


def host_path(target, script=None):
    """``target`` as libxl uses it: ``/dev/`` is put before a relative device path."""
    if target and not script and not target.startswith('/'):
        return '/dev/' + target
    return target


# ---------------------------------------------------------------------------
# Vif specs, xl-network-configuration(5)

_VIF_VALUE_KEYS = ('mac', 'bridge', 'gatewaydev', 'netdev', 'type', 'ip', 'script', 'backend', 'vifname', 'model',
                   'rate', 'forwarddev', 'accel', 'devid', 'mtu', 'vlan')
_VIF_FLAGS = ('trusted', 'untrusted')
_VIF_ORDER = ('mac', 'bridge', 'ip', 'vifname', 'model', 'type', 'backend', 'script', 'gatewaydev', 'rate', 'mtu',
              'vlan', 'forwarddev', 'devid')


def parse_vif_spec(spec):
    """Parse an xl vif spec string (``mac=..,bridge=..``) into a dict key -> value.

    Flags (``trusted``/``untrusted``) have the value ``True``; ``netdev`` is
    read as its newer name ``gatewaydev``; a MAC is checked and lower-cased.
    """
    if not isinstance(spec, str):
        raise SpecError('a vif spec must be a string or a dict, got %s' % type(spec).__name__)
    vif = {}
    for token in spec.split(','):
        token = token.lstrip(' ')
        if not token:
            continue
        if '=' in token:
            key, value = token.split('=', 1)
            if key == 'netdev':
                key = 'gatewaydev'
            if key not in _VIF_VALUE_KEYS and not key.startswith('colo_'):
                raise SpecError('unknown parameter %r' % key)
            vif[key] = value
        elif token in _VIF_FLAGS:
            vif.pop('trusted', None)
            vif.pop('untrusted', None)
            vif[token] = True
        else:
            raise SpecError('%r is not a key=value parameter' % token)
    return _checked_vif(vif)


def vif_from_dict(value):
    """A structured vif (module option) as a vif dict."""
    unknown = sorted(set(value) - set(VIF_KEYS))
    if unknown:
        raise SpecError('unknown key(s) %s (known: %s)' % (', '.join(unknown), ', '.join(VIF_KEYS)))
    vif = {}
    for key in VIF_KEYS:
        item = value.get(key)
        if item is None:
            continue
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise SpecError('%s must be a string, got %r' % (key, item))
        if key == 'mac':
            item = normalize_mac(item)
        item = str(item)
        if not _SIMPLE_VALUE_RE.match(item):
            raise SpecError('%s %r must not contain a comma' % (key, item))
        vif[key] = item
    return _checked_vif(vif)


def _checked_vif(vif):
    """``vif`` with its MAC checked and lower-cased and its interface names checked."""
    if 'mac' in vif:
        vif['mac'] = normalize_mac(vif['mac'])
    for key in ('bridge', 'vifname', 'gatewaydev'):
        if key in vif:
            error = ifname_error(vif[key], key)
            if error:
                raise SpecError(error)
    return vif


def render_vif(vif):
    """The canonical form of a vif dict: known keys in a fixed order, then the others sorted."""
    keys = [k for k in _VIF_ORDER if k in vif] + sorted(k for k in vif if k not in _VIF_ORDER)
    return ','.join(k if vif[k] is True else '%s=%s' % (k, vif[k]) for k in keys)


def try_disk(spec):
    """The disk dict of ``spec``, or None when it is not a disk spec this module reads."""
    try:
        return parse_disk_spec(spec)
    except SpecError:
        return None


def try_vif(spec):
    """The vif dict of ``spec``, or None when it is not a vif spec this module reads."""
    try:
        return parse_vif_spec(spec)
    except SpecError:
        return None


def config_macs(cfg):
    """MACs of the vifs of config ``cfg`` (a ``dict``): a list of (index, mac)."""
    macs = []
    for i, spec in enumerate((cfg or {}).get('vif') or []):
        vif = try_vif(spec) if isinstance(spec, str) else None
        if vif and vif.get('mac'):
            macs.append((i, vif['mac']))
    return macs
