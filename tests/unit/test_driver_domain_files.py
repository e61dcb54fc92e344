# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The files the guest_os and domains roles write for a network driver domain, rendered from the plan the filter makes."""

from __future__ import annotations

import os

import jinja2

from ansible_collections.xenops.xen.plugins.filter.domains import domain_plan

ROOT = os.path.join(os.path.dirname(__file__), '..', '..')
# the files inside the driver domain are the guest_os role's (etc/...), those of dom0 the domains role's (host/...)
TEMPLATES = [os.path.join(ROOT, 'roles', 'guest_os', 'templates'), os.path.join(ROOT, 'roles', 'domains', 'templates')]


def render(template, **variables):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), keep_trailing_newline=True, trim_blocks=True)
    env.filters['bool'] = lambda value: value is True or str(value).lower() in ('true', 'yes', '1')
    return env.get_template(template).render(ansible_managed='managed', **variables)


def driver_root():
    plan = domain_plan([{'name': 'router', 'driver_domain': True, 'disks': [{'size': '1G'}],
                         'bridges': [{'name': 'lan0', 'addresses': ['10.77.0.1/24'], 'mtu': 1450},
                                     {'name': 'up0', 'uplink': 'enX0', 'method': 'dhcp'}]}],
                       {'vg': 'vg_xen', 'os': {'suite': 'bookworm'}, 'driver_domain_packages': ['xen-utils-4.17']})
    return plan['roots'][0], plan['driver_domains'][0]


def test_bridge_without_uplink_gets_its_address_without_a_carrier():
    root, _driver = driver_root()
    lan0 = root['bridges'][0]
    netdev = render('etc/systemd/network/05-xenops-bridge.netdev.j2', __guest_os_bridge=lan0)
    assert '[NetDev]\nName=lan0\nKind=bridge\nMTUBytes=1450\n' in netdev
    network = render('etc/systemd/network/05-xenops-bridge.network.j2', __guest_os_bridge=lan0)
    assert 'Name=lan0\n' in network and 'Address=10.77.0.1/24\n' in network
    assert 'ConfigureWithoutCarrier=yes\n' in network and 'DHCP' not in network


def test_bridge_with_an_uplink_takes_the_interface_before_its_own_file():
    root, _driver = driver_root()
    up0 = root['bridges'][1]
    network = render('etc/systemd/network/05-xenops-bridge.network.j2', __guest_os_bridge=up0)
    assert 'DHCP=ipv4\n' in network and 'Address=' not in network
    port = render('etc/systemd/network/05-xenops-port.network.j2', __guest_os_bridge=up0)
    assert '[Match]\nName=enX0\n\n[Network]\nBridge=up0\n' in port


def test_backend_service_says_ready_once_xl_devd_runs():
    unit = render('etc/systemd/system/xenops-backend.service.j2')
    assert 'ExecStart=/usr/sbin/xl devd -F\n' in unit
    assert "xenstore-write data/xenops-backend ready" in unit
    assert 'ExecStopPost=-/usr/bin/xenstore-rm data/xenops-backend\n' in unit


def test_boot_service_starts_the_driver_domain_before_xendomains():
    _root, driver = driver_root()
    unit = render('host/etc/systemd/system/xenops-driver-domain.service.j2', __domains_driver=driver,
                  domains_config_dir='/etc/xen')
    assert 'Before=xendomains.service\n' in unit
    assert ('ExecStart=/usr/local/libexec/xenops-xen/driver-domain-start router /etc/xen/router.cfg 300\n'
            in unit)
    assert 'TimeoutStartSec=2100\n' in unit
    script = render('host/usr/local/libexec/xenops-xen/driver-domain-start.j2')
    assert script.startswith('#!/bin/sh\n')
    assert 'xenstore-read "/local/domain/$domid/data/xenops-backend"' in script


def test_initramfs_has_the_backend_modules_only_with_a_driver_domain():
    modules = {'domains_initramfs_modules': ['xen-blkfront', 'xen-netfront'],
               'domains_driver_domain_modules': ['xen-netback', 'bridge']}
    with_driver = render('host/var/lib/xenops-xen/initramfs/conf/modules.j2', __domains_has_driver_domain=True, **modules)
    without = render('host/var/lib/xenops-xen/initramfs/conf/modules.j2', __domains_has_driver_domain=False, **modules)
    lines = [line for line in with_driver.splitlines() if line and not line.startswith('#')]
    assert lines == ['xen-blkfront', 'xen-netfront', 'xen-netback', 'bridge']
    assert [line for line in without.splitlines() if line and not line.startswith('#')] == ['xen-blkfront', 'xen-netfront']


