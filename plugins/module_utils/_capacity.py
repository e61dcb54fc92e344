# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The capacity view of a fleet: per host its memory, vCPUs and domains, as data and as one HTML page.

Pure code.  :func:`capacity` turns what ``xenops.xen.xen_info`` returned
for each host into rows; :func:`render_html` draws them as a self-contained
page (inline CSS, no scripts, no external assets) with one bar per host:
dom0, each domain and the free memory, so that a full host shows at a glance.
"""

from __future__ import annotations

import html

FULL_PERCENT = 90
_COLOURS = ('#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f')


def capacity(infos):
    """``infos``: host name -> the result of ``xen_info`` on it.  Returns ``{'hosts': [...]}``, hosts by name."""
    hosts = []
    for name in sorted(infos):
        info = infos[name] or {}
        host = info.get('host') or {}
        total = int(host.get('total_memory_mib') or 0)
        free = int(host.get('free_memory_mib') or 0)
        dom0 = info.get('dom0') or {}
        domains = []
        for dname in sorted(info.get('domains') or {}):
            dom = info['domains'][dname]
            domains.append({'name': dname, 'memory_mib': int(dom.get('current_memory_mib') or dom.get('memory_mib') or 0),
                            'vcpus': int(dom.get('vcpus') or 0), 'state': dom.get('state')})
        used = total - free
        hosts.append({
            'name': name, 'xen_version': host.get('xen_version'), 'total_memory_mib': total, 'free_memory_mib': free,
            'dom0_memory_mib': int(dom0.get('current_memory_mib') or dom0.get('memory_mib') or 0),
            'nr_cpus': int(host.get('nr_cpus') or 0), 'domain_vcpus': sum(d['vcpus'] for d in domains),
            'used_percent': int(round(100.0 * used / total)) if total else 0, 'domains': domains,
        })
    for host in hosts:
        host['full'] = host['used_percent'] >= FULL_PERCENT
    return {'hosts': hosts}


def _bar(host):
    total = host['total_memory_mib'] or 1
    parts = [('dom0', host['dom0_memory_mib'], '#bab0ac')]
    parts += [(d['name'], d['memory_mib'], _COLOURS[i % len(_COLOURS)]) for i, d in enumerate(host['domains'])]
    parts.append(('free', host['free_memory_mib'], '#ffffff'))
    cells = []
    for label, mib, colour in parts:
        if mib <= 0:
            continue
        cells.append('<div class="seg" style="width:%.2f%%;background:%s" title="%s: %d MiB">%s</div>'
                     % (100.0 * mib / total, colour, html.escape(label), mib, html.escape(label)))
    return '<div class="bar">%s</div>' % ''.join(cells)


def render_html(report, title='Xen fleet capacity'):
    """The report as one HTML page."""
    rows = []
    for host in report['hosts']:
        domains = ', '.join('%s (%d MiB, %d vCPU%s)' % (html.escape(d['name']), d['memory_mib'], d['vcpus'],
                                                        '' if d['vcpus'] == 1 else 's') for d in host['domains'])
        rows.append('<section class="host%s"><h2>%s%s</h2><p>Xen %s &middot; %d of %d MiB used (%d%%), %d MiB free '
                    '&middot; %d CPUs, %d domain vCPUs</p>%s<p class="doms">%s</p></section>'
                    % (' full' if host['full'] else '', html.escape(host['name']), ' &mdash; full' if host['full'] else '',
                       html.escape(str(host['xen_version'] or '?')), host['total_memory_mib'] - host['free_memory_mib'],
                       host['total_memory_mib'], host['used_percent'], host['free_memory_mib'], host['nr_cpus'],
                       host['domain_vcpus'], _bar(host), domains or 'no domains'))
    style = ('body{font-family:sans-serif;margin:2em;color:#222}h2{margin:.2em 0}.host{margin-bottom:1.5em}'
             '.full h2{color:#b00}.bar{display:flex;width:100%;max-width:60em;height:2em;border:1px solid #444}'
             '.seg{overflow:hidden;white-space:nowrap;font-size:.8em;line-height:2em;text-align:center;'
             'border-right:1px solid #444}.doms{font-size:.9em;color:#555}')
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>%s</title><style>%s</style></head>'
            '<body><h1>%s</h1>%s</body></html>\n' % (html.escape(title), style, html.escape(title), '\n'.join(rows)))
