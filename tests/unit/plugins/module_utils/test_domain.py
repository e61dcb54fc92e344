# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""_xl_devices, _domain_spec, _domain_compare, _domain_plan: disk and vif specs, stable MACs, desired domains, the planner (no commands, no files)."""

from __future__ import annotations


import pytest

import labdata

from ansible_collections.xenops.xen.plugins.module_utils import _domain_apply, _domain_plan, _names, _xl, _xl_devices, _xlcfg
from ansible_collections.xenops.xen.plugins.module_utils._domain_compare import compare_running, same_config
from ansible_collections.xenops.xen.plugins.module_utils._domain_plan import Current, plan_domain
from ansible_collections.xenops.xen.plugins.module_utils._domain_spec import DomainError, build_config, desired_domain
from ansible_collections.xenops.xen.plugins.module_utils._xl_devices import SpecError, parse_disk_spec, parse_vif_spec, render_disk, render_vif
from ansible_collections.xenops.xen.plugins.module_utils._names import stable_mac

# ---------------------------------------------------------------- disk specs

ROOT = 'format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume'
ISO = 'format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso'


@pytest.mark.parametrize('spec, canonical', [
    # the equivalent forms of xl-disk-configuration(5)
    ('/dev/vg/guest-volume,,hda', ROOT),
    ('/dev/vg/guest-volume,raw,hda,rw', ROOT),
    ('format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume', ROOT),
    ('raw:/dev/vg/guest-volume,hda,w', ROOT),
    ('/root/image.iso,,hdc,cdrom', ISO),
    ('/root/image.iso,,hdc,,cdrom', ISO),
    ('/root/image.iso,raw,hdc,devtype=cdrom', ISO),
    ('format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso', ISO),
    ('raw:/root/image.iso,hdc:cdrom,ro', ISO),
    # classic positional form with a prefix (the prefix is ignored by xl)
    ('phy:vg/news-root,sda1,w', 'format=raw, vdev=sda1, access=rw, target=vg/news-root'),
    ('phy:/dev/vg/news-swap,sda2,w', 'format=raw, vdev=sda2, access=rw, target=/dev/vg/news-swap'),
    ('file:/srv/xen/web.img,xvda1,r', 'format=raw, vdev=xvda1, access=ro, target=/srv/xen/web.img'),
    ('tap:aio:/srv/xen/web.img,xvda,w', 'format=raw, vdev=xvda, access=rw, target=/srv/xen/web.img'),
    ('tap:qcow2:/srv/xen/web.qcow2,xvda,w', 'format=qcow2, vdev=xvda, access=rw, target=/srv/xen/web.qcow2'),
    ('drbd:r0,xvda,w', 'format=raw, vdev=xvda, access=rw, script=block-drbd, target=r0'),
    # keyword form, in any order, target last
    ('vdev=xvda,access=rw,target=/dev/vg/x', 'format=raw, vdev=xvda, access=rw, target=/dev/vg/x'),
    ('backendtype=qdisk,format=qcow2,vdev=xvdb,target=/srv/a,b.qcow2',
     'format=qcow2, vdev=xvdb, access=rw, backendtype=qdisk, target=/srv/a,b.qcow2'),
    ('/dev/vg/x,raw,xvda,rw,discard,direct-io-safe', 'format=raw, vdev=xvda, access=rw, discard, direct-io-safe, target=/dev/vg/x'),
    # empty cdrom drive
    (',hdc:cdrom,r', 'vdev=hdc, access=ro, devtype=cdrom'),
])
def test_disk_spec_forms(spec, canonical):
    assert render_disk(parse_disk_spec(spec)) == canonical


def test_disk_spec_fields():
    assert parse_disk_spec('phy:vg/news-root,sda1,w') == {
        'target': 'vg/news-root', 'format': 'raw', 'vdev': 'sda1', 'access': 'rw', 'devtype': 'disk',
        'backendtype': None, 'backend': None, 'script': None, 'specification': None, 'options': []}


def test_canonical_disk_reparses_to_the_same_disk():
    for spec in ('phy:vg/news-root,sda1,w', '/root/image.iso,,hdc,cdrom', 'drbd:r0,xvda,w', ',hdc:cdrom,r'):
        disk = parse_disk_spec(spec)
        assert parse_disk_spec(render_disk(disk)) == disk


