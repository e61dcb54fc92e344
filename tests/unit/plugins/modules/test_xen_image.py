# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""xen_image scenarios: real files under tmp_path, the exact commands, check mode, refusals, bad inputs."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.xenops.xen.plugins.module_utils._lvm import Lvm
from ansible_collections.xenops.xen.plugins.modules import xen_image

from utils import Call, run_module

MIB = 1024 ** 2
LOSETUP = ['losetup', '--list', '--noheadings', '--raw', '--output', 'NAME,BACK-FILE']
XL_LIST_LONG = ['xl', 'list', '-l']
READING = ('blkid', 'losetup', 'xl')

# blkid -p -o export of a 64 MiB image after mkfs.ext4 -q -L web-root (util-linux 2.38.1), and of a swap image.
EXT4 = ('LABEL=web-root\nUUID=e85895d1-d837-4332-ae95-5eb807bb31b8\nVERSION=1.0\nBLOCK_SIZE=1024\nTYPE=ext4\n'
        'USAGE=filesystem\n')
SWAP = 'LABEL=web-swap\nUUID=0007d660-5003-4ed5-a433-f23745b13e6f\nVERSION=1\nTYPE=swap\nUSAGE=other\n'
XFS = 'UUID=3c1b9e0e-6a0f-4f43-9c57-0d1c8b5c2a11\nBLOCK_SIZE=512\nTYPE=xfs\nUSAGE=filesystem\n'


@pytest.fixture
def image(tmp_path):
    return str(tmp_path / 'images' / 'web-root.img')


