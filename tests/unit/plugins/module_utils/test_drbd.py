# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The pure part of xen_drbd: /proc/drbd, the resource file, the plan (what runs and what is refused)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.xenops.xen.plugins.module_utils import _drbd
from ansible_collections.xenops.xen.plugins.module_utils._drbd import DrbdError, parse_proc_drbd, plan, render
from ansible_collections.xenops.xen.plugins.module_utils._lvm import Signature

HOSTS = [{'name': 'lab1', 'address': '10.99.0.11'}, {'name': 'lab2', 'address': '10.99.0.12'}]
PARAMS = {'name': 'c2-data', 'disk': '/dev/vg_xen/c2-data', 'minor': 0, 'port': 7790, 'hosts': HOSTS}
LOADED = 'version: 8.4.11 (api:1/proto:86-101)\nsrcversion: 211FB288A383ED945B83420 \n'


FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'drbd')


def fixture(name):
    """What the lab printed (fixtures/drbd/README.md says where and when)."""
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


def kinds(actions):
    return [a.kind for a in actions]


def params(**changes):
    result = dict(PARAMS)
    result.update(changes)
    return result


def test_proc_drbd_of_a_connected_resource():
    major, minor, minors = parse_proc_drbd(fixture('lab1_proc_drbd_connected.txt'))
    assert (major, minor) == (8, 4)
    state = minors[0]
    assert (state.cstate, state.role, state.peer_role, state.dstate, state.peer_dstate) == (
        'Connected', 'Secondary', 'Secondary', 'UpToDate', 'UpToDate')


def test_proc_drbd_that_is_not_drbd_is_refused():
    with pytest.raises(DrbdError, match='version line'):
        parse_proc_drbd('hello\n')


def test_resource_file_is_the_same_for_both_hosts_and_names_both():
    text = render('c2-data', 0, '/dev/vg_xen/c2-data', HOSTS, 7790)
    assert 'resource c2-data {' in text and 'allow-two-primaries yes;' in text
    assert text.count('device /dev/drbd0;') == 2 and text.count('meta-disk internal;') == 2
    assert 'on lab1 {' in text and 'address 10.99.0.11:7790;' in text
    assert 'on lab2 {' in text and 'address 10.99.0.12:7790;' in text
    assert 'allow-two-primaries' not in render('c2-data', 0, '/dev/x', HOSTS, 7790, allow_two_primaries=False)
    v6 = [{'name': 'a', 'address': 'fd00::1'}, {'name': 'b', 'address': 'fd00::2'}]
    assert 'address ipv6 [fd00::1]:7790;' in render('r', 0, '/dev/x', v6, 7790)


def test_new_resource_on_the_first_host():
    actions = plan(PARAMS, 'lab1', None, None, None)
    assert kinds(actions) == ['modprobe', 'write', 'create-md', 'up', 'wait', 'initial']
    assert actions[1].path == '/etc/drbd.d/c2-data.res'
    assert actions[5].mode == 'skip'


def test_new_resource_on_the_second_host_leaves_the_initial_step_to_the_first():
    assert kinds(plan(PARAMS, 'lab2', None, LOADED, None)) == ['write', 'create-md', 'up']


def test_full_initial_sync_and_none():
    assert plan(params(initial_sync='full'), 'lab1', None, LOADED, None)[-1].mode == 'full'
    assert kinds(plan(params(initial_sync='none'), 'lab1', None, LOADED, None)) == ['write', 'create-md', 'up']


def test_converged_resource_is_a_noop():
    text = render('c2-data', 0, '/dev/vg_xen/c2-data', HOSTS, 7790)
    assert plan(PARAMS, 'lab1', text, fixture('lab1_proc_drbd_connected.txt'), None) == []


def test_changed_configuration_of_a_resource_that_is_up_is_adjusted():
    text = render('c2-data', 0, '/dev/vg_xen/c2-data', HOSTS, 7789)
    assert kinds(plan(PARAMS, 'lab1', text, fixture('lab1_proc_drbd_connected.txt'), None)) == ['write', 'adjust']


def test_resource_down_with_metadata_is_brought_up_without_new_metadata():
    text = render('c2-data', 0, '/dev/vg_xen/c2-data', HOSTS, 7790)
    assert kinds(plan(PARAMS, 'lab2', text, LOADED, Signature(type='drbd'))) == ['up']


def test_metadata_is_never_written_over_a_file_system_without_force():
    with pytest.raises(DrbdError, match='holds ext4'):
        plan(PARAMS, 'lab1', None, LOADED, Signature(type='ext4'))
    actions = plan(params(force=True), 'lab1', None, LOADED, Signature(type='ext4'))
    assert kinds(actions)[:2] == ['write', 'create-md'] and actions[1].force is True


def test_a_resource_that_was_synced_is_not_synced_again():
    """Up, this side Inconsistent but the peer UpToDate (a replaced disk): DRBD resyncs it; no initial step."""
    proc = LOADED + ' 0: cs:SyncTarget ro:Secondary/Secondary ds:Inconsistent/UpToDate C r-----\n'
    text = render('c2-data', 0, '/dev/vg_xen/c2-data', HOSTS, 7790)
    assert plan(PARAMS, 'lab1', text, proc, None) == []


