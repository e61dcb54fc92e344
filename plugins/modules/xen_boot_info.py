#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: xen_boot_info
short_description: Read how a host boots, for the boot into Xen
version_added: 0.1.0
description:
  - Returns what a host's boot into Xen depends on, read from files only; it runs no command and never changes
    anything.
  - That is the firmware (BIOS or UEFI) and the state of Secure Boot, the Xen images, kernels and initial ramdisks
    in C(/boot) and the target of C(/vmlinuz), the menu entries of GRUB's C(grub.cfg) and its saved default (from
    the environment block C(grubenv)), and whether the host runs as Xen's dom0 (C(/sys/hypervisor)).
  - It also tells whether each of O(paths) is there, for the roles' other files (such as a watchdog unit or
    C(/lib/tls)).
  - The roles C(xenops.xen.grub), C(xenops.xen.kernel) and C(xenops.xen.hypervisor) read a host with it, once
    instead of one task per file.
extends_documentation_fragment:
  - xenops.xen.attributes
  - xenops.xen.attributes.info_module
options:
  grub_cfg:
    description: GRUB's configuration file.
    type: path
    default: /boot/grub/grub.cfg
  grubenv:
    description: GRUB's environment block (where C(grub-set-default) and C(grub-reboot) write).
    type: path
    default: /boot/grub/grubenv
  efi_dir:
    description: Where the UEFI firmware shows itself to Linux; a host without it booted through BIOS.
    type: path
    default: /sys/firmware/efi
  paths:
    description: More paths to look for; RV(exists) tells which are there.
    type: list
    elements: path
    default: []
requirements:
  - Linux; GRUB 2 for the grub entries.
seealso:
  - module: xenops.xen.xen_info
notes:
  - Run it as root, like the roles do, to read C(/boot/grub) on every host.
'''

EXAMPLES = r'''
- name: Read how the host boots
  xenops.xen.xen_boot_info:
  register: boot

- name: Stop when Secure Boot is on (Debian's Xen is not signed)
  ansible.builtin.assert:
    that:
      - not boot.secure_boot
    fail_msg: Turn Secure Boot off in the firmware setup first.

- name: Show the Xen entry of GRUB and the saved default
  ansible.builtin.debug:
    msg: "{{ boot.xen_entry.title | default('no Xen entry') }}, saved default {{ boot.saved_entry }}"
'''

RETURN = r'''
firmware:
  description: V(uefi) when O(efi_dir) exists, else V(bios).
  returned: always
  type: str
  sample: bios
secure_boot:
  description: Whether Secure Boot is on (the UEFI variable C(SecureBoot)); V(null) on BIOS or without the variable.
  returned: always
  type: bool
  sample: false
hypervisor:
  description: The hypervisor the host runs on (C(/sys/hypervisor/type)), V(null) when there is none.
  returned: always
  type: str
  sample: xen
dom0:
  description: Whether the host runs as Xen's dom0 (hypervisor V(xen) and the all-zero domain handle).
  returned: always
  type: bool
  sample: true
xen_images:
  description: The Xen hypervisor images in C(/boot) (C(xen-*.gz), C(xen.gz)), sorted.
  returned: always
  type: list
  elements: path
  sample: [/boot/xen-4.17-amd64.gz]
kernels:
  description: The kernels in C(/boot) (C(vmlinuz-*)), sorted.
  returned: always
  type: list
  elements: path
  sample: [/boot/vmlinuz-6.1.0-50-amd64]
initrds:
  description: The initial ramdisks in C(/boot) (C(initrd.img-*)), sorted.
  returned: always
  type: list
  elements: path
  sample: [/boot/initrd.img-6.1.0-50-amd64]
vmlinuz_link:
  description: Target of the link C(/vmlinuz) (Debian's kernel packages point it at the newest kernel), or V(null).
  returned: always
  type: str
  sample: boot/vmlinuz-6.1.0-50-amd64
grub_cfg_found:
  description: Whether O(grub_cfg) could be read.
  returned: always
  type: bool
grub_entries:
  description: Every menu entry of O(grub_cfg), also those inside submenus, in order.
  returned: always
  type: list
  elements: dict
  contains:
    title:
      description: Title shown in the menu.
      type: str
    id:
      description: The entry's id (C($menuentry_id_option)), what C(grub-set-default) and C(grub-reboot) take.
      type: str
  sample: [{title: Debian GNU/Linux, id: gnulinux-simple-03a1df97-6682-4fe0-8173-fa5a2a67fa3d}]
xen_entry:
  description: The first entry that boots Xen (id C(xen-gnulinux-*), written by GRUB's C(20_linux_xen)), or V(null).
  returned: always
  type: dict
  sample: {title: "Debian GNU/Linux, with Xen hypervisor", id: xen-gnulinux-simple-03a1df97-6682-4fe0-8173-fa5a2a67fa3d}
plain_entry:
  description: The first entry that boots Linux without Xen (id C(gnulinux-simple-*)), or V(null).
  returned: always
  type: dict
grub_env:
  description: The variables of O(grubenv).
  returned: always
  type: dict
  sample: {saved_entry: xen-gnulinux-simple-03a1df97-6682-4fe0-8173-fa5a2a67fa3d}
saved_entry:
  description: GRUB's saved default (C(saved_entry) of O(grubenv)), an empty string when there is none.
  returned: always
  type: str
exists:
  description: For each of O(paths), whether it is there (a link counts even when its target is not).
  returned: always
  type: dict
  sample: {/lib/tls: false}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenops.xen.plugins.module_utils._boot import read_boot


def main():
    module = AnsibleModule(
        argument_spec=dict(
            grub_cfg=dict(type='path', default='/boot/grub/grub.cfg'),
            grubenv=dict(type='path', default='/boot/grub/grubenv'),
            efi_dir=dict(type='path', default='/sys/firmware/efi'),
            paths=dict(type='list', elements='path', default=[]),
        ),
        supports_check_mode=True,
    )
    result = read_boot(grub_cfg=module.params['grub_cfg'], grubenv=module.params['grubenv'],
                       efi_dir=module.params['efi_dir'], paths=module.params['paths'])
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
