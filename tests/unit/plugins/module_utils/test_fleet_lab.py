# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet plan on what two real lab hosts said (fixtures/fleet: lab1 runs f1 and f2, lab2 runs f3)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.xenops.xen.plugins.module_utils import _xl
from ansible_collections.xenops.xen.plugins.module_utils._fleet import FleetError, plan
from ansible_collections.xenops.xen.plugins.module_utils._migrate import bridge_names

FLEET = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'fleet')


def read(name):
    with open(os.path.join(FLEET, name)) as fh:
        return fh.read()


def xen_info(host):
    """What xenops.xen.xen_info returns on the host, from its captured output."""
    facts = _xl.merge(_xl.parse_list_long(read(host + '_xl_list_l.json')), _xl.parse_list(read(host + '_xl_list.txt')))
    info = _xl.host_facts(_xl.parse_info(read(host + '_xl_info.txt')))
    info['bridges'] = bridge_names(read(host + '_bridges.txt'))
    return {'host': info, 'domains': dict((n, f) for n, f in facts.items() if f['domid'])}


def entry(name):
    return {'name': name, 'type': 'pvh', 'memory': 96, 'vifs': [{'bridge': 'xenbr0'}]}


def hosts(lab1, lab2):
    return {'lab1': {'domains': [entry(n) for n in lab1], 'info': xen_info('lab1')},
            'lab2': {'domains': [entry(n) for n in lab2], 'info': xen_info('lab2')}}


def test_the_captured_hosts():
    lab1, lab2 = xen_info('lab1'), xen_info('lab2')
    assert sorted(lab1['domains']) == ['f1', 'f2'] and sorted(lab2['domains']) == ['f3']
    assert lab1['host']['bridges'] == ['xenbr0'] and lab1['host']['xen_version'] == '4.17.7'
    assert lab1['domains']['f1']['type'] == 'pvh'
    assert (lab1['host']['free_memory_mib'], lab2['host']['free_memory_mib']) == (1061, 1158)


def test_inventory_as_it_runs_is_no_move():
    assert plan(hosts(['f1', 'f2'], ['f3']))['moves'] == []


def test_moving_f1_to_lab2_is_one_live_move():
    result = plan(hosts(['f2'], ['f3', 'f1']))
    assert [m['summary'] for m in result['moves']] == ['f1: lab1 -> lab2 (live)']
    assert result['hosts']['lab2']['free_mib'] == 1158 - 96 and result['hosts']['lab1']['free_mib'] == 1061 + 96


def test_drain_of_lab1_moves_both_its_domains_to_lab2():
    result = plan(hosts(['f1', 'f2'], ['f3']), drain=['lab1'])
    assert sorted(m['summary'] for m in result['moves']) == ['f1: lab1 -> lab2 (live)', 'f2: lab1 -> lab2 (live)']
    assert result['hosts']['lab1']['domains'] == []


def test_too_little_memory_on_lab2_is_refused_with_the_figures():
    with pytest.raises(FleetError) as exc:
        plan(hosts(['f1', 'f2'], ['f3']), drain=['lab1'], reserve_mib=1100)
    # lab2: 1158 MiB free less the 1100 reserved
    assert str(exc.value) == ('the fleet cannot hold its domains, nothing was changed: domain f1 (96 MiB) fits on no '
                              'host: lab2 has 58 MiB left (38 MiB short); domain f2 (96 MiB) fits on no host: lab2 has '
                              '58 MiB left (38 MiB short)')
