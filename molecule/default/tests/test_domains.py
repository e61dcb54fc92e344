# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The domains of playbooks/inventory/host_vars/lab1.yml on the lab host, after converge."""

from __future__ import annotations

import json
import re

import pytest

from ansible_collections.xenops.xen.plugins.filter.fleet import domain_addresses
from ansible_collections.xenops.xen.plugins.module_utils._names import stable_mac

LVM = {'web-root': 1 << 30, 'web-swap': 128 << 20}
IMAGE = '/var/lib/xen/images/mail-root.img'
WEB_MAC = '00:16:3e:00:02:0a'
# mail has no address in the inventory: the role gives it one from domains_subnet, by name
MAIL_IP = domain_addresses([{'name': 'mail'}], '198.51.100.0/24', reserved=['198.51.100.1'], method='name')[0]['ip']


@pytest.fixture(scope='module')
def domains(host):
    out = host.check_output('xl list -l')
    return dict((d['config']['c_info']['name'], d) for d in json.loads(out))


@pytest.fixture(scope='module')
def xl_list(host):
    rows = {}
    for line in host.check_output('xl list').splitlines()[1:]:
        parts = line.split()
        rows[parts[0]] = {'id': int(parts[1]), 'mem': int(parts[2]), 'vcpus': int(parts[3]), 'state': parts[4]}
    return rows


@pytest.mark.parametrize('name, memory', [('web', 256), ('mail', 192)])
def test_domain_runs_with_its_memory_and_vcpus(xl_list, name, memory):
    row = xl_list[name]
    # alive: running, blocked, or (no flag) runnable and waiting for a CPU at that instant,
    # which a busy host shows now and then; not paused, shut down, crashed or dying
    assert set(row['state'].replace('-', '')) <= {'r', 'b'}, row
    assert memory - 16 <= row['mem'] <= memory
    assert row['vcpus'] == 1


@pytest.mark.parametrize('name, bridge, mac', [('web', 'xenbr0', WEB_MAC), ('mail', 'xenbr1', stable_mac('mail', 0))])
def test_vif_mac_and_bridge(domains, name, bridge, mac):
    nics = domains[name]['config']['nics']
    assert [(n['mac'], n['bridge']) for n in nics] == [(mac, bridge)]


def test_volumes_named_domain_function_with_their_sizes(host):
    out = host.check_output('lvs --reportformat json --units b --nosuffix -o lv_name,lv_size,lv_tags vg_xen')
    lvs = dict((lv['lv_name'], lv) for lv in json.loads(out)['report'][0]['lv'])
    for name, size in LVM.items():
        assert int(lvs[name]['lv_size']) == size
    # the domains get the host's own Debian release (domains_os defaults to it)
    assert 'xenops_os=%s' % host.system_info.codename in lvs['web-root']['lv_tags'].split(',')


def test_image_file_is_sparse_and_marked(host):
    image = host.file(IMAGE)
    assert image.size == 1 << 30
    blocks = int(host.check_output('stat -c %%b %s', IMAGE))
    assert blocks * 512 < image.size
    assert host.file(IMAGE + '.xenops-os').content_string.strip() == host.system_info.codename


@pytest.mark.parametrize('name', ['web', 'mail'])
def test_config_file_and_autostart_link(host, name):
    cfg = host.file('/etc/xen/%s.cfg' % name)
    assert cfg.is_file
    assert 'name = "%s"' % name in cfg.content_string
    link = host.file('/etc/xen/auto/%s.cfg' % name)
    assert link.is_symlink
    assert link.linked_to == '/etc/xen/%s.cfg' % name


def test_base_system_cached_once(host):
    bases = host.check_output('ls /var/cache/xenops-xen').split()
    suite = host.system_info.codename
    assert len([b for b in bases if b.startswith('base-%s-' % suite) and b.endswith('.tar')]) == 1


def test_nothing_left_mounted(host):
    assert '/run/xenops-xen/mnt' not in host.check_output('findmnt --list --noheadings --output TARGET')


def test_web_answers_on_its_address(host):
    host.run_expect([0], 'ping -c 3 -W 3 192.0.2.10')


def test_mail_answers_on_its_address(host):
    host.run_expect([0], 'ping -c 3 -W 3 %s' % MAIL_IP)


