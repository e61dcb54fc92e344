# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""_moves: live, cold or refused, and why."""

from __future__ import annotations

import pytest

from ansible_collections.xenops.xen.plugins.module_utils._moves import COLD, LIVE, MoveError, local_disks, plan_move, xen_version


def host(name, free=2048, version='4.17.5', bridges=('xenbr0',), domains=()):
    return {'name': name, 'free_mib': free, 'xen_version': version, 'bridges': list(bridges), 'domains': list(domains)}


def web(**kwargs):
    result = {'name': 'web', 'memory': 256, 'disks': [], 'bridges': ['xenbr0']}
    result.update(kwargs)
    return result


A = host('lab1', domains=['web'])


def test_diskless_domain_moves_live():
    move = plan_move(web(), A, host('lab2'))
    assert move.as_dict() == {'name': 'web', 'from': 'lab1', 'to': 'lab2', 'method': LIVE, 'notes': [],
                              'summary': 'web: lab1 -> lab2 (live)'}


@pytest.mark.parametrize('disk', [{'target': 'r0', 'script': 'block-drbd'}, {'target': '/dev/vg/web', 'shared': True},
                                  {'target': 'r0', 'script': '/etc/xen/scripts/block-drbd'}])
def test_replicated_or_shared_disks_move_live(disk):
    assert plan_move(web(disks=[disk]), A, host('lab2')).method == LIVE


def test_local_disk_needs_a_cold_move():
    domain = web(disks=[{'target': '/dev/vg_xen/web-root'}, {'target': 'r1', 'script': 'block-drbd'}])
    assert local_disks(domain) == ['/dev/vg_xen/web-root']
    with pytest.raises(MoveError) as exc:
        plan_move(domain, A, host('lab2'))
    assert str(exc.value) == ('cannot move web from lab1 to lab2: web cannot move live: its disks /dev/vg_xen/web-root '
                              'are local to lab1 (not replicated or shared), and cold moves are not allowed')
    move = plan_move(domain, A, host('lab2'), allow_cold=True)
    assert (move.method, move.notes) == (COLD, ['cold: disks /dev/vg_xen/web-root are copied while the domain is shut down'])


def test_every_preflight_problem_is_named_at_once():
    target = host('lab2', free=128, version='4.16.2', bridges=('xenbr1',), domains=['web--incoming'])
    with pytest.raises(MoveError) as exc:
        plan_move(web(), A, target)
    assert str(exc.value) == (
        'cannot move web from lab1 to lab2: lab2 runs web--incoming: an earlier migration of web did not finish; '
        'clean it up first; lab2 has no bridge xenbr0; lab2 has 128 MiB free, web needs 256 MiB; live migration from '
        'Xen 4.17 on lab1 to Xen 4.16 on lab2 is not safe (the target must have the same major version and the same '
        'or the next minor)')


@pytest.mark.parametrize('src, dst, ok', [('4.17.5', '4.17.3', True), ('4.17.5', '4.18.0', True),
                                          ('4.17.5', '4.19.0', False), ('4.17.5', '5.0.0', False),
                                          ('4.18.0', '4.17.5', False)])
def test_xen_versions_for_live_migration(src, dst, ok):
    source = dict(A, xen_version=src)
    if ok:
        assert plan_move(web(), source, host('lab2', version=dst)).method == LIVE
    else:
        with pytest.raises(MoveError, match='is not safe'):
            plan_move(web(), source, host('lab2', version=dst))


def test_cold_move_does_not_care_about_the_xen_version():
    domain = web(disks=[{'target': '/dev/vg_xen/web-root'}])
    assert plan_move(domain, A, host('lab2', version='4.19.1'), allow_cold=True).method == COLD


@pytest.mark.parametrize('source, target, message', [
    (host('lab1'), host('lab2'), 'web does not run on lab1'),
    (A, dict(A), 'web already runs on lab1'),
    (A, host('lab2', domains=['web']), 'a domain named web already runs on lab2'),
    (host('lab1', domains=['web', 'web--migratedaway']), host('lab2'), 'lab1 runs web--migratedaway'),
])
def test_refused_moves(source, target, message):
    with pytest.raises(MoveError, match=message):
        plan_move(web(), source, target)


