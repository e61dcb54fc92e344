# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.xenops.xen.plugins.filter import apt_sources
from ansible_collections.xenops.xen.plugins.filter.apt_sources import debian_mirror
from ansible_collections.xenops.xen.plugins.filter.domains import FilterModule, domain_plan, guest_device, size_bytes
from ansible_collections.xenops.xen.plugins.filter.fleet import fleet_check
from ansible_collections.xenops.xen.plugins.module_utils import _domain_spec, _size
from ansible_collections.xenops.xen.plugins.module_utils._names import stable_mac

DEFAULTS = {
    'type': 'pvh', 'memory': 256, 'vcpus': 1, 'kernel': '/vmlinuz', 'ramdisk': '/initrd.img',
    'extra': 'console=hvc0', 'bridge': 'xenbr0', 'autostart': True, 'restart': 'never', 'purge_disks': False,
    'disks': [{'function': 'root', 'size': '4G', 'fstype': 'ext4'}], 'vg': 'vg_xen',
    'image_dir': '/var/lib/xen/images', 'prefix': 24, 'gateway': '', 'nameservers': [], 'dns_domain': '',
    'os': {'distribution': 'debian', 'suite': 'bookworm'}, 'root_ssh_keys': [], 'root_password_hash': '',
}


def plan(domains, **kwargs):
    return domain_plan(domains, DEFAULTS, **kwargs)


def test_filters_are_registered():
    assert sorted(FilterModule().filters()) == ['domain_plan', 'os_install_roots']
    assert sorted(apt_sources.FilterModule().filters()) == ['apt_sources_release', 'debian_mirror']


def test_fleet_macs_are_the_ones_xen_domain_writes():
    """The plan's fleet list (MACs for the fleet checks) and xen_domain's config agree for vifs without a MAC."""
    out = plan([{'name': 'web', 'vifs': [{}, {'bridge': 'xenbr1'}]}])
    cfg = _domain_spec.build_config('web', out['domains'][0])
    written = [dict(item.split('=', 1) for item in vif.split(','))['mac'] for vif in cfg['vif']]
    assert [v['mac'] for v in out['fleet'][0]['vifs']] == written == [stable_mac('web', 0), stable_mac('web', 1)]


# One size grammar for the collection: the role's filter reads a size as xen_lv does.
SIZES = [('4G', 4 << 30), ('4g', 4 << 30), ('512M', 512 << 20), ('1GiB', 1 << 30), (4096, 4096), ('4096', 4096),
         ('1.5G', 3 << 29), ('2048m', 2 << 30), (' 10G ', 10 << 30)]
BAD_SIZES = [('4GB', 'ambiguous'), ('0', 'greater than zero'), (0, 'greater than zero'), ('-1G', 'relative'),
             ('+1G', 'relative'), ('100%FREE', 'percentage'), ('4X', 'unknown unit'), (True, 'number of bytes'),
             ('', 'must not be empty'), ('1.5Q', 'unknown unit')]


@pytest.mark.parametrize('text, size', SIZES)
def test_the_filter_reads_a_size_as_xen_lv_does(text, size):
    assert size_bytes(text, 'x') == size == _size.parse_size(text)


@pytest.mark.parametrize('text, word', BAD_SIZES)
def test_the_filter_refuses_a_size_as_xen_lv_does(text, word):
    with pytest.raises(AnsibleFilterError, match=word) as exc:
        size_bytes(text, 'domain a: disk 0')
    assert str(exc.value).startswith('domain a: disk 0: size')
    with pytest.raises(_size.SizeError, match=word):
        _size.parse_size(text)


def test_guest_device():
    assert guest_device('xvda') == '/dev/xvda'
    assert guest_device('sda1') == '/dev/xvda1'
    assert guest_device('hdb') == '/dev/xvdb'


