# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read the Xen toolstack: parsers for ``xl`` output and a thin service.

The parsers are pure functions on command output (tested on real output
captured in the lab, ``tests/unit/plugins/module_utils/fixtures/lab/``).
:class:`Toolstack` is the only place that knows ``xl`` command lines; it
runs them through :class:`CommandRunner`.

Sources (Xen 4.17):

* ``xl list -l``: a JSON array of ``{"domid": N, "config": {...}}`` where
  ``config`` is a ``libxl_domain_config`` (``tools/libs/light/libxl_types.idl``).
  libxl writes only fields that differ from their default, so any field may
  be missing (``on_*`` actions that are ``destroy``, a disk's ``backend``, a
  nic's ``script``...).  Memory is in KiB (``b_info.target_memkb``/
  ``max_memkb``, which libxl refreshes from xenstore), ``b_info.avail_vcpus``
  is the list of online vCPU numbers, ``kernel``/``ramdisk``/``cmdline`` are
  in ``b_info`` (older libxl put them in ``b_info["type.pv"]``).  Domain-0 is
  listed with its type and memory only (no vCPU data).  A domain whose
  configuration libxl cannot retrieve is left out.  There is no run state.
* ``xl list``: ``Name ID Mem VCPUs State Time(s)``; the state is six flags
  ``r b p s R d``: running, blocked, paused, shut down, the shutdown reason
  (``-`` poweroff, ``r`` reboot, ``s`` suspend, ``c`` crash, ``w`` watchdog,
  ``S`` soft reset) and dying.
* ``xl info``: ``key : value`` lines; memory in MiB.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandError


# Shutdown reason letter (5th state flag) -> reason, as in xl_info.c.
SHUTDOWN_REASONS = {'-': 'poweroff', 'r': 'reboot', 's': 'suspend', 'c': 'crash',
                    'w': 'watchdog', 'S': 'soft_reset'}

_LIST_HEADER_RE = re.compile(r'Name\s+ID\s+Mem\s+VCPUs\s+State\s+Time\(s\)')
_FLAGS_RE = re.compile(r'[r-][b-][p-][s-][-rscwS?][d-]\Z')
_INFO_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*:\s?(.*)\Z')


class XlError(Exception):
    """Output of ``xl`` (or its configuration) that cannot be used."""


# ---------------------------------------------------------------- xl list -l

def parse_list_long(text):
    """Parse ``xl list -l``: a list of ``{'domid': int, 'config': dict}``."""
    stripped = (text or '').strip()
    if not stripped:
        # xl prints "[\n]" for no domain; nothing at all is not JSON
        raise XlError('xl list -l printed nothing')
    if stripped.startswith('('):
        raise XlError('xl list -l printed SXP instead of JSON: set output_format="json" '
                      '(or remove output_format) in /etc/xen/xl.conf')
    try:
        data = json.loads(stripped)
    except ValueError as exc:
        raise XlError('xl list -l did not print JSON: %s' % exc)
    if not isinstance(data, list):
        raise XlError('xl list -l printed a JSON %s, expected an array' % type(data).__name__)
    entries = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get('config'), dict):
            raise XlError('xl list -l entry #%d has no "config" object' % i)
        name = ((item['config'].get('c_info') or {}).get('name'))
        if not isinstance(name, str) or not name:
            raise XlError('xl list -l entry #%d has no c_info.name' % i)
        entries.append({'domid': item.get('domid'), 'config': item['config']})
    return entries


def _kib_to_mib(value):
    """KiB to MiB, to the nearest MiB (dom0's target is often 1 KiB short)."""
    return None if value is None else (int(value) + 512) // 1024


def _action(value):
    """An ``on_*`` action as spelled in xl.cfg; libxl leaves out its default, destroy."""
    return 'destroy' if value is None else value.replace('_', '-')


def _disk_facts(disk):
    return {
        'target': disk.get('pdev_path'),
        'vdev': disk.get('vdev'),
        'format': disk.get('format'),
        'access': 'rw' if disk.get('readwrite') else 'ro',
        'backend': disk.get('backend'),
        'cdrom': bool(disk.get('is_cdrom')),
        # the hotplug script that opens the target (block-drbd for a DRBD resource); None: the default block script
        'script': disk.get('script'),
    }