@pytest.mark.parametrize('spec, message', [
    ('/dev/vg/x,xvda,w', "'xvda' is not a disk format (raw, qcow, qcow2, vhd, qed); in the old form target,vdev,access"),
    ('target=/dev/vg/x,vdev=xvda,access=rw', "target= must be the last parameter: xl takes everything after it as the "
                                             "target (here '/dev/vg/x,vdev=xvda,access=rw', which includes 'vdev=')"),
    ('phy:/dev/vg/x', 'no vdev (the device name the domain sees, such as xvda)'),
    ('vdev=xvda', 'no target (the host device or image file)'),
    ('/dev/vg/x,raw,xvda,rw,more', "too many positional parameters ('more')"),
    ('/dev/vg/x,raw,xvda,x', "access 'x' is not one of r, ro, w, rw"),
    ('mode=w,vdev=xvda,target=/dev/vg/x', "unknown parameter 'mode'"),
    ('lvm:/dev/vg/x,xvda,w', "unknown prefix 'lvm:'"),
    ('/dev/vg/x,raw,xvda:floppy,w', "unknown device type 'floppy' in 'xvda:floppy'"),
    ('/dev/vg/x,raw,eth0,w', "vdev 'eth0' is not a virtual device name"),
    ('format=raw,format=qcow2,vdev=xvda,target=/x', "format given twice ('raw' and 'qcow2')"),
    ('devtype=floppy,vdev=xvda,target=/x', "devtype 'floppy' is not one of disk, cdrom"),
])
def test_bad_disk_specs(spec, message):
    with pytest.raises(SpecError) as exc:
        parse_disk_spec(spec)
    assert message in str(exc.value)


def test_disk_dict_matches_the_string_forms():
    a = _xl_devices.disk_from_dict({'target': 'vg/news-root', 'vdev': 'sda1', 'access': 'w'})
    assert a == parse_disk_spec('phy:vg/news-root,sda1,w')
    cdrom = _xl_devices.disk_from_dict({'target': '/root/image.iso', 'vdev': 'hdc', 'devtype': 'cdrom'})
    assert render_disk(cdrom) == ISO


def test_host_path_puts_dev_before_relative_devices():
    assert _xl_devices.host_path('vg/news-root') == '/dev/vg/news-root'
    assert _xl_devices.host_path('/dev/vg/news-root') == '/dev/vg/news-root'
    assert _xl_devices.host_path('r0', 'block-drbd') == 'r0'


# ---------------------------------------------------------------- vif specs

@pytest.mark.parametrize('spec, vif, canonical', [
    ('mac=00:16:3E:74:3d:76,model=rtl8139,bridge=xenbr0',
     {'mac': '00:16:3e:74:3d:76', 'model': 'rtl8139', 'bridge': 'xenbr0'},
     'mac=00:16:3e:74:3d:76,bridge=xenbr0,model=rtl8139'),
    ('bridge=xenbr1, mac=00:16:3e:5f:48:e4', {'bridge': 'xenbr1', 'mac': '00:16:3e:5f:48:e4'},
     'mac=00:16:3e:5f:48:e4,bridge=xenbr1'),
    ('', {}, ''),
    ('bridge=xenbr0,netdev=eth0,trusted', {'bridge': 'xenbr0', 'gatewaydev': 'eth0', 'trusted': True},
     'bridge=xenbr0,gatewaydev=eth0,trusted'),
    ('ip=192.0.2.10 192.0.2.11,script=vif-route,vifname=news-e0,rate=10Mb/s',
     {'ip': '192.0.2.10 192.0.2.11', 'script': 'vif-route', 'vifname': 'news-e0', 'rate': '10Mb/s'},
     'ip=192.0.2.10 192.0.2.11,vifname=news-e0,script=vif-route,rate=10Mb/s'),
])
def test_vif_spec_forms(spec, vif, canonical):
    assert parse_vif_spec(spec) == vif
    assert render_vif(parse_vif_spec(spec)) == canonical


@pytest.mark.parametrize('spec, message', [
    ('mac=00:16:3e:74:3d', "mac '00:16:3e:74:3d' is not a MAC address"),
    ('mac=03:16:3e:74:3d:76', 'mac 03:16:3e:74:3d:76 is a multicast address (the first byte must be even)'),
    ('bridge=xenbr0,speed=100', "unknown parameter 'speed'"),
    ('xenbr0', "'xenbr0' is not a key=value parameter"),
])
def test_bad_vif_specs(spec, message):
    with pytest.raises(SpecError) as exc:
        parse_vif_spec(spec)
    assert message in str(exc.value)


