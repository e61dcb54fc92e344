# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure part of xen_migrate: recovery after a failed xl migrate in every state xl can leave, and the helpers."""

from __future__ import annotations

import pytest

from ansible_collections.xenops.xen.plugins.module_utils import _migrate as m


def state(**domains):
    return {'domains': dict((n.replace('__', '--'), {'name': n, 'state': s, 'domid': 5}) for n, s in domains.items()),
            'dom0': None}


@pytest.mark.parametrize('source, target, was_paused, steps, where', [
    # xl undid it: the source runs, the target has nothing
    (state(web='running'), state(), False, [], 'lab1'),
    # the source resumed paused (xl leaves it so when the target failed late)
    (state(web='paused'), state(), False, [m.UNPAUSE_SOURCE], 'lab1'),
    (state(web='paused'), state(), True, [], 'lab1'),
    # the handshake failed: --migratedaway here, --incoming there
    (state(web__migratedaway='paused'), state(web__incoming='paused'), False,
     [m.DESTROY_TARGET, m.RENAME_SOURCE, m.UNPAUSE_SOURCE], 'lab1'),
    (state(web__migratedaway='paused'), state(), False, [m.RENAME_SOURCE, m.UNPAUSE_SOURCE], 'lab1'),
    (state(web__migratedaway='paused'), state(), True, [m.RENAME_SOURCE], 'lab1'),
    # the target runs it under its name: the source copy is stale
    (state(web__migratedaway='paused'), state(web='running'), False, [m.DESTROY_SOURCE], 'lab2'),
    (state(), state(web='blocked'), False, [], 'lab2'),
    # renamed on the target but paused before it ran: keep the source copy
    (state(web__migratedaway='paused'), state(web='paused'), False,
     [m.DESTROY_TARGET, m.RENAME_SOURCE, m.UNPAUSE_SOURCE], 'lab1'),
    # only a paused copy on the target is left: that is the domain
    (state(), state(web='paused'), False, [m.UNPAUSE_TARGET], 'lab2'),
    # gone on both sides
    (state(), state(), False, [], None),
    (state(), state(web__incoming='paused'), False, [m.DESTROY_TARGET], None),
])
def test_recovery(source, target, was_paused, steps, where):
    actions, runs_on = m.recovery('web', source, target, 'lab1', 'lab2', was_paused=was_paused)
    assert [a.kind for a in actions] == steps
    assert runs_on == where


def test_recovery_destroys_the_incoming_copy_by_its_name():
    actions, where = m.recovery('web', state(web__migratedaway='paused'), state(web__incoming='paused'), 'lab1', 'lab2')
    assert where == 'lab1'
    assert actions[0].name == 'web--incoming' and (actions[1].old, actions[1].new) == ('web--migratedaway', 'web')


def test_recovery_steps_are_exact_commands_on_their_host():
    actions = m.recovery('web', state(web__migratedaway='paused'), state(web__incoming='paused'), 'lab1', 'lab2')[0]
    assert [(a.host, a.argv) for a in actions] == [
        (m.TARGET, ['xl', 'destroy', 'web--incoming']), (m.SOURCE, ['xl', 'rename', 'web--migratedaway', 'web']),
        (m.SOURCE, ['xl', 'unpause', 'web'])]
    assert m.by_hand(actions, 'lab1', 'lab2') == ['xl destroy web--incoming on lab2',
                                                  'xl rename web--migratedaway web on lab1', 'xl unpause web on lab1']


def host(label, **domains):
    return {'label': label, 'state': state(**domains)}


@pytest.mark.parametrize('source, target, kinds', [
    (host('lab1', web='running'), host('lab2'), []),
    (host('lab1', web__migratedaway='paused'), host('lab2', web__incoming='paused'),
     [m.DESTROY_TARGET, m.RENAME_SOURCE, m.UNPAUSE_SOURCE]),
    (host('lab1', web='running'), host('lab2', web__incoming='paused'), [m.DESTROY_TARGET]),
    (host('lab1', web__migratedaway='paused'), host('lab2', web='running'), [m.DESTROY_SOURCE]),
])
def test_leftover_recovery_decides_as_after_a_failed_migration(source, target, kinds):
    assert [a.kind for a in m.leftover_recovery('web', source, target, '/etc/xen/web.cfg')] == kinds


def test_leftover_recovery_never_destroys_the_only_copy():
    with pytest.raises(m.MigrateError) as err:
        m.leftover_recovery('web', host('lab1'), host('lab2', web__incoming='paused'), '/etc/xen/web.cfg')
    assert err.value.details['found'] == {'lab1': [], 'lab2': ['web--incoming (paused)']}
    assert 'By hand: xl destroy web--incoming on lab2, then start web from /etc/xen/web.cfg on one host' in err.value.msg


def test_leftover_this_run_cannot_recover_is_refused_with_the_commands():
    """web went from lab2 to lab1 and runs there; lab2 still has web--migratedaway. Moving web from lab1 to lab2
    reads the copy on its target, where its recovery does not look: it names the run that does, and the command."""
    with pytest.raises(m.MigrateError) as err:
        m.leftover_recovery('web', host('lab1', web='running'), host('lab2', web__migratedaway='paused'),
                            '/etc/xen/web.cfg')
    assert err.value.msg == (
        'an earlier migration of web from lab2 to lab1 did not finish (web--migratedaway on lab2) and this task moves '
        'web from lab1 to lab2: xen_migrate recovers it only in a move from lab2 to lab1; nothing was changed. By '
        'hand: xl destroy web--migratedaway on lab2')