def _vif_facts(nic):
    return {
        'devid': nic.get('devid'),
        'mac': nic.get('mac'),
        'bridge': nic.get('bridge'),
        'ip': nic.get('ip'),
        'vifname': nic.get('ifname'),
        'model': nic.get('model'),
        'backend': nic.get('backend_domname'),
        'script': nic.get('script'),
    }


def config_facts(entry):
    """Facts about one domain from an ``xl list -l`` entry (no run state).

    ``memory_mib``/``maxmem_mib`` are ``target_memkb``/``max_memkb`` in MiB
    (to the nearest MiB), ``vcpus`` the number of online vCPUs (``None``
    when libxl does not say, as for Domain-0), ``maxvcpus`` the vCPU limit;
    ``on_*`` actions are spelled as in xl.cfg (``coredump-destroy``), and a
    missing one is libxl's default ``destroy``.
    """
    config = entry['config']
    c_info = config.get('c_info') or {}
    b_info = config.get('b_info') or {}
    pv = b_info.get('type.pv') or {}
    avail = b_info.get('avail_vcpus')
    return {
        'name': c_info.get('name'),
        'domid': entry.get('domid'),
        'uuid': c_info.get('uuid'),
        'type': c_info.get('type') or b_info.get('type'),
        'memory_mib': _kib_to_mib(b_info.get('target_memkb')),
        'maxmem_mib': _kib_to_mib(b_info.get('max_memkb')),
        'vcpus': len(avail) if isinstance(avail, list) else None,
        'maxvcpus': b_info.get('max_vcpus'),
        'kernel': b_info.get('kernel') or pv.get('kernel'),
        'ramdisk': b_info.get('ramdisk') or pv.get('ramdisk'),
        'cmdline': b_info.get('cmdline') or pv.get('cmdline'),
        'bootloader': b_info.get('bootloader') or pv.get('bootloader'),
        # a PVH domain whose PV kernel runs inside Xen's PV shim (libxl writes the defbool as "True")
        'pvshim': str((b_info.get('type.pvh') or {}).get('pvshim')) == 'True',
        'disks': [_disk_facts(d) for d in config.get('disks') or []],
        'vifs': [_vif_facts(n) for n in config.get('nics') or []],
        'on_poweroff': _action(config.get('on_poweroff')),
        'on_reboot': _action(config.get('on_reboot')),
        'on_watchdog': _action(config.get('on_watchdog')),
        'on_crash': _action(config.get('on_crash')),
        'on_soft_reset': _action(config.get('on_soft_reset')),
    }


# ---------------------------------------------------------------- xl list

def state_from_flags(flags):
    """The state word for an ``xl list`` flag string such as ``-b----``.

    In order of precedence: ``dying``, ``crashed`` (shut down with reason
    crash), ``shutdown``, ``paused``, ``running``, ``blocked``; a domain with
    no flag at all is runnable but not scheduled at that instant, which is
    reported as ``running``.
    """
    if not _FLAGS_RE.match(flags or ''):
        raise XlError('unexpected xl list state %r' % (flags,))
    if flags[5] == 'd':
        return 'dying'
    if flags[3] == 's':
        return 'crashed' if flags[4] == 'c' else 'shutdown'
    if flags[2] == 'p':
        return 'paused'
    if flags[0] == 'r':
        return 'running'
    if flags[1] == 'b':
        return 'blocked'
    return 'running'


def parse_list(text):
    """Parse plain ``xl list``: ``dict`` name -> ``{name, domid, memory_mib,
    vcpus, state, flags, shutdown_reason, cpu_time}`` in listing order."""
    lines = [line for line in (text or '').splitlines() if line.strip()]
    if not lines or not _LIST_HEADER_RE.match(lines[0].strip()):
        raise XlError('xl list printed no "Name ID Mem VCPUs State Time(s)" header')
    result = {}
    for line in lines[1:]:
        fields = line.rsplit(None, 5)
        try:
            name, domid, mem, vcpus, flags, cpu_time = fields
            row = {
                'name': name.strip(),
                'domid': int(domid),
                'memory_mib': int(mem),
                'vcpus': int(vcpus),
                'state': state_from_flags(flags),
                'flags': flags,
                'shutdown_reason': SHUTDOWN_REASONS.get(flags[4]) if flags[3] == 's' else None,
                'cpu_time': float(cpu_time),
            }
        except (ValueError, XlError):
            raise XlError('cannot parse xl list line %r' % line)
        result[row['name']] = row
    return result


# ---------------------------------------------------------------- xl info

