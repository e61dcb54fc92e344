# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for a Xen host's xl, LVM and blkid, for the fleet no-op benchmark (tests/bench/fleet_noop.py).

Called as ``fakehost.py COMMAND ARGS...`` by the wrappers fleet_noop.py puts first on each benchmark
host's PATH (xl, lvs, vgs, pvs, lvcreate, blkid, mkfs.ext4). The host's state is one JSON file,
``$XENOPS_FAKEHOST/state.json``: its domains (made by ``xl create`` from their config file), its
logical volumes and their file systems. What it prints is the lab's captured output
(tests/unit/plugins/module_utils/fixtures): ``xl info`` of lab1 with the memory the domains leave
free, ``xl list -l`` entries in the shape lab1 printed, filled with what xl makes of each config file
(the collection's own ``effective``), LVM's JSON reports and blkid's export format. Every command is
appended to ``$XENOPS_FAKEHOST/commands.log``.

Not a Xen host: nothing runs. It answers exactly the commands a run of playbooks/domains.yml with
domains_os none asks, so the benchmark measures the collection and Ansible, not xl.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
import sys
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, '.tmp', 'collections'))

from ansible_collections.xenops.xen.plugins.module_utils import _xlcfg  # noqa: E402 pylint: disable=wrong-import-position
from ansible_collections.xenops.xen.plugins.module_utils._domain_compare import effective  # noqa: E402 pylint: disable=wrong-import-position

FIXTURES = os.path.join(REPO, 'tests', 'unit', 'plugins', 'module_utils', 'fixtures')
TOTAL_MIB = 1024 * 1024  # a host big enough for any benchmark size
DOM0_MIB = 768
VG = 'vg_xen'
VG_BYTES = 64 << 40
EXTENT = 4 << 20


def _fixture(*parts):
    with open(os.path.join(FIXTURES, *parts)) as fh:
        return fh.read()


class Host(object):
    def __init__(self, directory):
        self.dir = directory
        self.path = os.path.join(directory, 'state.json')
        self.lock = open(os.path.join(directory, 'state.lock'), 'w')  # pylint: disable=consider-using-with
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        try:
            with open(self.path) as fh:
                self.state = json.load(fh)
        except FileNotFoundError:
            self.state = {'next_domid': 1, 'domains': {}, 'lvs': {}}

    def save(self):
        with open(self.path + '.new', 'w') as fh:
            json.dump(self.state, fh)
        os.rename(self.path + '.new', self.path)

    def log(self, argv):
        with open(os.path.join(self.dir, 'commands.log'), 'a') as fh:
            fh.write(' '.join(argv) + '\n')


def _entry(domid, cfg):
    """An ``xl list -l`` entry for a domain made from config ``cfg`` (shaped like lab1's f1)."""
    template = json.loads(_fixture('fleet', 'lab1_xl_list_l.json'))[1]
    entry = copy.deepcopy(template)
    eff = effective(cfg)
    c_info, b_info = entry['config']['c_info'], entry['config']['b_info']
    c_info.update(type=eff['type'], name=cfg['name'], uuid=str(uuid.uuid4()))
    b_info.pop('type.pvh', None)
    b_info['type.%s' % eff['type']] = {}
    b_info.update(max_vcpus=eff['maxvcpus'], avail_vcpus=list(range(eff['vcpus'])),
                  max_memkb=eff['maxmem'] * 1024, target_memkb=eff['memory'] * 1024,
                  kernel=eff['kernel'], ramdisk=eff['ramdisk'], cmdline=eff['cmdline'])
    for key in ('kernel', 'ramdisk', 'cmdline'):
        if b_info[key] is None:
            del b_info[key]
    entry['config']['disks'] = [{'pdev_path': d['target'], 'vdev': d['vdev'], 'format': d['format'] or 'raw',
                                 'readwrite': 1 if d['access'] == 'rw' else 0, 'colo_restore_enable': 'False'}
                                for d in eff['disks'] if d]
    entry['config']['nics'] = [dict({'devid': i, 'mac': v.get('mac'), 'bridge': v.get('bridge'), 'nictype': 'vif'},
                                    **({'script': v['script']} if v.get('script') else {}))
                               for i, v in enumerate(v for v in eff['vifs'] if v)]
    entry['domid'] = domid
    return entry


