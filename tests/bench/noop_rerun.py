# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time of a no-op re-run of the domains play on the lab, per host and per domain.

    XENOPS_LAB_RUN_DIR=... .venv/bin/python tests/bench/noop_rerun.py [--domains 3] [--state running] [--os debian]

Needs a running lab host that is already a Xen host (playbooks/site.yml applied).
Replaces xen_domains (extra vars) by N benchmark domains noop-01..noop-N (LVM root
of 512M, 192 MiB each, on xenbr0), converges them once, then runs the same play
again twice (the no-op re-runs, which must report changed=0), twice with only
noop-01 listed (a no-op with one domain: the others are left alone) and once with an
empty domain list (the play skips nearly everything then). The cost per domain is
(best no-op with N - best no-op with 1) / (N - 1): the tasks that run once per host
whatever the number of domains (kernel and initramfs checks, the batch calls) cancel
out. Afterwards the domains and their volumes are removed (unless --keep). A script,
not a test: timings under QEMU without KVM vary with the load of the machine, so
run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import time

import benchlib


def domains(count, state, osname):
    result = []
    for index in range(1, count + 1):
        dom = {'name': 'noop-%02d' % index, 'state': state, 'memory': 192, 'vcpus': 1, 'purge_disks': True,
               'disks': [{'function': 'root', 'size': '512M', 'fstype': 'ext4'}],
               'vifs': [{'bridge': 'xenbr0', 'ip': '192.0.2.%d/24' % (100 + index)}]}
        if osname == 'none':
            dom['os'] = 'none'
        result.append(dom)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    ap.add_argument('--host', default='lab1')
    ap.add_argument('--domains', type=int, default=3, help='at least 2')
    ap.add_argument('--state', default='running', choices=['running', 'present', 'stopped'])
    ap.add_argument('--os', default='debian', choices=['debian', 'none'],
                    help='none: no system on the disks (only with --state present or stopped)')
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args()
    if args.domains < 2:
        ap.error('--domains must be at least 2')
    if args.os == 'none' and args.state == 'running':
        ap.error('domains without a system cannot run; use --state present')

    inv = benchlib.inventory()
    doms = domains(args.domains, args.state, args.os)
    full = benchlib.write_vars('noop-domains.json', {'xen_domains': doms})
    one = benchlib.write_vars('noop-one.json', {'xen_domains': doms[:1]})
    empty = benchlib.write_vars('noop-empty.json', {'xen_domains': []})
    absent = benchlib.write_vars('noop-absent.json', {'xen_domains': [dict(d, state='absent') for d in doms]})

    results = {'host': args.host, 'domains': args.domains, 'state': args.state, 'os': args.os,
               'date': time.strftime('%Y-%m-%d %H:%M:%S')}
    results['converge_s'], recap = benchlib.run_play(inv, full, 'noop-converge', limit=args.host)
    results['converge_changed'] = recap[args.host]['changed']
    runs = []
    for attempt in (1, 2):
        seconds, recap = benchlib.run_play(inv, full, 'noop-rerun-%d' % attempt, limit=args.host)
        runs.append({'seconds': seconds, 'changed': recap[args.host]['changed'], 'ok': recap[args.host]['ok']})
    results['noop_runs'] = runs
    one_runs = []
    for attempt in (1, 2):
        seconds, recap = benchlib.run_play(inv, one, 'noop-one-%d' % attempt, limit=args.host)
        one_runs.append({'seconds': seconds, 'changed': recap[args.host]['changed'], 'ok': recap[args.host]['ok']})
    results['noop_one_runs'] = one_runs
    results['empty_s'], _recap = benchlib.run_play(inv, empty, 'noop-empty', limit=args.host)
    if not args.keep:
        benchlib.run_play(inv, absent, 'noop-clean', limit=args.host)

    best = min(r['seconds'] for r in runs)
    best_one = min(r['seconds'] for r in one_runs)
    results['noop_best_s'] = best
    results['noop_one_best_s'] = best_one
    results['per_domain_s'] = (best - best_one) / (args.domains - 1)
    benchlib.save('noop_rerun.json', results)
    print('%d domains (%s, os %s) on %s' % (args.domains, args.state, args.os, args.host))
    print('converge:            %6.1f s (changed=%d)' % (results['converge_s'], results['converge_changed']))
    for index, run in enumerate(runs, 1):
        print('no-op re-run %d:      %6.1f s (changed=%d, ok=%d)' % (index, run['seconds'], run['changed'], run['ok']))
    for index, run in enumerate(one_runs, 1):
        print('no-op, 1 domain %d:   %6.1f s (changed=%d, ok=%d)' % (index, run['seconds'], run['changed'], run['ok']))
    print('empty domain list:   %6.1f s (the play skips nearly everything)' % results['empty_s'])
    print('per host (no-op):    %6.1f s with %d domains, %.1f s with 1' % (best, args.domains, best_one))
    print('per domain (no-op):  %6.2f s  ((best no-op with %d - best with 1) / %d)'
          % (results['per_domain_s'], args.domains, args.domains - 1))


if __name__ == '__main__':
    main()