def test_interrupted_across_hosts_and_the_hosts_after_its_recovery():
    states = {'lab1': state(web__migratedaway='paused', news='running'), 'lab2': state(web__incoming='paused'),
              'lab3': state(dns='running')}
    for facts in [f for s in states.values() for f in s['domains'].values()]:
        facts.update(memory_mib=96, current_memory_mib=64)
    found = m.interrupted('web', states, '/etc/xen/web.cfg')
    assert (found.source, found.target, found.runs_on) == ('lab1', 'lab2', 'lab1')
    assert found.stuck == ['web--migratedaway on lab1', 'web--incoming on lab2']
    assert found.recovered_by('lab1', 'lab2') and not found.recovered_by('lab1', 'lab3')
    assert not found.recovered_by('lab2', 'lab1')
    domains, freed = found.after(dict((h, states[h]['domains']) for h in ('lab1', 'lab2')))
    assert sorted(domains['lab1']) == ['news', 'web'] and domains['lab1']['web']['state'] == 'running'
    assert domains['lab2'] == {} and freed == {'lab2': 96}
    # what was read is left as it was
    assert 'web--migratedaway' in states['lab1']['domains']
    assert m.interrupted('news', states, '/etc/xen/news.cfg') is None


def test_interrupted_with_copies_on_three_hosts_is_not_guessed_at():
    states = {'lab1': state(web__migratedaway='paused'), 'lab2': state(web__incoming='paused'),
              'lab3': state(web='running')}
    with pytest.raises(m.MigrateError, match='left copies on lab1, lab2, lab3 .*check which one is right'):
        m.interrupted('web', states, '/etc/xen/web.cfg')


@pytest.mark.parametrize('target_config, force, replaced', [
    (None, False, None), ('name = "web"\n', False, None),
    ('name = "web"\nmemory = 512\n', True, {
        'before': 'name = "web"\nmemory = 512\n', 'after': 'name = "web"\n',
        'before_header': '/etc/xen/web.cfg on lab2', 'after_header': '/etc/xen/web.cfg here'}),
])
def test_config_conflict(target_config, force, replaced):
    files = {'config_path': '/etc/xen/web.cfg', 'source_config': 'name = "web"\n', 'target_config': target_config}
    assert m.config_conflict(files, 'lab2', force=force) == replaced


def test_config_conflict_without_force_shows_the_diff():
    files = {'config_path': '/etc/xen/web.cfg', 'source_config': 'name = "web"\nmemory = 256\n',
             'target_config': 'name = "web"\nmemory = 512\n'}
    with pytest.raises(m.MigrateError) as err:
        m.config_conflict(files, 'lab2')
    assert err.value.msg.endswith('--- /etc/xen/web.cfg on lab2\n+++ /etc/xen/web.cfg here\n@@ -1,2 +1,2 @@\n'
                                  ' name = "web"\n-memory = 512\n+memory = 256\n'), err.value.msg


def test_bridge_names_of_ip_link():
    out = ('4: xenbr0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default\n'
           '7: br.10@eth1: <BROADCAST,MULTICAST> mtu 1500\n')
    assert m.bridge_names(out) == ['xenbr0', 'br.10']
    assert m.bridge_names('') == []


def test_remote_command_quotes_every_word():
    assert m.remote_command(['cat', '--', "/etc/xen/it's.cfg"]) == "cat -- '/etc/xen/it'\"'\"'s.cfg'"
    assert m.remote_command(['xl', 'create', 'a b.cfg'], cwd='/dev') == "cd /dev && xl create 'a b.cfg'"
    assert m.xl_ssh_string(['ssh', '-i', '/root/my key'], 'root') == "ssh -i '/root/my key' -l root"


def test_domain_for_move_uses_the_larger_memory_and_skips_cdroms():
    facts = {'name': 'web', 'memory_mib': 96, 'current_memory_mib': 128,
             'vifs': [{'bridge': 'xenbr1'}, {'bridge': 'xenbr0'}, {'bridge': None}],
             'disks': [{'target': '/dev/vg/web-root', 'script': None}, {'target': '/iso', 'cdrom': True}]}
    domain = m.domain_for_move(facts)
    assert domain['memory'] == 128 and domain['bridges'] == ['xenbr0', 'xenbr1']
    assert [d['target'] for d in domain['disks']] == ['/dev/vg/web-root']


def test_domain_for_move_a_vif_served_by_a_driver_domain_needs_that_domain_not_a_bridge_of_dom0():
    facts = {'name': 'db', 'memory_mib': 128,
             'vifs': [{'bridge': 'xenbr0', 'backend': None}, {'bridge': 'lan0', 'backend': 'router'},
                      {'bridge': 'xenbr1', 'backend': 'Domain-0'}],
             'disks': []}
    domain = m.domain_for_move(facts)
    assert domain['bridges'] == ['xenbr0', 'xenbr1']
    assert domain['backends'] == ['router']