def test_minimal_domain_gets_the_defaults():
    out = plan([{'name': 'web'}])
    assert out['domains'] == [{
        'name': 'web', 'state': 'running', 'type': 'pvh', 'memory': 256, 'vcpus': 1,
        'disks': [{'target': '/dev/vg_xen/web-root', 'vdev': 'xvda', 'access': 'w', 'format': 'raw'}],
        'vifs': [{'bridge': 'xenbr0'}], 'autostart': True, 'restart': 'never',
        'kernel': '/vmlinuz', 'ramdisk': '/initrd.img', 'root': '/dev/xvda ro', 'extra': 'console=hvc0',
    }]
    assert out['volumes'] == [{'vg': 'vg_xen', 'domain': 'web', 'function': 'root', 'size': '4G', 'fstype': 'ext4'}]
    assert out['images'] == [] and out['purge_volumes'] == [] and out['purge_images'] == []
    root = out['roots'][0]
    assert root['kind'] == 'lvm' and root['device'] == '/dev/vg_xen/web-root' and root['lv'] == 'vg_xen/web-root'
    assert root['marker'] == '/dev/vg_xen/web-root'
    assert root['os'] == {'distribution': 'debian', 'suite': 'bookworm', 'mirror': '', 'security_mirror': ''}
    assert root['fstab'] == [{'device': '/dev/xvda', 'mount': '/', 'fstype': 'ext4', 'options': 'errors=remount-ro',
                              'pass': 1}]
    assert root['networks'] == [{'index': 0, 'names': ['enX0', 'eth0'], 'dhcp': True}]
    assert out['fleet'] == [{'name': 'web', 'vifs': [{'mac': stable_mac('web', 0), 'ip': ''}]}]


def test_full_domain():
    out = plan([{
        'name': 'news', 'memory': 192, 'maxmem': 256, 'vcpus': 1, 'maxvcpus': 2, 'type': 'pv',
        'extra': 'console=hvc0 quiet', 'restart': 'if_needed', 'autostart': False, 'on_crash': 'restart',
        'hostname': 'newsserver', 'dns_domain': 'example.org', 'nameservers': ['192.0.2.53'],
        'root_ssh_keys': 'ssh-ed25519 AAAA admin',
        'disks': [
            {'function': 'root', 'size': '2G', 'vg': 'vg_fast'},
            {'function': 'swap', 'size': '256M'},
            {'type': 'file', 'function': 'spool', 'size': '1G', 'fstype': 'xfs', 'mount': '/var/spool/news'},
            {'type': 'phy', 'target': '/dev/sdc3', 'vdev': 'xvdz'},
        ],
        'vifs': [{'bridge': 'xenbr1', 'mac': '00:16:3E:AA:BB:CC', 'ip': '192.0.2.10/25', 'gateway': '192.0.2.1'},
                 {'ip': 'dhcp'}],
    }])
    dom = out['domains'][0]
    assert dom['disks'] == [
        {'target': '/dev/vg_fast/news-root', 'vdev': 'xvda', 'access': 'w', 'format': 'raw'},
        {'target': '/dev/vg_xen/news-swap', 'vdev': 'xvdb', 'access': 'w', 'format': 'raw'},
        {'target': '/var/lib/xen/images/news-spool.img', 'vdev': 'xvdc', 'access': 'w', 'format': 'raw'},
        {'target': '/dev/sdc3', 'vdev': 'xvdz', 'access': 'w', 'format': 'raw'},
    ]
    assert dom['vifs'] == [{'bridge': 'xenbr1', 'mac': '00:16:3e:aa:bb:cc'}, {'bridge': 'xenbr0'}]
    assert (dom['maxmem'], dom['maxvcpus'], dom['type'], dom['restart'], dom['autostart'], dom['on_crash']) == \
        (256, 2, 'pv', 'if_needed', False, 'restart')
    assert dom['extra'] == 'console=hvc0 quiet'
    assert out['volumes'] == [
        {'vg': 'vg_fast', 'domain': 'news', 'function': 'root', 'size': '2G', 'fstype': 'ext4'},
        {'vg': 'vg_xen', 'domain': 'news', 'function': 'swap', 'size': '256M', 'fstype': 'swap'},
    ]
    assert out['images'] == [{'domain': 'news', 'path': '/var/lib/xen/images/news-spool.img', 'bytes': 1 << 30,
                              'size': '1G', 'fstype': 'xfs', 'label': ''}]
    root = out['roots'][0]
    assert [e['mount'] for e in root['fstab']] == ['/', 'none', '/var/spool/news']
    assert root['fstab'][1] == {'device': '/dev/xvdb', 'mount': 'none', 'fstype': 'swap',
                                'options': 'sw,x-systemd.device-timeout=5min', 'pass': 0}
    assert root['fstab'][2]['options'] == 'defaults,x-systemd.device-timeout=5min'
    assert root['networks'] == [
        {'index': 0, 'names': ['enX0', 'eth0'], 'address': '192.0.2.10/25', 'ip': '192.0.2.10', 'gateway': '192.0.2.1'},
        {'index': 1, 'names': ['enX1', 'eth1'], 'dhcp': True},
    ]
    assert (root['hostname'], root['fqdn'], root['nameservers'], root['root_ssh_keys']) == \
        ('newsserver', 'newsserver.example.org', ['192.0.2.53'], ['ssh-ed25519 AAAA admin'])
    assert out['fleet'][0]['vifs'] == [{'mac': '00:16:3e:aa:bb:cc', 'ip': '192.0.2.10'},
                                       {'mac': stable_mac('news', 1), 'ip': ''}]


