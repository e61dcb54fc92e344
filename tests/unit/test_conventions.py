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


FRAGMENTS = os.path.join(ROOT, 'plugins', 'doc_fragments')
ATTRIBUTES = ('check_mode', 'diff_mode', 'idempotent')


def _module_docs(text):
    docs = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id in ('DOCUMENTATION', 'EXAMPLES', 'RETURN'):
            docs[node.targets[0].id] = node.value.value
    return docs


def _fragment(name):
    """The YAML of doc fragment ``xenops.xen.FILE`` or ``xenops.xen.FILE.VARIANT``, read as ansible-doc reads it."""
    parts = name.split('.')
    assert parts[:2] == ['xenops', 'xen'], 'fragment %s is not one of this collection' % name
    with open(os.path.join(FRAGMENTS, parts[2] + '.py')) as f:
        tree = ast.parse(f.read())
    wanted = parts[3].upper() if len(parts) > 3 else 'DOCUMENTATION'
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id == wanted:
            return yaml.safe_load(node.value.value) or {}
    raise AssertionError('fragment %s has no %s' % (name, wanted))


def attribute_problems(documentation):
    """What is missing from a module's attributes once its doc fragments are merged in (empty: nothing)."""
    doc = yaml.safe_load(documentation)
    merged = {}
    for name in doc.get('extends_documentation_fragment') or []:
        for key, value in (_fragment(name).get('attributes') or {}).items():
            merged.setdefault(key, {}).update(value)
    for key, value in (doc.get('attributes') or {}).items():
        merged.setdefault(key, {}).update(value)
    problems = []
    for key in ATTRIBUTES:
        if not merged.get(key, {}).get('description'):
            problems.append('attribute %s has no description' % key)
        if merged.get(key, {}).get('support') not in ('full', 'partial', 'none'):
            problems.append('attribute %s does not say its support' % key)
    return problems


@pytest.mark.parametrize('name', _module_names())
def test_module_documents_check_and_diff_mode(name):
    with open(os.path.join(MODULES, name + '.py')) as f:
        docs = _module_docs(f.read())
    assert sorted(docs) == ['DOCUMENTATION', 'EXAMPLES', 'RETURN']
    assert yaml.safe_load(docs['DOCUMENTATION'])['module'] == name
    assert attribute_problems(docs['DOCUMENTATION']) == []
    assert yaml.safe_load(docs['EXAMPLES'])


INFO_FRAGMENT = 'xenops.xen.attributes.info_module'


def _module_doc(name):
    with open(os.path.join(MODULES, name + '.py')) as f:
        return yaml.safe_load(_module_docs(f.read())['DOCUMENTATION'])


@pytest.mark.parametrize('name', _module_names())
def test_attribute_check_fails_without_the_attributes(name):
    """The check above can fail: the module's documentation with its attributes block (or, for a module that only
    reads, the fragment that holds them) cut out is refused."""
    doc = _module_doc(name)
    if INFO_FRAGMENT in (doc.get('extends_documentation_fragment') or []):
        doc['extends_documentation_fragment'].remove(INFO_FRAGMENT)
    else:
        assert doc.get('attributes'), 'module %s documents no attributes of its own' % name
        del doc['attributes']
    assert 'attribute check_mode does not say its support' in attribute_problems(yaml.safe_dump(doc))


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


def test_attribute_check_fails_without_the_info_module_fragment():
    with open(os.path.join(MODULES, 'xen_info.py')) as f:
        doc = yaml.safe_load(_module_docs(f.read())['DOCUMENTATION'])
    doc['extends_documentation_fragment'].remove('xenops.xen.attributes.info_module')
    assert attribute_problems(yaml.safe_dump(doc)) == ['attribute %s does not say its support' % key for key in ATTRIBUTES]


def _galaxy_version():
    with open(os.path.join(ROOT, 'galaxy.yml')) as f:
        return yaml.safe_load(f)['version']


def _version(text):
    return tuple(int(part) for part in str(text).split('.'))


@pytest.mark.parametrize('role', _roles())
def test_role_entry_points_say_when_they_were_added(role):
    with open(os.path.join(ROLES, role, 'meta', 'argument_specs.yml')) as f:
        specs = yaml.safe_load(f)['argument_specs']
    for name, entry in specs.items():
        assert 'version_added' in entry, '%s: entry point %s has no version_added' % (role, name)
        assert _version(entry['version_added']) <= _version(_galaxy_version()), (role, name)


def _plugin_docs():
    for path in sorted(_py_files(os.path.join(ROOT, 'plugins'))):
        if '/module_utils/' in path or '/doc_fragments/' in path:
            continue
        with open(path) as f:
            doc = _module_docs(f.read()).get('DOCUMENTATION')
        if doc:
            yield os.path.relpath(path, ROOT), yaml.safe_load(doc)
    filters = os.path.join(ROOT, 'plugins', 'filter')
    for name in sorted(os.listdir(filters)):
        if name.endswith('.yml'):
            with open(os.path.join(filters, name)) as f:
                yield 'plugins/filter/' + name, yaml.safe_load(f)['DOCUMENTATION']


