# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Output captured on the Xen lab (``hypervisor/capture-fixtures``), kept in plugins/module_utils/fixtures/lab.

``NAME.txt`` / ``NAME.json`` files hold what a command printed; a ``.json``
file of a whole run holds ``argv``, ``rc``, ``stdout`` and ``stderr``.  See
the README.md there for the host and domains they come from.
"""

from __future__ import annotations

import json
import os

LAB = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'plugins', 'module_utils', 'fixtures', 'lab')


def path(name):
    return os.path.join(LAB, name)


def text(name):
    """The text of fixture file ``name``."""
    with open(path(name)) as f:
        return f.read()


def run(name):
    """A captured command run ``NAME.json`` as a dict (``argv``, ``rc``, ``stdout``, ``stderr``)."""
    return json.loads(text(name if name.endswith('.json') else name + '.json'))
