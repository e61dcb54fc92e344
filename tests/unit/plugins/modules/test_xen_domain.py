# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""xen_domain scenarios: the exact commands of every transition, check mode, diff, batches, bad inputs."""

from __future__ import annotations

import json
import os

import pytest

import labdata

from ansible_collections.xenops.xen.plugins.module_utils import _domain_apply, _domain_spec, _names, _xlcfg
from ansible_collections.xenops.xen.plugins.modules import xen_domain

from utils import Call, run_module

LIST_LONG = ['xl', 'list', '-l']
LIST = ['xl', 'list']
HEADER = 'Name                                        ID   Mem VCPUs\tState\tTime(s)\n'
DOM0 = 'Domain-0                                     0   768     2     r-----      42.1\n'

NEWS_MAC = '00:16:3e:54:69:80'   # stable_mac('news', 0)
NEWS_OPTIONS = dict(
    name='news', kernel='/boot/vmlinuz', ramdisk='/boot/initrd.img', root='/dev/sda1 ro',
    memory=256, maxmem=512, vcpus=1, maxvcpus=2,
    disks=['phy:vg/news-root,sda1,w'], vifs=['bridge=xenbr0'], boot_settle=1)
NEWS_CFG = '''# Managed by Ansible (xenops.xen). Local changes will be overwritten.

name = "news"
kernel = "/boot/vmlinuz"
ramdisk = "/boot/initrd.img"
root = "/dev/sda1 ro"
memory = 256
maxmem = 512
vcpus = 1
maxvcpus = 2
disk = [
    "format=raw, vdev=sda1, access=rw, target=/dev/vg/news-root",
]
vif = [
    "mac=00:16:3e:54:69:80,bridge=xenbr0",
]
'''
# The same domain as an administrator wrote it years ago.
NEWS_HANDMADE = '''# news server
kernel = '/boot/vmlinuz'
ramdisk = '/boot/initrd.img'
memory = "256"
maxmem = 0x200
name = 'news'
vcpus = 1; maxvcpus = 2
root = '/dev/sda1 ro'
disk = [ 'phy:/dev/vg/news-root,sda1,w' ]
vif = [ 'bridge=xenbr0, mac=00:16:3E:54:69:80' ]
'''


class FakeClock(object):
    """Time that passes only when the module sleeps."""

    def __init__(self):
        self.t = 1000.0
        self.slept = []

    def now(self):
        return self.t

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.t += seconds


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(_domain_apply, 'Clock', lambda: fake)
    return fake


@pytest.fixture(autouse=True)
def log_dir(tmp_path, monkeypatch):
    path = tmp_path / 'log'
    (path / 'console').mkdir(parents=True)
    monkeypatch.setattr(_domain_apply, 'LOG_DIR', str(path))
    return path


@pytest.fixture
def cfg_dir(tmp_path):
    path = tmp_path / 'xen'
    path.mkdir()
    return path


def dom(name, domid, flags='-b----', memory=256, maxmem=512, vcpus=1, maxvcpus=2, dtype='pv',
        kernel='/boot/vmlinuz', ramdisk='/boot/initrd.img', cmdline='root=/dev/sda1 ro',
        disks=(('vg/news-root', 'sda1', 1),), macs=(NEWS_MAC,)):
    """One running domain: its ``xl list -l`` entry and its ``xl list`` line."""
    config = {
        'c_info': {'type': dtype, 'name': name},
        'b_info': {'max_vcpus': maxvcpus, 'avail_vcpus': list(range(vcpus)), 'max_memkb': maxmem * 1024,
                   'target_memkb': memory * 1024, 'kernel': kernel, 'ramdisk': ramdisk, 'cmdline': cmdline,
                   'type.%s' % dtype: {}},
        'disks': [{'pdev_path': p, 'vdev': v, 'backend': 'phy', 'format': 'raw', 'readwrite': rw} for p, v, rw in disks],
        'nics': [{'devid': i, 'mac': m, 'bridge': 'xenbr0', 'script': 'vif-bridge', 'nictype': 'vif'}
                 for i, m in enumerate(macs)],
        'on_poweroff': 'destroy', 'on_reboot': 'restart', 'on_watchdog': 'destroy', 'on_crash': 'destroy',
    }
    line = '%-40s %5d %5d %5d     %s %9.1f\n' % (name, domid, memory, vcpus, flags, 3.2)
    return {'domid': domid, 'config': config}, line


def reads(*doms):
    long_out = json.dumps([d[0] for d in doms], indent=4) if doms else '[\n]\n'
    return [Call(LIST_LONG, out=long_out), Call(LIST, out=HEADER + DOM0 + ''.join(d[1] for d in doms))]


def poll(*doms):
    return Call(LIST, out=HEADER + DOM0 + ''.join(d[1] for d in doms))


def news(**kwargs):
    return dom('news', 5, **kwargs)


def args(cfg_dir, **kwargs):
    result = dict(NEWS_OPTIONS, config_dir=str(cfg_dir))
    result.update(kwargs)
    return result


def actions(result):
    return [a['action'] for a in result['actions']]


def validate(cfg_dir, name='news'):
    return Call(['xl', '-N', 'create', str(cfg_dir / ('.%s.cfg.tmp' % name))], out='{"c_info": {}}\n')


def create(cfg_dir, name='news'):
    return Call(['xl', 'create', str(cfg_dir / ('%s.cfg' % name))],
                err='Parsing config from %s\n' % (cfg_dir / ('%s.cfg' % name)))


def shutdown(name='news', timeout=120, rc=0):
    return Call(['timeout', str(timeout), 'xl', 'shutdown', '-w', name], rc=rc,
                out='Waiting for 1 domains\n' if rc == 0 else '')


# ---------------------------------------------------------------- transitions

def test_absent_to_running_writes_validates_creates_and_checks_boot(cfg_dir):
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir), calls=(
        reads() + [validate(cfg_dir), create(cfg_dir), poll(news())] + reads(news())))
    assert failed is False
    assert result['changed'] is True
    assert actions(result) == ['write_config', 'create']
    assert result['actions'][0]['description'] == 'create %s' % (cfg_dir / 'news.cfg')
    assert result['actions'][1]['description'] == 'start news (xl create %s, then check it stays up for 1 seconds)' % (
        cfg_dir / 'news.cfg')
    assert (cfg_dir / 'news.cfg').read_text() == NEWS_CFG
    assert not (cfg_dir / '.news.cfg.tmp').exists()
    assert result['state'] == 'running'
    assert result['restart_required'] is False
    assert result['config_file'] == str(cfg_dir / 'news.cfg')
    assert result['domain']['domid'] == 5
    assert result['domain']['state'] == 'blocked'
    assert result['domain']['memory_mib'] == 256


def test_default_boot_settle_polls_xl_list_three_times(cfg_dir, clock):
    opts = args(cfg_dir)
    del opts['boot_settle']
    result, failed, seen = run_module(xen_domain.main, opts, calls=(
        reads() + [validate(cfg_dir), create(cfg_dir), poll(news()), poll(news()), poll(news())] + reads(news())))
    assert failed is False
    assert clock.slept == [1.0, 1.0, 1.0]
    assert seen.count(LIST) == 5


def test_an_xl_list_whose_output_was_lost_while_polling_is_read_again(cfg_dir, clock):
    """xl list with rc 0 and no output at all (run_command lost it, once on a loaded lab host) does not fail the start."""
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir), calls=(
        reads() + [validate(cfg_dir), create(cfg_dir), Call(LIST, out=''), poll(news())] + reads(news())))
    assert failed is False, result.get('msg')
    assert actions(result) == ['write_config', 'create']
    assert clock.slept == [1.0]
    assert seen.count(LIST) == 4


def test_boot_settle_zero_does_not_poll(cfg_dir, clock):
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, boot_settle=0), calls=(
        reads() + [validate(cfg_dir), create(cfg_dir)] + reads(news())))
    assert failed is False
    assert clock.slept == []
    assert result['actions'][1]['description'] == 'start news (xl create %s)' % (cfg_dir / 'news.cfg')


def test_absent_to_present_writes_config_only(cfg_dir):
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, state='present'), calls=(
        reads() + [validate(cfg_dir)]))
    assert failed is False
    assert actions(result) == ['write_config']
    assert result['state'] == 'stopped'
    assert result['domain'] is None
    assert (cfg_dir / 'news.cfg').read_text() == NEWS_CFG


def test_present_to_running_starts_from_existing_file(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir), calls=(
        reads() + [create(cfg_dir), poll(news())] + reads(news())))
    assert failed is False
    assert actions(result) == ['create']
    assert seen == [LIST_LONG, LIST, ['xl', 'create', str(cfg_dir / 'news.cfg')], LIST, LIST_LONG, LIST]


def test_running_to_stopped_shuts_down_with_timeout(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, state='stopped', shutdown_timeout=30), calls=(
        reads(news()) + [shutdown(timeout=30), poll()] + reads()))
    assert failed is False
    assert actions(result) == ['shutdown']
    assert result['actions'][0]['description'] == 'shut news down (xl shutdown -w, at most 30 seconds)'
    assert result['state'] == 'stopped'
    assert result['domain'] is None


def test_running_to_paused(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, state='paused'), calls=(
        reads(news()) + [Call(['xl', 'pause', 'news'])] + reads(news(flags='--p---'))))
    assert failed is False
    assert actions(result) == ['pause']
    assert result['domain']['state'] == 'paused'


def test_paused_to_running(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir), calls=(
        reads(news(flags='--p---')) + [Call(['xl', 'unpause', 'news'])] + reads(news())))
    assert failed is False
    assert actions(result) == ['unpause']
    assert result['domain']['state'] == 'blocked'


def test_paused_to_stopped_unpauses_first(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, state='stopped'), calls=(
        reads(news(flags='--p---')) + [Call(['xl', 'unpause', 'news']), shutdown(), poll()] + reads()))
    assert failed is False
    assert actions(result) == ['unpause', 'shutdown']


def test_running_to_absent_shuts_down_and_removes_link_and_config(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    (cfg_dir / 'auto').mkdir()
    os.symlink(str(cfg_dir / 'news.cfg'), str(cfg_dir / 'auto' / 'news.cfg'))
    result, failed, seen = run_module(xen_domain.main, dict(name='news', state='absent', config_dir=str(cfg_dir)),
                                      calls=reads(news()) + [shutdown(), poll()] + reads())
    assert failed is False
    assert actions(result) == ['shutdown', 'unlink_autostart', 'remove_config']
    assert not (cfg_dir / 'news.cfg').exists()
    assert not os.path.lexists(str(cfg_dir / 'auto' / 'news.cfg'))


def test_stopped_to_absent_removes_config_without_commands(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, state='absent'), calls=reads())
    assert failed is False
    assert actions(result) == ['remove_config']
    assert seen == [LIST_LONG, LIST]
    assert not (cfg_dir / 'news.cfg').exists()


