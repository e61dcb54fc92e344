# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Provisioning time of a Debian domain on the lab: the first one (cold, debootstrap
builds the base system) against the second one (unpacked from the cached base).

    XENOPS_LAB_RUN_DIR=... .venv/bin/python tests/bench/os_install.py [--host lab1] [--warm] [--keep]

Needs a running lab host that is already a Xen host (playbooks/site.yml applied:
volume group vg_xen, bridge xenbr0 with 192.0.2.1/24, as in
playbooks/inventory/host_vars/lab1.yml). Runs playbooks/domains.yml three times
with extra vars that replace xen_domains by the benchmark's domains bench1 and
bench2 (other domains of the host are left alone):

  1. bench1 alone: base system built (unless --warm), bench1 installed and started
  2. bench1 and bench2: bench2 installed from the cached base and started
  3. the same again: nothing to do

and waits after runs 1 and 2 until the new domain answers on SSH. Afterwards the
benchmark domains and their volumes are removed (unless --keep). A script, not a
test: timings under QEMU without KVM vary with the load of the machine.
"""

from __future__ import annotations

import argparse
import time

import benchlib

ADDRESSES = {'bench1': '192.0.2.201', 'bench2': '192.0.2.202'}


def domain(name, state='running'):
    return {'name': name, 'state': state, 'memory': 192, 'vcpus': 1, 'purge_disks': True,
            'disks': [{'function': 'root', 'size': '1G', 'fstype': 'ext4'}],
            'vifs': [{'bridge': 'xenbr0', 'ip': ADDRESSES[name] + '/24', 'gateway': '192.0.2.1'}]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    ap.add_argument('--host', default='lab1')
    ap.add_argument('--warm', action='store_true', help='keep the cached base system (measure only the install)')
    ap.add_argument('--keep', action='store_true', help='leave the benchmark domains running')
    args = ap.parse_args()

    inv = benchlib.inventory()
    benchlib.log('removing earlier benchmark domains%s' % ('' if args.warm else ' and the cached base systems'))
    benchlib.run_play(inv, benchlib.write_vars('os-clean.json', {'xen_domains': [
        domain('bench1', 'absent'), domain('bench2', 'absent')]}), 'os_install-clean', limit=args.host)
    if not args.warm:
        benchlib.ssh(args.host, 'rm -f /var/cache/xenops-xen/base-*.tar')

    one = benchlib.write_vars('os-one.json', {'xen_domains': [domain('bench1')]})
    two = benchlib.write_vars('os-two.json', {'xen_domains': [domain('bench1'), domain('bench2')]})
    results = {'host': args.host, 'warm': args.warm, 'date': time.strftime('%Y-%m-%d %H:%M:%S')}

    results['first_play_s'], recap1 = benchlib.run_play(inv, one, 'os_install-first', limit=args.host)
    results['first_ssh_s'] = benchlib.wait_ssh(args.host, ADDRESSES['bench1'])
    results['second_play_s'], recap2 = benchlib.run_play(inv, two, 'os_install-second', limit=args.host)
    results['second_ssh_s'] = benchlib.wait_ssh(args.host, ADDRESSES['bench2'])
    results['noop_play_s'], recap3 = benchlib.run_play(inv, two, 'os_install-noop', limit=args.host)
    results['noop_changed'] = recap3[args.host]['changed']
    results['base'] = benchlib.ssh(args.host, 'ls -l /var/cache/xenops-xen/').stdout.strip().splitlines()

    if not args.keep:
        benchlib.run_play(inv, benchlib.write_vars('os-clean.json', {'xen_domains': [
            domain('bench1', 'absent'), domain('bench2', 'absent')]}), 'os_install-clean', limit=args.host)

    benchlib.save('os_install.json', results)
    print('first domain  (%s base): play %6.1f s, SSH answers %5.1f s later'
          % ('cached' if args.warm else 'cold, debootstrap', results['first_play_s'], results['first_ssh_s']))
    print('second domain (cached base):      play %6.1f s, SSH answers %5.1f s later'
          % (results['second_play_s'], results['second_ssh_s']))
    print('no-op re-run:                     play %6.1f s, changed=%d'
          % (results['noop_play_s'], results['noop_changed']))


if __name__ == '__main__':
    main()
