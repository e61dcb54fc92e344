# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import glob
import json
import os
import re

import pytest

import labdata
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.xenops.xen.plugins.module_utils._xlcfg import (
    CANONICAL_ORDER, DEFAULT_HEADER, XlCfgError, equivalent, normalize, parse, render, sort_keys)

LAB = labdata.LAB


# ------------------------------------------------------------ syntax forms

def test_seed_classic_config():
    text = (
        "# news server\n"
        "kernel = '/boot/vmlinuz-6.1.0-28-amd64'\n"
        "ramdisk = '/boot/initrd.img-6.1.0-28-amd64'\n"
        "memory = 512\n"
        "name = 'news'\n"
        "vif = [ 'mac=00:16:3e:00:00:01,bridge=xenbr0' ]\n"
        "disk = [ 'phy:vg/news-root,sda1,w' ]\n"
        "root = '/dev/sda1 ro'\n"
    )
    assert parse(text) == {
        'kernel': '/boot/vmlinuz-6.1.0-28-amd64',
        'ramdisk': '/boot/initrd.img-6.1.0-28-amd64',
        'memory': 512,
        'name': 'news',
        'vif': ['mac=00:16:3e:00:00:01,bridge=xenbr0'],
        'disk': ['phy:vg/news-root,sda1,w'],
        'root': '/dev/sda1 ro',
    }


def test_result_keeps_file_order():
    assert list(parse('b = 1\na = 2\nc = 3\n')) == ['b', 'a', 'c']


@pytest.mark.parametrize('text, value', [
    ('x = "double"', 'double'),
    ("x = 'single'", 'single'),
    ('x = ""', ''),
    ('x = "it\'s"', "it's"),
    ("x = 'say \"hi\"'", 'say "hi"'),
    (r'x = "a\"b"', 'a"b'),
    (r"x = 'a\'b'", "a'b"),
    (r'x = "back\\slash"', 'back\\slash'),
    (r'x = "\a\b\f\n\r\t\v"', '\a\b\f\n\r\t\v'),
    ('x = "tab\tinside"', 'tab\tinside'),
    ('x = "caf\u00e9 # not a comment"', 'caf\u00e9 # not a comment'),
    ('x = "a;b=c,[d]"', 'a;b=c,[d]'),
])
def test_strings(text, value):
    assert parse(text) == {'x': value}


@pytest.mark.parametrize('text, value', [
    ('x = 0', 0),
    ('x = 512', 512),
    ('x = 0x200', 512),
    ('x = 0xff', 255),
    ('x = 01000', 512),
    ('x = 0777', 511),
    ('x = 9223372036854775807', 2 ** 63 - 1),
])
def test_numbers(text, value):
    assert parse(text) == {'x': value}
    assert isinstance(parse(text)['x'], int) and not isinstance(parse(text)['x'], bool)


@pytest.mark.parametrize('token', ['08', '0x', '1f', '12x', '9223372036854775808'])
def test_number_tokens_that_are_not_integers_stay_text(token):
    # xl keeps the token text and only strtol()s it where a number is needed
    assert parse('x = %s' % token) == {'x': token}


def test_lists():
    assert parse('x = []') == {'x': []}
    assert parse('x = [ ]') == {'x': []}
    assert parse('x = [1]') == {'x': [1]}
    assert parse('x = [1,]') == {'x': [1]}
    assert parse('x = [ "a", \'b\', 3 ]') == {'x': ['a', 'b', 3]}
    assert parse('x = [[1, 2], [], ["a"]]') == {'x': [[1, 2], [], ['a']]}


def test_list_over_several_lines_with_comments():
    text = (
        'disk = [\n'
        '    # root\n'
        "    'phy:/dev/vg/a,xvda1,w',\n"
        '\n'
        "    'phy:/dev/vg/b,xvda2,w'   # swap\n"
        '    ,\n'
        ']\n'
        'memory = 256\n'
    )
    assert parse(text) == {'disk': ['phy:/dev/vg/a,xvda1,w', 'phy:/dev/vg/b,xvda2,w'], 'memory': 256}


def test_statement_separators_and_blank_lines():
    text = '\n\n;a = 1; b = "x";;\n\n   \t\nc = 3 # comment\n# only a comment\n'
    assert parse(text) == {'a': 1, 'b': 'x', 'c': 3}


