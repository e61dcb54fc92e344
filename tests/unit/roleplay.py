# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Run a task file of one of the collection's roles on this machine, in check mode, and read what it printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
PLAY = """- hosts: all
  gather_facts: {gather_facts}
  gather_subset: [min, interfaces]
  tasks:
    - name: Run the {tasks_from} tasks of the role
      ansible.builtin.include_role:
        name: xenops.xen.{role}
        tasks_from: {tasks_from}
        public: true
    - name: Show what they found
      ansible.builtin.debug:
        msg: "{msg}"
"""


def run_role_tasks(tmp_path, role, extra, msg, tasks_from='preflight', gather_facts=True):
    """(rc, output with its whitespace folded) of ansible-playbook running the role's tasks_from against localhost
    in check mode with the extra vars, then a debug task printing msg (a template over what the tasks found)."""
    play = tmp_path / 'play.yml'
    play.write_text(PLAY.format(role=role, tasks_from=tasks_from, msg=msg, gather_facts=str(gather_facts).lower()))
    return run_play(play, extra)


def run_play(play, extra, args=()):
    """(rc, output with its whitespace folded) of ansible-playbook running the play file against localhost in check
    mode with the extra vars and more ansible-playbook arguments."""
    env = dict(os.environ, ANSIBLE_NOCOLOR='1')
    env.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(ROOT, '.tmp', 'collections'))
    extra = dict(extra, ansible_become=False, ansible_python_interpreter=sys.executable)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,',
                           '-c', 'local', '--check', '-e', json.dumps(extra)] + list(args) + [str(play)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=300, check=False)
    return proc.returncode, ' '.join(proc.stdout.decode('utf-8', 'replace').split())
