# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""_placement: pins, stability, anti-affinity, drains, infeasible fleets."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.xenops.xen.plugins.filter.fleet import fleet_placement
from ansible_collections.xenops.xen.plugins.module_utils._placement import PlacementError, place


def dom(name, memory, **kwargs):
    return dict(kwargs, name=name, memory=memory)


def hosts(**free):
    """host -> free MiB, or (free MiB, [running domains])."""
    return dict((h, {'free_mib': v[0], 'domains': v[1]} if isinstance(v, tuple) else {'free_mib': v, 'domains': []})
                for h, v in free.items())


def test_largest_first_onto_the_host_with_most_left():
    p = place([dom('a', 256), dom('b', 512), dom('c', 256)], hosts(lab1=1024, lab2=768))
    assert p.hosts == {'b': 'lab1', 'a': 'lab2', 'c': 'lab1'}
    assert p.left == {'lab1': 256, 'lab2': 512}
    assert p.moves == []


def test_running_domains_stay_where_they_are():
    # web runs on lab2 although lab1 has more room: no move without a reason
    p = place([dom('web', 256), dom('db', 256)], hosts(lab1=2000, lab2=(100, ['web'])))
    assert p.hosts == {'web': 'lab2', 'db': 'lab1'}
    assert p.moves == []


def test_placement_is_stable_when_run_again_on_its_own_result():
    domains = [dom('a', 300), dom('b', 300), dom('c', 200, avoid=['a'])]
    first = place(domains, hosts(lab1=700, lab2=700))
    now = dict((h, {'free_mib': first.left[h], 'domains': [n for n, x in first.hosts.items() if x == h]})
               for h in ('lab1', 'lab2'))
    again = place(domains, now)
    assert again.hosts == first.hosts and again.moves == []


def test_pin_wins_over_stability():
    p = place([dom('web', 256, host='lab1')], hosts(lab1=512, lab2=(0, ['web'])))
    assert p.hosts == {'web': 'lab1'}
    assert p.moves == [('web', 'lab2', 'lab1')]


def test_anti_affinity_keeps_a_redundant_pair_apart_in_both_directions():
    p = place([dom('dns1', 128), dom('dns2', 128, avoid=['dns1'])], hosts(lab1=4096, lab2=512))
    assert p.hosts['dns1'] != p.hosts['dns2']
    p = place([dom('dns1', 128, avoid=['dns2']), dom('dns2', 128)], hosts(lab1=4096, lab2=512))
    assert p.hosts['dns1'] != p.hosts['dns2']


def test_drain_moves_every_domain_off_the_host():
    p = place([dom('web', 256), dom('mail', 192)], hosts(lab1=(100, ['web', 'mail']), lab2=600), drain=['lab1'])
    assert p.hosts == {'web': 'lab2', 'mail': 'lab2'}
    assert sorted(p.moves) == [('mail', 'lab1', 'lab2'), ('web', 'lab1', 'lab2')]
    assert p.left == {'lab2': 152}


def test_overfull_host_moves_what_no_longer_fits():
    # web grew from 256 to 900 MiB in the inventory: lab1 can give it 300 free + its 256 + db's 200
    p = place([dom('web', 900), dom('db', 200)], hosts(lab1=(300, {'web': 256, 'db': 200}), lab2=1000))
    assert p.hosts == {'web': 'lab2', 'db': 'lab1'}
    assert p.moves == [('web', 'lab1', 'lab2')]


def test_reserve_is_left_free():
    with pytest.raises(PlacementError) as exc:
        place([dom('a', 512)], hosts(lab1=600), reserve_mib=128)
    assert 'lab1 has 472 MiB left (40 MiB short)' in str(exc.value)