def test_last_setting_without_newline():
    assert parse('a = 1\nb = [1,\n2]') == {'a': 1, 'b': [1, 2]}


@pytest.mark.parametrize('text', ['', '\n', '# nothing\n', ';', ' \t\n\n'])
def test_empty_files(text):
    assert parse(text) == {}


def test_key_names():
    assert parse('on_crash = "destroy"\nvif.default.bridge = "xenbr0"\nx86_64 = 1\n') == {
        'on_crash': 'destroy', 'vif.default.bridge': 'xenbr0', 'x86_64': 1}


def test_later_setting_wins():
    parsed = parse('memory = 256\nname = "a"\nmemory = 512\n')
    assert parsed == {'memory': 512, 'name': 'a'}


def test_append_to_string_and_list():
    text = ('extra = "console=hvc0"\n'
            'extra += " quiet"\n'
            'disk = ["a"]\n'
            'disk += ["b", "c"]\n'
            'vif += ["bridge=xenbr0"]\n')
    assert parse(text) == {'extra': 'console=hvc0 quiet', 'disk': ['a', 'b', 'c'], 'vif': ['bridge=xenbr0']}


def test_assignment_after_append_replaces():
    assert parse('x = ["a"]\nx += ["b"]\nx = ["c"]\n') == {'x': ['c']}


def test_bytes_input():
    assert parse(b'name = "caf\xc3\xa9"\n') == {'name': 'caf\u00e9'}


# ------------------------------------------------------------ errors

@pytest.mark.parametrize('text, lineno, message', [
    ('a = 1\nmemory 512\n', 2, "expected `=' or `+=' after `memory', found `512'"),
    ('a = 1\nb = \n', 2, 'expected a value (string, number or list), found end of line'),
    ('a = 1\nb = 2 c = 3\n', 2, "expected end of line or `;' after the value of `b', found `c'"),
    ('= 1\n', 1, "expected a setting name, found `='"),
    ('"a" = 1\n', 1, 'expected a setting name, found string "a"'),
    ("'a' = 1\n", 1, "expected a setting name, found string 'a'"),
    ('0x10 = 1\n', 1, "expected a setting name, found `0x10'"),
    ('a = 1\n\nb = [1, 2\n', 4, 'list opened on line 3 is not closed'),
    ('b = [1 2]\n', 1, "expected `,' or `]' in the list opened on line 1, found `2'"),
    ('b = [,]\n', 1, "expected a value (string, number or list), found `,'"),
    ('b = [1,,]\n', 1, "expected a value (string, number or list), found `,'"),
    ('b = [1;2]\n', 1, "expected `,' or `]' in the list opened on line 1, found `;'"),
    ('b = [1]]\n', 1, "expected end of line or `;' after the value of `b', found `]'"),
    ('import os\n', 1, "expected `=' or `+=' after `import', found `os'"),
    ('b = 1,\n', 1, "expected end of line or `;' after the value of `b', found `,'"),
])
def test_syntax_errors(text, lineno, message):
    with pytest.raises(XlCfgError) as exc:
        parse(text)
    assert exc.value.lineno == lineno
    assert exc.value.msg == message
    assert str(exc.value) == 'line %d: %s' % (lineno, message)


@pytest.mark.parametrize('text, lineno, message', [
    ('a = 1\r\nb = 2\r\n', 1, 'lexical error: carriage return (DOS line endings are not accepted by xl)'),
    ('a = 1\nb = "open\n', 2, "lexical error near `\"open': string not closed on the same line"),
    ("a = 'x\\\ny'\n", 1, "lexical error near `'x\\': string not closed on the same line"),
    ('a = 1\nmemory = 512 * 2\n', 2, "lexical error near `*': unexpected character '*'"),
    ('a = 1\n\nmemory = -1\n', 3, "lexical error near `-1': xl config files are not Python"),
    ('Name = "x"\n', 1, "lexical error near `Name': setting names are lower case"),
    ('memory = 0xFF\n', 1, "lexical error near `FF': setting names are lower case"),
    ('a = 1\n# no newline at the end', 2, "lexical error near `#': comment at the end of the file needs a newline after it"),
])
def test_lexical_errors(text, lineno, message):
    with pytest.raises(XlCfgError) as exc:
        parse(text)
    assert exc.value.lineno == lineno
    assert exc.value.msg == message


