#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: xen_domain
short_description: Manage Xen guest domains (xl config files and their run state)
version_added: 0.1.0
description:
  - Writes the xl config file C(<config_dir>/<name>.cfg) of a domain, starts, stops, pauses and removes the domain,
    applies memory and vCPU changes to a running domain, and manages its autostart link
    C(<config_dir>/auto/<name>.cfg). One domain per task, or a batch with O(domains).
  - Reads the host once per task (C(xl list -l) and C(xl list), for the whole batch) and checks every domain of the
    batch (names, options, disk and vif specs, MAC addresses against each other and against the other domains on the
    host) before changing anything.
  - The config file is written in one canonical form, but compared by meaning with the existing file, so a file
    edited by hand that means the same (other order, comments, quoting, the old C(phy:vg/lv,xvda,w) disk syntax)
    is left alone. A new file is first checked with C(xl -N create) on a temporary file in O(config_dir) and then
    moved into place; when xl rejects it, the old file stays as it was.
  - Without any configuration option (only O(name), O(state) and the like) the existing config file is used as it
    is, for example to stop or start a domain defined by hand.
  - A running domain whose configuration changed gets new memory (up to its maxmem) and vCPUs (up to its maxvcpus)
    at run time, with C(xl mem-set) and C(xl vcpu-set). Any other change (disks, vifs, kernel, type, maxmem, ...)
    needs a restart; the module reports RV(restart_required), warns, and restarts the domain only with
    O(restart=if_needed).
  - After C(xl create) the domain must stay alive for O(boot_settle) seconds; if it crashes or disappears, what is
    left of it is destroyed and the task fails with the end of C(/var/log/xen/xl-<name>.log) and of the console log
    C(/var/log/xen/console/guest-<name>.log).
extends_documentation_fragment:
  - xenops.xen.attributes
  - xenops.xen.xen_domain
attributes:
  check_mode:
    support: full
    details:
      - Only the reading commands C(xl list -l) and C(xl list) run. No temporary file is written, so a new config is
        not checked with C(xl -N create) in check mode.
  diff_mode:
    support: full
    details:
      - Shows the config file before and after, the autostart link, and the run state (state, memory, vCPUs).
  idempotent:
    support: full
options:
  name:
    description:
      - Name of the domain, at most 64 characters. Letters, digits, C(.), C(_) and C(-); not only digits; not
        starting with C(-) or C(.).
      - Mutually exclusive with O(domains).
    type: str
  domains:
    description:
      - A batch of domains, each a dict with the per-domain options of this module, O(name) (required), O(state),
        O(type), O(kernel), O(ramdisk), O(cmdline), O(root), O(extra), O(bootloader), O(memory), O(maxmem), O(vcpus),
        O(maxvcpus), O(disks), O(vifs), O(on_poweroff), O(on_reboot), O(on_crash), O(extra_options),
        O(driver_domain), O(autostart), O(restart), O(force_destroy), O(shutdown_timeout), O(boot_settle) and
        O(backend_timeout), checked as those options are (types, choices, unknown keys). An entry that does not set
        O(state), O(autostart), O(restart), O(force_destroy), O(shutdown_timeout), O(boot_settle) or
        O(backend_timeout) uses the value given to the task.
      - A driver domain (O(driver_domain)) is started before the domains of the batch whose devices it serves.
      - The configuration options (O(memory), O(disks), ...) may not be given to the task next to O(domains).
    type: list
    elements: dict
  config_dir:
    description:
      - Directory of the xl config files; the autostart links are in its C(auto) subdirectory.
      - Applies to every domain of the task.
    type: path
    default: /etc/xen
'''

EXAMPLES = r'''
- name: The classic seed domain news, defined as in its old hand-written config
  xenops.xen.xen_domain:
    name: news
    kernel: /boot/vmlinuz-6.1.0-28-amd64
    ramdisk: /boot/initrd.img-6.1.0-28-amd64
    root: /dev/sda1 ro
    memory: 512
    maxmem: 1024
    vcpus: 1
    maxvcpus: 2
    disks:
      - phy:vg/news-root,sda1,w
      - phy:vg/news-swap,sda2,w
    vifs:
      - bridge=xenbr0
    autostart: true

- name: A PVH domain with structured disks and vifs, restarted when its configuration needs it
  xenops.xen.xen_domain:
    name: web
    type: pvh
    kernel: /var/lib/xen/kernels/vmlinuz
    cmdline: root=/dev/xvda ro console=hvc0
    memory: 1024
    maxmem: 2048
    vcpus: 2
    disks:
      - target: /dev/vg_xen/web-root
        vdev: xvda
      - target: /srv/iso/debian-12.iso
        vdev: xvdc
        devtype: cdrom
    vifs:
      - bridge: xenbr0
        mac: 00:16:3e:12:34:56
      - bridge: xenbr1
    on_crash: restart
    extra_options:
      serial: pty
    restart: if_needed

- name: All domains of this host in one task (the host is read once)
  xenops.xen.xen_domain:
    autostart: true
    domains:
      - name: news
        kernel: /boot/vmlinuz
        root: /dev/xvda ro
        memory: 512
        disks: ['phy:vg/news-root,xvda,w']
        vifs: ['bridge=xenbr0']
      - name: mail
        type: pvh
        kernel: /boot/vmlinuz
        memory: 768
        disks: ['format=raw, vdev=xvda, access=rw, target=/dev/vg/mail-root']
        vifs: [{bridge: xenbr0}]
      - name: old
        state: absent

