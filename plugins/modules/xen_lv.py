#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: xen_lv
short_description: Manage LVM logical volumes for Xen domains
version_added: 0.1.0
description:
  - Creates, extends, shrinks and removes LVM logical volumes on a Xen host, optionally with an ext4, xfs or swap
    filesystem on them. One volume per task, or a batch with O(volumes).
  - Reads LVM once per task (one C(vgs) and one C(lvs) call for the whole batch) and checks the whole batch (names,
    volume groups, free space, shrink and removal safety) before changing anything.
  - Sizes are absolute and rounded up to whole extents of the volume group, so a task gives the same volume every
    time it runs. Relative sizes (C(+1G)) and percentages (C(100%FREE)) are refused.
  - A new volume is created with C(lvcreate --wipesignatures y); a filesystem is only created on a volume on which
    C(blkid -p) finds no signature. An existing filesystem of another type is never reformatted.
  - After an extend the filesystem is grown when that is safe from the host. ext2/3/4 mounted on the host are grown
    online with C(resize2fs); not mounted and not open, C(e2fsck -f -p) then C(resize2fs). xfs is grown with
    C(xfs_growfs) only when mounted on the host. Swap that is not in use gets a new signature with C(mkswap), keeping
    its label and UUID. A volume open elsewhere (a running domain) is extended but its filesystem is left alone, with
    a warning, to be grown inside the domain.
extends_documentation_fragment:
  - xenops.xen.attributes
  - xenops.xen.filesystem
attributes:
  check_mode:
    support: full
    details: Only reading commands run (C(lvs), C(vgs), C(blkid), C(xl list -l)); the result lists the actions that
      would run.
  diff_mode:
    support: full
    details: The state (present or absent, size, filesystem) of each changed volume before and after.
  idempotent:
    support: full
    details: Sizes are absolute and rounded to whole extents; a filesystem is only created on a volume without any
      signature.
options:
  name:
    description:
      - Name of the logical volume.
      - Mutually exclusive with O(domain) and O(function).
    type: str
  domain:
    description:
      - Name of the domain the volume belongs to; the volume is named C(<domain>-<function>), for example
        C(news-root). Requires O(function).
    type: str
  function:
    description:
      - What the volume is for (C(root), C(swap), C(data)...); see O(domain).
    type: str
  vg:
    description:
      - Volume group of the volume.
      - With O(volumes), the volume group of every volume that does not set its own.
    type: str
  size:
    description:
      - Absolute size. A number of bytes, or a number with a unit C(B), C(K), C(M), C(G), C(T) or C(P), optionally
        followed by C(iB) (C(512M), C(1.5G), C(10GiB)). Units are binary like C(lvcreate -L) (C(1G) = C(1g) = 1024
        MiB); a number without unit is bytes, not MiB as with C(lvcreate -L).
      - Rounded up to a whole number of extents; the rounded size is returned.
      - Required to create a volume; when omitted for an existing volume its size is kept.
      - A smaller size than the current one shrinks the volume, which is refused unless O(force=true), and is never
        done for a volume in use by a running domain, mounted on the host or otherwise open. The filesystem on it is
        not shrunk.
    type: raw
  state:
    description:
      - V(present) creates or resizes the volume, V(absent) removes it.
      - Removing a volume used by a running domain (C(xl list -l)) or mounted on the host is refused unless
        O(force=true).
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Allow shrinking a volume that is not in use (data past the new end is lost), and removing a volume that a
        running domain uses or that is mounted (LVM itself still refuses to remove an open volume).
    type: bool
    default: false
  volumes:
    description:
      - A batch of volumes, each with the options above (O(name) or O(domain) and O(function), O(vg), O(size),
        O(state), O(fstype), O(label), O(force)).
      - Mutually exclusive with the single-volume options; O(vg) is the default volume group of the batch.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the logical volume.
        type: str
      domain:
        description: Domain the volume belongs to; the volume is named C(<domain>-<function>).
        type: str
      function:
        description: What the volume is for; see O(volumes[].domain).
        type: str
      vg:
        description: Volume group; defaults to the top-level O(vg).
        type: str
      size:
        description: Absolute size, see O(size).
        type: raw
      state:
        description: V(present) or V(absent), see O(state).
        type: str
        choices: [present, absent]
        default: present
      fstype:
        description: Filesystem, see O(fstype).
        type: str
        choices: [ext4, xfs, swap, none]
        default: none
      label:
        description: Filesystem label, see O(label).
        type: str
      force:
        description: See O(force).
        type: bool
        default: false