def test_vif_dict():
    assert _xl_devices.vif_from_dict({'bridge': 'xenbr0', 'mac': '00:16:3E:00:00:01', 'mtu': 9000}) == {
        'mac': '00:16:3e:00:00:01', 'bridge': 'xenbr0', 'mtu': '9000'}
    with pytest.raises(SpecError) as exc:
        _xl_devices.vif_from_dict({'bridge': 'xenbr0,model=e1000'})
    assert str(exc.value) == "bridge 'xenbr0,model=e1000' must not contain a comma"


# ---------------------------------------------------------------- MACs

def test_stable_macs_are_fixed_values():
    assert stable_mac('news', 0) == '00:16:3e:54:69:80'
    assert stable_mac('news', 1) == '00:16:3e:10:1a:c6'
    assert stable_mac('web', 0) == '00:16:3e:6e:02:e5'


def test_vifs_without_mac_get_stable_macs_by_index():
    vifs = ['bridge=xenbr0', {'bridge': 'xenbr1'}, 'mac=00:16:3e:00:00:07']
    cfg = build_config('news', {'kernel': '/k', 'vifs': vifs})
    assert cfg['vif'] == ['mac=00:16:3e:54:69:80,bridge=xenbr0', 'mac=00:16:3e:10:1a:c6,bridge=xenbr1',
                          'mac=00:16:3e:00:00:07']


# ---------------------------------------------------------------- names and options

@pytest.mark.parametrize('name, error', [
    ('news', None), ('web-01.example_org', None), ('_x', None), ('a1', None),
    ('', "domain name must be a non-empty string, got ''"),
    ('my vm', "invalid domain name 'my vm': use only letters, digits, '.', '_' and '-'"),
    ('web/1', "invalid domain name 'web/1': use only letters, digits, '.', '_' and '-'"),
    ('42', "invalid domain name '42': a name of only digits would be taken for a domain id"),
    ('-f', "invalid domain name '-f': it must not start with '-' or '.'"),
    ('.hidden', "invalid domain name '.hidden': it must not start with '-' or '.'"),
    ('Domain-0', 'domain Domain-0 is the control domain and cannot be managed'),
])
def test_names(name, error):
    assert _names.domain_name_error(name) == error


def test_build_config_order_and_values():
    cfg = build_config('web', {
        'type': 'pvh', 'kernel': '/k', 'cmdline': 'console=hvc0', 'memory': 512, 'maxmem': 1024, 'vcpus': 2,
        'disks': [{'target': '/dev/vg/web-root', 'vdev': 'xvda'}], 'vifs': [], 'on_crash': 'preserve',
        'extra_options': {'serial': 'pty', 'nomigrate': False, 'cpus': ['0-1', 3], 'localtime': True}})
    assert cfg == {'name': 'web', 'type': 'pvh', 'kernel': '/k', 'cmdline': 'console=hvc0', 'memory': 512,
                   'maxmem': 1024, 'vcpus': 2, 'disk': ['format=raw, vdev=xvda, access=rw, target=/dev/vg/web-root'],
                   'vif': [], 'on_crash': 'preserve', 'cpus': ['0-1', 3], 'localtime': 1, 'nomigrate': 0, 'serial': 'pty'}
    assert _xlcfg.render(cfg).splitlines()[2:] == [
        'name = "web"', 'type = "pvh"', 'kernel = "/k"', 'cmdline = "console=hvc0"', 'memory = 512',
        'maxmem = 1024', 'vcpus = 2', 'disk = [', '    "format=raw, vdev=xvda, access=rw, target=/dev/vg/web-root",',
        ']', 'vif = []', 'on_crash = "preserve"', 'cpus = [', '    "0-1",', '    3,', ']', 'localtime = 1',
        'nomigrate = 0', 'serial = "pty"']


HVM_ISO = {'target': '/srv/iso/netboot.iso', 'vdev': 'hdc', 'devtype': 'cdrom', 'access': 'ro'}


