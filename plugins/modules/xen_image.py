#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: xen_image
short_description: Manage file-backed disk images of Xen domains
version_added: 0.1.0
description:
  - Creates, grows, shrinks and removes a disk image file of a Xen domain, optionally with an ext4, xfs or swap
    filesystem on it, the way M(xenops.xen.xen_lv) manages a logical volume.
  - A new image is written as C(PATH.part), a sparse file of O(size) with mode O(mode) and the filesystem on it, and
    only then renamed to O(path), so a file at O(path) is always complete. A C(PATH.part) left by an interrupted run
    is removed first. The directory of O(path) must exist (in check mode a missing directory is only a warning, as a
    task before may create it).
  - A filesystem is only created on an image on which C(blkid -p) finds no signature. An existing filesystem of another
    type is never reformatted.
  - A larger O(size) grows the file, only when the image is not in use; ext2/3/4 on it is then grown offline
    (C(e2fsck -f -p), then C(resize2fs)) and swap gets a new signature with C(mkswap), keeping its label and UUID.
    xfs can only be grown mounted, so it is left alone with a warning.
  - An image is in use when it is attached to a loop device (C(losetup)), is a disk of a running domain
    (C(xl list -l)) or is mounted (/proc/mounts). An image in use is never resized, shrunk or formatted.
extends_documentation_fragment:
  - xenops.xen.attributes
  - xenops.xen.filesystem
attributes:
  check_mode:
    support: full
    details: Only reading commands run (C(blkid), C(losetup), C(xl list -l)) and no file is touched; the result lists
      the actions that would run.
  diff_mode:
    support: full
    details: The state, size, filesystem and mode of the image before and after.
  idempotent:
    support: full
    details: Sizes are absolute; a filesystem is only created on an image without any signature.
options:
  path:
    description:
      - Absolute path of the image file.
    type: path
    required: true
  size:
    description:
      - Absolute size. A number of bytes, or a number with a unit C(B), C(K), C(M), C(G), C(T) or C(P), optionally
        followed by C(iB) (C(512M), C(1.5G), C(10GiB)); units are binary (C(1G) = 1024 MiB), as for
        M(xenops.xen.xen_lv). Decimal units (C(4GB)), zero, relative sizes and percentages are refused.
      - Required to create an image; when omitted for an existing image its size is kept.
      - A smaller size than the current one shrinks the image, which is refused unless O(force=true), and is never
        done for an image in use. The filesystem on it is not shrunk.
    type: raw
  state:
    description:
      - V(present) creates or resizes the image, V(absent) removes it.
      - Removing an image in use is refused unless O(force=true).
    type: str
    choices: [present, absent]
    default: present
  mode:
    description:
      - Permissions of the image file, as an octal string (quote it in YAML). An existing image with other
        permissions gets this mode.
    type: str
    default: '0600'
  force:
    description:
      - Allow shrinking an image that is not in use (data past the new end is lost), and removing an image in use.
    type: bool
    default: false
requirements:
  - util-linux C(blkid) and C(losetup)
  - e2fsprogs, xfsprogs or util-linux C(mkswap) for the filesystems used
  - C(xl) to tell which images running domains use (when it is not installed, no domain is running)
notes:
  - C(blkid) is only run for an existing image when O(fstype) is given or the size changes; C(losetup), C(xl list -l)
    and /proc/mounts are only read before a grow, a forced shrink, a filesystem created on an existing image or a
    removal without force.
  - The image is owned by the user the module runs as (root).
seealso:
  - module: xenops.xen.xen_lv
'''

EXAMPLES = r'''
- name: Root image of the domain web, 4 GiB with ext4
  xenops.xen.xen_image:
    path: /var/lib/xen/images/web-root.img
    size: 4G
    fstype: ext4
    label: web-root

- name: A blank image (the installer of the domain partitions it)
  xenops.xen.xen_image:
    path: /var/lib/xen/images/mail-disk.img
    size: 20G

- name: Grow the root image of web to 8 GiB (the ext4 on it is grown too; refused while web runs)
  xenops.xen.xen_image:
    path: /var/lib/xen/images/web-root.img
    size: 8G
    fstype: ext4

- name: Remove the image of a retired domain (refused while it is in use)
  xenops.xen.xen_image:
    path: /var/lib/xen/images/old-root.img
    state: absent
'''

RETURN = r'''
path:
  description: Path of the image.
  returned: always
  type: str
  sample: /var/lib/xen/images/web-root.img
size_bytes:
  description: Size of the image after the task; V(null) for an absent image.
  returned: always
  type: int
  sample: 4294967296
fstype:
  description: Filesystem after the task when known (asked for, or found by blkid), else V(null).
  returned: always
  type: str
  sample: ext4
actions:
  description: What was done (or would be done in check mode), in order.
  returned: always
  type: list
  elements: str
  sample:
    - create sparse file /var/lib/xen/images/web-root.img.part of 4 GiB (mode 0600)
    - create ext4 filesystem on /var/lib/xen/images/web-root.img.part
    - rename /var/lib/xen/images/web-root.img.part to /var/lib/xen/images/web-root.img
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenops.xen.plugins.module_utils._image import ImageError, converge, desired_image
from ansible_collections.xenops.xen.plugins.module_utils._lvm import FSTYPES, finish_lvm


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            size=dict(type='raw'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            fstype=dict(type='str', choices=list(FSTYPES), default='none'),
            label=dict(type='str'),
            mode=dict(type='str', default='0600'),
            force=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    finish_lvm(module, (ImageError,), lambda lvm: converge(lvm, desired_image(module.params),
                                                           check_mode=module.check_mode, diff=module._diff))


if __name__ == '__main__':
    main()
