# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""fleet_capacity and fleet_capacity_html on what xen_info returns for the lab host (captured output)."""

from __future__ import annotations

import json
import re

import labdata

from ansible_collections.xenops.xen.plugins.filter.fleet import fleet_capacity, fleet_capacity_html
from ansible_collections.xenops.xen.plugins.modules import xen_info

from ansible_collections.xenops.xen.tests.unit.plugins.modules.utils import Call, run_module


def lab_info():
    """xen_info's result on the captured lab host: Xen 4.17.7, 2047 MiB, 1030 free, dom0 768 MiB, news and web."""
    calls = [Call(['xl', 'list', '-l'], out=labdata.text('xl_list_l.json')),
             Call(['xl', 'list'], out=labdata.run('xl_list.json')['stdout']),
             Call(['xl', 'info'], out=labdata.run('xl_info.json')['stdout'])]
    result, failed, seen = run_module(xen_info.main, {}, calls=calls)
    assert not failed
    return result


def test_report_of_the_lab_host_and_a_full_one():
    lab1 = lab_info()
    full = json.loads(json.dumps(lab1))
    full['host']['free_memory_mib'] = 100
    report = fleet_capacity({'lab2': full, 'lab1': lab1})
    assert [h['name'] for h in report['hosts']] == ['lab1', 'lab2']
    one = report['hosts'][0]
    assert (one['xen_version'], one['total_memory_mib'], one['free_memory_mib'], one['dom0_memory_mib'], one['nr_cpus']) == (
        '4.17.7', 2047, 1030, 768, 2)
    assert [d['name'] for d in one['domains']] == ['news', 'web']
    assert one['used_percent'] == 50 and one['full'] is False
    assert report['hosts'][1]['used_percent'] == 95 and report['hosts'][1]['full'] is True


def test_html_page_is_self_contained_and_shows_each_host():
    page = fleet_capacity_html(fleet_capacity({'lab1': lab_info(), 'x<y': lab_info()}))
    assert page.startswith('<!DOCTYPE html>')
    assert not re.search(r'(src|href)=|<script|url\(', page)
    assert '<h2>lab1</h2>' in page and 'x&lt;y' in page and 'x<y' not in page
    assert 'title="news: ' in page and 'title="free: 1030 MiB"' in page
    assert '1017 of 2047 MiB used (50%), 1030 MiB free' in page