@pytest.mark.parametrize('extra, expect', [
    # serial console and a VNC console for the host only
    ({}, {'serial': 'pty', 'vnclisten': '127.0.0.1'}),
    # what the user sets wins
    ({'vnclisten': '0.0.0.0', 'serial': 'file:/var/log/xen/r1.serial', 'boot': 'd'},
     {'serial': 'file:/var/log/xen/r1.serial', 'vnclisten': '0.0.0.0', 'boot': 'd'}),
    # SPICE listens on every address unless told: the host only
    ({'spice': True, 'vnc': False}, {'serial': 'pty', 'vnclisten': '127.0.0.1', 'spice': 1, 'vnc': 0,
                                     'spicehost': '127.0.0.1'}),
    ({'spice': True, 'spicehost': '10.0.0.1'}, {'serial': 'pty', 'vnclisten': '127.0.0.1', 'spice': 1,
                                                'spicehost': '10.0.0.1'}),
])
def test_hvm_console_defaults(extra, expect):
    cfg = build_config('r1', {'type': 'hvm', 'memory': 256, 'disks': [HVM_ISO], 'extra_options': extra})
    assert cfg == dict({'name': 'r1', 'type': 'hvm', 'memory': 256,
                        'disk': ['format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/srv/iso/netboot.iso']},
                       **expect)
    # the same input gives the same file: a re-run changes nothing
    assert _xlcfg.render(cfg) == _xlcfg.render(build_config('r1', {'type': 'hvm', 'memory': 256, 'disks': [HVM_ISO],
                                                                   'extra_options': extra}))


@pytest.mark.parametrize('dtype', ['pv', 'pvh'])
def test_no_hvm_console_defaults_for_other_types(dtype):
    cfg = build_config('w', {'type': dtype, 'kernel': '/k'})
    assert not set(cfg) & {'serial', 'vnclisten', 'spicehost'}


@pytest.mark.parametrize('options, message', [
    ({'kernel': '/k', 'cmdline': 'x', 'extra': 'y'}, 'cmdline is mutually exclusive with root and extra'),
    ({'kernel': '/k', 'type': 'xen'}, "type must be one of pv, pvh, hvm, got 'xen'"),
    ({'kernel': '/k', 'on_reboot': 'reboot'}, 'on_reboot must be one of destroy, restart'),
    ({'kernel': '/k', 'vcpus': 0}, 'vcpus must be at least 1, got 0'),
    ({'kernel': '/k', 'memory': '512'}, "memory must be a whole number, got '512'"),
    ({'kernel': '/k', 'vcpus': 2, 'maxvcpus': 1}, 'vcpus (2) must not be more than maxvcpus (1)'),
    ({'kernel': '/k', 'maxvcpus': 2}, 'maxvcpus needs vcpus'),
    ({'kernel': '/k', 'extra_options': {'builder': 'hvm'}}, "extra_options: 'builder' is set by the module option type"),
    ({'kernel': '/k', 'extra_options': {'_x': 1}}, "extra_options: '_x' is not an xl.cfg setting name"),
    ({'kernel': '/k', 'extra_options': {'usbdevice': None}}, 'extra_options.usbdevice has no value'),
    ({'kernel': '/k', 'extra_options': {'x': {'a': 1}}}, "extra_options.x must be a string, a whole number, a boolean"),
    ({'type': 'pvh'}, None),
])
def test_config_option_checks(options, message):
    if message is None:
        assert build_config('web', options) == {'name': 'web', 'type': 'pvh'}
        return
    with pytest.raises(DomainError) as exc:
        build_config('web', options)
    assert message in exc.value.msg


def test_desired_domain_policy_defaults_and_inheritance():
    d = desired_domain({'name': 'web'}, '/etc/xen')
    assert (d.state, d.restart, d.force_destroy, d.shutdown_timeout, d.boot_settle, d.autostart, d.config) == (
        'running', 'never', False, 120, 3, None, None)
    d = desired_domain({'name': 'web', 'boot_settle': 0}, '/etc/xen', {'state': 'stopped', 'boot_settle': 9})
    assert (d.state, d.boot_settle) == ('stopped', 0)
    assert d.config_path == '/etc/xen/web.cfg'
    assert d.auto_path == '/etc/xen/auto/web.cfg'
    assert d.tmp_path == '/etc/xen/.web.cfg.tmp'


# ---------------------------------------------------------------- planner

NEWS = dict(name='news', kernel='/boot/vmlinuz', root='/dev/xvda ro', memory=256, maxmem=512, vcpus=1, maxvcpus=2,
            disks=['phy:vg/news-root,xvda,w'], vifs=['bridge=xenbr0'])
NEWS_TEXT = _xlcfg.render(build_config('news', NEWS))