def test_absent_again_is_no_change(cfg_dir):
    result, failed, seen = run_module(xen_domain.main, dict(name='news', state='absent', config_dir=str(cfg_dir)),
                                      calls=reads())
    assert failed is False
    assert result['changed'] is False
    assert result['actions'] == []


def test_crashed_to_running_destroys_then_creates(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir), calls=(
        reads(news(flags='---sc-')) + [Call(['xl', 'destroy', 'news']), create(cfg_dir), poll(news())] + reads(news())))
    assert failed is False
    assert actions(result) == ['destroy', 'create']
    assert result['actions'][0]['description'] == 'destroy news (crashed) before starting it again'


def test_running_unchanged_is_no_change(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir), calls=reads(news()))
    assert failed is False
    assert result['changed'] is False
    assert result['restart_required'] is False
    assert result['restart_reasons'] == []
    assert result['domain']['name'] == 'news'


def test_hand_edited_equivalent_file_is_not_a_change(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_HANDMADE)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir), calls=reads(news()))
    assert failed is False
    assert result['changed'] is False
    assert (cfg_dir / 'news.cfg').read_text() == NEWS_HANDMADE


def test_memory_drift_is_applied_live_and_written(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, memory=384), calls=(
        reads(news()) + [validate(cfg_dir), Call(['xl', 'mem-set', 'news', '384m'])] + reads(news(memory=384))))
    assert failed is False
    assert actions(result) == ['write_config', 'mem_set']
    assert result['actions'][1]['description'] == 'set the memory of news to 384 MiB (now 256 MiB)'
    assert 'memory = 384\n' in (cfg_dir / 'news.cfg').read_text()
    assert result['restart_required'] is False
    assert result['domain']['memory_mib'] == 384


def test_vcpu_drift_is_applied_live(cfg_dir, warnings):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, vcpus=2), calls=(
        reads(news()) + [validate(cfg_dir), Call(['xl', 'vcpu-set', 'news', '2'])] + reads(news(vcpus=2))))
    assert failed is False
    assert actions(result) == ['write_config', 'vcpu_set']
    assert result['restart_required'] is False
    assert warnings == []


def test_memory_above_running_maxmem_needs_restart(cfg_dir, warnings):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, memory=1024, maxmem=2048), calls=(
        reads(news()) + [validate(cfg_dir)]))
    assert failed is False
    assert actions(result) == ['write_config']
    assert result['restart_required'] is True
    assert result['restart_reasons'] == ['maxmem 2048 MiB, running 512 MiB',
                                         'memory 1024 MiB is more than the running maxmem 512 MiB']
    assert warnings == ['domain news runs with an older configuration and needs a restart (maxmem 2048 MiB, running '
                        '512 MiB; memory 1024 MiB is more than the running maxmem 512 MiB); set its restart option to '
                        'if_needed to restart it']


def test_disk_change_with_restart_never_only_reports(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    disks = ['phy:vg/news-root,sda1,w', 'phy:vg/news-swap,sda2,w']
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, disks=disks), calls=(
        reads(news()) + [validate(cfg_dir)]))
    assert failed is False
    assert actions(result) == ['write_config']
    assert result['restart_required'] is True
    assert result['restart_reasons'] == ['disk sda2 is not attached to the running domain']
    assert '"format=raw, vdev=sda2, access=rw, target=/dev/vg/news-swap",\n' in (cfg_dir / 'news.cfg').read_text()


def test_disk_change_with_restart_if_needed_restarts(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    disks = ['phy:vg/news-root,sda1,w', 'phy:vg/news-swap,sda2,w']
    both = (('vg/news-root', 'sda1', 1), ('vg/news-swap', 'sda2', 1))
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, disks=disks, restart='if_needed'), calls=(
        reads(news()) + [validate(cfg_dir), shutdown(), poll(), create(cfg_dir), poll(news(disks=both))]
        + reads(news(disks=both))))
    assert failed is False
    assert actions(result) == ['write_config', 'restart']
    assert result['actions'][1]['description'] == (
        'restart news (shut down, xl create) because disk sda2 is not attached to the running domain')
    assert result['restart_required'] is False
    assert result['restart_reasons'] == ['disk sda2 is not attached to the running domain']


def test_restart_needed_second_run_still_reports_without_writing(cfg_dir):
    disks = ['phy:vg/news-root,sda1,w', 'phy:vg/news-swap,sda2,w']
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG.replace(
        '    "format=raw, vdev=sda1, access=rw, target=/dev/vg/news-root",\n',
        '    "format=raw, vdev=sda1, access=rw, target=/dev/vg/news-root",\n'
        '    "format=raw, vdev=sda2, access=rw, target=/dev/vg/news-swap",\n'))
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, disks=disks), calls=reads(news()))
    assert failed is False
    assert result['changed'] is False
    assert result['restart_required'] is True


def test_extra_option_change_on_running_domain_needs_restart(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, extra_options={'serial': 'pty'}), calls=(
        reads(news()) + [validate(cfg_dir)]))
    assert failed is False
    assert result['restart_reasons'] == ['setting serial changed in the config file']
    assert (cfg_dir / 'news.cfg').read_text().endswith('serial = "pty"\n')


def test_restart_waits_until_the_shut_down_domain_is_gone(cfg_dir, clock):
    # found on the lab: `xl shutdown -w` returns before the domain's xl daemon has destroyed it,
    # and an immediate `xl create` fails with 'Domain with name "news" already exists'
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    disks = ['phy:vg/news-root,sda1,w', 'phy:vg/news-swap,sda2,w']
    both = (('vg/news-root', 'sda1', 1), ('vg/news-swap', 'sda2', 1))
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, disks=disks, restart='if_needed'), calls=(
        reads(news()) + [validate(cfg_dir), shutdown(), poll(news(flags='---s--')), poll(news(flags='-----d')),
                         poll(), create(cfg_dir), poll(news(disks=both))] + reads(news(disks=both))))
    assert failed is False
    assert actions(result) == ['write_config', 'restart']
    assert ['xl', 'destroy', 'news'] not in seen
    assert clock.slept == [1.0, 1.0, 1.0]   # two polls while it goes, then boot_settle


def test_restart_destroys_a_domain_kept_after_shutdown(cfg_dir, clock):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    disks = ['phy:vg/news-root,sda1,w', 'phy:vg/news-swap,sda2,w']
    both = (('vg/news-root', 'sda1', 1), ('vg/news-swap', 'sda2', 1))
    kept = [poll(news(flags='---s--'))] * 31
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, disks=disks, restart='if_needed'), calls=(
        reads(news()) + [validate(cfg_dir), shutdown()] + kept
        + [Call(['xl', 'destroy', 'news']), create(cfg_dir), poll(news(disks=both))] + reads(news(disks=both))))
    assert failed is False
    assert actions(result) == ['write_config', 'restart']
    assert seen.count(['xl', 'destroy', 'news']) == 1
    assert sum(clock.slept) == 31.0   # 30 s for it to go, then boot_settle


def test_stop_leaves_a_domain_kept_after_shutdown(cfg_dir, clock):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    kept = [poll(news(flags='---s--'))] * 31
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, state='stopped'), calls=(
        reads(news()) + [shutdown()] + kept + reads(news(flags='---s--'))))
    assert failed is False
    assert actions(result) == ['shutdown']
    assert ['xl', 'destroy', 'news'] not in seen


# the domain of the lab's HVM test: GRUB from an ISO, no PV drivers
HVM1 = dict(dtype='hvm', kernel=None, ramdisk=None, cmdline=None, memory=128, maxmem=128, vcpus=1, maxvcpus=1,
            disks=(('/var/lib/xen/images/xenops-hvm-test.iso', 'hdc', 0),), macs=())


def test_hvm_domain_is_shut_down_with_the_acpi_fallback(cfg_dir):
    """xl refuses a graceful shutdown of a guest without PV drivers unless -F (then an ACPI power button event)."""
    hvm = dom('hvm1', 1, **HVM1)
    stop = Call(['timeout', '120', 'xl', 'shutdown', '-F', '-w', 'hvm1'], out='Waiting for 1 domains\n')
    result, failed, seen = run_module(xen_domain.main, dict(name='hvm1', config_dir=str(cfg_dir), state='absent'),
                                      calls=reads(hvm) + [stop, poll()] + reads())
    assert failed is False, result
    assert actions(result) == ['shutdown']
    assert stop.argv in seen


def test_hvm_domain_that_ignores_the_power_button_is_destroyed_with_force_destroy(cfg_dir):
    hvm = dom('hvm1', 1, **HVM1)
    stop = Call(['timeout', '10', 'xl', 'shutdown', '-F', '-w', 'hvm1'], rc=124)
    result, failed, seen = run_module(xen_domain.main, dict(name='hvm1', config_dir=str(cfg_dir), state='stopped',
                                                            shutdown_timeout=10, force_destroy=True),
                                      calls=reads(hvm) + [stop, Call(['xl', 'destroy', 'hvm1'])] + reads())
    assert failed is False, result
    assert seen.index(['xl', 'destroy', 'hvm1']) == seen.index(stop.argv) + 1
    assert stop.argv in seen


def test_paused_domain_restart_unpauses_first(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, kernel='/boot/vmlinuz-new', restart='if_needed',
                                                            state='paused'), calls=(
        reads(news(flags='--p---')) + [validate(cfg_dir), Call(['xl', 'unpause', 'news']), shutdown(), poll(),
                                       create(cfg_dir), poll(news(kernel='/boot/vmlinuz-new')),
                                       Call(['xl', 'pause', 'news'])]
        + reads(news(kernel='/boot/vmlinuz-new', flags='--p---'))))
    assert failed is False
    assert actions(result) == ['write_config', 'unpause', 'restart', 'pause']


def test_no_configuration_options_use_existing_file(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_HANDMADE)
    result, failed, seen = run_module(xen_domain.main, dict(name='news', config_dir=str(cfg_dir), boot_settle=0),
                                      calls=reads() + [create(cfg_dir)] + reads(news()))
    assert failed is False
    assert actions(result) == ['create']
    assert (cfg_dir / 'news.cfg').read_text() == NEWS_HANDMADE