def xl(host, args):
    if args[:1] == ['-N']:
        args = args[1:]
        dry_run = True
    else:
        dry_run = False
    command = args[0] if args else ''
    domains = host.state['domains']
    if command == 'info':
        used = DOM0_MIB + sum(d['config']['b_info']['target_memkb'] // 1024 for d in domains.values())
        lines = []
        for line in _fixture('fleet', 'lab1_xl_info.txt').splitlines():
            key = line.split(':', 1)[0].strip()
            if key == 'host':
                line = 'host                   : %s' % os.path.basename(host.dir)
            elif key == 'total_memory':
                line = 'total_memory           : %d' % TOTAL_MIB
            elif key == 'free_memory':
                line = 'free_memory            : %d' % (TOTAL_MIB - used)
            lines.append(line)
        print('\n'.join(lines))
        return 0
    if command == 'list' and args[1:] == ['-l']:
        dom0 = json.loads(_fixture('fleet', 'lab1_xl_list_l.json'))[0]
        print(json.dumps([dom0] + [domains[n] for n in sorted(domains, key=lambda n: domains[n]['domid'])], indent=4))
        return 0
    if command == 'list':
        names = args[1:]
        print('%-40s %5s %5s %5s     %-8s%9s' % ('Name', 'ID', 'Mem', 'VCPUs', 'State', 'Time(s)'))
        if not names:
            print('%-40s %5d %5d %5d     %-8s%9.1f' % ('Domain-0', 0, DOM0_MIB, 2, 'r-----', 1000.0))
        for name in names or sorted(domains, key=lambda n: domains[n]['domid']):
            if name not in domains:
                sys.stderr.write("%s is an invalid domain identifier (rc=-6)\n" % name)
                return 1
            b_info = domains[name]['config']['b_info']
            row = (name, domains[name]['domid'], b_info['target_memkb'] // 1024, b_info['max_vcpus'], '-b----', 10.0)
            print('%-40s %5d %5d %5d     %-8s%9.1f' % row)
        return 0
    if command == 'create' and len(args) == 2:
        with open(args[1]) as fh:
            cfg = _xlcfg.parse(fh.read())
        if dry_run:
            print(json.dumps(_entry(0, cfg)['config'], indent=4))
            return 0
        if cfg['name'] in domains:
            sys.stderr.write('libxl: error: domain with name "%s" already exists.\n' % cfg['name'])
            return 3
        domains[cfg['name']] = _entry(host.state['next_domid'], cfg)
        host.state['next_domid'] += 1
        host.save()
        return 0
    if command in ('shutdown', 'destroy'):
        name = args[-1]
        if domains.pop(name, None) is None:
            sys.stderr.write("%s is an invalid domain identifier (rc=-6)\n" % name)
            return 1
        host.save()
        return 0
    sys.stderr.write('fakehost: xl %s is not part of the benchmark\n' % ' '.join(args))
    return 64


def _report(kind, rows):
    return json.dumps({'report': [{kind: rows}]}, indent=2)


def lvm(host, command, args):
    lvs = host.state['lvs']
    if command == 'lvs':
        print(_report('lv', [{'vg_name': VG, 'lv_name': n, 'lv_path': '/dev/%s/%s' % (VG, n), 'lv_size': str(v['size']),
                              'lv_attr': '-wi-ao----'} for n, v in sorted(lvs.items())]))
        return 0
    if command == 'vgs':
        free = VG_BYTES - sum(v['size'] for v in lvs.values())
        print(_report('vg', [{'vg_name': VG, 'vg_size': str(VG_BYTES), 'vg_free': str(free),
                              'vg_extent_size': str(EXTENT), 'vg_free_count': str(free // EXTENT)}]))
        return 0
    if command == 'pvs':
        print(_report('pv', [{'pv_name': '/dev/sdb', 'vg_name': VG}]))
        return 0
    if command == 'lvcreate':
        name, size = args[args.index('-n') + 1], args[args.index('-L') + 1]
        lvs[name] = {'size': int(size.rstrip('b')), 'fstype': None, 'label': None}
        host.save()
        return 0
    sys.stderr.write('fakehost: %s is not part of the benchmark\n' % command)
    return 64


def _lv(path):
    prefix = '/dev/%s/' % VG
    return path[len(prefix):] if path.startswith(prefix) else None


def blkid(host, args):
    """``blkid -p -o export PATH...``: like util-linux 2.38, stops at the first device without a signature."""
    paths = [a for a in args if a.startswith('/')]
    out = []
    for path in paths:
        lv = host.state['lvs'].get(_lv(path) or '')
        if not lv or not lv['fstype']:
            print('\n'.join(out))
            return 2
        out.append('DEVNAME=%s\n%sUUID=%s\nBLOCK_SIZE=4096\nTYPE=%s\nUSAGE=filesystem\n'
                   % (path, 'LABEL=%s\n' % lv['label'] if lv['label'] else '', lv.get('uuid'), lv['fstype']))
    print('\n'.join(out))
    return 0


def mkfs(host, fstype, args):
    lv = host.state['lvs'].get(_lv(args[-1]) or '')
    if lv is None:
        sys.stderr.write('mke2fs: No such file or directory while trying to determine filesystem size\n')
        return 1
    lv.update(fstype=fstype, uuid=str(uuid.uuid4()), label=args[args.index('-L') + 1] if '-L' in args else None)
    host.save()
    return 0


def main(argv):
    command, args = os.path.basename(argv[1]), argv[2:]
    host = Host(os.environ['XENOPS_FAKEHOST'])
    host.log([command] + args)
    if command == 'xl':
        return xl(host, args)
    if command in ('lvs', 'vgs', 'pvs', 'lvcreate'):
        return lvm(host, command, args)
    if command == 'blkid':
        return blkid(host, args)
    if command.startswith('mkfs.'):
        return mkfs(host, command.split('.', 1)[1], args)
    sys.stderr.write('fakehost: %s is not part of the benchmark\n' % command)
    return 64


if __name__ == '__main__':
    sys.exit(main(sys.argv))
