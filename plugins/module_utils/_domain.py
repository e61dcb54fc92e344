# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Desired domains, disk and vif specs, stable MACs, the planner and the executor (``xen_domain``).

Layers, from the outside in:

* :func:`desired_domains` turns module parameters into :class:`Desired`
  objects (names, options and their combinations checked, disk and vif specs
  parsed, MACs filled in, the xl config rendered);
* :func:`plan_domain` compares one :class:`Desired` with a :class:`Current`
  (the config file text, the ``auto/`` link, the facts of the running
  domain) and returns a :class:`Plan`: an ordered list of :class:`Action`
  objects, whether a restart is needed and why, and the diff.  It runs no
  command and touches no file;
* :class:`Executor` applies a plan through a :class:`~._xl.Toolstack` and
  plain file operations (the config file is validated with ``xl -N create``
  and moved into place with ``atomic_move``);
* :class:`DomainManager` drives a whole task: one ``Toolstack.state()`` for
  the batch, every plan and every cross-domain check (names, MACs) before the
  first change, then the plans in order, and one more ``state()`` at the end
  when a domain was started, stopped or changed at run time.

Check mode runs only the two reading commands (``xl list -l``, ``xl list``):
it writes no temporary file, so the new config is not validated with
``xl -N create`` either.
"""

from __future__ import annotations

import hashlib
import os
import re
import time

from ansible_collections.xenops.xen.plugins.module_utils import _xlcfg
from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandError
from ansible_collections.xenops.xen.plugins.module_utils._xl import DOM0_NAME, ShutdownTimeout

STATES = ('present', 'running', 'stopped', 'paused', 'absent')
TYPES = ('pv', 'pvh', 'hvm')
RESTART_POLICIES = ('never', 'if_needed')
# xl.cfg(5), on_poweroff / on_reboot / on_crash
EVENT_ACTIONS = ('destroy', 'restart', 'rename-restart', 'preserve', 'coredump-destroy', 'coredump-restart', 'soft-reset')
DISK_FORMATS = ('raw', 'qcow', 'qcow2', 'vhd', 'qed')
DISK_BACKENDTYPES = ('phy', 'tap', 'qdisk', 'standalone')
DISK_DEVTYPES = ('disk', 'cdrom')
DISK_ACCESS = {'r': 'ro', 'ro': 'ro', 'w': 'rw', 'rw': 'rw'}
DISK_KEYS = ('target', 'vdev', 'access', 'format', 'backendtype', 'devtype', 'backend', 'script')
VIF_KEYS = ('mac', 'bridge', 'ip', 'vifname', 'model', 'type', 'backend', 'script', 'rate', 'mtu')

#: Options that describe the domain's configuration; with none of them the
#: existing config file is used as it is.
CONFIG_OPTIONS = ('type', 'kernel', 'ramdisk', 'cmdline', 'root', 'extra', 'bootloader', 'memory', 'maxmem',
                  'vcpus', 'maxvcpus', 'disks', 'vifs', 'on_poweroff', 'on_reboot', 'on_crash', 'extra_options')
#: Options that say what to do; in a batch an entry that does not set one
#: takes the task's value.
POLICY_DEFAULTS = {'state': 'running', 'autostart': None, 'restart': 'never', 'force_destroy': False,
                   'shutdown_timeout': 120, 'boot_settle': 3}

#: xl.cfg keys set by module options (extra_options must not set them).
OWNED_KEYS = {'name': 'name', 'type': 'type', 'builder': 'type', 'kernel': 'kernel', 'ramdisk': 'ramdisk',
              'cmdline': 'cmdline', 'root': 'root', 'extra': 'extra', 'bootloader': 'bootloader',
              'memory': 'memory', 'maxmem': 'maxmem', 'vcpus': 'vcpus', 'maxvcpus': 'maxvcpus',
              'disk': 'disks', 'vif': 'vifs', 'on_poweroff': 'on_poweroff', 'on_reboot': 'on_reboot',
              'on_crash': 'on_crash'}
#: xl.cfg keys whose running value ``xl list -l`` shows; a difference in any
#: other key is only known from the previous config file.
FACT_KEYS = ('name', 'type', 'builder', 'kernel', 'ramdisk', 'cmdline', 'root', 'extra', 'bootloader', 'memory',
             'maxmem', 'vcpus', 'maxvcpus', 'disk', 'vif', 'on_poweroff', 'on_reboot', 'on_watchdog', 'on_crash',
             'on_soft_reset')
EVENT_DEFAULTS = {'on_poweroff': 'destroy', 'on_reboot': 'restart', 'on_watchdog': 'destroy', 'on_crash': 'destroy'}

MAC_PREFIX = '00:16:3e'
LOG_DIR = '/var/log/xen'
POLL_INTERVAL = 1.0
# After `xl shutdown -w` returns, the domain's xl daemon still has to destroy it
# (on_poweroff); how long to wait for its name to be free again.
GONE_TIMEOUT = 30
LOG_TAIL_LINES = 20

_NAME_RE = re.compile(r'[A-Za-z0-9._-]+\Z')
_EXTRA_KEY_RE = re.compile(r'[a-z][a-z0-9_]*\Z')
_MAC_RE = re.compile(r'[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}\Z')
_VDEV_RE = re.compile(r'((xvd|hd|sd)[a-z]+[0-9]*|d[0-9]+(p[0-9]+)?)\Z')
_SIMPLE_VALUE_RE = re.compile(r'[^,\n]*\Z')

# Actions, in the words of the returned ``actions`` list.
WRITE_CONFIG = 'write_config'
CREATE = 'create'
SHUTDOWN = 'shutdown'
DESTROY = 'destroy'
PAUSE = 'pause'
UNPAUSE = 'unpause'
MEM_SET = 'mem_set'
VCPU_SET = 'vcpu_set'
RESTART = 'restart'
LINK_AUTOSTART = 'link_autostart'
UNLINK_AUTOSTART = 'unlink_autostart'
REMOVE_CONFIG = 'remove_config'
RUNTIME_ACTIONS = (CREATE, SHUTDOWN, DESTROY, PAUSE, UNPAUSE, MEM_SET, VCPU_SET, RESTART)


class DomainError(Exception):
    """Invalid input or a failed change; ``msg`` is meant for the user.

    ``details`` are extra keys for ``fail_json`` (command output, log tails,
    the results of the domains handled before the failure).
    """

    def __init__(self, msg, **details):
        super(DomainError, self).__init__(msg)
        self.msg = msg
        self.details = details

    def as_result(self):
        result = dict(self.details)
        result['msg'] = self.msg
        return result


class SpecError(ValueError):
    """A disk or vif spec that cannot be used (the caller adds which one)."""


# ---------------------------------------------------------------------------
# Names and MACs

def name_error(name):
    """Why ``name`` cannot be the name of a managed domain, or None."""
    if not isinstance(name, str) or not name:
        return 'domain name must be a non-empty string, got %r' % (name,)
    if not _NAME_RE.match(name):
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
    """``mac`` in lower case; :class:`SpecError` when it is not a unicast MAC."""
    if not isinstance(mac, str) or not _MAC_RE.match(mac):
        raise SpecError('mac %r is not a MAC address (six pairs of hex digits separated by colons)' % (mac,))
    mac = mac.lower()
    if int(mac[:2], 16) & 1:
        raise SpecError('mac %s is a multicast address (the first byte must be even)' % mac)
    return mac


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
    if not _VDEV_RE.match(disk['vdev']):
        raise SpecError('vdev %r is not a virtual device name (xvdX, hdX, sdX or dN, see xen-vbd-interface(7))'
                        % disk['vdev'])
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
    if 'mac' in vif:
        vif['mac'] = normalize_mac(vif['mac'])
    return vif


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
        item = str(item)
        if not _SIMPLE_VALUE_RE.match(item):
            raise SpecError('%s %r must not contain a comma' % (key, item))
        vif[key] = item
    if 'mac' in vif:
        vif['mac'] = normalize_mac(vif['mac'])
    return vif


def render_vif(vif):
    """The canonical form of a vif dict: known keys in a fixed order, then the others sorted."""
    keys = [k for k in _VIF_ORDER if k in vif] + sorted(k for k in vif if k not in _VIF_ORDER)
    return ','.join(k if vif[k] is True else '%s=%s' % (k, vif[k]) for k in keys)


# ---------------------------------------------------------------------------
# Desired state

class Desired(object):
    """One domain as the task asks for it.

    ``config`` is the xl config to write (a ``dict``), or None when the task
    gives no configuration option and the existing file is used as it is.
    """

    def __init__(self, name, config_dir, state='running', config=None, autostart=None, restart='never',
                 force_destroy=False, shutdown_timeout=120, boot_settle=3):
        self.name = name
        self.config_dir = config_dir
        self.state = state
        self.config = config
        self.autostart = autostart
        self.restart = restart
        self.force_destroy = force_destroy
        self.shutdown_timeout = shutdown_timeout
        self.boot_settle = boot_settle

    @property
    def config_path(self):
        return os.path.join(self.config_dir, self.name + '.cfg')

    @property
    def auto_path(self):
        return os.path.join(self.config_dir, 'auto', self.name + '.cfg')

    @property
    def tmp_path(self):
        return os.path.join(self.config_dir, '.%s.cfg.tmp' % self.name)


def _int_option(options, key, prefix, minimum=1):
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError('%s%s must be a whole number, got %r' % (prefix, key, value))
    if value < minimum:
        raise DomainError('%s%s must be at least %d, got %d' % (prefix, key, minimum, value))
    return value


def _extra_value(key, value, prefix):
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int):
        if value < 0:
            raise DomainError('%sextra_options.%s: negative numbers cannot be written in an xl config (%d)'
                              % (prefix, key, value))
        return value
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_extra_value(key, item, prefix) for item in value]
    raise DomainError('%sextra_options.%s must be a string, a whole number, a boolean or a list of those, got %s %r'
                      % (prefix, key, type(value).__name__, value))


def _extra_options(extra, prefix):
    if not isinstance(extra, dict):
        raise DomainError('%sextra_options must be a dict, got %s' % (prefix, type(extra).__name__))
    result = {}
    for key in sorted(extra):
        if not isinstance(key, str) or not _EXTRA_KEY_RE.match(key):
            raise DomainError('%sextra_options: %r is not an xl.cfg setting name (lower-case letters, digits and _, '
                              'starting with a letter)' % (prefix, key))
        if key in OWNED_KEYS:
            raise DomainError('%sextra_options: %r is set by the module option %s, not by extra_options'
                              % (prefix, key, OWNED_KEYS[key]))
        if extra[key] is None:
            raise DomainError('%sextra_options.%s has no value' % (prefix, key))
        result[key] = _extra_value(key, extra[key], prefix)
    return result


def _disks(name, values):
    disks = []
    for i, value in enumerate(values):
        try:
            disks.append(disk_from_dict(value) if isinstance(value, dict) else parse_disk_spec(value))
        except SpecError as exc:
            raise DomainError('domain %s, disk %d (%s): %s' % (name, i, _shown(value), exc))
    seen = {}
    for i, disk in enumerate(disks):
        if disk['vdev'] in seen:
            raise DomainError('domain %s: disks %d and %d both use vdev %s' % (name, seen[disk['vdev']], i, disk['vdev']))
        seen[disk['vdev']] = i
    return disks


def _vifs(name, values):
    vifs = []
    for i, value in enumerate(values):
        try:
            vif = vif_from_dict(value) if isinstance(value, dict) else parse_vif_spec(value)
        except SpecError as exc:
            raise DomainError('domain %s, vif %d (%s): %s' % (name, i, _shown(value), exc))
        if 'mac' not in vif:
            vif['mac'] = stable_mac(name, i)
        vifs.append(vif)
    return vifs


def _shown(value):
    return repr(value) if isinstance(value, str) else 'dict'


def _check_config_options(name, o, prefix):
    for key in ('kernel', 'ramdisk', 'cmdline', 'root', 'extra', 'bootloader'):
        if o.get(key) is not None and not isinstance(o[key], str):
            raise DomainError('%s%s must be a string, got %r' % (prefix, key, o[key]))
    if o.get('cmdline') is not None and (o.get('root') is not None or o.get('extra') is not None):
        raise DomainError('%scmdline is mutually exclusive with root and extra' % prefix)
    if o.get('type') is not None and o['type'] not in TYPES:
        raise DomainError('%stype must be one of %s, got %r' % (prefix, ', '.join(TYPES), o['type']))
    for key in ('on_poweroff', 'on_reboot', 'on_crash'):
        if o.get(key) is not None and o[key] not in EVENT_ACTIONS:
            raise DomainError('%s%s must be one of %s, got %r' % (prefix, key, ', '.join(EVENT_ACTIONS), o[key]))
    dtype = o.get('type') or 'pv'
    if o.get('kernel') and o.get('bootloader'):
        raise DomainError('%skernel and bootloader are mutually exclusive: the bootloader finds the kernel' % prefix)
    if dtype == 'pv' and not o.get('kernel') and not o.get('bootloader'):
        raise DomainError('%sa pv domain needs kernel or bootloader' % prefix)
    if dtype == 'hvm' and o.get('bootloader'):
        raise DomainError('%sbootloader is only used by pv and pvh domains, not hvm' % prefix)
    if o.get('ramdisk') and not o.get('kernel'):
        raise DomainError('%sramdisk needs kernel' % prefix)
    memory = _int_option(o, 'memory', prefix)
    maxmem = _int_option(o, 'maxmem', prefix)
    vcpus = _int_option(o, 'vcpus', prefix)
    maxvcpus = _int_option(o, 'maxvcpus', prefix)
    if maxmem is not None and memory is None:
        raise DomainError('%smaxmem needs memory' % prefix)
    if memory is not None and maxmem is not None and memory > maxmem:
        raise DomainError('%smemory (%d MiB) must not be larger than maxmem (%d MiB)' % (prefix, memory, maxmem))
    if maxvcpus is not None and vcpus is None:
        raise DomainError('%smaxvcpus needs vcpus' % prefix)
    if vcpus is not None and maxvcpus is not None and vcpus > maxvcpus:
        raise DomainError('%svcpus (%d) must not be more than maxvcpus (%d)' % (prefix, vcpus, maxvcpus))


def build_config(name, o, prefix=''):
    """The xl config (a ``dict``) for domain ``name`` from its options ``o``."""
    _check_config_options(name, o, prefix)
    cfg = {'name': name}
    for key in ('type', 'kernel', 'ramdisk', 'cmdline', 'root', 'extra', 'bootloader',
                'memory', 'maxmem', 'vcpus', 'maxvcpus'):
        if o.get(key) is not None:
            cfg[key] = o[key]
    if o.get('disks') is not None:
        cfg['disk'] = [render_disk(d) for d in _disks(name, o['disks'])]
    if o.get('vifs') is not None:
        cfg['vif'] = [render_vif(v) for v in _vifs(name, o['vifs'])]
    for key in ('on_poweroff', 'on_reboot', 'on_crash'):
        if o.get(key) is not None:
            cfg[key] = o[key]
    if o.get('extra_options'):
        cfg.update(_extra_options(o['extra_options'], prefix))
    return cfg


def _policy(entry, defaults, key):
    value = entry.get(key)
    return defaults.get(key, POLICY_DEFAULTS[key]) if value is None else value


def desired_domain(entry, config_dir, defaults=None, prefix=''):
    """One :class:`Desired` from the options of one domain (``entry``)."""
    defaults = defaults or {}
    name = entry.get('name')
    error = name_error(name)
    if error:
        raise DomainError(prefix + error)
    prefix = prefix or ''
    state = _policy(entry, defaults, 'state')
    if state not in STATES:
        raise DomainError('%sstate must be one of %s, got %r' % (prefix, ', '.join(STATES), state))
    restart = _policy(entry, defaults, 'restart')
    if restart not in RESTART_POLICIES:
        raise DomainError('%srestart must be one of %s, got %r' % (prefix, ', '.join(RESTART_POLICIES), restart))
    timeout = _policy(entry, defaults, 'shutdown_timeout')
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise DomainError('%sshutdown_timeout must be at least 1 second, got %r' % (prefix, timeout))
    settle = _policy(entry, defaults, 'boot_settle')
    if isinstance(settle, bool) or not isinstance(settle, int) or settle < 0:
        raise DomainError('%sboot_settle must be 0 or more seconds, got %r' % (prefix, settle))
    config = None
    if any(entry.get(k) is not None for k in CONFIG_OPTIONS):
        config = build_config(name, entry, prefix)
    return Desired(name, config_dir, state=state, config=config, autostart=_policy(entry, defaults, 'autostart'),
                   restart=restart, force_destroy=bool(_policy(entry, defaults, 'force_destroy')),
                   shutdown_timeout=timeout, boot_settle=settle)


def desired_domains(params):
    """All :class:`Desired` of a task (``name`` or ``domains``), checked together."""
    config_dir = params.get('config_dir') or '/etc/xen'
    if not os.path.isabs(config_dir):
        raise DomainError('config_dir must be an absolute path, got %r' % config_dir)
    if params.get('domains') is None:
        if params.get('name') is None:
            raise DomainError('one of name or domains is required')
        return [desired_domain(params, config_dir)]
    if params.get('name') is not None:
        raise DomainError('name and domains are mutually exclusive')
    given = [k for k in CONFIG_OPTIONS if params.get(k) is not None]
    if given:
        raise DomainError('with domains, the options %s describe one domain: set them in the entries of domains'
                          % ', '.join(given))
    defaults = dict((k, params.get(k)) for k in POLICY_DEFAULTS if params.get(k) is not None)
    result = []
    seen = {}
    for i, entry in enumerate(params['domains']):
        if not isinstance(entry, dict):
            raise DomainError('domains[%d] must be a dict, got %s' % (i, type(entry).__name__))
        prefix = 'domains[%d] (%s): ' % (i, entry.get('name'))
        desired = desired_domain(entry, config_dir, defaults, prefix)
        if desired.name in seen:
            raise DomainError('domain %s is listed twice in domains (entries %d and %d)' % (desired.name, seen[desired.name], i))
        seen[desired.name] = i
        result.append(desired)
    return result


# ---------------------------------------------------------------------------
# Current state

class Current(object):
    """What exists of a domain: config file text, ``auto/`` link, facts.

    ``autostart`` is ``'absent'``, ``'linked'`` (a symlink to the config
    file), ``'other'`` (a symlink elsewhere) or ``'file'`` (not a symlink).
    ``facts`` are the domain's facts from ``Toolstack.state()`` or None.
    """

    def __init__(self, text=None, facts=None, autostart='absent'):
        self.text = text
        self.facts = facts
        self.autostart = autostart


def autostart_state(auto_path, config_path):
    if os.path.islink(auto_path):
        target = os.readlink(auto_path)
        if not os.path.isabs(target):
            target = os.path.join(os.path.dirname(auto_path), target)
        same = os.path.normpath(target) == os.path.normpath(config_path)
        return 'linked' if same or os.path.realpath(auto_path) == os.path.realpath(config_path) else 'other'
    if os.path.lexists(auto_path):
        return 'file'
    return 'absent'


def read_current(desired, domains):
    """The :class:`Current` of ``desired`` from files and ``domains`` (name -> facts)."""
    text = None
    if os.path.isfile(desired.config_path):
        try:
            with open(desired.config_path, 'rb') as f:
                text = f.read().decode('utf-8', 'replace')
        except (IOError, OSError) as exc:
            raise DomainError('cannot read %s: %s' % (desired.config_path, exc))
    elif os.path.lexists(desired.config_path):
        raise DomainError('%s exists and is not a regular file' % desired.config_path)
    return Current(text, domains.get(desired.name), autostart_state(desired.auto_path, desired.config_path))


def run_state(facts):
    """``stopped`` (no domain), ``running`` (running or blocked), ``paused`` or ``dead`` (crashed, shut down, dying)."""
    if facts is None:
        return 'stopped'
    state = facts.get('state')
    if state == 'paused':
        return 'paused'
    if state in ('crashed', 'shutdown', 'dying'):
        return 'dead'
    return 'running'


# ---------------------------------------------------------------------------
# Comparing

def _try_disk(spec):
    try:
        return parse_disk_spec(spec)
    except SpecError:
        return None


def _try_vif(spec):
    try:
        return parse_vif_spec(spec)
    except SpecError:
        return None


def _comparable(cfg):
    """``cfg`` with disk and vif specs in canonical form and the default type made explicit."""
    result = dict(cfg)
    builder = result.pop('builder', None)
    if 'type' not in result:
        result['type'] = 'hvm' if builder == 'hvm' else 'pv'
    disks = result.get('disk')
    if isinstance(disks, list):
        canon = []
        for spec in disks:
            disk = _try_disk(spec) if isinstance(spec, str) else None
            if disk is not None:
                disk = dict(disk, target=host_path(disk['target'], disk['script']))
            canon.append(render_disk(disk) if disk is not None else spec)
        result['disk'] = canon
    vifs = result.get('vif')
    if isinstance(vifs, list):
        canon = []
        for spec in vifs:
            vif = _try_vif(spec) if isinstance(spec, str) else None
            canon.append(render_vif(vif) if vif is not None else spec)
        result['vif'] = canon
    return result


def same_config(a, b):
    """Whether two configs (``dict``) mean the same to xl, disk and vif specs compared by meaning."""
    return _xlcfg.equivalent(_comparable(a), _comparable(b))


def _as_int(value, default=None):
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(str(value), 0)
        except (TypeError, ValueError):
            return default


def _cmdline(cfg):
    if cfg.get('cmdline') is not None:
        return str(cfg['cmdline'])
    root, extra = cfg.get('root'), cfg.get('extra')
    if root is not None and extra is not None:
        return 'root=%s %s' % (root, extra)
    if root is not None:
        return 'root=%s' % root
    if extra is not None:
        return str(extra)
    return None


def effective(cfg):
    """What xl makes of a config ``dict``: the values ``xl list -l`` shows for a domain made from it."""
    builder = cfg.get('builder')
    dtype = cfg.get('type') or ('hvm' if builder == 'hvm' else 'pv')
    memory = _as_int(cfg.get('memory'))
    vcpus = _as_int(cfg.get('vcpus'), 1)
    disks = []
    for spec in cfg.get('disk') or []:
        disks.append(_try_disk(spec) if isinstance(spec, str) else None)
    vifs = []
    for spec in cfg.get('vif') or []:
        vifs.append(_try_vif(spec) if isinstance(spec, str) else None)
    result = {
        'type': dtype,
        'kernel': cfg.get('kernel'),
        'ramdisk': cfg.get('ramdisk'),
        'cmdline': _cmdline(cfg),
        'bootloader': cfg.get('bootloader'),
        'memory': memory,
        'maxmem': _as_int(cfg.get('maxmem'), memory),
        'vcpus': vcpus,
        'maxvcpus': _as_int(cfg.get('maxvcpus'), vcpus),
        'disks': disks,
        'vifs': vifs,
    }
    for key, default in EVENT_DEFAULTS.items():
        result[key] = cfg.get(key, default)
    return result


def _disk_difference(want, have):
    """Why running disk ``have`` (facts) is not ``want`` (disk dict), or None."""
    problems = []
    if host_path(want['target'], want['script']) != host_path(have.get('target') or '', want['script']):
        problems.append('target %s, running %s' % (want['target'] or '(empty)', have.get('target') or '(empty)'))
    cdrom = want['devtype'] == 'cdrom'
    if have.get('cdrom') is not None and bool(have.get('cdrom')) != cdrom:
        problems.append('devtype %s, running %s' % (want['devtype'], 'cdrom' if have.get('cdrom') else 'disk'))
    if not cdrom and have.get('access') and have['access'] != want['access']:
        problems.append('access %s, running %s' % (want['access'], have['access']))
    if not cdrom and have.get('format') and have['format'] != want['format']:
        problems.append('format %s, running %s' % (want['format'], have['format']))
    if want['backendtype'] and have.get('backend') and have['backend'] != want['backendtype']:
        problems.append('backendtype %s, running %s' % (want['backendtype'], have['backend']))
    return ', '.join(problems) or None


def _vif_difference(want, have):
    problems = []
    for key in ('mac', 'bridge', 'ip', 'vifname', 'model', 'backend', 'script'):
        if key not in want:
            continue
        running = have.get(key)
        wanted = want[key]
        if key == 'mac':
            running = (running or '').lower()
        if key == 'script':
            running, wanted = os.path.basename(running or ''), os.path.basename(wanted)
        if running != wanted:
            problems.append('%s %s, running %s' % (key, want[key], have.get(key)))
    return ', '.join(problems) or None


def _compare_disks(eff, facts, reasons):
    if any(d is None for d in eff['disks']):
        return
    running = dict((d.get('vdev'), d) for d in facts.get('disks') or [])
    wanted = dict((d['vdev'], d) for d in eff['disks'])
    for vdev in [d['vdev'] for d in eff['disks']]:
        if vdev not in running:
            reasons.append('disk %s is not attached to the running domain' % vdev)
            continue
        problem = _disk_difference(wanted[vdev], running[vdev])
        if problem:
            reasons.append('disk %s: %s' % (vdev, problem))
    for vdev in running:
        if vdev not in wanted:
            reasons.append('disk %s is attached to the running domain but not configured' % vdev)


def _compare_vifs(eff, facts, reasons):
    if any(v is None for v in eff['vifs']):
        return
    running = facts.get('vifs') or []
    if len(running) != len(eff['vifs']):
        reasons.append('%d vif(s) configured, %d on the running domain' % (len(eff['vifs']), len(running)))
        return
    for i, (want, have) in enumerate(zip(eff['vifs'], running)):
        problem = _vif_difference(want, have)
        if problem:
            reasons.append('vif %d: %s' % (i, problem))


def compare_running(cfg, facts, previous=None):
    """Compare a running domain (``facts``) with config ``cfg``.

    Returns ``(reasons, live)``: why a restart is needed (a list of strings)
    and what can be changed at run time, ``{'memory': MiB, 'vcpus': N}``.
    Memory up to the running maxmem and vCPUs up to the running maxvcpus are
    live changes.  Settings that ``xl list -l`` does not show are compared
    with ``previous``, the config file the domain was presumably made from.
    """
    eff = effective(cfg)
    reasons = []
    live = {}
    if facts.get('type') and facts['type'] != eff['type']:
        reasons.append('type %s, running %s' % (eff['type'], facts['type']))
    if eff['bootloader'] or facts.get('bootloader'):
        if os.path.basename(eff['bootloader'] or '') != os.path.basename(facts.get('bootloader') or ''):
            reasons.append('bootloader %s, running %s' % (eff['bootloader'], facts.get('bootloader')))
    else:
        for key in ('kernel', 'ramdisk', 'cmdline'):
            if (eff[key] or None) != (facts.get(key) or None):
                reasons.append('%s %s, running %s' % (key, eff[key], facts.get(key)))
    maxmem = facts.get('maxmem_mib')
    if eff['maxmem'] is not None and maxmem is not None and eff['maxmem'] != maxmem:
        reasons.append('maxmem %d MiB, running %d MiB' % (eff['maxmem'], maxmem))
    memory = facts.get('memory_mib')
    if eff['memory'] is not None and memory is not None and eff['memory'] != memory:
        if maxmem is not None and eff['memory'] > maxmem:
            reasons.append('memory %d MiB is more than the running maxmem %d MiB' % (eff['memory'], maxmem))
        else:
            live['memory'] = eff['memory']
    maxvcpus = facts.get('maxvcpus')
    if maxvcpus is not None and eff['maxvcpus'] != maxvcpus:
        reasons.append('maxvcpus %d, running %d' % (eff['maxvcpus'], maxvcpus))
    vcpus = facts.get('vcpus')
    if vcpus is not None and eff['vcpus'] != vcpus:
        if maxvcpus is not None and eff['vcpus'] > maxvcpus:
            reasons.append('vcpus %d is more than the running maxvcpus %d' % (eff['vcpus'], maxvcpus))
        else:
            live['vcpus'] = eff['vcpus']
    _compare_disks(eff, facts, reasons)
    _compare_vifs(eff, facts, reasons)
    for key in sorted(EVENT_DEFAULTS):
        # libxl leaves out of ``xl list -l`` an action that is ``destroy`` (its
        # default); without a type the domain's configuration was not retrieved.
        running = facts.get(key) or ('destroy' if facts.get('type') else None)
        if running and running != eff[key]:
            reasons.append('%s %s, running %s' % (key, eff[key], running))
    if previous is not None:
        old, new = _xlcfg.normalize(_comparable(previous)), _xlcfg.normalize(_comparable(cfg))
        for key in sorted(set(old) | set(new)):
            if key not in FACT_KEYS and old.get(key) != new.get(key):
                reasons.append('setting %s changed in the config file' % key)
    return reasons, live


# ---------------------------------------------------------------------------
# Planning

class Action(object):
    """One step of a plan: ``kind`` (see the constants), a description, parameters."""

    def __init__(self, kind, description, **params):
        self.kind = kind
        self.description = description
        self.params = params

    def as_dict(self):
        return {'action': self.kind, 'description': self.description}

    def __repr__(self):
        return 'Action(%r, %r)' % (self.kind, self.description)


class Plan(object):
    """What to do for one domain.

    ``before``/``after`` are the config file texts (None: no file),
    ``restart_required`` whether the running domain differs from its
    configuration in a way only a restart fixes (``restart_reasons`` says
    how), ``runtime`` the run state before and after (``stopped``,
    ``running``, ``paused``; ``dead`` before only).
    """

    def __init__(self, desired, current):
        self.desired = desired
        self.current = current
        self.actions = []
        self.restart_required = False
        self.restart_reasons = []
        self.before = current.text
        self.after = current.text
        self.config = None
        self.runtime = (run_state(current.facts), run_state(current.facts))
        self.live = {}

    def add(self, kind, description, **params):
        self.actions.append(Action(kind, description, **params))

    @property
    def changed(self):
        return bool(self.actions)

    def kinds(self):
        return [a.kind for a in self.actions]

    def diff(self):
        """Diff entries (before/after texts with headers) for what the plan changes."""
        entries = []
        d = self.desired
        if self.before != self.after:
            entries.append({'before_header': d.config_path, 'after_header': d.config_path,
                            'before': self.before or '', 'after': self.after or ''})
        kinds = self.kinds()
        if LINK_AUTOSTART in kinds or UNLINK_AUTOSTART in kinds:
            linked = '%s -> %s\n' % (d.auto_path, d.config_path)
            before = '' if self.current.autostart == 'absent' else (
                linked if self.current.autostart == 'linked' else '%s (%s)\n' % (d.auto_path, self.current.autostart))
            entries.append({'before_header': '%s (autostart)' % d.auto_path, 'after_header': '%s (autostart)' % d.auto_path,
                            'before': before, 'after': linked if LINK_AUTOSTART in kinds else ''})
        if any(k in RUNTIME_ACTIONS for k in kinds):
            entries.append({'before_header': 'domain %s' % d.name, 'after_header': 'domain %s' % d.name,
                            'before': self._runtime_text(self.runtime[0], self.current.facts or {}, {}),
                            'after': self._runtime_text(self.runtime[1], self.current.facts or {}, self.live)})
        return entries

    @staticmethod
    def _runtime_text(state, facts, live):
        lines = ['state: %s' % state]
        if state in ('running', 'paused'):
            memory = live.get('memory', facts.get('memory_mib'))
            vcpus = live.get('vcpus', facts.get('vcpus'))
            if memory is not None:
                lines.append('memory: %s MiB' % memory)
            if vcpus is not None:
                lines.append('vcpus: %s' % vcpus)
        return '\n'.join(lines) + '\n'


def _parse_existing(current):
    """``(config dict, None)``, ``(None, parse error)`` or ``(None, None)`` when there is no file."""
    if current.text is None:
        return None, None
    try:
        return _xlcfg.parse(current.text), None
    except _xlcfg.XlCfgError as exc:
        return None, str(exc)


def _plan_stop(plan, run):
    d = plan.desired
    if run == 'paused':
        plan.add(UNPAUSE, 'unpause %s so that it can shut down' % d.name)
    if run in ('running', 'paused'):
        plan.add(SHUTDOWN, 'shut %s down (xl shutdown -w, at most %d seconds%s)'
                 % (d.name, d.shutdown_timeout, ', then xl destroy' if d.force_destroy else ''))
    elif run == 'dead':
        plan.add(DESTROY, 'destroy %s (%s)' % (d.name, plan.current.facts.get('state')))


def _plan_start(plan, run):
    d = plan.desired
    if run == 'dead':
        plan.add(DESTROY, 'destroy %s (%s) before starting it again' % (d.name, plan.current.facts.get('state')))
    plan.add(CREATE, 'start %s (xl create %s%s)' % (
        d.name, d.config_path, ', then check it stays up for %d seconds' % d.boot_settle if d.boot_settle else ''))


def _plan_changes(plan, run):
    """Live changes or a restart for a running or paused domain (desired running or paused)."""
    d = plan.desired
    if plan.restart_required and d.restart == 'if_needed':
        if run == 'paused':
            plan.add(UNPAUSE, 'unpause %s so that it can shut down' % d.name)
        plan.add(RESTART, 'restart %s (shut down, xl create) because %s' % (d.name, '; '.join(plan.restart_reasons)))
        plan.live = {}
        return 'running'
    facts = plan.current.facts
    if 'memory' in plan.live:
        plan.add(MEM_SET, 'set the memory of %s to %d MiB (now %s MiB)' % (d.name, plan.live['memory'], facts.get('memory_mib')),
                 mib=plan.live['memory'])
    if 'vcpus' in plan.live:
        plan.add(VCPU_SET, 'set the online vCPUs of %s to %d (now %s)' % (d.name, plan.live['vcpus'], facts.get('vcpus')),
                 count=plan.live['vcpus'])
    return run


def plan_domain(desired, current):
    """The :class:`Plan` that takes ``current`` to ``desired``; runs nothing."""
    plan = Plan(desired, current)
    d = desired
    run = run_state(current.facts)
    existing, parse_error = _parse_existing(current)

    if d.state == 'absent':
        _plan_stop(plan, run)
        if current.autostart == 'file':
            raise DomainError('%s is not a symbolic link: move it away before removing domain %s' % (d.auto_path, d.name))
        if current.autostart != 'absent':
            plan.add(UNLINK_AUTOSTART, 'remove %s' % d.auto_path)
        if current.text is not None:
            plan.add(REMOVE_CONFIG, 'remove %s' % d.config_path)
            plan.after = None
        plan.runtime = (run, 'stopped')
        return plan

    if d.config is not None:
        plan.config = d.config
        if existing is None or not same_config(existing, d.config):
            plan.after = _xlcfg.render(d.config)
            plan.add(WRITE_CONFIG, '%s %s' % ('create' if current.text is None else 'update', d.config_path))
    elif current.text is not None:
        if parse_error:
            raise DomainError('cannot read the config of domain %s from %s: %s (give configuration options to '
                              'replace it)' % (d.name, d.config_path, parse_error))
        plan.config = existing
    elif d.state == 'present' or (d.state in ('running', 'paused') and run in ('stopped', 'dead')):
        raise DomainError('domain %s has no config file %s and the task gives no configuration options (such as '
                          'memory, kernel, disks)' % (d.name, d.config_path))

    if run in ('running', 'paused') and plan.config is not None:
        previous = existing if plan.config is not existing else None
        plan.restart_reasons, plan.live = compare_running(plan.config, current.facts, previous)
        plan.restart_required = bool(plan.restart_reasons)

    after = run
    if d.state == 'running':
        if run in ('stopped', 'dead'):
            _plan_start(plan, run)
            after = 'running'
        else:
            if run == 'paused' and not (plan.restart_required and d.restart == 'if_needed'):
                plan.add(UNPAUSE, 'unpause %s' % d.name)
            _plan_changes(plan, run)
            after = 'running'
    elif d.state == 'paused':
        if run in ('stopped', 'dead'):
            _plan_start(plan, run)
            plan.add(PAUSE, 'pause %s' % d.name)
        else:
            now = _plan_changes(plan, run)
            if now == 'running':
                plan.add(PAUSE, 'pause %s' % d.name)
        after = 'paused'
    elif d.state == 'stopped':
        _plan_stop(plan, run)
        after = 'stopped'
        plan.live = {}
    else:  # present: the run state is left alone
        plan.live = {}
    if after == 'stopped' or RESTART in plan.kinds():
        # restart_required: a restart is still needed after this task
        plan.restart_required = False
    plan.runtime = (run, after)

    if d.autostart is not None and current.autostart == 'file':
        raise DomainError('%s is not a symbolic link: move it away to let the module manage autostart of %s'
                          % (d.auto_path, d.name))
    if d.autostart and current.autostart != 'linked':
        plan.add(LINK_AUTOSTART, 'link %s -> %s' % (d.auto_path, d.config_path))
    elif d.autostart is False and current.autostart != 'absent':
        plan.add(UNLINK_AUTOSTART, 'remove %s' % d.auto_path)
    return plan


def config_macs(cfg):
    """MACs of the vifs of config ``cfg`` (a ``dict``): a list of (index, mac)."""
    macs = []
    for i, spec in enumerate((cfg or {}).get('vif') or []):
        vif = _try_vif(spec) if isinstance(spec, str) else None
        if vif and vif.get('mac'):
            macs.append((i, vif['mac']))
    return macs


def check_unique_macs(plans, domains):
    """Refuse MACs used twice among the managed domains or by another existing domain."""
    managed = set(p.desired.name for p in plans)
    owners = {}
    for name in sorted(domains):
        if name in managed:
            continue
        for i, vif in enumerate(domains[name].get('vifs') or []):
            if vif.get('mac'):
                owners.setdefault(vif['mac'].lower(), 'domain %s vif %d (running)' % (name, i))
    seen = {}
    for plan in plans:
        if plan.desired.state == 'absent':
            continue
        for i, mac in config_macs(plan.config):
            where = 'domain %s vif %d' % (plan.desired.name, i)
            if mac in owners:
                raise DomainError('MAC address %s of %s is already used by %s' % (mac, where, owners[mac]))
            if mac in seen:
                raise DomainError('MAC address %s is used twice: by %s and by %s' % (mac, seen[mac], where))
            seen[mac] = where


# ---------------------------------------------------------------------------
# Executing

class Clock(object):
    """Time for polling; replaced in unit tests so they do not sleep."""

    def now(self):
        return time.monotonic()

    def sleep(self, seconds):
        time.sleep(seconds)


def tail(path, lines=LOG_TAIL_LINES, max_bytes=65536):
    """The last ``lines`` lines of file ``path`` (a string), or None when it cannot be read."""
    try:
        with open(path, 'rb') as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except (IOError, OSError):
        return None
    text = data.decode('utf-8', 'replace')
    return '\n'.join(text.splitlines()[-lines:])


class Executor(object):
    """Applies plans through a :class:`~._xl.Toolstack` and file operations.

    ``atomic_move(src, dest)`` is ``AnsibleModule.atomic_move``; ``clock``
    a :class:`Clock`; ``log_dir`` where xl writes ``xl-NAME.log`` and
    ``console/guest-NAME.log``.
    """

    def __init__(self, toolstack, atomic_move, clock=None, log_dir=None, poll_interval=None):
        self.toolstack = toolstack
        self.atomic_move = atomic_move
        self.clock = clock or Clock()
        self.log_dir = log_dir or LOG_DIR
        self.poll_interval = poll_interval or POLL_INTERVAL

    def apply(self, plan):
        """Run the actions of ``plan`` in order; returns the list of those done."""
        done = []
        for action in plan.actions:
            try:
                getattr(self, '_' + action.kind)(plan.desired, plan, action)
            except CommandError as exc:
                raise DomainError('domain %s: %s failed: %s' % (plan.desired.name, action.kind, exc.msg),
                                  cmd=exc.cmd, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr,
                                  actions_done=[a.as_dict() for a in done], failed_action=action.as_dict())
            except DomainError as exc:
                exc.details.setdefault('actions_done', [a.as_dict() for a in done])
                exc.details.setdefault('failed_action', action.as_dict())
                raise
            except (IOError, OSError) as exc:
                raise DomainError('domain %s: %s failed: %s' % (plan.desired.name, action.kind, exc),
                                  actions_done=[a.as_dict() for a in done], failed_action=action.as_dict())
            done.append(action)
        return done

    # -- files

    def _write_config(self, d, plan, action):
        tmp = d.tmp_path
        if os.path.lexists(tmp):
            os.remove(tmp)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, plan.after.encode('utf-8'))
        finally:
            os.close(fd)
        try:
            self.toolstack.validate(tmp)
        except CommandError as exc:
            os.remove(tmp)
            raise DomainError('xl rejected the new config of domain %s (%s left unchanged): %s'
                              % (d.name, d.config_path, (exc.stderr or exc.stdout or exc.msg).strip()),
                              cmd=exc.cmd, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr)
        self.atomic_move(tmp, d.config_path)

    def _remove_config(self, d, plan, action):
        os.remove(d.config_path)

    def _link_autostart(self, d, plan, action):
        auto_dir = os.path.dirname(d.auto_path)
        if not os.path.isdir(auto_dir):
            os.makedirs(auto_dir, 0o755)
        if os.path.islink(d.auto_path):
            os.remove(d.auto_path)
        os.symlink(d.config_path, d.auto_path)

    def _unlink_autostart(self, d, plan, action):
        os.remove(d.auto_path)

    # -- domains

    def _shutdown_domain(self, d):
        """Shut ``d`` down; returns its ``xl list`` row when it is still there (shut down, not yet destroyed)."""
        try:
            self.toolstack.shutdown(d.name, d.shutdown_timeout)
        except ShutdownTimeout as exc:
            if not d.force_destroy:
                raise DomainError('domain %s did not shut down within %d seconds (shutdown_timeout); it may still be '
                                  'shutting down. Set force_destroy=true to destroy it after the timeout'
                                  % (d.name, d.shutdown_timeout), cmd=exc.cmd, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr)
            self.toolstack.destroy(d.name)
            return None
        return self._wait_gone(d)

    def _wait_gone(self, d):
        """`xl shutdown -w` returns once the guest has shut down; its xl daemon destroys it a moment later.

        Polls ``xl list`` until the name is gone (at most GONE_TIMEOUT seconds); returns the
        row of a domain that is still there (e.g. kept by on_poweroff=preserve), else None.
        """
        start = self.clock.now()
        while True:
            row = self.toolstack.list_plain().get(d.name)
            if row is None or self.clock.now() - start >= GONE_TIMEOUT:
                return row
            self.clock.sleep(self.poll_interval)

    def _shutdown(self, d, plan, action):
        self._shutdown_domain(d)

    def _destroy(self, d, plan, action):
        self.toolstack.destroy(d.name)

    def _create(self, d, plan, action):
        self.toolstack.create(d.config_path)
        self._verify_boot(d)

    def _restart(self, d, plan, action):
        if self._shutdown_domain(d) is not None:
            # shut down but kept (on_poweroff=preserve, or a slow teardown): its name must be free for xl create
            self.toolstack.destroy(d.name)
        self._create(d, plan, action)

    def _pause(self, d, plan, action):
        self.toolstack.pause(d.name)

    def _unpause(self, d, plan, action):
        self.toolstack.unpause(d.name)

    def _mem_set(self, d, plan, action):
        self.toolstack.mem_set(d.name, action.params['mib'])

    def _vcpu_set(self, d, plan, action):
        self.toolstack.vcpu_set(d.name, action.params['count'])

    def _verify_boot(self, d):
        """Poll ``xl list`` until ``boot_settle`` seconds have passed; fail when the domain is gone or crashed."""
        if not d.boot_settle:
            return
        start = self.clock.now()
        while True:
            remaining = d.boot_settle - (self.clock.now() - start)
            if remaining <= 0:
                return
            self.clock.sleep(min(self.poll_interval, remaining))
            row = self.toolstack.list_plain().get(d.name)
            if row is not None and row['state'] not in ('crashed', 'shutdown', 'dying'):
                continue
            elapsed = self.clock.now() - start
            if row is None:
                what = 'it was gone after %.0f seconds' % elapsed
            else:
                what = 'it was %s after %.0f seconds%s' % (
                    row['state'], elapsed, ' (%s)' % row['shutdown_reason'] if row.get('shutdown_reason') else '')
                try:
                    self.toolstack.destroy(d.name)
                except CommandError:
                    pass
            self._boot_failed(d, what)

    def _boot_failed(self, d, what):
        logs = {}
        parts = ['domain %s did not stay up after xl create: %s (boot_settle is %d seconds)' % (d.name, what, d.boot_settle)]
        for key, path in (('xl_log', os.path.join(self.log_dir, 'xl-%s.log' % d.name)),
                          ('console_log', os.path.join(self.log_dir, 'console', 'guest-%s.log' % d.name))):
            text = tail(path)
            if text is not None:
                logs[key] = text
                parts.append('last lines of %s:\n%s' % (path, text))
        raise DomainError('\n\n'.join(parts), **logs)


# ---------------------------------------------------------------------------
# A whole task

def _domain_result(plan, facts, actions):
    d = plan.desired
    return {
        'name': d.name,
        'changed': bool(actions),
        'actions': [a.as_dict() for a in actions],
        'restart_required': plan.restart_required,
        'restart_reasons': list(plan.restart_reasons),
        'state': plan.runtime[1],
        'domain': facts,
        'config_file': d.config_path,
    }


class DomainManager(object):
    """Runs one task: read once, plan and check everything, then apply in order."""

    def __init__(self, toolstack, atomic_move, clock=None, log_dir=None):
        self.toolstack = toolstack
        self.executor = Executor(toolstack, atomic_move, clock=clock, log_dir=log_dir)

    def run(self, params, check_mode=False, diff=False):
        desired = desired_domains(params)
        config_dir = desired[0].config_dir
        if not os.path.isdir(config_dir):
            raise DomainError('config_dir %s does not exist or is not a directory' % config_dir)
        try:
            state = self.toolstack.state()
        except CommandError as exc:
            raise DomainError(exc.msg, cmd=exc.cmd, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr)
        domains = state['domains']
        plans = [plan_domain(d, read_current(d, domains)) for d in desired]
        check_unique_macs(plans, domains)

        done = []
        results = []
        for plan in plans:
            if check_mode:
                done.append(list(plan.actions))
                continue
            try:
                done.append(self.executor.apply(plan))
            except DomainError as exc:
                if params.get('domains') is not None:
                    exc.details['domains'] = [_domain_result(p, p.current.facts, a) for p, a in zip(plans, done)]
                exc.details['changed'] = any(a for a in done) or bool(exc.details.get('actions_done'))
                raise
        runtime_changed = any(a.kind in RUNTIME_ACTIONS for actions in done for a in actions)
        after = domains
        if runtime_changed and not check_mode:
            try:
                after = self.toolstack.state()['domains']
            except CommandError as exc:
                raise DomainError('the changes were made, but reading the domains again failed: %s' % exc.msg,
                                  cmd=exc.cmd, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr)
        for plan, actions in zip(plans, done):
            results.append(_domain_result(plan, after.get(plan.desired.name), actions))

        if params.get('domains') is None:
            result = dict(results[0])
        else:
            result = {'changed': any(r['changed'] for r in results), 'domains': results}
        if diff:
            result['diff'] = [entry for plan in plans for entry in plan.diff()]
        return result
