# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which root disks still need an OS (``_os_marks``), and the filter the domains role calls it through."""

from __future__ import annotations

import json
import os

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.xenops.xen.plugins.filter.domains import FilterModule
from ansible_collections.xenops.xen.plugins.module_utils._lvm import LvmParseError
from ansible_collections.xenops.xen.plugins.module_utils._os_marks import os_install_roots


def lvs(*rows):
    """``lvs --reportformat json --options lv_path,lv_tags,lv_attr`` output with these (path, tags, attr) rows."""
    return json.dumps({'report': [{'lv': [{'lv_path': p, 'lv_tags': t, 'lv_attr': a} for p, t, a in rows]}]}, indent=2)


def lvm_root(name):
    device = '/dev/vg_xen/%s-root' % name
    return {'name': name, 'kind': 'lvm', 'device': device, 'marker': device}


def file_root(name):
    device = '/srv/xen/%s-root.img' % name
    return {'name': name, 'kind': 'file', 'device': device, 'marker': device + '.xenops-os'}


ROOTS = [lvm_root('new'), lvm_root('done'), lvm_root('busy'), file_root('img'), file_root('imgdone'),
         file_root('imgloop')]
LVS = lvs(('/dev/vg_xen/new-root', '', '-wi-a-----'),
          ('/dev/vg_xen/done-root', 'xenops_os=bookworm', '-wi-ao----'),
          ('/dev/vg_xen/busy-root', 'backup,owner=ops', '-wi-ao----'),
          ('/dev/vg_xen/other', 'xenops_os=bookworm', '-wi-a-----'))
FOUND = ['/srv/xen/img-root.img', '/srv/xen/imgdone-root.img', '/srv/xen/imgdone-root.img.xenops-os',
         '/srv/xen/imgloop-root.img']


def names(roots):
    return [root['name'] for root in roots]


def test_marks_tags_and_stamps_and_what_is_in_use():
    result = os_install_roots(ROOTS, LVS, FOUND, ['/srv/xen/imgloop-root.img\n', '  /var/lib/other.img', ''])
    assert names(result['unmarked']) == ['new', 'busy', 'img', 'imgloop']
    assert names(result['pending']) == ['new', 'img']
    assert result['busy'] == ['/dev/vg_xen/busy-root', '/srv/xen/imgloop-root.img']


def test_before_the_loop_devices_are_read_only_open_volumes_are_busy():
    result = os_install_roots(ROOTS, LVS, FOUND)
    assert names(result['pending']) == ['new', 'img', 'imgloop']
    assert result['busy'] == ['/dev/vg_xen/busy-root']


@pytest.mark.parametrize('tags, marked', [
    ('xenops_os=bookworm', True),
    ('a,xenops_os=trixie,b', True),
    ('xenops_os', False),          # a tag of that name without a value is no mark
    ('xenops_osx=bookworm', False),
    ('old_xenops_os=bookworm', False),
    ('', False),
])
def test_only_a_xenops_os_tag_with_a_value_marks_a_volume(tags, marked):
    result = os_install_roots([lvm_root('new')], lvs(('/dev/vg_xen/new-root', tags, '-wi-a-----')))
    assert (result['unmarked'] == []) is marked


def test_a_stamp_without_its_image_is_no_mark():
    # image.yml removes the stale stamp of an image it creates; until then a stamp alone says nothing
    result = os_install_roots([file_root('img')], '', ['/srv/xen/img-root.img.xenops-os'])
    assert names(result['pending']) == ['img']


def test_without_lvm_roots_lvs_is_not_read():
    result = os_install_roots([file_root('img')], '', ['/srv/xen/img-root.img'], [])
    assert names(result['pending']) == ['img'] and result['busy'] == []


def test_lvs_output_that_is_not_its_report_is_an_error():
    with pytest.raises(LvmParseError, match='lvs printed output that is not JSON'):
        os_install_roots(ROOTS, 'WARNING: locking failed\n')
    with pytest.raises(AnsibleFilterError, match='lvs output has no "report" list'):
        FilterModule().filters()['os_install_roots'](ROOTS, '{"lvs": []}')


def fixture(name):
    with open(os.path.join(os.path.dirname(__file__), 'fixtures', 'os_marks', name)) as fh:
        return fh.read()


def test_lab_output_during_an_install_and_after_the_converge():
    roots = [lvm_root('client'), lvm_root('dd')]
    installing = os_install_roots(roots, fixture('lvs_installing.json'))
    assert names(installing['unmarked']) == ['client', 'dd']
    # the volume being installed into is mounted: in use, left alone by a second run at that moment
    assert installing['busy'] == ['/dev/vg_xen/client-root']
    assert names(installing['pending']) == ['dd']
    converged = os_install_roots(roots, fixture('lvs_converged.json'))
    assert converged == {'unmarked': [], 'pending': [], 'busy': []}
