# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""How a host boots (module_utils/_boot.py and the module xen_boot_info): GRUB's menu and environment block as
the lab wrote them, the firmware and Secure Boot, /boot and /sys/hypervisor."""

from __future__ import annotations

import os

import pytest

from ansible_collections.xenops.xen.plugins.module_utils import _boot
from ansible_collections.xenops.xen.plugins.modules.xen_boot_info import main
from ansible_collections.xenops.xen.tests.unit.plugins.modules.utils import run_module

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'boot')
UUID = '03a1df97-6682-4fe0-8173-fa5a2a67fa3d'


def fixture(name):
    """What the lab wrote (fixtures/boot/README.md says where and when)."""
    with open(os.path.join(FIXTURES, name)) as fh:
        return fh.read()


GRUB_CFG = fixture('grub-dom0-bios.cfg')
GRUBENV = fixture('grubenv-dom0')


def test_menu_entries_of_the_lab_grub_cfg():
    entries = _boot.menu_entries(GRUB_CFG)
    assert [e['id'] for e in entries] == [
        'gnulinux-simple-' + UUID,
        'gnulinux-6.1.0-50-amd64-advanced-' + UUID,
        'gnulinux-6.1.0-50-amd64-recovery-' + UUID,
        'xen-gnulinux-simple-' + UUID,
        'xen-gnulinux-6.1.0-50-amd64-advanced-' + UUID,
        'xen-gnulinux-6.1.0-50-amd64-recovery-' + UUID,
        'xen-gnulinux-6.1.0-50-amd64-advanced-' + UUID,
        'xen-gnulinux-6.1.0-50-amd64-recovery-' + UUID,
    ]
    assert entries[3]['title'] == 'Debian GNU/Linux, with Xen hypervisor'
    assert _boot.first_entry(entries, 'xen-gnulinux-') == {
        'title': 'Debian GNU/Linux, with Xen hypervisor', 'id': 'xen-gnulinux-simple-' + UUID}
    assert _boot.first_entry(entries, 'gnulinux-simple-') == {
        'title': 'Debian GNU/Linux', 'id': 'gnulinux-simple-' + UUID}


def test_grub_cfg_before_xen_has_no_xen_entry():
    # the same menu cut before the Xen entries, as update-grub writes it before Xen is installed
    before = GRUB_CFG[:GRUB_CFG.index("menuentry 'Debian GNU/Linux, with Xen hypervisor'")]
    entries = _boot.menu_entries(before)
    assert len(entries) == 3
    assert _boot.first_entry(entries, 'xen-gnulinux-') is None


def test_grub_env_of_the_lab():
    assert _boot.grub_env(GRUBENV) == {'saved_entry': 'xen-gnulinux-simple-' + UUID}
    assert _boot.grub_env('# GRUB Environment Block\nnext_entry=x=y\n' + '#' * 20) == {'next_entry': 'x=y'}
    assert _boot.grub_env(None) == {}


@pytest.mark.parametrize('data, expected', [
    (b'\x06\x00\x00\x00\x01', True),
    (b'\x06\x00\x00\x00\x00', False),
    (b'\x06\x00\x00\x00', None),
    (None, None),
])
def test_secure_boot_variable(data, expected):
    assert _boot.secure_boot(data) is expected


def test_boot_files_are_sorted_by_kind():
    names = ['System.map-6.1.0-50-amd64', 'config-6.1.0-50-amd64', 'grub', 'initrd.img-6.1.0-50-amd64',
             'vmlinuz-6.1.0-50-amd64', 'vmlinuz-6.1.0-49-amd64', 'xen-4.17-amd64.config', 'xen-4.17-amd64.efi',
             'xen-4.17-amd64.gz', 'xen.gz', 'xenstore.gz.bak']
    assert _boot.boot_files(names) == {
        'xen_images': ['xen-4.17-amd64.gz', 'xen.gz'],
        'kernels': ['vmlinuz-6.1.0-49-amd64', 'vmlinuz-6.1.0-50-amd64'],
        'initrds': ['initrd.img-6.1.0-50-amd64'],
    }


def host_tree(tmp_path, firmware='bios', secure_boot=None, dom0=True, grub=True, paths=()):
    """A stand-in for the files xen_boot_info reads: /boot with the lab's grub, /vmlinuz, efi, /sys/hypervisor."""
    boot = tmp_path / 'boot'
    (boot / 'grub').mkdir(parents=True)
    for name in ['vmlinuz-6.1.0-50-amd64', 'initrd.img-6.1.0-50-amd64', 'xen-4.17-amd64.gz', 'config-6.1.0-50-amd64']:
        (boot / name).write_text('')
    if grub:
        (boot / 'grub' / 'grub.cfg').write_text(GRUB_CFG)
        (boot / 'grub' / 'grubenv').write_text(GRUBENV)
    os.symlink('boot/vmlinuz-6.1.0-50-amd64', str(tmp_path / 'vmlinuz'))
    efi = tmp_path / 'efi'
    if firmware == 'uefi':
        (efi / 'efivars').mkdir(parents=True)
        if secure_boot is not None:
            (efi / _boot.SECURE_BOOT_VAR).write_bytes(b'\x06\x00\x00\x00' + bytes([secure_boot]))
    hyp = tmp_path / 'hypervisor'
    if dom0 is not None:
        hyp.mkdir()
        (hyp / 'type').write_text('xen\n')
        (hyp / 'uuid').write_text((_boot.DOM0_UUID if dom0 else '6bd9d2a4-6d4e-4b0a-a7f1-1a4c7b3c2d10') + '\n')
    return _boot.read_boot(boot_dir=str(boot), grub_cfg=str(boot / 'grub' / 'grub.cfg'),
                           grubenv=str(boot / 'grub' / 'grubenv'), efi_dir=str(efi), sys_hypervisor=str(hyp),
                           paths=paths)


