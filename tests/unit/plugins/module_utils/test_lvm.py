# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""_lvm: parsers on LVM/blkid output, sizes, path matching, the Lvm service argv."""

from __future__ import annotations

import json

import pytest

import labdata

from ansible_collections.xenops.xen.plugins.module_utils import _inuse
from ansible_collections.xenops.xen.plugins.module_utils._lvm import (
    LVS_ARGV, VGS_ARGV, Lvm, LvmParseError, LogicalVolume, parse_blkid_export, parse_blkid_export_devices, parse_lvs,
    parse_vgs)
from ansible_collections.xenops.xen.plugins.module_utils._inuse import domain_disks, lv_keys, parse_mounts, path_keys, split_dm_name
from ansible_collections.xenops.xen.plugins.module_utils._size import SizeError, format_size, parse_size, round_up_to_extents
from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandError, CommandResult
from ansible_collections.xenops.xen.plugins.module_utils._xl import parse_list_long

# Real output captured from the Xen lab (see fixtures/lab/README.md).

GIB = 1024 ** 3
MIB = 1024 ** 2


lab = labdata.text


def lab_result(name):
    """``(rc, stdout, stderr)`` of a captured command (``NAME.json``)."""
    data = labdata.run(name)
    return data['rc'], data['stdout'], data['stderr']


# ---------------------------------------------------------------------------
# lvs / vgs

def test_parse_lvs_lab():
    lvs = parse_lvs(lab('lvs.json'))
    assert [(lv.vg, lv.name, lv.path, lv.size, lv.attr) for lv in lvs] == [
        ('vg_xen', 'news-root', '/dev/vg_xen/news-root', 1073741824, '-wi-ao----'),
        ('vg_xen', 'news-swap', '/dev/vg_xen/news-swap', 268435456, '-wi-ao----'),
        ('vg_xen', 'web-root', '/dev/vg_xen/web-root', 536870912, '-wi-ao----'),
    ]
    assert [(lv.active, lv.open) for lv in lvs] == [(True, True)] * 3


def test_parse_vgs_lab():
    vgs = parse_vgs(lab('vgs.json'))
    assert [(vg.name, vg.size, vg.free, vg.extent_size, vg.free_count) for vg in vgs] == [
        ('vg_xen', 8585740288, 6706692096, 4194304, 1599)]


def test_parse_lvs_accepts_decoded_object_and_several_report_sections():
    data = {'report': [{'lv': [{'vg_name': 'a', 'lv_name': 'x', 'lv_path': '', 'lv_size': '4194304', 'lv_attr': '-wi-------'}]},
                       {'lv': [{'vg_name': 'b', 'lv_name': 'y', 'lv_path': '/dev/b/y', 'lv_size': '8388608', 'lv_attr': '-wi-a-----'}]}]}
    lvs = parse_lvs(data)
    assert [(lv.vg, lv.name, lv.path, lv.size) for lv in lvs] == [('a', 'x', '/dev/a/x', 4194304), ('b', 'y', '/dev/b/y', 8388608)]
    assert [(lv.active, lv.open) for lv in lvs] == [(False, False), (True, False)]


def test_parse_empty_reports():
    assert parse_lvs('{"report": [{"lv": []}]}') == []
    assert parse_vgs('{"report": [{"vg": []}]}') == []


@pytest.mark.parametrize('text, message', [
    ('not json', 'lvs printed output that is not JSON'),
    ('{"lv": []}', 'lvs output has no "report" list'),
    ('{"report": [{"lv": [{"vg_name": "v", "lv_name": "l", "lv_size": "1.00g", "lv_attr": ""}]}]}',
     "lvs: field lv_size is not a whole number of bytes: '1.00g' (run with --units b --nosuffix)"),
])
def test_parse_lvs_errors(text, message):
    with pytest.raises(LvmParseError) as exc:
        parse_lvs(text)
    assert str(exc.value).startswith(message)


