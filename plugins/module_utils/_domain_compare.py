# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Comparing xl configs with each other and with a running domain (``xl list -l`` facts).

:func:`same_config` compares two configs by meaning (disk and vif specs in
canonical form); :func:`compare_running` says why a running domain needs a
restart to get a config and what can change at run time.  Pure code.
"""

from __future__ import annotations

import os

from ansible_collections.xenops.xen.plugins.module_utils import _xlcfg
from ansible_collections.xenops.xen.plugins.module_utils._xl_devices import host_path, render_disk, render_vif, try_disk, try_vif

#: other key is only known from the previous config file.
FACT_KEYS = ('name', 'type', 'builder', 'kernel', 'ramdisk', 'cmdline', 'root', 'extra', 'bootloader', 'pvshim', 'memory',
             'maxmem', 'vcpus', 'maxvcpus', 'disk', 'vif', 'on_poweroff', 'on_reboot', 'on_watchdog', 'on_crash',
             'on_soft_reset')
EVENT_DEFAULTS = {'on_poweroff': 'destroy', 'on_reboot': 'restart', 'on_watchdog': 'destroy', 'on_crash': 'destroy'}


def _comparable(cfg):
    """``cfg`` with disk and vif specs in canonical form and the default type made explicit."""
    result = dict(cfg)
    builder = result.pop('builder', None)
    if 'type' not in result:
        result['type'] = 'hvm' if builder == 'hvm' else 'pv'
    # a relative disk target (vg/lv) is kept as written: xl create opens it relative to its working
    # directory (it works only from /dev), so a file with one is rewritten with the /dev path
    for key, parse, render in (('disk', try_disk, render_disk), ('vif', try_vif, render_vif)):
        specs = result.get(key)
        if isinstance(specs, list):
            parsed = [parse(spec) if isinstance(spec, str) else None for spec in specs]
            result[key] = [render(p) if p is not None else spec for p, spec in zip(parsed, specs)]
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
        disks.append(try_disk(spec) if isinstance(spec, str) else None)
    vifs = []
    for spec in cfg.get('vif') or []:
        vifs.append(try_vif(spec) if isinstance(spec, str) else None)
    result = {
        'type': dtype,
        'kernel': cfg.get('kernel'),
        'ramdisk': cfg.get('ramdisk'),
        'cmdline': _cmdline(cfg),
        'bootloader': cfg.get('bootloader'),
        'pvshim': dtype == 'pvh' and bool(_as_int(cfg.get('pvshim'), 0)),
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
    elif facts.get('type') == 'pvh' and 'pvshim' in facts and bool(facts['pvshim']) != eff['pvshim']:
        reasons.append('pvshim %d, running %s' % (eff['pvshim'], 'in the PV shim' if facts['pvshim'] else 'without it'))
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