def facts(state='blocked', **overrides):
    result = {
        'name': 'news', 'domid': 4, 'state': state, 'type': 'pv', 'memory_mib': 256, 'maxmem_mib': 512, 'vcpus': 1,
        'maxvcpus': 2, 'kernel': '/boot/vmlinuz', 'ramdisk': None, 'cmdline': 'root=/dev/xvda ro', 'bootloader': None,
        'disks': [{'target': 'vg/news-root', 'vdev': 'xvda', 'format': 'raw', 'access': 'rw', 'backend': 'phy',
                   'cdrom': False}],
        'vifs': [{'devid': 0, 'mac': '00:16:3e:54:69:80', 'bridge': 'xenbr0', 'ip': None, 'vifname': None,
                  'model': None, 'backend': None, 'script': 'vif-bridge'}],
        'on_poweroff': 'destroy', 'on_reboot': 'restart', 'on_watchdog': 'destroy', 'on_crash': 'destroy',
        'on_soft_reset': 'soft-reset', 'shutdown_reason': 'crash' if state == 'crashed' else None,
    }
    result.update(overrides)
    return result


def plan(options=None, text=NEWS_TEXT, running=None, link='absent', **policy):
    entry = dict(NEWS if options is None else options)
    entry.update(policy)
    return plan_domain(desired_domain(entry, '/etc/xen'), Current(text, running, link))


TRANSITIONS = [
    # (case, options or None for NEWS, policy, text, facts, expected action kinds, restart_required, runtime after)
    ('absent -> running', None, {}, None, None, ['write_config', 'create'], False, 'running'),
    ('absent -> present', None, {'state': 'present'}, None, None, ['write_config'], False, 'stopped'),
    ('absent -> stopped', None, {'state': 'stopped'}, None, None, ['write_config'], False, 'stopped'),
    ('absent -> paused', None, {'state': 'paused'}, None, None, ['write_config', 'create', 'pause'], False, 'paused'),
    ('absent -> absent', None, {'state': 'absent'}, None, None, [], False, 'stopped'),
    ('present -> running', None, {}, NEWS_TEXT, None, ['create'], False, 'running'),
    ('present -> present', None, {'state': 'present'}, NEWS_TEXT, None, [], False, 'stopped'),
    ('running -> running', None, {}, NEWS_TEXT, facts(), [], False, 'running'),
    ('running -> present', None, {'state': 'present'}, NEWS_TEXT, facts(), [], False, 'running'),
    ('running -> stopped', None, {'state': 'stopped'}, NEWS_TEXT, facts(), ['shutdown'], False, 'stopped'),
    ('running -> paused', None, {'state': 'paused'}, NEWS_TEXT, facts(), ['pause'], False, 'paused'),
    ('paused -> running', None, {}, NEWS_TEXT, facts('paused'), ['unpause'], False, 'running'),
    ('paused -> paused', None, {'state': 'paused'}, NEWS_TEXT, facts('paused'), [], False, 'paused'),
    ('paused -> stopped', None, {'state': 'stopped'}, NEWS_TEXT, facts('paused'), ['unpause', 'shutdown'], False,
     'stopped'),
    ('running -> absent', None, {'state': 'absent'}, NEWS_TEXT, facts(), ['shutdown', 'remove_config'], False,
     'stopped'),
    ('stopped -> absent', None, {'state': 'absent'}, NEWS_TEXT, None, ['remove_config'], False, 'stopped'),
    ('crashed -> running', None, {}, NEWS_TEXT, facts('crashed'), ['destroy', 'create'], False, 'running'),
    ('crashed -> stopped', None, {'state': 'stopped'}, NEWS_TEXT, facts('crashed'), ['destroy'], False, 'stopped'),
    ('crashed -> absent', None, {'state': 'absent'}, NEWS_TEXT, facts('shutdown'), ['destroy', 'remove_config'],
     False, 'stopped'),
    ('running + memory drift', dict(NEWS, memory=384), {}, NEWS_TEXT, facts(), ['write_config', 'mem_set'], False,
     'running'),
    ('running, memory changed by hand', None, {}, NEWS_TEXT, facts(memory_mib=300), ['mem_set'], False, 'running'),
    ('running + vcpu drift', dict(NEWS, vcpus=2), {}, NEWS_TEXT, facts(), ['write_config', 'vcpu_set'], False,
     'running'),
    ('running + memory and vcpu drift', dict(NEWS, memory=128, vcpus=2), {}, NEWS_TEXT, facts(),
     ['write_config', 'mem_set', 'vcpu_set'], False, 'running'),
    ('paused + memory drift', dict(NEWS, memory=384), {'state': 'paused'}, NEWS_TEXT, facts('paused'),
     ['write_config', 'mem_set'], False, 'paused'),
    ('running + disk change, restart never', dict(NEWS, disks=['phy:vg/news-root,xvda,w', 'phy:vg/news-swap,xvdb,w']),
     {}, NEWS_TEXT, facts(), ['write_config'], True, 'running'),
    ('running + disk change, restart if_needed', dict(NEWS, disks=['phy:vg/news-root,xvda,w', 'phy:vg/news-swap,xvdb,w']),
     {'restart': 'if_needed'}, NEWS_TEXT, facts(), ['write_config', 'restart'], False, 'running'),
    ('running + disk change, state present', dict(NEWS, disks=['phy:vg/news-root,xvda,r']),
     {'state': 'present', 'restart': 'if_needed'}, NEWS_TEXT, facts(), ['write_config'], True, 'running'),
    ('running + disk change, state stopped', dict(NEWS, disks=['phy:vg/news-root,xvda,r']),
     {'state': 'stopped'}, NEWS_TEXT, facts(), ['write_config', 'shutdown'], False, 'stopped'),
    ('running + memory drift and restart', dict(NEWS, memory=384, kernel='/boot/vmlinuz-2'), {'restart': 'if_needed'},
     NEWS_TEXT, facts(), ['write_config', 'restart'], False, 'running'),
    ('paused + restart, state paused', dict(NEWS, kernel='/boot/vmlinuz-2'), {'restart': 'if_needed', 'state': 'paused'},
     NEWS_TEXT, facts('paused'), ['write_config', 'unpause', 'restart', 'pause'], False, 'paused'),
    ('hand-edited equivalent file', None, {}, "name='news'; kernel='/boot/vmlinuz'; root='/dev/xvda ro'\n"
     "memory=0x100\nmaxmem=512\nvcpus=1\nmaxvcpus=2\ndisk=['/dev/vg/news-root,raw,xvda,w']\n"
     "vif=['bridge=xenbr0,mac=00:16:3E:54:69:80']\n", facts(), [], False, 'running'),
    ('hand-edited file with another meaning', None, {}, NEWS_TEXT.replace('maxmem = 512', 'maxmem = 1024'), facts(),
     ['write_config'], False, 'running'),
    ('autostart on a stopped domain', None, {'autostart': True, 'state': 'stopped'}, NEWS_TEXT, None,
     ['link_autostart'], False, 'stopped'),
    ('no options, existing file, stopped', {'name': 'news'}, {}, NEWS_TEXT, None, ['create'], False, 'running'),
    ('no options, no file, running', {'name': 'news'}, {'state': 'stopped'}, None, facts(), ['shutdown'], False,
     'stopped'),
]