# A stand-in for xl, xenstore-read, xenstore-list and sleep (one program, told apart by the name it is called by),
# keeping the domains and the xenstore in a JSON file, so the boot script runs as on a host.
FAKE_TOOLSTACK = r'''
import json, os, sys
STATE = os.environ['FAKE_STATE']
with open(STATE) as fh:
    state = json.load(fh)
prog, args = os.path.basename(sys.argv[0]), sys.argv[1:]


def vif(xs, domid, devid, hotplug):
    backend = '/local/domain/1/backend/vif/%d/%s' % (domid, devid)
    xs['/libxl/%d/device/vif/%s/backend' % (domid, devid)] = backend
    if hotplug is not None:
        xs[backend + '/hotplug-status'] = hotplug



state['calls'].append([prog] + args)
xs, domids = state['xs'], state['domids']
names = {str(v): k for k, v in domids.items()}
rc = 0
if prog == 'sleep':
    pass
elif prog == 'xenstore-read':
    if args[0] in xs:
        print(xs[args[0]])
    else:
        rc = 1
elif prog == 'xenstore-list':
    children = sorted({k[len(args[0]) + 1:].split('/')[0] for k in xs if k.startswith(args[0] + '/')})
    print('\n'.join(children)) if children else None
    rc = 0 if children else 1
elif args[0] == 'domid':
    print(domids[args[1]]) if args[1] in domids else None
    rc = 0 if args[1] in domids else 1
elif args[0] == 'domname':
    print(names[args[1]]) if args[1] in names else None
    rc = 0 if args[1] in names else 1
elif args[0] == 'create':
    with open(args[1]) as fh:
        name = [l.split('"')[1] for l in fh if l.startswith('name = ')][0]
    domids[name] = max(domids.values()) + 1
    if name == state['driver']:
        xs['/local/domain/%d/data/xenops-backend' % domids[name]] = 'ready' if state['ready'] else ''
    else:
        vif(xs, domids[name], '0', state['first_hotplug'])
elif args[0] == 'network-detach':
    if state['detach_fails']:
        state['detach_fails'] -= 1
        rc = 1
    else:
        for prefix in ('/local/domain/1/backend/vif/%d/%s/' % (domids[args[1]], args[2]),
                       '/libxl/%d/device/vif/%s/' % (domids[args[1]], args[2])):
            for key in [k for k in xs if k.startswith(prefix)]:
                del xs[key]
elif args[0] == 'network-attach':
    devid = [a.split('=')[1] for a in args[2:] if a.startswith('devid=')][0]
    vif(xs, domids[args[1]], devid, state['attached_hotplug'])
with open(STATE, 'w') as fh:
    json.dump(state, fh)
sys.exit(rc)
'''

CLIENT_CFG = '''name = "web"
vif = [
    "mac=00:16:3e:00:00:01,bridge=lan0,backend=router",
]
'''


