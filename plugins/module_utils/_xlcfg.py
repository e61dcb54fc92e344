# -*- coding: utf-8 -*-
# Copyright (c) xenops.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parse and render xl domain configuration files (xl.cfg(5)).

The grammar follows libxlu (``tools/libs/util/libxlu_cfg_l.l`` and
``libxlu_cfg_y.y`` in Xen 4.17), the library ``xl`` itself uses to read
domain configs and ``/etc/xen/xl.conf``:

* a file is a sequence of settings ``KEY = VALUE`` or ``KEY += VALUE``, each
  ended by a newline or ``;`` (the very last one may end at end of file);
  empty statements (blank lines, lone ``;``) are allowed;
* ``KEY`` is ``[a-z][._0-9a-z]*`` (lower case only);
* ``# ...`` up to the end of the line is a comment.  libxlu only accepts a
  comment that is followed by a newline, so a comment on the last line of a
  file without a final newline is an error (as it is for ``xl create``);
* spaces and tabs separate tokens; any other character outside a string is
  an error (carriage returns included: ``xl`` rejects DOS line endings);
* a VALUE is a string, a number or a list.  Strings are in single or double
  quotes, cannot span lines, and know the escapes ``\\\\ \\" \\' \\a \\b \\f
  \\n \\r \\t \\v``.  (libxlu mishandles numeric escapes: ``\\xNN`` is always
  rejected and ``\\NNN`` is silently dropped, so both are errors here.)
  Numbers are ``[0-9][0-9a-fx]*`` and are read by xl with ``strtol(..., 0)``:
  decimal, octal with a leading ``0``, hexadecimal with ``0x``; there are no
  negative numbers.  Lists are ``[ v, v, ]`` with an optional trailing comma,
  newlines and comments allowed between items, and may nest (``vnuma``);
* when a key is set twice the later setting wins; ``KEY += VALUE`` appends to
  an earlier string or list of the same key (or sets it if there is none).

Values are returned as Python ``str``, ``int`` (a number token that is a
valid C integer literal) and ``list`` (of those, possibly nested).  libxlu
itself stores numbers as their text and converts them only where a setting
is numeric, so ``memory = 512`` and ``memory = "512"`` mean the same thing;
:func:`equivalent` compares in that sense.  A number token that is not a
valid integer (``08``, ``0x``) is kept as its text, as xl would use it.
"""

from __future__ import annotations

import re

__all__ = ['XlCfgError', 'parse', 'render', 'equivalent', 'normalize',
           'sort_keys', 'CANONICAL_ORDER', 'DEFAULT_HEADER']

DEFAULT_HEADER = 'Managed by Ansible (xenops.xen). Local changes will be overwritten.'

#: Keys that come first, in this order, in a rendered file.  Other ``on_*``
#: keys follow them, then every other key in alphabetical order.
CANONICAL_ORDER = (
    'name', 'type',
    'kernel', 'ramdisk', 'cmdline', 'root', 'extra',
    'bootloader', 'bootloader_args',
    'memory', 'maxmem', 'vcpus', 'maxvcpus',
    'disk', 'vif',
    'on_poweroff', 'on_reboot', 'on_watchdog', 'on_crash', 'on_soft_reset',
)
_ORDER_INDEX = dict((k, i) for i, k in enumerate(CANONICAL_ORDER))

_KEY_RE = re.compile(r'[a-z][._0-9a-z]*\Z')
_TOKEN_RE = re.compile(r"""
    (?P<ws>[ \t]+)
  | (?P<ident>[a-z][._0-9a-z]*)
  | (?P<number>[0-9][0-9a-fx]*)
  | (?P<newline>\n|\#[^\n]*\n)
  | (?P<string>'(?:[^'\\\n]|\\[^\n])*'|"(?:[^"\\\n]|\\[^\n])*")
  | (?P<op>\+=|[,\[\]=;])
""", re.VERBOSE)
_BAD_RUN_RE = re.compile(r'[^ \t\n]*')

_UNESCAPE = {'"': '"', "'": "'", '\\': '\\', 'a': '\a', 'b': '\b', 'f': '\f',
             'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}
_ESCAPE = {'"': '\\"', '\\': '\\\\', '\a': '\\a', '\b': '\\b', '\f': '\\f',
           '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v'}
_ESCAPE_RE = re.compile('[%s]' % re.escape(''.join(_ESCAPE)))

_LONG_MAX = 2 ** 63 - 1

# Token kinds
_IDENT, _NUMBER, _STRING, _NEWLINE, _OP, _EOF = 'ident', 'number', 'string', 'newline', 'op', 'eof'


class XlCfgError(ValueError):
    """A config text that xl would reject, or a value that cannot be written.

    ``lineno`` is the 1-based line of the problem (``None`` for render errors)
    and ``msg`` the message without the line prefix.
    """

    def __init__(self, msg, lineno=None):
        self.msg = msg
        self.lineno = lineno
        super(XlCfgError, self).__init__(
            msg if lineno is None else 'line %d: %s' % (lineno, msg))


# ---------------------------------------------------------------- lexing

def _number(text):
    """The value xl's ``strtol(text, &end, 0)`` gives a whole number token."""
    if re.match(r'0x[0-9a-f]+\Z', text):
        value = int(text[2:], 16)
    elif re.match(r'0[0-7]*\Z', text):
        value = int(text, 8)
    elif re.match(r'[1-9][0-9]*\Z', text):
        value = int(text, 10)
    else:
        return text
    return value if value <= _LONG_MAX else text


