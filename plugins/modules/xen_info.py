#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: xen_info
short_description: Read a Xen host and its domains
version_added: 0.1.0
description:
  - Returns facts about a Xen host (from C(xl info)) and about its domains, with their run state (from C(xl list))
    and their configuration (from C(xl list -l)).
  - Runs exactly three reading commands, in this order, C(xl list -l), C(xl list) and C(xl info), and never changes
    anything.
  - C(xl list -l) must print JSON; a host whose C(/etc/xen/xl.conf) sets C(output_format="sxp") is refused with a
    message saying so.
extends_documentation_fragment:
  - xenops.xen.attributes
  - xenops.xen.attributes.info_module
options:
  name:
    description:
      - Only return the domain with this name in RV(domains) (an empty dictionary when there is none).
      - Host facts and RV(dom0) are always returned.
    type: str
requirements:
  - The Xen C(xl) toolstack on the target (Xen 4.17 or later), run as root.
seealso:
  - module: xenops.xen.xen_lv
notes:
  - Memory values are in MiB. libxl keeps the configured memory in KiB; values are rounded to the nearest MiB.
'''

EXAMPLES = r'''
- name: Read the host and all its domains
  xenops.xen.xen_info:
  register: xen

- name: Show the Xen version and the state of every domain
  ansible.builtin.debug:
    msg: "Xen {{ xen.host.xen_version }}: {{ xen.domains | dict2items | map(attribute='key') | join(', ') }}"

- name: Read one domain
  xenops.xen.xen_info:
    name: news
  register: news

- name: Fail when the domain news is not running
  ansible.builtin.assert:
    that:
      - news.domains.news is defined
      - news.domains.news.state in ['running', 'blocked']