@pytest.mark.parametrize('options, policy, text, running, kinds, restart_required, after',
                         [t[1:] for t in TRANSITIONS], ids=[t[0] for t in TRANSITIONS])
def test_planner_transitions(options, policy, text, running, kinds, restart_required, after):
    p = plan(options, text, running, **policy)
    assert p.kinds() == kinds
    assert p.restart_required is restart_required
    assert p.runtime[1] == after
    assert p.changed is bool(kinds)


def test_plan_writes_the_canonical_text():
    p = plan(text=None)
    assert p.before is None
    assert p.after == NEWS_TEXT
    assert [a.as_dict() for a in p.actions] == [
        {'action': 'write_config', 'description': 'create /etc/xen/news.cfg'},
        {'action': 'create', 'description': 'start news (xl create /etc/xen/news.cfg, then check it stays up for 3 seconds)'}]


def test_plan_live_values_and_reasons():
    p = plan(dict(NEWS, memory=384, vcpus=2), running=facts())
    assert [a.params for a in p.actions] == [{}, {'mib': 384}, {'count': 2}]
    p = plan(dict(NEWS, disks=['phy:vg/news-root,xvda,r'], vifs=['bridge=xenbr1']), running=facts())
    assert p.restart_reasons == ['disk xvda: access ro, running rw', 'vif 0: bridge xenbr1, running xenbr0']


