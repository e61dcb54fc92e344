# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The checks at the start of the host roles (one assert each, whose message names what is wrong), run on
this machine in check mode through the roles' preflight task files."""

from __future__ import annotations

import pytest

from roleplay import run_play, run_role_tasks


def run_checks(tmp_path, role, extra):
    return run_role_tasks(tmp_path, role, extra, 'CHECKS-PASSED')


HYPERVISOR_VARS = 'hypervisor_install_method must be one of packages, source, hypervisor_console_log one of'
HYPERVISOR_SOURCE = 'hypervisor_install_method=source needs hypervisor_source_tarball'
NETWORK_VARS = 'network_backend must be ifupdown or systemd-networkd; every bridge needs a unique name'
GRUB_VARS = 'grub_xen_options must not contain noreboot'


@pytest.mark.parametrize('role, extra, message', [
    ('hypervisor', {'hypervisor_install_method': 'rpm'}, HYPERVISOR_VARS),
    ('hypervisor', {'hypervisor_console_log': 'everything'}, HYPERVISOR_VARS),
    ('hypervisor', {'hypervisor_xl_autoballoon': 'maybe'}, HYPERVISOR_VARS),
    ('hypervisor', {'hypervisor_install_method': 'source'}, HYPERVISOR_SOURCE),
    ('network', {'network_backend': 'netplan'}, NETWORK_VARS),
    ('network', {'network_bridges': [{'name': 'a-bridge-name-too-long'}]}, NETWORK_VARS),
    ('network', {'network_bridges': [{'name': 'xenbr0'}, {'name': 'xenbr0'}]}, NETWORK_VARS),
    ('network', {'network_bridges': [{'name': 'xenbr0', 'method': 'static'}]}, NETWORK_VARS),
    ('network', {'network_bridges': [{'name': 'xenbr0', 'vlan': 10}]}, NETWORK_VARS),
    ('network', {'network_rollback_timeout': 10}, NETWORK_VARS),
    ('network', {'network_bridges': [{'name': 'xenbr0', 'uplink': 'nosuchnic9'}]},
     'Uplinks not found on the host: nosuchnic9'),
    ('grub', {'grub_xen_options': ['noreboot']}, GRUB_VARS),
    ('grub', {'grub_reboot_timeout': 0}, GRUB_VARS),
])
def test_bad_settings_are_refused_with_their_message(tmp_path, role, extra, message):
    rc, out = run_checks(tmp_path, role, extra)
    assert rc != 0
    assert message in out, out[-3000:]
    assert 'CHECKS-PASSED' not in out


@pytest.mark.parametrize('role, extra', [
    ('hypervisor', {}),
    ('hypervisor', {'hypervisor_install_method': 'source', 'hypervisor_source_url': 'https://example.org/xen.tar.gz',
                    'hypervisor_source_checksum': 'sha256:' + '0' * 64}),
    ('network', {'network_backend': 'systemd-networkd', 'network_bridges': [
        {'name': 'xenbr0', 'method': 'static', 'addresses': ['192.0.2.1/24']}, {'name': 'xenbr1', 'uplink': 'lo'}]}),
    ('grub', {}),
])
def test_good_settings_pass(tmp_path, role, extra):
    rc, out = run_checks(tmp_path, role, extra)
    assert rc == 0, out[-3000:]
    assert 'CHECKS-PASSED' in out


@pytest.mark.parametrize('extra, message', [
    ({'domains_os_variant': 'buildd'}, 'domains_os_variant: the OS install is the xenops.xen.guest_os role\'s; its '
                                       'variables are named guest_os_* (guest_os_variant)'),
    ({'domains_mount_dir': '/mnt', 'domains_os_base_build': 'controller'},
     'domains_os_base_build, domains_mount_dir: the OS install is the xenops.xen.guest_os role\'s; its variables are '
     'named guest_os_* (guest_os_base_build, guest_os_mount_dir)'),
])
def test_the_domains_role_refuses_the_install_settings_that_moved_with_their_new_names(tmp_path, extra, message):
    rc, out = run_role_tasks(tmp_path, 'domains', dict(extra, domains_list=[]), 'PLANNED', tasks_from='main',
                             gather_facts=False)
    assert rc != 0
    assert message in out, out[-3000:]
    assert 'PLANNED' not in out


