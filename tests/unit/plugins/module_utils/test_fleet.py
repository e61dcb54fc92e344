# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet plan: placement of listed and fleet-wide domains, moves and their preflight, drains.

Host state is xen_info's view of the lab capture (lab1: news and web running) and of a dom0 that
runs nothing (lab2), read with the module's own parsers.
"""

from __future__ import annotations

import copy
import json

import pytest

import labdata

from ansible_collections.xenops.xen.plugins.module_utils import _xl
from ansible_collections.xenops.xen.plugins.module_utils._fleet import FleetError, plan
from ansible_collections.xenops.xen.plugins.module_utils._migrate import used_memory

LONG = json.loads(labdata.text('xl_list_l.json'))
PLAIN = json.loads(labdata.text('xl_list.json'))['stdout']
INFO = json.loads(labdata.text('xl_info.json'))['stdout']


def info(*names, free=None, version=None, bridges=('xenbr0',), diskless=('web', 'news'), pv=()):
    """The lab's domains as PVH ones (the captured ones are PV, which Debian's Xen cannot migrate) unless in ``pv``."""
    entries = []
    for entry in LONG:
        if entry['config']['c_info']['name'] in names:
            entry = copy.deepcopy(entry)
            if entry['config']['c_info']['name'] in diskless:
                entry['config'].pop('disks', None)
            if entry['config']['c_info']['name'] not in pv:
                entry['config']['c_info']['type'] = 'pvh'
            entries.append(entry)
    lines = [line for line in PLAIN.splitlines()[2:] if line.split()[0] in names]
    plain = _xl.parse_list('\n'.join(PLAIN.splitlines()[:2] + lines) + '\n')
    domains = dict((n, f) for n, f in _xl.merge(_xl.parse_list_long(json.dumps(entries)), plain).items() if f['domid'])
    host = _xl.host_facts(_xl.parse_info(INFO))
    if free is not None:
        host['free_memory_mib'] = free
    if version is not None:
        host['xen_version'] = version
    host['bridges'] = list(bridges)
    return {'host': host, 'domains': domains}


def fleet(lab1_domains, lab2_domains=(), lab1=None, lab2=None):
    return {'lab1': {'domains': list(lab1_domains), 'info': lab1 or info('news', 'web')},
            'lab2': {'domains': list(lab2_domains), 'info': lab2 or info(free=1200)}}


NEWS = {'name': 'news', 'memory': 128}
WEB = {'name': 'web', 'memory': 96}


def test_listed_domains_that_run_where_listed_are_no_move():
    result = plan(fleet([NEWS, WEB]))
    assert result['moves'] == []
    assert result['placement'] == {'lab1': [NEWS, WEB], 'lab2': []}


def test_domain_listed_on_another_host_moves_live_there():
    result = plan(fleet([NEWS], [WEB]))
    assert result['moves'] == [{'name': 'web', 'from': 'lab1', 'to': 'lab2', 'method': 'live', 'notes': [], 'memory': 96,
                                'summary': 'web: lab1 -> lab2 (live)'}]
    assert result['placement']['lab2'] == [WEB]
    assert result['hosts']['lab2']['free_mib'] == 1200 - 96


def test_drain_moves_every_running_domain_off_the_host():
    result = plan(fleet([NEWS, WEB]), drain=['lab1'])
    assert sorted(m['name'] for m in result['moves']) == ['news', 'web']
    assert all((m['from'], m['to']) == ('lab1', 'lab2') for m in result['moves'])
    assert result['placement'] == {'lab1': [], 'lab2': [NEWS, WEB]}


def test_drain_without_room_fails_naming_the_shortfall():
    with pytest.raises(FleetError) as exc:
        plan(fleet([NEWS, WEB], lab2=info(free=100)), drain=['lab1'])
    assert 'domain news (128 MiB) fits on no host: lab2 has 100 MiB left (28 MiB short)' in str(exc.value)


def test_move_to_a_host_without_the_bridge_fails_before_anything():
    with pytest.raises(FleetError) as exc:
        plan(fleet([NEWS], [WEB], lab2=info(free=1200, bridges=())))
    assert 'cannot move web from lab1 to lab2: lab2 has no bridge xenbr0' in str(exc.value)
    assert str(exc.value).endswith('nothing was changed')


def test_move_to_an_older_xen_is_refused():
    with pytest.raises(FleetError) as exc:
        plan(fleet([NEWS], [WEB], lab2=info(free=1200, version='4.16.2')))
    assert 'live migration from Xen 4.17 on lab1 to Xen 4.16 on lab2 is not safe' in str(exc.value)


def test_domain_with_local_disks_is_refused_and_shared_ones_move():
    lab1 = info('news', 'web', diskless=())
    with pytest.raises(FleetError) as exc:
        plan(fleet([NEWS], [WEB], lab1=lab1))
    assert 'its disks /dev/vg_xen/web-root are local to lab1' in str(exc.value)
    result = plan(fleet([NEWS], [dict(WEB, shared_disks=True)], lab1=lab1))
    assert [m['name'] for m in result['moves']] == ['web']
    assert result['placement']['lab2'] == [WEB]


def test_fleet_domains_are_placed_by_memory_and_anti_affinity():
    extra = [{'name': 'db1', 'memory': 300, 'avoid': ['db2']}, {'name': 'db2', 'memory': 300}]
    result = plan(fleet([NEWS, WEB], lab1=info('news', 'web', free=700)), fleet_domains=extra)
    hosts = dict((h, [d['name'] for d in ds]) for h, ds in result['placement'].items())
    assert sorted([('db1' in hosts['lab1']), ('db2' in hosts['lab1'])]) == [False, True]
    assert result['moves'] == []
    assert all('avoid' not in d for ds in result['placement'].values() for d in ds)


def test_a_move_waits_for_the_memory_another_move_frees():
    # web goes to lab2 and big goes to lab1, which has room only once web has left
    lab2 = info('news', free=100)
    lab1 = info('web', free=50)
    big = {'name': 'news', 'memory': 128}
    result = plan(fleet([big], [WEB], lab1=lab1, lab2=lab2))
    # news sorts first but fits on lab1 only after web has gone
    assert [m['name'] for m in result['moves']] == ['web', 'news']


def test_stopped_and_absent_domains_stay_where_they_are_listed():
    result = plan(fleet([NEWS, dict(WEB, state='stopped')]), drain=['lab1'])
    assert result['placement']['lab1'] == [dict(WEB, state='stopped')]
    assert [m['name'] for m in result['moves']] == ['news']


@pytest.mark.parametrize('hosts, kwargs, message', [
    (fleet([NEWS], [NEWS]), {}, 'domain news is listed for both lab1 and lab2'),
    (fleet([NEWS]), {'fleet_domains': [NEWS]}, 'domain news is listed for lab1 and as a fleet domain'),
    (fleet([NEWS]), {'drain': ['lab9']}, 'cannot drain lab9: not a host of this play (lab1, lab2)'),
    (fleet([NEWS, WEB], lab2=info('web', free=1200)), {}, 'domains run on more than one host: web (on lab1, lab2)'),
    (fleet([dict(NEWS, memory='lots')]), {}, "domain news: memory must be a whole number of MiB, got 'lots'"),
])
def test_bad_fleets_fail_with_a_clear_message(hosts, kwargs, message):
    with pytest.raises(FleetError) as exc:
        plan(hosts, **kwargs)
    assert message in str(exc.value)


def test_a_host_keeps_the_order_of_its_inventory_list():
    result = plan(fleet([WEB, NEWS]))
    assert [d['name'] for d in result['placement']['lab1']] == ['web', 'news']


def test_pv_domain_is_not_moved_live_where_xen_has_no_shadow_paging():
    # the lab's xl info: virt_caps "pv hvm hap gnttab-v1 gnttab-v2" (Debian's Xen 4.17 has no shadow paging)
    with pytest.raises(FleetError) as exc:
        plan(fleet([WEB], [NEWS], lab1=info('news', 'web', pv=('news',))))
    assert ('cannot move news from lab1 to lab2: news is a PV domain, and the Xen of lab1 cannot migrate PV '
            'domains: it has no shadow paging (virt_caps: pv hvm hap gnttab-v1 gnttab-v2') in str(exc.value)
    assert str(exc.value).endswith('nothing was changed')


def test_pv_domain_moves_live_where_xen_has_shadow_paging():
    lab1 = info('news', 'web', pv=('news',))
    lab1['host']['virt_caps'] = lab1['host']['virt_caps'] + ['shadow']
    result = plan(fleet([WEB], [NEWS], lab1=lab1))
    assert [m['summary'] for m in result['moves']] == ['news: lab1 -> lab2 (live)']


def test_domain_with_local_disks_moves_cold_only_when_allowed():
    lab1 = info('news', 'web', diskless=('news',))
    with pytest.raises(FleetError, match='its disks /dev/vg_xen/web-root are local to lab1'):
        plan(fleet([NEWS], [WEB], lab1=lab1))
    result = plan(fleet([NEWS], [WEB], lab1=lab1), allow_cold=True)
    assert [m['summary'] for m in result['moves']] == ['web: lab1 -> lab2 (cold)']


def _state(lab, name, state):
    lab['domains'][name]['state'] = state
    return lab


@pytest.mark.parametrize('state', ['crashed', 'shutdown'])
def test_drain_of_a_host_with_a_domain_that_does_not_run_fails_before_the_first_move(state):
    # xl lists web as crashed (on_crash=preserve) or shut down (on_poweroff=preserve): xl migrate refuses it,
    # so the drain must fail in the plan, before news has moved, naming web
    lab1 = _state(info('news', 'web'), 'web', state)
    with pytest.raises(FleetError) as exc:
        plan(fleet([NEWS, WEB], lab1=lab1), drain=['lab1'])
    assert 'cannot move web from lab1 to lab2: web is %s on lab1, and only a running domain moves' % state in str(exc.value)
    assert 'news' not in str(exc.value)
    assert str(exc.value).endswith('nothing was changed')


def test_a_crashed_domain_that_stays_where_it_is_listed_is_no_move_and_no_problem():
    result = plan(fleet([NEWS, WEB], lab1=_state(info('news', 'web'), 'web', 'crashed')))
    assert result['moves'] == []


@pytest.mark.parametrize('state', ['stopped', 'absent'])
def test_avoiding_a_domain_that_will_not_run_is_satisfied(state):
    # dns2 is retired (stopped or absent on lab2): dns1's avoid of it must not break the plan
    dns1 = {'name': 'dns1', 'memory': 64, 'avoid': ['dns2']}
    dns2 = {'name': 'dns2', 'memory': 64, 'state': state}
    result = plan(fleet([NEWS, WEB], [dns2]), fleet_domains=[dns1])
    assert result['moves'] == []
    assert {'name': 'dns1', 'memory': 64} in result['placement']['lab1'] + result['placement']['lab2']
    # the same for a retired fleet domain, and for its own avoid list
    result = plan(fleet([NEWS, WEB]), fleet_domains=[dns1, dict(dns2, avoid=['dns1'])])
    assert result['moves'] == []


def test_avoiding_a_domain_that_no_inventory_lists_is_still_refused():
    with pytest.raises(FleetError, match='domain dns1 avoids dnss2, which are not domains of the fleet'):
        plan(fleet([NEWS, WEB]), fleet_domains=[{'name': 'dns1', 'memory': 64, 'avoid': ['dnss2']}])


def test_placement_counts_the_memory_a_domain_uses_now_when_it_is_more_than_the_inventory_says():
    # news uses 128 MiB now; the inventory says 64: lab2 has room for 64 but not for the move of 128 MiB, so the
    # plan must fail in the placement with the one figure it also checks the move with (and name the shortfall)
    small = dict(NEWS, memory=64)
    with pytest.raises(FleetError) as exc:
        plan(fleet([small, WEB], lab2=info(free=100)), drain=['lab1'])
    assert 'domain news (128 MiB) fits on no host: lab2 has 100 MiB left (28 MiB short)' in str(exc.value)
    result = plan(fleet([small, WEB], lab2=info(free=300)), drain=['lab1'])
    assert dict((m['name'], m['memory']) for m in result['moves']) == {'news': 128, 'web': 96}
    assert result['hosts']['lab2']['free_mib'] == 300 - 128 - 96


def test_placement_counts_the_inventory_memory_when_it_is_more_than_the_domain_uses_now():
    # web uses 96 MiB now and gets 200 from the inventory (the domains role gives it that on lab2)
    with pytest.raises(FleetError, match=r'domain web \(200 MiB\) fits on no host: lab2 has 150 MiB left'):
        plan(fleet([NEWS], [dict(WEB, memory=200)], lab2=info(free=150)))


@pytest.mark.parametrize('hosts, kwargs, message', [
    ({'lab1': None}, {}, 'hosts.lab1 must be a mapping, got null'),
    (['lab1', 'lab2'], {}, 'hosts (host name -> {domains, info}) must be a mapping, got a list'),
    (fleet(['news']), {}, "hosts.lab1.domains[0] (an entry of its xen_domains) must be a mapping, got a string 'news'"),
    (dict(fleet([NEWS]), lab2={'domains': 'web', 'info': info()}), {}, "hosts.lab2.domains must be a list, also for one entry; got the string 'web'"),
    (fleet([NEWS]), {'fleet_domains': 'dns1'}, "fleet_domains must be a list, also for one entry; got the string 'dns1'"),
    (fleet([NEWS]), {'fleet_domains': ['dns1']}, "fleet_domains[0] must be a mapping, got a string 'dns1'"),
    (fleet([NEWS]), {'drain': 'lab1'}, "drain must be a list, also for one entry; got the string 'lab1' (write [lab1])"),
    (fleet([NEWS]), {'fleet_domains': [{'name': 'dns1', 'avoid': 'dns2'}, {'name': 'dns2'}]},
     "domain dns1: avoid must be a list, also for one entry; got the string 'dns2' (write [dns2])"),
    (fleet([NEWS]), {'reserve_mib': 'lots'}, "reserve_mib must be a whole number of at least 0, got 'lots'"),
    (fleet([NEWS]), {'reserve_mib': 7.5}, 'reserve_mib must be a whole number of at least 0, got 7.5'),
    (fleet([NEWS]), {'default_memory': None}, 'default_memory must be a whole number of at least 1, got None'),
    (fleet([NEWS, NEWS]), {}, 'domain news is listed twice for lab1'),
    (fleet([NEWS]), {'fleet_domains': [WEB, WEB]}, 'domain web is listed twice as a fleet domain'),
])
def test_input_of_the_wrong_shape_is_named(hosts, kwargs, message):
    with pytest.raises(FleetError) as exc:
        plan(hosts, **kwargs)
    assert message in str(exc.value)


# -- a migration that did not finish: xl left web--migratedaway on the source and/or web--incoming on the target

def leftover(host_info, name, new_name, state='paused'):
    """``host_info`` with its domain ``name`` shown as xl shows it during a migration (``new_name``, ``state``)."""
    host_info = copy.deepcopy(host_info)
    facts = host_info['domains'].pop(name)
    host_info['domains'][new_name] = dict(facts, name=new_name, state=state)
    return host_info


WEB_FACTS = info('web')['domains']['web']
HANDSHAKE = ['xl destroy web--incoming on lab2', 'xl rename web--migratedaway web on lab1', 'xl unpause web on lab1']


def interrupted(lab1_domains=(NEWS,), lab2_domains=(WEB,), lab1=('web--migratedaway', 'paused'),
                lab2=('web--incoming', 'paused'), **kw):
    """lab1 ran news and web, lab2 nothing; then the migration of web from lab1 to lab2 was cut off."""
    lab1_info = leftover(info('news', 'web'), 'web', *lab1) if lab1 else info('news')
    lab2_info = info(free=1200 - used_memory(WEB_FACTS))
    if lab2:
        lab2_info['domains'][lab2[0]] = dict(WEB_FACTS, name=lab2[0], state=lab2[1])
    return plan(fleet(lab1_domains, lab2_domains, lab1=lab1_info, lab2=lab2_info), **kw)


@pytest.mark.parametrize('kw', [{}, {'lab1_domains': [NEWS, WEB], 'lab2_domains': [], 'drain': ['lab1']}])
def test_interrupted_move_is_recovered_by_xen_migrate_then_made(kw):
    """The move that continues it (from the host with web--migratedaway) recovers, as xen_migrate does, then moves."""
    result = interrupted(**kw)
    web = [m for m in result['moves'] if m['name'] == 'web']
    assert web == [{'name': 'web', 'from': 'lab1', 'to': 'lab2', 'method': 'live', 'memory': used_memory(WEB_FACTS),
                    'recover': HANDSHAKE,
                    'notes': ['recover the interrupted move of web first: ' + ', '.join(HANDSHAKE)],
                    'summary': 'web: lab1 -> lab2 (live, after recovering the interrupted move)'}]
    # the memory web--incoming holds on lab2 is free once it is destroyed
    assert result['hosts']['lab2']['free_mib'] == 1200 - sum(m['memory'] for m in result['moves'])


def test_stale_incoming_copy_on_the_target_no_longer_blocks_the_move():
    """web still runs on lab1 under its name; lab2 has the web--incoming that never ran."""
    result = interrupted(lab1=('web', 'running'))
    assert result['moves'][0]['recover'] == ['xl destroy web--incoming on lab2']
    assert result['moves'][0]['summary'] == 'web: lab1 -> lab2 (live, after recovering the interrupted move)'


def test_interrupted_move_that_went_through_gets_the_stale_source_copy_destroyed():
    """lab2 runs web under its name: nothing moves, xen_migrate from lab1 destroys the stale copy there and hands the
    config file over."""
    result = interrupted(lab2=('web', 'running'))
    assert result['moves'] == [{'name': 'web', 'from': 'lab1', 'to': 'lab2', 'method': 'recover', 'memory': 0,
                                'recover': ['xl destroy web--migratedaway on lab1'],
                                'notes': ['recover the interrupted move of web: xl destroy web--migratedaway on lab1'],
                                'summary': 'web: lab1 -> lab2 (recover the interrupted move)'}]
    assert result['hosts']['lab1']['free_mib'] == info('news', 'web')['host']['free_memory_mib'] + used_memory(WEB_FACTS)


def test_interrupted_move_that_went_through_is_recovered_before_the_domain_moves_back():
    """The inventory lists web for lab1 again: the stale copy on lab1 goes first, then web moves back."""
    result = interrupted(lab1_domains=[NEWS, WEB], lab2_domains=[], lab2=('web', 'running'))
    moves = [(m['from'], m['to'], m['method']) for m in result['moves']]
    assert moves == [('lab1', 'lab2', 'recover'), ('lab2', 'lab1', 'live')]
    assert 'recover' not in result['moves'][1]


def test_interrupted_move_that_no_move_of_the_plan_recovers_is_refused_with_the_commands():
    """The inventory lists web for lab1 again, where its paused web--migratedaway is: xen_migrate recovers only in
    a move from lab1 to lab2, and the plan has none."""
    with pytest.raises(FleetError) as exc:
        interrupted(lab1_domains=[NEWS, WEB], lab2_domains=[])
    assert str(exc.value) == (
        'an earlier migration of web from lab1 to lab2 did not finish (web--migratedaway on lab1, web--incoming on '
        'lab2) and the fleet keeps web on lab1: xen_migrate recovers it only in a move from lab1 to lab2; nothing was '
        'changed. By hand: ' + ', '.join(HANDSHAKE))


def test_incoming_copy_that_is_the_only_one_left_is_refused_with_the_commands():
    with pytest.raises(FleetError) as exc:
        interrupted(lab1=None)
    assert str(exc.value) == (
        'an earlier migration of web did not finish (web--incoming on lab2) and web runs on neither host; nothing '
        'was changed. By hand: xl destroy web--incoming on lab2, then start web from its config file on one host')