def test_autostart_link_and_absent():
    assert plan(link='linked', running=facts(), autostart=True).kinds() == []
    assert plan(link='other', running=facts(), autostart=True).kinds() == ['link_autostart']
    assert plan(link='linked', running=facts(), autostart=False).kinds() == ['unlink_autostart']
    assert plan(link='linked', running=None, state='absent').kinds() == ['unlink_autostart', 'remove_config']
    with pytest.raises(DomainError) as exc:
        plan(link='file', running=None, state='absent')
    assert exc.value.msg == '/etc/xen/auto/news.cfg is not a symbolic link: move it away before removing domain news'


def test_same_config_compares_by_meaning():
    a = build_config('news', NEWS)
    b = _xlcfg.parse("vif = ['mac=00:16:3e:54:69:80, bridge=xenbr0']\ndisk = ['phy:/dev/vg/news-root,xvda,w']\n"
                     "maxvcpus = 2\nvcpus = '1'\nmaxmem = 512\nmemory = 256\nroot = '/dev/xvda ro'\n"
                     "kernel = '/boot/vmlinuz'\nname = 'news'\ntype = 'pv'\n")
    assert same_config(a, b) is True
    assert same_config(a, dict(b, vcpus=2)) is False
    assert same_config(a, dict(b, disk=['phy:/dev/vg/news-root,xvda,r'])) is False


def test_compare_running_root_and_extra_make_the_cmdline():
    cfg = {'name': 'news', 'kernel': '/boot/vmlinuz', 'root': '/dev/xvda ro', 'extra': 'console=hvc0'}
    reasons, live = compare_running(cfg, facts(cmdline='root=/dev/xvda ro console=hvc0', disks=[], vifs=[],
                                               memory_mib=None, maxmem_mib=None, maxvcpus=None))
    assert (reasons, live) == ([], {})
    reasons, live = compare_running(dict(cfg, type='pvh'), facts(disks=[], vifs=[]))
    assert reasons[:2] == ['type pvh, running pv', 'cmdline root=/dev/xvda ro console=hvc0, running root=/dev/xvda ro']


def test_compare_running_memory_without_maxmem_needs_restart_to_shrink_maxmem():
    options = dict(NEWS)
    del options['maxmem']
    reasons, live = compare_running(build_config('news', dict(options, memory=128)), facts())
    assert reasons == ['maxmem 128 MiB, running 512 MiB']
    assert live == {'memory': 128}


def test_compare_running_vcpus_beyond_the_running_maxvcpus_need_a_restart():
    cfg = build_config('news', dict(NEWS, vcpus=4, maxvcpus=4))
    reasons, live = compare_running(cfg, facts())
    assert reasons == ['maxvcpus 4, running 2', 'vcpus 4 is more than the running maxvcpus 2']
    assert live == {}
    reasons, live = compare_running(build_config('news', dict(NEWS, vcpus=2)), facts())
    assert (reasons, live) == ([], {'vcpus': 2})


def test_compare_running_memory_beyond_the_running_maxmem_needs_a_restart():
    reasons, live = compare_running(build_config('news', dict(NEWS, memory=768, maxmem=1024)), facts())
    assert reasons == ['maxmem 1024 MiB, running 512 MiB', 'memory 768 MiB is more than the running maxmem 512 MiB']
    assert live == {}


@pytest.mark.parametrize('wanted, running, reasons', [
    ('/usr/lib/xen-4.17/bin/pygrub', '/usr/bin/pygrub', []),          # the same program from another path
    ('pygrub', 'pygrub', []),
    ('pygrub', None, ['bootloader pygrub, running None']),          # running from a kernel, configured for pygrub
    ('/usr/bin/pvgrub', 'pygrub', ['bootloader /usr/bin/pvgrub, running pygrub']),
])
def test_compare_running_bootloader(wanted, running, reasons):
    options = dict(NEWS, bootloader=wanted)
    for key in ('kernel', 'ramdisk'):
        options.pop(key, None)
    got, live = compare_running(build_config('news', options), facts(bootloader=running))
    assert [r for r in got if r.startswith('bootloader')] == reasons
    assert not [r for r in got if r.startswith(('kernel', 'ramdisk', 'cmdline'))], got


def test_check_unique_macs_ignores_absent_and_itself():
    plans = [plan(running=facts()), plan(dict(NEWS, name='old'), state='absent')]
    plans[1].config = build_config('old', dict(NEWS, name='old', vifs=['mac=00:16:3e:54:69:80']))
    _domain_plan.check_unique_macs(plans, {'news': facts()})