def test_infeasible_fleet_names_the_shortfall_per_host():
    with pytest.raises(PlacementError) as exc:
        place([dom('big', 1024), dom('a', 512), dom('b', 512, avoid=['a'])], hosts(lab1=700, lab2=400))
    assert str(exc.value) == (
        'the fleet cannot hold its domains, nothing was changed: domain big (1024 MiB) fits on no host: '
        'lab1 has 700 MiB left (324 MiB short), lab2 has 400 MiB left (624 MiB short); domain b (512 MiB) fits on '
        'no host: lab1 runs a, which it avoids, lab2 has 400 MiB left (112 MiB short)')


def test_pinned_domain_that_does_not_fit():
    with pytest.raises(PlacementError) as exc:
        place([dom('web', 512, host='lab2')], hosts(lab1=4096, lab2=256))
    assert str(exc.value) == 'domain web (512 MiB) fits on no host: lab2 has 256 MiB left (256 MiB short)'


@pytest.mark.parametrize('domains, drain, message', [
    ([dom('web', 256, host='lab9')], [], 'domain web is pinned to lab9, which is not a host of the fleet (lab1, lab2)'),
    ([dom('web', 256, host='lab1')], ['lab1'], 'domain web is pinned to lab1, which is being drained'),
    ([dom('web', 256, avoid=['nope'])], [], 'domain web avoids nope, which are not domains of the fleet'),
    ([dom('web', 256), dom('web', 128)], [], 'domain web is listed twice in the fleet'),
    ([dom('web', '256')], [], "domain web: memory must be a whole number of MiB, got '256'"),
    ([dom('12', 256)], [], 'a name of only digits'),
    ([dom('web', 256)], ['lab7'], 'cannot drain lab7: not a host of the fleet'),
])
def test_bad_input(domains, drain, message):
    with pytest.raises(PlacementError) as exc:
        place(domains, hosts(lab1=1024, lab2=1024), drain=drain)
    assert message in str(exc.value)


def test_filter_returns_a_dict_and_fails_as_a_filter():
    out = fleet_placement([dom('web', 256)], hosts(lab1=(0, ['web']), lab2=512), drain=['lab1'])
    assert out == {'hosts': {'web': 'lab2'}, 'moves': [{'name': 'web', 'from': 'lab1', 'to': 'lab2'}],
                   'free_mib': {'lab2': 256}}
    with pytest.raises(AnsibleFilterError, match='fits on no host'):
        fleet_placement([dom('web', 4096)], hosts(lab1=512))


@pytest.mark.parametrize('domains, fleet_hosts, kwargs, message', [
    (['web'], hosts(lab1=512), {}, "domains[0] must be a mapping, got a string 'web'"),
    ('web', hosts(lab1=512), {}, "domains must be a list, also for one entry; got the string 'web'"),
    ([dom('web', 64)], {'lab1': None}, {}, 'hosts.lab1 must be a mapping, got null'),
    ([dom('web', 64)], ['lab1'], {}, 'hosts (host name -> {free_mib, domains}) must be a mapping, got a list'),
    ([dom('web', 64)], {'lab1': {'free_mib': 'much'}}, {}, "hosts.lab1.free_mib must be a whole number, got 'much'"),
    ([dom('web', 64)], hosts(lab1=512), {'reserve_mib': 'some'}, "reserve_mib must be a whole number of at least 0, got 'some'"),
    ([dom('web', 64)], hosts(lab1=512, lab2=512), {'drain': 'lab1'},
     "drain must be a list, also for one entry; got the string 'lab1' (write [lab1])"),
    ([dom('web', 64, avoid='db'), dom('db', 64)], hosts(lab1=512), {},
     "domain web: avoid must be a list, also for one entry; got the string 'db' (write [db])"),
])
def test_input_of_the_wrong_shape_is_named(domains, fleet_hosts, kwargs, message):
    with pytest.raises(PlacementError) as exc:
        place(domains, fleet_hosts, **kwargs)
    assert message in str(exc.value)
    with pytest.raises(AnsibleFilterError) as exc:
        fleet_placement(domains, fleet_hosts, **kwargs)
    assert message in str(exc.value)