# ---------------------------------------------------------------- autostart

def test_autostart_links_after_verified_start(cfg_dir):
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, autostart=True), calls=(
        reads() + [validate(cfg_dir), create(cfg_dir), poll(news())] + reads(news())))
    assert failed is False
    assert actions(result) == ['write_config', 'create', 'link_autostart']
    assert os.readlink(str(cfg_dir / 'auto' / 'news.cfg')) == str(cfg_dir / 'news.cfg')


def test_autostart_not_linked_when_boot_fails(cfg_dir, log_dir):
    (log_dir / 'xl-news.log').write_text(''.join('line %d\n' % i for i in range(30)))
    (log_dir / 'console' / 'guest-news.log').write_text('Kernel panic - not syncing: VFS: Unable to mount root fs\n')
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, autostart=True), calls=(
        reads() + [validate(cfg_dir), create(cfg_dir), poll(news(flags='---sc-')), Call(['xl', 'destroy', 'news'])]))
    assert failed is True
    assert result['msg'].startswith(
        'domain news did not stay up after xl create: it was crashed after 1 seconds (crash) (boot_settle is 1 seconds)')
    assert 'last lines of %s:\nline 10\nline 11\n' % (log_dir / 'xl-news.log') in result['msg']
    assert result['xl_log'].splitlines() == ['line %d' % i for i in range(10, 30)]
    assert result['console_log'] == 'Kernel panic - not syncing: VFS: Unable to mount root fs'
    assert result['actions_done'] == [{'action': 'write_config', 'description': 'create %s' % (cfg_dir / 'news.cfg')}]
    assert result['failed_action']['action'] == 'create'
    assert not os.path.lexists(str(cfg_dir / 'auto' / 'news.cfg'))


def test_boot_failure_domain_gone_no_logs(cfg_dir):
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir), calls=(
        reads() + [validate(cfg_dir), create(cfg_dir), poll()]))
    assert failed is True
    assert result['msg'] == ('domain news did not stay up after xl create: it was gone after 1 seconds '
                             '(boot_settle is 1 seconds)')


def test_autostart_already_running_links_now(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, autostart=True), calls=reads(news()))
    assert failed is False
    assert actions(result) == ['link_autostart']
    assert seen == [LIST_LONG, LIST]


def test_autostart_false_removes_link(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    (cfg_dir / 'auto').mkdir()
    os.symlink('../news.cfg', str(cfg_dir / 'auto' / 'news.cfg'))
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, autostart=False), calls=reads(news()))
    assert failed is False
    assert actions(result) == ['unlink_autostart']
    assert not os.path.lexists(str(cfg_dir / 'auto' / 'news.cfg'))


def test_relative_autostart_link_counts_as_linked(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    (cfg_dir / 'auto').mkdir()
    os.symlink('../news.cfg', str(cfg_dir / 'auto' / 'news.cfg'))
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, autostart=True), calls=reads(news()))
    assert failed is False
    assert result['changed'] is False


# ---------------------------------------------------------------- failures while applying

def test_validation_failure_keeps_old_file_and_removes_temp(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    err = 'Parsing config from %s\nInvalid domain type xen.\n' % (cfg_dir / '.news.cfg.tmp')
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, memory=300), calls=(
        reads(news()) + [Call(['xl', '-N', 'create', str(cfg_dir / '.news.cfg.tmp')], rc=1, err=err)]))
    assert failed is True
    assert result['msg'] == ('xl rejected the new config of domain news (%s left unchanged): Parsing config from %s\n'
                             'Invalid domain type xen.' % (cfg_dir / 'news.cfg', cfg_dir / '.news.cfg.tmp'))
    assert result['stderr'] == err
    assert (cfg_dir / 'news.cfg').read_text() == NEWS_CFG
    assert not (cfg_dir / '.news.cfg.tmp').exists()


def test_shutdown_timeout_fails_without_force_destroy(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, state='stopped', shutdown_timeout=10), calls=(
        reads(news()) + [shutdown(timeout=10, rc=124)]))
    assert failed is True
    assert result['msg'] == ('domain news did not shut down within 10 seconds (shutdown_timeout); it may still be '
                             'shutting down. Set force_destroy=true to destroy it after the timeout')
    assert result['rc'] == 124


def test_shutdown_timeout_with_force_destroy_destroys(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, state='stopped', force_destroy=True), calls=(
        reads(news()) + [shutdown(rc=124), Call(['xl', 'destroy', 'news'])] + reads()))
    assert failed is False
    assert actions(result) == ['shutdown']
    assert result['actions'][0]['description'] == 'shut news down (xl shutdown -w, at most 120 seconds, then xl destroy)'


def test_create_failure_reports_xl_stderr(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    err = 'libxl: error: libxl_device.c:1136:device_backend_callback: Domain 7:unable to add device with path /local/domain/0/backend/vbd/7/2049\n'
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir), calls=(
        reads() + [Call(['xl', 'create', str(cfg_dir / 'news.cfg')], rc=3, err=err)]))
    assert failed is True
    assert result['msg'] == "domain news: create failed: command 'xl create %s' failed with rc=3: %s" % (
        cfg_dir / 'news.cfg', err.strip())
    assert result['cmd'] == ['xl', 'create', str(cfg_dir / 'news.cfg')]


# what xl create printed on the lab's Xen 4.17 for an hvm domain before qemu-system-xen was installed
HVM_NO_FIRMWARE = (
    'Parsing config from /etc/xen/r1.cfg\n'
    'libxl: error: libxl_dom.c:818:libxl__load_hvm_firmware_module: failed to read BIOS file: No such file or directory\n'
    'libxl: error: libxl_dom.c:1075:libxl__build_hvm: initializing domain firmware failed\n'
    'libxl: error: libxl_create.c:1640:domcreate_rebuild_done: Domain 1:cannot (re-)build domain: -3\n')


def test_create_failure_of_an_hvm_domain_without_device_model_says_what_to_install(cfg_dir):
    result, failed, seen = run_module(xen_domain.main, dict(
        name='r1', config_dir=str(cfg_dir), type='hvm', memory=128, boot_settle=0,
        disks=[{'target': '/srv/iso/r.iso', 'vdev': 'hdc', 'devtype': 'cdrom', 'access': 'ro'}]), calls=(
        reads() + [Call(['xl', '-N', 'create', str(cfg_dir / '.r1.cfg.tmp')]),
                   Call(['xl', 'create', str(cfg_dir / 'r1.cfg')], rc=3, err=HVM_NO_FIRMWARE)]))
    assert failed is True
    assert result['msg'].startswith("domain r1: create failed: command 'xl create %s' failed with rc=3: Parsing config"
                                    % (cfg_dir / 'r1.cfg'))
    assert result['msg'].endswith("failed to read BIOS file: No such file or directory\n"
                                  "libxl: error: libxl_dom.c:1075:libxl__build_hvm: initializing domain firmware failed\n"
                                  "libxl: error: libxl_create.c:1640:domcreate_rebuild_done: Domain 1:cannot (re-)build "
                                  "domain: -3\nHVM domains need a device model and its firmware in dom0: install "
                                  "Debian's qemu-system-xen (the xenops.xen.hypervisor role does with hypervisor_hvm: true).")
    assert result['stderr'] == HVM_NO_FIRMWARE
    # the file it wrote has the hvm console defaults
    written = (cfg_dir / 'r1.cfg').read_text()
    assert 'serial = "pty"' in written and 'vnclisten = "127.0.0.1"' in written


def test_create_failure_hint_only_for_missing_device_model():
    from ansible_collections.xenops.xen.plugins.module_utils._domain_apply import device_model_hint
    assert device_model_hint(HVM_NO_FIRMWARE).startswith('HVM domains need a device model')
    assert device_model_hint('libxl: error: libxl_dm.c:3164:device_model_spawn_outcome: Domain 3:domain 3 device '
                             'model: spawn failed (rc=-3)\n').startswith('HVM domains need')
    assert device_model_hint('libxl: error: libxl_device.c:1136:device_backend_callback: Domain 7:unable to add '
                             'device with path /local/domain/0/backend/vbd/7/2049\n') is None
    assert device_model_hint('') is None and device_model_hint(None) is None


# ---------------------------------------------------------------- check mode and diff

@pytest.mark.parametrize('options, existing, running, expected', [
    (dict(), None, None, ['write_config', 'create']),
    (dict(state='stopped'), NEWS_CFG, True, ['shutdown']),
    (dict(memory=384), NEWS_CFG, True, ['write_config', 'mem_set']),
    (dict(state='absent', autostart=None), NEWS_CFG, True, ['shutdown', 'remove_config']),
    (dict(autostart=True), NEWS_CFG, False, ['create', 'link_autostart']),
])
def test_check_mode_runs_only_reads_and_writes_nothing(cfg_dir, options, existing, running, expected):
    if existing is not None:
        (cfg_dir / 'news.cfg').write_text(existing)
    before = sorted(os.listdir(str(cfg_dir)))
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, **options), check_mode=True,
                                      calls=reads(news()) if running else reads())
    assert failed is False
    assert result['changed'] is True
    assert actions(result) == expected
    assert seen == [LIST_LONG, LIST]
    assert sorted(os.listdir(str(cfg_dir))) == before
    if existing is not None:
        assert (cfg_dir / 'news.cfg').read_text() == existing


def test_diff_of_a_new_domain(cfg_dir):
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, autostart=True), check_mode=True, diff=True,
                                      calls=reads())
    assert failed is False
    path = str(cfg_dir / 'news.cfg')
    auto = str(cfg_dir / 'auto' / 'news.cfg')
    assert result['diff'] == [
        {'before_header': path, 'after_header': path, 'before': '', 'after': NEWS_CFG},
        {'before_header': auto + ' (autostart)', 'after_header': auto + ' (autostart)',
         'before': '', 'after': '%s -> %s\n' % (auto, path)},
        {'before_header': 'domain news', 'after_header': 'domain news', 'before': 'state: stopped\n',
         'after': 'state: running\n'},
    ]


def test_diff_of_a_live_memory_change(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, memory=384), diff=True, calls=(
        reads(news()) + [validate(cfg_dir), Call(['xl', 'mem-set', 'news', '384m'])] + reads(news(memory=384))))
    assert failed is False
    assert result['diff'][0]['before'] == NEWS_CFG
    assert result['diff'][0]['after'] == NEWS_CFG.replace('memory = 256', 'memory = 384')
    assert result['diff'][1] == {'before_header': 'domain news', 'after_header': 'domain news',
                                 'before': 'state: running\nmemory: 256 MiB\nvcpus: 1\n',
                                 'after': 'state: running\nmemory: 384 MiB\nvcpus: 1\n'}


