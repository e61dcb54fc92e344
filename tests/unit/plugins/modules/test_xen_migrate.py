# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""xen_migrate scenarios: the exact commands on both hosts, check mode, refusals, and recovery after a failed migration.

The source host's output is the lab capture (``xl list -l`` with news and web); the target's is
the same capture with the guests taken out (a dom0 that runs nothing), or with web moved over.
"""

from __future__ import annotations

import copy
import json
import os

import pytest

import labdata

from ansible_collections.xenops.xen.plugins.modules import xen_migrate

from utils import Call, run_module

LONG = json.loads(labdata.text('xl_list_l.json'))
PLAIN = json.loads(labdata.text('xl_list.json'))['stdout']
INFO = json.loads(labdata.text('xl_info.json'))['stdout']
HEADER, DOM0_ROW = PLAIN.splitlines()[:2]
ROWS = dict((line.split()[0], line) for line in PLAIN.splitlines()[1:])
# the rows of the lab's xl list while web was paused, as 'NAME (paused)'
ROWS.update(('%s (paused)' % line.split()[0], line) for line in
            json.loads(labdata.text('xl_list_paused.json'))['stdout'].splitlines()[1:] if '--p---' in line)
SSH = ['ssh', '-o', 'BatchMode=yes', '-l', 'root', '10.99.0.12']
XL_SSH = 'ssh -o BatchMode=yes -l root'
BRIDGES = '4: xenbr0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT\n'


def long_of(*names, diskless=()):
    """``xl list -l`` of the capture with only Domain-0 and ``names`` (``diskless``: their disks taken out)."""
    out = []
    for entry in LONG:
        name = entry['config']['c_info']['name']
        if name == 'Domain-0' or name in names:
            entry = copy.deepcopy(entry)
            if name in diskless:
                entry['config'].pop('disks', None)
            out.append(entry)
    return json.dumps(out)


def plain_of(*rows):
    """``xl list`` with Domain-0 and ``rows``: a name of the capture, or (name, row of another name)."""
    lines = [HEADER, DOM0_ROW]
    for row in rows:
        if isinstance(row, tuple):
            name, like = row
            lines.append(name.ljust(len(like.split()[0])) + ROWS[like][len(like.split()[0]):])
        else:
            lines.append(ROWS[row])
    return '\n'.join(lines) + '\n'


def local_state(long, plain):
    return [Call(['xl', 'list', '-l'], out=long), Call(['xl', 'list'], out=plain)]


def remote(argv, **kw):
    return Call(SSH + [argv], **kw)


def remote_state(long, plain):
    return [remote('xl list -l', out=long), remote('xl list', out=plain)]


def remote_reads(info=INFO, bridges=BRIDGES):
    """What the module reads of both hosts before a move: xl info here and there, the target's bridges."""
    return [Call(['xl', 'info'], out=INFO), remote('xl info', out=info), remote('ip -o link show type bridge', out=bridges)]


def file_reads(tmp_path, config=None, autostart=False):
    cfg = str(tmp_path / 'web.cfg')
    return [remote('cat -- %s' % cfg, rc=1 if config is None else 0, out=config or '',
                   err='cat: %s: No such file or directory' % cfg if config is None else ''),
            remote('test -L %s' % (tmp_path / 'auto' / 'web.cfg'), rc=0 if autostart else 1)]


@pytest.fixture
def dirs(tmp_path):
    (tmp_path / 'auto').mkdir()
    (tmp_path / 'web.cfg').write_text('name = "web"\n')
    os.symlink(str(tmp_path / 'web.cfg'), str(tmp_path / 'auto' / 'web.cfg'))
    return tmp_path


def args(tmp_path, **kw):
    base = dict(name='web', target='10.99.0.12', target_name='lab2', source_name='lab1',
                config_dir=str(tmp_path), autostart_dir=str(tmp_path / 'auto'))
    base.update(kw)
    return base


def handover(tmp_path):
    cfg, auto = str(tmp_path / 'web.cfg'), str(tmp_path / 'auto' / 'web.cfg')
    return [remote("sh -c 'mkdir -p \"$(dirname \"$1\")\" && cat > \"$1.xenops-new\" && mv -f \"$1.xenops-new\" \"$1\"' sh "
                   + cfg, data='name = "web"\n'),
            remote("sh -c 'mkdir -p \"$(dirname \"$2\")\" && ln -sfn \"$1\" \"$2\"' sh %s %s" % (cfg, auto))]


SOURCE = (long_of('news', 'web', diskless=('web',)), plain_of('news', 'web'))
EMPTY = (long_of(), plain_of())
MOVED_SOURCE = (long_of('news'), plain_of('news'))
MOVED_TARGET = (long_of('web', diskless=('web',)), plain_of('web'))


