# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""xen_vg scenarios: the exact commands, check mode, refusals, devices named through symlinks."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.xenops.xen.plugins.modules import xen_vg

from utils import Call, run_module

PVS = ['pvs', '--reportformat', 'json', '-o', 'pv_name,vg_name']
VGS = ['vgs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o',
       'vg_name,vg_size,vg_free,vg_extent_size,vg_free_count']
READING = ('pvs', 'vgs', 'blkid')


@pytest.fixture
def disks(tmp_path):
    """Stand-ins for block devices (real paths, so that the module resolves them), and a by-id link to the first."""
    paths = {}
    for name in ('sdb', 'sdc', 'sdd'):
        (tmp_path / name).write_text('')
        paths[name] = str(tmp_path / name)
    (tmp_path / 'by-id').mkdir()
    os.symlink(paths['sdb'], str(tmp_path / 'by-id' / 'disk-1'))
    paths['by-id'] = str(tmp_path / 'by-id' / 'disk-1')
    return paths


def pvs_out(**members):
    return Call(PVS, out=json.dumps({'report': [{'pv': [{'pv_name': k, 'vg_name': v} for k, v in members.items()]}]}))


def vgs_out(*names):
    return Call(VGS, out=json.dumps({'report': [{'vg': [
        {'vg_name': n, 'vg_size': '8589934592', 'vg_free': '8589934592', 'vg_extent_size': '4194304',
         'vg_free_count': '2048'} for n in names]}]}))


def blkid(*paths, **kwargs):
    return Call(['blkid', '-p', '-o', 'export'] + list(paths), rc=kwargs.get('rc', 2), out=kwargs.get('out', ''))


def run(args, calls, check_mode=False, diff=False):
    return run_module(xen_vg.main, args, calls=calls, check_mode=check_mode, diff=diff)


def test_new_group_on_a_blank_disk_named_by_id(disks):
    result, failed, seen = run(dict(name='vg_xen', pvs=[disks['by-id']]), [
        pvs_out(), vgs_out(), blkid(disks['sdb']),
        Call(['pvcreate', '--yes', disks['sdb']]), Call(['vgcreate', 'vg_xen', disks['sdb']])], diff=True)
    assert failed is False, result
    assert result['actions'] == ['create physical volume %s' % disks['sdb'],
                                 'create volume group vg_xen on %s' % disks['sdb']]
    assert result['pvs'] == [disks['sdb']] and result['changed'] is True
    assert result['diff'] == {'before': {'state': 'absent', 'pvs': []}, 'after': {'state': 'present', 'pvs': [disks['sdb']]},
                              'before_header': 'volume group vg_xen', 'after_header': 'volume group vg_xen'}


def test_check_mode_runs_only_reads(disks):
    result, failed, seen = run(dict(name='vg_xen', pvs=[disks['sdb']]), [pvs_out(), vgs_out(), blkid(disks['sdb'])],
                               check_mode=True)
    assert failed is False and result['changed'] is True
    assert seen == [PVS, VGS, ['blkid', '-p', '-o', 'export', disks['sdb']]]


def test_existing_group_is_no_change(disks):
    result, failed, seen = run(dict(name='vg_xen', pvs=[disks['by-id']]), [pvs_out(**{disks['sdb']: 'vg_xen'}),
                                                                           vgs_out('vg_xen')])
    assert (failed, result['changed'], result['actions']) == (False, False, [])
    assert seen == [PVS, VGS]


def test_new_disk_is_added_and_an_unlisted_member_stays(disks):
    result, failed, seen = run(dict(name='vg_xen', pvs=[disks['sdb'], disks['sdc']]), [
        pvs_out(**{disks['sdb']: 'vg_xen', disks['sdd']: 'vg_xen'}), vgs_out('vg_xen'), blkid(disks['sdc']),
        Call(['pvcreate', '--yes', disks['sdc']]), Call(['vgextend', 'vg_xen', disks['sdc']])])
    assert failed is False, result
    assert result['pvs'] == sorted([disks['sdb'], disks['sdc'], disks['sdd']])


def test_physical_volume_in_no_group_is_added_without_pvcreate(disks):
    result, failed, seen = run(dict(name='vg_xen', pvs=[disks['sdb']]), [
        pvs_out(**{disks['sdb']: ''}), vgs_out(), Call(['vgcreate', 'vg_xen', disks['sdb']])])
    assert failed is False, result
    assert result['actions'] == ['create volume group vg_xen on %s' % disks['sdb']]


@pytest.mark.parametrize('force', [False, True])
@pytest.mark.parametrize('check_mode', [False, True])
def test_device_of_another_group_is_refused_even_with_force(disks, force, check_mode):
    result, failed, seen = run(dict(name='vg_xen', pvs=[disks['sdb']], force=force),
                               [pvs_out(**{disks['sdb']: 'vg_other'}), vgs_out('vg_other')], check_mode=check_mode)
    assert failed is True
    assert result['msg'] == ('%s (in vg_other) already belong to another volume group; xen_vg never takes a device '
                             'from another group (vgreduce it there first)' % disks['sdb'])
    assert all(argv[0] in READING for argv in seen)


@pytest.mark.parametrize('check_mode', [False, True])
def test_device_with_data_is_refused(disks, check_mode):
    found = 'DEVNAME=%s\nUUID=1234\nTYPE=ext4\nUSAGE=filesystem\n' % disks['sdb']
    result, failed, seen = run(dict(name='vg_xen', pvs=[disks['sdb']]),
                               [pvs_out(), vgs_out(), blkid(disks['sdb'], rc=0, out=found)], check_mode=check_mode)
    assert failed is True
    assert result['msg'] == ('refusing to use devices that hold data: %s (ext4); wipe them yourself or set force: '
                             'true to overwrite them' % disks['sdb'])
    assert all(argv[0] in READING for argv in seen)


