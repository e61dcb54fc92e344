# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cold moves of domains with local disks: module_utils/_cold.py."""

from __future__ import annotations

import pytest

from ansible_collections.xenops.xen.plugins.module_utils import _cold as c
from ansible_collections.xenops.xen.plugins.module_utils._plan import Action

ROOT = {'path': '/dev/vg_xen/mail-root', 'kind': c.LV, 'vg': 'vg_xen', 'lv': 'mail-root', 'size': 1 << 30}
SWAP = {'path': '/dev/vg_xen/mail-swap', 'kind': c.LV, 'vg': 'vg_xen', 'lv': 'mail-swap', 'size': 128 << 20}
IMAGE = {'path': '/var/lib/xen/images/mail-data.img', 'kind': c.FILE, 'size': 3 * (1 << 29) + 512}
FREE = {'exists': False, 'vg_free': 2 << 30}


def plan(disks, target=None, config='name = "mail"\n', **kw):
    target = target if target is not None else dict((d['path'], FREE) for d in disks)
    return c.plan('mail', disks, target, config, '/etc/xen/mail.cfg', 'lab1', 'lab2', **kw)


def test_steps_of_a_cold_move_in_order():
    actions = plan([ROOT, IMAGE])
    assert [a.description for a in actions] == [
        'create the LVM volume vg_xen/mail-root (1024 MiB) on lab2',
        'create the image /var/lib/xen/images/mail-data.img (1610613248 bytes) on lab2',
        'shut mail down here',
        'copy /dev/vg_xen/mail-root (1024 MiB) to lab2 and compare checksums',
        'copy /var/lib/xen/images/mail-data.img (1610613248 bytes) to lab2 and compare checksums',
        'start mail on lab2']


def test_source_disks_removed_last_when_asked():
    actions = plan([ROOT], remove_source_disks=True)
    assert [a.kind for a in actions][-2:] == [c.START_TARGET, c.REMOVE_SOURCE_DISK]
    assert actions[-1].description == 'remove vg_xen/mail-root here'


def test_every_reason_named_at_once():
    target = {ROOT['path']: {'exists': True, 'vg_free': 1 << 30}, SWAP['path']: {'exists': False, 'vg_free': 1 << 30},
              '/dev/sdb1': {}}
    with pytest.raises(c.ColdMoveError) as exc:
        plan([ROOT, SWAP, {'path': '/dev/sdb1', 'kind': 'block special file', 'size': 10}], target=target, config=None)
    assert str(exc.value) == (
        'cannot move mail cold from lab1 to lab2: lab1 has no config file /etc/xen/mail.cfg to start it from on lab2; '
        'lab2 already has /dev/vg_xen/mail-root (it is not overwritten); disk /dev/sdb1 is neither an LVM volume nor '
        'an image file; only those are copied; volume group vg_xen on lab2 has 1024 MiB free, the disks need 1152 MiB; '
        'nothing was changed')


def test_missing_volume_group_refused():
    with pytest.raises(c.ColdMoveError, match='lab2 has no volume group vg_xen for /dev/vg_xen/mail-root'):
        plan([ROOT], target={ROOT['path']: {'exists': False, 'vg_free': None}})


def done_until(kind, disks=(ROOT,)):
    actions = plan(list(disks))
    kinds = [a.kind for a in actions]
    index = kinds.index(kind)
    return actions[:index], actions[index]


def test_nothing_undone_once_the_target_runs_it():
    actions = plan([ROOT])
    assert c.recovery('mail', actions, None, True, False, '/etc/xen/mail.cfg', 'lab2') == []


def test_failed_start_on_the_target_is_undone():
    done, failed = done_until(c.START_TARGET)
    done.append(Action('put_config', 'write /etc/xen/mail.cfg on lab2', path='/etc/xen/mail.cfg'))
    steps = c.recovery('mail', done, failed, True, False, '/etc/xen/mail.cfg', 'lab2')
    assert [a.description for a in steps] == [
        'destroy the copy of mail on lab2', 'remove /etc/xen/mail.cfg on lab2', 'remove vg_xen/mail-root on lab2 again',
        'start mail here again']


def test_failed_shutdown_of_a_domain_that_still_runs_only_drops_the_new_volumes():
    done, failed = done_until(c.STOP_SOURCE, disks=(ROOT, IMAGE))
    steps = c.recovery('mail', done, failed, False, True, '/etc/xen/mail.cfg', 'lab2')
    assert [a.description for a in steps] == ['remove vg_xen/mail-root on lab2 again',
                                              'remove /var/lib/xen/images/mail-data.img on lab2 again']


def test_failed_shutdown_of_a_domain_that_went_away_starts_it_again():
    done, failed = done_until(c.STOP_SOURCE)
    steps = c.recovery('mail', done, failed, False, False, '/etc/xen/mail.cfg', 'lab2')
    assert [a.kind for a in steps] == [c.DROP_TARGET_DISK, c.START_SOURCE]


@pytest.mark.parametrize('text, expected', [('1073741824 regular file\n', (c.FILE, 1073741824)),
                                            ('0 block special file\n', ('block special file', 0))])
def test_parse_stat(text, expected):
    assert c.parse_stat(text) == expected


@pytest.mark.parametrize('previous, kind, description', [
    (None, c.REMOVE_TARGET_CONFIG, 'remove /etc/xen/mail.cfg on lab2'),
    ('name = "mail"\nmemory = 512\n', c.RESTORE_TARGET_CONFIG, 'put back the earlier /etc/xen/mail.cfg on lab2'),
])
def test_config_file_written_on_the_target_is_removed_or_the_earlier_one_put_back(previous, kind, description):
    done, failed = done_until(c.START_TARGET)
    done.append(Action('put_config', 'write /etc/xen/mail.cfg on lab2', path='/etc/xen/mail.cfg',
                       text='name = "mail"\n', previous=previous))
    steps = c.recovery('mail', done, failed, False, False, '/etc/xen/mail.cfg', 'lab2')
    assert (steps[0].kind, steps[0].description) == (kind, description)
    if previous is not None:
        assert steps[0].text == previous
