# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Scenario harness: run a module's main() against a scripted list of commands.

Every command the module runs must match the next expected :class:`Call`
exactly (argv, and stdin data when given); commands left over or unexpected
fail the test.  ``get_bin_path`` returns the bare program name so expected argv
read like the commands a user types.
"""

from __future__ import annotations

import json
from unittest import mock

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class Call(object):
    def __init__(self, argv, rc=0, out='', err='', data=None):
        self.argv = list(argv)
        self.rc = rc
        self.out = out
        self.err = err
        self.data = data

    def __repr__(self):
        return 'Call(%r, rc=%r)' % (self.argv, self.rc)


class ModuleExit(Exception):
    def __init__(self, result, failed):
        super(ModuleExit, self).__init__(json.dumps(result, default=str))
        self.result = result
        self.failed = failed


class CommandScript(object):
    def __init__(self, calls):
        self.expected = list(calls)
        self.seen = []

    def run_command(self, module, args, **kwargs):
        argv = list(args)
        self.seen.append(argv)
        if not self.expected:
            pytest.fail('unexpected command %r (no more commands expected; ran so far: %r)'
                        % (argv, self.seen[:-1]))
        call = self.expected.pop(0)
        assert argv == call.argv, 'command #%d: expected %r, got %r' % (
            len(self.seen), call.argv, argv)
        env = kwargs.get('environ_update') or {}
        assert env.get('LANG') == 'C' and env.get('LC_ALL') == 'C', env
        if call.data is not None:
            assert kwargs.get('data') == call.data
        return call.rc, call.out, call.err


def run_module(main, args, calls=(), check_mode=False, diff=False, missing=()):
    """Run ``main()`` with ``args``; return (result dict, failed flag, commands seen)."""
    script = CommandScript(calls)
    module_args = dict(args)
    module_args['_ansible_check_mode'] = check_mode
    module_args['_ansible_diff'] = diff

    def exit_json(module, **kwargs):
        raise ModuleExit(kwargs, False)

    def fail_json(module, msg, **kwargs):
        kwargs['msg'] = msg
        raise ModuleExit(kwargs, True)

    def run_command(module, args, **kwargs):
        return script.run_command(module, args, **kwargs)

    with patch_module_args(module_args), \
            mock.patch.object(basic.AnsibleModule, 'exit_json', exit_json), \
            mock.patch.object(basic.AnsibleModule, 'fail_json', fail_json), \
            mock.patch.object(basic.AnsibleModule, 'run_command', run_command), \
            mock.patch.object(basic.AnsibleModule, 'get_bin_path',
                              lambda module, name, *a, **kw: None if name in missing else name):
        with pytest.raises(ModuleExit) as exc:
            main()
    leftover = script.expected
    assert not leftover, 'expected commands were not run: %r' % (leftover,)
    return exc.value.result, exc.value.failed, script.seen
