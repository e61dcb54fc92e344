# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""xen_lv scenarios: the exact commands of every transition, check mode, diff, bad inputs."""

from __future__ import annotations

import json
from unittest import mock

import pytest

import labdata

from ansible_collections.xenops.xen.plugins.module_utils import _lvm
from ansible_collections.xenops.xen.plugins.modules import xen_lv

from utils import Call, run_module

# Real output captured from the Xen lab (see its README.md): vg_xen with news-root (1 GiB ext4), news-swap
# (256 MiB swap) and web-root (512 MiB, blank), all open; domains news (PV) and web (PVH) running.

GIB = 1024 ** 3
MIB = 1024 ** 2
EXTENT = 4 * MIB

LVS = ['lvs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o', 'vg_name,lv_name,lv_path,lv_size,lv_attr']
VGS = ['vgs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o',
       'vg_name,vg_size,vg_free,vg_extent_size,vg_free_count']
XL_LIST_LONG = ['xl', 'list', '-l']
IDLE = '-wi-a-----'
OPEN = '-wi-ao----'

EXT4_NEWS_ROOT = ('DEVNAME=/dev/vg_xen/news-root\nLABEL=news-root\nUUID=7d1e3c52-0c36-4a5e-9a8e-2b1f1b0e8f11\n'
                  'VERSION=1.0\nBLOCK_SIZE=4096\nTYPE=ext4\nUSAGE=filesystem\n')
SWAP_NEWS_SWAP = ('DEVNAME=/dev/vg_xen/news-swap\nLABEL=news-swap\nUUID=5a0c1f7e-9d4b-4c2a-8e3f-6b7a8c9d0e1f\n'
                  'VERSION=1\nTYPE=swap\nUSAGE=other\n')


def lvs_out(*rows):
    return json.dumps({'report': [{'lv': [
        {'vg_name': 'vg_xen', 'lv_name': name, 'lv_path': '/dev/vg_xen/%s' % name, 'lv_size': str(size), 'lv_attr': attr}
        for name, size, attr in rows]}]})


def vgs_out(free_extents=8192, name='vg_xen'):
    return json.dumps({'report': [{'vg': [
        {'vg_name': name, 'vg_size': str(64 * GIB), 'vg_free': str(free_extents * EXTENT),
         'vg_extent_size': str(EXTENT), 'vg_free_count': str(free_extents)}]}]})


def reads(*rows, **kwargs):
    return [Call(LVS, out=lvs_out(*rows)), Call(VGS, out=vgs_out(**kwargs))]


def blkid(*names, **kwargs):
    """``blkid -p -o export`` of the volumes ``names`` (one run probes several devices)."""
    return Call(['blkid', '-p', '-o', 'export'] + ['/dev/vg_xen/%s' % name for name in names],
                rc=kwargs.get('rc', 0), out=kwargs.get('out', ''))


def export(name, fields):
    """One device's block of ``blkid -p -o export`` output."""
    return 'DEVNAME=/dev/vg_xen/%s\n%s' % (name, fields)


def blocks(*outputs):
    """Output of blkid for several devices: their blocks separated by an empty line (as on the lab)."""
    return '\n'.join(outputs)


def xl_list_long(*domains):
    data = [{'domid': i + 1, 'config': {'c_info': {'name': name},
                                        'disks': [{'pdev_path': path, 'vdev': 'xvd%s' % chr(97 + j), 'readwrite': 1}
                                                  for j, path in enumerate(paths)]}}
            for i, (name, paths) in enumerate(domains)]
    return Call(XL_LIST_LONG, out=json.dumps(data, indent=4) if data else '[\n]\n')


lab = labdata.text


def lab_call(name):
    """A Call replaying a captured command (``NAME.json``: argv, rc, stdout, stderr)."""
    data = labdata.run(name)
    return Call(data['argv'], rc=data['rc'], out=data['stdout'], err=data['stderr'])


def lab_reads():
    return [Call(LVS, out=lab('lvs.json')), Call(VGS, out=lab('vgs.json'))]


def run(args, calls, check_mode=False, diff=False):
    return run_module(xen_lv.main, args, calls=calls, check_mode=check_mode, diff=diff)


# ---------------------------------------------------------------------------
# create

def test_create_without_filesystem():
    result, failed, seen = run(dict(vg='vg_xen', name='mail-disk', size='20G'), reads() + [
        Call(['lvcreate', '-y', '--wipesignatures', 'y', '-n', 'mail-disk', '-L', '21474836480b', 'vg_xen'])])
    assert failed is False
    assert result['changed'] is True
    assert result['actions'] == ['create volume vg_xen/mail-disk of 20 GiB']
    assert result['volumes'] == [dict(name='mail-disk', vg='vg_xen', path='/dev/vg_xen/mail-disk', state='present',
                                      size_bytes=20 * GIB, fstype=None, changed=True,
                                      actions=['create volume vg_xen/mail-disk of 20 GiB'])]
    assert len(seen) == 3