def test_live_move_of_a_diskless_domain(dirs):
    calls = (local_state(*SOURCE) + remote_state(*EMPTY) + remote_reads() + file_reads(dirs)
             + local_state(*SOURCE)
             + [Call(['xl', 'migrate', '-s', XL_SSH, 'web', '10.99.0.12'], err='migration sender: Migration successful.\n')]
             + local_state(*MOVED_SOURCE) + remote_state(*MOVED_TARGET) + handover(dirs))
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls, diff=True)
    assert failed is False, result
    assert result['changed'] is True
    assert result['actions'] == [
        'migrate web live from lab1 to lab2', 'write %s on lab2' % (dirs / 'web.cfg'),
        'link %s to %s on lab2' % (dirs / 'auto' / 'web.cfg', dirs / 'web.cfg'),
        'remove the autostart link %s here' % (dirs / 'auto' / 'web.cfg'), 'remove %s here' % (dirs / 'web.cfg')]
    assert 'Migration successful' in result['xl_output'] and result['migrate_seconds'] >= 0
    assert result['diff']['before'] == 'runs on lab1\n' and result['diff']['after'] == 'runs on lab2\n'
    assert not os.path.lexists(str(dirs / 'auto' / 'web.cfg')) and not os.path.exists(str(dirs / 'web.cfg'))


def test_check_mode_reads_both_hosts_and_changes_nothing(dirs):
    calls = local_state(*SOURCE) + remote_state(*EMPTY) + remote_reads() + file_reads(dirs)
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls, check_mode=True)
    assert (failed, result['changed']) == (False, True)
    assert result['actions'][0] == 'migrate web live from lab1 to lab2'
    assert not [argv for argv in seen if 'migrate' in argv or any(w in ' '.join(argv) for w in ('cat >', 'ln -sfn'))]
    assert os.path.exists(str(dirs / 'web.cfg')) and os.path.islink(str(dirs / 'auto' / 'web.cfg'))


def test_domain_on_the_target_with_files_there_is_no_change(tmp_path):
    (tmp_path / 'auto').mkdir()
    calls = (local_state(*MOVED_SOURCE) + remote_state(*MOVED_TARGET)
             + file_reads(tmp_path, config='name = "web"\n', autostart=True))
    result, failed, seen = run_module(xen_migrate.main, args(tmp_path), calls=calls)
    assert (failed, result['changed'], result['actions']) == (False, False, [])


def test_move_cut_off_after_the_migration_finishes_the_handover(dirs):
    calls = local_state(*MOVED_SOURCE) + remote_state(*MOVED_TARGET) + file_reads(dirs) + handover(dirs)
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls)
    assert (failed, result['changed']) == (False, True)
    assert 'migrate web live from lab1 to lab2' not in result['actions']
    assert not os.path.exists(str(dirs / 'web.cfg'))


@pytest.mark.parametrize('check_mode', [False, True])
def test_preflight_names_every_reason_and_runs_nothing_that_changes(dirs, check_mode):
    info = INFO.replace('free_memory            : 1030', 'free_memory            : 50').replace(
        'xen_minor              : 17', 'xen_minor              : 19').replace('4.17.7', '4.19.1')
    calls = local_state(*SOURCE) + remote_state(*EMPTY) + remote_reads(info=info, bridges='') + file_reads(dirs)
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls, check_mode=check_mode)
    assert failed is True
    msg = result['msg']
    assert 'lab2 has no bridge xenbr0' in msg and 'lab2 has 50 MiB free, web needs 96 MiB' in msg, msg
    assert 'Xen 4.17 on lab1 to Xen 4.19 on lab2 is not safe' in msg and 'nothing was changed' in msg, msg
    assert os.path.exists(str(dirs / 'web.cfg'))


def test_local_disks_are_refused_unless_shared(dirs):
    source = (long_of('news', 'web'), plain_of('news', 'web'))
    calls = local_state(*source) + remote_state(*EMPTY) + remote_reads() + file_reads(dirs)
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls)
    assert failed is True
    assert 'its disks /dev/vg_xen/web-root are local to lab1' in result['msg'], result['msg']


@pytest.mark.parametrize('check_mode', [False, True])
def test_pv_domain_refused_where_xen_cannot_migrate_it(dirs, check_mode):
    # news is a PV domain of the capture, and the lab's Xen has no shadow paging (virt_caps without shadow)
    source = (long_of('news', 'web', diskless=('news', 'web')), plain_of('news', 'web'))
    cfg = str(dirs / 'news.cfg')
    calls = (local_state(*source) + remote_state(*EMPTY) + remote_reads()
             + [remote('cat -- %s' % cfg, rc=1, err='cat: %s: No such file or directory' % cfg),
                remote('test -L %s' % (dirs / 'auto' / 'news.cfg'), rc=1)])
    result, failed, seen = run_module(xen_migrate.main, args(dirs, name='news'), calls=calls, check_mode=check_mode)
    assert failed is True
    assert ('news is a PV domain, and the Xen of lab1 cannot migrate PV domains: it has no shadow paging '
            '(virt_caps: pv hvm hap gnttab-v1 gnttab-v2') in result['msg'], result['msg']
    assert not [c for c in seen if 'migrate' in ' '.join(c)], seen


