# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How a host boots: its firmware, the Xen images and kernels in /boot, GRUB's entries and saved default,
and whether it runs as Xen's dom0.

Pure parsers, and :func:`read_boot` (the one place here that reads files; it runs no command).
"""

from __future__ import annotations

import os
import re

# /sys/hypervisor of a Xen dom0: type "xen" and the all-zero domain handle.
DOM0_UUID = '00000000-0000-0000-0000-000000000000'
# UEFI global variable SecureBoot (EFI_GLOBAL_VARIABLE GUID) in efivarfs
SECURE_BOOT_VAR = 'efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c'
XEN_IMAGE_RE = re.compile(r'^xen(-.*)?\.gz$')
# a menuentry line of grub.cfg: its title and its id ($menuentry_id_option 'ID')
MENUENTRY_RE = re.compile(r"^\s*menuentry\s+'(?P<title>[^']*)'[^\n]*\$menuentry_id_option\s+'(?P<id>[^']*)'", re.M)


def menu_entries(text):
    """[{'title', 'id'}] of every menuentry of a grub.cfg (also those inside submenus), in order."""
    return [{'title': m.group('title'), 'id': m.group('id')} for m in MENUENTRY_RE.finditer(text or '')]


def first_entry(entries, prefix):
    """The first entry whose id starts with prefix, or None."""
    return next((entry for entry in entries if entry['id'].startswith(prefix)), None)


def grub_env(text):
    """The variables of a GRUB environment block (KEY=VALUE lines, comments and the '#' padding left out)."""
    env = {}
    for line in (text or '').splitlines():
        if not line or line.startswith('#') or '=' not in line:
            continue
        key, value = line.split('=', 1)
        env[key] = value
    return env


def secure_boot(data):
    """Secure Boot state from the bytes of efivarfs' SecureBoot variable (4 bytes of attributes, then the value);
    None when there is no value."""
    if data is None or len(data) < 5:
        return None
    return data[4] == 1


def boot_files(names):
    """The Xen images, kernels and initial ramdisks among the names of /boot, each sorted."""
    return {
        'xen_images': sorted(n for n in names if XEN_IMAGE_RE.match(n)),
        'kernels': sorted(n for n in names if n.startswith('vmlinuz-')),
        'initrds': sorted(n for n in names if n.startswith('initrd.img-')),
    }


def summary(files, grub_cfg, grubenv, efi, secure_boot_data, hypervisor):
    """What :func:`read_boot` returns, from what it read (None for a file that is not there)."""
    entries = menu_entries(grub_cfg)
    env = grub_env(grubenv)
    hypervisor_type, hypervisor_uuid = (hypervisor or (None, None))
    result = {
        'firmware': 'uefi' if efi else 'bios',
        'secure_boot': secure_boot(secure_boot_data) if efi else None,
        'hypervisor': hypervisor_type,
        'dom0': hypervisor_type == 'xen' and hypervisor_uuid == DOM0_UUID,
        'grub_cfg_found': grub_cfg is not None,
        'grub_entries': entries,
        'xen_entry': first_entry(entries, 'xen-gnulinux-'),
        'plain_entry': first_entry(entries, 'gnulinux-simple-'),
        'grub_env': env,
        'saved_entry': env.get('saved_entry', ''),
    }
    result.update(files)
    return result


def _read(path, binary=False):
    try:
        with open(path, 'rb' if binary else 'r') as fh:
            return fh.read()
    except (IOError, OSError):
        return None


def read_boot(boot_dir='/boot', grub_cfg='/boot/grub/grub.cfg', grubenv='/boot/grub/grubenv',
              efi_dir='/sys/firmware/efi', sys_hypervisor='/sys/hypervisor', paths=()):
    """Read the files that tell how the host boots; see :func:`summary`. ``exists`` tells for each of ``paths``
    whether it is there (a dangling link counts: it is there, as for the stat module)."""
    try:
        names = os.listdir(boot_dir)
    except (IOError, OSError):
        names = []
    files = boot_files(names)
    files['xen_images'] = [os.path.join(boot_dir, n) for n in files['xen_images']]
    files['kernels'] = [os.path.join(boot_dir, n) for n in files['kernels']]
    files['initrds'] = [os.path.join(boot_dir, n) for n in files['initrds']]
    link = os.path.join(os.path.dirname(boot_dir.rstrip('/')) or '/', 'vmlinuz')
    files['vmlinuz_link'] = os.readlink(link) if os.path.islink(link) else None
    efi = os.path.isdir(efi_dir)
    hv_type = _read(os.path.join(sys_hypervisor, 'type'))
    hv_uuid = _read(os.path.join(sys_hypervisor, 'uuid'))
    hypervisor = (hv_type.strip(), (hv_uuid or '').strip()) if hv_type is not None else None
    result = summary(files, _read(grub_cfg), _read(grubenv), efi,
                     _read(os.path.join(efi_dir, SECURE_BOOT_VAR), binary=True) if efi else None, hypervisor)
    result['exists'] = dict((path, os.path.lexists(path)) for path in paths)
    return result