SEED = dict(vg='vg_xen', volumes=[dict(domain='news', function='root', size='2G', fstype='ext4'),
                                  dict(domain='news', function='swap', size='256M', fstype='swap')])


def test_create_seed_example_with_filesystems():
    result, failed, seen = run(SEED, reads() + [
        Call(['lvcreate', '-y', '--wipesignatures', 'y', '-n', 'news-root', '-L', '2147483648b', 'vg_xen']),
        blkid('news-root', rc=2),
        Call(['mkfs.ext4', '-q', '/dev/vg_xen/news-root']),
        Call(['lvcreate', '-y', '--wipesignatures', 'y', '-n', 'news-swap', '-L', '268435456b', 'vg_xen']),
        blkid('news-swap', rc=2),
        Call(['mkswap', '/dev/vg_xen/news-swap']),
    ])
    assert failed is False
    assert result['changed'] is True
    assert result['actions'] == ['create volume vg_xen/news-root of 2 GiB', 'create ext4 filesystem on /dev/vg_xen/news-root',
                                 'create volume vg_xen/news-swap of 256 MiB', 'create swap area on /dev/vg_xen/news-swap']
    assert [(v['name'], v['size_bytes'], v['fstype'], v['changed']) for v in result['volumes']] == [
        ('news-root', 2 * GIB, 'ext4', True), ('news-swap', 256 * MIB, 'swap', True)]


def test_create_with_label_and_rounding():
    result, failed, seen = run(dict(vg='vg_xen', name='data', size='1.5m', fstype='xfs', label='data'), reads() + [
        Call(['lvcreate', '-y', '--wipesignatures', 'y', '-n', 'data', '-L', '4194304b', 'vg_xen']),
        blkid('data', rc=2),
        Call(['mkfs.xfs', '-q', '-L', 'data', '/dev/vg_xen/data']),
    ])
    assert failed is False
    assert result['actions'][0] == 'create volume vg_xen/data of 4 MiB (1.5m rounded up to whole extents)'
    assert result['volumes'][0]['size_bytes'] == 4194304


def test_create_stops_when_new_volume_is_not_blank():
    result, failed, seen = run(dict(vg='vg_xen', name='news-root', size='2G', fstype='ext4'), reads() + [
        Call(['lvcreate', '-y', '--wipesignatures', 'y', '-n', 'news-root', '-L', '2147483648b', 'vg_xen']),
        blkid('news-root', out=EXT4_NEWS_ROOT),
    ])
    assert failed is True
    assert result == dict(msg='new volume /dev/vg_xen/news-root already carries ext4; not creating ext4 on it',
                          changed=True, actions=['create volume vg_xen/news-root of 2 GiB'])


def test_create_check_mode_runs_only_reads():
    result, failed, seen = run(SEED, reads(), check_mode=True)
    assert failed is False
    assert seen == [LVS, VGS]
    assert result['changed'] is True
    assert result['actions'] == ['create volume vg_xen/news-root of 2 GiB', 'create ext4 filesystem on /dev/vg_xen/news-root',
                                 'create volume vg_xen/news-swap of 256 MiB', 'create swap area on /dev/vg_xen/news-swap']


def test_create_check_mode_diff():
    result, failed, seen = run(SEED, reads(('news-root', 2 * GIB, OPEN)) + [blkid('news-root', out=EXT4_NEWS_ROOT)],
                               check_mode=True, diff=True)
    assert failed is False
    assert result['diff'] == [dict(before={'state': 'absent'},
                                   after={'state': 'present', 'size': '256 MiB', 'size_bytes': 256 * MIB, 'fstype': 'swap'},
                                   before_header='vg_xen/news-swap', after_header='vg_xen/news-swap')]
    assert [v['changed'] for v in result['volumes']] == [False, True]


def test_create_command_failure_is_reported():
    result, failed, seen = run(dict(vg='vg_xen', name='data', size='1G'), reads() + [
        Call(['lvcreate', '-y', '--wipesignatures', 'y', '-n', 'data', '-L', '1073741824b', 'vg_xen'], rc=5,
             err='  Volume group "vg_xen" has insufficient free space (10 extents): 256 required.\n')])
    assert failed is True
    assert result == dict(
        msg="command 'lvcreate -y --wipesignatures y -n data -L 1073741824b vg_xen' failed with rc=5: Volume group "
            '"vg_xen" has insufficient free space (10 extents): 256 required.',
        cmd=['lvcreate', '-y', '--wipesignatures', 'y', '-n', 'data', '-L', '1073741824b', 'vg_xen'], rc=5, stdout='',
        stderr='  Volume group "vg_xen" has insufficient free space (10 extents): 256 required.\n',
        changed=False, actions=[])


