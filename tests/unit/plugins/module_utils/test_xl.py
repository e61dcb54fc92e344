# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

import labdata

from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandError, CommandRunner
from ansible_collections.xenops.xen.plugins.module_utils._xlcfg import parse as parse_xlcfg
from ansible_collections.xenops.xen.plugins.module_utils._xl import (
    ShutdownTimeout, Toolstack, XlError, config_facts, host_facts, merge,
    parse_info, parse_list, parse_list_long, state_from_flags)


def domains(list_long, list_plain):
    """The guests of :func:`merge` (Domain-0 left out), as ``Toolstack.state()`` returns them."""
    return dict((name, facts) for name, facts in merge(list_long, list_plain).items() if facts['domid'] != 0)


lab = labdata.text


def record(name):
    """A captured command: ``{argv, rc, stdout, stderr}``."""
    return json.loads(lab(name + '.json'))


LIST_LONG = lab('xl_list_l.json')
LIST = lab('xl_list.txt')
LIST_PAUSED = lab('xl_list_paused.txt')
INFO = lab('xl_info.txt')

NEWS = {
    'name': 'news',
    'domid': 3,
    'uuid': 'b66c3ce5-bbd9-48fe-babb-d0e5924d5860',
    'type': 'pv',
    'memory_mib': 128,
    'maxmem_mib': 192,
    'vcpus': 2,
    'maxvcpus': 2,
    'kernel': '/var/lib/xenops-lab/vmlinuz',
    'ramdisk': '/var/lib/xenops-lab/busybox-initramfs.cpio.gz',
    'cmdline': 'console=hvc0 quiet',
    'bootloader': None,
    'pvshim': False,
    'disks': [
        {'target': '/dev/vg_xen/news-root', 'vdev': 'xvda', 'format': 'raw', 'access': 'rw',
         'backend': None, 'cdrom': False, 'script': None},
        {'target': '/dev/vg_xen/news-swap', 'vdev': 'xvdb', 'format': 'raw', 'access': 'rw',
         'backend': None, 'cdrom': False, 'script': None},
    ],
    'vifs': [
        {'devid': 0, 'mac': '00:16:3e:00:00:01', 'bridge': 'xenbr0', 'ip': None, 'vifname': None,
         'model': None, 'backend': None, 'script': None},
        {'devid': 1, 'mac': '00:16:3e:20:7c:3b', 'bridge': 'xenbr0', 'ip': None, 'vifname': None,
         'model': None, 'backend': None, 'script': None},
    ],
    # libxl leaves out actions that are its default (destroy)
    'on_poweroff': 'destroy',
    'on_reboot': 'restart',
    'on_watchdog': 'destroy',
    'on_crash': 'destroy',
    'on_soft_reset': 'soft-reset',
}


# ------------------------------------------------------------ xl list -l

def test_parse_list_long_entries():
    entries = parse_list_long(LIST_LONG)
    assert [(e['domid'], e['config']['c_info']['name']) for e in entries] == [(0, 'Domain-0'), (3, 'news'), (4, 'web')]


def test_config_facts_pv_domain():
    assert config_facts(parse_list_long(LIST_LONG)[1]) == NEWS


def test_config_facts_of_one_domain_listing():
    assert [config_facts(e) for e in parse_list_long(lab('xl_list_l_news.json'))] == [NEWS]


def test_config_facts_pvh_domain():
    (web,) = [config_facts(e) for e in parse_list_long(lab('xl_list_l_web.json'))]
    assert (web['name'], web['domid'], web['type'], web['memory_mib'], web['maxmem_mib'], web['vcpus'], web['maxvcpus']) == (
        'web', 4, 'pvh', 96, 96, 1, 1)
    assert web['kernel'] == '/var/lib/xenops-lab/vmlinux'
    assert web['disks'] == [{'target': '/dev/vg_xen/web-root', 'vdev': 'xvda', 'format': 'raw', 'access': 'rw',
                             'backend': None, 'cdrom': False, 'script': None}]
    assert [v['mac'] for v in web['vifs']] == ['00:16:3e:00:00:02']