def test_shared_disks_must_exist_on_the_target(dirs):
    source = (long_of('news', 'web'), plain_of('news', 'web'))
    calls = (local_state(*source) + remote_state(*EMPTY) + remote_reads()
             + [remote('test -e /dev/vg_xen/web-root', rc=1)] + file_reads(dirs))
    result, failed, seen = run_module(xen_migrate.main, args(dirs, shared_disks=True), calls=calls)
    assert failed is True
    assert 'lab2 lacks the disks /dev/vg_xen/web-root at the same paths' in result['msg'], result['msg']


def test_name_taken_on_the_target_is_refused(dirs):
    target = (long_of('web', diskless=('web',)), plain_of('web'))
    calls = local_state(*SOURCE) + remote_state(*target) + file_reads(dirs)
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls)
    assert failed is True
    assert result['msg'].startswith('web runs on both lab1 (domid 4) and lab2 (domid 4)'), result['msg']


# what a failed handshake leaves (xl: "domain is undefined, check at both ends"): the source paused as
# web--migratedaway (the row of the lab's xl list while web was paused), the target's web--incoming
STUCK_SOURCE = (long_of('news'), plain_of('news', ('web--migratedaway', 'web (paused)')))
STUCK_TARGET = (long_of(), plain_of(('web--incoming', 'web (paused)')))
UNDO_HANDSHAKE = [remote('xl destroy web--incoming'), Call(['xl', 'rename', 'web--migratedaway', 'web']),
                  Call(['xl', 'unpause', 'web'])]
MIGRATE = Call(['xl', 'migrate', '-s', XL_SSH, 'web', '10.99.0.12'], err='migration sender: Migration successful.\n')


def test_leftover_of_an_earlier_migration_is_recovered_then_the_domain_moves(dirs):
    # a run after an interrupted move: read both hosts, undo the handshake as after a failed xl migrate, move again
    calls = (local_state(*STUCK_SOURCE) + remote_state(*STUCK_TARGET) + file_reads(dirs) + UNDO_HANDSHAKE
             + local_state(*SOURCE) + remote_state(*EMPTY) + remote_reads() + file_reads(dirs)
             + local_state(*SOURCE) + [MIGRATE] + local_state(*MOVED_SOURCE) + remote_state(*MOVED_TARGET)
             + handover(dirs))
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls)
    assert failed is False, result
    assert result['changed'] is True and result['method'] == 'live'
    assert result['actions'][:4] == ['destroy web--incoming on lab2 (it never ran there)',
                                     'rename web--migratedaway back to web here', 'run web here again',
                                     'migrate web live from lab1 to lab2']
    assert not os.path.exists(str(dirs / 'web.cfg'))


@pytest.mark.parametrize('target, recovery', [
    (STUCK_TARGET, ['destroy web--incoming on lab2 (it never ran there)', 'rename web--migratedaway back to web here',
                    'run web here again']),
    (MOVED_TARGET, ['destroy the stale web--migratedaway here']),
])
def test_leftover_in_check_mode_reports_the_recovery_and_changes_nothing(dirs, target, recovery):
    calls = local_state(*STUCK_SOURCE) + remote_state(*target) + file_reads(dirs, config='name = "web"\n')
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls, check_mode=True)
    assert (failed, result['changed']) == (False, True), result
    assert result['actions'] == recovery
    assert [argv for argv in seen if argv[0] == 'xl' or argv[-1].startswith('xl ')] == [
        ['xl', 'list', '-l'], ['xl', 'list'], SSH + ['xl list -l'], SSH + ['xl list']]


def test_leftover_that_is_the_only_copy_is_not_destroyed_and_the_commands_are_named(dirs):
    calls = local_state(*EMPTY) + remote_state(*STUCK_TARGET) + file_reads(dirs)
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls)
    assert failed is True and not result.get('changed')
    assert result['found'] == {'lab1': [], 'lab2': ['web--incoming (paused)']}
    assert result['msg'] == (
        'an earlier migration of web did not finish (web--incoming on lab2) and web runs on neither host; nothing was '
        'changed. By hand: xl destroy web--incoming on lab2, then start web from %s on one host' % (dirs / 'web.cfg'))
    assert [argv for argv in seen if 'destroy' in ' '.join(argv)] == []