def test_file_root_uses_a_stamp_and_os_none_installs_nothing():
    out = plan([
        {'name': 'a', 'disks': [{'type': 'file', 'size': '2G'}]},
        {'name': 'b', 'os': 'none', 'disks': [{'type': 'file', 'path': '/srv/b.img', 'size': '2G'}]},
    ])
    assert [r['name'] for r in out['roots']] == ['a']
    assert out['roots'][0]['marker'] == '/var/lib/xen/images/a-root.img.xenops-os'
    assert [i['path'] for i in out['images']] == ['/var/lib/xen/images/a-root.img', '/srv/b.img']


def test_domain_level_address_applies_to_the_first_vif_with_default_gateway():
    out = domain_plan([{'name': 'a', 'ip': '198.51.100.7'}, {'name': 'b', 'ip': '203.0.113.5'}],
                      dict(DEFAULTS, gateway='198.51.100.1'))
    assert out['roots'][0]['networks'][0] == {'index': 0, 'names': ['enX0', 'eth0'], 'address': '198.51.100.7/24',
                                              'ip': '198.51.100.7', 'gateway': '198.51.100.1'}
    assert 'gateway' not in out['roots'][1]['networks'][0]


def test_subnet_gives_addresses_only_to_domains_without_one():
    doms = [
        {'name': 'a'},
        {'name': 'b', 'vifs': [{'ip': '192.0.2.2/24'}]},
        {'name': 'c', 'ip': 'dhcp'},
        {'name': 'd', 'vifs': []},
        {'name': 'e', 'state': 'absent'},
        {'name': 'f'},
    ]
    out = plan(doms, subnet='192.0.2.0/29', reserved=['192.0.2.1'], method='index')
    ips = dict((f['name'], [v['ip'] for v in f['vifs']]) for f in out['fleet'])
    assert ips == {'a': ['192.0.2.3'], 'b': ['192.0.2.2'], 'c': [''], 'd': [], 'f': ['192.0.2.4']}
    assert out['roots'][0]['networks'][0]['address'] == '192.0.2.3/29'
    # what the domains role publishes as domains_addresses: no entry for DHCP, none for the absent domain
    assert out['addresses'] == {'a': ['192.0.2.3'], 'b': ['192.0.2.2'], 'c': [], 'd': [], 'f': ['192.0.2.4']}


def test_subnet_name_method_is_stable():
    one = plan([{'name': 'a'}, {'name': 'b'}], subnet='198.51.100.0/24')
    two = plan([{'name': 'b'}], subnet='198.51.100.0/24')
    assert one['fleet'][1]['vifs'][0]['ip'] == two['fleet'][0]['vifs'][0]['ip']


def test_absent_domain_and_purge():
    out = plan([
        {'name': 'old', 'state': 'absent', 'purge_disks': True,
         'disks': [{'function': 'root'}, {'type': 'file', 'function': 'data'}, {'type': 'phy', 'target': '/dev/sdz'}]},
        {'name': 'kept', 'state': 'absent', 'shutdown_timeout': 30},
    ])
    assert out['domains'] == [{'name': 'old', 'state': 'absent'},
                              {'name': 'kept', 'state': 'absent', 'shutdown_timeout': 30}]
    assert out['purge_volumes'] == [{'vg': 'vg_xen', 'name': 'old-root', 'state': 'absent'}]
    assert out['purge_images'] == ['/var/lib/xen/images/old-data.img', '/var/lib/xen/images/old-data.img.xenops-os']
    assert out['volumes'] == [] and out['roots'] == [] and out['fleet'] == [] and out['addresses'] == {}