def test_no_diff_when_nothing_changes(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_HANDMADE)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir), diff=True, calls=reads(news()))
    assert result['diff'] == []


# ---------------------------------------------------------------- batches

def batch_entry(name, index):
    return dict(name=name, kernel='/boot/vmlinuz', cmdline='root=/dev/xvda ro', memory=128, vcpus=1,
                disks=['phy:vg/%s-root,xvda,w' % name], vifs=[{'bridge': 'xenbr0'}])


def batch_dom(name, domid):
    entry = batch_entry(name, domid)
    cfg = _domain_spec.build_config(name, entry)
    return dom(name, domid, memory=128, maxmem=128, vcpus=1, maxvcpus=1, ramdisk=None, cmdline='root=/dev/xvda ro',
               disks=(('vg/%s-root' % name, 'xvda', 1),), macs=(_names.stable_mac(name, 0),)), cfg


def test_batch_reads_host_state_once(cfg_dir):
    entries = [dict(batch_entry('web', 1), state='present'), batch_entry('mail', 2), dict(name='old', state='absent')]
    (cfg_dir / 'old.cfg').write_text('name = "old"\nkernel = "/boot/vmlinuz"\n')
    mail, mail_cfg = batch_dom('mail', 7)
    (cfg_dir / 'mail.cfg').write_text(_xlcfg.render(mail_cfg))
    old = dom('old', 9, macs=('00:16:3e:00:00:09',))
    result, failed, seen = run_module(
        xen_domain.main, dict(domains=entries, config_dir=str(cfg_dir), boot_settle=0),
        # the domain the task removes goes first; the results keep the task's order
        calls=reads(mail, old) + [shutdown('old'), poll(mail), validate(cfg_dir, 'web')] + reads(mail))
    assert failed is False
    assert seen.count(LIST_LONG) == 2   # once before, once after the changes
    assert [d['name'] for d in result['domains']] == ['web', 'mail', 'old']
    assert [actions(d) for d in result['domains']] == [['write_config'], [], ['shutdown', 'remove_config']]
    assert [d['changed'] for d in result['domains']] == [True, False, True]
    assert result['changed'] is True
    assert result['domains'][1]['domain']['domid'] == 7
    assert 'actions' not in result


def test_batch_entries_inherit_task_policy(cfg_dir):
    entries = [dict(batch_entry('web', 1)), dict(batch_entry('mail', 2), state='present')]
    result, failed, seen = run_module(
        xen_domain.main, dict(domains=entries, config_dir=str(cfg_dir), state='present', autostart=True),
        check_mode=True, calls=reads())
    assert failed is False
    assert [actions(d) for d in result['domains']] == [['write_config', 'link_autostart']] * 2


def test_noop_batch_of_20_domains_runs_two_commands(cfg_dir):
    names = ['dom%02d' % i for i in range(20)]
    running = []
    for i, name in enumerate(names):
        d, cfg = batch_dom(name, i + 1)
        (cfg_dir / ('%s.cfg' % name)).write_text(_xlcfg.render(cfg))
        (cfg_dir / 'auto').mkdir(exist_ok=True)
        os.symlink(str(cfg_dir / ('%s.cfg' % name)), str(cfg_dir / 'auto' / ('%s.cfg' % name)))
        running.append(d)
    entries = [batch_entry(n, i) for i, n in enumerate(names)]
    result, failed, seen = run_module(xen_domain.main, dict(domains=entries, config_dir=str(cfg_dir), autostart=True),
                                      calls=reads(*running))
    assert failed is False
    assert result['changed'] is False
    assert len(seen) == 2
    assert seen == [LIST_LONG, LIST]
    assert [d['restart_required'] for d in result['domains']] == [False] * 20


def test_batch_failure_reports_earlier_domains(cfg_dir):
    entries = [batch_entry('web', 1), batch_entry('mail', 2)]
    web, web_cfg = batch_dom('web', 3)
    result, failed, seen = run_module(
        xen_domain.main, dict(domains=entries, config_dir=str(cfg_dir), boot_settle=0),
        calls=reads() + [validate(cfg_dir, 'web'), create(cfg_dir, 'web'),
                         Call(['xl', '-N', 'create', str(cfg_dir / '.mail.cfg.tmp')], rc=1, err='bad\n')])
    assert failed is True
    assert result['msg'] == 'xl rejected the new config of domain mail (%s left unchanged): bad' % (cfg_dir / 'mail.cfg')
    assert result['changed'] is True
    assert [d['name'] for d in result['domains']] == ['web']
    assert actions(result['domains'][0]) == ['write_config', 'create']


# ---------------------------------------------------------------- bad inputs

def _dom_args(cfg_dir, **kwargs):
    return args(cfg_dir, **kwargs)


BAD_INPUTS = [
    ('name with a space', dict(name='my vm'), "invalid domain name 'my vm': use only letters, digits, '.', '_' and '-'"),
    ('name of digits', dict(name='1234'), "invalid domain name '1234': a name of only digits would be taken for a domain id"),
    ('name starting with -', dict(name='-x'), "invalid domain name '-x': it must not start with '-' or '.'"),
    ('Domain-0', dict(name='Domain-0'), 'domain Domain-0 is the control domain and cannot be managed'),
    ('memory over maxmem', dict(memory=1024, maxmem=512), 'memory (1024 MiB) must not be larger than maxmem (512 MiB)'),
    ('vcpus over maxvcpus', dict(vcpus=4, maxvcpus=2), 'vcpus (4) must not be more than maxvcpus (2)'),
    ('zero memory', dict(memory=0, maxmem=None), 'memory must be at least 1, got 0'),
    ('pv without kernel', dict(kernel=None, ramdisk=None), 'a pv domain needs kernel or bootloader'),
    ('kernel and bootloader', dict(bootloader='pygrub'), 'kernel and bootloader are mutually exclusive'),
    ('ramdisk without kernel', dict(kernel=None, bootloader='pygrub'), 'ramdisk needs kernel'),
    ('bootloader on hvm', dict(type='hvm', kernel=None, ramdisk=None, bootloader='pygrub'),
     'bootloader is only used by pv and pvh domains, not hvm'),
    ('cmdline with root', dict(cmdline='quiet'), 'parameters are mutually exclusive: cmdline|root'),
    ('extra_options owning memory', dict(extra_options={'memory': 512}),
     "extra_options: 'memory' is set by the module option memory, not by extra_options"),
    ('extra_options owning disk', dict(extra_options={'disk': []}),
     "extra_options: 'disk' is set by the module option disks, not by extra_options"),
    ('extra_options bad name', dict(extra_options={'Serial-Port': 'pty'}),
     "extra_options: 'Serial-Port' is not an xl.cfg setting name"),
    ('extra_options float', dict(extra_options={'shadow_memory': 1.5}),
     'extra_options.shadow_memory must be a string, a whole number, a boolean or a list of those, got float 1.5'),
    ('extra_options negative', dict(extra_options={'rdm_mem_boundary': -1}),
     'extra_options.rdm_mem_boundary: negative numbers cannot be written in an xl config (-1)'),
    ('old disk form without prefix', dict(disks=['/dev/vg/news-root,sda1,w']),
     "domain news, disk 0 ('/dev/vg/news-root,sda1,w'): 'sda1' is not a disk format (raw, qcow, qcow2, vhd, qed); "
     "in the old form target,vdev,access the target needs a prefix such as phy:"),
    ('target= not last', dict(disks=['target=/dev/vg/x,vdev=xvda,access=rw']),
     "target= must be the last parameter: xl takes everything after it as the target"),
    ('disk dict without vdev', dict(disks=[{'target': '/dev/vg/x'}]),
     'domain news, disk 0 (dict): no vdev (the device name the domain sees, such as xvda)'),
    ('disk dict unknown key', dict(disks=[{'target': '/dev/vg/x', 'vdev': 'xvda', 'mode': 'w'}]),
     'domain news, disk 0 (dict): unknown key(s) mode (known: target, vdev, access, format, backendtype, devtype, '
     'backend, script)'),
    ('disk bad access', dict(disks=[{'target': '/dev/vg/x', 'vdev': 'xvda', 'access': 'write'}]),
     "access 'write' is not one of r, ro, w, rw"),
    ('disk bad vdev', dict(disks=['phy:/dev/vg/x,vda,w']),
     "vdev 'vda' is not a virtual device name (xvda, xvdb1, hda, sda, d0p1, see xen-vbd-interface(7))"),
    ('duplicate vdev', dict(disks=['phy:/dev/vg/a,xvda,w', {'target': '/dev/vg/b', 'vdev': 'xvda'}]),
     'domain news: disks 0 and 1 both use vdev xvda'),
    ('bad mac', dict(vifs=['mac=00:16:3e:zz:00:01']),
     "domain news, vif 0 ('mac=00:16:3e:zz:00:01'): mac '00:16:3e:zz:00:01' is not a MAC address"),
    ('multicast mac', dict(vifs=[{'mac': '01:00:5e:00:00:01'}]),
     'mac 01:00:5e:00:00:01 is a multicast address (the first byte must be even)'),
    ('vif unknown key', dict(vifs=['bridge=xenbr0,speed=10']), "domain news, vif 0 ('bridge=xenbr0,speed=10'): unknown parameter 'speed'"),
    ('duplicate mac in a domain', dict(vifs=['mac=00:16:3e:00:00:01', 'mac=00:16:3E:00:00:01']),
     'MAC address 00:16:3e:00:00:01 is used twice: by domain news vif 0 and by domain news vif 1'),
    ('bad on_crash', dict(on_crash='reboot'), 'value of on_crash must be one of: destroy, restart, rename-restart'),
    ('shutdown_timeout zero', dict(shutdown_timeout=0), 'shutdown_timeout must be at least 1 second, got 0'),
    ('negative boot_settle', dict(boot_settle=-1), 'boot_settle must be 0 or more seconds, got -1'),
    ('maxmem without memory', dict(memory=None), 'maxmem needs memory'),
]