def test_config_facts_dom0():
    dom0 = config_facts(parse_list_long(LIST_LONG)[0])
    # libxl has little for Domain-0: no vCPU data, a target 1 KiB short of 768 MiB
    assert (dom0['name'], dom0['domid'], dom0['type'], dom0['memory_mib'], dom0['maxmem_mib']) == (
        'Domain-0', 0, 'pv', 768, 768)
    assert (dom0['vcpus'], dom0['maxvcpus'], dom0['kernel'], dom0['disks'], dom0['vifs']) == (None, None, None, [], [])


@pytest.mark.parametrize('cfg_file, listing', [('news.cfg', 'xl_list_l_news.json'), ('web.cfg', 'xl_list_l_web.json')])
def test_running_facts_match_the_config_file(cfg_file, listing):
    cfg = parse_xlcfg(lab(cfg_file))
    (facts,) = [config_facts(e) for e in parse_list_long(lab(listing))]
    assert facts['name'] == cfg['name']
    assert facts['type'] == cfg['type']
    assert (facts['kernel'], facts['ramdisk'], facts['cmdline']) == (cfg['kernel'], cfg['ramdisk'], cfg['extra'])
    assert facts['memory_mib'] == cfg['memory']
    assert facts['maxmem_mib'] == cfg.get('maxmem', cfg['memory'])
    assert facts['vcpus'] == cfg['vcpus']
    assert ['phy:%s,%s,w' % (d['target'], d['vdev']) for d in facts['disks']] == cfg['disk']
    assert [v['bridge'] for v in facts['vifs']] == ['xenbr0'] * len(cfg['vif'])


def test_config_facts_defaults_left_out_by_libxl():
    # libxl writes only non-default fields: a read-only disk has no "readwrite",
    # a minimal domain no devices; old libxl kept kernel & co in type.pv
    entry = {'domid': 7, 'config': {
        'c_info': {'name': 'mini'},
        'b_info': {'type.pv': {'kernel': '/k', 'ramdisk': '/r', 'cmdline': 'ro', 'bootloader': 'pygrub'}},
        'disks': [{'pdev_path': '/srv/cd.iso', 'vdev': 'xvdc', 'is_cdrom': 1}],
        'nics': [{'ifname': 'vif-mini', 'ip': '10.0.0.5', 'model': 'e1000', 'backend_domname': 'netdom'}],
        'on_crash': 'coredump_restart',
    }}
    facts = config_facts(entry)
    assert (facts['type'], facts['memory_mib'], facts['maxmem_mib'], facts['vcpus'], facts['maxvcpus']) == (
        None, None, None, None, None)
    assert (facts['kernel'], facts['ramdisk'], facts['cmdline'], facts['bootloader']) == ('/k', '/r', 'ro', 'pygrub')
    assert facts['disks'] == [{'target': '/srv/cd.iso', 'vdev': 'xvdc', 'format': None, 'access': 'ro',
                               'backend': None, 'cdrom': True, 'script': None}]
    assert facts['vifs'] == [{'devid': None, 'mac': None, 'bridge': None, 'ip': '10.0.0.5', 'vifname': 'vif-mini',
                              'model': 'e1000', 'backend': 'netdom', 'script': None}]
    assert facts['on_crash'] == 'coredump-restart'
    assert facts['on_poweroff'] == 'destroy'


def test_parse_list_long_no_domains():
    assert parse_list_long('[\n]\n') == []


@pytest.mark.parametrize('text, message', [
    ('', 'xl list -l printed nothing'),
    ('(domain (domid 1) (create_info) )', 'xl list -l printed SXP instead of JSON: set output_format="json" '
                                          '(or remove output_format) in /etc/xen/xl.conf'),
    ('{"domid": 1}', 'xl list -l printed a JSON dict, expected an array'),
    ('[{"domid": 1}]', 'xl list -l entry #0 has no "config" object'),
    ('[{"domid": 1, "config": {"c_info": {}}}]', 'xl list -l entry #0 has no c_info.name'),
])
def test_parse_list_long_errors(text, message):
    with pytest.raises(XlError) as exc:
        parse_list_long(text)
    assert str(exc.value) == message


