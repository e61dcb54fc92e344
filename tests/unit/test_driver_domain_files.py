# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The files the domains role writes for a network driver domain, rendered from the plan the filter makes."""

from __future__ import annotations

import os

import jinja2

from ansible_collections.xenops.xen.plugins.filter.domains import domain_plan

ROOT = os.path.join(os.path.dirname(__file__), '..', '..')
TEMPLATES = os.path.join(ROOT, 'roles', 'domains', 'templates')


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
    netdev = render('guest/etc/systemd/network/05-xenops-bridge.netdev.j2', __domains_bridge=lan0)
    assert '[NetDev]\nName=lan0\nKind=bridge\nMTUBytes=1450\n' in netdev
    network = render('guest/etc/systemd/network/05-xenops-bridge.network.j2', __domains_bridge=lan0)
    assert 'Name=lan0\n' in network and 'Address=10.77.0.1/24\n' in network
    assert 'ConfigureWithoutCarrier=yes\n' in network and 'DHCP' not in network


def test_bridge_with_an_uplink_takes_the_interface_before_its_own_file():
    root, _driver = driver_root()
    up0 = root['bridges'][1]
    network = render('guest/etc/systemd/network/05-xenops-bridge.network.j2', __domains_bridge=up0)
    assert 'DHCP=ipv4\n' in network and 'Address=' not in network
    port = render('guest/etc/systemd/network/05-xenops-port.network.j2', __domains_bridge=up0)
    assert '[Match]\nName=enX0\n\n[Network]\nBridge=up0\n' in port


def test_backend_service_says_ready_once_xl_devd_runs():
    unit = render('guest/etc/systemd/system/xenops-backend.service.j2')
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
    assert 'TimeoutStartSec=420\n' in unit
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
