# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Bad input to xen_domain, xen_lv and xen_vg: a clear message, and no command that changes anything.

Every case runs in check mode and for real. Input that is wrong by itself fails before any
command; input that is wrong only against the host (a MAC in use, a volume in use, a missing
volume group) fails after the reading commands alone. No file is written in the config dir.
"""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.xenops.xen.plugins.modules import xen_domain, xen_lv, xen_vg

from utils import Call, run_module

READING = (['xl', 'list', '-l'], ['xl', 'list'])
LVS = ['lvs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o', 'vg_name,lv_name,lv_path,lv_size,lv_attr']
VGS = ['vgs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o',
       'vg_name,vg_size,vg_free,vg_extent_size,vg_free_count']
READING_PROGRAMS = ('lvs', 'vgs', 'pvs', 'blkid')
GIB = 1024 ** 3

DOMAIN = dict(name='web', kernel='/boot/vmlinuz', root='/dev/xvda ro', memory=256, vcpus=1,
              disks=['phy:/dev/vg/web-root,xvda,w'], vifs=[{'bridge': 'xenbr0'}])
OTHER_MAC = '00:16:3e:aa:bb:cc'

# (id, options changed from DOMAIN (None removes one), part of the message)
DOMAIN_CASES = [
    ('name empty', dict(name=''), 'domain name must be a non-empty string'),
    ('name digits', dict(name='123'), 'a name of only digits would be taken for a domain id'),
    ('name leading dash', dict(name='-web'), "it must not start with '-' or '.'"),
    ('name leading dot', dict(name='.web'), "it must not start with '-' or '.'"),
    ('name space', dict(name='my web'), "invalid domain name 'my web'"),
    ('name semicolon', dict(name='web;reboot'), "invalid domain name 'web;reboot'"),
    ('name slash', dict(name='../etc/passwd'), "invalid domain name '../etc/passwd'"),
    ('name 300 chars', dict(name='w' * 300), 'is 300 characters long; at most 64 are allowed'),
    ('name Domain-0', dict(name='Domain-0'), 'domain Domain-0 is the control domain'),
    ('memory 0', dict(memory=0), 'memory must be at least 1, got 0'),
    ('memory negative', dict(memory=-1), 'memory must be at least 1, got -1'),
    ('memory word', dict(memory='lots'), "argument 'memory' is of type str and we were unable to convert to int"),
    ('vcpus 0', dict(vcpus=0), 'vcpus must be at least 1, got 0'),
    ('vcpus over maxvcpus', dict(vcpus=4, maxvcpus=2), 'vcpus (4) must not be more than maxvcpus (2)'),
    ('memory over maxmem', dict(memory=1024, maxmem=512), 'memory (1024 MiB) must not be larger than maxmem (512 MiB)'),
    ('maxmem without memory', dict(memory=None, maxmem=512), 'maxmem needs memory'),
    ('type kvm', dict(type='kvm'), 'value of type must be one of: pv, pvh, hvm, got: kvm'),
    ('state gone', dict(state='gone'), 'value of state must be one of: present, running, stopped, paused, absent'),
    ('restart always', dict(restart='always'), 'value of restart must be one of: never, if_needed, got: always'),
    ('shutdown_timeout 0', dict(shutdown_timeout=0), 'shutdown_timeout must be at least 1 second, got 0'),
    ('boot_settle negative', dict(boot_settle=-1), 'boot_settle must be 0 or more seconds, got -1'),
    ('cmdline with root', dict(cmdline='quiet'), 'parameters are mutually exclusive: cmdline|root'),
    ('kernel and bootloader', dict(bootloader='pygrub'), 'kernel and bootloader are mutually exclusive'),
    ('pv without kernel', dict(kernel=None), 'a pv domain needs kernel or bootloader'),
    ('ramdisk without kernel', dict(kernel=None, ramdisk='/boot/initrd.img', bootloader='pygrub'), 'ramdisk needs kernel'),
    ('hvm with bootloader', dict(type='hvm', kernel=None, bootloader='pygrub'), 'bootloader is only used by pv and pvh'),
    ('mac all zero', dict(vifs=[{'mac': '00:00:00:00:00:00'}]), 'is all zeros, which libxl replaces with a random MAC'),
    ('mac broadcast', dict(vifs=[{'mac': 'ff:ff:ff:ff:ff:ff'}]), 'mac ff:ff:ff:ff:ff:ff is the broadcast address'),
    ('mac multicast', dict(vifs=[{'mac': '01:00:5e:00:00:01'}]), 'is a multicast address (the first byte must be even)'),
    ('mac not hex', dict(vifs=['mac=zz:16:3e:00:00:01']), "mac 'zz:16:3e:00:00:01' is not a MAC address"),
    ('mac five octets', dict(vifs=[{'mac': '00:16:3e:00:01'}]), "mac '00:16:3e:00:01' is not a MAC address"),
    ('mac dashes', dict(vifs=[{'mac': '00-16-3e-00-00-01'}]), "mac '00-16-3e-00-00-01' is not a MAC address"),
    ('mac int', dict(vifs=[{'mac': 95529467905}]), 'mac 95529467905 is a number, not a MAC address: quote the MAC in YAML'),
    ('vif a list', dict(vifs=[['bridge=xenbr0']]), "vif 0 (list ['bridge=xenbr0']): a vif spec must be a string or a dict"),
    ('bridge space', dict(vifs=[{'bridge': 'br 0'}]), "bridge 'br 0' may only contain letters, digits, _, . and -"),
    ('bridge option', dict(vifs=[{'bridge': '-br0'}]), "bridge '-br0' may only contain letters, digits, _, . and -, and may not begin"),
    ('bridge semicolon', dict(vifs=['bridge=br;reboot']), "bridge 'br;reboot' may only contain"),
    ('bridge slash', dict(vifs=[{'bridge': 'br/0'}]), "bridge 'br/0' may only contain"),
    ('bridge 16 chars', dict(vifs=[{'bridge': 'b' * 16}]), 'is longer than 15 characters (the Linux limit)'),
    ('bridge empty', dict(vifs=[{'bridge': ''}]), 'bridge must be a non-empty string'),
    ('bridge dotdot', dict(vifs=[{'bridge': '..'}]), "bridge '..' may only contain"),
    ('bridge command', dict(vifs=['bridge=br$(id)']), "bridge 'br$(id)' may only contain"),
    ('vifname semicolon', dict(vifs=[{'vifname': 'vif;x'}]), "vifname 'vif;x' may only contain"),
    ('vifs a string', dict(vifs='bridge=xenbr0,mac=00:16:3e:00:00:01'), 'vifs must be a list, also for one entry'),
    ('disks a string', dict(disks='phy:/dev/vg/x,xvda,w'), 'disks must be a list, also for one entry'),
    ('vif unknown key', dict(vifs=['foo=1']), "unknown parameter 'foo'"),
    ('vif an int', dict(vifs=[7]), 'a vif spec must be a string or a dict, got int'),
    ('vif dict comma', dict(vifs=[{'bridge': 'xenbr0', 'model': 'e1000,mac=x'}]), "must not contain a comma"),
    ('vdev xvda0', dict(disks=['/dev/vg/x,raw,xvda0,rw']), "vdev 'xvda0': a partition number starts at 1"),
    ('vdev hde', dict(disks=['/dev/vg/x,raw,hde,rw']), "vdev 'hde': hd names go up to hdd"),
    ('vdev sdq', dict(disks=['/dev/vg/x,raw,sdq,rw']), "vdev 'sdq': sd names go up to sdp"),
    ('vdev d0', dict(disks=['/dev/vg/x,raw,d0,rw']), "vdev 'd0' is not a virtual device name"),
    ('vdev vda', dict(disks=['/dev/vg/x,raw,vda,rw']), "vdev 'vda' is not a virtual device name"),
    ('vdev xvd', dict(disks=[{'target': '/dev/vg/x', 'vdev': 'xvd'}]), "vdev 'xvd' is not a virtual device name"),
    ('vdev missing', dict(disks=['/dev/vg/x']), 'no vdev (the device name the domain sees'),
    ('vdev same device', dict(disks=['/dev/vg/a,raw,xvda,rw', '/dev/vg/b,raw,d0p0,rw']), 'd0p0 (the same device as xvda)'),
    ('vdev twice', dict(disks=['/dev/vg/a,raw,xvda,rw', '/dev/vg/b,raw,xvda,rw']), 'disks 0 and 1 both use vdev xvda'),
    ('disk unknown key', dict(disks=[{'target': '/dev/vg/x', 'vdev': 'xvda', 'size': '1G'}]), 'unknown key(s) size'),
    ('disk access x', dict(disks=[{'target': '/dev/vg/x', 'vdev': 'xvda', 'access': 'x'}]), "access 'x' is not one of r, ro, w, rw"),
    ('disk prefix lvm', dict(disks=['lvm:/dev/vg/x,xvda,w']), "unknown prefix 'lvm:'"),
    ('disk format vmdk', dict(disks=['format=vmdk, vdev=xvda, target=/x']), "'vmdk' is not a disk format"),
    ('disk target not last', dict(disks=['target=/x, vdev=xvda']), 'target= must be the last parameter'),
    ('disk no target', dict(disks=['format=raw, vdev=xvda']), 'no target (the host device or image file)'),
    ('extra owned key', dict(extra_options={'disk': []}), "'disk' is set by the module option disks"),
    ('extra bad key', dict(extra_options={'Bad-Key': 1}), "'Bad-Key' is not an xl.cfg setting name"),
    ('extra none', dict(extra_options={'vnc': None}), 'extra_options.vnc has no value'),
    ('extra dict', dict(extra_options={'vnc': {'a': 1}}), 'extra_options.vnc must be a string, a whole number'),
    ('extra negative', dict(extra_options={'shadow_memory': -1}), 'negative numbers cannot be written'),
    ('config_dir relative', dict(config_dir='etc/xen'), "config_dir must be an absolute path, got 'etc/xen'"),
    ('config_dir missing', dict(config_dir='/nonexistent/xen'), 'config_dir /nonexistent/xen does not exist'),
]
BATCH_CASES = [
    ('name and domains', dict(name='web', domains=[{'name': 'db'}]), 'parameters are mutually exclusive: name|domains'),
    ('entry not a dict', dict(domains=['web']), "Elements value for option 'domains' is of type str"),
    ('entry listed twice', dict(domains=[dict(DOMAIN), dict(DOMAIN)]), 'domain web is listed twice in domains'),
    ('domain option at the top', dict(domains=[dict(DOMAIN)], memory=256), 'with domains, the options memory describe'),
    ('entry misspelt key', dict(domains=[dict(DOMAIN, memroy=1)]), 'domains[0] (web): unknown option memroy'),
    ('entry bad choice', dict(domains=[dict(DOMAIN, restart='always')]), 'domains[0] (web): value of restart must be one'),
]


@pytest.fixture
def cfg_dir(tmp_path):
    path = tmp_path / 'xen'
    path.mkdir()
    return path


def _domain_args(cfg_dir, changes):
    args = dict(DOMAIN, config_dir=str(cfg_dir), boot_settle=0)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    if 'domains' in changes:
        for key in DOMAIN:
            if key not in changes:
                args.pop(key, None)
    return args


@pytest.mark.parametrize('check_mode', [False, True], ids=['real', 'check'])
@pytest.mark.parametrize('changes, message', [c[1:] for c in DOMAIN_CASES + BATCH_CASES],
                         ids=[c[0] for c in DOMAIN_CASES + BATCH_CASES])
def test_xen_domain_refuses_before_any_command(cfg_dir, changes, message, check_mode):
    result, failed, seen = run_module(xen_domain.main, _domain_args(cfg_dir, changes), check_mode=check_mode)
    assert failed is True
    assert message in result['msg'], result['msg']
    assert seen == []
    assert os.listdir(str(cfg_dir)) == []


def _running(name, mac):
    entry = {'domid': 7, 'config': {'c_info': {'type': 'pv', 'name': name}, 'b_info': {'max_memkb': 131072},
                                    'nics': [{'devid': 0, 'mac': mac, 'bridge': 'xenbr0'}]}}
    line = '%-40s %5d %5d %5d     %s %9.1f\n' % (name, 7, 128, 1, '-b----', 1.0)
    return [Call(READING[0], out=json.dumps([entry])),
            Call(READING[1], out='Name  ID   Mem VCPUs\tState\tTime(s)\nDomain-0 0 768 2 r----- 1.0\n' + line)]


@pytest.mark.parametrize('check_mode', [False, True], ids=['real', 'check'])
@pytest.mark.parametrize('vifs, message', [
    ([{'mac': OTHER_MAC}], 'MAC address %s of domain web vif 0 is already used by domain db vif 0 (running)' % OTHER_MAC),
    ([{'mac': '00:16:3e:00:00:01'}, 'mac=00:16:3E:00:00:01'],
     'MAC address 00:16:3e:00:00:01 is used twice: by domain web vif 0 and by domain web vif 1'),
], ids=['mac of a running domain', 'mac twice'])
def test_xen_domain_mac_clash_is_refused_after_the_reads(cfg_dir, vifs, message, check_mode):
    result, failed, seen = run_module(xen_domain.main, _domain_args(cfg_dir, dict(vifs=vifs)),
                                      calls=_running('db', OTHER_MAC), check_mode=check_mode)
    assert failed is True
    assert result['msg'] == message
    assert seen == list(READING)
    assert os.listdir(str(cfg_dir)) == []


def test_shell_metacharacters_in_a_path_are_written_quoted_never_run(cfg_dir):
    """xl.cfg strings are quoted and no shell runs: a kernel path with ; and $() is only text in the file."""
    kernel = '/boot/vmlinuz; rm -rf / $(id)'
    result, failed, seen = run_module(xen_domain.main, _domain_args(cfg_dir, dict(kernel=kernel, state='present')),
                                      calls=list(_running('db', OTHER_MAC))
                                      + [Call(['xl', '-N', 'create', str(cfg_dir / '.web.cfg.tmp')], out='{}')])
    assert failed is False, result['msg']
    assert 'kernel = "/boot/vmlinuz; rm -rf / $(id)"\n' in (cfg_dir / 'web.cfg').read_text()
    assert seen == list(READING) + [['xl', '-N', 'create', str(cfg_dir / '.web.cfg.tmp')]]


# ---------------------------------------------------------------- xen_lv

def _lvs(*rows):
    return Call(LVS, out=json.dumps({'report': [{'lv': [
        {'vg_name': 'vg_xen', 'lv_name': n, 'lv_path': '/dev/vg_xen/%s' % n, 'lv_size': str(s), 'lv_attr': a}
        for n, s, a in rows]}]}))


def _vgs():
    row = {'vg_name': 'vg_xen', 'vg_size': str(8 * GIB), 'vg_free': str(4 * GIB), 'vg_extent_size': '4194304',
           'vg_free_count': '1024'}
    return Call(VGS, out=json.dumps({'report': [{'vg': [row]}]}))


def _xl_disks(name, *paths):
    return Call(['xl', 'list', '-l'], out=json.dumps([{'domid': 3, 'config': {
        'c_info': {'name': name}, 'disks': [{'pdev_path': p, 'vdev': 'xvd%s' % chr(97 + i)} for i, p in enumerate(paths)]}}]))


# (id, arguments, part of the message, the reading commands it runs)
LV_CASES = [
    ('name slash', dict(vg='vg_xen', name='a/b', size='1G'), "volume name 'a/b' may only contain", []),
    ('name space', dict(vg='vg_xen', name='news root', size='1G'), "volume name 'news root' may only contain", []),
    ('name snapshot', dict(vg='vg_xen', name='snapshot1', size='1G'), "must not start with 'snapshot'", []),
    ('name _mlog', dict(vg='vg_xen', name='a_mlog', size='1G'), "must not contain '_mlog' (reserved by LVM)", []),
    ('name 128', dict(vg='vg_xen', name='n' * 128, size='1G'), 'is longer than 127 characters', []),
    ('name dot', dict(vg='vg_xen', name='.', size='1G'), "volume name must not be '.'", []),
    ('name dotdot', dict(vg='vg_xen', name='..', size='1G'), "volume name must not be '..'", []),
    ('name semicolon', dict(vg='vg_xen', name='x;reboot', size='1G'), "volume name 'x;reboot' may only contain", []),
    ('vg missing', dict(name='x', size='1G'), "vg is required for volume 'x'", []),
    ('vg space', dict(vg='vg xen', name='x', size='1G'), "volume group name 'vg xen' may only contain", []),
    ('size 0', dict(vg='vg_xen', name='x', size='0'), 'size must be greater than zero', []),
    ('size -1G', dict(vg='vg_xen', name='x', size='-1G'), "size '-1G' is relative", []),
    ('size +1G', dict(vg='vg_xen', name='x', size='+1G'), "size '+1G' is relative", []),
    ('size percent', dict(vg='vg_xen', name='x', size='100%FREE'), "size '100%FREE' is a percentage", []),
    ('size 4GB', dict(vg='vg_xen', name='x', size='4GB'), "unit 'GB' is ambiguous", []),
    ('size 1.5Q', dict(vg='vg_xen', name='x', size='1.5Q'), "has an unknown unit 'Q'", []),
    ('size word', dict(vg='vg_xen', name='x', size='abc'), "size 'abc' is not a number", []),
    ('size bool', dict(vg='vg_xen', name='x', size=True), 'size must be a number of bytes or a string', []),
    ('size list', dict(vg='vg_xen', name='x', size=[1]), 'size must be a number of bytes or a string', []),
    ('label without fstype', dict(vg='vg_xen', name='x', size='1G', label='root'), 'label needs fstype', []),
    ('label long ext4', dict(vg='vg_xen', name='x', size='1G', fstype='ext4', label='l' * 17), 'ext4 labels are at most 16', []),
    ('label long xfs', dict(vg='vg_xen', name='x', size='1G', fstype='xfs', label='l' * 13), 'xfs labels are at most 12', []),
    ('fstype btrfs', dict(vg='vg_xen', name='x', size='1G', fstype='btrfs'), 'value of fstype must be one of', []),
    ('state gone', dict(vg='vg_xen', name='x', state='gone'), 'value of state must be one of: present, absent', []),
    ('domain without function', dict(vg='vg_xen', domain='news', size='1G'), 'required together: domain, function', []),
    ('name and domain', dict(vg='vg_xen', name='x', domain='news', function='root'), 'mutually exclusive: name|domain', []),
    ('volumes empty', dict(vg='vg_xen', volumes=[]), 'volumes must list at least one volume', []),
    ('volume twice', dict(vg='vg_xen', volumes=[dict(name='x', size='1G'), dict(name='x', size='2G')]),
     'volume vg_xen/x is listed more than once', []),
    ('size missing to create', dict(vg='vg_xen', name='new'), 'size is required to create volume vg_xen/new', [LVS, VGS]),
    ('vg not found', dict(vg='vg_other', name='x', size='1G'), "volume group 'vg_other' not found", [LVS, VGS]),
    ('shrink without force', dict(vg='vg_xen', name='x', size='512M'), 'refusing to shrink volume vg_xen/x', [LVS, VGS]),
    ('remove open volume', dict(vg='vg_xen', name='open', state='absent'), 'it is open (in use)', [LVS, VGS, 'xl']),
    ('remove volume a domain uses by relative path', dict(vg='vg_xen', name='news-root', state='absent'),
     'it is used by running domain news (xvda)', [LVS, VGS, 'xl']),
]


def _lv_calls(reads):
    calls = []
    for read in reads:
        if read == LVS:
            calls.append(_lvs(('x', GIB, '-wi-a-----'), ('open', GIB, '-wi-ao----'), ('news-root', GIB, '-wi-a-----')))
        elif read == VGS:
            calls.append(_vgs())
        else:
            calls.append(_xl_disks('news', 'vg_xen/news-root'))
    return calls


@pytest.fixture(autouse=True)
def no_mounts(tmp_path, monkeypatch):
    from ansible_collections.xenops.xen.plugins.module_utils import _inuse
    path = tmp_path / 'mounts'
    path.write_text('/dev/sda1 / ext4 rw 0 0\n')
    monkeypatch.setattr(_inuse, 'PROC_MOUNTS', str(path))


@pytest.mark.parametrize('check_mode', [False, True], ids=['real', 'check'])
@pytest.mark.parametrize('args, message, reads', [c[1:] for c in LV_CASES], ids=[c[0] for c in LV_CASES])
def test_xen_lv_refuses_with_only_reading_commands(args, message, reads, check_mode):
    result, failed, seen = run_module(xen_lv.main, args, calls=_lv_calls(reads), check_mode=check_mode)
    assert failed is True
    assert message in result['msg'], result['msg']
    assert all(argv[0] in READING_PROGRAMS or argv[:3] == ['xl', 'list', '-l'] for argv in seen), seen
    assert len(seen) == len(reads)


# ---------------------------------------------------------------- xen_vg

VG_CASES = [
    ('device missing', dict(name='vg_xen', pvs=['/dev/nonexistent-disk']), 'device(s) /dev/nonexistent-disk do not exist'),
    ('device relative', dict(name='vg_xen', pvs=['sdb']), 'give absolute paths of block devices'),
    ('no device', dict(name='vg_xen', pvs=[]), 'pvs must name at least one device'),
    ('vg name space', dict(name='vg xen', pvs=['/']), "volume group name 'vg xen' may only contain"),
    ('vg name semicolon', dict(name='vg;x', pvs=['/']), "volume group name 'vg;x' may only contain"),
    ('vg name missing', dict(pvs=['/']), 'missing required arguments: name'),
]


@pytest.mark.parametrize('check_mode', [False, True], ids=['real', 'check'])
@pytest.mark.parametrize('args, message', [c[1:] for c in VG_CASES], ids=[c[0] for c in VG_CASES])
def test_xen_vg_refuses_before_any_command(args, message, check_mode):
    result, failed, seen = run_module(xen_vg.main, args, check_mode=check_mode)
    assert failed is True
    assert message in result['msg'], result['msg']
    assert seen == []


def test_matrix_size():
    assert len(DOMAIN_CASES) + len(BATCH_CASES) + len(LV_CASES) + len(VG_CASES) >= 100