def test_parse_list_long_not_json():
    with pytest.raises(XlError) as exc:
        parse_list_long('libxl: error: something\n')
    assert str(exc.value).startswith('xl list -l did not print JSON: ')


# ------------------------------------------------------------ xl list

def test_parse_list():
    rows = parse_list(LIST)
    assert list(rows) == ['Domain-0', 'news', 'web']
    assert rows['news'] == {'name': 'news', 'domid': 3, 'memory_mib': 128, 'vcpus': 2, 'state': 'blocked',
                            'flags': '-b----', 'shutdown_reason': None, 'cpu_time': 22.8}
    assert rows['web'] == {'name': 'web', 'domid': 4, 'memory_mib': 96, 'vcpus': 1, 'state': 'running',
                           'flags': 'r-----', 'shutdown_reason': None, 'cpu_time': 6.6}
    assert (rows['Domain-0']['domid'], rows['Domain-0']['state'], rows['Domain-0']['memory_mib'],
            rows['Domain-0']['vcpus']) == (0, 'running', 768, 2)


def test_parse_list_paused():
    rows = parse_list(LIST_PAUSED)
    assert [(r['name'], r['state'], r['flags']) for r in rows.values()] == [
        ('Domain-0', 'running', 'r-----'), ('news', 'blocked', '-b----'), ('web', 'paused', '--p---')]


@pytest.mark.parametrize('flags, state', [
    ('r-----', 'running'),
    ('-b----', 'blocked'),
    ('------', 'running'),
    ('--p---', 'paused'),
    ('-bp---', 'paused'),
    ('r-p---', 'paused'),
    ('---s--', 'shutdown'),
    ('---sr-', 'shutdown'),
    ('---sc-', 'crashed'),
    ('---sw-', 'shutdown'),
    ('-----d', 'dying'),
    ('---s-d', 'dying'),
    ('-b---d', 'dying'),
])
def test_state_from_flags(flags, state):
    assert state_from_flags(flags) == state


@pytest.mark.parametrize('flags', ['', 'r----', 'x-----', '-----', 'r------', 'RB----'])
def test_state_from_flags_rejects(flags):
    with pytest.raises(XlError):
        state_from_flags(flags)


def test_parse_list_names_and_shutdown_reasons():
    text = ('Name                                        ID   Mem VCPUs\tState\tTime(s)\n'
            'Domain-0                                     0  1024     4     r-----    1234.5\n'
            'mail.example_org-2                          12   512     1     ---sc-       0.1\n'
            'old-web                                     13   256     2     ---sr-       7.0\n'
            '(null)                                      14     0     0     --p--d       0.0\n')
    rows = parse_list(text)
    assert list(rows) == ['Domain-0', 'mail.example_org-2', 'old-web', '(null)']
    assert (rows['mail.example_org-2']['state'], rows['mail.example_org-2']['shutdown_reason']) == ('crashed', 'crash')
    assert (rows['old-web']['state'], rows['old-web']['shutdown_reason'], rows['old-web']['domid']) == (
        'shutdown', 'reboot', 13)
    assert rows['(null)']['state'] == 'dying'


def test_parse_list_header_only():
    assert parse_list('Name                                        ID   Mem VCPUs\tState\tTime(s)\n') == {}


@pytest.mark.parametrize('text, message', [
    ('', 'xl list printed no "Name ID Mem VCPUs State Time(s)" header'),
    ('libxl: error\n', 'xl list printed no "Name ID Mem VCPUs State Time(s)" header'),
    ('Name ID Mem VCPUs\tState\tTime(s)\nnews 1 128 2 -b----\n', "cannot parse xl list line 'news 1 128 2 -b----'"),
    ('Name ID Mem VCPUs\tState\tTime(s)\nnews x 128 2 -b---- 1.0\n', "cannot parse xl list line 'news x 128 2 -b---- 1.0'"),
    ('Name ID Mem VCPUs\tState\tTime(s)\nnews 1 128 2 -b--x- 1.0\n', "cannot parse xl list line 'news 1 128 2 -b--x- 1.0'"),
])
def test_parse_list_errors(text, message):
    with pytest.raises(XlError) as exc:
        parse_list(text)
    assert str(exc.value) == message