def test_xen_version_parsing():
    assert xen_version('4.17.5-pre') == (4, 17)
    with pytest.raises(MoveError, match="cannot read the Xen version 'unknown'"):
        xen_version('unknown')


DRBD_DISK = {'target': 'c2-data', 'script': 'block-drbd', 'vdev': 'xvda'}


def drbd_state(connection='Connected', disk='UpToDate'):
    return {'minor': 0, 'connection': connection, 'role': 'Secondary', 'disk': disk, 'peer_disk': 'UpToDate'}


def test_drbd_disk_moves_live_to_a_host_where_its_resource_is_connected_and_up_to_date():
    target = dict(host('lab2'), drbd={'c2-data': drbd_state()})
    assert plan_move(web(disks=[DRBD_DISK]), A, target).method == LIVE


@pytest.mark.parametrize('drbd, words', [
    (None, 'lab2 has no DRBD set up, so it cannot open c2-data'),
    ({}, 'lab2 has no DRBD resource c2-data'),
    ({'c2-data': drbd_state(connection='WFConnection', disk='UpToDate')},
     'DRBD resource c2-data on lab2 is WFConnection and UpToDate, not Connected and UpToDate'),
    ({'c2-data': drbd_state(disk='Inconsistent')},
     'DRBD resource c2-data on lab2 is Connected and Inconsistent, not Connected and UpToDate'),
    ({'c2-data': drbd_state(connection='Unconfigured', disk='')},
     'DRBD resource c2-data on lab2 is Unconfigured and without a disk, not Connected and UpToDate'),
])
def test_drbd_disk_is_refused_where_the_target_cannot_open_it(drbd, words):
    with pytest.raises(MoveError) as exc:
        plan_move(web(disks=[DRBD_DISK]), A, dict(host('lab2'), drbd=drbd))
    assert words in str(exc.value)


def test_drbd_state_not_known_is_not_checked():
    """Facts without a drbd key (what an older xen_info returned): the move is planned as before."""
    assert plan_move(web(disks=[DRBD_DISK]), A, host('lab2')).method == LIVE


def test_a_client_of_a_driver_domain_moves_only_where_that_domain_runs():
    domain = web(backends=['router'])
    with pytest.raises(MoveError) as exc:
        plan_move(domain, A, host('lab2', domains=['mail']))
    assert str(exc.value) == ('cannot move web from lab1 to lab2: lab2 runs no driver domain router (the backend of '
                              'vifs of web)')
    assert plan_move(domain, A, host('lab2', domains=['router'])).method == LIVE


CAPS_420 = ['pv', 'hvm', 'hap', 'gnttab-v1', 'gnttab-v2']   # xl info of a Debian 13 lab host: no shadow paging


def test_a_pv_domain_is_told_to_use_the_shim_where_xen_has_no_shadow_paging():
    source = dict(A, virt_caps=CAPS_420)
    with pytest.raises(MoveError) as exc:
        plan_move(web(type='pv'), source, host('lab2'))
    assert str(exc.value) == (
        "cannot move web from lab1 to lab2: web is a PV domain, and the Xen of lab1 cannot migrate PV domains: it has "
        "no shadow paging (virt_caps: pv hvm hap gnttab-v1 gnttab-v2; Debian builds Xen without CONFIG_SHADOW_PAGING "
        "since XSA-495); run its PV kernel inside Xen's PV shim to move it live (type pvh with pvshim: true; "
        "domains_pvshim in the domains role), or move it cold (it is shut down, its disks copied)")
    # the same domain in the shim is a PVH domain: hardware-assisted paging moves it live
    assert plan_move(web(type='pvh', pvshim=True), source, host('lab2')).method == LIVE


