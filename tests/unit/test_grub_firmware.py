# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The grub role's preflight on BIOS and UEFI hosts, Secure Boot on and off (run on this machine, check mode,
against a stand-in for /sys/firmware/efi)."""

from __future__ import annotations

import pytest

from roleplay import run_role_tasks

SECURE_BOOT = 'SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c'


def preflight(tmp_path, efi):
    return run_role_tasks(tmp_path, 'grub', {'__grub_efi_path': str(efi)}, 'firmware={{ __grub_firmware }}',
                          gather_facts=False)


def efi_tree(tmp_path, value):
    """A stand-in for /sys/firmware/efi whose SecureBoot variable holds value (None: no such variable)."""
    efi = tmp_path / 'efi'
    (efi / 'efivars').mkdir(parents=True)
    if value is not None:
        # efivarfs: 4 bytes of attributes (non-volatile, boot and runtime access), then the value
        (efi / 'efivars' / SECURE_BOOT).write_bytes(b'\x06\x00\x00\x00' + bytes([value]))
    return efi


def test_bios_host(tmp_path):
    rc, out = preflight(tmp_path, tmp_path / 'no-efi')
    assert rc == 0, out[-3000:]
    assert 'firmware=bios' in out


@pytest.mark.parametrize('value', [0, None])
def test_uefi_host_without_secure_boot(tmp_path, value):
    rc, out = preflight(tmp_path, efi_tree(tmp_path, value))
    assert rc == 0, out[-3000:]
    assert 'firmware=uefi' in out


def test_uefi_host_with_secure_boot_on_is_refused(tmp_path):
    rc, out = preflight(tmp_path, efi_tree(tmp_path, 1))
    assert rc != 0
    assert "Secure Boot is on in this host's UEFI firmware. Debian's Xen hypervisor is not signed" in out, out[-3000:]
    assert 'firmware=' not in out