# ------------------------------------------------------------ xl info

def test_parse_info():
    info = parse_info(INFO)
    assert len(info) == 34
    assert info['host'] == 'lab1'
    assert info['xen_version'] == '4.17.7'
    assert info['version'] == '#1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-07-02)'
    assert info['hw_caps'] == '1fcbf3fd:f6d8320b:e4500800:00000077:00000005:018843a9:0000020c:00000000'
    assert info['xen_caps'] == 'xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64'
    assert info['xen_changeset'] == ''
    assert info['cc_compile_date'] == 'Wed Nov  4 16:52:28 UTC 2026'
    assert info['xen_commandline'] == ('placeholder dom0_mem=768M,max:768M dom0_max_vcpus=1-2 console=com1 '
                                       'com1=115200,8n1')


def test_host_facts():
    facts = host_facts(parse_info(INFO))
    assert {k: v for k, v in facts.items() if k != 'info'} == {
        'hostname': 'lab1', 'xen_version': '4.17.7', 'xen_scheduler': 'credit2', 'total_memory_mib': 2047,
        'free_memory_mib': 1030, 'nr_cpus': 2, 'dom0_kernel': '6.1.0-50-amd64',
        'virt_caps': ['pv', 'hvm', 'hap', 'gnttab-v1', 'gnttab-v2']}
    assert facts['info'] == parse_info(INFO)


def test_host_facts_version_from_parts():
    facts = host_facts(parse_info('xen_major : 4\nxen_minor : 17\nxen_extra : .3-pre\nnr_cpus : x\n'))
    assert (facts['xen_version'], facts['nr_cpus'], facts['total_memory_mib']) == ('4.17.3-pre', None, None)


def test_parse_info_empty_value_and_other_lines():
    info = parse_info('xen_version : 4.17.5\nxen_extra              :\nnuma_info              :\nnode:    memsize\n')
    assert info == {'xen_version': '4.17.5', 'xen_extra': '', 'numa_info': '', 'node': 'memsize'}


def test_parse_info_error():
    with pytest.raises(XlError) as exc:
        parse_info('libxl: error: cannot init xl context\n')
    assert str(exc.value) == 'xl info printed no xen_version'


# ------------------------------------------------------------ merged view

def test_domains_merge_state_and_config():
    doms = domains(parse_list_long(LIST_LONG), parse_list(LIST))
    assert sorted(doms) == ['news', 'web']
    assert doms['news'] == dict(NEWS, state='blocked', shutdown_reason=None, current_memory_mib=128, cpu_time=22.8)
    assert (doms['web']['state'], doms['web']['type'], doms['web']['vcpus'], doms['web']['maxmem_mib']) == (
        'running', 'pvh', 1, 96)


def test_domains_paused():
    doms = domains(parse_list_long(LIST_LONG), parse_list(LIST_PAUSED))
    assert (doms['web']['state'], doms['news']['state']) == ('paused', 'blocked')


def test_merge_keeps_dom0():
    everything = merge(parse_list_long(LIST_LONG), parse_list(LIST))
    assert list(everything) == ['Domain-0', 'news', 'web']
    dom0 = everything['Domain-0']
    # vCPUs come from xl list, as libxl keeps none for Domain-0
    assert (dom0['domid'], dom0['state'], dom0['type'], dom0['memory_mib'], dom0['current_memory_mib'],
            dom0['vcpus'], dom0['maxvcpus']) == (0, 'running', 'pv', 768, 768, 2, None)


def test_merge_without_dom0_config():
    long = [e for e in parse_list_long(LIST_LONG) if e['domid'] != 0]
    dom0 = merge(long, parse_list(LIST))['Domain-0']
    assert (dom0['domid'], dom0['state'], dom0['current_memory_mib'], dom0['vcpus']) == (0, 'running', 768, 2)
    assert (dom0['type'], dom0['memory_mib'], dom0['disks'], dom0['on_crash']) == (None, None, [], None)