def test_recovery_that_stops_half_way_fails_and_says_what_each_host_has(dirs):
    destroy_failed = ('libxl: error: libxl_domain.c:1536:devices_destroy_cb: Domain 7:libxl__devices_destroy failed\n'
                      'libxl: error: libxl_domain.c:1000:domain_destroy_callback: Domain 7:Unable to destroy guest\n')
    calls = (local_state(*SOURCE) + remote_state(*EMPTY) + remote_reads() + file_reads(dirs) + local_state(*SOURCE)
             + [Call(['xl', 'migrate', '-s', XL_SSH, 'web', '10.99.0.12'], rc=1, err='domain is undefined\n')]
             + local_state(*STUCK_SOURCE) + remote_state(*STUCK_TARGET)
             + [remote('xl destroy web--incoming', rc=1, err=destroy_failed)]
             + local_state(*STUCK_SOURCE) + remote_state(*STUCK_TARGET))
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls)
    assert failed is True
    assert result['runs_on'] is None and result['recovery'] == []
    assert result['found'] == {'lab1': ['web--migratedaway (paused)'], 'lab2': ['web--incoming (paused)']}
    assert result['recovery_failed']['cmd'] == SSH + ['xl destroy web--incoming']
    assert result['recovery_failed']['rc'] == 1 and 'Unable to destroy guest' in result['recovery_failed']['stderr']
    msg = result['msg']
    assert msg.startswith('xl migrate of web to lab2 failed (rc=1); recovery stopped at "destroy web--incoming on lab2 '
                          '(it never ran there)": command \'%s\' failed with rc=1' % ' '.join(SSH + ['xl destroy web--incoming'])), msg
    assert msg.endswith('found web--migratedaway (paused) on lab1, web--incoming (paused) on lab2: web runs on neither '
                        'host. Run the task again to recover, or by hand: xl destroy web--incoming on lab2, '
                        'xl rename web--migratedaway web on lab1, xl unpause web on lab1'), msg
    assert "runs on lab1" not in msg
    assert os.path.exists(str(dirs / 'web.cfg'))


def test_different_config_file_on_the_target_is_refused_with_its_diff(dirs):
    theirs = 'name = "web"\nmemory = 512\n'
    calls = local_state(*SOURCE) + remote_state(*EMPTY) + remote_reads() + file_reads(dirs, config=theirs)
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls)
    assert failed is True
    msg = result['msg']
    assert msg.startswith('lab2 has a different %s: set force: true to replace it with the one here; nothing was '
                          'changed' % (dirs / 'web.cfg')), msg
    assert '\n-memory = 512\n' in msg and '--- %s on lab2' % (dirs / 'web.cfg') in msg, msg
    assert not [argv for argv in seen if 'migrate' in argv]


def test_different_config_file_on_the_target_is_replaced_with_force_and_shown_in_the_diff(dirs):
    theirs = 'name = "web"\nmemory = 512\n'
    calls = (local_state(*SOURCE) + remote_state(*EMPTY) + remote_reads() + file_reads(dirs, config=theirs)
             + local_state(*SOURCE) + [MIGRATE] + local_state(*MOVED_SOURCE) + remote_state(*MOVED_TARGET)
             + handover(dirs))
    result, failed, seen = run_module(xen_migrate.main, args(dirs, force=True), calls=calls, diff=True)
    assert failed is False, result
    assert result['actions'][1] == 'write %s on lab2 (replacing a different one)' % (dirs / 'web.cfg')
    assert result['diff'][1] == {'before': theirs, 'after': 'name = "web"\n',
                                 'before_header': '%s on lab2' % (dirs / 'web.cfg'),
                                 'after_header': '%s here' % (dirs / 'web.cfg')}


def test_failed_migration_that_xl_undid_leaves_the_domain_running_here(dirs):
    calls = (local_state(*SOURCE) + remote_state(*EMPTY) + remote_reads() + file_reads(dirs) + local_state(*SOURCE)
             + [Call(['xl', 'migrate', '-s', XL_SSH, 'web', '10.99.0.12'], rc=1,
                     err='migration target: Domain creation failed\nmigration sender: resuming domain\n')]
             + local_state(*SOURCE) + remote_state(*EMPTY))
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls)
    assert failed is True
    assert result['msg'].startswith('xl migrate of web to lab2 failed (rc=1); web runs on lab1'), result['msg']
    assert (result['runs_on'], result['recovery'], result['changed']) == ('lab1', [], False)
    assert 'Domain creation failed' in result['stderr']
    assert os.path.exists(str(dirs / 'web.cfg')) and os.path.islink(str(dirs / 'auto' / 'web.cfg'))


