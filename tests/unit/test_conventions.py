# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Project conventions that are cheap to check on every run."""

from __future__ import annotations

import ast
import os
import re

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
MODULES = os.path.join(ROOT, 'plugins', 'modules')
ROLES = os.path.join(ROOT, 'roles')


def _py_files(top):
    for base, dirs, files in os.walk(top):
        for name in files:
            if name.endswith('.py'):
                yield os.path.join(base, name)


def test_one_place_runs_commands():
    callers = []
    for path in _py_files(os.path.join(ROOT, 'plugins')):
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == 'run_command':
                callers.append(os.path.relpath(path, ROOT))
    assert callers == ['plugins/module_utils/_runner.py']


def test_no_shell_strings_or_subprocess_in_plugins():
    for path in _py_files(os.path.join(ROOT, 'plugins')):
        with open(path) as f:
            text = f.read()
        assert 'import subprocess' not in text, path
        assert 'use_unsafe_shell' not in text, path
        assert 'os.system(' not in text, path


def _module_names():
    return sorted(n[:-3] for n in os.listdir(MODULES) if n.endswith('.py')) if os.path.isdir(MODULES) else []


@pytest.mark.parametrize('name', _module_names())
def test_module_documents_check_and_diff_mode(name):
    with open(os.path.join(MODULES, name + '.py')) as f:
        tree = ast.parse(f.read())
    docs = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id in ('DOCUMENTATION', 'EXAMPLES', 'RETURN'):
            docs[node.targets[0].id] = node.value.value
    assert sorted(docs) == ['DOCUMENTATION', 'EXAMPLES', 'RETURN']
    doc = yaml.safe_load(docs['DOCUMENTATION'])
    assert doc['module'] == name
    fragments = doc.get('extends_documentation_fragment') or []
    attributes = doc.get('attributes') or {}
    has_attr = set(attributes) | {'check_mode', 'diff_mode'} if any('attributes' in f for f in fragments) else set(attributes)
    assert {'check_mode', 'diff_mode'} <= has_attr
    assert yaml.safe_load(docs['EXAMPLES'])


def _roles():
    return sorted(os.listdir(ROLES)) if os.path.isdir(ROLES) else []


@pytest.mark.parametrize('role', _roles())
def test_role_defaults_match_argument_specs(role):
    with open(os.path.join(ROLES, role, 'meta', 'argument_specs.yml')) as f:
        specs = yaml.safe_load(f)['argument_specs']
    options = set((specs.get('main') or {}).get('options') or {})
    defaults_path = os.path.join(ROLES, role, 'defaults', 'main.yml')
    defaults = {}
    if os.path.exists(defaults_path):
        with open(defaults_path) as f:
            defaults = yaml.safe_load(f) or {}
    prefix = re.compile('^%s_' % re.escape(role))
    assert [k for k in defaults if not prefix.match(k)] == []
    assert [k for k in options if not prefix.match(k)] == []
    assert sorted(set(defaults) - options) == []