def test_merge_plain_list_decides_existence():
    long = parse_list_long(LIST_LONG)
    plain = parse_list(LIST)
    del plain['web']  # destroyed between the two reads
    plain['news']['domid'] = 9  # destroyed and created again between the two reads
    plain['newcomer'] = dict(plain['news'], name='newcomer', domid=10, state='paused')
    doms = domains(long, plain)
    assert sorted(doms) == ['newcomer', 'news']
    assert (doms['news']['domid'], doms['news']['kernel'], doms['news']['vcpus']) == (9, None, 2)
    assert (doms['newcomer']['state'], doms['newcomer']['memory_mib']) == ('paused', None)


# ------------------------------------------------------------ Toolstack

class FakeModule(object):
    """Just enough of AnsibleModule for CommandRunner: scripted run_command."""

    def __init__(self, results):
        self.results = list(results)
        self.commands = []
        self.cwds = []

    def get_bin_path(self, name, required=False):
        return name

    def run_command(self, cmd, check_rc=False, environ_update=None, data=None, binary_data=False, cwd=None):
        self.commands.append(cmd)
        self.cwds.append(cwd)
        return self.results.pop(0)


def toolstack(*results):
    module = FakeModule(results)
    return Toolstack(CommandRunner(module)), module


def test_create_and_validate_run_from_dev_and_nothing_else_does():
    """libxl opens a relative phy: target from xl's working directory; only /dev gives what the hotplug script uses."""
    xl, module = toolstack((0, '', ''), (0, '{}', ''), (0, '', ''))
    xl.create('/etc/xen/news.cfg')
    xl.validate('/etc/xen/.news.cfg.tmp')
    xl.destroy('news')
    assert module.commands == [['xl', 'create', '/etc/xen/news.cfg'], ['xl', '-N', 'create', '/etc/xen/.news.cfg.tmp'],
                               ['xl', 'destroy', 'news']]
    assert module.cwds == ['/dev', '/dev', None]


def replay(name):
    """A captured command as a run_command result, and its argv."""
    rec = record(name)
    return (rec['rc'], rec['stdout'], rec['stderr']), rec['argv']


def test_state_reads_each_list_once():
    plain, plain_argv = replay('xl_list')
    xl, module = toolstack((0, LIST_LONG, ''), plain)
    state = xl.state()
    assert module.commands == [['xl', 'list', '-l'], plain_argv]
    assert sorted(state['domains']) == ['news', 'web']
    assert (state['dom0']['name'], state['dom0']['state'], state['dom0']['memory_mib']) == ('Domain-0', 'running', 768)
    assert state['domains']['news'] == dict(NEWS, state='blocked', shutdown_reason=None, current_memory_mib=128,
                                            cpu_time=22.8)
    assert state['domains']['web']['state'] == 'running'


def test_info():
    result, argv = replay('xl_info')
    xl, module = toolstack(result)
    facts = xl.info()
    assert module.commands == [argv]
    assert (facts['xen_version'], facts['nr_cpus'], facts['free_memory_mib']) == ('4.17.7', 2, 1030)


def test_unusable_output_is_a_command_error():
    xl, module = toolstack((0, '(domain (domid 1))\n', ''))
    with pytest.raises(CommandError) as exc:
        xl.list_long()
    assert exc.value.cmd == ['xl', 'list', '-l']
    assert exc.value.rc == 0
    assert exc.value.stdout == '(domain (domid 1))\n'
    assert exc.value.msg.startswith("cannot use the output of 'xl list -l': xl list -l printed SXP instead of JSON")


def test_a_read_whose_output_was_lost_is_run_again():
    """run_command can lose a command's output (seen on the lab: xl list, rc 0, nothing printed)."""
    plain, plain_argv = replay('xl_list')
    xl, module = toolstack((0, '', ''), (0, '\n', ''), plain)
    rows = xl.list_plain()
    assert module.commands == [plain_argv] * 3
    assert sorted(rows) == ['Domain-0', 'news', 'web']