def test_failed_handshake_renames_the_source_back_and_destroys_the_incoming_copy(dirs):
    stuck_source = (long_of('news'), plain_of('news', ('web--migratedaway', 'web')))
    stuck_target = (long_of(), plain_of(('web--incoming', 'web')))
    calls = (local_state(*SOURCE) + remote_state(*EMPTY) + remote_reads() + file_reads(dirs) + local_state(*SOURCE)
             + [Call(['xl', 'migrate', '-s', XL_SSH, 'web', '10.99.0.12'], rc=1, err='domain is undefined\n')]
             + local_state(*stuck_source) + remote_state(*stuck_target)
             + [remote('xl destroy web--incoming'), Call(['xl', 'rename', 'web--migratedaway', 'web']),
                Call(['xl', 'unpause', 'web'])])
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls)
    assert failed is True
    assert result['runs_on'] == 'lab1' and result['changed'] is True
    assert result['recovery'] == ['destroy web--incoming on lab2 (it never ran there)',
                                  'rename web--migratedaway back to web here', 'run web here again']


def test_target_that_runs_it_wins_over_a_stale_source(dirs):
    stuck_source = (long_of('news'), plain_of('news', ('web--migratedaway', 'web')))
    calls = (local_state(*SOURCE) + remote_state(*EMPTY) + remote_reads() + file_reads(dirs) + local_state(*SOURCE)
             + [Call(['xl', 'migrate', '-s', XL_SSH, 'web', '10.99.0.12'], rc=1, err='handshake failed\n')]
             + local_state(*stuck_source) + remote_state(*MOVED_TARGET)
             + [Call(['xl', 'destroy', 'web--migratedaway'])])
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls)
    assert failed is True and result['runs_on'] == 'lab2'
    assert result['recovery'] == ['destroy the stale web--migratedaway here']


def test_ssh_failure_is_reported_with_the_command(dirs):
    calls = local_state(*SOURCE) + [remote('xl list -l', rc=255, err='ssh: connect to host 10.99.0.12 port 22: No route')]
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls)
    assert failed is True
    assert 'No route' in result['msg'] and result['cmd'][:2] == ['ssh', '-o']


# -- cold moves: web (PVH) with its LVM volume /dev/vg_xen/web-root (512 MiB in the capture)

WEB_ROOT = '/dev/vg_xen/web-root'
WEB_SIZE = 536870912
WITH_DISK = (long_of('news', 'web'), plain_of('news', 'web'))
# the rows of the lab's lvs and vgs reports (fixtures lvs.json, vgs.json) for web-root and vg_xen
LVS_WEB = ('{"report": [{"lv": [{"vg_name":"vg_xen", "lv_name":"web-root", "lv_path":"/dev/vg_xen/web-root", '
           '"lv_size":"%d", "lv_attr":"-wi-ao----"}]}]}\n' % WEB_SIZE)
VGS_LAB2 = ('{"report": [{"vg": [{"vg_name":"vg_xen", "vg_size":"8585740288", "vg_free":"%d", '
            '"vg_extent_size":"4194304", "vg_free_count":"1599"}]}]}\n')
SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
LVS_ARGV = ['lvs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o', 'vg_name,lv_name,lv_path,lv_size,lv_attr']
VGS_CMD = 'vgs --reportformat json --units b --nosuffix -o vg_name,vg_size,vg_free,vg_extent_size,vg_free_count vg_xen'


def cold_reads(dirs, vg_free=6706692096, exists=False, vg_rc=0):
    return ([Call(LVS_ARGV + [WEB_ROOT], out=LVS_WEB), remote('test -e %s' % WEB_ROOT, rc=0 if exists else 1)]
            + [remote(VGS_CMD, rc=vg_rc, out=VGS_LAB2 % vg_free if vg_rc == 0 else '',
                      err='' if vg_rc == 0 else '  Volume group "vg_xen" not found')])


def reads(dirs, **kw):
    return local_state(*WITH_DISK) + remote_state(*EMPTY) + remote_reads() + file_reads(dirs) + cold_reads(dirs, **kw)


def copy_calls(there_sha=SHA):
    writer = 'dd of=%s bs=4M status=none' % WEB_ROOT
    return [Call(['sh', '-c', 'src=$1; shift; dd if="$src" bs=4M status=none | "$@"', 'sh', WEB_ROOT] + SSH + [writer]),
            Call(['sh', '-c', 'head -c "$1" -- "$2" | sha256sum', 'sh', str(WEB_SIZE), WEB_ROOT], out=SHA + '  -\n'),
            remote("sh -c 'head -c \"$1\" -- \"$2\" | sha256sum' sh %d %s" % (WEB_SIZE, WEB_ROOT), out=there_sha + '  -\n')]


