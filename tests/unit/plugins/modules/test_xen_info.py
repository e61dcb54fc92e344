# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

import labdata

from ansible_collections.xenops.xen.plugins.modules.xen_info import main
from ansible_collections.xenops.xen.tests.unit.plugins.modules.utils import Call, run_module

lab = labdata.text


LIST_LONG = lab('xl_list_l.json')
LIST = json.loads(lab('xl_list.json'))['stdout']
INFO = json.loads(lab('xl_info.json'))['stdout']


def reads(list_long=LIST_LONG, plain=LIST, info=INFO):
    return [Call(['xl', 'list', '-l'], out=list_long),
            Call(['xl', 'list'], out=plain),
            Call(['xl', 'info'], out=info)]


@pytest.mark.parametrize('check_mode', [False, True])
def test_all_domains(check_mode):
    result, failed, seen = run_module(main, {}, calls=reads(), check_mode=check_mode)
    assert not failed
    assert seen == [['xl', 'list', '-l'], ['xl', 'list'], ['xl', 'info']]
    assert result['changed'] is False
    assert sorted(result['domains']) == ['news', 'web']
    news = result['domains']['news']
    assert (news['state'], news['domid'], news['type'], news['memory_mib'], news['maxmem_mib'], news['vcpus']) == (
        'blocked', 3, 'pv', 128, 192, 2)
    assert [d['target'] for d in news['disks']] == ['/dev/vg_xen/news-root', '/dev/vg_xen/news-swap']
    assert [v['mac'] for v in news['vifs']] == ['00:16:3e:00:00:01', '00:16:3e:20:7c:3b']
    assert (result['domains']['web']['type'], result['domains']['web']['state']) == ('pvh', 'running')
    assert (result['dom0']['name'], result['dom0']['domid'], result['dom0']['memory_mib']) == ('Domain-0', 0, 768)
    host = result['host']
    assert (host['xen_version'], host['total_memory_mib'], host['free_memory_mib'], host['nr_cpus']) == (
        '4.17.7', 2047, 1030, 2)
    assert host['info']['xen_scheduler'] == 'credit2'


def test_paused_domain():
    calls = reads(plain=json.loads(lab('xl_list_paused.json'))['stdout'])
    result, failed, seen = run_module(main, {'name': 'web'}, calls=calls)
    assert not failed
    assert result['domains']['web']['state'] == 'paused'


def test_one_domain():
    result, failed, seen = run_module(main, {'name': 'web'}, calls=reads())
    assert not failed
    assert list(result['domains']) == ['web']
    assert result['domains']['web']['disks'][0]['target'] == '/dev/vg_xen/web-root'
    assert result['dom0']['name'] == 'Domain-0'


def test_unknown_domain():
    result, failed, seen = run_module(main, {'name': 'nosuch'}, calls=reads())
    assert not failed
    assert result['domains'] == {}
    assert result['changed'] is False


def test_no_guest_domains():
    plain = LIST.splitlines(True)[0] + LIST.splitlines(True)[1]
    result, failed, seen = run_module(main, {}, calls=reads(list_long='[\n]\n', plain=plain))
    assert not failed
    assert result['domains'] == {}
    assert result['dom0']['state'] == 'running'


def test_xl_fails():
    calls = [Call(['xl', 'list', '-l'], rc=1, err='ERROR:  Can\'t find hypervisor information in sysfs!\n')]
    result, failed, seen = run_module(main, {}, calls=calls)
    assert failed
    assert seen == [['xl', 'list', '-l']]
    assert result == {
        'msg': "command 'xl list -l' failed with rc=1: ERROR:  Can't find hypervisor information in sysfs!",
        'cmd': ['xl', 'list', '-l'], 'rc': 1, 'stdout': '',
        'stderr': "ERROR:  Can't find hypervisor information in sysfs!\n"}


def test_sxp_output_is_refused():
    calls = [Call(['xl', 'list', '-l'], out='(domain\n\t(domid 1)\n)\n')]
    result, failed, seen = run_module(main, {}, calls=calls)
    assert failed
    assert result['msg'] == ("cannot use the output of 'xl list -l': xl list -l printed SXP instead of JSON: "
                             'set output_format="json" (or remove output_format) in /etc/xen/xl.conf')
    assert result['cmd'] == ['xl', 'list', '-l']


def test_info_fails_after_lists():
    calls = reads()[:2] + [Call(['xl', 'info'], rc=1, err='libxl: error: libxl_physinfo failed.\n')]
    result, failed, seen = run_module(main, {}, calls=calls)
    assert failed
    assert result['cmd'] == ['xl', 'info']
    assert result['rc'] == 1