def parse_info(text):
    """Parse ``xl info`` into a ``dict`` of its ``key : value`` lines (strings)."""
    info = {}
    for line in (text or '').splitlines():
        m = _INFO_RE.match(line.strip())
        if m:
            info[m.group(1)] = m.group(2).strip()
    if 'xen_major' not in info and 'xen_version' not in info:
        raise XlError('xl info printed no xen_version')
    return info


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def host_facts(info):
    """Typed host facts from :func:`parse_info`'s ``dict``, plus ``info`` itself."""
    version = info.get('xen_version')
    if not version and info.get('xen_major'):
        version = '%s.%s%s' % (info.get('xen_major'), info.get('xen_minor', ''), info.get('xen_extra', ''))
    return {
        'hostname': info.get('host'),
        'xen_version': version,
        'xen_scheduler': info.get('xen_scheduler'),
        'total_memory_mib': _int_or_none(info.get('total_memory')),
        'free_memory_mib': _int_or_none(info.get('free_memory')),
        'nr_cpus': _int_or_none(info.get('nr_cpus')),
        'dom0_kernel': info.get('release'),
        # what this Xen can do: pv, hvm, hap, shadow (a PV domain migrates only where there is shadow paging)
        'virt_caps': info['virt_caps'].split() if info.get('virt_caps') else None,
        'info': dict(info),
    }


def host_bridges(sys_class_net='/sys/class/net'):
    """Names of the network bridges of this host: the interfaces with a ``bridge`` directory in sysfs."""
    try:
        names = os.listdir(sys_class_net)
    except OSError:
        return []
    return sorted(n for n in names if os.path.isdir(os.path.join(sys_class_net, n, 'bridge')))


# ---------------------------------------------------------------- merged view

def _empty_facts(name):
    return {'name': name, 'domid': None, 'uuid': None, 'type': None, 'memory_mib': None,
            'maxmem_mib': None, 'vcpus': None, 'maxvcpus': None, 'kernel': None,
            'ramdisk': None, 'cmdline': None, 'bootloader': None, 'pvshim': False, 'disks': [], 'vifs': [],
            'on_poweroff': None, 'on_reboot': None, 'on_watchdog': None, 'on_crash': None,
            'on_soft_reset': None}


def merge(list_long, list_plain):
    """All domains (Domain-0 included): ``dict`` name -> facts with state.

    ``list_long`` is :func:`parse_list_long`'s result, ``list_plain``
    :func:`parse_list`'s.  Plain ``xl list`` decides which domains exist (read
    it after ``xl list -l``): a domain only in ``xl list -l`` has gone in
    between and is left out; one only in ``xl list`` (being built, dying, or
    Domain-0 without a stored config) gets its config facts as ``None``/``[]``.
    """
    by_name = dict((e['config']['c_info']['name'], e) for e in list_long)
    result = {}
    for name, row in list_plain.items():
        entry = by_name.get(name)
        if entry is not None and entry.get('domid') not in (None, row['domid']):
            entry = None  # same name, another domain: destroyed and recreated in between
        facts = config_facts(entry) if entry is not None else _empty_facts(name)
        facts['domid'] = row['domid']
        facts['state'] = row['state']
        facts['shutdown_reason'] = row['shutdown_reason']
        facts['current_memory_mib'] = row['memory_mib']
        facts['cpu_time'] = row['cpu_time']
        if facts['vcpus'] is None:
            facts['vcpus'] = row['vcpus']
        result[name] = facts
    return result


# ---------------------------------------------------------------- service

class ShutdownTimeout(CommandError):
    """``xl shutdown -w`` did not return within the timeout."""