def make_image(path, size=64 * MIB, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as handle:
        handle.truncate(size)
    os.chmod(path, mode)
    return path


def blkid(path, fields=None):
    """``blkid -p -o export PATH``: rc 0 with the fields, or rc 2 (nothing found)."""
    if fields is None:
        return Call(['blkid', '-p', '-o', 'export', path], rc=2)
    return Call(['blkid', '-p', '-o', 'export', path], out='DEVNAME=%s\n%s' % (path, fields))


def losetup(*loops):
    return Call(LOSETUP, out=''.join('%s %s\n' % (name, back.replace(' ', '\\x20')) for name, back in loops))


def xl_list_long(*domains):
    data = [{'domid': i + 1, 'config': {'c_info': {'name': name},
                                        'disks': [{'pdev_path': path, 'vdev': 'xvd%s' % chr(97 + j), 'readwrite': 1}
                                                  for j, path in enumerate(paths)]}}
            for i, (name, paths) in enumerate(domains)]
    return Call(XL_LIST_LONG, out=json.dumps(data, indent=4) if data else '[\n]\n')


def idle():
    """The usage probes of an image nobody uses."""
    return [losetup(), xl_list_long()]


def run(args, calls, check_mode=False, diff=False):
    return run_module(xen_image.main, args, calls=calls, check_mode=check_mode, diff=diff)


def file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# ---------------------------------------------------------------------------
# create

def test_create_with_ext4_and_label(image):
    os.makedirs(os.path.dirname(image))
    result, failed, seen = run(dict(path=image, size='64M', fstype='ext4', label='web-root'), [
        Call(['mkfs.ext4', '-q', '-L', 'web-root', image + '.part'])], diff=True)
    assert failed is False, result
    assert seen == [['mkfs.ext4', '-q', '-L', 'web-root', image + '.part']]
    assert result['changed'] is True and result['size_bytes'] == 64 * MIB and result['fstype'] == 'ext4'
    assert result['actions'] == ['create sparse file %s.part of 64 MiB (mode 0600)' % image,
                                 'create ext4 filesystem on %s.part' % image,
                                 'rename %s.part to %s' % (image, image)]
    assert os.path.getsize(image) == 64 * MIB and file_mode(image) == 0o600
    assert os.stat(image).st_blocks == 0, 'the image must be sparse'
    assert not os.path.exists(image + '.part')
    assert result['diff'] == {
        'before': {'state': 'absent'},
        'after': {'state': 'present', 'size': '64 MiB', 'size_bytes': 64 * MIB, 'fstype': 'ext4', 'mode': '0600'},
        'before_header': image, 'after_header': image}


@pytest.mark.parametrize('fstype, argv', [
    ('xfs', ['mkfs.xfs', '-q']), ('swap', ['mkswap']), ('none', None)])
def test_create_other_filesystems(image, fstype, argv):
    os.makedirs(os.path.dirname(image))
    calls = [Call(argv + [image + '.part'])] if argv else []
    result, failed, seen = run(dict(path=image, size=1073741824, fstype=fstype), calls)
    assert failed is False, result
    assert os.path.getsize(image) == 1024 * MIB


def test_create_mode_and_umask(image):
    os.makedirs(os.path.dirname(image))
    old = os.umask(0o077)
    try:
        result, failed, seen = run(dict(path=image, size='1M', mode='0640'), [])
    finally:
        os.umask(old)
    assert failed is False, result
    assert file_mode(image) == 0o640


def test_create_check_mode_runs_nothing_and_writes_nothing(image):
    os.makedirs(os.path.dirname(image))
    result, failed, seen = run(dict(path=image, size='64M', fstype='ext4', label='web-root'), [], check_mode=True,
                               diff=True)
    assert failed is False and result['changed'] is True
    assert seen == []
    assert os.listdir(os.path.dirname(image)) == []
    assert result['diff']['after']['size_bytes'] == 64 * MIB


def test_create_removes_a_stale_part(image):
    make_image(image + '.part', size=3 * MIB, mode=0o644)
    result, failed, seen = run(dict(path=image, size='64M', fstype='ext4'), [
        Call(['mkfs.ext4', '-q', image + '.part'])])
    assert failed is False, result
    assert os.path.getsize(image) == 64 * MIB and not os.path.exists(image + '.part')


def test_failed_mkfs_leaves_only_the_part_and_reports_what_was_done(image):
    os.makedirs(os.path.dirname(image))
    result, failed, seen = run(dict(path=image, size='64M', fstype='ext4'), [
        Call(['mkfs.ext4', '-q', image + '.part'], rc=1, err='mkfs.ext4: No space left on device\n')])
    assert failed is True
    assert result['changed'] is True and result['actions'] == ['create sparse file %s.part of 64 MiB (mode 0600)' % image]
    assert result['rc'] == 1 and 'No space left' in result['stderr']
    assert not os.path.exists(image) and os.path.exists(image + '.part')


# ---------------------------------------------------------------------------
# existing image

def test_second_run_is_no_change_and_reads_only_blkid(image):
    make_image(image)
    result, failed, seen = run(dict(path=image, size='64M', fstype='ext4', label='web-root'), [blkid(image, EXT4)],
                               diff=True)
    assert (failed, result['changed'], result['actions']) == (False, False, [])
    assert seen == [['blkid', '-p', '-o', 'export', image]]
    assert result['diff']['before'] == result['diff']['after']


def test_second_run_without_fstype_reads_nothing(image):
    make_image(image)
    result, failed, seen = run(dict(path=image, size='64M'), [])
    assert (failed, result['changed'], seen) == (False, False, [])


def test_mode_is_set(image):
    make_image(image, mode=0o644)
    result, failed, seen = run(dict(path=image, size='64M'), [])
    assert failed is False and result['changed'] is True
    assert result['actions'] == ['set mode of %s to 0600 (was 0644)' % image]
    assert file_mode(image) == 0o600


def test_mode_in_check_mode_is_not_set(image):
    make_image(image, mode=0o644)
    result, failed, seen = run(dict(path=image), [], check_mode=True)
    assert failed is False and result['changed'] is True
    assert file_mode(image) == 0o644


def test_grow_ext4_offline(image):
    make_image(image)
    result, failed, seen = run(dict(path=image, size='96M', fstype='ext4'), [blkid(image, EXT4)] + idle() + [
        Call(['e2fsck', '-f', '-p', image], out='web-root: 11/16384 files (0.0% non-contiguous), 9513/65536 blocks\n'),
        Call(['resize2fs', image], err='resize2fs 1.47.0 (5-Feb-2023)\n')], diff=True)
    assert failed is False, result
    assert result['actions'] == ['grow image %s from 64 MiB to 96 MiB' % image, 'grow ext4 filesystem on %s' % image]
    assert os.path.getsize(image) == 96 * MIB and result['size_bytes'] == 96 * MIB
    assert result['diff']['before']['size_bytes'] == 64 * MIB and result['diff']['after']['fstype'] == 'ext4'


def test_grow_check_mode_reads_only(image):
    make_image(image)
    result, failed, seen = run(dict(path=image, size='96M'), [blkid(image, EXT4)] + idle(), check_mode=True)
    assert failed is False and result['changed'] is True
    assert all(argv[0] in READING for argv in seen)
    assert os.path.getsize(image) == 64 * MIB


def test_grow_swap_keeps_label_and_uuid(image):
    make_image(image)
    result, failed, seen = run(dict(path=image, size='128M'), [blkid(image, SWAP)] + idle() + [
        Call(['mkswap', '-L', 'web-swap', '-U', '0007d660-5003-4ed5-a433-f23745b13e6f', image])])
    assert failed is False, result
    assert result['actions'][-1] == 'rewrite swap signature on %s for the new size' % image


def test_grow_xfs_warns(image, warnings):
    make_image(image)
    result, failed, seen = run(dict(path=image, size='128M', fstype='xfs'), [blkid(image, XFS)] + idle())
    assert failed is False and result['actions'] == ['grow image %s from 64 MiB to 128 MiB' % image]
    assert os.path.getsize(image) == 128 * MIB
    assert warnings and 'xfs_growfs needs the filesystem mounted' in warnings[0]


@pytest.mark.parametrize('check_mode', [False, True])
def test_grow_refused_while_attached_to_a_loop_device(image, proc_mounts, check_mode):
    make_image(image)
    proc_mounts.write_text('/dev/loop3 /mnt/web ext4 rw,relatime 0 0\n')
    result, failed, seen = run(dict(path=image, size='96M', fstype='ext4'), [
        blkid(image, EXT4), losetup(('/dev/loop0', '/srv/other.img'), ('/dev/loop3', image)), xl_list_long()],
        check_mode=check_mode)
    assert failed is True
    assert result['msg'] == ('refusing to grow image %s from 64 MiB to 96 MiB: it is attached to loop device '
                             '/dev/loop3 (mounted on /mnt/web); an image in use is never resized' % image)
    assert all(argv[0] in READING for argv in seen)
    assert os.path.getsize(image) == 64 * MIB


def test_image_path_with_a_space_matches_its_loop_device(tmp_path):
    image = make_image(str(tmp_path / 'my images' / 'web root.img'))
    result, failed, seen = run(dict(path=image, size='96M'),
                               [blkid(image), losetup(('/dev/loop1', image)), xl_list_long()])
    assert failed is True and 'attached to loop device /dev/loop1' in result['msg']


@pytest.mark.parametrize('fstype', ['ext4', 'none'])
def test_shrink_refused_without_force(image, fstype):
    make_image(image)
    reads = [blkid(image, EXT4)] if fstype != 'none' else []
    result, failed, seen = run(dict(path=image, size='32M', fstype=fstype), reads)
    assert failed is True
    assert result['msg'] == ('refusing to shrink image %s from 64 MiB to 32 MiB: data past the new end is lost (set '
                             'force: true to shrink it anyway)' % image)
    assert all(argv[0] == 'blkid' for argv in seen)
    assert os.path.getsize(image) == 64 * MIB


def test_shrink_with_force(image, warnings):
    make_image(image)
    result, failed, seen = run(dict(path=image, size='32M', force=True), [blkid(image, EXT4)] + idle())
    assert failed is False, result
    assert result['actions'] == ['shrink image %s from 64 MiB to 32 MiB' % image]
    assert os.path.getsize(image) == 32 * MIB
    assert warnings == ['ext4 on %s was not shrunk: it is now larger than its image and the data past the new end is '
                        'lost' % image]


def test_shrink_with_force_refused_while_a_running_domain_uses_it(image):
    make_image(image)
    result, failed, seen = run(dict(path=image, size='32M', force=True), [
        blkid(image), losetup(), xl_list_long(('web', [image]))])
    assert failed is True
    assert result['msg'] == ('refusing to shrink image %s: it is used by running domain web (xvda); an image in use '
                             'is never shrunk' % image)
    assert os.path.getsize(image) == 64 * MIB


@pytest.mark.parametrize('check_mode', [False, True])
def test_refuse_to_reformat(image, check_mode):
    make_image(image)
    result, failed, seen = run(dict(path=image, fstype='xfs'), [blkid(image, EXT4)], check_mode=check_mode)
    assert failed is True
    assert result['msg'] == ('image %s holds ext4, not xfs; refusing to reformat it (remove the image or wipe it '
                             'first)' % image)
    assert seen == [['blkid', '-p', '-o', 'export', image]]


def test_blank_image_gets_its_filesystem(image):
    make_image(image)
    result, failed, seen = run(dict(path=image, fstype='ext4', label='web-root'), [blkid(image)] + idle() + [
        Call(['mkfs.ext4', '-q', '-L', 'web-root', image])])
    assert failed is False and result['actions'] == ['create ext4 filesystem on %s' % image]


def test_blank_image_in_use_gets_no_filesystem(image):
    make_image(image)
    result, failed, seen = run(dict(path=image, fstype='ext4'), [blkid(image), losetup(),
                                                                 xl_list_long(('web', ['/srv/x.img', image]))])
    assert failed is True
    assert result['msg'] == ('image %s has no filesystem but is used by running domain web (xvdb); refusing to '
                             'create ext4 on it' % image)


def test_other_label_warns(image, warnings):
    make_image(image)
    result, failed, seen = run(dict(path=image, fstype='ext4', label='other'), [blkid(image, EXT4)])
    assert failed is False and result['changed'] is False
    assert warnings == ["ext4 on %s has label 'web-root', not 'other'; labels are only set when the filesystem is "
                        "created" % image]


def test_not_a_regular_file_is_refused(tmp_path):
    result, failed, seen = run(dict(path=str(tmp_path), state='absent'), [])
    assert failed is True and 'is not a regular file' in result['msg'] and seen == []


# ---------------------------------------------------------------------------
# absent

def test_remove(image):
    make_image(image)
    result, failed, seen = run(dict(path=image, state='absent'), idle(), diff=True)
    assert failed is False, result
    assert result['actions'] == ['remove image %s (64 MiB)' % image]
    assert not os.path.exists(image)
    assert result['diff']['after'] == {'state': 'absent'} and result['size_bytes'] is None


def test_remove_check_mode_keeps_the_file(image):
    make_image(image)
    result, failed, seen = run(dict(path=image, state='absent'), idle(), check_mode=True)
    assert failed is False and result['changed'] is True and os.path.exists(image)


def test_remove_missing_is_no_change(image):
    result, failed, seen = run(dict(path=image, state='absent'), [])
    assert (failed, result['changed'], seen) == (False, False, [])


@pytest.mark.parametrize('check_mode', [False, True])
def test_remove_refused_while_a_running_domain_uses_it(image, check_mode):
    make_image(image)
    link = image + '.link'
    os.symlink(image, link)
    result, failed, seen = run(dict(path=image, state='absent'), [losetup(), xl_list_long(('web', [link]))],
                               check_mode=check_mode)
    assert failed is True
    assert result['msg'] == ('refusing to remove image %s: it is used by running domain web (xvda) (set force: true to '
                             'remove it anyway)' % image)
    assert os.path.exists(image)


def test_remove_with_force_reads_nothing(image):
    make_image(image)
    result, failed, seen = run(dict(path=image, state='absent', force=True), [])
    assert failed is False and seen == [] and not os.path.exists(image)


def test_remove_without_xl_installed(image, monkeypatch):
    make_image(image)
    monkeypatch.setattr(Lvm, 'xl_installed', lambda self: False)
    result, failed, seen = run(dict(path=image, state='absent'), [losetup()])
    assert failed is False and not os.path.exists(image)


# ---------------------------------------------------------------------------
# bad input

@pytest.mark.parametrize('args, message', [
    (dict(path='images/web.img', size='1G'), "path must be an absolute path, got 'images/web.img'"),
    (dict(path='/srv/images/', size='1G'), "path '/srv/images/' must name a file, not a directory"),
    (dict(size=0), 'size must be greater than zero, got 0'),
    (dict(size='0'), "size must be greater than zero, got '0'"),
    (dict(size='4GB'), "size '4GB': unit 'GB' is ambiguous; sizes are binary like LVM, write G or GiB"),
    (dict(size='+1G'), "size '+1G' is relative"),
    (dict(size='1G', label='root'), 'label needs fstype ext4, xfs or swap'),
    (dict(size='1G', fstype='xfs', label='a-much-too-long'), "xfs labels are at most 12 bytes, 'a-much-too-long' is "
                                                             "longer"),
    (dict(size='1G', mode='u=rw'), "mode 'u=rw' is not an octal file mode such as 0600"),
    (dict(size='1G', mode='0800'), "mode '0800' is not an octal file mode"),
    (dict(), 'size is required to create image'),
    (dict(size='1G', fstype='btrfs'), 'value of fstype must be one of: ext4, xfs, swap, none, got: btrfs'),
])
@pytest.mark.parametrize('check_mode', [False, True])
def test_bad_input_runs_nothing(tmp_path, args, message, check_mode):
    args = dict(dict(path=str(tmp_path / 'web.img'), fstype='none'), **args)
    result, failed, seen = run(args, [], check_mode=check_mode)
    assert failed is True
    assert message in result['msg']
    assert seen == []
    assert os.listdir(str(tmp_path)) == ['mounts']


def test_missing_directory_is_refused(tmp_path):
    image = str(tmp_path / 'images' / 'web.img')
    result, failed, seen = run(dict(path=image, size='1G', fstype='ext4'), [])
    assert failed is True and seen == []
    assert result['msg'] == 'directory %s of image %s does not exist; create it first' % (os.path.dirname(image), image)
    assert not os.path.exists(os.path.dirname(image))


def test_missing_directory_in_check_mode_predicts_the_image(tmp_path, warnings):
    image = str(tmp_path / 'images' / 'web.img')
    result, failed, seen = run(dict(path=image, size='1G', fstype='ext4'), [], check_mode=True)
    assert failed is False and result['changed'] is True and seen == []
    assert warnings == ['directory %s of image %s does not exist (yet); check mode reports the image as created'
                        % (os.path.dirname(image), image)]
    assert not os.path.exists(os.path.dirname(image))


def test_every_problem_is_named(tmp_path):
    result, failed, seen = run(dict(path='web.img', size='4GB', label='x', mode='rw'), [])
    assert failed is True
    for part in ("path must be an absolute path, got 'web.img'", "unit 'GB' is ambiguous", 'label needs fstype',
                 "mode 'rw' is not an octal file mode"):
        assert part in result['msg']
