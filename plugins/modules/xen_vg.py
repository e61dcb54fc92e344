#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: xen_vg
short_description: Make an LVM volume group for Xen domains on the devices you name
version_added: 0.1.0
description:
  - Puts every device of O(pvs) into the volume group O(name), creating the group (C(vgcreate)) or adding the
    devices that are not in it yet (C(vgextend)); a device that is not a physical volume yet gets C(pvcreate) first.
  - Never takes a device that belongs to another volume group, and never overwrites a device on which C(blkid -p)
    finds a signature (a file system, a partition table, RAID or LVM metadata) unless O(force=true).
  - Devices of the group that O(pvs) does not list are left in it; the module never shrinks or removes a group.
  - Devices are compared by the device they name (the major:minor number of a block device, else the real path),
    never by their spelling, both in O(pvs) and as C(pvs) reports them. C(/dev/disk/by-id/...) and C(/dev/sdb) are the
    same device, and so are C(/dev/mapper/NAME) (LUKS, multipath) and C(/dev/dm-N).
extends_documentation_fragment:
  - xenops.xen.attributes
attributes:
  check_mode:
    support: full
    details: Only reading commands run (C(pvs), C(vgs), C(blkid) for devices that are not physical volumes yet).
  diff_mode:
    support: full
    details: Whether the group exists and its physical volumes, before and after.
  idempotent:
    support: full
options:
  name:
    description: Name of the volume group (lvm(8) VALID NAMES).
    type: str
    required: true
  pvs:
    description: Block devices the group must contain, as absolute paths (symlinks are resolved).
    type: list
    elements: path
    required: true
  force:
    description:
      - Overwrite devices that hold a signature (C(pvcreate --yes) wipes it). Devices of another volume group are
        refused even so.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Volume group vg_xen on the second disk
  xenops.xen.xen_vg:
    name: vg_xen
    pvs:
      - /dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_d1

- name: Grow the group onto a new, blank disk
  xenops.xen.xen_vg:
    name: vg_xen
    pvs: [/dev/sdb, /dev/sdc]
'''

RETURN = r'''
vg:
  description: Name of the volume group.
  returned: always
  type: str
  sample: vg_xen
pvs:
  description: The physical volumes of the group after the task (real paths).
  returned: always
  type: list
  elements: str
  sample: [/dev/sdb]
actions:
  description: What was done (or would be done in check mode).
  returned: always
  type: list
  elements: str
  sample: [create physical volume /dev/sdb, create volume group vg_xen on /dev/sdb]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenops.xen.plugins.module_utils._lvm import finish_lvm
from ansible_collections.xenops.xen.plugins.module_utils._vg import VgError, converge, resolve


def main():
    module = AnsibleModule(
        argument_spec=dict(name=dict(type='str', required=True), pvs=dict(type='list', elements='path', required=True),
                           force=dict(type='bool', default=False)),
        supports_check_mode=True,
    )
    finish_lvm(module, (VgError,), lambda lvm: converge(lvm, module.params['name'], resolve(module.params['pvs']),
                                                        force=module.params['force'], check_mode=module.check_mode,
                                                        diff=module._diff))


if __name__ == '__main__':
    main()