'''

RETURN = r'''
host:
  description: Facts about the host from C(xl info).
  returned: always
  type: dict
  contains:
    hostname:
      description: Host name as Xen reports it.
      type: str
      sample: lab1
    xen_version:
      description: Version of the hypervisor.
      type: str
      sample: 4.17.7
    xen_scheduler:
      description: Scheduler of the hypervisor.
      type: str
      sample: credit2
    total_memory_mib:
      description: Memory of the host in MiB.
      type: int
      sample: 2047
    free_memory_mib:
      description: Memory not given to any domain, in MiB.
      type: int
      sample: 1030
    nr_cpus:
      description: Number of physical CPUs.
      type: int
      sample: 2
    dom0_kernel:
      description: Release of the dom0 kernel.
      type: str
      sample: 6.1.0-50-amd64
    virt_caps:
      description:
        - What the hypervisor can do (C(xl info) virt_caps), such as C(pv), C(hvm), C(hap), C(shadow).
        - A PV domain can migrate live only where there is C(shadow) (Debian's Xen 4.17 has none).
      type: list
      elements: str
      sample: [pv, hvm, hap, gnttab-v1, gnttab-v2]
    pvshim:
      description:
        - Path of the PV shim of the host's Xen (domains with C(pvshim = 1) run their PV kernel inside it), or null
          where the host has none. Debian ships it as C(/usr/lib/xen-X.Y/boot/xen-shim).
      type: str
      sample: /usr/lib/xen-4.20/boot/xen-shim
    bridges:
      description: Network bridges of the host (from C(/sys/class/net)), sorted.
      type: list
      elements: str
      sample: [xenbr0, xenbr1]
    drbd:
      description:
        - The DRBD resources of the host (its C(/etc/drbd.d/*.res) files, see M(xenops.xen.xen_drbd)) with the state
          of each in C(/proc/drbd); V(null) when DRBD is not set up on the host.
        - A domain with a C(drbd:) disk moves live only to a host where its resource is C(Connected) and C(UpToDate).
      type: dict
      sample: {"c2-data": {"minor": 0, "connection": "Connected", "role": "Secondary", "disk": "UpToDate",
                           "peer_disk": "UpToDate"}}
    info:
      description: "Every C(key : value) line of C(xl info), values as strings."
      type: dict
      sample: {"host": "lab1", "xen_version": "4.17.7", "total_memory": "2047"}
dom0:
  description:
    - Domain-0 with the same keys as an entry of RV(domains). libxl keeps little configuration for it (its type and
      memory); V(vcpus) is then the number of online vCPUs from C(xl list) and most other keys are V(null) or empty.
  returned: when Xen lists a Domain-0 (always on a running Xen host)
  type: dict
domains:
  description: Guest domains (Domain-0 left out) by name; only O(name) when given.
  returned: always
  type: dict
  sample:
    news:
      name: news
      domid: 3
      uuid: b66c3ce5-bbd9-48fe-babb-d0e5924d5860
      type: pv
      state: blocked
      shutdown_reason: null
      memory_mib: 128
      maxmem_mib: 192
      current_memory_mib: 128
      vcpus: 2
      maxvcpus: 2
      cpu_time: 22.8
      kernel: /var/lib/xenops-lab/vmlinuz
      ramdisk: /var/lib/xenops-lab/busybox-initramfs.cpio.gz
      cmdline: console=hvc0 quiet
      bootloader: null
      disks:
        - {target: /dev/vg_xen/news-root, vdev: xvda, format: raw, access: rw, backend: null, cdrom: false, script: null}
      vifs:
        - {devid: 0, mac: "00:16:3e:00:00:01", bridge: xenbr0, ip: null, vifname: null, model: null, backend: null,
           script: null}
      on_poweroff: destroy
      on_reboot: restart
      on_watchdog: destroy
      on_crash: destroy
      on_soft_reset: soft-reset
  contains:
    name:
      description: Name of the domain.
      type: str
    domid:
      description: Domain ID.
      type: int
    uuid:
      description: UUID of the domain.
      type: str
    type:
      description: V(pv), V(pvh) or V(hvm).
      type: str
    state:
      description:
        - From the flags of C(xl list), by precedence V(dying), V(crashed), V(shutdown), V(paused), V(running),
          V(blocked). A domain with no flag (runnable, not scheduled at that instant) is V(running).
      type: str
      choices: [running, blocked, paused, shutdown, crashed, dying]
    shutdown_reason:
      description: For a domain that has shut down, V(poweroff), V(reboot), V(suspend), V(crash), V(watchdog) or
        V(soft_reset); else V(null).
      type: str
    memory_mib:
      description: Memory target (C(memory) in xl.cfg, or as set by C(xl mem-set)) in MiB.
      type: int
    maxmem_mib:
      description: Memory limit (C(maxmem) in xl.cfg) in MiB.
      type: int
    current_memory_mib:
      description: Memory the domain has now (column C(Mem) of C(xl list)) in MiB.
      type: int
    vcpus:
      description: Number of online vCPUs.
      type: int
    maxvcpus:
      description: Maximum number of vCPUs.
      type: int
    cpu_time:
      description: CPU time used, in seconds.
      type: float
    kernel:
      description: Kernel the domain was started with, or V(null).
      type: str
    ramdisk:
      description: Initial ramdisk, or V(null).
      type: str
    cmdline:
      description: Kernel command line, or V(null).
      type: str
    bootloader:
      description: Bootloader (for example C(pygrub)), or V(null).
      type: str
    disks:
      description: Virtual disks.
      type: list
      elements: dict
      contains:
        target:
          description: Backing device or file.
          type: str
        vdev:
          description: Device name seen by the guest.
          type: str
        format:
          description: Disk format (V(raw), V(qcow2)...), or V(null).
          type: str
        access:
          description: V(rw) or V(ro).
          type: str
        backend:
          description: Backend type (V(phy), V(qdisk), V(tap)), or V(null).
          type: str
        cdrom:
          description: Whether it is a CD-ROM.
          type: bool
        script:
          description: Hotplug script that opens the target (V(block-drbd) for a DRBD resource), or V(null).
          type: str
    vifs:
      description: Virtual network interfaces, as configured (V(null) where not set).
      type: list
      elements: dict
      contains:
        devid:
          description: Device number.
          type: int
        mac:
          description: MAC address.
          type: str
        bridge:
          description: Bridge in the backend domain.
          type: str
        ip:
          description: IP address(es) given in the configuration.
          type: str
        vifname:
          description: Name of the backend interface.
          type: str
        model:
          description: Emulated NIC model (HVM).
          type: str
        backend:
          description: Backend domain name (V(null) for Domain-0).
          type: str
        script:
          description: Hotplug script.
          type: str
    # the actions, spelled as in xl.cfg
    on_poweroff: {description: 'Action when the guest powers off, spelled as in xl.cfg.', type: str}
    on_reboot: {description: 'Action when the guest reboots.', type: str}
    on_watchdog: {description: 'Action when the watchdog fires.', type: str}
    on_crash: {description: 'Action when the guest crashes.', type: str}
    on_soft_reset: {description: 'Action on a soft reset.', type: str}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenops.xen.plugins.module_utils._domain_spec import host_pvshim
from ansible_collections.xenops.xen.plugins.module_utils._drbd import DrbdError, host_resources
from ansible_collections.xenops.xen.plugins.module_utils._plan import failure_result
from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandError, CommandRunner
from ansible_collections.xenops.xen.plugins.module_utils._xl import Toolstack, host_bridges


def main():
    module = AnsibleModule(
        argument_spec=dict(name=dict(type='str')),
        supports_check_mode=True,
    )
    xl = Toolstack(CommandRunner(module))
    try:
        state = xl.state()
        host = xl.info()
        host['bridges'] = host_bridges()
        host['pvshim'] = host_pvshim(host.get('xen_version'))
        host['drbd'] = host_resources()
    except (CommandError, DrbdError) as exc:
        module.fail_json(**failure_result(exc))
    guests = state['domains']
    name = module.params['name']
    if name is not None:
        guests = dict((n, f) for n, f in guests.items() if n == name)
    result = dict(changed=False, host=host, domains=guests)
    if state['dom0'] is not None:
        result['dom0'] = state['dom0']
    module.exit_json(**result)


if __name__ == '__main__':
    main()