@pytest.mark.parametrize('options, message', [b[1:] for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_fails_before_any_change(cfg_dir, options, message):
    opts = _dom_args(cfg_dir, **options)
    opts = dict((k, v) for k, v in opts.items() if v is not None)
    needs_read = not any(word in message for word in ('mutually exclusive', 'must be one of'))
    calls = []
    if message.startswith('MAC address'):
        calls = reads()
    result, failed, seen = run_module(xen_domain.main, opts, calls=calls)
    assert failed is True
    assert message in result['msg']
    assert seen == ([LIST_LONG, LIST] if calls else [])
    assert os.listdir(str(cfg_dir)) == []
    assert needs_read or seen == []


BAD_TASKS = [
    ('name and domains', dict(name='news', domains=[{'name': 'web'}]), 'parameters are mutually exclusive: name|domains'),
    ('neither name nor domains', dict(memory=128), 'one of the following is required: name, domains'),
    ('config option next to domains', dict(domains=[{'name': 'web', 'state': 'absent'}], memory=128),
     'with domains, the options memory describe one domain: set them in the entries of domains'),
    ('same name twice', dict(domains=[{'name': 'web', 'state': 'absent'}, {'name': 'web', 'state': 'absent'}]),
     'domain web is listed twice in domains (entries 0 and 1)'),
    ('entry error names the entry', dict(domains=[{'name': 'web', 'state': 'absent'},
                                                  dict(batch_entry('mail', 1), memory=0)]),
     'domains[1] (mail): memory must be at least 1, got 0'),
    ('entry without name', dict(domains=[{'state': 'absent'}]), 'domains[0]: missing required arguments: name'),
    ('relative config_dir', dict(name='web', state='absent', config_dir='etc/xen'),
     "config_dir must be an absolute path, got 'etc/xen'"),
]


@pytest.mark.parametrize('options, message', [b[1:] for b in BAD_TASKS], ids=[b[0] for b in BAD_TASKS])
def test_bad_task_fails_before_reading(cfg_dir, options, message):
    opts = dict(options)
    opts.setdefault('config_dir', str(cfg_dir))
    result, failed, seen = run_module(xen_domain.main, opts, calls=[])
    assert failed is True
    assert message in result['msg']
    assert seen == []


def test_duplicate_mac_in_batch(cfg_dir):
    entries = [dict(batch_entry('web', 1), vifs=['mac=00:16:3e:00:00:01']),
               dict(batch_entry('mail', 2), vifs=[{'mac': '00:16:3e:00:00:01'}])]
    result, failed, seen = run_module(xen_domain.main, dict(domains=entries, config_dir=str(cfg_dir)), calls=reads())
    assert failed is True
    assert result['msg'] == 'MAC address 00:16:3e:00:00:01 is used twice: by domain web vif 0 and by domain mail vif 0'
    assert os.listdir(str(cfg_dir)) == []


def test_mac_of_another_running_domain_is_refused(cfg_dir):
    other = dom('other', 3, macs=('00:16:3e:aa:bb:cc',))
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, vifs=['mac=00:16:3E:AA:BB:CC']),
                                      calls=reads(other))
    assert failed is True
    assert result['msg'] == ('MAC address 00:16:3e:aa:bb:cc of domain news vif 0 is already used by '
                             'domain other vif 0 (running)')
    assert os.listdir(str(cfg_dir)) == []


def test_missing_config_dir(tmp_path):
    result, failed, seen = run_module(xen_domain.main, args(tmp_path / 'nope'), calls=[])
    assert failed is True
    assert result['msg'] == 'config_dir %s does not exist or is not a directory' % (tmp_path / 'nope')


def test_no_config_and_no_file_cannot_start(cfg_dir):
    result, failed, seen = run_module(xen_domain.main, dict(name='news', config_dir=str(cfg_dir)), calls=reads())
    assert failed is True
    assert result['msg'] == ('domain news has no config file %s and the task gives no configuration options (such as '
                             'memory, kernel, disks)' % (cfg_dir / 'news.cfg'))


def test_autostart_regular_file_is_refused(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    (cfg_dir / 'auto').mkdir()
    (cfg_dir / 'auto' / 'news.cfg').write_text(NEWS_CFG)
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, autostart=True), calls=reads(news()))
    assert failed is True
    assert result['msg'] == ('%s is not a symbolic link: move it away to let the module manage autostart of news'
                             % (cfg_dir / 'auto' / 'news.cfg'))


def test_unparseable_existing_file_without_options(cfg_dir):
    (cfg_dir / 'news.cfg').write_text('name = "news"\nmemory = 256 MB\n')
    result, failed, seen = run_module(xen_domain.main, dict(name='news', config_dir=str(cfg_dir)), calls=reads())
    assert failed is True
    assert result['msg'].startswith('cannot read the config of domain news from %s: line 2:' % (cfg_dir / 'news.cfg'))


def test_unparseable_existing_file_is_replaced_when_managed(cfg_dir):
    (cfg_dir / 'news.cfg').write_text('name = "news"\nmemory = 256 MB\n')
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, state='present'), calls=reads() + [validate(cfg_dir)])
    assert failed is False
    assert actions(result) == ['write_config']
    assert (cfg_dir / 'news.cfg').read_text() == NEWS_CFG


def test_file_error_while_applying_is_a_clear_failure(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG)
    (cfg_dir / 'auto').write_text('not a directory\n')
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, autostart=True, state='present'),
                                      calls=reads())
    assert failed is True
    assert result['msg'].startswith('domain news: link_autostart failed: [Errno 17] File exists:')
    assert result['failed_action'] == {'action': 'link_autostart',
                                       'description': 'link %s -> %s' % (cfg_dir / 'auto' / 'news.cfg', cfg_dir / 'news.cfg')}
    assert result['changed'] is False
    assert 'domains' not in result


# ---------------------------------------------------------------- on real output captured in the lab
# fixtures/lab: Xen 4.17 host lab1 with the PV domain news (domid 3) and the PVH domain web (domid 4),
# defined by the hand-written news.cfg and web.cfg.

lab_text = labdata.text
lab_run = labdata.run


def lab_reads(listing='xl_list.txt'):
    return [Call(LIST_LONG, out=lab_text('xl_list_l.json')), Call(LIST, out=lab_text(listing))]


def lab_validate(cfg_dir, name):
    valid = lab_run('xl_create_N_valid.json')
    tmp = str(cfg_dir / ('.%s.cfg.tmp' % name))
    return Call(['xl', '-N', 'create', tmp], out=valid['stdout'],
                err=valid['stderr'].replace('/etc/xen/news.cfg', tmp))


LAB_NEWS = dict(
    name='news', type='pv', kernel='/var/lib/xenops-lab/vmlinuz',
    ramdisk='/var/lib/xenops-lab/busybox-initramfs.cpio.gz', extra='console=hvc0 quiet',
    vcpus=2, maxvcpus=2, memory=128, maxmem=192,
    disks=[{'target': '/dev/vg_xen/news-root', 'vdev': 'xvda', 'access': 'w'}, 'phy:/dev/vg_xen/news-swap,xvdb,w'],
    vifs=['mac=00:16:3e:00:00:01,bridge=xenbr0', {'mac': '00:16:3e:20:7c:3b', 'bridge': 'xenbr0'}],
    on_poweroff='destroy', on_reboot='restart', on_crash='destroy')
LAB_WEB = dict(
    name='web', type='pvh', kernel='/var/lib/xenops-lab/vmlinux',
    ramdisk='/var/lib/xenops-lab/busybox-initramfs.cpio.gz', extra='console=hvc0 quiet', vcpus=1, memory=96,
    disks=['phy:/dev/vg_xen/web-root,xvda,w'], vifs=[{'mac': '00:16:3e:00:00:02', 'bridge': 'xenbr0'}])
LAB_NEWS_CFG = '''# Managed by Ansible (xenops.xen). Local changes will be overwritten.

name = "news"
type = "pv"
kernel = "/var/lib/xenops-lab/vmlinuz"
ramdisk = "/var/lib/xenops-lab/busybox-initramfs.cpio.gz"
extra = "console=hvc0 quiet"
memory = 128
maxmem = 192
vcpus = 2
maxvcpus = 2
disk = [
    "format=raw, vdev=xvda, access=rw, target=/dev/vg_xen/news-root",
    "format=raw, vdev=xvdb, access=rw, target=/dev/vg_xen/news-swap",
]
vif = [
    "mac=00:16:3e:00:00:01,bridge=xenbr0",
    "mac=00:16:3e:20:7c:3b,bridge=xenbr0",
]
on_poweroff = "destroy"
on_reboot = "restart"
on_crash = "destroy"
'''


@pytest.fixture
def lab_dir(cfg_dir):
    (cfg_dir / 'news.cfg').write_text(lab_text('news.cfg'))
    (cfg_dir / 'web.cfg').write_text(lab_text('web.cfg'))
    return cfg_dir


def test_lab_web_as_written_by_hand_is_no_change(lab_dir):
    result, failed, seen = run_module(xen_domain.main, dict(LAB_WEB, config_dir=str(lab_dir)), calls=lab_reads())
    assert failed is False
    assert result['changed'] is False
    assert result['restart_required'] is False
    assert result['domain']['domid'] == 4
    assert result['domain']['type'] == 'pvh'
    assert result['domain']['state'] == 'running'
    assert (lab_dir / 'web.cfg').read_text() == lab_text('web.cfg')


def test_lab_news_adoption_pins_the_random_mac_without_restart(lab_dir):
    result, failed, seen = run_module(xen_domain.main, dict(LAB_NEWS, config_dir=str(lab_dir)), diff=True,
                                      calls=lab_reads() + [lab_validate(lab_dir, 'news')])
    assert failed is False
    assert actions(result) == ['write_config']
    assert result['restart_required'] is False
    assert result['diff'][0]['before'] == lab_text('news.cfg')
    assert result['diff'][0]['after'] == LAB_NEWS_CFG
    assert (lab_dir / 'news.cfg').read_text() == LAB_NEWS_CFG


def test_lab_news_vif_without_mac_gets_the_stable_mac_and_needs_restart(lab_dir):
    vifs = ['mac=00:16:3e:00:00:01,bridge=xenbr0', 'bridge=xenbr0']
    result, failed, seen = run_module(xen_domain.main, dict(LAB_NEWS, vifs=vifs, config_dir=str(lab_dir)),
                                      calls=lab_reads() + [lab_validate(lab_dir, 'news')])
    assert failed is False
    assert actions(result) == ['write_config']
    assert result['restart_required'] is True
    assert result['restart_reasons'] == ['vif 1: mac 00:16:3e:10:1a:c6, running 00:16:3e:20:7c:3b']