requirements:
  - LVM2 (C(lvs), C(vgs), C(lvcreate), C(lvextend), C(lvreduce), C(lvremove))
  - util-linux C(blkid)
  - e2fsprogs, xfsprogs or util-linux C(mkswap) for the filesystems used
  - C(xl) to tell which volumes running domains use (when it is not installed, no domain is running)
notes:
  - C(xl list -l) is only run when a volume is to be removed (without force) or shrunk (with force).
  - Free space is checked for the whole batch against the free space before the task; space freed by removals or
    shrinks in the same batch is not counted.
seealso:
  - name: lvcreate(8)
    description: LVM size units.
    link: https://man7.org/linux/man-pages/man8/lvcreate.8.html
'''

EXAMPLES = r'''
- name: Root and swap volumes of the domain news
  xenops.xen.xen_lv:
    vg: vg_xen
    volumes:
      - domain: news
        function: root
        size: 2G
        fstype: ext4
      - domain: news
        function: swap
        size: 256M
        fstype: swap

- name: One volume, no filesystem (the installer of the domain partitions it)
  xenops.xen.xen_lv:
    vg: vg_xen
    name: mail-disk
    size: 20G

- name: Grow the root volume of news to 4 GiB (the ext4 on it is grown too when safe)
  xenops.xen.xen_lv:
    vg: vg_xen
    domain: news
    function: root
    size: 4G
    fstype: ext4

- name: Remove the volumes of a retired domain (refused while it runs)
  xenops.xen.xen_lv:
    vg: vg_xen
    volumes:
      - name: old-root
        state: absent
      - name: old-swap
        state: absent
'''

RETURN = r'''
changed:
  description: Whether any volume changed (or would change, in check mode).
  returned: always
  type: bool
actions:
  description: What was done (or would be done in check mode), in order.
  returned: always
  type: list
  elements: str
  sample:
    - create volume vg_xen/news-root of 2 GiB
    - create ext4 filesystem on /dev/vg_xen/news-root
volumes:
  description: One entry per volume of the task, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the logical volume.
      type: str
      sample: news-root
    vg:
      description: Volume group.
      type: str
      sample: vg_xen
    path:
      description: Device path.
      type: str
      sample: /dev/vg_xen/news-root
    state:
      description: V(present) or V(absent).
      type: str
    size_bytes:
      description: Size after the task, rounded to whole extents; V(null) for an absent volume.
      type: int
      sample: 2147483648
    fstype:
      description: Filesystem after the task when known (asked for, or found by blkid), else V(null).
      type: str
      sample: ext4
    changed:
      description: Whether this volume changed.
      type: bool
    actions:
      description: What was done to this volume.
      type: list
      elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenops.xen.plugins.module_utils._lvm import FSTYPES, finish_lvm
from ansible_collections.xenops.xen.plugins.module_utils._volume_apply import converge
from ansible_collections.xenops.xen.plugins.module_utils._volume_spec import VolumeError, desired_volumes

VOLUME_OPTIONS = dict(
    name=dict(type='str'),
    domain=dict(type='str'),
    function=dict(type='str'),
    vg=dict(type='str'),
    size=dict(type='raw'),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    fstype=dict(type='str', choices=list(FSTYPES), default='none'),
    label=dict(type='str'),
    force=dict(type='bool', default=False),
)
SINGLE_ONLY = ('name', 'domain', 'function', 'size', 'state', 'fstype', 'label', 'force')


def main():
    module = AnsibleModule(
        argument_spec=dict(VOLUME_OPTIONS, volumes=dict(
            type='list', elements='dict', options=VOLUME_OPTIONS,
            mutually_exclusive=[('name', 'domain'), ('name', 'function')],
            required_together=[('domain', 'function')],
            required_one_of=[('name', 'domain')])),
        mutually_exclusive=[('name', 'domain'), ('name', 'function')] + [('volumes', option) for option in SINGLE_ONLY],
        required_together=[('domain', 'function')],
        required_one_of=[('name', 'domain', 'volumes')],
        supports_check_mode=True,
    )
    finish_lvm(module, (VolumeError,), lambda lvm: converge(lvm, desired_volumes(module.params),
                                                            check_mode=module.check_mode, diff=module._diff))


if __name__ == '__main__':
    main()