def test_drbd_disk_is_opened_through_block_drbd_and_made_by_nobody_here():
    out = plan([{'name': 'c2', 'os': 'none', 'disks': [{'type': 'drbd', 'function': 'data', 'vdev': 'xvda'},
                                                       {'type': 'drbd', 'resource': 'shared-r1', 'access': 'r'}]}])
    assert out['domains'][0]['disks'] == [
        {'target': 'c2-data', 'vdev': 'xvda', 'access': 'w', 'format': 'raw', 'script': 'block-drbd'},
        {'target': 'shared-r1', 'vdev': 'xvdb', 'access': 'r', 'format': 'raw', 'script': 'block-drbd'}]
    # no volume, no image, no system: the resource comes from xenops.xen.xen_drbd
    assert out['volumes'] == [] and out['images'] == [] and out['roots'] == []


def test_bootloader_domain_has_no_kernel():
    out = plan([{'name': 'g', 'bootloader': 'pygrub', 'os': 'none'}])
    dom = out['domains'][0]
    assert dom['bootloader'] == 'pygrub'
    assert not set(dom) & {'kernel', 'ramdisk', 'root', 'extra'}


def test_hvm_domain_boots_from_its_disks_and_an_iso_with_nothing_installed():
    # domains_os (DEFAULTS) is debian: it does not apply to an hvm domain
    out = plan([{'name': 'r1', 'type': 'hvm', 'memory': 512, 'extra_options': {'boot': 'dc'},
                 'disks': [{'function': 'root', 'size': '2G', 'fstype': 'none', 'vdev': 'hda'},
                           {'type': 'phy', 'target': '/srv/iso/r.iso', 'devtype': 'cdrom', 'vdev': 'hdc'}]}])
    dom = out['domains'][0]
    assert not set(dom) & {'kernel', 'ramdisk', 'root', 'extra', 'bootloader'}
    assert dom['disks'] == [
        {'target': '/dev/vg_xen/r1-root', 'vdev': 'hda', 'access': 'w', 'format': 'raw'},
        {'target': '/srv/iso/r.iso', 'vdev': 'hdc', 'access': 'ro', 'format': 'raw', 'devtype': 'cdrom'}]
    assert out['roots'] == []
    assert out['volumes'] == [{'vg': 'vg_xen', 'domain': 'r1', 'function': 'root', 'size': '2G', 'fstype': 'none'}]
    # what xen_domain writes for it: the CD-ROM, the boot order, the consoles
    cfg = _domain_spec.build_config('r1', dom)
    assert cfg['disk'][1] == 'format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/srv/iso/r.iso'
    assert (cfg['boot'], cfg['serial'], cfg['vnclisten']) == ('dc', 'pty', '127.0.0.1')


def test_hvm_domain_keeps_a_kernel_given_for_it():
    out = plan([{'name': 'r1', 'type': 'hvm', 'kernel': '/boot/k', 'extra': 'console=ttyS0', 'disks': []}])
    dom = out['domains'][0]
    assert (dom['kernel'], dom['extra']) == ('/boot/k', 'console=ttyS0')
    assert 'ramdisk' not in dom and 'root' not in dom


def test_empty_ramdisk_and_extra_are_left_out():
    out = domain_plan([{'name': 'g', 'ramdisk': '', 'extra': ''}], DEFAULTS)
    assert 'ramdisk' not in out['domains'][0] and 'extra' not in out['domains'][0]