def test_lab_news_memory_within_maxmem_is_ballooned(lab_dir):
    result, failed, seen = run_module(xen_domain.main, dict(LAB_NEWS, memory=160, config_dir=str(lab_dir)), calls=(
        lab_reads() + [lab_validate(lab_dir, 'news'), Call(['xl', 'mem-set', 'news', '160m'])] + lab_reads()))
    assert failed is False
    assert actions(result) == ['write_config', 'mem_set']
    assert result['actions'][1]['description'] == 'set the memory of news to 160 MiB (now 128 MiB)'


def test_lab_news_memory_above_maxmem_needs_restart(lab_dir):
    result, failed, seen = run_module(xen_domain.main, dict(LAB_NEWS, memory=256, maxmem=256, config_dir=str(lab_dir)),
                                      calls=lab_reads() + [lab_validate(lab_dir, 'news')])
    assert failed is False
    assert result['restart_reasons'] == ['maxmem 256 MiB, running 192 MiB',
                                         'memory 256 MiB is more than the running maxmem 192 MiB']


def test_lab_news_one_vcpu_offline(lab_dir):
    result, failed, seen = run_module(xen_domain.main, dict(LAB_NEWS, vcpus=1, config_dir=str(lab_dir)), calls=(
        lab_reads() + [lab_validate(lab_dir, 'news'), Call(['xl', 'vcpu-set', 'news', '1'])] + lab_reads()))
    assert failed is False
    assert actions(result) == ['write_config', 'vcpu_set']
    assert result['restart_required'] is False


def test_lab_paused_web_is_unpaused(lab_dir):
    result, failed, seen = run_module(xen_domain.main, dict(LAB_WEB, config_dir=str(lab_dir)), calls=(
        lab_reads('xl_list_paused.txt') + [Call(['xl', 'unpause', 'web'])] + lab_reads()))
    assert failed is False
    assert actions(result) == ['unpause']
    assert result['domain']['state'] == 'running'


def test_lab_batch_stop_news_remove_web(lab_dir):
    entries = [dict(LAB_NEWS, state='stopped', vifs=None), dict(name='web', state='absent')]
    entries[0] = dict((k, v) for k, v in entries[0].items() if v is not None)
    after = lab_run('xl_list.json')['stdout'].splitlines()
    result, failed, seen = run_module(xen_domain.main, dict(domains=entries, config_dir=str(lab_dir)), calls=(
        lab_reads() + [lab_validate(lab_dir, 'news'), shutdown('news'), Call(LIST, out='\n'.join(after[:2]) + '\n'),
                       shutdown('web'), Call(LIST, out='\n'.join(after[:2]) + '\n'),
                       Call(LIST_LONG, out='[\n]\n'), Call(LIST, out='\n'.join(after[:2]) + '\n')]))
    assert failed is False
    assert [actions(d) for d in result['domains']] == [['write_config', 'shutdown'], ['shutdown', 'remove_config']]
    assert [d['domain'] for d in result['domains']] == [None, None]
    assert not (lab_dir / 'web.cfg').exists()
    assert 'vif' not in (lab_dir / 'news.cfg').read_text()


def test_lab_xl_rejects_the_new_config(lab_dir):
    bad = lab_run('xl_create_N_invalid_syntax.json')
    tmp = str(lab_dir / '.web.cfg.tmp')
    err = bad['stderr'].replace('/etc/xen/bad-syntax.cfg', tmp)
    result, failed, seen = run_module(xen_domain.main, dict(LAB_WEB, extra_options={'cpus': '0-1'},
                                                            config_dir=str(lab_dir)), calls=(
        lab_reads() + [Call(['xl', '-N', 'create', tmp], rc=bad['rc'], err=err)]))
    assert failed is True
    assert result['msg'] == (
        "xl rejected the new config of domain web (%s left unchanged): Parsing config from %s\n"
        "%s:4: config parsing error near `2': syntax error, unexpected NUMBER, expecting $end\n"
        "Failed to parse config: Invalid argument" % (lab_dir / 'web.cfg', tmp, tmp))
    assert (lab_dir / 'web.cfg').read_text() == lab_text('web.cfg')
    assert not os.path.exists(tmp)


def test_lab_domain_gone_before_shutdown(lab_dir):
    missing = lab_run('xl_shutdown_missing.json')
    err = missing['stderr'].replace('nosuch', 'news')
    result, failed, seen = run_module(xen_domain.main, dict(name='news', state='stopped', config_dir=str(lab_dir)),
                                      calls=lab_reads() + [Call(['timeout', '120', 'xl', 'shutdown', '-w', 'news'],
                                                                rc=missing['rc'], err=err)])
    assert failed is True
    assert result['msg'] == ("domain news: shutdown failed: command 'timeout 120 xl shutdown -w news' failed with "
                             "rc=1: news is an invalid domain identifier (rc=-6)")


def test_lab_new_domain_with_the_mac_of_web_is_refused(lab_dir):
    mail = dict(LAB_WEB, name='mail', vifs=['mac=00:16:3e:00:00:02'])
    result, failed, seen = run_module(xen_domain.main, dict(mail, config_dir=str(lab_dir)), calls=lab_reads())
    assert failed is True
    assert result['msg'] == ('MAC address 00:16:3e:00:00:02 of domain mail vif 0 is already used by '
                             'domain web vif 0 (running)')
    assert sorted(os.listdir(str(lab_dir))) == ['news.cfg', 'web.cfg']


def test_lab_check_mode_only_reads(lab_dir):
    result, failed, seen = run_module(xen_domain.main, dict(domains=[dict(LAB_WEB, memory=64), dict(name='news', state='absent')],
                                                            config_dir=str(lab_dir)), check_mode=True, calls=lab_reads())
    assert failed is False
    assert seen == [LIST_LONG, LIST]
    assert [actions(d) for d in result['domains']] == [['write_config', 'mem_set'], ['shutdown', 'remove_config']]
    assert (lab_dir / 'news.cfg').read_text() == lab_text('news.cfg')
    assert (lab_dir / 'web.cfg').read_text() == lab_text('web.cfg')


# ---------------------------------------------------------------- input and MAC hardening

MAC_X = '00:16:3e:0a:0a:0a'


def mac_entry(name, mac, **kwargs):
    entry = dict(batch_entry(name, 0), vifs=[{'bridge': 'xenbr0', 'mac': mac}])
    entry.update(kwargs)
    return entry


def mac_dom(name, domid, mac):
    return dom(name, domid, memory=128, maxmem=128, vcpus=1, maxvcpus=1, ramdisk=None, cmdline='root=/dev/xvda ro',
               disks=(('/dev/vg/%s-root' % name, 'xvda', 1),), macs=(mac,))


def test_batch_removes_a_domain_before_another_starts_with_its_mac(cfg_dir):
    """old (removed later in the list) still runs with the MAC new gets: old goes first."""
    (cfg_dir / 'old.cfg').write_text('name = "old"\nkernel = "/boot/vmlinuz"\n')
    old = mac_dom('old', 9, MAC_X)
    entries = [mac_entry('new', MAC_X), dict(name='old', state='absent')]
    result, failed, seen = run_module(
        xen_domain.main, dict(domains=entries, config_dir=str(cfg_dir), boot_settle=0),
        calls=reads(old) + [shutdown('old'), poll(), validate(cfg_dir, 'new'), create(cfg_dir, 'new')]
        + reads(mac_dom('new', 10, MAC_X)))
    assert failed is False, result['msg']
    assert [d['name'] for d in result['domains']] == ['new', 'old']
    assert [actions(d) for d in result['domains']] == [['write_config', 'create'], ['shutdown', 'remove_config']]


@pytest.mark.parametrize('check_mode', [False, True])
def test_mac_of_a_domain_waiting_for_restart_is_not_handed_out(cfg_dir, check_mode):
    """a runs with MAC_X and is configured with another MAC (restart: never): b must not start with MAC_X."""
    a = mac_dom('a', 3, MAC_X)
    (cfg_dir / 'a.cfg').write_text(_xlcfg.render(_domain_spec.build_config('a', mac_entry('a', MAC_X))))
    entries = [mac_entry('b', MAC_X), mac_entry('a', '00:16:3e:0b:0b:0b')]
    result, failed, seen = run_module(xen_domain.main, dict(domains=entries, config_dir=str(cfg_dir)),
                                      calls=reads(a), check_mode=check_mode)
    assert failed is True
    assert result['msg'] == ('MAC address %s of domain b vif 0 is still used by domain a vif 0 when b starts: a keeps '
                             'its running MACs until it is restarted; set restart: if_needed on a and list it before b, '
                             'or restart it first (or give b another MAC)' % MAC_X)
    assert seen == [LIST_LONG, LIST]
    assert sorted(os.listdir(str(cfg_dir))) == ['a.cfg']


def test_mac_of_a_domain_restarted_later_in_the_batch(cfg_dir):
    a = mac_dom('a', 3, MAC_X)
    (cfg_dir / 'a.cfg').write_text(_xlcfg.render(_domain_spec.build_config('a', mac_entry('a', MAC_X))))
    entries = [mac_entry('b', MAC_X), mac_entry('a', '00:16:3e:0b:0b:0b', restart='if_needed')]
    result, failed, seen = run_module(xen_domain.main, dict(domains=entries, config_dir=str(cfg_dir)), calls=reads(a))
    assert failed is True
    assert result['msg'].endswith('when b starts: a is restarted with its new MACs later in the task; list a before b in '
                                  'domains (or give b another MAC)')
    assert seen == [LIST_LONG, LIST]


def test_mac_freed_by_a_restart_earlier_in_the_batch(cfg_dir):
    """a restarts (if_needed) with a new MAC before b starts with a's old one: allowed."""
    a = mac_dom('a', 3, MAC_X)
    (cfg_dir / 'a.cfg').write_text(_xlcfg.render(_domain_spec.build_config('a', mac_entry('a', MAC_X))))
    entries = [mac_entry('a', '00:16:3e:0b:0b:0b', restart='if_needed'), mac_entry('b', MAC_X)]
    result, failed, seen = run_module(xen_domain.main, dict(domains=entries, config_dir=str(cfg_dir), boot_settle=0),
                                      calls=reads(a), check_mode=True)
    assert failed is False, result['msg']
    assert [actions(d) for d in result['domains']] == [['write_config', 'restart'], ['write_config', 'create']]