def test_read_failure_is_reported():
    result, failed, seen = run(dict(vg='vg_xen', name='data', size='1G'), [
        Call(LVS, rc=5, err='  /dev/mapper/control: open failed: Permission denied\n')])
    assert failed is True
    assert (result['rc'], result['cmd']) == (5, LVS)
    assert result['msg'].endswith('failed with rc=5: /dev/mapper/control: open failed: Permission denied')


# ---------------------------------------------------------------------------
# grow

def test_grow_offline_ext4(warnings):
    result, failed, seen = run(dict(vg='vg_xen', domain='news', function='root', size='4G', fstype='ext4'),
                               reads(('news-root', 2 * GIB, IDLE)) + [
        blkid('news-root', out=EXT4_NEWS_ROOT),
        Call(['lvextend', '-L', '4294967296b', '/dev/vg_xen/news-root']),
        Call(['e2fsck', '-f', '-p', '/dev/vg_xen/news-root'], out='news-root: 11/131072 files\n'),
        Call(['resize2fs', '/dev/vg_xen/news-root']),
    ], diff=True)
    assert failed is False
    assert result['actions'] == ['extend volume vg_xen/news-root from 2 GiB to 4 GiB',
                                 'grow ext4 filesystem on /dev/vg_xen/news-root']
    assert result['diff'][0]['before'] == {'state': 'present', 'size': '2 GiB', 'size_bytes': 2 * GIB, 'fstype': 'ext4'}
    assert result['diff'][0]['after'] == {'state': 'present', 'size': '4 GiB', 'size_bytes': 4 * GIB, 'fstype': 'ext4'}
    assert warnings == []


def test_grow_mounted_ext4_online(proc_mounts):
    proc_mounts.write_text('/dev/mapper/vg_xen-news--root /srv/news ext4 rw,relatime 0 0\n')
    result, failed, seen = run(dict(vg='vg_xen', name='news-root', size='4G'), reads(('news-root', 2 * GIB, OPEN)) + [
        blkid('news-root', out=EXT4_NEWS_ROOT),
        Call(['lvextend', '-L', '4294967296b', '/dev/vg_xen/news-root']),
        Call(['resize2fs', '/dev/vg_xen/news-root']),
    ])
    assert failed is False
    assert result['actions'][1] == 'grow ext4 filesystem on /dev/vg_xen/news-root (mounted on /srv/news)'


def test_grow_volume_of_running_domain_leaves_filesystem(warnings):
    result, failed, seen = run(dict(vg='vg_xen', name='news-root', size='4G'), reads(('news-root', 2 * GIB, OPEN)) + [
        blkid('news-root', out=EXT4_NEWS_ROOT),
        Call(['lvextend', '-L', '4294967296b', '/dev/vg_xen/news-root']),
    ])
    assert failed is False
    assert result['actions'] == ['extend volume vg_xen/news-root from 2 GiB to 4 GiB']
    assert warnings == ['ext4 on /dev/vg_xen/news-root was not grown: the volume is open (in use by a running domain?); '
                        'grow it where it is used (for example resize2fs, xfs_growfs or mkswap inside the domain)']


def test_grow_mounted_xfs(proc_mounts):
    proc_mounts.write_text('/dev/vg_xen/data /srv/data xfs rw 0 0\n')
    result, failed, seen = run(dict(vg='vg_xen', name='data', size='2G'), reads(('data', GIB, OPEN)) + [
        blkid('data', out=export('data', 'TYPE=xfs\nUUID=1\n')),
        Call(['lvextend', '-L', '2147483648b', '/dev/vg_xen/data']),
        Call(['xfs_growfs', '/srv/data']),
    ])
    assert failed is False
    assert result['changed'] is True


def test_grow_unused_swap_keeps_label_and_uuid():
    result, failed, seen = run(dict(vg='vg_xen', name='news-swap', size='512M', fstype='swap'),
                               reads(('news-swap', 256 * MIB, IDLE)) + [
        blkid('news-swap', out=SWAP_NEWS_SWAP),
        Call(['lvextend', '-L', '536870912b', '/dev/vg_xen/news-swap']),
        Call(['mkswap', '-L', 'news-swap', '-U', '5a0c1f7e-9d4b-4c2a-8e3f-6b7a8c9d0e1f', '/dev/vg_xen/news-swap']),
    ])
    assert failed is False
    assert result['volumes'][0]['size_bytes'] == 512 * MIB


def test_grow_check_mode_reads_only():
    result, failed, seen = run(dict(vg='vg_xen', name='news-root', size='4G'), reads(('news-root', 2 * GIB, IDLE)) + [
        blkid('news-root', out=EXT4_NEWS_ROOT)], check_mode=True)
    assert failed is False
    assert seen == [LVS, VGS, ['blkid', '-p', '-o', 'export', '/dev/vg_xen/news-root']]
    assert result['actions'] == ['extend volume vg_xen/news-root from 2 GiB to 4 GiB',
                                 'grow ext4 filesystem on /dev/vg_xen/news-root']