@pytest.mark.parametrize('domains, message', [
    ([{'memory': 1}], 'domain 0 has no name'),
    ([{'name': 'a'}, {'name': 'a'}], 'domain a is listed twice'),
    ([{'name': 'a', 'memroy': 1}], r'domain a: unknown key\(s\) memroy'),
    ([{'name': 'a', 'state': 'up'}], 'domain a: state must be one of'),
    ([{'name': 'a', 'disks': [{'size': '1G', 'fstype': 'btrfs'}]}], 'domain a: disk 0: fstype must be one of'),
    ([{'name': 'a', 'disks': [{'fstype': 'ext4'}]}], r'domain a: disk 0 \(/dev/vg_xen/a-root\): size is missing'),
    ([{'name': 'a', 'disks': [{'size': '1G'}, {'size': '1G', 'vdev': 'xvda'}]}], 'two disks with vdev xvda'),
    ([{'name': 'a', 'disks': [{'size': '1G'}, {'size': '1G', 'function': 'root'}]}], 'two disks with function root'),
    ([{'name': 'a', 'disks': [{'type': 'phy'}]}], 'a phy disk needs target'),
    ([{'name': 'a', 'disks': [{'type': 'phy', 'target': '/dev/sdc'}]}], 'is a phy disk, which is never installed'),
    ([{'name': 'a', 'disks': [{'size': '1G', 'fstype': 'swap'}]}], 'needs fstype ext4 or xfs'),
    ([{'name': 'a', 'disks': [{'type': 'drbd'}]}], 'is a drbd disk, which is never installed'),
    ([{'name': 'a', 'os': 'none', 'disks': [{'type': 'drbd', 'resource': 'bad name'}]}], 'not a DRBD resource name'),
    ([{'name': 'a', 'os': 'none', 'disks': [{'type': 'drbd'}]},
      {'name': 'b', 'os': 'none', 'disks': [{'type': 'drbd', 'resource': 'a-root'}]}],
     'domain b: disk a-root is also a disk of domain a'),
    ([{'name': 'a', 'disks': []}], 'has no disks'),
    ([{'name': 'a', 'type': 'hvm', 'os': {'suite': 'bookworm'}}], 'domain a: an hvm domain boots its own OS.*set os: none'),
    ([{'name': 'a', 'os': 'none', 'disks': [{'size': '1G', 'devtype': 'cdrom'}]}],
     "domain a: disk 0: devtype may only be cdrom, on a disk of type phy.*got devtype 'cdrom' on a lvm disk"),
    ([{'name': 'a', 'os': 'none', 'disks': [{'type': 'phy', 'target': '/dev/sdc', 'devtype': 'floppy'}]}],
     "devtype may only be cdrom.*got devtype 'floppy' on a phy disk"),
    ([{'name': 'a', 'os': {'distribution': 'fedora', 'suite': '40'}}], 'only debian'),
    ([{'name': 'a', 'os': 'bookworm'}], 'os must be a dict'),
    ([{'name': 'a', 'vifs': [{'ip': '192.0.2.300'}]}], "domain a: vif 0: '192.0.2.300' is not an address"),
    ([{'name': 'a', 'memory': 'lots'}], 'domain a: memory must be a whole number'),
    ([{'name': 'a', 'vcpus': 0}], 'domain a: vcpus must be at least 1'),
    ([{'name': 'a', 'disks': [{'type': 'file', 'path': '/x.img', 'size': '1G'}]},
      {'name': 'b', 'disks': [{'type': 'file', 'path': '/x.img', 'size': '1G'}]}],
     'domain b: disk /x.img is also a disk of domain a'),
])
def test_refused(domains, message):
    with pytest.raises(AnsibleFilterError, match=message):
        plan(domains)


def test_fleet_check_sees_generated_macs_and_addresses_across_hosts():
    host1 = plan([{'name': 'a', 'ip': '192.0.2.5'}])['fleet']
    host2 = plan([{'name': 'b', 'vifs': [{'ip': '192.0.2.5/24', 'mac': stable_mac('a', 0)}]}])['fleet']
    with pytest.raises(AnsibleFilterError) as exc:
        fleet_check({'h1': host1, 'h2': host2})
    assert 'duplicate MAC %s' % stable_mac('a', 0) in str(exc.value)
    assert 'duplicate IP 192.0.2.5' in str(exc.value)


DEB822 = """\
Types: deb
URIs: http://archive.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://archive.example/debian-security
Suites: bookworm-security
Components: main

# Types: deb
Types: deb
Enabled: no
URIs: http://disabled.example/debian
Suites: bookworm
"""

ONE_LINE = """\
# deb http://commented.example/debian bookworm main
deb-src http://src.example/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://mirror.example/debian/ bookworm main contrib
deb http://mirror.example/debian-security bookworm-security main
"""


def test_debian_mirror_deb822():
    assert debian_mirror([DEB822]) == {'mirror': 'http://archive.example/debian',
                                       'security_mirror': 'http://archive.example/debian-security'}


def test_debian_mirror_one_line():
    assert debian_mirror(ONE_LINE) == {'mirror': 'http://mirror.example/debian',
                                       'security_mirror': 'http://mirror.example/debian-security'}


def test_debian_mirror_none():
    assert debian_mirror([]) == {'mirror': '', 'security_mirror': ''}