@pytest.mark.parametrize('check_mode', [False, True])
@pytest.mark.parametrize('option', ['vifs', 'disks'])
def test_string_where_a_list_is_meant(cfg_dir, option, check_mode):
    """Ansible would split 'bridge=xenbr0,mac=...' at its commas into two vifs."""
    value = 'bridge=xenbr0,mac=00:16:3e:00:00:01' if option == 'vifs' else 'format=raw, vdev=xvda, target=/dev/vg/x'
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, **{option: value}), check_mode=check_mode)
    assert failed is True
    assert result['msg'] == '%s must be a list, also for one entry; got the string %r (write %s: [%r])' % (
        option, value, option, value)
    assert seen == [] and os.listdir(str(cfg_dir)) == []


@pytest.mark.parametrize('check_mode', [False, True])
def test_long_domain_name_refused_up_front(cfg_dir, check_mode):
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, name='n' * 300), check_mode=check_mode)
    assert failed is True
    assert 'is 300 characters long; at most 64 are allowed' in result['msg']
    assert seen == [] and os.listdir(str(cfg_dir)) == []


@pytest.mark.parametrize('check_mode', [False, True])
def test_empty_batch_is_a_noop(cfg_dir, check_mode):
    result, failed, seen = run_module(xen_domain.main, dict(domains=[], config_dir=str(cfg_dir)), check_mode=check_mode,
                                      diff=True)
    assert failed is False
    assert result == {'changed': False, 'domains': [], 'diff': []}
    assert seen == []


@pytest.mark.parametrize('mac, message', [
    ('00:00:00:00:00:00', 'is all zeros, which libxl replaces with a random MAC at each start'),
    ('ff:ff:ff:ff:ff:ff', 'is the broadcast address'),
    ('01:00:5e:00:00:01', 'is a multicast address'),
])
def test_unusable_macs_refused(cfg_dir, mac, message):
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, vifs=[{'bridge': 'xenbr0', 'mac': mac}]))
    assert failed is True
    assert message in result['msg']
    assert seen == []


@pytest.mark.parametrize('bridge', ['br 0', 'br;reboot', 'br/0', 'x' * 16, '..', 'br$(id)'])
@pytest.mark.parametrize('form', ['dict', 'spec'])
def test_bad_bridge_names_refused(cfg_dir, bridge, form):
    vif = {'bridge': bridge} if form == 'dict' else 'bridge=%s' % bridge
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, vifs=[vif]))
    assert failed is True
    assert 'bridge %r' % bridge in result['msg']
    assert seen == []


@pytest.mark.parametrize('vdev', ['xvda0', 'hde', 'd0', 'sdq', 'xvda256', 'hda64', 'sda16'])
def test_vdevs_libxl_refuses_are_refused(cfg_dir, vdev):
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, disks=['/dev/vg/x,raw,%s,rw' % vdev]))
    assert failed is True
    assert "vdev %r" % vdev in result['msg']
    assert seen == []


def test_same_device_under_two_vdev_names_refused(cfg_dir):
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, disks=['/dev/vg/a,raw,xvda,rw', '/dev/vg/b,raw,d0p0,rw']))
    assert failed is True
    assert result['msg'] == 'domain news: disks 0 and 1 both use vdev d0p0 (the same device as xvda)'
    assert seen == []


def test_relative_disk_target_written_as_dev_path(cfg_dir):
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, state='present', disks=['phy:vg/news-root,sda1,w']),
                                      calls=reads() + [validate(cfg_dir)])
    assert failed is False
    assert '"format=raw, vdev=sda1, access=rw, target=/dev/vg/news-root",' in (cfg_dir / 'news.cfg').read_text()


@pytest.mark.parametrize('entry, message', [
    (dict(name='web', memroy=128), 'domains[0] (web): unknown option memroy. Supported parameters include: autostart,'),
    (dict(name='web', memory='lots'), "domains[0] (web): argument 'memory' is of type str and we were unable to convert "
                                      "to int"),
    (dict(name='web', state='gone'), 'domains[0] (web): value of state must be one of: present, running, stopped, '
                                     'paused, absent, got: gone'),
    (dict(name='web', cmdline='x', root='/dev/xvda'), 'domains[0] (web): parameters are mutually exclusive: cmdline|root'),
])
def test_domain_entries_are_checked_like_options(cfg_dir, entry, message):
    result, failed, seen = run_module(xen_domain.main, dict(domains=[entry], config_dir=str(cfg_dir)))
    assert failed is True
    assert message in result['msg']
    assert seen == []


def test_domain_entry_values_are_converted(cfg_dir):
    entry = dict(batch_entry('web', 0), memory='128', state='present')
    result, failed, seen = run_module(xen_domain.main, dict(domains=[entry], config_dir=str(cfg_dir)), check_mode=True,
                                      calls=reads())
    assert failed is False, result['msg']
    assert [actions(d) for d in result['domains']] == [['write_config']]


def test_host_without_xl_is_told_to_install_xen(cfg_dir):
    class NoXl(object):
        def find(self, program):
            return None

    class Toolstack(object):
        runner = NoXl()

        def state(self):
            raise AssertionError('nothing may be read without xl')

    manager = _domain_apply.DomainManager(Toolstack(), atomic_move=None)
    with pytest.raises(_domain_spec.DomainError) as exc:
        manager.run(args(cfg_dir))
    assert str(exc.value) == ('xl (the Xen toolstack) is not installed on this host: make it a Xen host first, for '
                              'example with the role xenops.xen.hypervisor')


def test_hand_written_relative_target_is_rewritten_without_a_restart(cfg_dir):
    """xl create opens a relative phy: target from its working directory (only /dev works): the file gets /dev paths.

    The running domain (made from /dev) has the same device, so it needs no restart.
    """
    (cfg_dir / 'news.cfg').write_text(NEWS_CFG.replace('target=/dev/vg/news-root', 'target=vg/news-root'))
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir), diff=True,
                                      calls=reads(news()) + [validate(cfg_dir)])
    assert failed is False, result['msg']
    assert actions(result) == ['write_config']
    assert result['restart_required'] is False
    assert (cfg_dir / 'news.cfg').read_text() == NEWS_CFG


# ---------------------------------------------------------------- driver domains

def driver_entries():
    """A client listed before the driver domain that serves its vif."""
    client = dict(batch_entry('db', 1), vifs=[{'backend': 'router', 'bridge': 'lan0'}])
    router = dict(batch_entry('router', 2), driver_domain=True)
    return [client, router]


def ready_key(domid):
    return ['xenstore-read', '/local/domain/%d/data/xenops-backend' % domid]


def hotplug_key(backend_domid, domid, devid):
    return ['xenstore-read', '/local/domain/%d/backend/vif/%d/%d/hotplug-status' % (backend_domid, domid, devid)]


def test_driver_domain_config_and_order_then_client_waits_for_its_backends(cfg_dir, clock):
    router = dom('router', 7, macs=(_names.stable_mac('router', 0),))
    db = dom('db', 8, macs=(_names.stable_mac('db', 0),))
    result, failed, seen = run_module(
        xen_domain.main, dict(domains=driver_entries(), config_dir=str(cfg_dir), boot_settle=0),
        calls=reads() + [validate(cfg_dir, 'router'), create(cfg_dir, 'router'), validate(cfg_dir, 'db'),
                         # not ready yet, then ready: the client starts only then
                         poll(router), Call(ready_key(7), rc=1, err='xenstore-read: couldn\'t read path\n'),
                         poll(router), Call(ready_key(7), out='ready\n'),
                         create(cfg_dir, 'db'),
                         # the hotplug script in router connected db's vif
                         poll(router, db), Call(hotplug_key(7, 8, 0), out='connected\n')] + reads(router, db))
    assert failed is False, result
    assert [d['name'] for d in result['domains']] == ['db', 'router']
    assert 'driver_domain = 1\n' in (cfg_dir / 'router.cfg').read_text()
    assert 'driver_domain' not in (cfg_dir / 'db.cfg').read_text()
    assert '"mac=%s,bridge=lan0,backend=router",' % _names.stable_mac('db', 0) in (cfg_dir / 'db.cfg').read_text()
    assert clock.slept == [1.0]


def test_client_of_a_driver_domain_that_is_not_running_fails_with_its_console_log(cfg_dir, log_dir):
    (log_dir / 'console' / 'guest-router.log').write_text('Kernel panic - not syncing: Attempted to kill init!\n')
    entries = [dict(batch_entry('db', 1), vifs=[{'backend': 'router', 'bridge': 'lan0'}])]
    result, failed, seen = run_module(
        xen_domain.main, dict(domains=entries, config_dir=str(cfg_dir), boot_settle=0),
        calls=reads() + [validate(cfg_dir, 'db'), poll()])
    assert failed is True
    assert result['msg'].startswith('domain db was not started: its driver domain router is not ready: it is not '
                                    'running\n\nlast lines of %s:\nKernel panic' % (log_dir / 'console' / 'guest-router.log'))
    assert result['console_log'] == 'Kernel panic - not syncing: Attempted to kill init!'
    assert result['failed_action']['action'] == 'create'
    assert ['xl', 'create', str(cfg_dir / 'db.cfg')] not in seen


def test_client_gives_up_after_backend_timeout(cfg_dir, clock):
    router = dom('router', 7, macs=(_names.stable_mac('router', 0),))
    entries = [dict(batch_entry('db', 1), vifs=[{'backend': 'router', 'bridge': 'lan0'}], backend_timeout=2)]
    result, failed, seen = run_module(
        xen_domain.main, dict(domains=entries, config_dir=str(cfg_dir), boot_settle=0),
        calls=reads(router) + [validate(cfg_dir, 'db')] + [poll(router), Call(ready_key(7), rc=1)] * 3)
    assert failed is True
    assert result['msg'] == ('domain db was not started: its driver domain router is not ready: it runs, but did not '
                             'say it serves its backends (data/xenops-backend in its xenstore home) within 2 seconds '
                             '(backend_timeout)')
    assert clock.slept == [1.0, 1.0]
    assert ['xl', 'create', str(cfg_dir / 'db.cfg')] not in seen


def client_with_two_vifs():
    """db: vif 0 on dom0's xenbr0, vif 1 served by router (running as domid 7); db runs as domid 8 once created."""
    router = dom('router', 7, macs=(_names.stable_mac('router', 0),))
    db = dom('db', 8, macs=(_names.stable_mac('db', 0), _names.stable_mac('db', 1)))
    entries = [dict(batch_entry('db', 1), vifs=[{'bridge': 'xenbr0'}, {'backend': 'router', 'bridge': 'lan0'}])]
    return router, db, entries


def db_created(cfg_dir, router):
    """The commands up to db's ``xl create``, once router says it serves its backends."""
    return reads(router) + [validate(cfg_dir, 'db'), poll(router), Call(ready_key(7), out='ready\n'),
                            create(cfg_dir, 'db')]


