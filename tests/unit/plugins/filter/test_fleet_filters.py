# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.xenops.xen.plugins.filter.fleet import domain_addresses, fleet_check, FilterModule


def names_ips(domains):
    return [(d['name'], d['ip'], d['prefix']) for d in domains]


def test_index_method_skips_network_reserved_and_taken():
    doms = [{'name': 'news'}, {'name': 'web', 'ip': '192.0.2.3'}, {'name': 'mail'}, {'name': 'dns'}]
    out = domain_addresses(doms, '192.0.2.0/24', reserved=['192.0.2.1', '192.0.2.4-192.0.2.5'])
    assert names_ips(out) == [
        ('news', '192.0.2.2', 24),
        ('web', '192.0.2.3', 24),
        ('mail', '192.0.2.6', 24),
        ('dns', '192.0.2.7', 24),
    ]


def test_input_is_not_modified():
    doms = [{'name': 'news'}]
    domain_addresses(doms, '192.0.2.0/29')
    assert doms == [{'name': 'news'}]


def test_name_method_is_stable_when_other_domains_change():
    a = domain_addresses([{'name': 'news'}, {'name': 'web'}], '10.20.0.0/16', method='name')
    b = domain_addresses([{'name': 'web'}], '10.20.0.0/16', method='name')
    c = domain_addresses([{'name': 'mail'}, {'name': 'web'}, {'name': 'news'}], '10.20.0.0/16', method='name')
    web = {d['name']: d['ip'] for d in a}['web']
    assert {d['name']: d['ip'] for d in b}['web'] == web
    assert {d['name']: d['ip'] for d in c}['web'] == web
    assert {d['name']: d['ip'] for d in c}['news'] == {d['name']: d['ip'] for d in a}['news']
    assert web.startswith('10.20.')
    assert web not in ('10.20.0.0', '10.20.255.255')


def test_name_method_probes_past_collisions():
    out = domain_addresses([{'name': 'n%d' % i} for i in range(6)], '192.0.2.0/29', method='name')
    ips = sorted(d['ip'] for d in out)
    assert ips == ['192.0.2.%d' % i for i in range(1, 7)]


def test_subnet_exhausted():
    with pytest.raises(AnsibleFilterError, match='subnet 192.0.2.0/30 has no free address left for domain c'):
        domain_addresses([{'name': 'a'}, {'name': 'b'}, {'name': 'c'}], '192.0.2.0/30')


@pytest.mark.parametrize('args, message', [
    (([{'name': 'a'}], 'not-a-subnet'), "'not-a-subnet' is not a subnet in CIDR form"),
    (([{'ip': '192.0.2.9'}], '192.0.2.0/24'), 'every domain needs a name'),
    (([{'name': 'a', 'ip': '999.1.1.1'}], '192.0.2.0/24'), "domain a: ip '999.1.1.1' is not an address"),
    (({'name': 'a'}, '192.0.2.0/24'), 'expects a list of domains, got dict'),
])
def test_domain_addresses_bad_input(args, message):
    with pytest.raises(AnsibleFilterError, match=message.replace('(', r'\(').replace('.', r'\.')):
        domain_addresses(*args)


def test_bad_reserved_and_method():
    with pytest.raises(AnsibleFilterError, match="reserved entry 'gateway' is not an address"):
        domain_addresses([{'name': 'a'}], '192.0.2.0/24', reserved=['gateway'])
    with pytest.raises(AnsibleFilterError, match="method must be 'index' or 'name', got 'random'"):
        domain_addresses([{'name': 'a'}], '192.0.2.0/24', method='random')


def test_fleet_check_accepts_unique_fleet():
    fleet = {
        'xen1': [{'name': 'news', 'ip': '192.0.2.2', 'vifs': [{'mac': '00:16:3e:00:00:01'}]}],
        'xen2': [{'name': 'web', 'vifs': [{'mac': '00:16:3E:00:00:02', 'ip': '192.0.2.3'}]}],
    }
    assert fleet_check(fleet) is fleet


def test_fleet_check_lists_every_duplicate():
    fleet = {
        'xen1': [{'name': 'news', 'ip': '192.0.2.2', 'vifs': [{'mac': '00:16:3e:00:00:01'}]}],
        'xen2': [
            {'name': 'news', 'vifs': [{'mac': '00:16:3E:00:00:01', 'ip': '192.0.2.2'}]},
        ],
    }
    with pytest.raises(AnsibleFilterError) as exc:
        fleet_check(fleet)
    assert str(exc.value) == (
        'the fleet inventory has conflicts: duplicate name news: xen1/news and xen2/news; '
        'duplicate MAC 00:16:3e:00:00:01: xen1/news and xen2/news; '
        'duplicate IP 192.0.2.2: xen1/news and xen2/news')


def test_fleet_check_bad_shapes():
    with pytest.raises(AnsibleFilterError, match='expects a mapping of host name to list of domains, got list'):
        fleet_check([])
    with pytest.raises(AnsibleFilterError, match='domains of host xen1 must be a list, got str'):
        fleet_check({'xen1': 'news'})
    with pytest.raises(AnsibleFilterError, match='host xen1 has a domain without a name'):
        fleet_check({'xen1': [{'ip': '192.0.2.1'}]})


def test_filter_module_exports():
    assert sorted(FilterModule().filters()) == ['domain_addresses', 'fleet_capacity', 'fleet_capacity_html', 'fleet_check',
                                                'fleet_placement', 'fleet_plan']


def test_fleet_plan_filter_turns_a_fleet_error_into_a_filter_error():
    with pytest.raises(AnsibleFilterError, match='cannot drain lab9: not a host of this play'):
        FilterModule().filters()['fleet_plan']({'lab1': {'domains': [], 'info': {}}}, drain=['lab9'])


@pytest.mark.parametrize('args, kwargs, message', [
    ([{'lab1': None}], {}, 'hosts.lab1 must be a mapping, got null'),
    ([['lab1']], {}, 'hosts (host name -> {domains, info}) must be a mapping, got a list'),
    ([{'lab1': {'domains': [], 'info': {}}}, 'dns1'], {}, "fleet_domains must be a list, also for one entry"),
    ([{'lab1': {'domains': [], 'info': {}}}], {'drain': 'lab1'}, "drain must be a list, also for one entry"),
    ([{'lab1': {'domains': [], 'info': {}}}], {'reserve_mib': 'x'}, "reserve_mib must be a whole number"),
])
def test_fleet_plan_filter_names_the_option_of_the_wrong_shape(args, kwargs, message):
    with pytest.raises(AnsibleFilterError) as exc:
        FilterModule().filters()['fleet_plan'](*args, **kwargs)
    assert message in str(exc.value)