def run_boot_script(tmp_path, first_hotplug='', attached_hotplug='connected', ready=True, running=None, wait=None,
                    detach_fails=0):
    """driver-domain-start router against the stand-in toolstack: (rc, output, the commands it ran but sleep)."""
    import json
    import subprocess
    import sys
    bin_dir, auto = tmp_path / 'bin', tmp_path / 'auto'
    bin_dir.mkdir()
    auto.mkdir()
    fake = bin_dir / 'fake'
    fake.write_text('#!%s -SE\n%s' % (sys.executable, FAKE_TOOLSTACK))
    fake.chmod(0o755)
    for prog in ('xl', 'xenstore-read', 'xenstore-list', 'sleep'):
        (bin_dir / prog).symlink_to(fake)
    (tmp_path / 'router.cfg').write_text('name = "router"\n')
    (tmp_path / 'web.cfg').write_text(CLIENT_CFG)
    (tmp_path / 'other.cfg').write_text('name = "other"\nvif = [\n    "mac=00:16:3e:00:00:02,bridge=xenbr0",\n]\n')
    for name in ('router', 'web', 'other'):
        (auto / (name + '.cfg')).symlink_to(tmp_path / (name + '.cfg'))
    state = {'calls': [], 'xs': {}, 'domids': dict({'Domain-0': 0}, **(running or {})), 'driver': 'router',
             'ready': ready, 'first_hotplug': first_hotplug, 'attached_hotplug': attached_hotplug,
             'detach_fails': detach_fails}
    if 'router' in state['domids']:
        state['xs']['/local/domain/1/data/xenops-backend'] = 'ready' if ready else ''
    if 'web' in state['domids']:
        web = state['domids']['web']
        state['xs']['/libxl/%d/device/vif/0/backend' % web] = '/local/domain/1/backend/vif/%d/0' % web
        if first_hotplug is not None:
            state['xs']['/local/domain/1/backend/vif/%d/0/hotplug-status' % web] = first_hotplug
    (tmp_path / 'state.json').write_text(json.dumps(state))
    script = tmp_path / 'driver-domain-start'
    script.write_text(render('host/usr/local/libexec/xenops-xen/driver-domain-start.j2'))
    env = dict(os.environ, PATH='%s:%s' % (bin_dir, os.environ['PATH']), FAKE_STATE=str(tmp_path / 'state.json'))
    env.pop('XENOPS_HOTPLUG_WAIT', None)
    if wait is not None:
        env['XENOPS_HOTPLUG_WAIT'] = str(wait)
    proc = subprocess.run(['sh', str(script), 'router', str(tmp_path / 'router.cfg'), '10', str(auto)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    calls = json.loads((tmp_path / 'state.json').read_text())['calls']
    changing = [c for c in calls if c[0] == 'xl' and c[1] in ('create', 'network-detach', 'network-attach')]
    return proc.returncode, proc.stdout, changing


def test_boot_script_starts_the_driver_domain_then_its_clients_only(tmp_path):
    rc, out, changing = run_boot_script(tmp_path, first_hotplug='connected')
    assert rc == 0, out
    assert changing == [['xl', 'create', str(tmp_path / 'router.cfg')], ['xl', 'create', str(tmp_path / 'auto' / 'web.cfg')]]
    assert 'driver domain router: every vif it serves is connected' in out


def test_boot_script_attaches_a_vif_again_whose_hotplug_libxl_killed(tmp_path):
    rc, out, changing = run_boot_script(tmp_path, running={'router': 1})
    assert rc == 0, out
    # router ran already; the client's vif hotplug left no status: attached again with its own spec, one argument each
    assert changing == [['xl', 'create', str(tmp_path / 'auto' / 'web.cfg')],
                        ['xl', 'network-detach', 'web', '0'],
                        ['xl', 'network-attach', 'web', 'devid=0', 'mac=00:16:3e:00:00:01', 'bridge=lan0', 'backend=router']]
    assert 'vif 0 of web not connected by its hotplug script in router after 60s: attaching it again' in out


def test_boot_script_gives_up_after_three_attachments(tmp_path):
    rc, out, changing = run_boot_script(tmp_path, running={'router': 1, 'web': 2}, first_hotplug='error',
                                        attached_hotplug='error', wait=4)
    assert rc == 1
    assert [c[1] for c in changing] == ['network-detach', 'network-attach'] * 3
    assert 'driver domain router: vifs not connected after 3 new attachments: 2/0' in out
    assert 'vif 0 of web not connected by its hotplug script in router after 4s: attaching it again' in out


def test_boot_script_fails_when_the_driver_domain_does_not_get_ready(tmp_path):
    rc, out, changing = run_boot_script(tmp_path, ready=False)
    assert rc == 1
    assert changing == [['xl', 'create', str(tmp_path / 'router.cfg')]]
    assert 'driver domain router (domid 1) does not serve its backends after 10s' in out


def test_boot_script_attaches_again_a_vif_whose_backend_a_timed_out_detach_left_gone(tmp_path):
    # the record of the vif in /libxl is there, its backend directory in router is not (first_hotplug None);
    # the first detach fails (libxl timed out waiting for the slow driver domain) and is tried again
    rc, out, changing = run_boot_script(tmp_path, running={'router': 1, 'web': 2}, first_hotplug=None, detach_fails=1)
    assert rc == 0, out
    assert changing == [['xl', 'network-detach', 'web', '0'], ['xl', 'network-detach', 'web', '0'],
                        ['xl', 'network-attach', 'web', 'devid=0', 'mac=00:16:3e:00:00:01', 'bridge=lan0', 'backend=router']]
    assert 'driver domain router: every vif it serves is connected' in out