@pytest.mark.parametrize('name', ['web', 'mail'])
def test_domains_boot_dom0_kernel_with_the_small_initramfs(host, domains, name):
    info = domains[name]['config']['b_info']
    assert domains[name]['config']['c_info']['type'] == 'pv'
    assert info['kernel'] == host.check_output('readlink -f /vmlinuz')
    version = info['kernel'].rsplit('/vmlinuz-', 1)[1]
    assert info['ramdisk'] == '/var/lib/xenops-xen/initramfs/initrd.img-%s' % version
    modules = host.check_output('lsinitramfs %s', info['ramdisk'])
    assert 'xen-blkfront.ko' in modules and 'xen-netfront.ko' in modules
    # a few MiB, not dom0's initramfs with every driver
    assert host.file(info['ramdisk']).size < 40 << 20


@pytest.mark.parametrize('name', ['web', 'mail'])
def test_installed_system_runs_sshd(host, name):
    address = '192.0.2.10' if name == 'web' else MAIL_IP
    banner = host.check_output("timeout 60 bash -c 'exec 3<>/dev/tcp/%s/22 && head -c 8 <&3'", address)
    assert banner.startswith('SSH-2.0')


def _ansible(tool, *args):
    """Run ansible or ansible-inventory of the venv against the scenario's inventory and the plugin xen_domains."""
    import os
    import subprocess
    import sys
    import tempfile
    plugin_dir = tempfile.mkdtemp(prefix='xen-domains-')
    plugin = os.path.join(plugin_dir, 'zz.xen_domains.yml')
    with open(plugin, 'w') as fh:
        fh.write('plugin: xenops.xen.xen_domains\n')
    argv = [os.path.join(os.path.dirname(sys.executable), tool), '-i', os.environ['MOLECULE_INVENTORY_FILE'],
            '-i', plugin] + list(args)
    # molecule runs the verifier with ANSIBLE_FORCE_COLOR: the output is matched as plain text
    env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0')
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, check=False)


def test_domains_are_ansible_hosts_reached_through_dom0():
    """The inventory plugin xenops.xen.xen_domains: the domains as hosts, an ad-hoc command through lab1."""
    proc = _ansible('ansible-inventory', '--host', 'lab1')
    assert proc.returncode == 0, proc.stderr
    key = json.loads(proc.stdout).get('ansible_private_key_file') or json.loads(proc.stdout)['ansible_ssh_private_key_file']
    proc = _ansible('ansible-inventory', '--graph', 'xen_on_lab1')
    assert proc.returncode == 0, proc.stderr
    assert '|--web' in proc.stdout and '|--mail' in proc.stdout
    # 192.0.2.0/24 and 198.51.100.0/24 are bridges inside lab1: only the jump through lab1 reaches them
    # -T: under emulation the domain's sshd sends its banner only after it has started a child for the
    # connection, which took longer than ansible's default 10 s ("timed out during banner exchange")
    proc = _ansible('ansible', 'xen_domus', '-m', 'ansible.builtin.raw', '-a', 'cat /etc/hostname', '-o', '-T', '120',
                    '--private-key', key, '--ssh-common-args=-o UserKnownHostsFile=/dev/null')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the oneline callback: "web | CHANGED | rc=0 | (stdout) web\\r\\n (stderr) ..." (newlines written as \\n)
    plain = re.sub(r'\x1b\[[0-9;]*m', '', proc.stdout)
    for name in ('web', 'mail'):
        assert re.search(r'^%s \| CHANGED \| rc=0 \| \(stdout\) %s(\\r)?\\n' % (name, name), plain, re.M), plain


def test_domains_run_the_debian_release_of_their_host(host):
    """domains_os defaults to the host's release: on a Debian 13 lab host, Debian 13 domains."""
    proc = _ansible('ansible-inventory', '--host', 'lab1')
    assert proc.returncode == 0, proc.stderr
    key = json.loads(proc.stdout).get('ansible_private_key_file') or json.loads(proc.stdout)['ansible_ssh_private_key_file']
    proc = _ansible('ansible', 'xen_domus', '-m', 'ansible.builtin.raw', '-a', 'grep ^VERSION_CODENAME= /etc/os-release',
                    '-o', '-T', '120', '--private-key', key, '--ssh-common-args=-o UserKnownHostsFile=/dev/null')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plain = re.sub(r'\x1b\[[0-9;]*m', '', proc.stdout)
    codename = host.system_info.codename
    assert codename in ('bookworm', 'trixie'), codename
    for name in ('web', 'mail'):
        assert re.search(r'^%s \| CHANGED \| rc=0 \| \(stdout\) VERSION_CODENAME=%s(\\r)?\\n' % (name, codename), plain,
                         re.M), plain