def test_python_call_reports_first_problem_in_file_order():
    with pytest.raises(XlCfgError) as exc:
        parse('kernel = os.path.join("a")\n')
    assert exc.value.lineno == 1
    assert exc.value.msg == "expected a value (string, number or list), found `os.path.join'"


@pytest.mark.parametrize('text, message', [
    (r'a = "\x41"', 'numeric character escape \\x in a string is not supported (xl does not decode it)'),
    (r'a = "\101"', 'numeric character escape \\1 in a string is not supported (xl does not decode it)'),
    (r'a = "\d"', 'invalid character after backslash in a quoted string: \\d'),
    ('a = "nul\x00"', 'NUL character in a string'),
])
def test_string_escape_errors(text, message):
    with pytest.raises(XlCfgError) as exc:
        parse('x = 1\n' + text + '\n')
    assert exc.value.lineno == 2
    assert exc.value.msg == message


@pytest.mark.parametrize('text, lineno, message', [
    ('x = "a"\ny = 1\nx += ["b"]\n', 3, 'can\'t add [list] to "string" or vice versa (setting `x\')'),
    ('x = ["a"]\nx += "b"\n', 2, 'can\'t add [list] to "string" or vice versa (setting `x\')'),
    ('memory = 256\nmemory += 256\n', 2, "`+=' cannot be used with a number (setting `memory')"),
    ('memory += 256\n', 1, "`+=' cannot be used with a number (setting `memory')"),
    ('memory = 256\nmemory += "6"\n', 2, "`+=' cannot be used with a number (setting `memory')"),
])
def test_append_errors(text, lineno, message):
    with pytest.raises(XlCfgError) as exc:
        parse(text)
    assert exc.value.lineno == lineno
    assert exc.value.msg == message


# ------------------------------------------------------------ rendering

def test_render_canonical_form():
    cfg = {
        'on_crash': 'restart',
        'vif': ['mac=00:16:3e:00:00:01,bridge=xenbr0'],
        'zzz_custom': 'yes',
        'disk': ['phy:/dev/vg/news-root,xvda1,w', 'phy:/dev/vg/news-swap,xvda2,w'],
        'extra': 'console=hvc0',
        'memory': 512,
        'name': 'news',
        'vcpus': 2,
        'type': 'pvh',
        'kernel': '/boot/vmlinuz',
        'on_poweroff': 'destroy',
        'acpi': 1,
        'maxmem': 1024,
        'pci': [],
    }
    assert render(cfg) == (
        '# ' + DEFAULT_HEADER + '\n'
        '\n'
        'name = "news"\n'
        'type = "pvh"\n'
        'kernel = "/boot/vmlinuz"\n'
        'extra = "console=hvc0"\n'
        'memory = 512\n'
        'maxmem = 1024\n'
        'vcpus = 2\n'
        'disk = [\n'
        '    "phy:/dev/vg/news-root,xvda1,w",\n'
        '    "phy:/dev/vg/news-swap,xvda2,w",\n'
        ']\n'
        'vif = [\n'
        '    "mac=00:16:3e:00:00:01,bridge=xenbr0",\n'
        ']\n'
        'on_poweroff = "destroy"\n'
        'on_crash = "restart"\n'
        'acpi = 1\n'
        'pci = []\n'
        'zzz_custom = "yes"\n'
    )


def test_render_header_options():
    assert render({'a': 1}, header='line one\n\nline three') == '# line one\n#\n# line three\n\na = 1\n'
    assert render({'a': 1}, header='') == 'a = 1\n'
    assert render({}, header='') == '\n'
    assert parse(render({})) == {}


def test_render_escapes_strings():
    assert render({'a': 'q"\\\n\t\r\a\b\f\v\'x\x01\u00e9'}, header='') == 'a = "q\\"\\\\\\n\\t\\r\\a\\b\\f\\v\'x\x01\u00e9"\n'


def test_render_nested_list():
    assert render({'vnuma': [['pnode=0', 'size=512'], []]}, header='') == (
        'vnuma = [\n'
        '    [\n'
        '        "pnode=0",\n'
        '        "size=512",\n'
        '    ],\n'
        '    [],\n'
        ']\n')


def test_render_booleans_and_tuples():
    assert render({'pvshim': True, 'acpi': False, 'cpus': ('0', 1)}, header='') == (
        'acpi = 0\ncpus = [\n    "0",\n    1,\n]\npvshim = 1\n')