def _dequote(token, lineno):
    out = []
    body = token[1:-1]
    i = 0
    while i < len(body):
        c = body[i]
        if c == '\x00':
            raise XlCfgError('NUL character in a string', lineno)
        if c != '\\':
            out.append(c)
            i += 1
            continue
        nc = body[i + 1]
        if nc in _UNESCAPE:
            out.append(_UNESCAPE[nc])
        elif nc == 'x' or nc in '01234567':
            raise XlCfgError('numeric character escape \\%s in a string is not supported '
                             '(xl does not decode it)' % nc, lineno)
        else:
            raise XlCfgError('invalid character after backslash in a quoted string: \\%s' % nc, lineno)
        i += 2
    return ''.join(out)


def _lexical_error(text, pos, lineno):
    run = _BAD_RUN_RE.match(text, pos).group(0) or text[pos]
    c = text[pos]
    if c == '\r':
        hint = 'carriage return (DOS line endings are not accepted by xl)'
    elif c == '#':
        hint = 'comment at the end of the file needs a newline after it'
    elif c in '"\'':
        hint = 'string not closed on the same line'
    elif c in '+-.():':
        hint = 'xl config files are not Python'
    elif 'A' <= c <= 'Z':
        hint = 'setting names are lower case'
    else:
        hint = 'unexpected character %r' % c
    run = run.rstrip('\r')
    if not run:
        raise XlCfgError('lexical error: %s' % hint, lineno)
    raise XlCfgError("lexical error near `%s': %s" % (run, hint), lineno)


def _tokens(text):
    pos = 0
    lineno = 1
    end = len(text)
    while pos < end:
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            _lexical_error(text, pos, lineno)
        kind = m.lastgroup
        tok = m.group(0)
        if kind == 'ident':
            yield (_IDENT, tok, lineno, tok)
        elif kind == 'number':
            yield (_NUMBER, _number(tok), lineno, tok)
        elif kind == 'string':
            yield (_STRING, _dequote(tok, lineno), lineno, tok)
        elif kind == 'newline':
            yield (_NEWLINE, tok, lineno, tok)
            lineno += 1
        elif kind == 'op':
            yield (_OP, tok, lineno, tok)
        pos = m.end()
    yield (_EOF, None, lineno, '')


def _describe(tok):
    """``tok`` (kind, value, lineno, source text) for an error message."""
    kind = tok[0]
    if kind == _EOF:
        return 'end of file'
    if kind == _NEWLINE:
        return 'end of line'
    if kind == _STRING:
        return 'string %s' % tok[3]
    return "`%s'" % tok[3]


# ---------------------------------------------------------------- parsing

class _Parser(object):
    # One token of lookahead, read lazily so that errors are reported in
    # file order (as libxlu does).
    def __init__(self, text):
        self.gen = _tokens(text)
        self.cur = None

    def peek(self):
        if self.cur is None:
            self.cur = next(self.gen)
        return self.cur

    def take(self):
        tok = self.peek()
        if tok[0] != _EOF:
            self.cur = None
        return tok

    def is_op(self, tok, op):
        return tok[0] == _OP and tok[1] == op

    def skip_newlines(self):
        while self.peek()[0] == _NEWLINE:
            self.take()

    def file(self):
        settings = {}
        while True:
            tok = self.take()
            if tok[0] == _EOF:
                return settings
            if tok[0] == _NEWLINE or self.is_op(tok, ';'):
                continue
            if tok[0] != _IDENT:
                raise XlCfgError('expected a setting name, found %s' % _describe(tok), tok[2])
            key = tok[1]
            op = self.take()
            if not (self.is_op(op, '=') or self.is_op(op, '+=')):
                raise XlCfgError("expected `=' or `+=' after `%s', found %s" % (key, _describe(op)), op[2])
            value_tok = self.peek()
            value = self.value()
            end = self.take()
            if not (end[0] in (_NEWLINE, _EOF) or self.is_op(end, ';')):
                raise XlCfgError("expected end of line or `;' after the value of `%s', found %s"
                                 % (key, _describe(end)), end[2])
            if op[1] == '+=':
                value = _append(key, settings.get(key), value, value_tok[2])
            settings[key] = value

    def value(self):
        tok = self.take()
        if tok[0] in (_STRING, _NUMBER):
            return tok[1]
        if self.is_op(tok, '['):
            return self.list_rest(tok[2])
        raise XlCfgError('expected a value (string, number or list), found %s' % _describe(tok), tok[2])

    def list_rest(self, open_line):
        items = []
        self.skip_newlines()
        if self.is_op(self.peek(), ']'):
            self.take()
            return items
        while True:
            if self.peek()[0] == _EOF:
                raise XlCfgError('list opened on line %d is not closed' % open_line, self.peek()[2])
            items.append(self.value())
            self.skip_newlines()
            tok = self.take()
            if self.is_op(tok, ']'):
                return items
            if not self.is_op(tok, ','):
                if tok[0] == _EOF:
                    raise XlCfgError('list opened on line %d is not closed' % open_line, tok[2])
                raise XlCfgError("expected `,' or `]' in the list opened on line %d, found %s"
                                 % (open_line, _describe(tok)), tok[2])
            self.skip_newlines()
            if self.is_op(self.peek(), ']'):
                self.take()
                return items