def vif1_status(router, db, status):
    """One look at the hotplug status of db's vif 1 in router."""
    return [poll(router, db), Call(hotplug_key(7, 8, 1), out=status)]


# db's vif 1 detached, and attached again with its own spec
DETACH_VIF1 = ['xl', 'network-detach', 'db', '1']
ATTACH_VIF1 = ['xl', 'network-attach', 'db', 'devid=1', 'mac=%s' % _names.stable_mac('db', 1), 'bridge=lan0',
               'backend=router']


def test_a_vif_whose_hotplug_libxl_killed_is_attached_again(cfg_dir, clock):
    router, db, entries = client_with_two_vifs()
    result, failed, seen = run_module(
        xen_domain.main, dict(domains=entries, config_dir=str(cfg_dir), boot_settle=0),
        calls=db_created(cfg_dir, router)
        # never connected within 60 s: only vif 1 (router's) is asked for and attached again, with its own spec
        + vif1_status(router, db, '\n') * 61
        + [Call(DETACH_VIF1), Call(ATTACH_VIF1)] + vif1_status(router, db, 'connected\n') + reads(router, db))
    assert failed is False, result
    assert clock.slept == [1.0] * 60
    assert not any(argv[:2] == ['xl', 'network-detach'] and argv[3] == '0' for argv in seen)


def test_a_vif_that_stays_unconnected_fails_the_task_after_three_attachments(cfg_dir, clock):
    router, db, entries = client_with_two_vifs()
    waiting = vif1_status(router, db, 'error\n')
    result, failed, seen = run_module(
        xen_domain.main, dict(domains=entries, config_dir=str(cfg_dir), boot_settle=0),
        calls=db_created(cfg_dir, router) + (waiting * 61 + [Call(DETACH_VIF1), Call(ATTACH_VIF1)]) * 3 + waiting * 61)
    assert failed is True
    assert result['msg'] == ('domain db runs, but the hotplug scripts in its driver domain did not connect its vif(s) '
                             '1 (router) after 3 new attachments; see the driver domain\'s journal')
    assert result['failed_action']['action'] == 'create'
    assert len([argv for argv in seen if argv[:2] == ['xl', 'network-attach']]) == 3


def test_backend_timeout_zero_only_checks_that_the_driver_domain_runs(cfg_dir):
    router = dom('router', 7, macs=(_names.stable_mac('router', 0),))
    db = dom('db', 8, macs=(_names.stable_mac('db', 0),))
    entries = [dict(batch_entry('db', 1), vifs=[{'backend': 'router', 'bridge': 'lan0'}])]
    result, failed, seen = run_module(
        xen_domain.main, dict(domains=entries, config_dir=str(cfg_dir), boot_settle=0, backend_timeout=0),
        calls=reads(router) + [validate(cfg_dir, 'db'), poll(router), create(cfg_dir, 'db')] + reads(router, db))
    assert failed is False, result
    assert not any(argv[0] == 'xenstore-read' for argv in seen)


def test_driver_domains_in_check_mode_run_only_the_reads(cfg_dir):
    result, failed, seen = run_module(
        xen_domain.main, dict(domains=driver_entries(), config_dir=str(cfg_dir)), check_mode=True, calls=reads())
    assert failed is False
    assert seen == [LIST_LONG, LIST]
    assert [actions(d) for d in result['domains']] == [['write_config', 'create'], ['write_config', 'create']]


@pytest.mark.parametrize('entries, message, read', [
    ([dict(batch_entry('a', 1), vifs=[{'backend': 'b'}]), dict(batch_entry('b', 2), vifs=[{'backend': 'a'}])],
     'the backends of domains a, b name each other in a circle', True),
    ([dict(batch_entry('a', 1), vifs=[{'backend': 'a'}])], 'domain a cannot be the backend of its own devices', False),
    ([dict(batch_entry('a', 1), backend_timeout=-1)], 'backend_timeout must be 0 or more seconds, got -1', False),
])
def test_bad_backends_are_refused_before_any_change(cfg_dir, entries, message, read):
    result, failed, seen = run_module(xen_domain.main, dict(domains=entries, config_dir=str(cfg_dir)),
                                      calls=reads() if read else ())
    assert failed is True
    assert message in result['msg']
    assert seen == ([LIST_LONG, LIST] if read else [])
    assert os.listdir(str(cfg_dir)) == []


def test_a_dom0_backend_is_nothing_to_wait_for():
    desired = _domain_spec.desired_domain(dict(batch_entry('a', 1), vifs=[{'backend': 'Domain-0'}, {'backend': '0'}],
                                               disks=[{'target': '/dev/vg/a-root', 'vdev': 'xvda',
                                                       'backend': 'store'}]), '/etc/xen')
    assert desired.backends == ['store']


def test_a_detach_that_times_out_is_tried_again_before_the_attach(cfg_dir, clock):
    """A slow driver domain: the first detach times out in libxl, the second cleans up, then the attach."""
    router, db, entries = client_with_two_vifs()
    result, failed, seen = run_module(
        xen_domain.main, dict(domains=entries, config_dir=str(cfg_dir), boot_settle=0),
        calls=db_created(cfg_dir, router) + vif1_status(router, db, '\n') * 61
        + [Call(DETACH_VIF1, rc=1, err='libxl: error: Unable to remove vif with id 1\n'), Call(DETACH_VIF1),
           Call(ATTACH_VIF1)] + vif1_status(router, db, 'connected\n') + reads(router, db))
    assert failed is False, result
    assert clock.slept == [1.0] * 60 + [5]
    assert seen.count(DETACH_VIF1) == 2 and seen.count(ATTACH_VIF1) == 1


def test_a_failed_detach_or_attach_counts_as_an_attempt_and_its_error_is_reported(cfg_dir, clock):
    router, db, entries = client_with_two_vifs()
    waiting = vif1_status(router, db, '\n')
    # attempt 1: the attach fails; attempts 2 and 3: the detach fails three times (no attach then)
    first = [Call(DETACH_VIF1), Call(ATTACH_VIF1, rc=1, err='libxl: error: device already exists\n')]
    later = [Call(DETACH_VIF1, rc=1, err='libxl: error: Unable to remove vif with id 1\n')] * 3
    result, failed, seen = run_module(
        xen_domain.main, dict(domains=entries, config_dir=str(cfg_dir), boot_settle=0),
        calls=db_created(cfg_dir, router) + waiting * 61 + first + (waiting * 61 + later) * 2 + waiting * 61)
    assert failed is True
    assert result['msg'] == ('domain db runs, but the hotplug scripts in its driver domain did not connect its vif(s) '
                             '1 (router) after 3 new attachments; see the driver domain\'s journal\n'
                             "command 'xl network-detach db 1' failed with rc=1: libxl: error: Unable to remove vif "
                             'with id 1')
    assert seen.count(DETACH_VIF1) == 7 and seen.count(ATTACH_VIF1) == 1
    assert clock.slept.count(5) == 4


# ---------------------------------------------------------------- the PV shim

def shim_args(cfg_dir, shim, **kwargs):
    return args(cfg_dir, type='pvh', pvshim=True, extra_options={'pvshim_path': str(shim)}, **kwargs)


def test_a_shim_domain_gets_pvshim_in_its_config_and_starts(cfg_dir, tmp_path):
    shim = tmp_path / 'xen-shim'
    shim.write_text('ELF')
    running = news(dtype='pvh')
    result, failed, seen = run_module(xen_domain.main, shim_args(cfg_dir, shim), calls=(
        reads() + [validate(cfg_dir), create(cfg_dir), poll(running)] + reads(running)))
    assert failed is False, result.get('msg')
    cfg = _xlcfg.parse((cfg_dir / 'news.cfg').read_text())
    assert (cfg['type'], cfg['pvshim'], cfg['pvshim_path'], cfg['kernel']) == ('pvh', 1, str(shim), '/boot/vmlinuz')
    assert actions(result) == ['write_config', 'create']


def test_a_shim_domain_where_the_host_has_no_shim_is_refused_before_any_command(cfg_dir, tmp_path):
    shim = tmp_path / 'no-such-shim'
    result, failed, seen = run_module(xen_domain.main, shim_args(cfg_dir, shim), calls=[])
    assert failed is True
    assert seen == []
    assert result['msg'] == (
        "domain news: pvshim needs the PV shim of Xen, and this host has none (looked for %s); install the Xen packages "
        "of the host's Debian, which ship it, or set pvshim_path in extra_options" % shim)
    assert not (cfg_dir / 'news.cfg').exists()


def test_the_shim_is_looked_for_where_the_running_xen_keeps_it(tmp_path):
    sys_hv = tmp_path / 'hypervisor'
    (sys_hv / 'version').mkdir(parents=True)
    (sys_hv / 'version' / 'major').write_text('4\n')
    (sys_hv / 'version' / 'minor').write_text('20\n')
    manager = _domain_apply.DomainManager(None, atomic_move=None, hypervisor_dir=str(sys_hv))
    assert manager.xen_version() == '4.20'
    assert _domain_spec.pvshim_paths({'pvshim': 1}, manager.xen_version()) == [
        '/usr/lib/xen-4.20/boot/xen-shim', '/usr/lib/xen/boot/xen-shim']
    desired = _domain_spec.desired_domains(dict(NEWS_OPTIONS, type='pvh', pvshim=True, config_dir=str(tmp_path)))
    with pytest.raises(_domain_spec.DomainError) as exc:
        manager.check_shims(desired)
    assert 'pvshim needs the PV shim of Xen 4.20' in exc.value.msg
    assert _domain_apply.DomainManager(None, None, hypervisor_dir=str(tmp_path / 'none')).xen_version() is None


@pytest.mark.parametrize('options, message', [
    (dict(pvshim=True), 'pvshim needs type pvh (the shim is a PVH container that runs the PV kernel), got type pv'),
    (dict(type='hvm', pvshim=True, kernel=None, ramdisk=None, root=None),
     'pvshim needs type pvh (the shim is a PVH container that runs the PV kernel), got type hvm'),
    (dict(type='pvh', pvshim=True, kernel=None, ramdisk=None), 'pvshim needs kernel: the PV kernel the shim boots'),
])
def test_pvshim_without_pvh_or_a_kernel_is_refused(cfg_dir, options, message):
    result, failed, seen = run_module(xen_domain.main, args(cfg_dir, **options), calls=[])
    assert failed is True
    assert result['msg'] == message
    assert seen == []