COLD_PREPARE = remote('lvcreate -y --wipesignatures y -n web-root -L %db vg_xen' % WEB_SIZE)
COLD_STOP = Call(['timeout', '300', 'xl', 'shutdown', '-w', 'web'])


def test_cold_move_of_a_domain_on_lvm(dirs):
    calls = (reads(dirs) + [COLD_PREPARE, COLD_STOP] + copy_calls() + handover(dirs)[:1]
             + [remote('cd /dev && xl create %s' % (dirs / 'web.cfg'))] + handover(dirs)[1:])
    result, failed, seen = run_module(xen_migrate.main, args(dirs, cold=True), calls=calls)
    assert failed is False, result
    assert result['actions'] == [
        'create the LVM volume vg_xen/web-root (512 MiB) on lab2', 'shut web down here',
        'copy /dev/vg_xen/web-root (512 MiB) to lab2 and compare checksums', 'write %s on lab2' % (dirs / 'web.cfg'),
        'start web on lab2', 'link %s to %s on lab2' % (dirs / 'auto' / 'web.cfg', dirs / 'web.cfg'),
        'remove the autostart link %s here' % (dirs / 'auto' / 'web.cfg'), 'remove %s here' % (dirs / 'web.cfg')]
    assert result['method'] == 'cold' and result['downtime_seconds'] >= 0 and result['copy_seconds'] >= 0
    assert not os.path.lexists(str(dirs / 'auto' / 'web.cfg')) and not os.path.exists(str(dirs / 'web.cfg'))
    # the volume here is kept
    assert not [argv for argv in seen if argv[0] == 'lvremove']


def test_cold_move_reads_again_what_run_command_lost(dirs):
    """An lvs of the disk or a checksum that exited 0 with no output (run_command lost it) is run again: the LV is
    not taken for a file and the copy is not taken for a bad one."""
    calls = reads(dirs)
    lvs = next(i for i, call in enumerate(calls) if call.argv == LVS_ARGV + [WEB_ROOT])
    calls.insert(lvs, Call(LVS_ARGV + [WEB_ROOT], out=''))
    copy = copy_calls()
    copy.insert(2, remote("sh -c 'head -c \"$1\" -- \"$2\" | sha256sum' sh %d %s" % (WEB_SIZE, WEB_ROOT), out=''))
    calls += ([COLD_PREPARE, COLD_STOP] + copy + handover(dirs)[:1]
              + [remote('cd /dev && xl create %s' % (dirs / 'web.cfg'))] + handover(dirs)[1:])
    result, failed, seen = run_module(xen_migrate.main, args(dirs, cold=True), calls=calls)
    assert failed is False, result
    assert result['actions'][:3] == ['create the LVM volume vg_xen/web-root (512 MiB) on lab2', 'shut web down here',
                                     'copy /dev/vg_xen/web-root (512 MiB) to lab2 and compare checksums']
    assert seen.count(LVS_ARGV + [WEB_ROOT]) == 2


def test_cold_move_of_an_hvm_domain_shuts_it_down_with_the_acpi_fallback(dirs):
    """An hvm domain may have no PV drivers: xl shutdown -F (an ACPI power button event then)."""
    long_text, plain = WITH_DISK
    domains = json.loads(long_text)
    for entry in domains:
        if entry['config']['c_info']['name'] == 'web':
            entry['config']['c_info']['type'] = 'hvm'
    hvm_reads = local_state(json.dumps(domains), plain) + reads(dirs)[2:]
    stop = Call(['timeout', '300', 'xl', 'shutdown', '-F', '-w', 'web'])
    calls = (hvm_reads + [COLD_PREPARE, stop] + copy_calls() + handover(dirs)[:1]
             + [remote('cd /dev && xl create %s' % (dirs / 'web.cfg'))] + handover(dirs)[1:])
    result, failed, seen = run_module(xen_migrate.main, args(dirs, cold=True), calls=calls)
    assert failed is False, result
    assert stop.argv in seen
    assert result['method'] == 'cold'


def test_cold_move_in_check_mode_reads_and_changes_nothing(dirs):
    result, failed, seen = run_module(xen_migrate.main, args(dirs, cold=True), calls=reads(dirs), check_mode=True)
    assert (failed, result['changed']) == (False, True)
    assert result['actions'][:2] == ['create the LVM volume vg_xen/web-root (512 MiB) on lab2', 'shut web down here']
    assert os.path.exists(str(dirs / 'web.cfg'))


def test_cold_move_removes_the_volume_here_when_asked(dirs):
    calls = (reads(dirs) + [COLD_PREPARE, COLD_STOP] + copy_calls() + handover(dirs)[:1]
             + [remote('cd /dev && xl create %s' % (dirs / 'web.cfg'))] + handover(dirs)[1:]
             + [Call(['lvremove', '-f', WEB_ROOT])])
    result, failed, seen = run_module(xen_migrate.main, args(dirs, cold=True, remove_source_disks=True), calls=calls)
    assert failed is False, result
    assert result['actions'][-1] == 'remove vg_xen/web-root here'


