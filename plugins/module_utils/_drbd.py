# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``xen_drbd``: a DRBD resource of two hosts over a backing volume, for domains that migrate live.

Pure parts: :func:`parse_proc_drbd` reads ``/proc/drbd`` of the in-kernel
DRBD 8.4 (Debian's kernels), :func:`render` writes the resource file and
:func:`plan` turns what a host has (its resource file, the state of the
minor, the signature of the backing device) into actions.  :func:`converge`
reads, plans and (outside check mode) applies through ``drbdadm``.

Data is never lost: metadata is created only on a backing device on which
``blkid`` finds nothing (or DRBD's own metadata, then none is created), never
on one that holds a file system unless ``force``; a resource is never taken
down while it is Primary (a domain uses it); ``absent`` leaves the metadata
and the volume as they are.  The initial synchronisation happens once, on
the first host of ``hosts``, only while both sides are Inconsistent (a
resource that never held data).
"""

from __future__ import annotations

import os
import re

from ansible_collections.xenops.xen.plugins.module_utils import _plan
from ansible_collections.xenops.xen.plugins.module_utils._files import write_new
from ansible_collections.xenops.xen.plugins.module_utils._runner import CommandError, missing_program_message

MODPROBE = 'modprobe'
WRITE = 'write'
ADJUST = 'adjust'
CREATE_MD = 'create-md'
UP = 'up'
WAIT = 'wait'
INITIAL = 'initial'
DOWN = 'down'
REMOVE = 'remove'

CONFIG_DIR = '/etc/drbd.d'
PROC_DRBD = '/proc/drbd'
NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$')
HOST_RE = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$')
_PROC_VERSION_RE = re.compile(r'^version: (\d+)\.(\d+)')
_PROC_MINOR_RE = re.compile(r'^\s*(\d+): cs:(\S+)(?: ro:(\S+) ds:(\S+))?')
MAX_MINOR = 1048575


class DrbdError(Exception):
    """Invalid input or a refused change; the message is meant for the user."""


class Minor(object):
    """One device of ``/proc/drbd``: connection state, roles and disk states (local first)."""

    __slots__ = ('minor', 'cstate', 'role', 'peer_role', 'dstate', 'peer_dstate')

    def __init__(self, minor, cstate, roles=None, dstates=None):
        self.minor = minor
        self.cstate = cstate
        self.role, _sep, self.peer_role = (roles or '').partition('/')
        self.dstate, _sep, self.peer_dstate = (dstates or '').partition('/')

    @property
    def configured(self):
        return self.cstate != 'Unconfigured'

    def __repr__(self):
        return 'Minor(%d, %s, %s/%s, %s/%s)' % (
            self.minor, self.cstate, self.role, self.peer_role, self.dstate, self.peer_dstate)


def parse_proc_drbd(text):
    """``(major, minor version, {minor: Minor})`` of ``/proc/drbd``; DrbdError for text it cannot read."""
    lines = text.splitlines()
    version = _PROC_VERSION_RE.match(lines[0]) if lines else None
    if not version:
        raise DrbdError('/proc/drbd does not start with a DRBD version line: %r' % (lines[:1],))
    minors = {}
    for line in lines[1:]:
        match = _PROC_MINOR_RE.match(line)
        if match:
            number = int(match.group(1))
            minors[number] = Minor(number, match.group(2), match.group(3), match.group(4))
    return int(version.group(1)), int(version.group(2)), minors


def render(name, minor, disk, hosts, port, protocol='C', allow_two_primaries=True):
    """The text of ``/etc/drbd.d/NAME.res`` (DRBD 8.4 syntax), the same on both hosts."""
    lines = ['# Managed by xenops.xen.xen_drbd: changes here are overwritten.',
             'resource %s {' % name,
             '  net {',
             '    protocol %s;' % protocol]
    if allow_two_primaries:
        # live migration: the target opens (and promotes) the device while the source still runs the domain
        lines.append('    allow-two-primaries yes;')
    lines += ['    after-sb-0pri discard-zero-changes;',
              '    after-sb-1pri discard-secondary;',
              '    after-sb-2pri disconnect;',
              '  }']
    for host in hosts:
        address = host['address']
        if ':' in address:
            address = 'ipv6 [%s]' % address
        lines += ['  on %s {' % host['name'],
                  '    device /dev/drbd%d;' % minor,
                  '    disk %s;' % disk,
                  '    address %s:%d;' % (address, port),
                  '    meta-disk internal;',
                  '  }']
    lines.append('}')
    return '\n'.join(lines) + '\n'


def config_path(name, config_dir=CONFIG_DIR):
    return '%s/%s.res' % (config_dir.rstrip('/'), name)


def check(params, hostname):
    """Refuse bad input before anything is read; returns the entry of ``hosts`` that is this host (or None)."""
    name = params.get('name')
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise DrbdError('name %r is not a DRBD resource name (letters, digits, _ . + -; at most 64 characters)'
                        % (name,))
    if params.get('state', 'present') == 'absent':
        return None
    problems = []
    for key in ('disk', 'minor', 'hosts'):
        if params.get(key) in (None, '', []):
            problems.append('%s is required with state present' % key)
    if problems:
        raise DrbdError('; '.join(problems))
    disk = params['disk']
    if not disk.startswith('/'):
        problems.append('disk %s is not an absolute path of a block device' % disk)
    if not 0 <= params['minor'] <= MAX_MINOR:
        problems.append('minor %d is not between 0 and %d' % (params['minor'], MAX_MINOR))
    if not 1 <= params.get('port', 7788) <= 65535:
        problems.append('port %d is not a TCP port' % params['port'])
    hosts = params['hosts']
    if len(hosts) != 2:
        problems.append('hosts must name exactly two hosts (got %d)' % len(hosts))
    for host in hosts:
        if not HOST_RE.match(str(host.get('name') or '')):
            problems.append('host name %r is not a host name as uname -n prints it' % (host.get('name'),))
        address = str(host.get('address') or '')
        if not re.match(r'^[0-9A-Fa-f:.]+$', address) or address.count('.') not in (0, 3):
            problems.append('address %r of host %s is not an IP address' % (address, host.get('name')))
    if len(set(h.get('name') for h in hosts)) != len(hosts):
        problems.append('the hosts have the same name')
    if len(set(h.get('address') for h in hosts)) != len(hosts):
        problems.append('the hosts have the same address')
    mine = [h for h in hosts if h.get('name') == hostname]
    if not mine and not problems:
        problems.append('this host (%s) is none of the hosts %s: DRBD picks its part of the resource by uname -n'
                        % (hostname, ', '.join(str(h.get('name')) for h in hosts)))
    if problems:
        raise DrbdError('resource %s: %s' % (name, '; '.join(problems)))
    return mine[0]


def plan(params, hostname, config_text, proc_text, signature):
    """Actions that make resource ``params['name']`` what ``params`` says on this host.

    ``config_text`` is the resource file (None: none), ``proc_text`` the
    content of ``/proc/drbd`` (None: the module is not loaded), ``signature``
    what ``blkid -p`` found on the backing device (a Signature, or None when
    blank; only read when the minor is not configured).
    """
    check(params, hostname)
    name = params['name']
    path = config_path(name, params.get('config_dir') or CONFIG_DIR)
    minors = {}
    if proc_text is not None:
        major, _minor_version, minors = parse_proc_drbd(proc_text)
        if major != 8:
            raise DrbdError('the loaded DRBD kernel module is version %d; xen_drbd manages the in-kernel DRBD 8.4 '
                            '(Debian\'s kernels)' % major)
    if params.get('state', 'present') == 'absent':
        return _plan_absent(params, path, config_text, minors)
    minor = params['minor']
    wanted = render(name, minor, params['disk'], params['hosts'], params.get('port', 7788),
                    params.get('protocol', 'C'), params.get('allow_two_primaries', True))
    actions = []
    if proc_text is None:
        actions.append(_plan.Action(MODPROBE, 'load the drbd kernel module'))
    state = minors.get(minor)
    up = state is not None and state.configured
    if config_text != wanted:
        actions.append(_plan.Action(WRITE, '%s %s' % ('write' if config_text is None else 'update', path),
                                    path=path, content=wanted))
        if up:
            actions.append(_plan.Action(ADJUST, 'apply the changed configuration to resource %s' % name, name=name))
    created = False
    if not up:
        if signature is None:
            actions.append(_plan.Action(CREATE_MD, 'create DRBD metadata on %s' % params['disk'], name=name,
                                        force=False))
            created = True
        elif signature.type != 'drbd':
            if not params.get('force'):
                raise DrbdError('refusing to create DRBD metadata on %s: it holds %s (internal metadata overwrites '
                                'its last MiBs); give a blank volume or set force: true'
                                % (params['disk'], signature.kind))
            actions.append(_plan.Action(CREATE_MD, 'create DRBD metadata on %s (overwriting %s)'
                                        % (params['disk'], signature.kind), name=name, force=True))
            created = True
        actions.append(_plan.Action(UP, 'bring resource %s up (/dev/drbd%d)' % (name, minor), name=name))
    first = params['hosts'][0]['name'] == hostname
    never_synced = created or (up and state.dstate == 'Inconsistent' and state.peer_dstate in ('Inconsistent', 'DUnknown'))
    if first and never_synced and params.get('initial_sync', 'skip') != 'none':
        actions.append(_plan.Action(WAIT, 'wait up to %d s for the peer to connect' % params.get('wait', 120),
                                    minor=minor, timeout=params.get('wait', 120), name=name))
        if params.get('initial_sync', 'skip') == 'skip':
            text = 'mark both sides of the new resource %s UpToDate without copying (blank volumes)' % name
        else:
            text = 'copy resource %s from this host to the peer (initial synchronisation)' % name
        actions.append(_plan.Action(INITIAL, text, name=name, mode=params.get('initial_sync', 'skip')))
    return actions


def _plan_absent(params, path, config_text, minors):
    name = params['name']
    actions = []
    minor = _minor_of(config_text)
    state = minors.get(minor) if minor is not None else None
    if state is not None and state.configured:
        if state.role == 'Primary':
            raise DrbdError('resource %s is Primary on this host (a domain uses /dev/drbd%d); shut the domain down '
                            'or move it first' % (name, minor))
        actions.append(_plan.Action(DOWN, 'take resource %s down (its metadata and volume stay)' % name, name=name))
    if config_text is not None:
        actions.append(_plan.Action(REMOVE, 'remove %s' % path, path=path))
    return actions


def _minor_of(config_text):
    match = re.search(r'device /dev/drbd(\d+);', config_text or '')
    return int(match.group(1)) if match else None


def wait_connected(read_proc, minor, timeout, sleep, clock):
    """Poll ``/proc/drbd`` until ``minor`` is Connected; the last Minor seen (or None) when the time is up."""
    end = clock() + timeout
    state = None
    while True:
        text = read_proc()
        if text is not None:
            state = parse_proc_drbd(text)[2].get(minor)
            if state is not None and state.cstate == 'Connected':
                return state
        if clock() >= end:
            return state
        sleep(1)


class Files(object):
    """Reads and writes the files xen_drbd manages; a new content is written beside the file and moved over it."""

    def __init__(self, atomic_move):
        self.atomic_move = atomic_move

    @staticmethod
    def read(path):
        try:
            with open(path) as f:
                return f.read()
        except (IOError, OSError):
            if os.path.exists(path):
                raise
            return None

    @staticmethod
    def exists(path):
        return os.path.exists(path)

    def write(self, path, content, mode=0o600):
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        tmp = path + '.xenops-tmp'
        write_new(tmp, content, mode)
        self.atomic_move(tmp, path)

    @staticmethod
    def remove(path):
        os.remove(path)


class Drbd(object):
    """Runs drbdadm and modprobe and reads the files: the side effects of xen_drbd, through the one runner."""

    def __init__(self, runner, files, lvm, sleep, clock):
        self.runner = runner
        self.files = files
        self.lvm = lvm
        self.sleep = sleep
        self.clock = clock

    def proc(self):
        return self.files.read(PROC_DRBD)

    def wait(self, action):
        state = wait_connected(self.proc, action.minor, action.timeout, self.sleep, self.clock)
        if state is None or state.cstate != 'Connected':
            raise DrbdError(
                'resource %s is up here but its peer did not connect within %d s (state %s): run the task on both '
                'hosts of the resource, and check that each reaches the other on the port'
                % (action.name, action.timeout, state.cstate if state else 'unknown'))
        if state.dstate != 'Inconsistent' or state.peer_dstate != 'Inconsistent':
            raise DrbdError(
                'resource %s: the disks are %s/%s, not both Inconsistent; the initial synchronisation is only done on '
                'a resource that never held data' % (action.name, state.dstate, state.peer_dstate))

    def initial(self, action):
        if action.mode == 'skip':
            self.runner.run(['drbdadm', '--', '--clear-bitmap', 'new-current-uuid', action.name])
        else:
            self.runner.run(['drbdadm', 'primary', '--force', action.name])
            self.runner.run(['drbdadm', 'secondary', action.name])


HANDLERS = {
    MODPROBE: lambda d, a: d.runner.run(['modprobe', 'drbd']),
    WRITE: lambda d, a: d.files.write(a.path, a.content, mode=0o600),
    ADJUST: lambda d, a: d.runner.run(['drbdadm', 'adjust', a.name]),
    # --force: drbdmeta asks before it writes over any bytes in the metadata area ("Found some data"), and
    # refuses without a terminal; what may be overwritten was decided above (blkid found nothing, or force)
    CREATE_MD: lambda d, a: d.runner.run(['drbdadm', '--', '--force', 'create-md', a.name]),
    UP: lambda d, a: d.runner.run(['drbdadm', 'up', a.name]),
    WAIT: lambda d, a: d.wait(a),
    INITIAL: lambda d, a: d.initial(a),
    DOWN: lambda d, a: d.runner.run(['drbdadm', 'down', a.name]),
    REMOVE: lambda d, a: d.files.remove(a.path),
}


def _state(config_text, proc_text, minor):
    state = None
    if proc_text is not None and minor is not None:
        state = parse_proc_drbd(proc_text)[2].get(minor)
    return {'config': config_text or '', 'connection': state.cstate if state else 'Unconfigured',
            'role': state.role if state else '', 'disk': state.dstate if state else ''}


def converge(drbd, params, hostname, check_mode=False, diff=False):
    """Read, plan and (outside check mode) apply; return the module result."""
    check(params, hostname)
    path = config_path(params['name'], params.get('config_dir') or CONFIG_DIR)
    config_text = drbd.files.read(path)
    proc_text = drbd.proc()
    signature = None
    warnings = []
    if params.get('state', 'present') == 'present':
        minors = parse_proc_drbd(proc_text)[2] if proc_text is not None else {}
        state = minors.get(params['minor'])
        if state is None or not state.configured:
            if drbd.files.exists(params['disk']):
                signature = drbd.lvm.signatures([params['disk']])[params['disk']]
            elif check_mode:
                # in a check run the task that makes the volume (xen_lv) has not made it
                warnings.append('disk %s does not exist yet; planned as a new, blank volume' % params['disk'])
            else:
                raise DrbdError('disk %s does not exist (make the volume first, for example with '
                                'xenops.xen.xen_lv, on both hosts)' % params['disk'])
    actions = plan(params, hostname, config_text, proc_text, signature)
    if actions and drbd.runner.find('drbdadm') is None:
        # before any change, and in check mode too: the plan could not be carried out here
        raise DrbdError(missing_program_message('drbdadm') + ': install it on both hosts of the resource')
    if not check_mode:
        _plan.apply(actions, HANDLERS, (drbd,), errors=(CommandError, OSError, DrbdError))
    minor = params.get('minor') if params.get('state', 'present') == 'present' else _minor_of(config_text)
    before = _state(config_text, proc_text, minor)
    after_proc = drbd.proc() if actions and not check_mode else proc_text
    after_config = None if params.get('state') == 'absent' else render(
        params['name'], params['minor'], params['disk'], params['hosts'], params.get('port', 7788),
        params.get('protocol', 'C'), params.get('allow_two_primaries', True))
    after = _state(after_config, after_proc, minor)
    result = {'changed': bool(actions), 'name': params['name'], 'actions': [a.description for a in actions],
              'device': '/dev/drbd%d' % minor if minor is not None else None,
              'connection': after['connection'], 'role': after['role'], 'disk_state': after['disk'],
              'warnings': warnings}
    if diff:
        result['diff'] = {'before': before, 'after': after, 'before_header': path, 'after_header': path}
    return result


def resources(config_texts, proc_text):
    """``{resource: {minor, connection, role, disk, peer_disk}}`` of the resource files and ``/proc/drbd``.

    ``config_texts`` maps each resource file's name to its text; a resource
    whose minor is not configured has connection ``Unconfigured``.
    """
    minors = parse_proc_drbd(proc_text)[2] if proc_text is not None else {}
    found = {}
    for text in config_texts.values():
        match = re.search(r'^resource\s+(\S+)\s*\{', text or '', re.M)
        minor = _minor_of(text)
        if not match or minor is None:
            continue
        state = minors.get(minor)
        configured = state is not None and state.configured
        found[match.group(1)] = {'minor': minor, 'connection': state.cstate if configured else 'Unconfigured',
                                 'role': state.role if configured else '', 'disk': state.dstate if configured else '',
                                 'peer_disk': state.peer_dstate if configured else ''}
    return found


def host_resources(config_dir=CONFIG_DIR, proc=PROC_DRBD):
    """:func:`resources` of this host (its ``*.res`` files); None when DRBD is not set up here at all."""
    try:
        names = sorted(n for n in os.listdir(config_dir) if n.endswith('.res'))
    except OSError:
        names = []
    texts = dict((n, Files.read(os.path.join(config_dir, n))) for n in names)
    proc_text = Files.read(proc)
    if not texts and proc_text is None:
        return None
    return resources(texts, proc_text)
