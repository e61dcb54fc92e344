# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_runner: the one place that runs commands; a read whose output run_command lost is run again."""

from __future__ import annotations

import pytest

from ansible_collections.xenops.xen.plugins.module_utils import _migrate_apply
from ansible_collections.xenops.xen.plugins.module_utils._lvm import Lvm
from ansible_collections.xenops.xen.plugins.module_utils._runner import C_LOCALE, CommandError, CommandRunner


class FakeModule(object):
    """run_command answers from a script and records what it was asked."""

    def __init__(self, *results):
        self.results = list(results)
        self.calls = []

    def get_bin_path(self, name, required=False):
        return '/usr/sbin/' + name

    def run_command(self, cmd, check_rc=False, environ_update=None, data=None, binary_data=False, cwd=None):
        self.calls.append(dict(cmd=cmd, env=environ_update, data=data, cwd=cwd))
        return self.results.pop(0)


LVS_JSON = '{"report": [{"lv": []}]}\n'


def test_run_resolves_the_program_and_runs_it_in_the_c_locale():
    module = FakeModule((0, 'out\n', ''))
    runner = CommandRunner(module)
    result = runner.run(['lvs', '--noheadings'], cwd='/dev')
    assert module.calls == [dict(cmd=['/usr/sbin/lvs', '--noheadings'], env=C_LOCALE, data=None, cwd='/dev')]
    assert (result.rc, result.stdout, result.attempts) == (0, 'out\n', 1)
    assert runner.calls == [['/usr/sbin/lvs', '--noheadings']]


def test_a_read_whose_output_was_lost_is_run_again_until_it_prints():
    module = FakeModule((0, '', ''), (0, LVS_JSON, ''))
    runner = CommandRunner(module)
    assert runner.run_json(['lvs', '--reportformat', 'json']) == {'report': [{'lv': []}]}
    assert [c['cmd'] for c in module.calls] == [['/usr/sbin/lvs', '--reportformat', 'json']] * 2
    assert len(runner.calls) == 2


def test_a_read_that_never_prints_is_run_three_times_then_fails_as_not_json():
    module = FakeModule(*[(0, '', '')] * 3)
    runner = CommandRunner(module)
    with pytest.raises(CommandError) as exc:
        runner.run_json(['vgs', '--reportformat', 'json'])
    assert len(module.calls) == 1 + CommandRunner.EMPTY_RETRIES == 3
    assert "printed output that is not JSON" in exc.value.msg


@pytest.mark.parametrize('result', [(5, '', ''), (0, '', '  WARNING: something\n'), (0, 'x', '')],
                         ids=['failed', 'said-something-on-stderr', 'printed'])
def test_a_read_that_failed_or_printed_anything_runs_once(result):
    module = FakeModule(result)
    got = CommandRunner(module).run(['blkid', '-p', '/dev/vg/a'], check=False, expect_output=True)
    assert len(module.calls) == 1
    assert (got.rc, got.attempts) == (result[0], 1)


def test_a_command_that_is_not_a_read_is_never_run_again():
    module = FakeModule((0, '', ''))
    CommandRunner(module).run(['lvcreate', '-n', 'a', '-L', '1g', 'vg'])
    assert len(module.calls) == 1


def test_blkid_whose_output_was_lost_is_run_again():
    """rc 0 means blkid found a signature and printed it: no output is a lost output, not a blank volume."""
    found = 'DEVNAME=/dev/vg/a\nUUID=1b4e28ba-2fa1-11d2-883f-0016d3cca427\nTYPE=ext4\n'
    module = FakeModule((0, '', ''), (0, found, ''))
    signature = Lvm(CommandRunner(module)).signature('/dev/vg/a')
    assert signature.type == 'ext4'
    assert [c['cmd'] for c in module.calls] == [['/usr/sbin/blkid', '-p', '-o', 'export', '/dev/vg/a']] * 2


def test_the_remote_runner_passes_expect_output_on():
    module = FakeModule((0, '', ''), (0, 'Name ID Mem VCPUs State Time(s)\n', ''))
    remote = _migrate_apply.RemoteRunner(CommandRunner(module), ['ssh', 'root@lab2'])
    result = remote.run(['xl', 'list'], expect_output=True)
    assert len(module.calls) == 2
    assert module.calls[0]['cmd'][:2] == ['/usr/sbin/ssh', 'root@lab2']
    assert result.attempts == 2


class Failed(Exception):
    pass


class NoProgramsModule(FakeModule):
    """A host where no program is installed; fail_json raises, as AnsibleModule's exits."""

    def get_bin_path(self, name, required=False):
        assert not required, 'the runner explains a missing program itself'
        return None

    def fail_json(self, **kwargs):
        raise Failed(kwargs)


@pytest.mark.parametrize('program, expected', [
    ('mkfs.ext4', 'mkfs.ext4 is not installed on this host (Debian package e2fsprogs)'),
    ('lvcreate', 'lvcreate is not installed on this host (Debian package lvm2)'),
    ('drbdadm', 'drbdadm is not installed on this host (Debian package drbd-utils)'),
    ('xl', 'xl is not installed on this host: it comes with the Xen toolstack (Debian: xen-utils; make the host a '
           'Xen host first, for example with the role xenops.xen.hypervisor)'),
    ('frobnicate', 'frobnicate is not installed on this host'),
])
def test_a_missing_program_is_named_with_the_package_that_has_it(program, expected):
    module = NoProgramsModule()
    with pytest.raises(Failed) as exc:
        CommandRunner(module).run([program, '--version'])
    assert exc.value.args[0] == {'msg': expected, 'cmd': [program]}
    assert module.calls == []