class Toolstack(object):
    """The ``xl`` commands of this collection, run through a ``CommandRunner``.

    Reading: :meth:`list_long`, :meth:`list_plain`, :meth:`info`,
    :meth:`state`, :meth:`xenstore_read`.  Changing: :meth:`validate`, :meth:`create`,
    :meth:`shutdown`, :meth:`destroy`, :meth:`network_detach`, :meth:`network_attach`, :meth:`pause`, :meth:`unpause`,
    :meth:`mem_set`, :meth:`vcpu_set`.  Output that cannot
    be parsed raises :class:`CommandError` with the command and its output.
    """

    def __init__(self, runner):
        self.runner = runner

    def _parsed(self, argv, parser):
        result = self.runner.run(argv, expect_output=True)
        try:
            return parser(result.stdout)
        except XlError as exc:
            tries = ' (run %d times, rc=%s)' % (result.attempts, result.rc) if result.attempts > 1 else ''
            raise CommandError(result.cmd, result.rc, result.stdout, result.stderr,
                               msg="cannot use the output of '%s'%s: %s" % (' '.join(result.cmd), tries, exc))

    def list_long(self):
        """``xl list -l`` parsed by :func:`parse_list_long`."""
        return self._parsed(['xl', 'list', '-l'], parse_list_long)

    def list_plain(self):
        """``xl list`` parsed by :func:`parse_list`."""
        return self._parsed(['xl', 'list'], parse_list)

    def info(self):
        """``xl info`` as :func:`host_facts`."""
        return host_facts(self._parsed(['xl', 'info'], parse_info))

    def state(self):
        """Read ``xl list -l`` then ``xl list`` once: ``{'domains': {...}, 'dom0': facts or None}``."""
        all_domains = merge(self.list_long(), self.list_plain())
        dom0 = None
        guests = {}
        for name, facts in all_domains.items():
            if facts['domid'] == 0:
                dom0 = facts
            else:
                guests[name] = facts
        return {'domains': guests, 'dom0': dom0}

    # libxl opens a relative phy: disk target from its working directory, while the block hotplug script
    # takes it relative to /dev: from /dev both agree (seen on Xen 4.17: from / or /root xl create fails).
    XL_CWD = '/dev'

    def validate(self, cfg_path):
        """``xl -N create PATH``: parse and check a config without creating anything."""
        return self.runner.run(['xl', '-N', 'create', cfg_path], cwd=self.XL_CWD)

    def create(self, cfg_path):
        return self.runner.run(['xl', 'create', cfg_path], cwd=self.XL_CWD)

    def shutdown(self, name, wait_timeout=None, acpi=False):
        """Shut ``name`` down cleanly.

        With ``wait_timeout`` (seconds, > 0) runs
        ``timeout SECONDS xl shutdown -w NAME``: ``xl -w`` waits until the
        domain is gone and ``timeout`` (coreutils) bounds the wait; its exit
        code 124 means the time ran out and raises :class:`ShutdownTimeout`
        (the guest keeps shutting down).  Without it, ``xl shutdown NAME``
        only sends the request.  ``acpi`` adds ``-F``: a guest without Xen's PV
        control interface (an hvm domain without PV drivers) gets an ACPI power
        button event instead (xl refuses to shut it down otherwise).
        """
        flags = ['-F'] if acpi else []
        if not wait_timeout:
            return self.runner.run(['xl', 'shutdown'] + flags + [name])
        result = self.runner.run(['timeout', str(int(wait_timeout)), 'xl', 'shutdown'] + flags + ['-w', name], check=False)
        if result.rc == 124:
            raise ShutdownTimeout(result.cmd, result.rc, result.stdout, result.stderr,
                                  msg='domain %s did not shut down within %d seconds' % (name, int(wait_timeout)))
        if result.rc != 0:
            raise CommandError(result.cmd, result.rc, result.stdout, result.stderr)
        return result

    def destroy(self, name):
        return self.runner.run(['xl', 'destroy', name])

    def xenstore_read(self, path):
        """The value at ``path`` in xenstore (``xenstore-read PATH``), or None when it is not there."""
        result = self.runner.run(['xenstore-read', path], check=False)
        return result.stdout.strip() if result.rc == 0 else None

    def network_detach(self, name, devid):
        """Remove vif ``devid`` of ``name``: ``xl network-detach NAME DEVID``."""
        return self.runner.run(['xl', 'network-detach', name, str(int(devid))])

    def network_attach(self, name, tokens):
        """Add a vif to ``name``: ``xl network-attach NAME KEY=VALUE...`` (one argument per key of the spec)."""
        return self.runner.run(['xl', 'network-attach', name] + list(tokens))

    def pause(self, name):
        return self.runner.run(['xl', 'pause', name])

    def unpause(self, name):
        return self.runner.run(['xl', 'unpause', name])

    def mem_set(self, name, mib):
        """Balloon ``name`` to ``mib`` MiB: ``xl mem-set NAME <mib>m``."""
        return self.runner.run(['xl', 'mem-set', name, '%dm' % int(mib)])

    def vcpu_set(self, name, count):
        """Set the number of online vCPUs: ``xl vcpu-set NAME N``."""
        return self.runner.run(['xl', 'vcpu-set', name, str(int(count))])
