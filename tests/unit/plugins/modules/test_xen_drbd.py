# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""xen_drbd scenarios: the exact commands for a new resource on each host, none in check mode, a no-op, refusals."""

from __future__ import annotations

import platform

import pytest

from ansible_collections.xenops.xen.plugins.module_utils import _drbd
from ansible_collections.xenops.xen.plugins.modules import xen_drbd

from utils import Call, run_module

HOSTS = [{'name': 'lab1', 'address': '10.99.0.11'}, {'name': 'lab2', 'address': '10.99.0.12'}]
LOADED = 'version: 8.4.11 (api:1/proto:86-101)\nsrcversion: 211FB288A383ED945B83420 \n'
UNSYNCED = LOADED + ' 0: cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent C r-----\n'
SYNCED = LOADED + ' 0: cs:Connected ro:Secondary/Secondary ds:UpToDate/UpToDate C r-----\n'


@pytest.fixture
def host(tmp_path, monkeypatch):
    """This host's name, a blank backing device and /proc/drbd: each read of it gives the next text of ``proc``."""
    disk = tmp_path / 'c2-data'
    disk.write_text('')
    state = {'name': 'lab1', 'proc': [None]}
    monkeypatch.setattr(platform, 'node', lambda: state['name'])

    def proc(drbd):
        texts = state['proc']
        return texts.pop(0) if len(texts) > 1 else texts[0]
    monkeypatch.setattr(_drbd.Drbd, 'proc', proc)
    state['args'] = dict(name='c2-data', disk=str(disk), minor=0, port=7790, hosts=HOSTS,
                         config_dir=str(tmp_path / 'drbd.d'), wait=5)
    state['disk'] = str(disk)
    state['config'] = tmp_path / 'drbd.d' / 'c2-data.res'
    return state


def blkid(path, rc=2, out=''):
    return Call(['blkid', '-p', '-o', 'export', path], rc=rc, out=out)


def test_new_resource_on_the_first_host(host):
    host['proc'] = [None, LOADED, UNSYNCED, SYNCED]
    result, failed, _seen = run_module(xen_drbd.main, host['args'], calls=[
        blkid(host['disk']),
        Call(['modprobe', 'drbd']),
        Call(['drbdadm', '--', '--force', 'create-md', 'c2-data']),
        Call(['drbdadm', 'up', 'c2-data']),
        Call(['drbdadm', '--', '--clear-bitmap', 'new-current-uuid', 'c2-data'])], diff=True)
    assert failed is False, result
    assert result['changed'] is True
    assert host['config'].read_text() == _drbd.render('c2-data', 0, host['disk'], HOSTS, 7790)
    assert (result['connection'], result['role'], result['disk_state']) == ('Connected', 'Secondary', 'UpToDate')
    assert result['diff']['before']['connection'] == 'Unconfigured'


def test_new_resource_on_the_second_host(host):
    host['name'] = 'lab2'
    host['proc'] = [LOADED, UNSYNCED]
    result, failed, _seen = run_module(xen_drbd.main, host['args'], calls=[
        blkid(host['disk']),
        Call(['drbdadm', '--', '--force', 'create-md', 'c2-data']),
        Call(['drbdadm', 'up', 'c2-data'])])
    assert failed is False, result
    assert result['actions'][-1] == 'bring resource c2-data up (/dev/drbd0)'


def test_check_mode_runs_only_blkid(host):
    host['proc'] = [None]
    result, failed, seen = run_module(xen_drbd.main, host['args'], calls=[blkid(host['disk'])], check_mode=True)
    assert failed is False, result
    assert result['changed'] is True and [argv[0] for argv in seen] == ['blkid']
    assert not host['config'].exists()


def test_converged_resource_runs_nothing(host):
    host['config'].parent.mkdir()
    host['config'].write_text(_drbd.render('c2-data', 0, host['disk'], HOSTS, 7790))
    host['proc'] = [SYNCED]
    result, failed, seen = run_module(xen_drbd.main, host['args'], calls=[])
    assert failed is False, result
    assert result['changed'] is False and seen == []


def test_peer_that_never_connects_fails_with_what_to_do(host, monkeypatch):
    monkeypatch.setattr(xen_drbd.time, 'sleep', lambda s: None)
    waiting = LOADED + ' 0: cs:WFConnection ro:Secondary/Unknown ds:Inconsistent/DUnknown C r----s\n'
    host['proc'] = [LOADED, waiting]
    host['args']['wait'] = 0
    result, failed, _seen = run_module(xen_drbd.main, host['args'], calls=[
        blkid(host['disk']),
        Call(['drbdadm', '--', '--force', 'create-md', 'c2-data']),
        Call(['drbdadm', 'up', 'c2-data'])])
    assert failed is True
    assert 'did not connect within 0 s (state WFConnection)' in result['msg']
    assert result['changed'] is True and result['actions'][-1] == 'bring resource c2-data up (/dev/drbd0)'
    # waiting runs no command: the failure names none
    assert 'cmd' not in result and 'rc' not in result


def test_a_backing_device_with_a_file_system_is_refused(host):
    host['proc'] = [LOADED]
    result, failed, seen = run_module(xen_drbd.main, host['args'], calls=[
        blkid(host['disk'], rc=0, out='DEVNAME=%s\nTYPE=ext4\n' % host['disk'])])
    assert failed is True and 'holds ext4' in result['msg']
    assert [argv[0] for argv in seen] == ['blkid'] and not host['config'].exists()


def test_a_missing_backing_device_is_named(host):
    host['proc'] = [LOADED]
    host['args']['disk'] = host['disk'] + '-gone'
    result, failed, seen = run_module(xen_drbd.main, host['args'], calls=[])
    assert failed is True and 'does not exist' in result['msg'] and seen == []


def test_check_mode_before_the_volume_exists_plans_a_new_one(host):
    """A check run of a play whose xen_lv task would make the volume: planned as blank, with a warning."""
    host['proc'] = [LOADED]
    host['args']['disk'] = host['disk'] + '-new'
    result, failed, seen = run_module(xen_drbd.main, host['args'], calls=[], check_mode=True)
    assert failed is False, result
    assert seen == [] and result['changed'] is True
    assert result['actions'][:3] == ['write %s' % host['config'], 'create DRBD metadata on %s-new' % host['disk'],
                                     'bring resource c2-data up (/dev/drbd0)']


@pytest.mark.parametrize('check_mode', [False, True])
def test_a_host_without_drbd_utils_is_refused_before_any_change(host, check_mode):
    host['proc'] = [None]
    result, failed, seen = run_module(xen_drbd.main, host['args'], calls=[blkid(host['disk'])], check_mode=check_mode,
                                      missing=('drbdadm',))
    assert failed is True
    assert result['msg'] == ('drbdadm is not installed on this host (Debian package drbd-utils): install it on both '
                             'hosts of the resource')
    assert [argv[0] for argv in seen] == ['blkid']
    assert not host['config'].exists()