def test_a_pvh_or_hvm_domain_needs_hap_or_shadow_paging_to_move_live():
    source = dict(A, virt_caps=['pv', 'hvm', 'gnttab-v1'])
    for kind in ('pvh', 'hvm'):
        with pytest.raises(MoveError) as exc:
            plan_move(web(type=kind), source, host('lab2'))
        assert ('web is a %s domain, and the Xen of lab1 can track its memory neither with hardware-assisted paging '
                'nor with shadow paging (virt_caps: pv hvm gnttab-v1), so it cannot migrate live; move it cold'
                % kind.upper()) in str(exc.value)
    assert plan_move(web(type='pvh'), dict(A, virt_caps=['pv', 'hvm', 'shadow']), host('lab2')).method == LIVE


def test_a_live_move_to_a_much_newer_xen_becomes_cold_when_allowed_and_never_goes_to_an_older_one():
    old, new = dict(A, xen_version='4.17.7'), host('lab2', version='4.20.4')
    with pytest.raises(MoveError) as exc:
        plan_move(web(), old, new)
    assert str(exc.value) == (
        'cannot move web from lab1 to lab2: live migration from Xen 4.17 on lab1 to Xen 4.20 on lab2 is not safe (the '
        'target must have the same major version and the same or the next minor); allow cold moves to move it to '
        'the newer Xen shut down')
    move = plan_move(web(), old, new, allow_cold=True)
    assert (move.method, move.notes) == (COLD, [
        'cold: live migration from Xen 4.17 on lab1 to Xen 4.20 on lab2 is not safe (the target must have the same '
        'major version and the same or the next minor)'])
    # newer to older: refused, cold or not
    back = dict(host('lab2', version='4.20.4'), domains=['web'])
    with pytest.raises(MoveError, match='from Xen 4.20 on lab2 to Xen 4.17 on lab1 is not safe'):
        plan_move(web(), back, host('lab1', version='4.17.7'), allow_cold=True)


@pytest.mark.parametrize('state', ['crashed', 'shutdown', 'dying'])
def test_a_domain_that_does_not_run_is_not_moved_live_or_cold(state):
    for allow_cold in (False, True):
        with pytest.raises(MoveError) as exc:
            plan_move(web(state=state), A, host('lab2'), allow_cold=allow_cold)
        assert ('web is %s on lab1, and only a running domain moves: destroy it there (xl destroy web' % state
                in str(exc.value))


@pytest.mark.parametrize('state', ['running', 'blocked', 'paused'])
def test_a_live_domain_moves(state):
    assert plan_move(web(state=state), A, host('lab2')).method == LIVE


def test_a_shim_domain_does_not_move_to_a_host_without_the_shim():
    shim = web(type='pvh', pvshim=True)
    with pytest.raises(MoveError) as exc:
        plan_move(shim, A, dict(host('lab2', version='4.20.5-pre'), pvshim=None))
    assert "web runs in Xen's PV shim, and lab2 has none (Xen 4.20.5-pre; Debian ships it with its Xen packages)" \
        in str(exc.value)
    assert plan_move(shim, A, dict(host('lab2'), pvshim='/usr/lib/xen-4.20/boot/xen-shim')).method == LIVE
    # a host whose shim is not known (no such key) is not checked; a domain without the shim needs none
    assert plan_move(shim, A, host('lab2')).method == LIVE
    assert plan_move(web(type='pvh'), A, dict(host('lab2'), pvshim=None)).method == LIVE


def test_the_shim_of_a_host_is_found_where_its_xen_keeps_it():
    from ansible_collections.xenops.xen.plugins.module_utils._domain_spec import host_pvshim
    there = {'/usr/lib/xen-4.20/boot/xen-shim'}
    assert host_pvshim('4.20.5-pre', exists=there.__contains__) == '/usr/lib/xen-4.20/boot/xen-shim'
    assert host_pvshim('4.17.7', exists=there.__contains__) is None
    assert host_pvshim('4.19.1', exists={'/usr/lib/xen/boot/xen-shim'}.__contains__) == '/usr/lib/xen/boot/xen-shim'
    assert host_pvshim(None, exists=there.__contains__) is None