def test_mkfs_on_existing_blank_volume():
    result, failed, seen = run(dict(vg='vg_xen', name='web-root', fstype='ext4', label='web-root'),
                               reads(('web-root', 512 * MIB, IDLE)) + [
        blkid('web-root', rc=2),
        Call(['mkfs.ext4', '-q', '-L', 'web-root', '/dev/vg_xen/web-root']),
    ])
    assert failed is False
    assert result['actions'] == ['create ext4 filesystem on /dev/vg_xen/web-root']


# ---------------------------------------------------------------------------
# shrink

def test_shrink_refused_without_force():
    result, failed, seen = run(dict(vg='vg_xen', name='news-root', size='1G'), reads(('news-root', 2 * GIB, IDLE)))
    assert failed is True
    assert result['msg'] == ('refusing to shrink volume vg_xen/news-root from 2 GiB to 1 GiB: data past the new end is '
                             'lost (set force: true to shrink it anyway)')
    assert seen == [LVS, VGS]


def test_shrink_with_force(warnings):
    result, failed, seen = run(dict(vg='vg_xen', name='scratch', size='1G', force=True), reads(('scratch', 2 * GIB, IDLE)) + [
        blkid('scratch', rc=2),
        xl_list_long(('news', ['/dev/vg_xen/news-root'])),
        Call(['lvreduce', '-f', '-L', '1073741824b', '/dev/vg_xen/scratch']),
    ])
    assert failed is False
    assert result['actions'] == ['shrink volume vg_xen/scratch from 2 GiB to 1 GiB']
    assert result['volumes'][0]['size_bytes'] == GIB
    assert warnings == []


def test_shrink_with_force_warns_about_filesystem(warnings):
    result, failed, seen = run(dict(vg='vg_xen', name='news-root', size='1G', force=True),
                               reads(('news-root', 2 * GIB, IDLE)) + [
        blkid('news-root', out=EXT4_NEWS_ROOT),
        xl_list_long(),
        Call(['lvreduce', '-f', '-L', '1073741824b', '/dev/vg_xen/news-root']),
    ])
    assert failed is False
    assert warnings == ['ext4 on /dev/vg_xen/news-root was not shrunk: it is now larger than its volume and the data '
                        'past the new end is lost']


def test_shrink_never_for_volume_of_running_domain():
    result, failed, seen = run(dict(vg='vg_xen', name='news-root', size='1G', force=True),
                               reads(('news-root', 2 * GIB, OPEN)) + [
        blkid('news-root', out=EXT4_NEWS_ROOT),
        xl_list_long(('news', ['/dev/vg_xen/news-root', '/dev/vg_xen/news-swap'])),
    ])
    assert failed is True
    assert result['msg'] == ('refusing to shrink volume vg_xen/news-root: it is used by running domain news (xvda); '
                             'a volume in use is never shrunk')


def test_shrink_never_for_mounted_volume(proc_mounts):
    proc_mounts.write_text('/dev/mapper/vg_xen-scratch /mnt ext4 rw 0 0\n')
    result, failed, seen = run(dict(vg='vg_xen', name='scratch', size='1G', force=True), reads(('scratch', 2 * GIB, IDLE)) + [
        blkid('scratch', out=export('scratch', 'TYPE=ext4\n')), xl_list_long()])
    assert failed is True
    assert result['msg'] == ('refusing to shrink volume vg_xen/scratch: it is mounted on /mnt; a volume in use is never '
                             'shrunk')


# ---------------------------------------------------------------------------
# remove

def test_remove():
    result, failed, seen = run(dict(vg='vg_xen', name='old-root', state='absent'), reads(('old-root', GIB, IDLE)) + [
        xl_list_long(('news', ['/dev/vg_xen/news-root'])),
        Call(['lvremove', '-f', '/dev/vg_xen/old-root']),
    ], diff=True)
    assert failed is False
    assert result['actions'] == ['remove volume vg_xen/old-root (1 GiB)']
    assert result['volumes'][0]['state'] == 'absent'
    assert result['diff'] == [dict(before={'state': 'present', 'size': '1 GiB', 'size_bytes': GIB}, after={'state': 'absent'},
                                   before_header='vg_xen/old-root', after_header='vg_xen/old-root')]


def test_remove_check_mode_reads_only():
    result, failed, seen = run(dict(vg='vg_xen', name='old-root', state='absent'), reads(('old-root', GIB, IDLE)) + [
        xl_list_long()], check_mode=True)
    assert failed is False
    assert seen == [LVS, VGS, XL_LIST_LONG]
    assert result['changed'] is True


