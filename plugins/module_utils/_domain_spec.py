# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Desired domains of ``xen_domain``: module parameters checked and turned into :class:`Desired` objects.

:func:`desired_domains` checks names, options and their combinations, parses
the disk and vif specs (:mod:`._xl_devices`), fills in MACs and builds the xl
config of each domain.  Pure code: no commands, no files.
"""

from __future__ import annotations

import os
import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.xenops.xen.plugins.module_utils._names import domain_name_error as name_error, stable_mac, vdev_number
from ansible_collections.xenops.xen.plugins.module_utils._xl_devices import (
    SpecError, disk_from_dict, host_path, parse_disk_spec, parse_vif_spec, render_disk, render_vif, vif_from_dict)

STATES = ('present', 'running', 'stopped', 'paused', 'absent')
TYPES = ('pv', 'pvh', 'hvm')
RESTART_POLICIES = ('never', 'if_needed')
# xl.cfg(5), on_poweroff / on_reboot / on_crash
EVENT_ACTIONS = ('destroy', 'restart', 'rename-restart', 'preserve', 'coredump-destroy', 'coredump-restart', 'soft-reset')

#: Options that describe the domain's configuration; with none of them the
#: existing config file is used as it is.
CONFIG_OPTIONS = ('type', 'kernel', 'ramdisk', 'cmdline', 'root', 'extra', 'bootloader', 'memory', 'maxmem',
                  'vcpus', 'maxvcpus', 'disks', 'vifs', 'on_poweroff', 'on_reboot', 'on_crash', 'extra_options',
                  'driver_domain', 'pvshim')
#: Options that say what to do; in a batch an entry that does not set one
#: takes the task's value.
POLICY_DEFAULTS = {'state': 'running', 'autostart': None, 'restart': 'never', 'force_destroy': False,
                   'shutdown_timeout': 120, 'boot_settle': 3, 'backend_timeout': 300}
#: Dom0's names in a device's ``backend``: no driver domain to wait for.
DOM0_NAMES = ('0', 'Domain-0')
#: What a driver domain writes below its xenstore home (``/local/domain/<domid>/``) once it serves its
#: backends (the driver domain service of the xenops.xen.domains role does, after ``xl devd`` started).
BACKEND_READY_KEY = 'data/xenops-backend'
BACKEND_READY_VALUE = 'ready'

#: xl.cfg keys set by module options (extra_options must not set them).
OWNED_KEYS = {'name': 'name', 'type': 'type', 'builder': 'type', 'kernel': 'kernel', 'ramdisk': 'ramdisk',
              'cmdline': 'cmdline', 'root': 'root', 'extra': 'extra', 'bootloader': 'bootloader',
              'memory': 'memory', 'maxmem': 'maxmem', 'vcpus': 'vcpus', 'maxvcpus': 'maxvcpus',
              'disk': 'disks', 'vif': 'vifs', 'on_poweroff': 'on_poweroff', 'on_reboot': 'on_reboot',
              'on_crash': 'on_crash', 'driver_domain': 'driver_domain', 'pvshim': 'pvshim'}
#: xl.cfg keys whose running value ``xl list -l`` shows; a difference in any

_EXTRA_KEY_RE = re.compile(r'[a-z][a-z0-9_]*\Z')

#: xl.cfg settings an hvm domain gets unless extra_options sets them: a serial port
#: for ``xl console`` and a VNC console that only the host itself can reach.
HVM_DEFAULTS = {'serial': 'pty', 'vnclisten': '127.0.0.1'}


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


class Desired(object):
    """One domain as the task asks for it.

    ``config`` is the xl config to write (a ``dict``), or None when the task
    gives no configuration option and the existing file is used as it is.
    """

    def __init__(self, name, config_dir, state='running', config=None, autostart=None, restart='never',
                 force_destroy=False, shutdown_timeout=120, boot_settle=3, backends=(), backend_timeout=300):
        self.name = name
        # the driver domains that serve this domain's devices (``backend=`` of its vifs and disks)
        self.backends = list(backends)
        self.backend_timeout = backend_timeout
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


def _list_option(values, key, prefix):
    if isinstance(values, (list, tuple)):
        return values
    if isinstance(values, str):
        raise DomainError('%s%s must be a list, also for one entry; got the string %r (write %s: [%r])'
                          % (prefix, key, values, key, values))
    raise DomainError('%s%s must be a list, got %s' % (prefix, key, type(values).__name__))


def _parsed(name, values, what, from_dict, from_spec):
    """Each of ``values`` (a dict or a spec string) parsed; an error names the domain, the index and the value."""
    parsed = []
    for i, value in enumerate(values):
        try:
            parsed.append(from_dict(value) if isinstance(value, dict) else from_spec(value))
        except SpecError as exc:
            raise DomainError('domain %s, %s %d (%s): %s' % (name, what, i, _shown(value), exc))
    return parsed


def _disks(name, values):
    disks = _parsed(name, values, 'disk', disk_from_dict, parse_disk_spec)
    seen = {}
    for i, disk in enumerate(disks):
        # a relative target is a device below /dev for libxl; written out, it works from any directory
        disk['target'] = host_path(disk['target'], disk['script'])
        number = vdev_number(disk['vdev'])
        if number in seen:
            j = seen[number]
            same = disk['vdev'] if disks[j]['vdev'] == disk['vdev'] else '%s (the same device as %s)' % (disk['vdev'], disks[j]['vdev'])
            raise DomainError('domain %s: disks %d and %d both use vdev %s' % (name, j, i, same))
        seen[number] = i
    return disks


def _vifs(name, values):
    vifs = _parsed(name, values, 'vif', vif_from_dict, parse_vif_spec)
    for i, vif in enumerate(vifs):
        vif.setdefault('mac', stable_mac(name, i))
    return vifs


def _shown(value):
    if isinstance(value, str):
        return repr(value)
    return 'dict' if isinstance(value, dict) else '%s %r' % (type(value).__name__, value)


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
    if o.get('pvshim') and dtype != 'pvh':
        raise DomainError('%spvshim needs type pvh (the shim is a PVH container that runs the PV kernel), got type %s'
                          % (prefix, dtype))
    if o.get('pvshim') and not o.get('kernel'):
        raise DomainError('%spvshim needs kernel: the PV kernel the shim boots' % prefix)
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


def pvshim_paths(config, xen_version):
    """Where xl looks for the PV shim of a domain with ``pvshim = 1``: its own ``pvshim_path``, else the firmware
    directory of the host's Xen (``xen_version`` ``X.Y``): Debian's ``/usr/lib/xen-X.Y/boot``, upstream's
    ``/usr/lib/xen/boot`` (a build from source with ``--prefix=/usr``)."""
    if config.get('pvshim_path'):
        return [str(config['pvshim_path'])]
    paths = ['/usr/lib/xen-%s/boot/xen-shim' % xen_version] if xen_version else []
    return paths + ['/usr/lib/xen/boot/xen-shim']


def host_pvshim(xen_version, exists=os.path.isfile):
    """The PV shim of this host's Xen (``xen_version`` such as ``4.20.5-pre``), or None when it has none."""
    match = re.match(r'(\d+)\.(\d+)', str(xen_version or ''))
    version = '%s.%s' % match.groups() if match else None
    return next((p for p in pvshim_paths({}, version) if exists(p)), None)


