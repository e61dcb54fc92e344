# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the xenops.xen.domains role.

``domain_plan`` turns the inventory's domain list of one host into what the
role hands to ``xen_lv``, ``xen_domain``, the image and the OS install tasks.
Names, MACs, vdevs and sizes follow the grammar of the modules
(``module_utils/_names.py``, ``_size.py``), so the role and the modules
accept the same spellings.
"""

from __future__ import annotations

import ipaddress
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.xenops.xen.plugins.filter.fleet import allocate_addresses
from ansible_collections.xenops.xen.plugins.module_utils._domain_spec import RESTART_POLICIES, STATES, TYPES
from ansible_collections.xenops.xen.plugins.module_utils._lvm import FSTYPES, LvmParseError
from ansible_collections.xenops.xen.plugins.module_utils._names import SpecError, guest_device, ifname_error, stable_mac, vdev_number
from ansible_collections.xenops.xen.plugins.module_utils._os_marks import STAMP_SUFFIX, os_install_roots as _os_install_roots
from ansible_collections.xenops.xen.plugins.module_utils._size import SizeError, parse_size

DISK_TYPES = ('lvm', 'file', 'phy', 'drbd')
# a drbd disk is opened through this hotplug script (drbd-utils), which makes the host that runs the domain Primary
DRBD_SCRIPT = 'block-drbd'
DEVICE_TIMEOUT = 'x-systemd.device-timeout=5min'
ROOT_FSTYPES = ('ext4', 'xfs')

# Options handed to xen_domain as they are.
PASSTHROUGH = ('maxmem', 'maxvcpus', 'bootloader', 'on_poweroff', 'on_reboot', 'on_crash', 'extra_options',
               'force_destroy', 'shutdown_timeout', 'boot_settle', 'backend_timeout')
DOMAIN_KEYS = frozenset(PASSTHROUGH + (
    'name', 'state', 'type', 'memory', 'vcpus', 'kernel', 'ramdisk', 'extra', 'disks', 'vifs', 'os', 'autostart',
    'restart', 'purge_disks', 'root_ssh_keys', 'root_password_hash', 'hostname', 'dns_domain', 'ip', 'prefix',
    'gateway', 'nameservers', 'driver_domain', 'bridges', 'pvshim',
    # for the inventory plugin xenops.xen.xen_domains (the domain as an Ansible host)
    'groups', 'vars'))
DISK_KEYS = frozenset(('type', 'function', 'size', 'fstype', 'label', 'vdev', 'vg', 'path', 'target', 'access',
                       'mount', 'options', 'resource', 'devtype'))
VIF_KEYS = frozenset(('bridge', 'mac', 'ip', 'prefix', 'gateway', 'vifname', 'model', 'script', 'rate', 'mtu',
                      'backend'))
# the bridges inside a network driver domain: the keys of the network role's bridges that make sense there
BRIDGE_KEYS = frozenset(('name', 'uplink', 'method', 'addresses', 'gateway', 'mtu'))
BRIDGE_METHODS = ('static', 'none', 'dhcp')
OS_KEYS = frozenset(('distribution', 'suite', 'mirror', 'security_mirror'))

_FUNCTION_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9+_.]*$')


class PlanError(AnsibleFilterError):
    """A domain list the role cannot use; the message names the domain."""


def size_bytes(value, where):
    """Bytes of a size like ``4G`` or ``512M`` (the one size grammar, ``module_utils/_size.py``), or a PlanError."""
    try:
        return parse_size(value)
    except SizeError as exc:
        raise PlanError('%s: %s' % (where, exc))


def _check_keys(item, allowed, where):
    if not isinstance(item, dict):
        raise PlanError('%s must be a dict, got %r' % (where, item))
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise PlanError('%s: unknown key(s) %s (known: %s)' % (where, ', '.join(unknown), ', '.join(sorted(allowed))))


def _int(value, where, minimum=1):
    if isinstance(value, bool):
        raise PlanError('%s must be a whole number, got %r' % (where, value))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise PlanError('%s must be a whole number, got %r' % (where, value))
    if number < minimum:
        raise PlanError('%s must be at least %d, got %r' % (where, minimum, value))
    return number


def _bool(value, where):
    if isinstance(value, bool):
        return value
    text = to_text(value).strip().lower()
    if text in ('yes', 'true', 'on', '1'):
        return True
    if text in ('no', 'false', 'off', '0'):
        return False
    raise PlanError('%s must be true or false, got %r' % (where, value))


def _choice(value, choices, where):
    if value not in choices:
        raise PlanError('%s must be one of %s, got %r' % (where, ', '.join(choices), value))
    return value


def _os(dom, default_os, where, need_suite=True):
    """The OS to install, as a dict, or None (``os: none``); ``need_suite``: a missing suite is an error (the
    default, domains_os, may leave it empty where the host's release is not known, until a domain uses it)."""
    value = dom.get('os', default_os)
    if value is None or (isinstance(value, str) and value.lower() in ('none', '')) or value is False:
        return None
    if not isinstance(value, dict):
        raise PlanError("%s: os must be a dict like {distribution: debian, suite: bookworm} or 'none', got %r"
                        % (where, value))
    _check_keys(value, OS_KEYS, where + ': os')
    result = dict(default_os or {})
    result.update(value)
    if result.get('distribution', 'debian') != 'debian':
        raise PlanError('%s: os.distribution %r is not supported (only debian)' % (where, result.get('distribution')))
    result['distribution'] = 'debian'
    if need_suite and not result.get('suite'):
        raise PlanError('%s: os.suite is missing' % where)
    result.setdefault('mirror', '')
    result.setdefault('security_mirror', '')
    return result


def _items(dom, key, default, allowed, where):
    """``(index, item, where)`` of the list ``dom[key]`` (``default`` when missing), each a dict of known keys."""
    items = dom.get(key)
    if items is None:
        items = default
    if not isinstance(items, list):
        raise PlanError('%s: %s must be a list' % (where, key))
    for index, item in enumerate(items):
        iwhere = '%s: %s %d' % (where, key[:-1], index)
        _check_keys(item, allowed, iwhere)
        yield index, item, iwhere


def _disks(dom, name, defaults, where):
    result = []
    for index, disk, dwhere in _items(dom, 'disks', defaults.get('disks') or [], DISK_KEYS, where):
        kind = _choice(disk.get('type', 'lvm'), DISK_TYPES, dwhere + ': type')
        function = disk.get('function') or ('root' if index == 0 else 'disk%d' % index)
        if not _FUNCTION_RE.match(to_text(function)):
            raise PlanError('%s: function %r may only contain letters, digits and + _ .' % (dwhere, function))
        vdev = disk.get('vdev') or 'xvd' + chr(ord('a') + index)
        try:
            vdev_number(vdev)
        except SpecError as exc:
            raise PlanError('%s: %s' % (dwhere, exc))
        cdrom = disk.get('devtype') is not None
        if cdrom and (disk['devtype'] != 'cdrom' or kind != 'phy'):
            raise PlanError("%s: devtype may only be cdrom, on a disk of type phy whose target is an ISO image "
                            "(or a drive) of the host; got devtype %r on a %s disk" % (dwhere, disk['devtype'], kind))
        if kind in ('phy', 'drbd'):
            fstype = disk.get('fstype') or 'none'
        else:
            fstype = disk.get('fstype') or ('swap' if function == 'swap' else 'ext4')
        _choice(fstype, FSTYPES, dwhere + ': fstype')
        entry = {'kind': kind, 'function': function, 'vdev': vdev, 'fstype': fstype, 'cdrom': cdrom,
                 'access': disk.get('access') or ('ro' if cdrom else 'w'), 'label': disk.get('label') or '',
                 'mount': disk.get('mount') or '', 'options': disk.get('options') or 'defaults',
                 'guest_device': guest_device(vdev)}
        if kind == 'lvm':
            entry['vg'] = disk.get('vg') or defaults.get('vg')
            if not entry['vg']:
                raise PlanError('%s: no volume group (set vg or domains_vg)' % dwhere)
            entry['lv'] = '%s-%s' % (name, function)
            entry['target'] = '/dev/%s/%s' % (entry['vg'], entry['lv'])
        elif kind == 'file':
            path = disk.get('path') or '%s-%s.img' % (name, function)
            if not path.startswith('/'):
                path = '%s/%s' % (defaults.get('image_dir', '/var/lib/xen/images').rstrip('/'), path)
            entry['target'] = path
        elif kind == 'drbd':
            # the DRBD resource (made with xenops.xen.xen_drbd on the hosts that may run the domain)
            entry['target'] = to_text(disk.get('resource') or '%s-%s' % (name, function))
            if not re.match(r'^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$', entry['target']):
                raise PlanError('%s: %r is not a DRBD resource name' % (dwhere, entry['target']))
        else:
            if not disk.get('target'):
                raise PlanError('%s: a phy disk needs target (a block device of the host)' % dwhere)
            entry['target'] = disk['target']
        if kind not in ('phy', 'drbd'):
            if disk.get('size') in (None, ''):
                if dom.get('state') != 'absent':
                    raise PlanError('%s (%s): size is missing' % (dwhere, entry['target']))
                entry['size'] = None
            else:
                entry['size'] = disk['size']
                entry['bytes'] = size_bytes(disk['size'], dwhere)
        result.append(entry)
    seen = {}
    for entry in result:
        for key in ('vdev', 'function'):
            if entry[key] in seen.get(key, ()):
                raise PlanError('%s: two disks with %s %s' % (where, key, entry[key]))
            seen.setdefault(key, set()).add(entry[key])
    return result


def _interface(value, prefix, where):
    text = to_text(value).strip()
    try:
        if '/' in text:
            return ipaddress.ip_interface(text)
        return ipaddress.ip_interface('%s/%s' % (text, prefix or 24))
    except ValueError as exc:
        raise PlanError('%s: %r is not an address: %s' % (where, value, exc))


def _bridges(dom, where):
    """The bridges inside a driver domain (``bridges``): the network role's keys, checked."""
    result = []
    for index, bridge, bwhere in _items(dom, 'bridges', [], BRIDGE_KEYS, where):
        name = to_text(bridge.get('name') or '')
        error = ifname_error(name, 'name')
        if error:
            raise PlanError('%s: %s' % (bwhere, error))
        method = _choice(bridge.get('method') or ('static' if bridge.get('addresses') else 'none'), BRIDGE_METHODS,
                         bwhere + ': method')
        addresses = bridge.get('addresses') or []
        if isinstance(addresses, str):
            addresses = [addresses]
        if method != 'static' and addresses:
            raise PlanError('%s: addresses need method static' % bwhere)
        entry = {'name': name, 'method': method,
                 'addresses': [to_text(_interface(a, None, bwhere + ': addresses').with_prefixlen) for a in addresses]}
        if method == 'static' and not entry['addresses']:
            raise PlanError('%s: method static needs addresses' % bwhere)
        if bridge.get('uplink'):
            uplink = to_text(bridge['uplink'])
            error = ifname_error(uplink, 'uplink')
            if error:
                raise PlanError('%s: %s' % (bwhere, error))
            entry['uplink'] = uplink
        if bridge.get('gateway'):
            entry['gateway'] = to_text(bridge['gateway'])
        if bridge.get('mtu') is not None:
            entry['mtu'] = _int(bridge['mtu'], bwhere + ': mtu', minimum=68)
        if name in [b['name'] for b in result]:
            raise PlanError('%s: bridge %s is listed twice' % (where, name))
        result.append(entry)
    return result


def _vifs(dom, name, defaults, where, drivers=None):
    """``(spec, net)`` of each vif; ``drivers`` maps the driver domains of the list to their bridges."""
    result = []
    drivers = drivers or {}
    for index, vif, vwhere in _items(dom, 'vifs', [{}], VIF_KEYS, where):
        spec = dict((k, vif[k]) for k in ('vifname', 'model', 'script', 'rate', 'mtu') if vif.get(k) is not None)
        spec['bridge'] = vif.get('bridge') or defaults.get('bridge') or 'xenbr0'
        if vif.get('backend') is not None:
            backend = to_text(vif['backend'])
            if backend == name:
                raise PlanError('%s: a domain cannot be the backend of its own vif' % vwhere)
            if backend not in drivers:
                raise PlanError('%s: backend %s is not a driver domain of this host (a domain of the same list with '
                                'driver_domain: true)' % (vwhere, backend))
            bridges = [b['name'] for b in drivers[backend]]
            spec['bridge'] = vif.get('bridge') or (bridges[0] if bridges else '')
            if spec['bridge'] not in bridges:
                raise PlanError('%s: bridge %s is not one of the bridges of driver domain %s (%s)'
                                % (vwhere, spec['bridge'] or '(none)', backend, ', '.join(bridges) or 'none'))
            spec['backend'] = backend
        if vif.get('mac'):
            spec['mac'] = to_text(vif['mac']).lower()
        ip = vif.get('ip')
        prefix = vif.get('prefix')
        gateway = vif.get('gateway')
        if index == 0:
            if not ip and dom.get('ip'):
                ip, prefix = dom['ip'], vif.get('prefix') or dom.get('prefix')
            gateway = gateway or dom.get('gateway')
        net = {'index': index, 'names': ['enX%d' % index, 'eth%d' % index]}
        if ip and to_text(ip).strip().lower() != 'dhcp':
            iface = _interface(ip, prefix or defaults.get('prefix'), vwhere)
            net['address'] = to_text(iface.with_prefixlen)
            net['ip'] = to_text(iface.ip)
            if not gateway and index == 0 and defaults.get('gateway'):
                try:
                    if ipaddress.ip_address(to_text(defaults['gateway'])) in iface.network:
                        gateway = defaults['gateway']
                except ValueError as exc:
                    raise PlanError('domains gateway %r is not an address: %s' % (defaults['gateway'], exc))
            if gateway:
                net['gateway'] = to_text(gateway)
        else:
            net['dhcp'] = True
        result.append((spec, net))
    return result


def domain_plan(domains, defaults=None, subnet=None, reserved=None, method='name'):
    """Plan the domains of one host; see domain_plan.yml."""
    defaults = dict(defaults or {})
    if domains is None:
        domains = []
    if not isinstance(domains, list):
        raise PlanError('the domains of a host must be a list, got %s' % type(domains).__name__)
    names = set()
    for index, dom in enumerate(domains):
        if not isinstance(dom, dict) or not dom.get('name'):
            raise PlanError('domain %d has no name: %r' % (index, dom))
        _check_keys(dom, DOMAIN_KEYS, 'domain %s' % dom['name'])
        if dom['name'] in names:
            raise PlanError('domain %s is listed twice' % dom['name'])
        names.add(dom['name'])
    if subnet:
        domains = allocate_addresses(domains, subnet, reserved, method)
    # the network driver domains of the list and the bridges inside them, for the vifs that name them as backend
    drivers = {}
    for dom in domains:
        where = 'domain %s' % dom['name']
        if _bool(dom.get('driver_domain', False), where + ': driver_domain'):
            if dom.get('state', 'running') != 'absent':
                drivers[dom['name']] = _bridges(dom, where)
        elif dom.get('bridges'):
            raise PlanError('%s: bridges are made inside a network driver domain; set driver_domain: true' % where)

    dom_states = dict((d['name'], d.get('state', 'running')) for d in domains)
    plan = {'domains': [], 'volumes': [], 'purge_volumes': [], 'images': [], 'purge_images': [],
            'roots': [], 'fleet': [], 'driver_domains': [], 'addresses': {}}
    default_os = _os({}, defaults.get('os'), 'domains_os', need_suite=False) if defaults.get('os') else None
    targets = {}
    for dom in domains:
        name = dom['name']
        where = 'domain %s' % name
        state = _choice(dom.get('state', 'running'), STATES, where + ': state')
        disks = _disks(dict(dom, state=state), name, defaults, where)
        purge = _bool(dom.get('purge_disks', defaults.get('purge_disks', False)), where + ': purge_disks')
        for disk in disks:
            if disk['kind'] == 'phy':
                continue
            if disk['target'] in targets:
                raise PlanError('%s: disk %s is also a disk of domain %s' % (where, disk['target'], targets[disk['target']]))
            targets[disk['target']] = name

        if state == 'absent':
            entry = {'name': name, 'state': 'absent'}
            for key in ('force_destroy', 'shutdown_timeout'):
                if dom.get(key) is not None:
                    entry[key] = dom[key]
            plan['domains'].append(entry)
            if purge:
                for disk in disks:
                    if disk['kind'] == 'lvm':
                        plan['purge_volumes'].append({'vg': disk['vg'], 'name': disk['lv'], 'state': 'absent'})
                    elif disk['kind'] == 'file':
                        plan['purge_images'].append(disk['target'])
                        plan['purge_images'].append(disk['target'] + STAMP_SUFFIX)
            continue

        vifs = _vifs(dom, name, defaults, where, drivers)
        for spec, net in vifs:
            backend = spec.get('backend')
            if backend and state == 'running' and dom_states[backend] != 'running':
                raise PlanError('%s: its vif backend %s has state %s; a running domain needs its driver domain running'
                                % (where, backend, dom_states[backend]))
        # the PV shim: a domain's own pvshim, else the default (domains_pvshim) for a domain without its own type
        if dom.get('pvshim') is not None:
            pvshim = _bool(dom['pvshim'], where + ': pvshim')
        else:
            pvshim = not dom.get('type') and _bool(defaults.get('pvshim', False), where + ': pvshim (the default)')
        dtype = _choice(dom.get('type') or ('pvh' if pvshim else defaults.get('type')) or 'pv', TYPES, where + ': type')
        if pvshim and dtype != 'pvh':
            raise PlanError('%s: pvshim runs a PV kernel inside a PVH container: it needs type pvh, not %s' % (where, dtype))
        entry = {
            'name': name,
            'state': state,
            'type': dtype,
            'memory': _int(dom.get('memory', defaults.get('memory', 256)), where + ': memory'),
            'vcpus': _int(dom.get('vcpus', defaults.get('vcpus', 1)), where + ': vcpus'),
            'disks': [dict({'target': d['target'], 'vdev': d['vdev'], 'access': d['access'], 'format': 'raw'},
                           **({'script': DRBD_SCRIPT} if d['kind'] == 'drbd' else {}),
                           **({'devtype': 'cdrom'} if d['cdrom'] else {})) for d in disks],
            'vifs': [spec for spec, net in vifs],
            'autostart': _bool(dom.get('autostart', defaults.get('autostart', True)), where + ': autostart'),
            'restart': _choice(dom.get('restart') or defaults.get('restart') or 'never', RESTART_POLICIES, where + ': restart'),
        }
        for key in PASSTHROUGH:
            if dom.get(key) is not None:
                entry[key] = dom[key]
        if pvshim:
            entry['pvshim'] = True
        if name in drivers:
            entry['driver_domain'] = True
            plan['driver_domains'].append({'name': name, 'autostart': entry['autostart'], 'bridges': drivers[name],
                                           'backend_timeout': _int(dom.get('backend_timeout', defaults.get(
                                               'backend_timeout', 300)), where + ': backend_timeout', minimum=0)})
        if 'boot_settle' not in entry and defaults.get('boot_settle') is not None:
            entry['boot_settle'] = _int(defaults['boot_settle'], where + ': boot_settle (the default)', minimum=0)
        root = None
        if disks:
            root = next((d for d in disks if d['function'] == 'root'), disks[0])
        if entry['type'] == 'hvm':
            # the firmware boots it from its disks (or an ISO): a kernel only when given for it
            for key in ('kernel', 'ramdisk', 'extra'):
                if dom.get(key):
                    entry[key] = dom[key]
        elif not dom.get('bootloader'):
            entry['kernel'] = dom.get('kernel') or defaults.get('kernel') or '/vmlinuz'
            ramdisk = dom.get('ramdisk', defaults.get('ramdisk', '/initrd.img'))
            if ramdisk:
                entry['ramdisk'] = ramdisk
            if root:
                entry['root'] = '%s ro' % root['guest_device']
            extra = dom.get('extra', defaults.get('extra', 'console=hvc0'))
            if extra:
                entry['extra'] = extra
        plan['domains'].append(entry)

        for disk in disks:
            if disk['kind'] == 'lvm':
                volume = {'vg': disk['vg'], 'domain': name, 'function': disk['function'], 'size': disk['size'],
                          'fstype': disk['fstype']}
                if disk['label']:
                    volume['label'] = disk['label']
                plan['volumes'].append(volume)
            elif disk['kind'] == 'file':
                plan['images'].append({'domain': name, 'path': disk['target'], 'bytes': disk['bytes'],
                                       'size': disk['size'], 'fstype': disk['fstype'], 'label': disk['label']})

        fleet_vifs = []
        for index, (spec, net) in enumerate(vifs):
            fleet_vifs.append({'mac': spec.get('mac') or stable_mac(name, index), 'ip': net.get('ip', '')})
        plan['fleet'].append({'name': name, 'vifs': fleet_vifs})

        if entry['type'] == 'hvm':
            # an hvm domain boots with its own boot loader from its disks: the collection does not install into them
            if 'os' in dom and _os(dom, default_os, where) is not None:
                raise PlanError('%s: an hvm domain boots its own OS from its disks or an ISO; the guest OS install '
                                'is for pv and pvh domains: set os: none' % where)
            continue
        osinfo = _os(dom, default_os, where) if 'os' in dom else default_os
        if osinfo is None:
            continue
        if not osinfo.get('suite'):
            raise PlanError("%s: os.suite is missing (domains_os names none, and the host's Debian release is not "
                            "known)" % where)
        if root is None:
            raise PlanError("%s: an OS is installed on the root disk, but the domain has no disks (or set os: none)"
                            % where)
        if root['kind'] in ('phy', 'drbd'):
            raise PlanError('%s: the root disk %s is a %s disk, which is never installed into; set os: none'
                            % (where, root['target'], root['kind']))
        if root['fstype'] not in ROOT_FSTYPES:
            raise PlanError('%s: the root disk needs fstype ext4 or xfs to install an OS on it, not %s'
                            % (where, root['fstype']))
        fstab = [{'device': root['guest_device'], 'mount': '/', 'fstype': root['fstype'],
                  'options': 'errors=remount-ro' if root['fstype'] == 'ext4' else 'defaults', 'pass': 1}]
        for disk in disks:
            if disk is root:
                continue
            if disk['fstype'] == 'swap':
                # systemd gives up on a device after 90 s; a domain on a busy host can take longer to see its disks
                fstab.append({'device': disk['guest_device'], 'mount': 'none', 'fstype': 'swap',
                              'options': 'sw,' + DEVICE_TIMEOUT, 'pass': 0})
            elif disk['mount'] and disk['fstype'] in ROOT_FSTYPES:
                options = disk['options']
                if 'x-systemd.device-timeout' not in options:
                    options += ',' + DEVICE_TIMEOUT
                fstab.append({'device': disk['guest_device'], 'mount': disk['mount'], 'fstype': disk['fstype'],
                              'options': options, 'pass': 2})
        base_packages = sorted(set(to_text(p) for p in defaults.get('driver_domain_packages') or [])) if name in drivers else []
        hostname = dom.get('hostname') or name
        dns_domain = dom.get('dns_domain', defaults.get('dns_domain')) or ''
        keys = dom.get('root_ssh_keys', defaults.get('root_ssh_keys')) or []
        if isinstance(keys, str):
            keys = [keys]
        nameservers = dom.get('nameservers', defaults.get('nameservers')) or []
        if isinstance(nameservers, str):
            nameservers = nameservers.split()
        plan['roots'].append({
            'name': name,
            'kind': root['kind'],
            'device': root['target'],
            'fstype': root['fstype'],
            'lv': '%s/%s' % (root['vg'], root['lv']) if root['kind'] == 'lvm' else '',
            'marker': root['target'] if root['kind'] == 'lvm' else root['target'] + STAMP_SUFFIX,
            'os': osinfo,
            'hostname': hostname,
            'fqdn': '%s.%s' % (hostname, dns_domain) if dns_domain else '',
            'dns_domain': dns_domain,
            'fstab': fstab,
            'networks': [net for spec, net in vifs],
            'nameservers': [to_text(n) for n in nameservers],
            'root_ssh_keys': [to_text(k).strip() for k in keys if to_text(k).strip()],
            'root_password_hash': dom.get('root_password_hash', defaults.get('root_password_hash')) or '',
            # a network driver domain: its bridges, and the packages its base system has on top of the others'
            'bridges': drivers.get(name, []),
            'driver_domain': name in drivers,
            'base_packages': base_packages,
            'base': osinfo['suite'] + ('+' + ','.join(base_packages) if base_packages else ''),
        })
    plan['addresses'] = dict((entry['name'], [vif['ip'] for vif in entry['vifs'] if vif['ip']]) for entry in plan['fleet'])
    return plan


def os_install_roots(roots, lvs='', image_files=None, loop_files=None):
    """The roots of :func:`domain_plan` without an installed OS, split by whether they are in use."""
    try:
        return _os_install_roots(roots, lvs=lvs, image_files=image_files or (), loop_files=loop_files or ())
    except LvmParseError as exc:
        raise AnsibleFilterError(to_text(exc))


class FilterModule(object):
    def filters(self):
        return {
            'domain_plan': domain_plan,
            'os_install_roots': os_install_roots,
        }