def test_tail_reads_the_last_lines(tmp_path):
    path = tmp_path / 'xl-news.log'
    path.write_text(''.join('%d\n' % i for i in range(100)))
    assert _domain_apply.tail(str(path), lines=3) == '97\n98\n99'
    assert _domain_apply.tail(str(tmp_path / 'missing.log')) is None


# ---------------------------------------------------------------- real lab output

lab_text = labdata.text


def guests(facts):
    """The guest domains of merged ``xl list -l`` and ``xl list`` facts, as ``Toolstack.state()`` has them."""
    return dict((name, f) for name, f in facts.items() if f['domid'] != 0)


@pytest.fixture
def lab_domains():
    return guests(_xl.merge(_xl.parse_list_long(lab_text('xl_list_l.json')), _xl.parse_list(lab_text('xl_list.txt'))))


@pytest.mark.parametrize('name', ['news', 'web'])
def test_lab_domains_match_their_hand_written_configs(lab_domains, name):
    cfg = _xlcfg.parse(lab_text('%s.cfg' % name))
    assert compare_running(cfg, lab_domains[name]) == ([], {})


def test_lab_disks_of_the_hand_written_config():
    cfg = _xlcfg.parse(lab_text('news.cfg'))
    assert [render_disk(parse_disk_spec(d)) for d in cfg['disk']] == [
        'format=raw, vdev=xvda, access=rw, target=/dev/vg_xen/news-root',
        'format=raw, vdev=xvdb, access=rw, target=/dev/vg_xen/news-swap']
    vifs = [parse_vif_spec(v) for v in cfg['vif']]
    assert vifs == [{'mac': '00:16:3e:00:00:01', 'bridge': 'xenbr0'}, {'bridge': 'xenbr0'}]


def test_lab_actions_left_out_by_libxl_are_destroy(lab_domains):
    cfg = dict(_xlcfg.parse(lab_text('web.cfg')), on_crash='preserve', on_reboot='destroy')
    reasons, live = compare_running(cfg, lab_domains['web'])
    assert reasons == ['on_crash preserve, running destroy', 'on_reboot destroy, running restart']


def test_lab_running_state_words(lab_domains):
    assert [_domain_plan.run_state(lab_domains[n]) for n in ('news', 'web')] == ['running', 'running']
    paused = guests(_xl.merge(_xl.parse_list_long(lab_text('xl_list_l.json')), _xl.parse_list(lab_text('xl_list_paused.txt'))))
    assert _domain_plan.run_state(paused['web']) == 'paused'


def test_lab_plan_web_with_more_memory_and_a_disk(lab_domains):
    entry = {'name': 'web', 'type': 'pvh', 'kernel': '/var/lib/xenops-lab/vmlinux',
             'ramdisk': '/var/lib/xenops-lab/busybox-initramfs.cpio.gz', 'extra': 'console=hvc0 quiet',
             'vcpus': 1, 'memory': 96, 'maxmem': 128,
             'disks': ['phy:/dev/vg_xen/web-root,xvda,w', 'phy:/dev/vg_xen/web-data,xvdb,w'],
             'vifs': ['mac=00:16:3e:00:00:02,bridge=xenbr0']}
    p = plan_domain(desired_domain(dict(entry, restart='if_needed'), '/etc/xen'),
                    Current(lab_text('web.cfg'), lab_domains['web']))
    assert p.kinds() == ['write_config', 'restart']
    assert p.restart_reasons == ['maxmem 128 MiB, running 96 MiB', 'disk xvdb is not attached to the running domain']


def test_a_running_shim_domain_matches_its_config_and_a_change_of_pvshim_needs_a_restart():
    import labdata
    from ansible_collections.xenops.xen.plugins.module_utils._domain_compare import compare_running
    from ansible_collections.xenops.xen.plugins.module_utils._xl import config_facts, parse_list_long
    facts = config_facts(parse_list_long(labdata.text('../shim/xl_list_l.json'))[0])
    cfg = _xlcfg.parse(labdata.text('../shim/shim1.cfg'))
    reasons, live = compare_running(cfg, dict(facts, vifs=[]), previous=None)
    assert [r for r in reasons if 'vif' not in r] == []
    plain = dict(cfg)
    del plain['pvshim']
    reasons, live = compare_running(plain, dict(facts, vifs=[]), previous=None)
    assert 'pvshim 0, running in the PV shim' in reasons