def test_a_read_that_prints_nothing_every_time_is_a_command_error():
    xl, module = toolstack(*[(0, '', '')] * 3)
    with pytest.raises(CommandError) as exc:
        xl.list_long()
    assert module.commands == [['xl', 'list', '-l']] * 3
    assert exc.value.msg == "cannot use the output of 'xl list -l' (run 3 times, rc=0): xl list -l printed nothing"


@pytest.mark.parametrize('result', [(1, '', ''), (0, '', 'libxl: warning\n')], ids=['failed', 'printed-to-stderr'])
def test_an_empty_read_that_failed_or_said_something_is_not_run_again(result):
    xl, module = toolstack(result)
    with pytest.raises(CommandError):
        xl.list_plain()
    assert module.commands == [['xl', 'list']]


def test_a_change_that_prints_nothing_is_run_once():
    xl, module = toolstack((0, '', ''))
    xl.unpause('news')
    assert module.commands == [['xl', 'unpause', 'news']]


def test_output_that_cannot_be_used_is_not_read_again():
    xl, module = toolstack((0, 'libxl: error\n', ''))
    with pytest.raises(CommandError) as exc:
        xl.list_plain()
    assert module.commands == [['xl', 'list']]
    assert exc.value.msg == ("cannot use the output of 'xl list': "
                             'xl list printed no "Name ID Mem VCPUs State Time(s)" header')


def test_failing_read_is_a_command_error():
    xl, module = toolstack((1, '', 'libxl: error: cannot init xl context\n'))
    with pytest.raises(CommandError) as exc:
        xl.list_plain()
    assert exc.value.as_result() == {
        'msg': "command 'xl list' failed with rc=1: libxl: error: cannot init xl context",
        'cmd': ['xl', 'list'], 'rc': 1, 'stdout': '', 'stderr': 'libxl: error: cannot init xl context\n'}


@pytest.mark.parametrize('call, argv', [
    (lambda xl: xl.validate('/etc/xen/news.cfg'), ['xl', '-N', 'create', '/etc/xen/news.cfg']),
    (lambda xl: xl.create('/etc/xen/news.cfg'), ['xl', 'create', '/etc/xen/news.cfg']),
    (lambda xl: xl.destroy('news'), ['xl', 'destroy', 'news']),
    (lambda xl: xl.pause('news'), ['xl', 'pause', 'news']),
    (lambda xl: xl.unpause('news'), ['xl', 'unpause', 'news']),
    (lambda xl: xl.mem_set('news', 256), ['xl', 'mem-set', 'news', '256m']),
    (lambda xl: xl.vcpu_set('news', 2), ['xl', 'vcpu-set', 'news', '2']),
    (lambda xl: xl.shutdown('news'), ['xl', 'shutdown', 'news']),
    (lambda xl: xl.shutdown('news', wait_timeout=120), ['timeout', '120', 'xl', 'shutdown', '-w', 'news']),
])
def test_commands(call, argv):
    xl, module = toolstack((0, '', ''))
    result = call(xl)
    assert module.commands == [argv]
    assert result.rc == 0


def test_change_command_failure():
    result, argv = replay('xl_destroy_missing')
    xl, module = toolstack(result)
    with pytest.raises(CommandError) as exc:
        xl.destroy('nosuch')
    assert module.commands == [argv]
    assert exc.value.as_result() == {
        'msg': "command 'xl destroy nosuch' failed with rc=1: nosuch is an invalid domain identifier (rc=-6)",
        'cmd': ['xl', 'destroy', 'nosuch'], 'rc': 1, 'stdout': '',
        'stderr': 'nosuch is an invalid domain identifier (rc=-6)\n'}


def test_validate():
    result, argv = replay('xl_create_N_valid')
    xl, module = toolstack(result)
    xl.validate('/etc/xen/news.cfg')
    assert module.commands == [argv]