@pytest.mark.parametrize('check_mode', [False, True])
@pytest.mark.parametrize('kw, reason', [
    (dict(exists=True), 'lab2 already has /dev/vg_xen/web-root (it is not overwritten)'),
    (dict(vg_rc=5), 'lab2 has no volume group vg_xen for /dev/vg_xen/web-root'),
    (dict(vg_free=100 << 20), 'volume group vg_xen on lab2 has 100 MiB free, the disks need 512 MiB'),
])
def test_cold_move_refused_before_anything_changes(dirs, check_mode, kw, reason):
    result, failed, seen = run_module(xen_migrate.main, args(dirs, cold=True), calls=reads(dirs, **kw),
                                      check_mode=check_mode)
    assert failed is True
    assert result['msg'] == 'cannot move web cold from lab1 to lab2: %s; nothing was changed' % reason
    assert os.path.exists(str(dirs / 'web.cfg'))


def test_cold_move_with_a_bad_copy_is_undone_and_the_domain_started_here_again(dirs):
    stopped = (long_of('news'), plain_of('news'))
    calls = (reads(dirs) + [COLD_PREPARE, COLD_STOP] + copy_calls(there_sha='0' * 64)
             + local_state(*stopped) + remote_state(*EMPTY)
             + [remote('lvremove -f %s' % WEB_ROOT), Call(['xl', 'create', str(dirs / 'web.cfg')])])
    result, failed, seen = run_module(xen_migrate.main, args(dirs, cold=True), calls=calls)
    assert failed is True
    msg = result['msg']
    assert msg.startswith('cold move of web to lab2 failed at "copy /dev/vg_xen/web-root (512 MiB) to lab2 and compare '
                          'checksums": the copy of /dev/vg_xen/web-root on lab2 differs from it'), msg
    assert msg.endswith('web runs on lab1; undone: remove vg_xen/web-root on lab2 again, start web here again'), msg
    assert result['runs_on'] == 'lab1' and result['changed'] is True
    # the config file and the autostart link stay here
    assert os.path.exists(str(dirs / 'web.cfg')) and os.path.islink(str(dirs / 'auto' / 'web.cfg'))


def put_config(dirs, text):
    """The write of web.cfg on lab2 (to a new file, moved into place) with ``text``."""
    return remote("sh -c 'mkdir -p \"$(dirname \"$1\")\" && cat > \"$1.xenops-new\" && mv -f \"$1.xenops-new\" \"$1\"' "
                  "sh %s" % (dirs / 'web.cfg'), data=text)


def failed_start_undone(dirs, target_config, undo_config):
    """A cold move whose xl create on lab2 fails, with ``target_config`` on lab2 before, undone with ``undo_config``."""
    stopped = (long_of('news'), plain_of('news'))
    create = remote('cd /dev && xl create %s' % (dirs / 'web.cfg'), rc=1, err='libxl: error: cannot start web\n')
    written = [put_config(dirs, 'name = "web"\n')] if target_config != 'name = "web"\n' else []
    return (local_state(*WITH_DISK) + remote_state(*EMPTY) + remote_reads() + file_reads(dirs, config=target_config)
            + cold_reads(dirs) + [COLD_PREPARE, COLD_STOP] + copy_calls() + written + [create]
            + local_state(*stopped) + remote_state(*EMPTY) + undo_config
            + [remote('lvremove -f %s' % WEB_ROOT), Call(['xl', 'create', str(dirs / 'web.cfg')])])


def test_failed_cold_move_puts_back_the_config_file_that_force_replaced_on_the_target(dirs):
    theirs = 'name = "web"\nmemory = 512\n'
    calls = failed_start_undone(dirs, theirs, [put_config(dirs, theirs)])
    result, failed, seen = run_module(xen_migrate.main, args(dirs, cold=True, force=True), calls=calls)
    assert failed is True
    assert result['recovery'] == ['put back the earlier %s on lab2' % (dirs / 'web.cfg'),
                                  'remove vg_xen/web-root on lab2 again', 'start web here again'], result['msg']
    assert result['runs_on'] == 'lab1'


def test_failed_cold_move_leaves_the_same_config_file_that_was_on_the_target(dirs):
    calls = failed_start_undone(dirs, 'name = "web"\n', [])
    result, failed, seen = run_module(xen_migrate.main, args(dirs, cold=True), calls=calls)
    assert failed is True
    assert result['recovery'] == ['remove vg_xen/web-root on lab2 again', 'start web here again'], result['msg']
    assert not [argv for argv in seen if 'rm' in argv[-1].split()]