def _append(key, previous, value, lineno):
    """``key += value``: what libxlu stores (concatenate strings or lists)."""
    if isinstance(value, int):
        raise XlCfgError("`+=' cannot be used with a number (setting `%s')" % key, lineno)
    if previous is None:
        return value
    if isinstance(previous, list) != isinstance(value, list):
        raise XlCfgError("can't add [list] to \"string\" or vice versa (setting `%s')" % key, lineno)
    if isinstance(previous, int):
        raise XlCfgError("`+=' cannot be used with a number (setting `%s')" % key, lineno)
    return previous + value


def parse(text):
    """Parse xl.cfg ``text`` into an insertion-ordered ``dict`` of settings.

    Raises :class:`XlCfgError` (with ``lineno``) where xl would refuse the
    file.  A key set more than once keeps the last value, as in xl.
    """
    if isinstance(text, bytes):
        text = text.decode('utf-8')
    return _Parser(text).file()


# ---------------------------------------------------------------- rendering

def _quote(value):
    if '\x00' in value:
        raise XlCfgError('a string with a NUL character cannot be written: %r' % (value,))
    return '"%s"' % _ESCAPE_RE.sub(lambda m: _ESCAPE[m.group(0)], value)


def _render_value(key, value, indent):
    if isinstance(value, bool):
        return '1' if value else '0'
    if isinstance(value, int):
        if value < 0:
            raise XlCfgError('negative numbers cannot be written in an xl config (setting `%s\': %d)' % (key, value))
        return str(value)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, (list, tuple)):
        if not value:
            return '[]'
        inner = indent + '    '
        lines = ['[']
        for item in value:
            lines.append('%s%s,' % (inner, _render_value(key, item, inner)))
        lines.append(indent + ']')
        return '\n'.join(lines)
    raise XlCfgError("setting `%s' has a value of unsupported type %s: %r"
                     % (key, type(value).__name__, value))


def _key_rank(key):
    if key in _ORDER_INDEX:
        return (0, _ORDER_INDEX[key], key)
    if key.startswith('on_'):
        return (1, 0, key)
    return (2, 0, key)


def sort_keys(keys):
    """``keys`` in the canonical order used by :func:`render`."""
    return sorted(keys, key=_key_rank)


def render(cfg, header=None):
    """Render settings ``cfg`` (a mapping) in the one canonical form.

    A comment header (``header``, default :data:`DEFAULT_HEADER`; may have
    several lines; ``''`` for none), a blank line, then one ``key = value``
    per setting in canonical key order; strings double-quoted, numbers in
    decimal, non-empty lists one item per line with a trailing comma.
    """
    if header is None:
        header = DEFAULT_HEADER
    lines = []
    if header:
        for line in header.splitlines():
            lines.append(('# ' + line).rstrip())
        lines.append('')
    for key in sort_keys(cfg):
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise XlCfgError('invalid setting name %r (expected [a-z][._0-9a-z]*)' % (key,))
        lines.append('%s = %s' % (key, _render_value(key, cfg[key], '')))
    return '\n'.join(lines) + '\n'


# ---------------------------------------------------------------- comparing

def _normalize_value(value):
    if isinstance(value, bool):
        return '1' if value else '0'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_normalize_value(v) for v in value]
    return value


def normalize(cfg):
    """``cfg`` (text or mapping) as xl sees it: numbers as decimal text.

    libxlu keeps every atom as text, so a number and a string with the same
    decimal digits are the same setting.
    """
    if isinstance(cfg, (str, bytes)):
        cfg = parse(cfg)
    return dict((k, _normalize_value(v)) for k, v in cfg.items())


def equivalent(a, b):
    """Whether two configs (texts or mappings) mean the same to xl.

    Order, comments, quoting style, number notation (``0x200``, ``01000``,
    ``512``) and overridden or ``+=``-built settings do not matter.
    """
    return normalize(a) == normalize(b)