def test_remove_refused_when_running_domain_uses_it():
    result, failed, seen = run(dict(vg='vg_xen', domain='news', function='root', state='absent'),
                               reads(('news-root', GIB, OPEN)) + [
        xl_list_long(('web', ['/dev/vg_xen/web-root']), ('news', ['/dev/mapper/vg_xen-news--root'])),
    ])
    assert failed is True
    assert result['msg'] == ('refusing to remove volume vg_xen/news-root: it is used by running domain news (xvda) '
                             '(set force: true to remove it anyway)')
    assert seen == [LVS, VGS, XL_LIST_LONG]


def test_remove_refused_when_mounted(proc_mounts):
    proc_mounts.write_text('/dev/mapper/vg_xen-backup /var/backups\\040old ext4 rw 0 0\n')
    result, failed, seen = run(dict(vg='vg_xen', name='backup', state='absent'), reads(('backup', GIB, OPEN)) + [
        xl_list_long()])
    assert failed is True
    assert result['msg'] == ('refusing to remove volume vg_xen/backup: it is mounted on /var/backups old '
                             '(set force: true to remove it anyway)')


def test_remove_with_force_skips_checks():
    result, failed, seen = run(dict(vg='vg_xen', name='news-root', state='absent', force=True),
                               reads(('news-root', GIB, IDLE)) + [Call(['lvremove', '-f', '/dev/vg_xen/news-root'])])
    assert failed is False
    assert seen == [LVS, VGS, ['lvremove', '-f', '/dev/vg_xen/news-root']]


def test_remove_without_xl_installed():
    with mock.patch.object(_lvm.Lvm, 'xl_installed', lambda self: False):
        result, failed, seen = run(dict(vg='vg_xen', name='old-root', state='absent'), reads(('old-root', GIB, IDLE)) + [
            Call(['lvremove', '-f', '/dev/vg_xen/old-root'])])
    assert failed is False
    assert seen == [LVS, VGS, ['lvremove', '-f', '/dev/vg_xen/old-root']]


def test_absent_when_already_absent():
    result, failed, seen = run(dict(vg='vg_xen', name='old-root', state='absent'), reads(('news-root', GIB, OPEN)),
                               diff=True)
    assert failed is False
    assert result['changed'] is False
    assert result['actions'] == []
    assert result['diff'] == []
    assert result['volumes'] == [dict(name='old-root', vg='vg_xen', path='/dev/vg_xen/old-root', state='absent',
                                      size_bytes=None, fstype=None, changed=False, actions=[])]


# ---------------------------------------------------------------------------
# unchanged and batches

def test_unchanged_runs_only_reads(warnings):
    result, failed, seen = run(SEED, reads(('news-root', 2 * GIB, OPEN), ('news-swap', 256 * MIB, OPEN)) + [
        blkid('news-root', 'news-swap', out=blocks(EXT4_NEWS_ROOT, SWAP_NEWS_SWAP))])
    assert failed is False
    assert result['changed'] is False
    assert result['actions'] == []
    assert [(v['name'], v['size_bytes'], v['fstype'], v['changed']) for v in result['volumes']] == [
        ('news-root', 2 * GIB, 'ext4', False), ('news-swap', 256 * MIB, 'swap', False)]
    assert warnings == []


def test_unchanged_without_fstype_runs_lvs_and_vgs_only():
    result, failed, seen = run(dict(vg='vg_xen', name='mail-disk', size='20G'), reads(('mail-disk', 20 * GIB, OPEN)))
    assert (failed, result['changed'], seen) == (False, False, [LVS, VGS])


def test_size_within_one_extent_is_no_change():
    result, failed, seen = run(dict(vg='vg_xen', name='mail-disk', size=str(20 * GIB - EXTENT + 1)),
                               reads(('mail-disk', 20 * GIB, OPEN)))
    assert (failed, result['changed'], result['volumes'][0]['size_bytes']) == (False, False, 20 * GIB)


def test_batch_reads_lvm_once():
    result, failed, seen = run(dict(vg='vg_xen', volumes=[
        dict(name='a', size='1G'), dict(name='b', size='2G'), dict(name='c', state='absent'),
        dict(name='d', size='512M'), dict(name='e', state='absent')]),
        reads(('a', GIB, OPEN), ('b', GIB, IDLE), ('c', GIB, IDLE)) + [
        blkid('b', rc=2),
        xl_list_long(),
        Call(['lvextend', '-L', '2147483648b', '/dev/vg_xen/b']),
        Call(['lvremove', '-f', '/dev/vg_xen/c']),
        Call(['lvcreate', '-y', '--wipesignatures', 'y', '-n', 'd', '-L', '536870912b', 'vg_xen']),
    ])
    assert failed is False
    assert seen.count(LVS) == 1 and seen.count(VGS) == 1
    assert result['actions'] == ['extend volume vg_xen/b from 1 GiB to 2 GiB', 'remove volume vg_xen/c (1 GiB)',
                                 'create volume vg_xen/d of 512 MiB']
    assert [v['changed'] for v in result['volumes']] == [False, True, True, True, False]