- name: A network driver domain and a domain whose vif it serves (started after it is ready)
  xenops.xen.xen_domain:
    domains:
      - name: router
        driver_domain: true
        kernel: /boot/vmlinuz
        memory: 256
        disks: [{target: /dev/vg/router-root, vdev: xvda}]
        vifs: [{bridge: xenbr0}]
      - name: db
        kernel: /boot/vmlinuz
        memory: 512
        disks: [{target: /dev/vg/db-root, vdev: xvda}]
        vifs: [{backend: router, bridge: lan0}]
        backend_timeout: 600

- name: Stop a domain whose config file was written by hand (the file is used as it is)
  xenops.xen.xen_domain:
    name: legacy
    state: stopped
    shutdown_timeout: 300
    force_destroy: true
'''

RETURN = r'''
changed:
  description: Whether anything changed (would change, in check mode).
  returned: always
  type: bool
name:
  description: Name of the domain (one domain per task).
  returned: without O(domains)
  type: str
  sample: news
actions:
  description:
    - What was done, in order (what would be done, in check mode). C(action) is one of C(write_config), C(create),
      C(shutdown), C(destroy), C(pause), C(unpause), C(mem_set), C(vcpu_set), C(restart), C(link_autostart),
      C(unlink_autostart), C(remove_config).
  returned: without O(domains)
  type: list
  elements: dict
  sample: [{action: write_config, description: create /etc/xen/news.cfg},
           {action: create, description: "start news (xl create /etc/xen/news.cfg, then check it stays up for 3 seconds)"}]
restart_required:
  description: Whether the running domain still needs a restart (shutdown and create) to get its configuration.
  returned: without O(domains)
  type: bool
restart_reasons:
  description: How the running domain differs from its configuration in ways that need a restart.
  returned: without O(domains)
  type: list
  elements: str
  sample: ['disk xvdb is not attached to the running domain']
state:
  description: Run state of the domain after the task (V(running), V(paused), V(stopped); V(dead) for a crashed domain
    left alone).
  returned: without O(domains)
  type: str
domain:
  description:
    - Facts of the domain after the task (from C(xl list -l) and C(xl list)), or null when it does not run. Read again
      only when the task started, stopped or changed a domain at run time.
  returned: without O(domains)
  type: dict
  sample: {name: news, domid: 3, state: blocked, type: pv, memory_mib: 512, maxmem_mib: 1024, vcpus: 1, maxvcpus: 2,
           disks: [{target: vg/news-root, vdev: sda1, access: rw, format: raw, backend: phy, cdrom: false}],
           vifs: [{devid: 0, mac: '00:16:3e:54:69:80', bridge: xenbr0}]}
config_file:
  description: Path of the domain's config file.
  returned: without O(domains)
  type: str
  sample: /etc/xen/news.cfg
domains:
  description: One result per domain of O(domains), in order, each with the keys C(name), C(changed), C(actions),
    C(restart_required), C(restart_reasons), C(state), C(domain) and C(config_file) described above.
  returned: with O(domains)
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenops.xen.plugins.module_utils._domain_apply import DomainManager
from ansible_collections.xenops.xen.plugins.module_utils._domain_spec import (
    EVENT_ACTIONS, RESTART_POLICIES, STATES, TYPES, DomainError, checked_entries)
from ansible_collections.xenops.xen.plugins.module_utils._plan import finish
from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandRunner
from ansible_collections.xenops.xen.plugins.module_utils._xl import Toolstack


def domain_options():
    """The per-domain options (documented in the doc fragment xenops.xen.xen_domain), no defaults."""
    options = {}
    for kind, names in (('str', ('name', 'kernel', 'ramdisk', 'cmdline', 'root', 'extra', 'bootloader')),
                        ('int', ('memory', 'maxmem', 'vcpus', 'maxvcpus', 'shutdown_timeout', 'boot_settle',
                                 'backend_timeout')),
                        ('bool', ('autostart', 'force_destroy', 'driver_domain', 'pvshim')), ('raw', ('disks', 'vifs')), ('dict', ('extra_options',))):
        options.update((name, dict(type=kind)) for name in names)
    for name, choices in (('state', STATES), ('type', TYPES), ('restart', RESTART_POLICIES), ('on_poweroff', EVENT_ACTIONS),
                          ('on_reboot', EVENT_ACTIONS), ('on_crash', EVENT_ACTIONS)):
        options[name] = dict(type='str', choices=list(choices))
    return options


CMDLINE_EXCLUSIVE = [('cmdline', 'root'), ('cmdline', 'extra')]


def argument_spec():
    spec = domain_options()
    spec['state']['default'] = 'running'
    spec['restart']['default'] = 'never'
    spec['force_destroy']['default'] = False
    spec['shutdown_timeout']['default'] = 120
    spec['boot_settle']['default'] = 3
    spec['backend_timeout']['default'] = 300
    spec['domains'] = dict(type='list', elements='dict')
    spec['config_dir'] = dict(type='path', default='/etc/xen')
    return spec


def entry_spec():
    """The options of one entry of O(domains): the per-domain options, O(name) required, no defaults."""
    entry = domain_options()
    entry['name']['required'] = True
    return entry


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[('name', 'domains')] + CMDLINE_EXCLUSIVE,
        required_one_of=[('name', 'domains')],
        supports_check_mode=True,
    )
    manager = DomainManager(Toolstack(CommandRunner(module)), module.atomic_move)
    finish(module, lambda: manager.run(checked_entries(module.params, entry_spec(), CMDLINE_EXCLUSIVE),
                                       check_mode=module.check_mode, diff=module._diff), (DomainError,))


if __name__ == '__main__':
    main()
