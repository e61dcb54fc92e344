#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: xen_drbd
short_description: A DRBD resource replicating a volume between two Xen hosts, for live migration
version_added: 0.1.0
description:
  - Makes the DRBD resource O(name) on this host - one of the two O(hosts) - over the backing device O(disk)
    (usually an LV of the same name made with M(xenops.xen.xen_lv) on both hosts). Run the same task on both hosts.
  - Writes C(/etc/drbd.d/NAME.res) (DRBD 8.4 syntax, the same on both hosts), loads the C(drbd) kernel module,
    creates DRBD's internal metadata on a blank backing device and brings the resource up. A changed configuration
    of a resource that is up is applied with C(drbdadm adjust).
  - A domain uses the resource with the disk spec C(drbd:NAME) (C(script=block-drbd), shipped by Debian's
    C(drbd-utils) in C(/etc/xen/scripts)), which makes the host that starts the domain Primary. With
    O(allow_two_primaries) the target of a live migration can open the device while the source still runs the
    domain, so M(xenops.xen.xen_migrate) moves such a domain live.
  - A new resource is synchronised once, on the first host of O(hosts), and only while both sides are
    C(Inconsistent) (a resource that never held data); see O(initial_sync).
  - Never loses data - metadata is not created on a device that holds a file system or anything else C(blkid)
    recognises unless O(force=true) (bytes an earlier volume left in the last MiBs of a new LV, which C(drbdmeta)
    warns about, are overwritten); a resource that is Primary on this host (a domain uses it) is never taken down;
    O(state=absent) leaves the metadata and the volume.
  - Manages the DRBD 8.4 that Debian's kernels carry; a DRBD 9 kernel module is refused.
requirements:
  - C(drbd-utils) on the host (C(drbdadm)).
extends_documentation_fragment:
  - xenops.xen.attributes
attributes:
  check_mode:
    support: full
    details: Reads the resource file, C(/proc/drbd) and C(blkid) of the backing device; runs nothing that changes.
  diff_mode:
    support: full
    details: The resource file, the connection state, the role and the disk state, before and after.
  idempotent:
    support: full
options:
  name:
    description: Name of the DRBD resource; C(drbd:NAME) in a domain's disk.
    type: str
    required: true
  state:
    description: V(present) makes the resource and brings it up; V(absent) takes it down and removes its file.
    type: str
    choices: [present, absent]
    default: present
  disk:
    description: Backing block device, the same path on both hosts. Required with O(state=present).
    type: path
  minor:
    description: Minor of the DRBD device (C(/dev/drbdMINOR)). Required with O(state=present).
    type: int
  port:
    description: TCP port of the replication link on both hosts; one port per resource.
    type: int
    default: 7788
  hosts:
    description:
      - The two hosts of the resource, in order; the first one copies to the second in the initial
        synchronisation. Required with O(state=present).
    type: list
    elements: dict
    suboptions:
      name:
        description: The host's name as C(uname -n) prints it (DRBD picks its part of the resource by it).
        type: str
        required: true
      address:
        description: The address on which the other host reaches it (a storage or cluster network).
        type: str
        required: true
  protocol:
    description: DRBD replication protocol; V(C) (synchronous) is what live migration needs.
    type: str
    choices: [A, B, C]
    default: C
  allow_two_primaries:
    description: Let both hosts be Primary at once, as a live migration needs for a moment.
    type: bool
    default: true
  initial_sync:
    description:
      - What the first host does with a new resource whose sides are both C(Inconsistent).
      - V(skip) - both sides are marked C(UpToDate) without copying (C(new-current-uuid --clear-bitmap)); right for
        new, blank volumes. V(full) - this host becomes Primary once and copies its volume to the peer.
        V(none) - leave the resource Inconsistent.
    type: str
    choices: [skip, full, none]
    default: skip
  wait:
    description: Seconds the first host waits for the peer to connect before the initial synchronisation.
    type: int
    default: 120
  force:
    description: Create metadata on a backing device that holds a file system or another signature.
    type: bool
    default: false
  config_dir:
    description: Directory of the resource files (included by C(/etc/drbd.conf)).
    type: path
    default: /etc/drbd.d
seealso:
  - module: xenops.xen.xen_lv
  - module: xenops.xen.xen_migrate
notes:
  - DRBD's internal metadata takes the last MiBs of the backing device, so C(/dev/drbdMINOR) is a little smaller
    than the volume; make the file system on the DRBD device, not on the volume.
'''

EXAMPLES = r'''
- name: The volume of domain web's data disk on both hosts
  xenops.xen.xen_lv:
    vg: vg_xen
    name: web-data
    size: 4G
    fstype: none

- name: Replicate it between xen1 and xen2 over the storage network (the same task on both)
  xenops.xen.xen_drbd:
    name: web-data
    disk: /dev/vg_xen/web-data
    minor: 1
    port: 7789
    hosts:
      - {name: xen1, address: 10.10.0.1}
      - {name: xen2, address: 10.10.0.2}

# and in the domain: disks: [{target: web-data, script: block-drbd, vdev: xvdb}]
'''

RETURN = r'''
name:
  description: Name of the resource.
  returned: always
  type: str
  sample: web-data
device:
  description: The DRBD device.
  returned: always
  type: str
  sample: /dev/drbd1
connection:
  description: Connection state after the task (C(Connected), C(WFConnection), C(Unconfigured)...).
  returned: always
  type: str
  sample: Connected
role:
  description: Role of this host (C(Primary) or C(Secondary)); empty when the resource is down.
  returned: always
  type: str
  sample: Secondary
disk_state:
  description: State of this host's disk (C(UpToDate), C(Inconsistent)...); empty when the resource is down.
  returned: always
  type: str
  sample: UpToDate
actions:
  description: What was done (or would be done in check mode).
  returned: always
  type: list
  elements: str
  sample: [write /etc/drbd.d/web-data.res, create DRBD metadata on /dev/vg_xen/web-data]
'''

import platform
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenops.xen.plugins.module_utils._drbd import Drbd, DrbdError, Files, converge
from ansible_collections.xenops.xen.plugins.module_utils._lvm import Lvm, LvmParseError
from ansible_collections.xenops.xen.plugins.module_utils._plan import ActionFailed, finish
from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandError, CommandRunner


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            disk=dict(type='path'),
            minor=dict(type='int'),
            port=dict(type='int', default=7788),
            hosts=dict(type='list', elements='dict', options=dict(name=dict(type='str', required=True),
                                                                  address=dict(type='str', required=True))),
            protocol=dict(type='str', choices=['A', 'B', 'C'], default='C'),
            allow_two_primaries=dict(type='bool', default=True),
            initial_sync=dict(type='str', choices=['skip', 'full', 'none'], default='skip'),
            wait=dict(type='int', default=120),
            force=dict(type='bool', default=False),
            config_dir=dict(type='path', default='/etc/drbd.d'),
        ),
        required_if=[('state', 'present', ('disk', 'minor', 'hosts'))],
        supports_check_mode=True,
    )
    runner = CommandRunner(module)
    drbd = Drbd(runner, Files(module.atomic_move), Lvm(runner), time.sleep, time.monotonic)
    finish(module, lambda: converge(drbd, module.params, platform.node(), check_mode=module.check_mode,
                                    diff=module._diff),
           (DrbdError, LvmParseError, CommandError, ActionFailed))


if __name__ == '__main__':
    main()
