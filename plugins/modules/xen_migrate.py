#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: xen_migrate
short_description: Move a running Xen domain to another Xen host, live with xl migrate or cold with its disks
version_added: 0.1.0
description:
  - Runs on the host that runs the domain O(name) and makes it run on O(target) instead, with C(xl migrate) over
    SSH. The domain keeps running; its memory and device state move, its disks do not.
  - Checks before anything changes, and refuses with every reason when the move cannot happen. The target must run
    the same Xen major version with the same or the next minor version, have as much free memory as the domain
    uses, have every bridge its network interfaces use, and run no domain of that name. A domain with disks moves
    only when they are DRBD volumes (C(script=block-drbd)) whose resources are Connected and UpToDate on the target
    (the module reads its resource files and C(/proc/drbd) there), or when O(shared_disks=true) says the target
    opens them at the same paths (the module checks that the paths exist there). A PV domain does not move live from a Xen
    without shadow paging (C(virt_caps) without C(shadow), as in Debian's Xen 4.17 build). A domain that is crashed,
    shut down (kept by C(on_crash) or C(on_poweroff) V(preserve)) or dying does not move, live or cold. The module
    says so and that it is to be destroyed or started again first (the rule and message of the fleet plan).
  - With O(cold=true) a domain with local disks (LVM volumes, image files) moves cold instead. The target gets a
    volume of the same size in a volume group of the same name (or an image file at the same path, sparse); the
    domain is shut down, each disk is copied over the same SSH connection and its checksum compared, and the
    domain is started on the target from the same config file. Refused before anything changes when the target
    already has one of the paths (nothing is overwritten), lacks the volume group or its free space, or a disk is
    a partition or another device. The disks here are kept unless O(remove_source_disks=true).
  - When a cold move fails before the domain runs on the target, the copy on the target and the volumes made there
    are removed, the config file the move wrote there is removed (a config file that was there before is left as
    it was, or put back when O(force=true) had replaced it), and the domain is started here again; the task fails
    and says so.
  - After the migration the domain's config file and autostart link are written on the target and then removed
    here, so that only the target starts the domain at boot. A domain that already runs on the target only gets
    what is missing of that, so a move cut off after the migration is finished by the next run.
  - When C(xl migrate) fails the module reads both hosts and puts the domain back where it can run. xl names the
    domain C(NAME--incoming) on the target while it arrives and C(NAME--migratedaway) here before the final
    handshake. A copy on the target that never ran is destroyed; a C(--migratedaway) domain here gets its name
    back and runs again; when the target runs the domain under its own name, the stale copy here is destroyed.
    The task fails and says where the domain runs. When a step of that recovery fails (the domain's state is then
    undefined, as xl says, check at both ends), the module reads both hosts again and the task fails with what it
    found on each host (RV(found)), the command that failed (RV(recovery_failed)) and the commands that would
    finish the recovery by hand.
  - A later run that finds C(NAME--incoming) or C(NAME--migratedaway) left by a migration that did not finish
    recovers first, with the same rule (a C(--migratedaway) domain runs again), then reads both hosts again and
    moves the domain. When the only copy left is a C(NAME--incoming) on the target, nothing is destroyed and the
    task fails with the commands to run by hand.
  - A config file of the same name on the target that differs from the one here is not overwritten; the task fails
    before anything changes and shows the difference, unless O(force=true).
  - The SSH connection from this host to the target must work without a password or a host key prompt (for
    example with a key only for migrations); the P(xenops.xen.fleet#role) role sets that up.
extends_documentation_fragment:
  - xenops.xen.attributes
attributes:
  check_mode:
    support: full
    details: Reads both hosts (C(xl list), C(xl info), the bridges and files of the target over SSH) and reports
      the move; nothing is changed on either host.
  diff_mode:
    support: full
    details: Which host runs the domain, before and after; with O(force=true), a different config file on the target
      that is replaced.
  idempotent:
    support: full
options:
  name:
    description: Name of the domain.
    type: str
    required: true
  target:
    description: Address (or name) of the target host, as this host's SSH client reaches it.
    type: str
    required: true
  target_name:
    description: Name of the target host in messages and results (default O(target)).
    type: str
  source_name:
    description: Name of this host in messages and results (default C(this host)).
    type: str
  ssh_command:
    description:
      - The SSH client and its options, without the destination. The module adds C(-l) O(ssh_user) and O(target);
        C(xl migrate -s) gets the same command.
    type: list
    elements: str
    default: [ssh, -o, BatchMode=yes]
  ssh_user:
    description: User on the target; it must be allowed to run C(xl).
    type: str
    default: root
  shared_disks:
    description:
      - The domain's disks are on storage the target reaches at the same paths (a SAN, NFS, a cluster file
        system). Without it a domain with disks that are not DRBD volumes is refused.
    type: bool
    default: false
  config_dir:
    description: Directory of the domain config files, on both hosts.
    type: path
    default: /etc/xen
  autostart_dir:
    description: Directory of the autostart links, on both hosts.
    type: path
    default: /etc/xen/auto
  debug:
    description: Pass C(--debug) to C(xl migrate) (it then also checks the memory it sent).
    type: bool
    default: false
  cold:
    description:
      - Allow a cold move (shut down, copy the disks, start on the target) when the domain's disks are local.
        A domain that can move live still moves live.
    type: bool
    default: false
  shutdown_timeout:
    description: Seconds a cold move waits for the domain to shut down; the move fails (and the domain keeps running here) after that.
    type: int
    default: 300
  remove_source_disks:
    description: After a cold move, remove the domain's LVM volumes and image files here (only once it runs on the target).
    type: bool
    default: false
  force:
    description:
      - Replace a config file of the same name on the target that differs from the one here (with O(force=false)
        the task fails and shows the difference). In diff mode the replaced file is shown.
    type: bool
    default: false
seealso:
  - module: xenops.xen.xen_domain
'''

EXAMPLES = r'''
- name: Move web from lab1 to lab2 over the storage network
  xenops.xen.xen_migrate:
    name: web
    target: 10.99.0.12
    target_name: lab2
    ssh_command: [ssh, -i, /root/.ssh/xenops_migrate_ed25519, -o, BatchMode=yes]
  delegate_to: lab1

- name: Move mail with its LVM volumes to lab2 (shut down, copied, started there)
  xenops.xen.xen_migrate:
    name: mail
    target: 10.99.0.12
    target_name: lab2
    cold: true
  delegate_to: lab1
'''

RETURN = r'''
name:
  description: Name of the domain.
  returned: always
  type: str
  sample: web
target:
  description: The target host (O(target_name) or O(target)).
  returned: always
  type: str
  sample: lab2
actions:
  description: What was done (or would be done in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [migrate web live from lab1 to lab2, write /etc/xen/web.cfg on lab2, remove /etc/xen/web.cfg here]
migrate_seconds:
  description: How long C(xl migrate) took.
  returned: when the domain was migrated
  type: float
  sample: 9.4
method:
  description: How the domain moved, V(live) or V(cold).
  returned: when the domain was moved
  type: str
  sample: cold
downtime_seconds:
  description: From the start of the shutdown here to the start on the target (a cold move).
  returned: when the domain was moved cold
  type: float
  sample: 41.2
copy_seconds:
  description: How long copying the disks took (a cold move).
  returned: when the domain was moved cold
  type: float
  sample: 30.5
xl_output:
  description: The end of what C(xl migrate) printed.
  returned: when the domain was migrated
  type: str
runs_on:
  description: Where the domain runs after a failed migration or cold move and its recovery (V(null) when it runs nowhere).
  returned: failure of C(xl migrate) or of a cold move
  type: str
recovery:
  description: What the recovery after a failed migration or cold move did.
  returned: failure of C(xl migrate) or of a cold move
  type: list
  elements: str
found:
  description:
    - What each host has of the domain (under its name, C(NAME--incoming) or C(NAME--migratedaway), with its
      state) when a recovery stopped half way, or when a leftover of an earlier migration is the only copy left.
  returned: failure of a recovery step, or a leftover that is the only copy
  type: dict
  sample: {lab1: [web--migratedaway (paused)], lab2: [web--incoming (paused)]}
recovery_failed:
  description: The recovery step that failed and its command (C(action), C(cmd), C(rc), C(stdout), C(stderr)).
  returned: failure of a recovery step
  type: dict
  sample: {action: destroy web--incoming on lab2 (it never ran there), cmd: [ssh, -l, root, lab2, xl destroy web--incoming], rc: 1}
config_diff:
  description: The config file on the target and the one here (C(before), C(after) and their headers).
  returned: when a different config file of the same name on the target was refused
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenops.xen.plugins.module_utils._migrate import MigrateError
from ansible_collections.xenops.xen.plugins.module_utils._migrate_apply import converge
from ansible_collections.xenops.xen.plugins.module_utils._plan import ActionFailed, finish
from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandError, CommandRunner


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            target=dict(type='str', required=True),
            target_name=dict(type='str'),
            source_name=dict(type='str'),
            ssh_command=dict(type='list', elements='str', default=['ssh', '-o', 'BatchMode=yes']),
            ssh_user=dict(type='str', default='root'),
            shared_disks=dict(type='bool', default=False),
            config_dir=dict(type='path', default='/etc/xen'),
            autostart_dir=dict(type='path', default='/etc/xen/auto'),
            debug=dict(type='bool', default=False),
            cold=dict(type='bool', default=False),
            shutdown_timeout=dict(type='int', default=300),
            remove_source_disks=dict(type='bool', default=False),
            force=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    if not module.params['ssh_command']:
        module.fail_json(msg='ssh_command must name the SSH client')
    if module.params['shutdown_timeout'] < 1:
        module.fail_json(msg='shutdown_timeout must be at least 1 second')
    finish(module, lambda: converge(CommandRunner(module), module.params, check_mode=module.check_mode, diff=module._diff),
           (MigrateError, CommandError, ActionFailed))


if __name__ == '__main__':
    main()