def test_boot_settle_default_and_override():
    out = domain_plan([{'name': 'a'}, {'name': 'b', 'boot_settle': 0}], dict(DEFAULTS, boot_settle='15'))
    assert [d.get('boot_settle') for d in out['domains']] == [15, 0]
    # without a default, xen_domain's own applies
    assert 'boot_settle' not in plan([{'name': 'a'}])['domains'][0]
    with pytest.raises(AnsibleFilterError, match='boot_settle'):
        domain_plan([{'name': 'a'}], dict(DEFAULTS, boot_settle='soon'))


# ---------------------------------------------------------------- network driver domains

def driver_plan(**router):
    defaults = dict(DEFAULTS, driver_domain_packages=['xen-utils-4.17'], backend_timeout=300)
    entry = dict({'name': 'router', 'driver_domain': True, 'vifs': [{'ip': '192.0.2.20/24'}],
                  'bridges': [{'name': 'lan0', 'addresses': ['10.77.0.1/24']}, {'name': 'lan1', 'uplink': 'enX0'}]},
                 **router)
    return domain_plan([{'name': 'db', 'vifs': [{'backend': 'router', 'ip': '10.77.0.10/24'},
                                                {'backend': 'router', 'bridge': 'lan1'}]}, entry], defaults)


def test_driver_domain_and_its_client():
    out = driver_plan()
    db, router = out['domains']
    assert router['driver_domain'] is True and 'driver_domain' not in db
    # the client's first vif is on the driver domain's first bridge, not on domains_bridge
    assert db['vifs'] == [{'bridge': 'lan0', 'backend': 'router'}, {'bridge': 'lan1', 'backend': 'router'}]
    assert out['driver_domains'] == [{'name': 'router', 'autostart': True, 'backend_timeout': 300, 'bridges': [
        {'name': 'lan0', 'method': 'static', 'addresses': ['10.77.0.1/24']},
        {'name': 'lan1', 'method': 'none', 'addresses': [], 'uplink': 'enX0'}]}]
    roots = dict((r['name'], r) for r in out['roots'])
    assert (roots['router']['driver_domain'], roots['router']['base_packages'], roots['router']['base']) == (
        True, ['xen-utils-4.17'], 'bookworm+xen-utils-4.17')
    assert roots['router']['bridges'] == out['driver_domains'][0]['bridges']
    assert (roots['db']['driver_domain'], roots['db']['base_packages'], roots['db']['base']) == (False, [], 'bookworm')
    assert roots['db']['networks'][0]['address'] == '10.77.0.10/24'
    # xen_domain writes what the plan says
    cfg = _domain_spec.build_config('router', router)
    assert cfg['driver_domain'] == 1


@pytest.mark.parametrize('domains, message', [
    ([{'name': 'db', 'vifs': [{'backend': 'router'}]}],
     'domain db: vif 0: backend router is not a driver domain of this host'),
    ([{'name': 'db', 'vifs': [{'backend': 'router'}]}, {'name': 'router'}],
     'domain db: vif 0: backend router is not a driver domain of this host'),
    ([{'name': 'db', 'vifs': [{'backend': 'db'}]}], 'domain db: vif 0: a domain cannot be the backend of its own vif'),
    ([{'name': 'db', 'vifs': [{'backend': 'r', 'bridge': 'xenbr0'}]},
      {'name': 'r', 'driver_domain': True, 'bridges': [{'name': 'lan0'}]}],
     'domain db: vif 0: bridge xenbr0 is not one of the bridges of driver domain r (lan0)'),
    ([{'name': 'db', 'vifs': [{'backend': 'r'}]}, {'name': 'r', 'driver_domain': True, 'state': 'stopped'}],
     'domain db: vif 0: bridge (none) is not one of the bridges of driver domain r (none)'),
    ([{'name': 'db', 'vifs': [{'backend': 'r', 'bridge': 'lan0'}]},
      {'name': 'r', 'driver_domain': True, 'state': 'stopped', 'bridges': [{'name': 'lan0'}]}],
     'domain db: its vif backend r has state stopped; a running domain needs its driver domain running'),
    ([{'name': 'r', 'bridges': [{'name': 'lan0'}]}],
     'domain r: bridges are made inside a network driver domain; set driver_domain: true'),
    ([{'name': 'r', 'driver_domain': 'maybe'}], 'domain r: driver_domain must be true or false'),
    ([{'name': 'r', 'driver_domain': True, 'bridges': [{'name': 'a bridge'}]}],
     "domain r: bridge 0: name 'a bridge' may only contain letters, digits, _, . and -, and may not begin with . or -"),
    ([{'name': 'r', 'driver_domain': True, 'bridges': [{'name': '-lan0'}]}],
     "domain r: bridge 0: name '-lan0' may only contain letters, digits, _, . and -, and may not begin with . or -"),
    ([{'name': 'r', 'driver_domain': True, 'bridges': [{'name': 'lan0', 'uplink': 'enX0123456789abc'}]}],
     "domain r: bridge 0: uplink 'enX0123456789abc' is longer than 15 characters (the Linux limit)"),
    ([{'name': 'r', 'driver_domain': True, 'bridges': [{'name': 'lan0', 'method': 'static'}]}],
     'domain r: bridge 0: method static needs addresses'),
    ([{'name': 'r', 'driver_domain': True, 'bridges': [{'name': 'lan0', 'method': 'none', 'addresses': ['10.0.0.1/24']}]}],
     'domain r: bridge 0: addresses need method static'),
    ([{'name': 'r', 'driver_domain': True, 'bridges': [{'name': 'lan0', 'addresses': ['10.0.0.300/24']}]}],
     'domain r: bridge 0: addresses'),
    ([{'name': 'r', 'driver_domain': True, 'bridges': [{'name': 'lan0'}, {'name': 'lan0'}]}],
     'domain r: bridge lan0 is listed twice'),
    ([{'name': 'r', 'driver_domain': True, 'bridges': [{'name': 'lan0', 'vlan': 5}]}],
     'domain r: bridge 0: unknown key(s) vlan'),
])
def test_driver_domain_refused(domains, message):
    with pytest.raises(AnsibleFilterError) as exc:
        plan(domains)
    assert message in str(exc.value)