@pytest.mark.parametrize('cfg, message', [
    ({'Name': 'x'}, "invalid setting name 'Name' (expected [a-z][._0-9a-z]*)"),
    ({'1a': 'x'}, "invalid setting name '1a' (expected [a-z][._0-9a-z]*)"),
    ({'a b': 'x'}, "invalid setting name 'a b' (expected [a-z][._0-9a-z]*)"),
    ({'memory': -1}, "negative numbers cannot be written in an xl config (setting `memory': -1)"),
    ({'memory': 1.5}, "setting `memory' has a value of unsupported type float: 1.5"),
    ({'x': None}, "setting `x' has a value of unsupported type NoneType: None"),
    ({'x': ['a', {'b': 1}]}, "setting `x' has a value of unsupported type dict: {'b': 1}"),
    ({'x': 'a\x00b'}, "a string with a NUL character cannot be written: 'a\\x00b'"),
])
def test_render_errors(cfg, message):
    with pytest.raises(XlCfgError) as exc:
        render(cfg)
    assert exc.value.lineno is None
    assert str(exc.value) == message


def test_sort_keys():
    keys = ['zz', 'on_zz', 'vif', 'on_reboot', 'aa', 'name', 'on_crash']
    assert sort_keys(keys) == ['name', 'vif', 'on_reboot', 'on_crash', 'on_zz', 'aa', 'zz']
    assert sort_keys(reversed(CANONICAL_ORDER)) == list(CANONICAL_ORDER)


# ------------------------------------------------------------ equivalence

CANONICAL = render({'name': 'news', 'memory': 512, 'vcpus': 2,
                    'disk': ['phy:vg/news-root,sda1,w'], 'extra': 'console=hvc0 quiet'})


def test_hand_edited_file_is_equivalent():
    hand = (
        "# my hand-made file\n"
        "disk = [ 'phy:vg/news-root,sda1,w', ]   # root\n"
        "vcpus=0x2; memory = 01000\n"
        "name='news'\n"
        "extra = 'console=hvc0'\n"
        "extra += \" quiet\"\n"
    )
    assert equivalent(hand, CANONICAL)
    assert equivalent(CANONICAL, parse(hand))
    assert equivalent(parse(CANONICAL), parse(hand))


def test_number_and_decimal_string_are_equivalent():
    # libxlu stores both as the text "512"
    assert equivalent('memory = "512"', 'memory = 512')
    assert equivalent('memory = "512"', 'memory = 0x200')
    assert not equivalent('memory = "0x200"', 'memory = 512')
    assert equivalent({'pvshim': True}, 'pvshim = 1')


@pytest.mark.parametrize('other', [
    CANONICAL.replace('512', '513'),
    CANONICAL.replace('"news"', '"News"'),
    CANONICAL + 'maxmem = 1024\n',
    CANONICAL.replace('name = "news"\n', ''),
    CANONICAL.replace('"phy:vg/news-root,sda1,w",', '"phy:vg/news-root,sda1,w",\n"x",'),
    CANONICAL.replace('disk = [\n    "phy:vg/news-root,sda1,w",\n]', 'disk = "phy:vg/news-root,sda1,w"'),
])
def test_not_equivalent(other):
    assert not equivalent(CANONICAL, other)


def test_list_order_matters():
    assert not equivalent('disk = ["a", "b"]', 'disk = ["b", "a"]')


def test_normalize():
    assert normalize('a = 0x10\nb = [1, "x", [2]]\nc = "s"\n') == {'a': '16', 'b': ['1', 'x', ['2']], 'c': 's'}


# ------------------------------------------------------------ round trips

KEYS = st.from_regex(r'[a-z][._0-9a-z]{0,12}', fullmatch=True)
TEXT = st.text(alphabet=st.characters(blacklist_categories=('Cs',), blacklist_characters='\x00'), max_size=30)
ATOMS = st.one_of(st.integers(min_value=0, max_value=2 ** 63 - 1), TEXT)
VALUES = st.recursive(ATOMS, lambda children: st.lists(children, max_size=4), max_leaves=12)
CONFIGS = st.dictionaries(KEYS, VALUES, max_size=12)


@settings(max_examples=300, deadline=None)
@given(CONFIGS)
def test_round_trip(cfg):
    text = render(cfg)
    assert parse(text) == cfg
    assert render(parse(text)) == text
    assert equivalent(text, cfg)