def test_failed_cold_move_removes_the_config_file_it_wrote_on_the_target(dirs):
    calls = failed_start_undone(dirs, None, [remote('rm -f -- %s' % (dirs / 'web.cfg'))])
    result, failed, seen = run_module(xen_migrate.main, args(dirs, cold=True), calls=calls)
    assert failed is True
    assert result['recovery'][0] == 'remove %s on lab2' % (dirs / 'web.cfg'), result['msg']


def test_cold_move_that_does_not_shut_down_in_time_leaves_the_domain_running(dirs):
    calls = (reads(dirs) + [COLD_PREPARE, Call(COLD_STOP.argv, rc=124)]
             + local_state(*WITH_DISK) + remote_state(*EMPTY) + [remote('lvremove -f %s' % WEB_ROOT)])
    result, failed, seen = run_module(xen_migrate.main, args(dirs, cold=True), calls=calls)
    assert failed is True
    assert 'failed at "shut web down here"' in result['msg'] and result['runs_on'] == 'lab1', result['msg']
    assert 'domain web did not shut down within 300 seconds' in result['msg'], result['msg']
    assert result['recovery'] == ['remove vg_xen/web-root on lab2 again']


def test_local_disks_without_cold_are_still_refused(dirs):
    calls = local_state(*WITH_DISK) + remote_state(*EMPTY) + remote_reads() + file_reads(dirs)
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls)
    assert failed is True
    assert 'cold moves are not allowed' in result['msg']


# web with its disk on the DRBD resource c2-data (block-drbd), as xl list -l shows such a disk
def _drbd_source():
    entries = json.loads(long_of('news', 'web'))
    for entry in entries:
        if entry['config']['c_info']['name'] == 'web':
            entry['config']['disks'] = [{'pdev_path': 'c2-data', 'vdev': 'xvda', 'format': 'raw', 'script': 'block-drbd',
                                         'readwrite': 1}]
    return json.dumps(entries), plain_of('news', 'web')


DRBD_RES = '/etc/drbd.d/c2-data.res'
DRBD_CONNECTED = labdata.text(os.path.join('..', 'drbd', 'lab1_proc_drbd_connected.txt'))
DRBD_STANDALONE = DRBD_CONNECTED.replace('cs:Connected', 'cs:StandAlone').replace('ds:UpToDate/UpToDate', 'ds:UpToDate/DUnknown')


def drbd_reads(res=True, proc=DRBD_CONNECTED):
    """The target's resource file of c2-data and its /proc/drbd (None: the file is not there)."""
    from ansible_collections.xenops.xen.plugins.module_utils._drbd import render
    text = render('c2-data', 0, '/dev/vg_xen/c2-data', [{'name': 'lab1', 'address': '10.99.0.11'},
                                                        {'name': 'lab2', 'address': '10.99.0.12'}], 7790)
    return [remote('cat -- %s' % DRBD_RES, rc=0 if res else 1, out=text if res else '',
                   err='' if res else 'cat: %s: No such file or directory' % DRBD_RES),
            remote('cat -- /proc/drbd', rc=0 if proc is not None else 1, out=proc or '',
                   err='' if proc is not None else 'cat: /proc/drbd: No such file or directory')]


def test_drbd_domain_moves_live_where_its_resource_is_connected_and_uptodate(dirs):
    calls = local_state(*_drbd_source()) + remote_state(*EMPTY) + remote_reads() + drbd_reads() + file_reads(dirs)
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls, check_mode=True)
    assert (failed, result['changed']) == (False, True), result
    assert result['actions'][0] == 'migrate web live from lab1 to lab2'


@pytest.mark.parametrize('reads,reason', [
    (dict(proc=DRBD_STANDALONE),
     'DRBD resource c2-data on lab2 is StandAlone and UpToDate, not Connected and UpToDate'),
    (dict(proc=DRBD_CONNECTED.replace('ds:UpToDate/UpToDate', 'ds:Inconsistent/UpToDate')),
     'DRBD resource c2-data on lab2 is Connected and Inconsistent'),
    (dict(res=False), 'lab2 has no DRBD resource c2-data'),
    (dict(res=False, proc=None), 'lab2 has no DRBD set up, so it cannot open c2-data'),
])
def test_drbd_domain_is_refused_where_its_resource_is_not_ready(dirs, reads, reason):
    calls = local_state(*_drbd_source()) + remote_state(*EMPTY) + remote_reads() + drbd_reads(**reads) + file_reads(dirs)
    result, failed, seen = run_module(xen_migrate.main, args(dirs), calls=calls)
    assert failed is True
    assert reason in result['msg'] and 'nothing was changed' in result['msg'], result['msg']
    assert not [argv for argv in seen if 'migrate' in argv]