def build_config(name, o, prefix=''):
    """The xl config (a ``dict``) for domain ``name`` from its options ``o``."""
    return _build(name, o, prefix)[0]


def _build(name, o, prefix=''):
    """``(config, backends)``: the xl config of :func:`build_config` and the driver domains its devices name."""
    _check_config_options(name, o, prefix)
    cfg = {'name': name}
    backends = []
    for key in ('type', 'kernel', 'ramdisk', 'cmdline', 'root', 'extra', 'bootloader',
                'memory', 'maxmem', 'vcpus', 'maxvcpus'):
        if o.get(key) is not None:
            cfg[key] = o[key]
    devices = []
    if o.get('disks') is not None:
        disks = _disks(name, _list_option(o['disks'], 'disks', prefix))
        cfg['disk'] = [render_disk(d) for d in disks]
        devices += disks
    if o.get('vifs') is not None:
        vifs = _vifs(name, _list_option(o['vifs'], 'vifs', prefix))
        cfg['vif'] = [render_vif(v) for v in vifs]
        devices += vifs
    for device in devices:
        backend = device.get('backend')
        if backend is None or backend in DOM0_NAMES or backend in backends:
            continue
        if backend == name:
            raise DomainError('%sdomain %s cannot be the backend of its own devices' % (prefix, name))
        backends.append(backend)
    if o.get('driver_domain'):
        cfg['driver_domain'] = 1
    if o.get('pvshim'):
        cfg['pvshim'] = 1
    for key in ('on_poweroff', 'on_reboot', 'on_crash'):
        if o.get(key) is not None:
            cfg[key] = o[key]
    if o.get('extra_options'):
        cfg.update(_extra_options(o['extra_options'], prefix))
    if o.get('type') == 'hvm':
        for key, value in HVM_DEFAULTS.items():
            cfg.setdefault(key, value)
        if cfg.get('spice') and 'spicehost' not in cfg:
            # xl's SPICE server listens on every address unless told otherwise
            cfg['spicehost'] = HVM_DEFAULTS['vnclisten']
    return cfg, backends


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
    backend_timeout = _policy(entry, defaults, 'backend_timeout')
    if isinstance(backend_timeout, bool) or not isinstance(backend_timeout, int) or backend_timeout < 0:
        raise DomainError('%sbackend_timeout must be 0 or more seconds, got %r' % (prefix, backend_timeout))
    config = None
    backends = []
    if any(entry.get(k) is not None for k in CONFIG_OPTIONS):
        config, backends = _build(name, entry, prefix)
    return Desired(name, config_dir, state=state, config=config, autostart=_policy(entry, defaults, 'autostart'),
                   restart=restart, force_destroy=bool(_policy(entry, defaults, 'force_destroy')),
                   shutdown_timeout=timeout, boot_settle=settle, backends=backends, backend_timeout=backend_timeout)


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


def checked_entries(params, spec, mutually_exclusive=None):
    """``params`` with each entry of ``domains`` checked against ``spec`` as Ansible checks options.

    Types are converted, choices and required options checked, unknown keys
    refused; an entry's error names the entry.  Without ``domains`` the
    parameters are returned as they are.
    """
    entries = params.get('domains')
    if entries is None:
        return params
    validator = ArgumentSpecValidator(spec, mutually_exclusive=mutually_exclusive)
    checked = []
    for i, entry in enumerate(entries):
        result = validator.validate(entry)
        if result.error_messages:
            messages = ['unknown option %s' % e.msg if isinstance(e, UnsupportedError) else e.msg for e in result.errors]
            where = 'domains[%d]%s' % (i, ' (%s)' % entry['name'] if isinstance(entry, dict) and entry.get('name') else '')
            raise DomainError('%s: %s' % (where, '; '.join(messages)))
        checked.append(result.validated_parameters)
    return dict(params, domains=checked)