def test_lv_attr_flags_on_short_attr():
    lv = LogicalVolume('vg', 'lv', '', 1, '')
    assert (lv.active, lv.open, lv.path) == (False, False, '/dev/vg/lv')


# ---------------------------------------------------------------------------
# Sizes

@pytest.mark.parametrize('value, expected', [
    ('512M', 512 * MIB),
    ('512m', 512 * MIB),
    ('1G', GIB),
    ('1g', GIB),
    ('1.5g', 3 * GIB // 2),
    ('10GiB', 10 * GIB),
    ('10gib', 10 * GIB),
    ('2048m', 2 * GIB),
    ('1T', 1024 * GIB),
    ('1073741824', GIB),
    (1073741824, GIB),
    ('4096B', 4096),
    ('4096b', 4096),
    ('64K', 65536),
    ('64KiB', 65536),
    (' 2 G ', 2 * GIB),
    ('1P', 1024 ** 5),
    ('0.1k', 103),  # 102.4 bytes rounded up to a whole byte
])
def test_parse_size(value, expected):
    assert parse_size(value) == expected


@pytest.mark.parametrize('value, message', [
    ('100%FREE', "size '100%FREE' is a percentage (%FREE, %VG...); only absolute sizes such as 10G are supported"),
    ('50%VG', "size '50%VG' is a percentage"),
    ('+1G', "size '+1G' is relative; give the absolute size the volume should have, such as 10G"),
    ('-1G', "size '-1G' is relative"),
    ('0', "size must be greater than zero, got '0'"),
    ('0G', "size must be greater than zero, got '0G'"),
    (0, 'size must be greater than zero, got 0'),
    (-5, 'size must be greater than zero, got -5'),
    ('', 'size must not be empty'),
    ('10GB', "size '10GB': unit 'GB' is ambiguous; sizes are binary like LVM, write G or GiB"),
    ('10X', "size '10X' has an unknown unit 'X'; use B, K, M, G, T or P"),
    ('10BiB', "size '10BiB' has an unknown unit 'BiB'"),
    ('1,5G', "size '1,5G' is not a number followed by an optional unit"),
    ('G', "size 'G' is not a number followed by an optional unit"),
    ('1e3', "size '1e3' is not a number followed by an optional unit"),
    (True, 'size must be a number of bytes or a string such as 10G, got True'),
    (1.5, 'size must be a number of bytes or a string such as 10G, got 1.5'),
])
def test_parse_size_refused(value, message):
    with pytest.raises(SizeError) as exc:
        parse_size(value)
    assert str(exc.value).startswith(message)


@pytest.mark.parametrize('size, extent, expected', [
    (GIB, 4 * MIB, GIB),
    (GIB + 1, 4 * MIB, GIB + 4 * MIB),
    (1, 4 * MIB, 4 * MIB),
    (3 * GIB // 2, 4 * MIB, 3 * GIB // 2),
    (100 * MIB, 32 * MIB, 128 * MIB),
])
def test_round_up_to_extents(size, extent, expected):
    assert round_up_to_extents(size, extent) == expected


def test_round_up_to_extents_refuses_zero_extent():
    with pytest.raises(ValueError):
        round_up_to_extents(GIB, 0)


@pytest.mark.parametrize('size, text', [
    (2 * GIB, '2 GiB'), (3 * GIB // 2, '1.50 GiB'), (256 * MIB, '256 MiB'), (4096, '4 KiB'), (100, '100 B'),
    (1024 * GIB, '1 TiB'), (None, None),
])
def test_format_size(size, text):
    assert format_size(size) == text


# ---------------------------------------------------------------------------
# blkid

def test_parse_blkid_lab_ext4():
    sig = parse_blkid_export(lab('blkid_news-root.txt'))
    assert (sig.type, sig.label, sig.uuid, sig.pttype, sig.kind) == (
        'ext4', 'news-root', '6e612457-162b-4559-bcca-0dc4702b9944', None, 'ext4')


def test_parse_blkid_lab_swap():
    sig = parse_blkid_export(lab('blkid_news-swap.txt'))
    assert (sig.type, sig.label, sig.uuid) == ('swap', 'news-swap', '75ec522f-e1cb-4096-9b17-5b86769d13fe')


def test_signature_lab_captures():
    runner = FakeRunner([lab_result('blkid_news-root'), lab_result('blkid_web-root')])
    lvm = Lvm(runner)
    assert lvm.signature('/dev/vg_xen/news-root').type == 'ext4'
    assert lvm.signature('/dev/vg_xen/web-root') is None
    assert runner.calls == [json.loads(lab('blkid_news-root.json'))['argv'], json.loads(lab('blkid_web-root.json'))['argv']]


def test_parse_blkid_escaped_label_and_partition_table():
    sig = parse_blkid_export('LABEL=my\\ data\nTYPE=xfs\n')
    assert (sig.type, sig.label) == ('xfs', 'my data')
    table = parse_blkid_export('DEVNAME=/dev/vg_xen/win\nPTUUID=1234abcd\nPTTYPE=dos\n')
    assert (table.type, table.pttype, table.kind) == (None, 'dos', 'dos partition table')


def test_parse_blkid_nothing():
    assert parse_blkid_export('') is None
    assert parse_blkid_export('DEVNAME=/dev/vg_xen/web-root\n') is None


# ---------------------------------------------------------------------------
# Path matching

@pytest.mark.parametrize('name, expected', [
    ('vg_xen-news--root', ('vg_xen', 'news-root')),
    ('vg--data-lv', ('vg-data', 'lv')),
    ('vg-lv', ('vg', 'lv')),
    ('a--b--c-d--e', ('a-b-c', 'd-e')),
    ('noseparator', None),
    ('only--doubled', None),
    ('-lv', None),
    ('vg-', None),
])
def test_split_dm_name(name, expected):
    assert split_dm_name(name) == expected


def _no_files(path):
    return False


def test_path_keys_without_files():
    assert path_keys('/dev/vg_xen/news-root', exists=_no_files) == {('lv', 'vg_xen', 'news-root')}
    assert path_keys('/dev/mapper/vg_xen-news--root', exists=_no_files) == {('lv', 'vg_xen', 'news-root')}
    assert path_keys('/dev//vg_xen/./news-root', exists=_no_files) == {('lv', 'vg_xen', 'news-root')}
    assert path_keys('/srv/images/news.img', exists=_no_files) == set()
    assert path_keys('', exists=_no_files) == set()


def test_path_keys_resolves_symlinks():
    links = {'/dev/disk/by-id/dm-name-vg_xen-news--root': '/dev/dm-3', '/dev/vg_xen/news-root': '/dev/dm-3'}
    keys = path_keys('/dev/disk/by-id/dm-name-vg_xen-news--root', exists=links.__contains__, realpath=links.get)
    assert keys == {('dev', '/dev/dm-3')}
    lv = LogicalVolume('vg_xen', 'news-root', '/dev/vg_xen/news-root', GIB, '-wi-ao----')
    assert lv_keys(lv, exists=links.__contains__, realpath=links.get) == {('lv', 'vg_xen', 'news-root'), ('dev', '/dev/dm-3')}


def test_path_keys_real_symlink(tmp_path):
    target = tmp_path / 'dm-7'
    target.write_text('')
    link = tmp_path / 'by-name'
    link.symlink_to(target)
    assert path_keys(str(link)) == {('dev', str(target))}


# ---------------------------------------------------------------------------
# /proc/mounts

def test_parse_mounts():
    text = ('/dev/mapper/vg_xen-news--root /srv/news\\040data ext4 rw,relatime 0 0\n'
            'proc /proc proc rw,nosuid 0 0\n'
            'garbage\n')
    assert parse_mounts(text) == [('/dev/mapper/vg_xen-news--root', '/srv/news data', 'ext4'), ('proc', '/proc', 'proc')]


def test_read_mounts_uses_seam(tmp_path, monkeypatch):
    mounts = tmp_path / 'mounts'
    mounts.write_text('/dev/vg_xen/data /srv xfs rw 0 0\n')
    monkeypatch.setattr(_inuse, 'PROC_MOUNTS', str(mounts))
    assert _inuse.read_mounts() == [('/dev/vg_xen/data', '/srv', 'xfs')]


# ---------------------------------------------------------------------------
# Disks of running domains (xl list -l)

XL_LIST_LONG = json.dumps([
    {'domid': 0, 'config': {'c_info': {'name': 'Domain-0'}}},
    {'domid': 1, 'config': {'c_info': {'name': 'news'}, 'disks': [
        {'pdev_path': '/dev/vg_xen/news-root', 'vdev': 'xvda'},
        {'pdev_path': '/dev/mapper/vg_xen-news--swap', 'vdev': 'xvdb'}]}},
    {'domid': 4, 'config': {'c_info': {'name': 'empty'}, 'disks': [{'vdev': 'xvdc'}]}},
])


def test_domain_disks_lab():
    assert domain_disks(parse_list_long(lab('xl_list_l.json'))) == [
        ('news', '/dev/vg_xen/news-root', 'xvda'), ('news', '/dev/vg_xen/news-swap', 'xvdb'),
        ('web', '/dev/vg_xen/web-root', 'xvda')]


def test_domain_disks():
    assert domain_disks(parse_list_long(XL_LIST_LONG)) == [('news', '/dev/vg_xen/news-root', 'xvda'),
                                                           ('news', '/dev/mapper/vg_xen-news--swap', 'xvdb')]
    assert domain_disks(parse_list_long('[\n]')) == []


# ---------------------------------------------------------------------------
# Lvm service: exact argv

class FakeRunner(object):
    def __init__(self, results=None, programs=('xl',)):
        self.results = list(results or [])
        self.calls = []
        self.programs = programs

    def find(self, program):
        return program if program in self.programs else None

    def run(self, argv, check=True, data=None, expect_output=False):
        self.calls.append(list(argv))
        rc, out, err = self.results.pop(0) if self.results else (0, '', '')
        if check and rc != 0:
            raise CommandError(argv, rc, out, err)
        return CommandResult(argv, rc, out, err)

    def run_json(self, argv):
        return json.loads(self.run(argv).stdout)


def test_report_runs_lvs_and_vgs_once():
    runner = FakeRunner([(0, lab('lvs.json'), ''), (0, lab('vgs.json'), '')])
    report = Lvm(runner).report()
    assert runner.calls == [LVS_ARGV, VGS_ARGV]
    assert LVS_ARGV == ['lvs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o',
                        'vg_name,lv_name,lv_path,lv_size,lv_attr']
    assert VGS_ARGV == ['vgs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o',
                        'vg_name,vg_size,vg_free,vg_extent_size,vg_free_count']
    assert sorted(report.vgs) == ['vg_xen']
    assert report.lv('vg_xen', 'news-root').size == GIB
    assert report.lv('vg_xen', 'nosuch') is None


def test_report_filters_volume_groups():
    lvs = json.dumps({'report': [{'lv': [
        {'vg_name': 'a', 'lv_name': 'x', 'lv_path': '/dev/a/x', 'lv_size': '4194304', 'lv_attr': '-wi-a-----'},
        {'vg_name': 'b', 'lv_name': 'y', 'lv_path': '/dev/b/y', 'lv_size': '4194304', 'lv_attr': '-wi-a-----'}]}]})
    runner = FakeRunner([(0, lvs, ''), (0, '{"report": [{"vg": []}]}', '')])
    report = Lvm(runner).report(['b'])
    assert sorted(report.lvs) == [('b', 'y')]


def test_change_commands_argv():
    runner = FakeRunner()
    lvm = Lvm(runner)
    lvm.create('vg_xen', 'news-root', 2 * GIB)
    lvm.extend('/dev/vg_xen/news-root', 4 * GIB)
    lvm.reduce('/dev/vg_xen/news-root', GIB)
    lvm.remove('/dev/vg_xen/news-root')
    lvm.mkfs('/dev/vg_xen/a', 'ext4', 'root')
    lvm.mkfs('/dev/vg_xen/b', 'xfs', None)
    lvm.mkfs('/dev/vg_xen/c', 'swap', 'swap0')
    lvm.grow_xfs('/srv/data')
    lvm.grow_swap('/dev/vg_xen/c', 'swap0', '1111-2222')
    lvm.grow_swap('/dev/vg_xen/d')
    assert runner.calls == [
        ['lvcreate', '-y', '--wipesignatures', 'y', '-n', 'news-root', '-L', '2147483648b', 'vg_xen'],
        ['lvextend', '-L', '4294967296b', '/dev/vg_xen/news-root'],
        ['lvreduce', '-f', '-L', '1073741824b', '/dev/vg_xen/news-root'],
        ['lvremove', '-f', '/dev/vg_xen/news-root'],
        ['mkfs.ext4', '-q', '-L', 'root', '/dev/vg_xen/a'],
        ['mkfs.xfs', '-q', '/dev/vg_xen/b'],
        ['mkswap', '-L', 'swap0', '/dev/vg_xen/c'],
        ['xfs_growfs', '/srv/data'],
        ['mkswap', '-L', 'swap0', '-U', '1111-2222', '/dev/vg_xen/c'],
        ['mkswap', '/dev/vg_xen/d'],
    ]


def test_mkfs_refuses_unknown_type():
    with pytest.raises(ValueError):
        Lvm(FakeRunner()).mkfs('/dev/vg/x', 'btrfs')


def test_grow_ext_online_and_offline():
    runner = FakeRunner([(0, '', ''), (1, '', ''), (0, '', '')])
    lvm = Lvm(runner)
    lvm.grow_ext('/dev/vg_xen/a', mounted=True)
    lvm.grow_ext('/dev/vg_xen/b', mounted=False)
    assert runner.calls == [['resize2fs', '/dev/vg_xen/a'],
                            ['e2fsck', '-f', '-p', '/dev/vg_xen/b'], ['resize2fs', '/dev/vg_xen/b']]


def test_grow_ext_offline_stops_when_e2fsck_fails():
    runner = FakeRunner([(4, '', 'UNEXPECTED INCONSISTENCY')])
    with pytest.raises(CommandError) as exc:
        Lvm(runner).grow_ext('/dev/vg_xen/b', mounted=False)
    assert (exc.value.rc, runner.calls) == (4, [['e2fsck', '-f', '-p', '/dev/vg_xen/b']])


def test_signature_rc():
    runner = FakeRunner([(0, 'DEVNAME=/dev/vg/a\nTYPE=swap\nLABEL=s\n', ''), (2, '', ''), (8, '', 'ambivalent'),
                         (4, '', 'boom'), (0, '', '')])
    lvm = Lvm(runner)
    assert lvm.signature('/dev/vg/a').type == 'swap'
    assert lvm.signature('/dev/vg/b') is None
    with pytest.raises(CommandError) as exc:
        lvm.signature('/dev/vg/c')
    assert exc.value.msg == '/dev/vg/c carries more than one signature (blkid rc 8); inspect it with wipefs'
    with pytest.raises(CommandError) as exc:
        lvm.signature('/dev/vg/d')
    assert exc.value.msg == "command 'blkid -p -o export /dev/vg/d' failed with rc=4: boom"
    with pytest.raises(CommandError) as exc:
        lvm.signature('/dev/vg/e')
    assert exc.value.msg == 'blkid printed nothing for /dev/vg/e'
    assert runner.calls[1] == ['blkid', '-p', '-o', 'export', '/dev/vg/b']


# Captured on the lab (util-linux 2.38.1): `blkid -p -o export` of two devices, then of three where
# the second (`blank`, made with lvcreate -Wy -Zy) has no signature: blkid stops there with rc 2.
BLKID_TWO = """DEVNAME=/dev/vg_lvtest/d0-root
UUID=985143ca-ed5c-4732-a6fe-b153bf12d0f9
VERSION=1.0
BLOCK_SIZE=1024
TYPE=ext4
USAGE=filesystem

DEVNAME=/dev/vg_lvtest/d0-swap
UUID=4e0003fa-ce67-45e5-a97d-8b37971e4a30
VERSION=1
TYPE=swap
USAGE=other
"""
BLKID_STOPS_AT_BLANK = """DEVNAME=/dev/vg_lvtest/d0-root
UUID=985143ca-ed5c-4732-a6fe-b153bf12d0f9
VERSION=1.0
BLOCK_SIZE=1024
TYPE=ext4
USAGE=filesystem
"""
ROOT, BLANK, SWAP = '/dev/vg_lvtest/d0-root', '/dev/vg_lvtest/blank', '/dev/vg_lvtest/d0-swap'


def test_signatures_one_run_when_all_have_one():
    runner = FakeRunner([(0, BLKID_TWO, '')])
    found = Lvm(runner).signatures([ROOT, SWAP])
    assert runner.calls == [['blkid', '-p', '-o', 'export', ROOT, SWAP]]
    assert dict((path, (sig.type, sig.uuid)) for path, sig in found.items()) == {
        ROOT: ('ext4', '985143ca-ed5c-4732-a6fe-b153bf12d0f9'), SWAP: ('swap', '4e0003fa-ce67-45e5-a97d-8b37971e4a30')}


def test_signatures_continue_after_a_blank_device():
    swap_only = BLKID_TWO[BLKID_TWO.index('DEVNAME=/dev/vg_lvtest/d0-swap'):]
    runner = FakeRunner([(2, BLKID_STOPS_AT_BLANK, ''), (0, swap_only, '')])
    found = Lvm(runner).signatures([ROOT, BLANK, SWAP])
    assert runner.calls == [['blkid', '-p', '-o', 'export', ROOT, BLANK, SWAP], ['blkid', '-p', '-o', 'export', SWAP]]
    assert (found[ROOT].type, found[BLANK], found[SWAP].type) == ('ext4', None, 'swap')


def test_signatures_all_blank():
    runner = FakeRunner([(2, '', ''), (2, '', '')])
    assert Lvm(runner).signatures([BLANK, ROOT]) == {BLANK: None, ROOT: None}
    assert runner.calls == [['blkid', '-p', '-o', 'export', BLANK, ROOT], ['blkid', '-p', '-o', 'export', ROOT]]


def test_parse_blkid_export_devices():
    assert sorted(parse_blkid_export_devices(BLKID_TWO)) == [ROOT, SWAP]
    assert parse_blkid_export_devices('') == {}
    assert parse_blkid_export_devices('DEVNAME=/dev/x\nPTTYPE=gpt\n\n\nDEVNAME=/dev/y\n')['/dev/x'].pttype == 'gpt'
    assert parse_blkid_export_devices('DEVNAME=/dev/x\nPTTYPE=gpt\n\n\nDEVNAME=/dev/y\n')['/dev/y'] is None


def test_domain_disks_without_xl_runs_nothing():
    runner = FakeRunner(programs=())
    assert Lvm(runner).domain_disks() == []
    assert runner.calls == []


def test_domain_disks_with_xl():
    runner = FakeRunner([(0, XL_LIST_LONG, '')])
    assert Lvm(runner).domain_disks()[0] == ('news', '/dev/vg_xen/news-root', 'xvda')
    assert runner.calls == [['xl', 'list', '-l']]
