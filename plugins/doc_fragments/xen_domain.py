# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):
    """The per-domain options of ``xenops.xen.xen_domain``: given to the task for one domain, or in each entry of ``domains``."""

    DOCUMENTATION = r'''
options:
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
      - A V(hvm) domain gets C(serial="pty") (its console for C(xl console)) and C(vnclisten="127.0.0.1") (its VNC
        console only for the host itself; reach it through an SSH tunnel), and with C(spice=1) also
        C(spicehost="127.0.0.1"), unless O(extra_options) sets them. Boot order (C(boot)), VNC (C(vnc)),
        C(vga), C(device_model_version) and the like go into O(extra_options); an ISO image is a disk with
        C(devtype=cdrom). It needs a device model in dom0 (Debian's C(qemu-system-xen); the hypervisor role
        installs it with C(hypervisor_hvm=true)).
    type: str
    choices: [pv, pvh, hvm]
  pvshim:
    description:
      - V(true) runs the domain's PV kernel inside Xen's PV shim (C(pvshim = 1) in its config) - a small Xen in a
        PVH container that boots an unchanged PV kernel (Debian's bzImage), so the domain is a PVH domain to the
        host. Needs O(type=pvh) and O(kernel), and the shim on the host - C(pvshim_path) in O(extra_options), else
        C(/usr/lib/xen-X.Y/boot/xen-shim) (Debian's Xen X.Y ships it) or C(/usr/lib/xen/boot/xen-shim) (a build
        from source). The module refuses, before any change, such a domain where the host has no shim.
      - A shim domain migrates live with hardware-assisted paging (C(hap) in C(xl info)'s C(virt_caps)), where
        a plain PV domain needs shadow paging, which Debian's current Xen builds no longer have.
      - The shim and the kernel share the domain's memory - Debian 13's kernel in the shim booted with 512 MiB and
        not with 256 MiB (the shim panics with "Not enough RAM for domain 0 allocation").
    type: bool
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
  driver_domain:
    description:
      - V(true) makes the domain a driver domain (C(driver_domain = 1) in its config) that serves devices of other
        domains, which name it as the C(backend) of their O(vifs) (or O(disks)). Inside, it needs the backend drivers
        and C(xl devd) (see the C(xenops.xen.domains) role, which sets such a domain up).
      - A domain of the task whose devices name a driver domain of the task is started after it (see
        O(backend_timeout)).
    type: bool
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
      - Seconds to wait for a domain to shut down (C(timeout <seconds> xl shutdown -w <name>)). An V(hvm) domain is
        shut down with C(xl shutdown -F), so that one without PV drivers gets an ACPI power button event, which its OS must
        act on (else see O(force_destroy)).
    type: int
    default: 120
  boot_settle:
    description:
      - Seconds a domain must stay alive after C(xl create) (checked every second with C(xl list)). V(0) does not
        check.
    type: int
    default: 3
  backend_timeout:
    description:
      - Before C(xl create) of a domain whose O(vifs) or O(disks) name a driver domain as C(backend), seconds to wait
        for that driver domain to say it serves its backends, by writing V(ready) to C(data/xenops-backend) below its
        xenstore home (C(/local/domain/<domid>/); the C(xenops.xen.domains) role's driver domains do once C(xl devd)
        runs). V(0) only checks that the driver domain runs.
      - A driver domain that does not run, crashed or is not ready in time fails the task with the end of its
        console log; the domain is not started.
      - After C(xl create), each vif served by a driver domain must be connected by the hotplug script in that driver
        domain (C(hotplug-status) of its backend). libxl kills a hotplug script after 40 seconds, which a busy host
        can exceed, and leaves the vif unconnected; a vif not connected 60 seconds after the start is detached and
        attached again (C(xl network-detach), C(xl network-attach) with its spec), at most 3 times, then the task
        fails with the last error of C(xl). A detach that fails (libxl timed out waiting for a slow driver domain) is
        tried again up to 3 times, 5 seconds apart, before the attach. V(0) skips this too.
    type: int
    default: 300
notes:
  - Needs C(xl) (Xen 4.17 toolstack) and C(timeout) (coreutils) on the host, and root; C(xenstore-read) for a domain
    whose devices name a driver domain.
  - RV(restart_required) is true when the domain still needs a restart after the task. Settings that C(xl list -l)
    does not show (most O(extra_options)) are only compared with the previous config file, so after a task with
    O(restart=never) has written them, later runs no longer report that the running domain lacks them.
  - A domain's vifs without MAC get new, stable MACs, which differ from the random ones xl gave before; for a domain
    defined by hand, give the MACs to keep them.
seealso:
  - module: xenops.xen.xen_lv
  - module: xenops.xen.xen_info
'''