def test_a_new_resource_whose_peer_was_late_gets_its_initial_step_on_the_next_run():
    proc = LOADED + ' 0: cs:WFConnection ro:Secondary/Unknown ds:Inconsistent/DUnknown C r----s\n'
    text = render('c2-data', 0, '/dev/vg_xen/c2-data', HOSTS, 7790)
    assert kinds(plan(PARAMS, 'lab1', text, proc, None)) == ['wait', 'initial']


@pytest.mark.parametrize('changes, words', [
    ({'name': 'bad name'}, 'not a DRBD resource name'),
    ({'hosts': HOSTS[:1]}, 'exactly two hosts'),
    ({'hosts': [HOSTS[0], dict(HOSTS[1], name='lab1')]}, 'same name'),
    ({'hosts': [HOSTS[0], dict(HOSTS[1], address='10.99.0.11')]}, 'same address'),
    ({'hosts': [HOSTS[0], dict(HOSTS[1], address='lab2.example')]}, 'not an IP address'),
    ({'disk': 'vg_xen/c2-data'}, 'not an absolute path'),
    ({'minor': -1}, 'minor -1'),
    ({'port': 70000}, 'not a TCP port'),
    ({'disk': None}, 'disk is required'),
])
def test_bad_input_is_refused(changes, words):
    with pytest.raises(DrbdError, match=words):
        plan(params(**changes), 'lab1', None, LOADED, None)


def test_this_host_must_be_one_of_the_two():
    with pytest.raises(DrbdError, match='this host .lab3. is none of the hosts lab1, lab2'):
        plan(PARAMS, 'lab3', None, LOADED, None)


def test_drbd_9_kernel_module_is_refused():
    with pytest.raises(DrbdError, match='version 9'):
        plan(PARAMS, 'lab1', None, 'version: 9.2.4 (api:2/proto:86-122)\n', None)


def test_absent_takes_a_secondary_resource_down_and_keeps_the_metadata():
    text = render('c2-data', 0, '/dev/vg_xen/c2-data', HOSTS, 7790)
    actions = plan({'name': 'c2-data', 'state': 'absent'}, 'lab1', text, fixture('lab1_proc_drbd_connected.txt'), None)
    assert kinds(actions) == ['down', 'remove']
    assert plan({'name': 'c2-data', 'state': 'absent'}, 'lab1', None, LOADED, None) == []


def test_absent_refuses_a_primary_resource():
    text = render('c2-data', 0, '/dev/vg_xen/c2-data', HOSTS, 7790)
    proc = LOADED + ' 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n'
    with pytest.raises(DrbdError, match='Primary on this host'):
        plan({'name': 'c2-data', 'state': 'absent'}, 'lab1', text, proc, None)


def test_wait_returns_when_connected_or_when_the_time_is_up():
    texts = iter([LOADED + ' 0: cs:WFConnection ro:Secondary/Unknown ds:Inconsistent/DUnknown C r----s\n',
                  LOADED + ' 0: cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent C r-----\n'])
    now = [0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds
    state = _drbd.wait_connected(lambda: next(texts), 0, 10, sleep, lambda: now[0])
    assert state.cstate == 'Connected' and slept == [1]
    state = _drbd.wait_connected(lambda: LOADED + ' 0: cs:WFConnection ro:Secondary/Unknown ds:Inconsistent/DUnknown\n',
                                 0, 3, sleep, lambda: now[0])
    assert state.cstate == 'WFConnection'


def test_resources_of_the_files_and_proc_drbd():
    texts = {'c2-data.res': render('c2-data', 0, '/dev/vg_xen/c2-data', HOSTS, 7790),
             'old.res': render('old', 3, '/dev/vg_xen/old', HOSTS, 7793), 'junk.res': 'not drbd\n'}
    found = _drbd.resources(texts, fixture('lab1_proc_drbd_connected.txt'))
    assert found == {'c2-data': {'minor': 0, 'connection': 'Connected', 'role': 'Secondary', 'disk': 'UpToDate',
                                 'peer_disk': 'UpToDate'},
                     'old': {'minor': 3, 'connection': 'Unconfigured', 'role': '', 'disk': '', 'peer_disk': ''}}
    assert _drbd.resources(texts, None)['c2-data']['connection'] == 'Unconfigured'


def test_host_resources_none_without_drbd(tmp_path):
    assert _drbd.host_resources(str(tmp_path / 'none'), str(tmp_path / 'proc')) is None
    (tmp_path / 'd').mkdir()
    (tmp_path / 'd' / 'c2-data.res').write_text(render('c2-data', 0, '/dev/vg_xen/c2-data', HOSTS, 7790))
    assert _drbd.host_resources(str(tmp_path / 'd'), str(tmp_path / 'proc'))['c2-data']['minor'] == 0


def test_proc_drbd_while_a_domain_runs_here():
    state = parse_proc_drbd(fixture('lab1_proc_drbd_primary.txt'))[2][0]
    assert (state.role, state.peer_role, state.dstate) == ('Primary', 'Secondary', 'UpToDate')
    text = render('c2-data', 0, '/dev/vg_xen/c2-data', HOSTS, 7790)
    with pytest.raises(DrbdError, match='Primary on this host'):
        plan({'name': 'c2-data', 'state': 'absent'}, 'lab1', text, fixture('lab1_proc_drbd_primary.txt'), None)
