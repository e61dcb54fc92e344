# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""_volume_spec, _volume, _volume_apply: desired volumes, probes, usage, the planner and converge with a fake service."""

from __future__ import annotations

import pytest

from ansible_collections.xenops.xen.plugins.module_utils._lvm import LogicalVolume, Report, Signature, VolumeGroup
from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandError
from ansible_collections.xenops.xen.plugins.module_utils._volume import Usage, plan, probes, usage
from ansible_collections.xenops.xen.plugins.module_utils._plan import ActionFailed, failure_result
from ansible_collections.xenops.xen.plugins.module_utils._volume_apply import converge, execute
from ansible_collections.xenops.xen.plugins.module_utils._volume_spec import DesiredVolume, VolumeError, desired_volumes, name_error

GIB = 1024 ** 3
MIB = 1024 ** 2
EXTENT = 4 * MIB


def report(*lvs, **kwargs):
    free = kwargs.get('free', 1024)
    vgs = [VolumeGroup('vg_xen', 8 * GIB, free * EXTENT, EXTENT, free), VolumeGroup('vg_data', 4 * GIB, 0, EXTENT, 0)]
    return Report(vgs, [LogicalVolume('vg_xen', name, '/dev/vg_xen/%s' % name, size, attr) for name, size, attr in lvs])


def volume(name='news-root', size=None, **kwargs):
    return DesiredVolume(kwargs.pop('vg', 'vg_xen'), name, size=size, size_text=kwargs.pop('size_text', None), **kwargs)


EXT4 = Signature(type='ext4', label='news-root', uuid='u-1')
SWAP = Signature(type='swap', label='sw', uuid='u-2')
XFS = Signature(type='xfs', uuid='u-3')
IDLE = '-wi-a-----'
OPEN = '-wi-ao----'
INACTIVE = '-wi-------'


def kinds(result):
    return [(a.kind, a.name, a.size, a.fstype) for a in result.actions]


# ---------------------------------------------------------------------------
# desired_volumes

def single(**kwargs):
    params = dict(name=None, domain=None, function=None, vg=None, size=None, state='present', fstype='none',
                  label=None, force=False, volumes=None)
    params.update(kwargs)
    return params


def test_desired_single_by_name():
    [v] = desired_volumes(single(name='mail-disk', vg='vg_xen', size='20G'))
    assert (v.vg, v.name, v.size, v.size_text, v.state, v.fstype, v.label, v.force, v.path) == (
        'vg_xen', 'mail-disk', 20 * GIB, '20G', 'present', None, None, False, '/dev/vg_xen/mail-disk')


def test_desired_batch_by_domain_with_default_vg():
    vols = desired_volumes(single(vg='vg_xen', volumes=[
        dict(domain='news', function='root', size='2G', fstype='ext4', label='root'),
        dict(domain='news', function='swap', size='256M', fstype='swap', vg='vg_data'),
        dict(name='old', state='absent', force=True)]))
    assert [(v.vg, v.name, v.size, v.fstype, v.label, v.state, v.force) for v in vols] == [
        ('vg_xen', 'news-root', 2 * GIB, 'ext4', 'root', 'present', False),
        ('vg_data', 'news-swap', 256 * MIB, 'swap', None, 'present', False),
        ('vg_xen', 'old', None, None, None, 'absent', True)]


@pytest.mark.parametrize('params, message', [
    (single(name='x', size='1G'), "vg is required for volume 'x' (set it on the volume or at the top level)"),
    (single(domain='news', function='', vg='v'), "domain and function must both be set and not empty (name = domain-function), got 'news' and ''"),
    (single(name='x', vg='v', size='%FREE'), "volume 'x': size '%FREE' is a percentage"),
    (single(name='x', vg='v', label='root'), "volume 'x': label needs fstype ext4, xfs or swap"),
    (single(name='x', vg='v', fstype='xfs', label='thirteen-char'), "volume 'x': xfs labels are at most 12 bytes, 'thirteen-char' is longer"),
    (single(name='snapshot1', vg='v'), "volume name 'snapshot1' must not start with 'snapshot' (reserved by LVM)"),
    (single(vg='v', volumes=[]), 'volumes must list at least one volume'),
    (single(vg='v', volumes=[dict(name='a'), dict(name='a'), dict(name='a', vg='w')]), 'volume v/a is listed more than once'),
    (single(vg='v', volumes=[dict(name='-a', size='+1G'), dict(name='b', size='1G')]),
     "volume name '-a' must not start with -; volume '-a': size '+1G' is relative"),
])
def test_desired_errors(params, message):
    with pytest.raises(VolumeError) as exc:
        desired_volumes(params)
    assert str(exc.value).startswith(message)


