# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The plan engine shared by the modules: actions, and applying them in order.

A planner returns a list of :class:`Action` objects; :func:`apply` runs them
with a table of handlers (kind -> function), stops at the first failure and
raises :class:`ActionFailed`, which carries what was done before it, so that
a module can report a partial change.
"""

from __future__ import annotations


class Action(object):
    """One step of a plan: ``kind``, a description for the user, and named parameters.

    The parameters are in ``params`` and can also be read as attributes
    (``action.size`` is ``action.params['size']``).
    """

    def __init__(self, kind, description, **params):
        self.kind = kind
        self.description = description
        self.params = params

    def __getattr__(self, name):
        params = self.__dict__.get('params') or {}
        if name in params:
            return params[name]
        raise AttributeError('%s action has no parameter %r' % (self.__dict__.get('kind'), name))

    def as_dict(self):
        return {'action': self.kind, 'description': self.description}

    def __repr__(self):
        return 'Action(%r, %r)' % (self.kind, self.description)


class ActionFailed(Exception):
    """``action`` failed with ``error``; ``done`` are the actions applied before it, in order."""

    def __init__(self, error, action, done):
        super(ActionFailed, self).__init__(str(error))
        self.error = error
        self.action = action
        self.done = list(done)


def apply(actions, handlers, context=(), errors=(Exception,)):
    """Run each action with ``handlers[action.kind](*context, action)``; return the actions done.

    An exception of one of the ``errors`` classes becomes :class:`ActionFailed`.
    """
    done = []
    for action in actions:
        handler = handlers.get(action.kind)
        if handler is None:
            raise ValueError('no handler for action %r' % (action.kind,))
        try:
            handler(*(tuple(context) + (action,)))
        except errors as exc:
            raise ActionFailed(exc, action, done)
        done.append(action)
    return done


def failure_result(exc):
    """The keyword arguments of ``module.fail_json`` for an error of this collection, in one place.

    :class:`ActionFailed` adds ``changed`` and ``actions`` (the descriptions of
    what was done before the failure) to the result of its error; an error
    with ``as_result()`` (a failed command, a refused domain) gives its own
    keys; any other error its message.
    """
    if isinstance(exc, ActionFailed):
        result = failure_result(exc.error)
        result.update(changed=bool(exc.done), actions=[a.description for a in exc.done])
        return result
    if hasattr(exc, 'as_result'):
        return exc.as_result()
    return {'msg': str(exc)}


def finish(module, work, errors):
    """End a module: ``work()`` returns its result; one of ``errors`` fails the task with :func:`failure_result`.

    A ``warnings`` list in the result becomes module warnings.
    """
    try:
        result = work()
    except errors as exc:
        module.fail_json(**failure_result(exc))
    for warning in result.pop('warnings', None) or []:
        module.warn(warning)
    module.exit_json(**result)