def test_device_with_data_is_overwritten_with_force(disks):
    found = 'DEVNAME=%s\nPTTYPE=dos\n' % disks['sdb']
    result, failed, seen = run(dict(name='vg_xen', pvs=[disks['sdb']], force=True), [
        pvs_out(), vgs_out(), blkid(disks['sdb'], rc=0, out=found),
        Call(['pvcreate', '--yes', disks['sdb']]), Call(['vgcreate', 'vg_xen', disks['sdb']])])
    assert failed is False, result
    assert result['actions'][0] == 'create physical volume %s (overwriting dos partition table)' % disks['sdb']


@pytest.mark.parametrize('args, message', [
    (dict(name='vg_xen', pvs=['/dev/does-not-exist']), 'device(s) /dev/does-not-exist do not exist'),
    (dict(name='vg_xen', pvs=[]), 'pvs must name at least one device'),
    (dict(name='vg xen', pvs=['/']), "volume group name 'vg xen' may only contain letters, digits and + _ . -"),
])
def test_bad_input_runs_nothing(args, message):
    result, failed, seen = run(args, [])
    assert failed is True
    assert message in result['msg']
    assert seen == []


def test_failed_command_reports_what_was_done(disks):
    result, failed, seen = run(dict(name='vg_xen', pvs=[disks['sdb']]), [
        pvs_out(), vgs_out(), blkid(disks['sdb']), Call(['pvcreate', '--yes', disks['sdb']]),
        Call(['vgcreate', 'vg_xen', disks['sdb']], rc=5, err='  Volume group "vg_xen" already exists\n')])
    assert failed is True
    assert result['actions'] == ['create physical volume %s' % disks['sdb']] and result['changed'] is True
    assert result['rc'] == 5 and 'already exists' in result['stderr']


@pytest.fixture
def mapper(tmp_path):
    """A device-mapper device as udev lays it out: the node dm-3 and the link mapper/crypt_pv -> ../dm-3."""
    (tmp_path / 'dm-3').write_text('')
    (tmp_path / 'mapper').mkdir()
    os.symlink('../dm-3', str(tmp_path / 'mapper' / 'crypt_pv'))
    return {'node': str(tmp_path / 'dm-3'), 'link': str(tmp_path / 'mapper' / 'crypt_pv')}


@pytest.mark.parametrize('named', ['link', 'node'])
def test_second_run_on_a_pv_that_lvm_names_through_device_mapper_is_no_change(mapper, named):
    # pvs names a LUKS or multipath PV /dev/mapper/NAME; the task names it either way (the module resolves to dm-N)
    result, failed, seen = run(dict(name='vg_xen', pvs=[mapper[named]]),
                               [pvs_out(**{mapper['link']: 'vg_xen'}), vgs_out('vg_xen')], diff=True)
    assert (failed, result['changed'], result['actions']) == (False, False, []), result
    assert seen == [PVS, VGS]
    assert result['pvs'] == [mapper['node']]
    assert result['diff']['before'] == result['diff']['after']


@pytest.mark.parametrize('check_mode', [False, True])
def test_pv_of_another_group_named_through_device_mapper_is_refused_even_with_force(mapper, check_mode):
    result, failed, seen = run(dict(name='vg_xen', pvs=[mapper['link']], force=True),
                               [pvs_out(**{mapper['link']: 'vg_other'}), vgs_out('vg_other')], check_mode=check_mode)
    assert failed is True
    assert result['msg'] == ('%s (in vg_other) already belong to another volume group; xen_vg never takes a device '
                             'from another group (vgreduce it there first)' % mapper['node'])
    assert seen == [PVS, VGS]


def test_one_device_named_twice_is_taken_once(mapper):
    result, failed, seen = run(dict(name='vg_xen', pvs=[mapper['link'], mapper['node']]), [
        pvs_out(), vgs_out(), blkid(mapper['node']),
        Call(['pvcreate', '--yes', mapper['node']]), Call(['vgcreate', 'vg_xen', mapper['node']])])
    assert failed is False, result
    assert result['pvs'] == [mapper['node']]


def test_block_nodes_of_one_device_are_one_device_whatever_their_names():
    # where /dev/mapper/NAME is a node of its own (not a link to dm-N), the device number says they are one device
    import stat as st
    from ansible_collections.xenops.xen.plugins.module_utils._inuse import device_identity
    from ansible_collections.xenops.xen.plugins.module_utils._vg import same_spelling

    nodes = {'/dev/mapper/crypt_pv': os.makedev(253, 3), '/dev/dm-3': os.makedev(253, 3), '/dev/sdb': os.makedev(8, 16)}

    def fake_stat(path):
        if path not in nodes:
            raise OSError(2, 'No such file or directory', path)
        return os.stat_result((st.S_IFBLK | 0o660, 0, 0, 1, 0, 6, 0, 0, 0, 0), {'st_rdev': nodes[path]})

    def identity(path):
        return device_identity(path, stat_path=fake_stat, realpath=lambda p: p)

    assert identity('/dev/mapper/crypt_pv') == identity('/dev/dm-3') == ('block', 253, 3)
    assert identity('/dev/sdb') != identity('/dev/dm-3')
    assert same_spelling(['/dev/dm-3'], {'/dev/mapper/crypt_pv': 'vg_xen', '/dev/sdb': 'vg_other', '[unknown]': 'vg_xen'},
                         identity) == {'/dev/dm-3': 'vg_xen', '/dev/sdb': 'vg_other', '[unknown]': 'vg_xen'}