@pytest.mark.parametrize('kind, name, message', [
    ('volume', 'news-root', None),
    ('volume', 'a+b_c.d-e', None),
    ('volume', '', 'volume name must not be empty'),
    ('volume', 'x' * 128, 'volume name %r is longer than 127 characters' % ('x' * 128)),
    ('volume', 'news root', "volume name 'news root' may only contain letters, digits and + _ . -"),
    ('volume', 'news/root', "volume name 'news/root' may only contain letters, digits and + _ . -"),
    ('volume', '-root', "volume name '-root' must not start with -"),
    ('volume', '.', "volume name must not be '.'"),
    ('volume', '..', "volume name must not be '..'"),
    ('volume', 'pvmove0', "volume name 'pvmove0' must not start with 'pvmove' (reserved by LVM)"),
    ('volume', 'data_tmeta', "volume name 'data_tmeta' must not contain '_tmeta' (reserved by LVM)"),
    ('volume', 'db-snapshot', None),
    ('volume group', 'snapshot', None),
    ('volume group', 'vg xen', "volume group name 'vg xen' may only contain letters, digits and + _ . -"),
])
def test_name_error(kind, name, message):
    assert name_error(kind, name) == message


# ---------------------------------------------------------------------------
# probes and usage

@pytest.mark.parametrize('desired, lvs, signatures, mounts, domains', [
    ([volume(size=GIB)], [], [], False, False),
    ([volume(size=GIB)], [('news-root', GIB, OPEN)], [], False, False),
    ([volume(size=GIB, fstype='ext4')], [('news-root', GIB, OPEN)], ['/dev/vg_xen/news-root'], False, False),
    ([volume(size=GIB, fstype='ext4')], [('news-root', GIB, INACTIVE)], [], False, False),
    ([volume(size=2 * GIB)], [('news-root', GIB, OPEN)], ['/dev/vg_xen/news-root'], True, False),
    ([volume(size=GIB // 2)], [('news-root', GIB, IDLE)], [], False, False),
    ([volume(size=GIB // 2, force=True)], [('news-root', GIB, IDLE)], ['/dev/vg_xen/news-root'], True, True),
    ([volume(state='absent')], [('news-root', GIB, IDLE)], [], True, True),
    ([volume(state='absent', force=True)], [('news-root', GIB, IDLE)], [], False, False),
    ([volume(state='absent')], [], [], False, False),
    ([volume(vg='nosuch', state='absent')], [], [], False, False),
])
def test_probes(desired, lvs, signatures, mounts, domains):
    needed = probes(report(*lvs), desired)
    assert (needed.signatures, needed.mounts, needed.domains) == (signatures, mounts, domains)


def test_usage_matches_dev_mapper_and_vg_paths():
    rep = report(('news-root', GIB, OPEN), ('news-swap', GIB, OPEN), ('web-root', GIB, IDLE))
    found = usage(rep.lvs.values(),
                  disks=[('news', '/dev/mapper/vg_xen-news--root', 'xvda'), ('news', '/dev/vg_xen/news-swap', None)],
                  mounts=[('/dev/mapper/vg_xen-web--root', '/srv/web', 'ext4'), ('tmpfs', '/run', 'tmpfs')])
    assert {key: (u.domains, u.mountpoints) for key, u in found.items()} == {
        ('vg_xen', 'news-root'): (['news (xvda)'], []),
        ('vg_xen', 'news-swap'): (['news'], []),
        ('vg_xen', 'web-root'): ([], ['/srv/web'])}
    assert found[('vg_xen', 'news-root')].reasons() == ['used by running domain news (xvda)']


# ---------------------------------------------------------------------------
# plan

def test_plan_create_with_filesystem():
    result = plan(report(), [volume(size=2 * GIB, fstype='ext4', label='root', size_text='2G')])
    assert [(a.kind, a.path, a.size, a.fstype, a.label, a.check_blank) for a in result.actions] == [
        ('create', '/dev/vg_xen/news-root', 2 * GIB, None, None, False),
        ('mkfs', '/dev/vg_xen/news-root', None, 'ext4', 'root', True)]
    assert [a.description for a in result.actions] == ['create volume vg_xen/news-root of 2 GiB',
                                                       'create ext4 filesystem on /dev/vg_xen/news-root']
    [step] = result.volumes
    assert step.diff() == dict(before={'state': 'absent'},
                               after={'state': 'present', 'size': '2 GiB', 'size_bytes': 2 * GIB, 'fstype': 'ext4'},
                               before_header='vg_xen/news-root', after_header='vg_xen/news-root')


def test_plan_create_rounds_up_and_says_so():
    result = plan(report(), [volume(size=GIB + 1, size_text='1073741825')])
    assert kinds(result) == [('create', 'news-root', GIB + EXTENT, None)]
    assert result.actions[0].description == 'create volume vg_xen/news-root of 1.00 GiB (1073741825 rounded up to whole extents)'
    assert result.volumes[0].result()['size_bytes'] == GIB + EXTENT


def test_plan_create_needs_size():
    with pytest.raises(VolumeError) as exc:
        plan(report(), [volume()])
    assert str(exc.value) == 'size is required to create volume vg_xen/news-root'


def test_plan_unknown_vg_lists_vgs():
    with pytest.raises(VolumeError) as exc:
        plan(report(), [volume(vg='vg_nosuch', size=GIB)])
    assert str(exc.value) == "volume group 'vg_nosuch' not found (volume groups: vg_data, vg_xen)"
    with pytest.raises(VolumeError) as exc:
        plan(Report([], []), [volume(size=GIB)])
    assert str(exc.value) == "volume group 'vg_xen' not found (volume groups: none)"


def test_plan_unchanged_within_one_extent():
    result = plan(report(('news-root', GIB, OPEN)), [volume(size=GIB - EXTENT + 1, fstype='ext4')],
                  signatures={'/dev/vg_xen/news-root': EXT4})
    assert (result.actions, result.changed, result.warnings) == ([], False, [])
    assert result.volumes[0].result() == dict(name='news-root', vg='vg_xen', path='/dev/vg_xen/news-root', state='present',
                                              size_bytes=GIB, fstype='ext4', changed=False, actions=[])


def test_plan_keeps_size_when_omitted():
    result = plan(report(('news-root', GIB, OPEN)), [volume()])
    assert (result.actions, result.volumes[0].result()['size_bytes']) == ([], GIB)


def test_plan_extend_grows_ext4_offline_when_not_open():
    result = plan(report(('news-root', GIB, IDLE)), [volume(size=2 * GIB)], in_use={('vg_xen', 'news-root'): Usage()},
                  signatures={'/dev/vg_xen/news-root': EXT4})
    assert [(a.kind, a.size, a.fstype, a.mountpoint) for a in result.actions] == [
        ('extend', 2 * GIB, None, None), ('growfs', None, 'ext4', None)]
    assert [a.description for a in result.actions] == ['extend volume vg_xen/news-root from 1 GiB to 2 GiB',
                                                       'grow ext4 filesystem on /dev/vg_xen/news-root']


def test_plan_extend_grows_mounted_ext4_online():
    use = Usage()
    use.mountpoints.append('/srv/news')
    result = plan(report(('news-root', GIB, OPEN)), [volume(size=2 * GIB)], in_use={('vg_xen', 'news-root'): use},
                  signatures={'/dev/vg_xen/news-root': EXT4})
    assert [(a.kind, a.mountpoint) for a in result.actions] == [('extend', None), ('growfs', '/srv/news')]
    assert result.actions[1].description == 'grow ext4 filesystem on /dev/vg_xen/news-root (mounted on /srv/news)'


def test_plan_extend_open_volume_leaves_filesystem_with_warning():
    result = plan(report(('news-root', GIB, OPEN)), [volume(size=2 * GIB)], signatures={'/dev/vg_xen/news-root': EXT4})
    assert kinds(result) == [('extend', 'news-root', 2 * GIB, None)]
    assert result.warnings == ['ext4 on /dev/vg_xen/news-root was not grown: the volume is open (in use by a running '
                               'domain?); grow it where it is used (for example resize2fs, xfs_growfs or mkswap inside '
                               'the domain)']


def test_plan_extend_xfs():
    use = Usage()
    use.mountpoints.append('/srv/data')
    mounted = plan(report(('data', GIB, OPEN)), [volume('data', size=2 * GIB)], in_use={('vg_xen', 'data'): use},
                   signatures={'/dev/vg_xen/data': XFS})
    assert [(a.kind, a.fstype, a.mountpoint, a.description) for a in mounted.actions][1] == (
        'growfs', 'xfs', '/srv/data', 'grow xfs filesystem mounted on /srv/data')
    unmounted = plan(report(('data', GIB, IDLE)), [volume('data', size=2 * GIB)], signatures={'/dev/vg_xen/data': XFS})
    assert kinds(unmounted) == [('extend', 'data', 2 * GIB, None)]
    assert unmounted.warnings == ['xfs on /dev/vg_xen/data was not grown: xfs_growfs needs the filesystem mounted; '
                                  'mount it and run xfs_growfs']


def test_plan_extend_swap_keeps_label_and_uuid():
    result = plan(report(('sw', GIB, IDLE)), [volume('sw', size=2 * GIB, fstype='swap')], signatures={'/dev/vg_xen/sw': SWAP})
    grow = result.actions[1]
    assert (grow.kind, grow.fstype, grow.label, grow.uuid, grow.description) == (
        'growfs', 'swap', 'sw', 'u-2', 'rewrite swap signature on /dev/vg_xen/sw for the new size')


def test_plan_extend_partitioned_volume_warns():
    result = plan(report(('win', GIB, IDLE)), [volume('win', size=2 * GIB)],
                  signatures={'/dev/vg_xen/win': Signature(pttype='gpt')})
    assert kinds(result) == [('extend', 'win', 2 * GIB, None)]
    assert result.warnings == ['/dev/vg_xen/win holds gpt partition table; only ext2/3/4, xfs and swap are grown, grow it yourself']


def test_plan_extend_inactive_volume_warns():
    result = plan(report(('cold', GIB, INACTIVE)), [volume('cold', size=2 * GIB)])
    assert kinds(result) == [('extend', 'cold', 2 * GIB, None)]
    assert result.warnings == ['volume vg_xen/cold is not active; any filesystem on it was not grown']


def test_plan_mkfs_on_blank_existing_volume_after_extend():
    result = plan(report(('web-root', GIB // 2, IDLE)), [volume('web-root', size=GIB, fstype='ext4')],
                  signatures={'/dev/vg_xen/web-root': None})
    assert [(a.kind, a.check_blank) for a in result.actions] == [('extend', False), ('mkfs', False)]


@pytest.mark.parametrize('lvs, desired, signature, message', [
    ([('news-root', GIB, IDLE)], volume(fstype='xfs'), EXT4,
     'volume vg_xen/news-root holds ext4, not xfs; refusing to reformat it (remove the volume or wipe it first)'),
    ([('win', GIB, IDLE)], volume('win', fstype='ext4'), Signature(pttype='dos'),
     'volume vg_xen/win holds dos partition table, not ext4; refusing to reformat it'),
    ([('raw', GIB, OPEN)], volume('raw', fstype='ext4'), None,
     'volume vg_xen/raw has no filesystem but is open (in use); refusing to create ext4 on it'),
    ([('cold', GIB, INACTIVE)], volume('cold', fstype='ext4'), None,
     'volume vg_xen/cold is not active, its filesystem cannot be checked (activate it with lvchange -ay)'),
])
def test_plan_refuses_filesystem_changes(lvs, desired, signature, message):
    with pytest.raises(VolumeError) as exc:
        plan(report(*lvs), [desired], signatures={desired.path: signature})
    assert str(exc.value).startswith(message)


def test_plan_label_mismatch_warns():
    result = plan(report(('news-root', GIB, OPEN)), [volume(fstype='ext4', label='other')],
                  signatures={'/dev/vg_xen/news-root': EXT4})
    assert result.actions == []
    assert result.warnings == ["ext4 on /dev/vg_xen/news-root has label 'news-root', not 'other'; labels are only set "
                               "when the filesystem is created"]


def test_plan_shrink_refused_without_force():
    with pytest.raises(VolumeError) as exc:
        plan(report(('news-root', 2 * GIB, IDLE)), [volume(size=GIB)])
    assert str(exc.value) == ('refusing to shrink volume vg_xen/news-root from 2 GiB to 1 GiB: data past the new end is '
                              'lost (set force: true to shrink it anyway)')


def test_plan_shrink_with_force():
    result = plan(report(('news-root', 2 * GIB, IDLE)), [volume(size=GIB, force=True)],
                  in_use={('vg_xen', 'news-root'): Usage()}, signatures={'/dev/vg_xen/news-root': EXT4})
    assert kinds(result) == [('reduce', 'news-root', GIB, None)]
    assert result.warnings == ['ext4 on /dev/vg_xen/news-root was not shrunk: it is now larger than its volume and the '
                               'data past the new end is lost']


def test_plan_shrink_never_in_use_even_with_force():
    use = Usage()
    use.domains.append('news (xvda)')
    with pytest.raises(VolumeError) as exc:
        plan(report(('news-root', 2 * GIB, OPEN)), [volume(size=GIB, force=True)], in_use={('vg_xen', 'news-root'): use})
    assert str(exc.value) == ('refusing to shrink volume vg_xen/news-root: it is used by running domain news (xvda); '
                              'a volume in use is never shrunk')


def test_plan_shrink_never_for_open_volume():
    with pytest.raises(VolumeError) as exc:
        plan(report(('news-root', 2 * GIB, OPEN)), [volume(size=GIB, force=True)],
             in_use={('vg_xen', 'news-root'): Usage()})
    assert str(exc.value) == 'refusing to shrink volume vg_xen/news-root: it is open (in use); a volume in use is never shrunk'


def test_plan_remove():
    result = plan(report(('old', GIB, IDLE)), [volume('old', state='absent')], in_use={('vg_xen', 'old'): Usage()})
    assert [(a.kind, a.path, a.description) for a in result.actions] == [
        ('remove', '/dev/vg_xen/old', 'remove volume vg_xen/old (1 GiB)')]
    assert result.volumes[0].diff()['after'] == {'state': 'absent'}
    assert result.volumes[0].result()['size_bytes'] is None


def test_plan_remove_refused_when_used_unless_forced():
    use = Usage()
    use.domains.append('news (xvda)')
    use.mountpoints.append('/mnt')
    rep = report(('news-root', GIB, OPEN))
    with pytest.raises(VolumeError) as exc:
        plan(rep, [volume(state='absent')], in_use={('vg_xen', 'news-root'): use})
    assert str(exc.value) == ('refusing to remove volume vg_xen/news-root: it is used by running domain news (xvda), '
                              'mounted on /mnt (set force: true to remove it anyway)')
    assert kinds(plan(rep, [volume(state='absent', force=True)])) == [('remove', 'news-root', None, None)]


def test_plan_absent_when_absent():
    result = plan(report(), [volume(state='absent')])
    assert (result.actions, result.changed) == ([], False)


def test_plan_free_space_for_whole_batch():
    rep = report(('a', GIB, IDLE), free=512)  # 2 GiB free
    ok = plan(rep, [volume('a', size=2 * GIB), volume('b', size=GIB)])
    assert kinds(ok) == [('extend', 'a', 2 * GIB, None), ('create', 'b', GIB, None)]
    with pytest.raises(VolumeError) as exc:
        plan(rep, [volume('a', size=2 * GIB), volume('b', size=GIB + 1)])
    assert str(exc.value) == ('not enough free space in volume group vg_xen: the volumes need 2.00 GiB (513 extents), '
                              '2 GiB (512 extents) is free')


def test_plan_collects_all_errors():
    with pytest.raises(VolumeError) as exc:
        plan(report(('a', 2 * GIB, IDLE)), [volume('a', size=GIB), volume('b'), volume('c', vg='vg_data', size=GIB)])
    assert str(exc.value) == ('refusing to shrink volume vg_xen/a from 2 GiB to 1 GiB: data past the new end is lost '
                              '(set force: true to shrink it anyway); size is required to create volume vg_xen/b; '
                              'not enough free space in volume group vg_data: the volumes need 1 GiB (256 extents), '
                              '0 B (0 extents) is free')


# ---------------------------------------------------------------------------
# execute / converge with a fake service

class FakeLvm(object):
    def __init__(self, rep, signatures=None, disks=(), mounts=(), fail_on=None):
        self.rep = rep
        self.known = dict(signatures or {})
        self.disks = list(disks)
        self.mount_list = list(mounts)
        self.fail_on = fail_on
        self.calls = []

    def _call(self, *args):
        self.calls.append(args)
        if args[0] == self.fail_on:
            raise CommandError([args[0]], 5, '', 'failed')

    def report(self, vgs=None):
        self._call('report', vgs)
        return self.rep

    def signature(self, path):
        self._call('signature', path)
        return self.known.get(path)

    def signatures(self, paths):
        self._call('signatures', paths)
        return dict((path, self.known.get(path)) for path in paths)

    def domain_disks(self):
        self._call('domain_disks')
        return self.disks

    def mounts(self):
        self._call('mounts')
        return self.mount_list

    def create(self, vg, name, size):
        self._call('create', vg, name, size)

    def mkfs(self, path, fstype, label=None):
        self._call('mkfs', path, fstype, label)

    def extend(self, path, size):
        self._call('extend', path, size)

    def reduce(self, path, size):
        self._call('reduce', path, size)

    def remove(self, path):
        self._call('remove', path)

    def grow_ext(self, path, mounted):
        self._call('grow_ext', path, mounted)

    def grow_xfs(self, mountpoint):
        self._call('grow_xfs', mountpoint)

    def grow_swap(self, path, label=None, uuid=None):
        self._call('grow_swap', path, label, uuid)


def test_execute_refuses_mkfs_when_new_volume_has_a_signature():
    result = plan(report(), [volume(size=GIB, fstype='ext4')])
    lvm = FakeLvm(None, signatures={'/dev/vg_xen/news-root': EXT4})
    execute(lvm, result.actions[0])
    with pytest.raises(VolumeError) as exc:
        execute(lvm, result.actions[1])
    assert str(exc.value) == 'new volume /dev/vg_xen/news-root already carries ext4; not creating ext4 on it'
    assert lvm.calls == [('create', 'vg_xen', 'news-root', GIB), ('signature', '/dev/vg_xen/news-root')]


def test_converge_check_mode_only_reads():
    lvm = FakeLvm(report(('news-root', GIB, IDLE)), signatures={'/dev/vg_xen/news-root': EXT4})
    result = converge(lvm, [volume(size=2 * GIB, fstype='ext4'), volume('new', size=GIB, fstype='swap')], check_mode=True,
                      diff=True)
    assert lvm.calls == [('report', ['vg_xen']), ('signatures', ['/dev/vg_xen/news-root']), ('mounts',)]
    assert result['actions'] == ['extend volume vg_xen/news-root from 1 GiB to 2 GiB',
                                 'grow ext4 filesystem on /dev/vg_xen/news-root',
                                 'create volume vg_xen/new of 1 GiB', 'create swap area on /dev/vg_xen/new']
    assert [d['before_header'] for d in result['diff']] == ['vg_xen/news-root', 'vg_xen/new']
    assert result['changed'] is True


def test_converge_reports_what_was_done_before_a_failure():
    lvm = FakeLvm(report(), fail_on='mkfs')
    with pytest.raises(ActionFailed) as exc:
        converge(lvm, [volume(size=GIB, fstype='ext4')])
    assert failure_result(exc.value) == dict(msg="command 'mkfs' failed with rc=5: failed", cmd=['mkfs'], rc=5, stdout='',
                                             stderr='failed', changed=True,
                                             actions=['create volume vg_xen/news-root of 1 GiB'])


def test_converge_remove_checks_domains_and_mounts():
    lvm = FakeLvm(report(('news-root', GIB, OPEN)), disks=[('news', '/dev/vg_xen/news-root', 'xvda')])
    with pytest.raises(VolumeError) as exc:
        converge(lvm, [volume(state='absent')])
    assert str(exc.value).startswith('refusing to remove volume vg_xen/news-root: it is used by running domain news (xvda)')
    assert lvm.calls == [('report', ['vg_xen']), ('domain_disks',), ('mounts',)]