def test_noop_batch_of_twenty_volumes():
    rows = [('dom%02d-%s' % (i // 2, 'root' if i % 2 == 0 else 'swap'), 2 * GIB if i % 2 == 0 else 256 * MIB, OPEN)
            for i in range(20)]
    volumes = [dict(name=name, size='2G' if name.endswith('root') else '256M',
                    fstype='ext4' if name.endswith('root') else 'swap') for name, size, attr in rows]
    names = [name for name, size, attr in rows]
    signatures = blkid(*names, out=blocks(*[export(name, 'TYPE=%s\n' % ('ext4' if name.endswith('root') else 'swap'))
                                            for name in names]))
    result, failed, seen = run(dict(vg='vg_xen', volumes=volumes), reads(*rows, free_extents=10) + [signatures])
    assert failed is False
    assert result['changed'] is False
    assert seen == [LVS, VGS, ['blkid', '-p', '-o', 'export'] + ['/dev/vg_xen/%s' % name for name in names]]
    assert [v['fstype'] for v in result['volumes']][:2] == ['ext4', 'swap']


def test_not_enough_space_fails_before_any_change():
    result, failed, seen = run(SEED, reads(free_extents=500))
    assert failed is True
    assert result['msg'] == ('not enough free space in volume group vg_xen: the volumes need 2.25 GiB (576 extents), '
                             '1.95 GiB (500 extents) is free')
    assert seen == [LVS, VGS]


def test_unknown_vg_lists_existing_ones():
    result, failed, seen = run(dict(vg='vg_nosuch', name='x', size='1G'), reads())
    assert failed is True
    assert result['msg'] == "volume group 'vg_nosuch' not found (volume groups: vg_xen)"


def test_refuses_to_reformat():
    result, failed, seen = run(dict(vg='vg_xen', name='news-root', fstype='xfs'), reads(('news-root', GIB, OPEN)) + [
        blkid('news-root', out=EXT4_NEWS_ROOT)])
    assert failed is True
    assert result['msg'] == ('volume vg_xen/news-root holds ext4, not xfs; refusing to reformat it (remove the volume or '
                             'wipe it first)')


# ---------------------------------------------------------------------------
# against the real lab captures

LAB_VOLUMES = dict(vg='vg_xen', volumes=[
    dict(domain='news', function='root', size='1G', fstype='ext4', label='news-root'),
    dict(domain='news', function='swap', size='256M', fstype='swap', label='news-swap'),
    dict(domain='web', function='root', size='512M')])


def test_lab_unchanged(warnings):
    probe = blkid('news-root', 'news-swap', out=blocks(lab('blkid_news-root.txt'), lab('blkid_news-swap.txt')))
    result, failed, seen = run(LAB_VOLUMES, lab_reads() + [probe], diff=True)
    assert failed is False
    assert (result['changed'], result['actions'], result['diff'], warnings) == (False, [], [], [])
    assert [(v['path'], v['size_bytes'], v['fstype']) for v in result['volumes']] == [
        ('/dev/vg_xen/news-root', GIB, 'ext4'), ('/dev/vg_xen/news-swap', 256 * MIB, 'swap'),
        ('/dev/vg_xen/web-root', 512 * MIB, None)]


def test_lab_check_mode_grow_and_create():
    args = dict(vg='vg_xen', volumes=[dict(name='news-root', size='2G', fstype='ext4'),
                                      dict(name='mail-root', size='6G', fstype='ext4')])
    result, failed, seen = run(args, lab_reads() + [lab_call('blkid_news-root')], check_mode=True)
    assert failed is True
    assert result['msg'] == ('not enough free space in volume group vg_xen: the volumes need 7 GiB (1792 extents), '
                             '6.25 GiB (1599 extents) is free')
    args['volumes'][1]['size'] = '5G'
    result, failed, seen = run(args, lab_reads() + [lab_call('blkid_news-root')], check_mode=True)
    assert failed is False
    assert seen == [LVS, VGS, ['blkid', '-p', '-o', 'export', '/dev/vg_xen/news-root']]
    assert result['actions'] == ['extend volume vg_xen/news-root from 1 GiB to 2 GiB',
                                 'create volume vg_xen/mail-root of 5 GiB',
                                 'create ext4 filesystem on /dev/vg_xen/mail-root']


def test_lab_grow_root_of_running_domain(warnings):
    result, failed, seen = run(dict(vg='vg_xen', name='news-root', size='2G', fstype='ext4'), lab_reads() + [
        lab_call('blkid_news-root'),
        Call(['lvextend', '-L', '2147483648b', '/dev/vg_xen/news-root'])])
    assert failed is False
    assert result['actions'] == ['extend volume vg_xen/news-root from 1 GiB to 2 GiB']
    assert warnings == ['ext4 on /dev/vg_xen/news-root was not grown: the volume is open (in use by a running domain?); '
                        'grow it where it is used (for example resize2fs, xfs_growfs or mkswap inside the domain)']


def test_lab_remove_refused_while_web_runs():
    result, failed, seen = run(dict(vg='vg_xen', domain='web', function='root', state='absent'),
                               lab_reads() + [Call(XL_LIST_LONG, out=lab('xl_list_l.json'))])
    assert failed is True
    assert result['msg'] == ('refusing to remove volume vg_xen/web-root: it is used by running domain web (xvda) '
                             '(set force: true to remove it anyway)')


def test_lab_shrink_refused_while_news_runs():
    result, failed, seen = run(dict(vg='vg_xen', name='news-swap', size='128M', force=True),
                               lab_reads() + [lab_call('blkid_news-swap'), Call(XL_LIST_LONG, out=lab('xl_list_l.json'))])
    assert failed is True
    assert result['msg'] == ('refusing to shrink volume vg_xen/news-swap: it is used by running domain news (xvdb); '
                             'a volume in use is never shrunk')


def test_lab_no_mkfs_on_blank_volume_in_use():
    result, failed, seen = run(dict(vg='vg_xen', name='web-root', fstype='xfs'), lab_reads() + [lab_call('blkid_web-root')])
    assert failed is True
    assert result['msg'] == 'volume vg_xen/web-root has no filesystem but is open (in use); refusing to create xfs on it'


def test_lab_refuses_to_reformat_swap():
    result, failed, seen = run(dict(vg='vg_xen', name='news-swap', fstype='ext4'), lab_reads() + [lab_call('blkid_news-swap')])
    assert failed is True
    assert result['msg'] == ('volume vg_xen/news-swap holds swap, not ext4; refusing to reformat it (remove the volume '
                             'or wipe it first)')


# ---------------------------------------------------------------------------
# bad inputs: all fail before any command that changes something

BAD_INPUTS = [
    (dict(vg='vg_xen', name='x', size='100%FREE'),
     "volume 'x': size '100%FREE' is a percentage (%FREE, %VG...); only absolute sizes such as 10G are supported, so "
     "that running the task twice gives the same volume"),
    (dict(vg='vg_xen', name='x', size='50%VG'), "volume 'x': size '50%VG' is a percentage (%FREE, %VG...); only "
     "absolute sizes such as 10G are supported, so that running the task twice gives the same volume"),
    (dict(vg='vg_xen', name='x', size='+1G'),
     "volume 'x': size '+1G' is relative; give the absolute size the volume should have, such as 10G"),
    (dict(vg='vg_xen', name='x', size='-1G'),
     "volume 'x': size '-1G' is relative; give the absolute size the volume should have, such as 10G"),
    (dict(vg='vg_xen', name='x', size='0'), "volume 'x': size must be greater than zero, got '0'"),
    (dict(vg='vg_xen', name='x', size=-5), "volume 'x': size must be greater than zero, got -5"),
    (dict(vg='vg_xen', name='x', size='10GB'),
     "volume 'x': size '10GB': unit 'GB' is ambiguous; sizes are binary like LVM, write G or GiB"),
    (dict(vg='vg_xen', name='x', size='ten'),
     "volume 'x': size 'ten' is not a number followed by an optional unit B, K, M, G, T or P (such as 512M, 1.5G, 10GiB)"),
    (dict(vg='vg_xen', name='x', size='5Q'),
     "volume 'x': size '5Q' has an unknown unit 'Q'; use B, K, M, G, T or P (binary: 1K = 1024 bytes)"),
    (dict(vg='vg_xen', name='news root', size='1G'),
     "volume name 'news root' may only contain letters, digits and + _ . -"),
    (dict(vg='vg_xen', name='-root', size='1G'), "volume name '-root' must not start with -"),
    (dict(vg='vg_xen', name='..'), "volume name must not be '..'"),
    (dict(vg='vg_xen', name='snapshot0', size='1G'), "volume name 'snapshot0' must not start with 'snapshot' (reserved by LVM)"),
    (dict(vg='vg_xen', name='x' * 128, size='1G'), 'volume name %r is longer than 127 characters' % ('x' * 128)),
    (dict(vg='vg xen', name='x', size='1G'), "volume group name 'vg xen' may only contain letters, digits and + _ . -"),
    (dict(vg='vg_xen', name='x', domain='news', function='root'),
     'parameters are mutually exclusive: name|domain, name|function'),
    (dict(vg='vg_xen', name='x', function='root'), 'parameters are mutually exclusive: name|function'),
    (dict(vg='vg_xen', size='1G'), 'one of the following is required: name, domain, volumes'),
    (dict(vg='vg_xen', domain='news', size='1G'), 'parameters are required together: domain, function'),
    (dict(name='x', size='1G'), "vg is required for volume 'x' (set it on the volume or at the top level)"),
    (dict(vg='vg_xen', name='x', fstype='btrfs'), 'value of fstype must be one of: ext4, xfs, swap, none, got: btrfs'),
    (dict(vg='vg_xen', name='x', state='gone'), 'value of state must be one of: present, absent, got: gone'),
    (dict(vg='vg_xen', name='x', label='root'), "volume 'x': label needs fstype ext4, xfs or swap"),
    (dict(vg='vg_xen', name='x', fstype='xfs', label='a-very-long-label'),
     "volume 'x': xfs labels are at most 12 bytes, 'a-very-long-label' is longer"),
    (dict(vg='vg_xen', volumes=[dict(name='a', size='1G'), dict(domain='a', function='b'), dict(name='a', size='2G')]),
     'volume vg_xen/a is listed more than once'),
    (dict(vg='vg_xen', name='x', volumes=[dict(name='a')]), 'parameters are mutually exclusive: volumes|name'),
    (dict(vg='vg_xen', size='1G', volumes=[dict(name='a')]), 'parameters are mutually exclusive: volumes|size'),
    (dict(vg='vg_xen', volumes=[]), 'volumes must list at least one volume'),
    (dict(vg='vg_xen', volumes=[dict(size='1G')]), 'one of the following is required: name, domain found in volumes'),
    (dict(vg='vg_xen', volumes=[dict(name='a', domain='b')]),
     'parameters are mutually exclusive: name|domain found in volumes'),
    (dict(vg='vg_xen', volumes=[dict(name='a', bogus=1)]), 'volumes.bogus. Supported parameters include'),
    (dict(volumes=[dict(name='a', size='1G'), dict(name='b', size='1G', vg='vg_xen')]),
     "vg is required for volume 'a' (set it on the volume or at the top level)"),
    (dict(vg='vg_xen', volumes=[dict(name='a', size='+1G'), dict(name='pvmove', size='1G')]),
     "volume 'a': size '+1G' is relative; give the absolute size the volume should have, such as 10G; "
     "volume name 'pvmove' must not start with 'pvmove' (reserved by LVM)"),
]


@pytest.mark.parametrize('args, message', BAD_INPUTS, ids=['bad%02d' % i for i in range(len(BAD_INPUTS))])
def test_bad_inputs(args, message):
    result, failed, seen = run(args, [])
    assert failed is True
    assert seen == []
    if 'Supported parameters include' in message:
        assert message in result['msg']
    else:
        assert result['msg'] == message


# ---------------------------------------------------------------- removal safety

def test_remove_refused_when_open_without_known_user():
    """lv_attr says open, but neither a running domain nor a mount explains it: refused all the same."""
    result, failed, seen = run(dict(vg='vg_xen', name='old-root', state='absent'), reads(('old-root', GIB, OPEN)) + [
        xl_list_long(('news', ['/dev/vg_xen/news-root']))])
    assert failed is True
    assert result['msg'] == ('refusing to remove volume vg_xen/old-root: it is open (in use) '
                             '(set force: true to remove it anyway)')
    assert seen == [LVS, VGS, XL_LIST_LONG]


@pytest.mark.parametrize('check_mode', [False, True])
def test_remove_refused_when_running_domain_uses_relative_path(check_mode):
    """``xl list -l`` shows the target as written in the config: ``vg_xen/news-root`` is /dev/vg_xen/news-root."""
    result, failed, seen = run(dict(vg='vg_xen', name='news-root', state='absent'), reads(('news-root', GIB, IDLE)) + [
        xl_list_long(('news', ['vg_xen/news-root']))], check_mode=check_mode)
    assert failed is True
    assert result['msg'] == ('refusing to remove volume vg_xen/news-root: it is used by running domain news (xvda) '
                             '(set force: true to remove it anyway)')
    assert seen == [LVS, VGS, XL_LIST_LONG]


@pytest.mark.parametrize('check_mode', [False, True])
def test_unexpected_lvs_value_is_a_failure_not_a_traceback(check_mode):
    bad = json.dumps({'report': [{'lv': [{'vg_name': 'vg_xen', 'lv_name': 'x', 'lv_path': '/dev/vg_xen/x',
                                          'lv_size': '1.00g', 'lv_attr': IDLE}]}]})
    result, failed, seen = run(dict(vg='vg_xen', name='x', size='1G'), [Call(LVS, out=bad)], check_mode=check_mode)
    assert failed is True
    assert result['msg'] == ("cannot read what LVM reports, nothing was changed: lvs: field lv_size is not a whole "
                             "number of bytes: '1.00g' (run with --units b --nosuffix)")
    assert seen == [LVS]