def test_a_host_without_driver_domains_plans_as_before():
    out = plan([{'name': 'web'}])
    assert out['driver_domains'] == []
    assert out['roots'][0]['base'] == 'bookworm' and out['roots'][0]['base_packages'] == []


def test_pvshim_makes_a_pvh_domain_that_boots_the_pv_kernel_in_the_shim():
    out = domain_plan([{'name': 'web', 'pvshim': True}, {'name': 'db'}], dict(DEFAULTS, type='pv'))
    web, db = out['domains']
    assert (web['type'], web['pvshim'], web['kernel'], web['ramdisk']) == ('pvh', True, '/vmlinuz', '/initrd.img')
    assert (db['type'], 'pvshim' in db) == ('pv', False)
    # what xen_domain writes for it
    cfg = _domain_spec.build_config('web', web)
    assert (cfg['type'], cfg['pvshim'], cfg['kernel']) == ('pvh', 1, '/vmlinuz')


def test_the_pvshim_default_applies_to_domains_without_a_type_of_their_own():
    out = domain_plan([{'name': 'web'}, {'name': 'hvm1', 'type': 'hvm', 'disks': [], 'os': 'none'},
                       {'name': 'old', 'type': 'pv'}, {'name': 'plain', 'pvshim': False}],
                      dict(DEFAULTS, type='pv', pvshim=True))
    got = dict((d['name'], (d['type'], d.get('pvshim', False))) for d in out['domains'])
    assert got == {'web': ('pvh', True), 'hvm1': ('hvm', False), 'old': ('pv', False), 'plain': ('pv', False)}


@pytest.mark.parametrize('domain, message', [
    ({'name': 'web', 'pvshim': True, 'type': 'pv'},
     'domain web: pvshim runs a PV kernel inside a PVH container: it needs type pvh, not pv'),
    ({'name': 'web', 'pvshim': 'maybe'}, 'domain web: pvshim'),
])
def test_pvshim_with_another_type_or_not_a_boolean_is_refused(domain, message):
    with pytest.raises(AnsibleFilterError) as exc:
        plan([domain])
    assert message in str(exc.value)


def test_a_default_os_without_a_suite_is_an_error_only_for_a_domain_that_gets_it():
    no_suite = dict(DEFAULTS, os={'distribution': 'debian', 'suite': ''})
    assert domain_plan([], no_suite)['domains'] == []
    assert domain_plan([{'name': 'web', 'os': {'suite': 'trixie'}}], no_suite)['roots'][0]['os']['suite'] == 'trixie'
    with pytest.raises(AnsibleFilterError, match=r"domain web: os.suite is missing \(domains_os names none, and the "
                                                 r"host's Debian release is not known\)"):
        domain_plan([{'name': 'web'}], no_suite)