def test_plugins_are_not_newer_than_the_collection():
    """version_added of every plugin is a version the collection has reached (no 0.3.0 in a 0.1.0 collection)."""
    seen = []
    for path, doc in _plugin_docs():
        assert 'version_added' in doc, path
        assert _version(doc['version_added']) <= _version(_galaxy_version()), (path, doc['version_added'])
        seen.append(path)
    assert 'plugins/modules/xen_domain.py' in seen and 'plugins/inventory/xen_domains.py' in seen
    assert 'plugins/filter/fleet_plan.yml' in seen


# Tasks that can run for many minutes: each runs in the background with a progress line (async + poll),
# so a user sees the play is alive and a dropped SSH connection does not end the build.
LONG_TASKS = [
    ('hypervisor', 'install_source.yml', 'Build the hypervisor and the tools', 'hypervisor_source_'),
    ('hypervisor', 'install_source.yml', 'Install the hypervisor and the tools', 'hypervisor_source_'),
    ('kernel', 'source.yml', 'Build the kernel package (skipped when the build host has it already)', 'kernel_source_'),
    ('guest_os', 'base_build.yml', 'Run debootstrap {{ __guest_os_suite }}', 'guest_os_build_'),
]


def _tasks(items):
    for task in items or []:
        yield task
        for key in ('block', 'rescue', 'always'):
            yield from _tasks(task.get(key))


@pytest.mark.parametrize('role,tasks_file,name,prefix', LONG_TASKS)
def test_long_tasks_run_async_with_a_progress_line(role, tasks_file, name, prefix):
    with open(os.path.join(ROLES, role, 'tasks', tasks_file)) as f:
        found = [task for task in _tasks(yaml.safe_load(f)) if task.get('name') == name]
    assert len(found) == 1, 'no task %r in %s/%s' % (name, role, tasks_file)
    task = found[0]
    with open(os.path.join(ROLES, role, 'defaults', 'main.yml')) as f:
        defaults = yaml.safe_load(f)
    timeout, poll = prefix + 'timeout', prefix + 'poll'
    assert task.get('async') == '{{ %s }}' % timeout and task.get('poll') == '{{ %s }}' % poll, task
    # a poll of 0 would fire and forget (no result, no failure); the timeout must outlast the poll
    assert 0 < defaults[poll] < defaults[timeout]


def _fragments_text():
    top = os.path.join(ROOT, 'changelogs', 'fragments')
    text = []
    for name in sorted(os.listdir(top)):
        with open(os.path.join(top, name)) as f:
            text.append(f.read())
    return '\n'.join(text)


def test_every_plugin_has_a_changelog_fragment():
    """Each module, filter and inventory plugin is named at the start of an entry of a changelog fragment."""
    text = _fragments_text()
    names = [doc.get('module') or doc.get('name') for _path, doc in _plugin_docs()]
    assert len(names) > 10
    missing = [n for n in names if not re.search(r'(^|\n)\s+- ([^-\n]* and )?%s\b' % re.escape(n), text)]
    assert missing == []


def test_execution_environment_installs_the_tarball_of_this_version():
    """execution-environment.yml names the tarball `ansible-galaxy collection build` makes of galaxy.yml's version."""
    with open(os.path.join(ROOT, 'execution-environment', 'execution-environment.yml')) as f:
        ee = yaml.safe_load(f)
    tarball = 'xenops-xen-%s.tar.gz' % _galaxy_version()
    assert ee['version'] == 3
    assert [c['name'] for c in ee['dependencies']['galaxy']['collections']] == ['/build/collections/' + tarball]
    assert ee['additional_build_files'][0]['src'].endswith('/' + tarball)
    with open(os.path.join(ROOT, 'meta', 'execution-environment.yml')) as f:
        meta = yaml.safe_load(f)
    for key, name in (('python', 'requirements.txt'), ('system', 'bindep.txt')):
        assert meta['dependencies'][key] == name and os.path.exists(os.path.join(ROOT, name))
    with open(os.path.join(ROOT, 'requirements.txt')) as f:
        assert [line.split('>')[0] for line in f if line.strip() and not line.startswith('#')] == ['netaddr']


def test_the_action_group_names_every_module():
    """module_defaults: {group/xenops.xen.xen: ...} reaches every module of the collection."""
    with open(os.path.join(ROOT, 'meta', 'runtime.yml')) as f:
        runtime = yaml.safe_load(f)
    modules = sorted(n[:-3] for n in os.listdir(os.path.join(ROOT, 'plugins', 'modules')) if n.endswith('.py')
                     and not n.startswith('_'))
    assert runtime['action_groups']['xen'] == modules
