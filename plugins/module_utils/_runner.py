# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one place in this collection that runs commands.

Every external command (``xl``, ``lvs``, ``lvcreate``, ``blkid``, ``mkfs.*``...)
goes through :class:`CommandRunner.run`: argv lists only (never a shell
string), ``LANG=C``/``LC_ALL=C`` so output parses the same everywhere, and a
failure carries the command, rc, stdout and stderr.
"""

from __future__ import annotations

import json

C_LOCALE = {'LANG': 'C', 'LC_ALL': 'C', 'LANGUAGE': 'C'}

_XEN = 'the Xen toolstack (Debian: xen-utils; make the host a Xen host first, for example with the role ' \
       'xenops.xen.hypervisor)'
#: What to install when a program the modules run is missing (a minimal Debian 13 has no e2fsprogs, for one).
PROGRAM_SOURCES = {
    'xl': _XEN, 'xenstore-read': _XEN,
    'lvs': 'lvm2', 'vgs': 'lvm2', 'pvs': 'lvm2', 'lvcreate': 'lvm2', 'lvextend': 'lvm2', 'lvreduce': 'lvm2',
    'lvremove': 'lvm2', 'pvcreate': 'lvm2', 'vgcreate': 'lvm2', 'vgextend': 'lvm2',
    'mkfs.ext4': 'e2fsprogs', 'e2fsck': 'e2fsprogs', 'resize2fs': 'e2fsprogs',
    'mkfs.xfs': 'xfsprogs', 'xfs_growfs': 'xfsprogs',
    'drbdadm': 'drbd-utils', 'ssh': 'openssh-client', 'ip': 'iproute2', 'modprobe': 'kmod',
    'blkid': 'util-linux', 'mkswap': 'util-linux', 'losetup': 'mount',
}


def missing_program_message(program):
    """The message for a program that is not installed on the host: what it is and which package has it."""
    source = PROGRAM_SOURCES.get(program)
    return '%s is not installed on this host%s' % (
        program, ': it comes with %s' % source if source == _XEN else
        (' (Debian package %s)' % source if source else ''))


class CommandError(Exception):
    """A command exited non-zero (or printed output that could not be parsed)."""

    def __init__(self, cmd, rc, stdout, stderr, msg=None):
        self.cmd = list(cmd)
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        if msg is None:
            detail = (stderr or stdout or '').strip()
            msg = "command '%s' failed with rc=%s%s" % (
                ' '.join(self.cmd), rc, (': ' + detail) if detail else '')
        self.msg = msg
        super(CommandError, self).__init__(msg)

    def output(self):
        """What the command was and printed: the keys ``cmd``, ``rc``, ``stdout``, ``stderr`` of a failure result."""
        return dict(cmd=self.cmd, rc=self.rc, stdout=self.stdout, stderr=self.stderr)

    def as_result(self):
        """Keyword arguments for ``module.fail_json``."""
        return dict(self.output(), msg=self.msg)


class CommandResult(object):
    __slots__ = ('cmd', 'rc', 'stdout', 'stderr', 'attempts')

    def __init__(self, cmd, rc, stdout, stderr, attempts=1):
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.attempts = attempts


class CommandRunner(object):
    """Runs argv lists through ``AnsibleModule.run_command``.

    ``argv[0]`` is a program name; it is resolved once with
    ``module.get_bin_path`` (which also searches the sbin directories) and the
    resolved path is cached.  ``calls`` records every argv that was run, so a
    caller can report or count them.
    """

    def __init__(self, module):
        self.module = module
        self._paths = {}
        self.calls = []

    def find(self, program):
        """The path of ``program``, or None when it is not installed."""
        if program not in self._paths:
            path = self.module.get_bin_path(program)
            if not path:
                return None
            self._paths[program] = path
        return self._paths[program]

    def _resolve(self, program):
        if program not in self._paths:
            path = self.module.get_bin_path(program)
            if not path:
                # get_bin_path(required=True) would say only "Failed to find required executable"
                self.module.fail_json(msg=missing_program_message(program), cmd=[program])
            self._paths[program] = path
        return self._paths[program]

    # AnsibleModule.run_command can lose all that a command printed (ansible/ansible#51393, still so in
    # ansible-core 2.19): when its one-second select() times out and the command then writes and exits before the
    # loop looks at the process, the loop ends without reading the pipes.  Seen on a loaded lab host as an
    # `xl list` that exited 0 with no output at all.  A read that always prints something (expect_output) is
    # therefore run again, up to EMPTY_RETRIES more times, when it exited 0 and printed nothing.
    EMPTY_RETRIES = 2

    def run(self, argv, check=True, data=None, cwd=None, expect_output=False):
        """Run ``argv``; ``cwd`` is the working directory (default: the module's).

        ``expect_output``: the command is a read that prints something whenever it succeeds; an empty
        output with rc 0 is taken for lost and the command is run again (see EMPTY_RETRIES).
        """
        if isinstance(argv, (str, bytes)) or not argv:
            raise TypeError('argv must be a non-empty list, got %r' % (argv,))
        argv = [str(a) for a in argv]
        cmd = [self._resolve(argv[0])] + argv[1:]
        attempts = 0
        while True:
            attempts += 1
            self.calls.append(cmd)
            rc, out, err = self.module.run_command(
                cmd, check_rc=False, environ_update=dict(C_LOCALE), data=data,
                binary_data=data is not None, cwd=cwd)
            lost = expect_output and rc == 0 and not (out or '').strip() and not (err or '').strip()
            if not lost or attempts > self.EMPTY_RETRIES:
                break
        if check and rc != 0:
            raise CommandError(cmd, rc, out, err)
        return CommandResult(cmd, rc, out, err, attempts)

    def run_json(self, argv):
        """Run a read that prints JSON (run again when its output was lost, see :meth:`run`) and parse it."""
        result = self.run(argv, expect_output=True)
        try:
            return json.loads(result.stdout)
        except ValueError as exc:
            raise CommandError(result.cmd, result.rc, result.stdout, result.stderr,
                               msg="command '%s' printed output that is not JSON: %s"
                               % (' '.join(result.cmd), exc))