def test_the_domains_plan_passes_without_them(tmp_path):
    rc, out = run_role_tasks(tmp_path, 'domains', {'domains_list': [], 'guest_os_variant': 'buildd'},
                             'PLANNED {{ __domains_plan.domains | length }}', tasks_from='main', gather_facts=False)
    assert rc == 0, out[-3000:]
    assert 'PLANNED 0' in out


DOMAIN = {'name': 'web', 'memory': 128, 'disks': [{'function': 'root', 'size': '1G'}]}


@pytest.mark.parametrize('kernel, message', [
    ('missing', 'domains_kernel {kernel} does not exist on localhost'),
    ('kernel-image', 'domains_kernel {kernel} is not named vmlinuz-VERSION ({kernel}), so no initramfs can be built'),
])
def test_the_domains_role_refuses_a_kernel_it_cannot_boot_the_domains_with(tmp_path, kernel, message):
    path = tmp_path / kernel
    if kernel != 'missing':
        path.write_text('')
    rc, out = run_role_tasks(tmp_path, 'domains', {'domains_list': [DOMAIN], 'domains_kernel': str(path)}, 'PLANNED',
                             tasks_from='main', gather_facts=False)
    assert rc != 0
    assert message.format(kernel=path) in out, out[-3000:]
    assert 'PLANNED' not in out


def test_the_domains_boot_files_follow_the_kernel_link(tmp_path):
    (tmp_path / 'vmlinuz-6.1.0-9-amd64').write_text('')
    (tmp_path / 'vmlinuz').symlink_to('vmlinuz-6.1.0-9-amd64')
    rc, out = run_role_tasks(tmp_path, 'domains', {'domains_list': [DOMAIN], 'domains_kernel': str(tmp_path / 'vmlinuz'),
                                                   'domains_initramfs_dir': str(tmp_path / 'initramfs')},
                             'BOOT {{ __domains_boot_version }} {{ __domains_boot_kernel }} {{ __domains_boot_ramdisk }}',
                             tasks_from='boot', gather_facts=False)
    assert rc == 0, out[-3000:]
    assert 'BOOT 6.1.0-9-amd64 %s/vmlinuz-6.1.0-9-amd64 %s/initramfs/initrd.img-6.1.0-9-amd64' % (tmp_path, tmp_path) in out


DOM0_READ = {'dom0': True, 'secure_boot': None, 'xen_images': ['/boot/xen-4.17-amd64.gz'], 'exists': {}}


@pytest.mark.parametrize('extra, first_boot', [
    ({}, True),                                   # this machine does not run Xen: the safe first boot
    ({'grub_safe_first_boot': False}, False),     # the Xen entry becomes the saved default at once
    ({'grub_trial_boot': True}, True),
    ({'__grub_boot': DOM0_READ}, False),          # a dom0 (what the read would say there): the default at once
    ({'__grub_boot': DOM0_READ, 'grub_trial_boot': True}, True),
])
def test_grub_chooses_the_first_boot_or_the_default_at_once(tmp_path, extra, first_boot):
    rc, out = run_role_tasks(tmp_path, 'grub', extra, 'FIRST-BOOT {{ __grub_first_boot | bool }}', tasks_from='preflight')
    assert 'FIRST-BOOT %s' % first_boot in out, out[-3000:]


def test_the_domains_role_with_its_tag_left_out_skips_guest_os(tmp_path):
    """site.yml --tags hypervisor: the domains role's tasks are left out, but the argument check of the guest_os role
    it imports is tagged always; it must be skipped, not fail on the plan that was never made."""
    play = tmp_path / 'play.yml'
    play.write_text('- hosts: all\n  gather_facts: false\n  roles:\n    - role: xenops.xen.domains\n'
                    '      tags: [domains]\n')
    rc, out = run_play(play, {'domains_list': [DOMAIN]}, ['--tags', 'hypervisor'])
    assert rc == 0, out[-3000:]
    assert 'ok=1 changed=0 unreachable=0 failed=0 skipped=1' in out, out[-3000:]
