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
    needs a restart; the module reports RV(restart_required) and restarts the domain only with
    O(restart=if_needed).
  - After C(xl create) the domain must stay alive for O(boot_settle) seconds; if it crashes or disappears, what is
    left of it is destroyed and the task fails with the end of C(/var/log/xen/xl-<name>.log) and of the console log
    C(/var/log/xen/console/guest-<name>.log).
author:
  - xenops.xen contributors (@xenops)
extends_documentation_fragment:
  - xenops.xen.attributes
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
      - Name of the domain. Letters, digits, C(.), C(_) and C(-); not only digits; not starting with C(-) or C(.).
      - Mutually exclusive with O(domains).
    type: str
  domains:
    description:
      - A batch of domains, each a dict with the per-domain options of this module (O(name) required). An entry that
        does not set O(state), O(autostart), O(restart), O(force_destroy), O(shutdown_timeout) or O(boot_settle)
        uses the value given to the task.
      - The configuration options (O(memory), O(disks), ...) may not be given to the task next to O(domains).
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the domain, see O(name).
        type: str
        required: true
      state:
        description: See O(state).
        type: str
        choices: [present, running, stopped, paused, absent]
      type:
        description: See O(type).
        type: str
        choices: [pv, pvh, hvm]
      kernel:
        description: See O(kernel).
        type: str
      ramdisk:
        description: See O(ramdisk).
        type: str
      cmdline:
        description: See O(cmdline).
        type: str
      root:
        description: See O(root).
        type: str
      extra:
        description: See O(extra).
        type: str
      bootloader:
        description: See O(bootloader).
        type: str
      memory:
        description: See O(memory).
        type: int
      maxmem:
        description: See O(maxmem).
        type: int
      vcpus:
        description: See O(vcpus).
        type: int
      maxvcpus:
        description: See O(maxvcpus).
        type: int
      disks:
        description: See O(disks).
        type: list
        elements: raw
      vifs:
        description: See O(vifs).
        type: list
        elements: raw
      on_poweroff:
        description: See O(on_poweroff).
        type: str
        choices: [destroy, restart, rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset]
      on_reboot:
        description: See O(on_reboot).
        type: str
        choices: [destroy, restart, rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset]
      on_crash:
        description: See O(on_crash).
        type: str
        choices: [destroy, restart, rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset]
      extra_options:
        description: See O(extra_options).
        type: dict
      autostart:
        description: See O(autostart).
        type: bool
      restart:
        description: See O(restart).
        type: str
        choices: [never, if_needed]
      force_destroy:
        description: See O(force_destroy).
        type: bool
      shutdown_timeout:
        description: See O(shutdown_timeout).
        type: int
      boot_settle:
        description: See O(boot_settle).
        type: int
  state:
    description:
      - V(present) writes the config file (and the autostart link) and leaves the domain as it is; it never starts,
        stops or restarts it.
      - V(running) writes the config file and makes sure the domain runs (C(xl create), or C(xl unpause)).
      - V(paused) is V(running), then C(xl pause).
      - V(stopped) writes the config file and shuts the domain down (C(xl shutdown -w), see O(shutdown_timeout)).
      - V(absent) shuts the domain down and removes its config file and autostart link.
    type: str
    choices: [present, running, stopped, paused, absent]
    default: running
  type:
    description:
      - The kind of domain, C(type) in xl.cfg(5). xl's default is V(pv).
    type: str
    choices: [pv, pvh, hvm]
  kernel:
    description:
      - Path of the kernel in the host (direct kernel boot). A V(pv) domain needs O(kernel) or O(bootloader).
    type: str
  ramdisk:
    description: Path of the initial ramdisk in the host. Needs O(kernel).
    type: str
  cmdline:
    description:
      - Kernel command line. Mutually exclusive with O(root) and O(extra).
    type: str
  root:
    description:
      - Root device, C(root) in xl.cfg(5); the command line becomes C(root=<root> <extra>).
    type: str
  extra:
    description:
      - Rest of the command line after O(root), C(extra) in xl.cfg(5).
    type: str
  bootloader:
    description:
      - Program that finds the kernel in the domain's disks, for example V(pygrub). Mutually exclusive with O(kernel);
        not for V(hvm) domains.
    type: str
  memory:
    description:
      - Memory of the domain in MiB. A change is applied to a running domain with C(xl mem-set) when it is not more
        than the running domain's maxmem.
    type: int
  maxmem:
    description:
      - Most memory the domain may balloon up to, in MiB; xl's default is O(memory).
      - Set it to be able to change O(memory) of a running domain, in both directions; a different maxmem needs a
        restart.
    type: int
  vcpus:
    description:
      - Number of online vCPUs (xl's default is 1). A change is applied to a running domain with C(xl vcpu-set) when
        it is not more than the running domain's maxvcpus.
    type: int
  maxvcpus:
    description: Most vCPUs the domain can have; xl's default is O(vcpus). A different maxvcpus needs a restart.
    type: int
  disks:
    description:
      - The disks of the domain, in order. Each is a dict (keys below) or a disk spec string in any form xl accepts
        (xl-disk-configuration(5)), for example V(phy:vg/news-root,sda1,w), V(/dev/vg/web-root,raw,xvda,rw) or
        V(format=raw, vdev=xvda, access=rw, target=/dev/vg/web-root) (C(target=) must come last).
      - Disks are written in the keyword form and compared by meaning, so the forms above are the same disk.
      - Always a list, also for one disk; a string in place of the list is refused (Ansible would split it at its
        commas into several disks).
    type: raw
    suboptions:
      target:
        description: Host block device or image file. Not needed for an empty cdrom drive.
        type: str
      vdev:
        description: Device name in the domain, such as V(xvda), V(sda1) or V(hdc).
        type: str
        required: true
      access:
        description: Read-only (V(r), V(ro)) or read-write (V(w), V(rw)). Default read-write, read-only for a cdrom.
        type: str
        choices: [r, ro, w, rw]
      format:
        description: Image format; default V(raw).
        type: str
        choices: [raw, qcow, qcow2, vhd, qed]
      backendtype:
        description: Backend implementation; by default libxl chooses.
        type: str
        choices: [phy, tap, qdisk, standalone]
      devtype:
        description: V(cdrom) for a cdrom drive.
        type: str
        choices: [disk, cdrom]
        default: disk
      backend:
        description: Backend (driver) domain; by default Domain-0.
        type: str
      script:
        description: Block script that makes sense of O(disks[].target), such as V(block-drbd).
        type: str
  vifs:
    description:
      - The network interfaces of the domain, in order. Each is a dict (keys below) or a vif spec string
        (xl-network-configuration(5)), for example V(mac=00:16:3e:12:34:56,bridge=xenbr0).
      - A vif without a MAC gets a stable one, C(00:16:3e) followed by the first three bytes of the SHA-256 of
        C(<name>/<index>), the same on every run and every host. To keep the MAC of an existing domain, give it.
      - A MAC used twice among the domains of the task, or used by another domain on the host, is an error, also
        when the other domain still runs with it while this one starts (a domain that waits for a restart to get a
        new MAC, or a domain the task removes or stops; the task stops and removes domains before it starts others).
      - Always a list, also for one vif; a string in place of the list is refused (Ansible would split it at its
        commas into several vifs).
    type: raw
    suboptions:
      mac:
        description: MAC address (unicast).
        type: str
      bridge:
        description: Bridge to add the interface to; xl's default is V(xenbr0).
        type: str
      ip:
        description: IP address(es) for the hotplug script (space separated).
        type: str
      vifname:
        description: Name of the backend interface in the host.
        type: str
      model:
        description: Emulated NIC model (HVM), such as V(e1000).
        type: str
      type:
        description: V(vif) (paravirtual only) or V(ioemu) (HVM).
        type: str
      backend:
        description: Backend (driver) domain; by default Domain-0.
        type: str
      script:
        description: Hotplug script, such as V(vif-bridge).
        type: str
      rate:
        description: Outgoing rate limit, such as V(10Mb/s).
        type: str
      mtu:
        description: MTU of the interface.
        type: str
  on_poweroff:
    description: What xl does when the domain powers off (xl.cfg(5)).
    type: str
    choices: [destroy, restart, rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset]
  on_reboot:
    description: What xl does when the domain reboots.
    type: str
    choices: [destroy, restart, rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset]
  on_crash:
    description: What xl does when the domain crashes.
    type: str
    choices: [destroy, restart, rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset]
  extra_options:
    description:
      - Any other xl.cfg(5) setting, name to value. Names are lower-case letters, digits and C(_), starting with a
        letter. Values are strings, whole numbers (not negative), booleans (written V(1)/V(0)) or lists of those.
      - Settings that module options own (C(memory), C(disk), C(vif), C(kernel), C(name), ...) are refused here.
      - A changed setting here needs a restart of a running domain; it is noticed by comparing with the previous
        config file, as C(xl list -l) does not show every setting.
    type: dict
  config_dir:
    description:
      - Directory of the xl config files; the autostart links are in its C(auto) subdirectory.
      - Applies to every domain of the task.
    type: path
    default: /etc/xen
  autostart:
    description:
      - V(true) links C(<config_dir>/auto/<name>.cfg) to the config file, so that the C(xendomains) service starts
        the domain when the host boots; with O(state=running) only after the domain started and stayed up.
      - V(false) removes the link. Not set, the link is left as it is.
      - A regular file (not a link) at that place is an error.
    type: bool
  restart:
    description:
      - What to do when a running domain needs a restart to get its new configuration.
      - V(never) only reports it (RV(restart_required), RV(restart_reasons)); V(if_needed) shuts the domain down and
        creates it again. Not used with O(state=present).
    type: str
    choices: [never, if_needed]
    default: never
  force_destroy:
    description:
      - Destroy (C(xl destroy)) a domain that did not shut down within O(shutdown_timeout). Otherwise the task fails
        and the domain is left to finish shutting down.
    type: bool
    default: false
  shutdown_timeout:
    description:
      - Seconds to wait for a domain to shut down (C(timeout <seconds> xl shutdown -w <name>)).
    type: int
    default: 120
  boot_settle:
    description:
      - Seconds a domain must stay alive after C(xl create) (checked every second with C(xl list)). V(0) does not
        check.
    type: int
    default: 3
notes:
  - Needs C(xl) (Xen 4.17 toolstack) and C(timeout) (coreutils) on the host, and root.
  - RV(restart_required) is true when the domain still needs a restart after the task. Settings that C(xl list -l)
    does not show (most O(extra_options)) are only compared with the previous config file, so after a task with
    O(restart=never) has written them, later runs no longer report that the running domain lacks them.
  - A domain's vifs without MAC get new, stable MACs, which differ from the random ones xl gave before; for a domain
    defined by hand, give the MACs to keep them.
seealso:
  - module: xenops.xen.xen_lv
  - module: xenops.xen.xen_info
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
from ansible_collections.xenops.xen.plugins.module_utils._domain_spec import EVENT_ACTIONS, RESTART_POLICIES, STATES, TYPES, DomainError
from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandRunner
from ansible_collections.xenops.xen.plugins.module_utils._xl import Toolstack

DOMAIN_OPTIONS = dict(
    name=dict(type='str'),
    state=dict(type='str', choices=list(STATES)),
    type=dict(type='str', choices=list(TYPES)),
    kernel=dict(type='str'),
    ramdisk=dict(type='str'),
    cmdline=dict(type='str'),
    root=dict(type='str'),
    extra=dict(type='str'),
    bootloader=dict(type='str'),
    memory=dict(type='int'),
    maxmem=dict(type='int'),
    vcpus=dict(type='int'),
    maxvcpus=dict(type='int'),
    disks=dict(type='raw'),
    vifs=dict(type='raw'),
    on_poweroff=dict(type='str', choices=list(EVENT_ACTIONS)),
    on_reboot=dict(type='str', choices=list(EVENT_ACTIONS)),
    on_crash=dict(type='str', choices=list(EVENT_ACTIONS)),
    extra_options=dict(type='dict'),
    autostart=dict(type='bool'),
    restart=dict(type='str', choices=list(RESTART_POLICIES)),
    force_destroy=dict(type='bool'),
    shutdown_timeout=dict(type='int'),
    boot_settle=dict(type='int'),
)
CMDLINE_EXCLUSIVE = [('cmdline', 'root'), ('cmdline', 'extra')]


def argument_spec():
    spec = dict((k, dict(v)) for k, v in DOMAIN_OPTIONS.items())
    spec['state']['default'] = 'running'
    spec['restart']['default'] = 'never'
    spec['force_destroy']['default'] = False
    spec['shutdown_timeout']['default'] = 120
    spec['boot_settle']['default'] = 3
    entry = dict((k, dict(v)) for k, v in DOMAIN_OPTIONS.items())
    entry['name']['required'] = True
    spec['domains'] = dict(type='list', elements='dict', options=entry, mutually_exclusive=CMDLINE_EXCLUSIVE)
    spec['config_dir'] = dict(type='path', default='/etc/xen')
    return spec


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[('name', 'domains')] + CMDLINE_EXCLUSIVE,
        required_one_of=[('name', 'domains')],
        supports_check_mode=True,
    )
    manager = DomainManager(Toolstack(CommandRunner(module)), module.atomic_move)
    try:
        result = manager.run(module.params, check_mode=module.check_mode, diff=module._diff)
    except DomainError as exc:
        module.fail_json(**exc.as_result())
    module.exit_json(**result)


if __name__ == '__main__':
    main()