def _messy_value(draw, value):
    """Another way of writing ``value`` that xl reads the same."""
    if isinstance(value, int):
        form = draw(st.sampled_from(['dec', 'hex', 'oct']))
        return {'dec': str(value), 'hex': hex(value), 'oct': '0%o' % value}[form]
    if isinstance(value, str):
        quote = draw(st.sampled_from(['"', "'"]))
        out = []
        for c in value:
            if c in (quote, '\\'):
                out.append('\\' + c)
            elif c == '\n':
                out.append('\\n')
            elif c in '"\'' and draw(st.booleans()):
                out.append('\\' + c)
            else:
                out.append(c)
        return quote + ''.join(out) + quote
    sep = draw(st.sampled_from([',', ' ,', ',\n', ', # note\n', '\n,\n']))
    items = [_messy_value(draw, v) for v in value]
    trailing = sep if items and draw(st.booleans()) else ''
    return '[' + draw(st.sampled_from(['', ' ', '\n'])) + sep.join(items) + trailing + ']'


@st.composite
def messy_files(draw):
    cfg = draw(CONFIGS)
    keys = draw(st.permutations(list(cfg)))
    lines = []
    for key in keys:
        value = cfg[key]
        if isinstance(value, list) and value and draw(st.booleans()):
            # the same list built with +=
            lines.append('%s = %s' % (key, _messy_value(draw, value[:1])))
            lines.append('%s += %s' % (key, _messy_value(draw, value[1:])))
        else:
            if draw(st.booleans()):
                lines.append('%s = "overridden"' % key)
            lines.append('%s%s=%s%s' % (key, draw(st.sampled_from(['', ' ', '\t'])),
                                        draw(st.sampled_from(['', ' '])), _messy_value(draw, value)))
    end = draw(st.sampled_from(['\n', ';\n', ' # end\n', '']))
    return cfg, '# written by hand\n' + '\n'.join(lines) + end


@settings(max_examples=300, deadline=None)
@given(messy_files())
def test_hand_written_forms_are_equivalent(case):
    cfg, text = case
    assert parse(text) == cfg
    assert equivalent(text, render(cfg))
    assert render(parse(text)) == render(cfg)


# ------------------------------------------------------------ real files from the lab

_lab = labdata.text


# every captured config that xl itself parsed (bad-disk.cfg is refused later, for its disk spec)
LAB_CFGS = sorted(n for n in (os.path.basename(p) for p in glob.glob(os.path.join(LAB, '*.cfg'))) if n != 'bad-syntax.cfg')


def test_lab_has_configs():
    assert LAB_CFGS == ['bad-disk.cfg', 'news.cfg', 'web.cfg']


@pytest.mark.parametrize('name', LAB_CFGS)
def test_lab_config_files(name):
    text = _lab(name)
    cfg = parse(text)
    assert cfg['name'] == name[:-len('.cfg')]
    canonical = render(cfg)
    assert parse(canonical) == cfg
    assert render(parse(canonical)) == canonical
    assert equivalent(text, canonical)


def test_lab_news_cfg():
    assert parse(_lab('news.cfg')) == {
        'name': 'news',
        'type': 'pv',
        'kernel': '/var/lib/xenops-lab/vmlinuz',
        'ramdisk': '/var/lib/xenops-lab/busybox-initramfs.cpio.gz',
        'extra': 'console=hvc0 quiet',
        'vcpus': 2,
        'maxvcpus': 2,
        'memory': 128,
        'maxmem': 192,
        'disk': ['phy:/dev/vg_xen/news-root,xvda,w', 'phy:/dev/vg_xen/news-swap,xvdb,w'],
        'vif': ['mac=00:16:3e:00:00:01,bridge=xenbr0', 'bridge=xenbr0'],
        'on_poweroff': 'destroy',
        'on_reboot': 'restart',
        'on_crash': 'destroy',
    }


def test_lab_bad_syntax_cfg_fails_on_the_line_xl_reports():
    stderr = json.loads(_lab('xl_create_N_invalid_syntax.json'))['stderr']
    m = re.search(r"bad-syntax\.cfg:(\d+): config parsing error near `(.*?)'", stderr)
    with pytest.raises(XlCfgError) as exc:
        parse(_lab('bad-syntax.cfg'))
    assert exc.value.lineno == int(m.group(1)) == 4
    assert exc.value.msg == "expected end of line or `;' after the value of `vcpus', found `%s'" % m.group(2)