def test_read_boot_of_a_bios_dom0(tmp_path):
    boot = host_tree(tmp_path)
    assert (boot['firmware'], boot['secure_boot'], boot['hypervisor'], boot['dom0']) == ('bios', None, 'xen', True)
    assert boot['xen_images'] == [str(tmp_path / 'boot' / 'xen-4.17-amd64.gz')]
    assert boot['kernels'] == [str(tmp_path / 'boot' / 'vmlinuz-6.1.0-50-amd64')]
    assert boot['initrds'] == [str(tmp_path / 'boot' / 'initrd.img-6.1.0-50-amd64')]
    assert boot['vmlinuz_link'] == 'boot/vmlinuz-6.1.0-50-amd64'
    assert boot['grub_cfg_found'] is True
    assert boot['xen_entry']['id'] == 'xen-gnulinux-simple-' + UUID
    assert boot['saved_entry'] == 'xen-gnulinux-simple-' + UUID


@pytest.mark.parametrize('secure_boot, expected', [(1, True), (0, False), (None, None)])
def test_read_boot_of_a_uefi_host(tmp_path, secure_boot, expected):
    boot = host_tree(tmp_path, firmware='uefi', secure_boot=secure_boot)
    assert (boot['firmware'], boot['secure_boot']) == ('uefi', expected)


@pytest.mark.parametrize('dom0, hypervisor, expected', [(False, 'xen', False), (None, None, False)])
def test_read_boot_of_a_guest_or_bare_metal(tmp_path, dom0, hypervisor, expected):
    boot = host_tree(tmp_path, dom0=dom0)
    assert (boot['hypervisor'], boot['dom0']) == (hypervisor, expected)


def test_read_boot_without_grub(tmp_path):
    boot = host_tree(tmp_path, grub=False)
    assert (boot['grub_cfg_found'], boot['grub_entries'], boot['xen_entry'], boot['saved_entry']) == (
        False, [], None, '')


def test_read_boot_tells_which_paths_are_there(tmp_path):
    (tmp_path / 'tls').mkdir()
    os.symlink(str(tmp_path / 'gone'), str(tmp_path / 'dangling.timer'))
    paths = [str(tmp_path / 'tls'), str(tmp_path / 'tls.disabled'), str(tmp_path / 'dangling.timer')]
    boot = host_tree(tmp_path, paths=paths)
    assert boot['exists'] == {paths[0]: True, paths[1]: False, paths[2]: True}
    assert host_tree(tmp_path / 'other', paths=())['exists'] == {}


@pytest.mark.parametrize('check_mode', [False, True])
def test_module_reads_without_running_a_command(tmp_path, check_mode):
    host_tree(tmp_path)
    params = {'grub_cfg': str(tmp_path / 'boot' / 'grub' / 'grub.cfg'),
              'grubenv': str(tmp_path / 'boot' / 'grub' / 'grubenv'), 'efi_dir': str(tmp_path / 'efi'),
              'paths': [str(tmp_path / 'vmlinuz'), str(tmp_path / 'nothing')]}
    result, failed, seen = run_module(main, params, calls=[], check_mode=check_mode)
    assert not failed
    assert seen == []
    assert result['changed'] is False
    assert result['firmware'] == 'bios'
    assert result['xen_entry'] == {'title': 'Debian GNU/Linux, with Xen hypervisor',
                                   'id': 'xen-gnulinux-simple-' + UUID}
    assert result['plain_entry']['title'] == 'Debian GNU/Linux'
    assert result['saved_entry'] == 'xen-gnulinux-simple-' + UUID
    assert result['exists'] == {str(tmp_path / 'vmlinuz'): True, str(tmp_path / 'nothing'): False}