def test_validate_syntax_error():
    result, argv = replay('xl_create_N_invalid_syntax')
    xl, module = toolstack(result)
    with pytest.raises(CommandError) as exc:
        xl.validate('/etc/xen/bad-syntax.cfg')
    assert module.commands == [argv]
    assert exc.value.rc == 1
    assert exc.value.msg == (
        "command 'xl -N create /etc/xen/bad-syntax.cfg' failed with rc=1: Parsing config from /etc/xen/bad-syntax.cfg\n"
        "/etc/xen/bad-syntax.cfg:4: config parsing error near `2': syntax error, unexpected NUMBER, expecting $end\n"
        "Failed to parse config: Invalid argument")


def test_validate_bad_disk():
    result, argv = replay('xl_create_N_invalid_disk')
    xl, module = toolstack(result)
    with pytest.raises(CommandError) as exc:
        xl.validate('/etc/xen/bad-disk.cfg')
    assert module.commands == [argv]
    assert "config parsing error in disk specification: unknown parameter: near `frobnicate=y'" in exc.value.msg


def test_shutdown_timeout():
    xl, module = toolstack((124, 'Waiting for 1 domains\n', ''))
    with pytest.raises(ShutdownTimeout) as exc:
        xl.shutdown('news', wait_timeout=30)
    assert exc.value.msg == 'domain news did not shut down within 30 seconds'
    assert exc.value.as_result()['cmd'] == ['timeout', '30', 'xl', 'shutdown', '-w', 'news']
    assert exc.value.rc == 124


def test_shutdown_failure():
    result, argv = replay('xl_shutdown_missing')
    xl, module = toolstack(result)
    with pytest.raises(CommandError) as exc:
        xl.shutdown('nosuch')
    assert module.commands == [argv]
    assert exc.value.msg == "command 'xl shutdown nosuch' failed with rc=1: nosuch is an invalid domain identifier (rc=-6)"


def test_shutdown_failure_with_wait():
    # xl's own exit code passes through timeout(1)
    result, argv = replay('xl_shutdown_missing')
    xl, module = toolstack(result)
    with pytest.raises(CommandError) as exc:
        xl.shutdown('nosuch', wait_timeout=30)
    assert not isinstance(exc.value, ShutdownTimeout)
    assert module.commands == [['timeout', '30'] + argv[:2] + ['-w'] + argv[2:]]
    assert exc.value.msg == ("command 'timeout 30 xl shutdown -w nosuch' failed with rc=1: "
                             "nosuch is an invalid domain identifier (rc=-6)")


def test_host_bridges_are_the_interfaces_with_a_bridge_directory(tmp_path):
    from ansible_collections.xenops.xen.plugins.module_utils._xl import host_bridges
    for name, bridge in (('eth0', False), ('xenbr1', True), ('xenbr0', True), ('vif3.0', False)):
        (tmp_path / name).mkdir()
        if bridge:
            (tmp_path / name / 'bridge').mkdir()
    assert host_bridges(str(tmp_path)) == ['xenbr0', 'xenbr1']
    assert host_bridges(str(tmp_path / 'missing')) == []


# a domain in Xen's PV shim on a Debian 13 lab host (Xen 4.20), fixtures/shim/README.md
SHIM_LIST_LONG = labdata.text('../shim/xl_list_l.json')
SHIM_INFO = labdata.text('../shim/xl_info.txt')


def test_a_domain_in_the_pv_shim_is_a_pvh_domain_with_pvshim():
    facts = config_facts(parse_list_long(SHIM_LIST_LONG)[0])
    assert (facts['name'], facts['type'], facts['pvshim']) == ('shim1', 'pvh', True)
    # xl keeps the PV kernel the shim boots as the domain's kernel
    assert (facts['kernel'], facts['ramdisk']) == (
        '/var/lib/xenops-lab/vmlinuz', '/var/lib/xenops-lab/busybox-initramfs.cpio.gz')
    assert [config_facts(e)['pvshim'] for e in parse_list_long(LIST_LONG)] == [False] * len(parse_list_long(LIST_LONG))


def test_xl_info_of_xen_4_20_offers_hap_and_no_shadow_paging():
    facts = host_facts(parse_info(SHIM_INFO))
    assert facts['xen_version'].startswith('4.20.')
    assert 'hap' in facts['virt_caps'] and 'shadow' not in facts['virt_caps']
