# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tasks of a no-op site.yml re-run on a converged lab host, counted by role.

    XENOPS_LAB_RUN_DIR=... .venv/bin/python tests/bench/site_noop_tasks.py [--host lab1] [--runs 1]
    .venv/bin/python tests/bench/site_noop_tasks.py --log FILE   # count the tasks of a saved run

Needs a running lab host on which playbooks/site.yml has run (with the lab inventory,
playbooks/inventory/lab.yml). Runs site.yml again --runs times (each must report
changed=0) and prints, per role, how many tasks ran (ok), were skipped and included other
files (an include counts as a task in Ansible's recap), with the wall time of each run;
with --list every task with its result. A script, not a test: timings under QEMU without
KVM vary with the load of the machine.
"""

from __future__ import annotations

import argparse
import collections
import re
import statistics

import benchlib

TASK_RE = re.compile(r'^TASK \[(?:(?P<role>[\w.]+) : )?(?P<name>.*?)\] \**$')
RESULT_RE = re.compile(r'^(?P<status>ok|changed|skipping|included|fatal|failed): ')
ORDER = ['changed', 'failed', 'fatal', 'included', 'ok', 'skipping']


def tasks_of(text):
    """[(role, task name, result)] of one host's run, in order, from the default callback's output."""
    result = []
    current = None
    statuses = set()

    def close():
        if current is not None and statuses:
            result.append(current + (next(s for s in ORDER if s in statuses),))

    for line in text.splitlines():
        match = TASK_RE.match(line)
        if match:
            close()
            role = match.group('role') or '(play)'
            current = (role.replace('xenops.xen.', ''), match.group('name'))
            statuses = set()
            continue
        match = RESULT_RE.match(line)
        if match and current is not None:
            statuses.add(match.group('status'))
    close()
    return result


def table(tasks):
    counts = collections.OrderedDict()
    for role, _name, status in tasks:
        counts.setdefault(role, collections.Counter())[status] += 1
    lines = ['%-12s %6s %8s %9s %7s' % ('role', 'tasks', 'ran (ok)', 'included', 'skipped')]
    total = collections.Counter()
    for role, counter in counts.items():
        total.update(counter)
        lines.append('%-12s %6d %8d %9d %7d' % (role, sum(counter.values()), counter['ok'] + counter['changed'],
                                                counter['included'], counter['skipping']))
    lines.append('%-12s %6d %8d %9d %7d' % ('all', sum(total.values()), total['ok'] + total['changed'],
                                            total['included'], total['skipping']))
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    ap.add_argument('--host', default='lab1')
    ap.add_argument('--runs', type=int, default=1)
    ap.add_argument('--log', help='count the tasks of this saved ansible-playbook output instead of running')
    ap.add_argument('--list', action='store_true', help='also print every task with its result')
    args = ap.parse_args()

    if args.log:
        with open(args.log) as fh:
            texts = [fh.read()]
        seconds = []
    else:
        inv = benchlib.inventory()
        empty = benchlib.write_vars('site-noop.json', {})
        texts, seconds = [], []
        for index in range(args.runs):
            took, recap = benchlib.run_play(inv, empty, 'site_noop-%d' % (index + 1), playbook='playbooks/site.yml',
                                            limit=args.host)
            if recap[args.host]['changed']:
                raise SystemExit('bench: run %d changed %d tasks: the host was not converged'
                                 % (index + 1, recap[args.host]['changed']))
            seconds.append(took)
            with open(benchlib.OUT + '/site_noop-%d.log' % (index + 1)) as fh:
                texts.append(fh.read())

    tasks = tasks_of(texts[-1])
    if args.list:
        for role, name, status in tasks:
            print('%-9s %-10s %s' % (status, role, name))
        print()
    print(table(tasks))
    if seconds:
        print('wall time of the re-run: median %.0f s (%.0f-%.0f), %d runs'
              % (statistics.median(seconds), min(seconds), max(seconds), len(seconds)))


if __name__ == '__main__':
    main()
