"""Ansible's INI inventory format, read into the mapping the YAML loader reads.

    # hosts before any section are in `all` (and so in `ungrouped`)
    bastion ansible_host=192.0.2.10

    [web]
    web[01:03] ansible_user=deploy       # ranges expand as in YAML
    db1:2222 ansible_host=10.0.0.9       # host:port sets ansible_port

    [web:vars]
    http_port=8080

    [lab:children]
    web

The result is a `MarkedDict` shaped like a YAML inventory (`{group: {hosts:
{name: {var: value}}, children: {name: None}, vars: {...}}}`) whose keys and
values carry INI line:col locations, so the YAML loader (`tree`, `build`)
applies the same precedence, aliases, ranges, `group_vars/`/`host_vars/` and
error messages as for YAML.

Values follow Ansible:
- host lines are split with shell rules (`key='a b'`, `#` starts a comment);
  each value is then read as a Python literal where it is one: `2222` → 2222,
  `True` → True, `[1, 2]` → a list, `'x'` → x; anything else stays text.
  A secret (a password variable) is always text: `0123` stays "0123";
- `[group:vars]` values are always strings (Ansible documents this):
  everything after `=`, without surrounding quotes and without a trailing
  ` # comment`. The inventory still reads `"2222"` as a port and `"False"`
  as host_key_checking.
- `[name:vars]` and `[parent:children]` entries must name a group that a
  `[name]` or `[name:children]` section declares somewhere in the file.
"""

from __future__ import annotations

import ast
import io
import re
import shlex
import warnings
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from provisioner.errors import InventoryError, Location
from provisioner.limits import MAX_DEPTH
from provisioner.secrets import is_secret
from provisioner.yamlmarks import MarkedDict, MarkedStr

__all__ = ["looks_like_ini", "parse_ini"]

# `[name]` or `[name:kind]`, then an optional comment. Names as Ansible's.
_SECTION = re.compile(r"\[([^:\]\s]+)(?::(\w*))?\]\s*(?:[#;].*)?$")
_GROUP_NAME = re.compile(r"([^:\]\s=]+)\s*(?:[#;].*)?$")
_SECTION_KINDS = ("hosts", "vars", "children")
_RESERVED = frozenset({"hosts", "children", "vars"})  # the YAML shape's own keys
_BRACKETS = re.compile(r"\[[^\]]*\]")  # host ranges: their ':' is not a port's
_IPV6_PORT = re.compile(r"\[([0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)\]:(\d+)")  # [fe80::1]:2222
_VAR_NAME_START = re.compile(r"[A-Za-z_][\w.-]*=")
_TRAILING_COMMENT = re.compile(r"\s+#.*$")


def looks_like_ini(text: str) -> bool:
    """Is the first meaningful line an INI `[section]` or `host [key=value ...]`?"""
    for raw in text.splitlines():
        line = raw.strip().lstrip("\ufeff")
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            return True
        first, rest = [*line.split(None, 1), ""][:2]
        if first == "---" or first.endswith(":") or first[0] in "-{\"'&*!|>%@`":
            return False
        rest = rest.strip()
        return not rest or rest[0] in "#;" or _VAR_NAME_START.match(rest) is not None
    return False


@dataclass
class _State:
    filename: str
    text_vars: Collection[str]
    root: MarkedDict = field(default_factory=MarkedDict)
    declared: set[str] = field(default_factory=lambda: {"all", "ungrouped"})
    # Groups named by [x:vars] or in [p:children], with where: checked at the end.
    referenced: dict[str, tuple[Location, str]] = field(default_factory=dict)

    def at(self, line: int, col: int = 1) -> Location:
        return Location(self.filename, line, col)

    def group(self, name: str, where: Location) -> MarkedDict:
        if name in _RESERVED:
            raise InventoryError(
                f"{name!r} cannot be a group name here (it is a keyword of the YAML shape)",
                where,
            )
        body = self.root.get(name)
        if body is None:
            body = MarkedDict(loc=where)
            self.root.set_marked(name, body, where)
        assert isinstance(body, MarkedDict)
        return body

    def part(self, name: str, key: str, where: Location) -> MarkedDict:
        body = self.group(name, where)
        section = body.get(key)
        if section is None:
            section = MarkedDict(loc=where)
            body.set_marked(key, section, where)
        assert isinstance(section, MarkedDict)
        return section


def parse_ini(text: str, filename: str, *, text_vars: Collection[str] = ()) -> MarkedDict:
    """Parse an INI inventory into the YAML inventory shape (see the module doc).

    `text_vars` are variable names whose values stay text on host lines
    (secrets: a password must never become a number). Errors are
    InventoryErrors at filename:line:col.
    """
    state = _State(filename, text_vars)
    state.root.loc = state.at(1)
    group, kind = "all", "hosts"  # hosts before any section are in `all`
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if lineno == 1:
            raw = raw.lstrip("\ufeff")
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        indent = len(raw) - len(raw.lstrip())
        where = state.at(lineno, indent + 1)
        if line.startswith("[") and not _IPV6_PORT.match(line):
            group, kind = _section(line, where)
            if kind == "vars":
                state.referenced.setdefault(group, (where, f"[{group}:vars]"))
                state.part(group, "vars", where)
            else:
                state.declared.add(group)
                state.part(group, "children" if kind == "children" else "hosts", where)
        elif kind == "hosts":
            _host_line(state, group, raw, lineno)
        elif kind == "vars":
            _vars_line(state, group, line, where)
        else:
            _child_line(state, group, line, where)
    for name, (where, section) in state.referenced.items():
        if name not in state.declared:
            raise InventoryError(
                f"{section} names group {name!r}, which no [{name}] or [{name}:children] "
                "section declares",
                where,
            )
    return state.root


def _section(line: str, where: Location) -> tuple[str, str]:
    m = _SECTION.match(line)
    if m is None:
        if "]" not in line:
            raise InventoryError(
                f"section header {line!r} is not closed with ']' (sections are [name], "
                "[name:vars] and [name:children])",
                where,
            )
        raise InventoryError(
            f"invalid section header {line!r}: a group name without spaces, then at most "
            "one ':vars' or ':children', then only a comment",
            where,
        )
    name, kind = m.group(1), m.group(2)
    if kind is None:
        return name, "hosts"
    if kind not in _SECTION_KINDS:
        raise InventoryError(
            f"[{name}:{kind}]: unknown section type {kind!r}; use [{name}] for hosts, "
            f"[{name}:vars] or [{name}:children]",
            where,
        )
    return name, kind


def _tokens(raw: str, lineno: int, filename: str) -> list[tuple[str, int]]:
    """Shell-like words of a host line (as Ansible's shlex split), with their columns."""
    stream = io.StringIO(raw)
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    out: list[tuple[str, int]] = []
    pos = 0
    while True:
        start = pos
        while start < len(raw) and raw[start].isspace():
            start += 1
        try:
            token = lexer.get_token()
        except ValueError:
            quote = next((i for i in range(start, len(raw)) if raw[i] in "'\""), start)
            mark = f"{raw[quote]} " if quote < len(raw) else ""
            raise InventoryError(
                f"unclosed {mark}quote (a value with spaces is written key='a b')",
                Location(filename, lineno, quote + 1),
            ) from None
        if token is None:
            return out
        out.append((token, start + 1))
        pos = stream.tell()


def _host_line(state: _State, group: str, raw: str, lineno: int) -> None:
    tokens = _tokens(raw, lineno, state.filename)
    if not tokens:
        return  # only a comment after spaces
    (pattern, col), rest = tokens[0], tokens[1:]
    where = state.at(lineno, col)
    if pattern == "---":
        raise InventoryError("'---' is not a host name; is this a YAML file?", where)
    name, port = _split_port(pattern, where)
    entry = MarkedDict(loc=where)
    if port is not None:
        entry.set_marked("ansible_port", port, where)
    previous = ""
    for index, (token, tcol) in enumerate(rest):
        key, eq, value = token.partition("=")
        twhere = state.at(lineno, tcol)
        if not eq:
            # Most often the rest of an unquoted value with spaces: after a password,
            # the rest of the password, so it is not echoed.
            hint = " (quote a value with spaces: key='a b')" if index else ""
            got = f"more after {previous}" if is_secret(previous) else repr(token)
            raise InventoryError(f"expected key=value after host {name!r}, got {got}{hint}", twhere)
        previous = key
        if not key:
            raise InventoryError(f"{token!r}: the variable name before '=' is missing", twhere)
        vwhere = state.at(lineno, tcol + len(key) + 1)
        parsed = _text_only(value) if key in state.text_vars else _literal(value)
        entry.set_marked(key, _mark(parsed, vwhere), twhere, vwhere)
    hosts = state.part(group, "hosts", where)
    if name not in hosts:
        hosts.set_marked(name, entry or None, where)
    elif entry:
        # Listed again in the same group: Ansible merges the vars, later wins.
        previous = hosts[name]
        merged = previous if isinstance(previous, MarkedDict) else MarkedDict(loc=where)
        for key in entry:
            merged.set_marked(key, entry[key], entry.key_loc(key), entry.value_loc(key))
        hosts.set_marked(name, merged, hosts.key_loc(name))


def _split_port(pattern: str, where: Location) -> tuple[str, int | None]:
    """`name:port` → (name, port); `name` → (name, None). IPv6 needs [addr]:port."""
    m = _IPV6_PORT.fullmatch(pattern)
    if m is not None:
        name, port_text = m.group(1), m.group(2)
    else:
        colons = _BRACKETS.sub("", pattern).count(":")
        if colons != 1:
            return pattern, None  # no port, or a bare IPv6 address
        name, _, port_text = pattern.rpartition(":")
        if not name or not port_text.isascii() or not port_text.isdecimal():
            raise InventoryError(
                f"host {pattern!r}: after ':' comes a port number (web1:2222)", where
            )
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise InventoryError(f"host {pattern!r}: the port must be 1..65535", where)
    return name, port


def _vars_line(state: _State, group: str, line: str, where: Location) -> None:
    key, eq, value = line.partition("=")
    key = key.strip()
    if not eq:
        raise InventoryError(f"expected key=value in [{group}:vars], got {line!r}", where)
    if not key or any(c.isspace() for c in key):
        shown = f"{key}=…" if is_secret(key) else line
        raise InventoryError(
            f"{shown!r}: [{group}:vars] takes one key=value per line, the key without spaces",
            where,
        )
    start = line.index("=") + 1 + len(value) - len(value.lstrip())  # where the value begins
    vwhere = Location(where.file, where.line, (where.col or 1) + start)
    state.part(group, "vars", where).set_marked(
        key, MarkedStr(_vars_value(value.strip()), vwhere), where, vwhere
    )


def _vars_value(value: str) -> str:
    """A [group:vars] value: a string, unquoted, without a trailing ` # comment`."""
    if value[:1] in ("'", '"'):
        try:
            words = shlex.split(value, comments=True)
        except ValueError:
            words = []
        if len(words) == 1:
            return words[0]
    return _TRAILING_COMMENT.sub("", value)


def _child_line(state: _State, group: str, line: str, where: Location) -> None:
    if "=" in line.split("#", 1)[0]:
        raise InventoryError(
            f"{line!r}: [{group}:children] lists group names, one per line; "
            f"variables go in [{group}:vars]",
            where,
        )
    m = _GROUP_NAME.match(line)
    if m is None:
        raise InventoryError(
            f"expected one group name per line in [{group}:children], got {line!r}", where
        )
    child = m.group(1)
    if child in _RESERVED:
        raise InventoryError(
            f"{child!r} cannot be a group name here (it is a keyword of the YAML shape)", where
        )
    state.referenced.setdefault(child, (where, f"[{group}:children]"))
    children = state.part(group, "children", where)
    if child not in children:
        children.set_marked(child, None, where)


def _literal(text: str) -> Any:
    """Ansible's reading of a host-line value: a Python literal where it is one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning on "\d" and the like
            return _plain(ast.literal_eval(text), text, 1)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _plain(value: Any, text: str, depth: int) -> Any:
    # Only what YAML could also hold; tuples and sets become lists (as Ansible).
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return text
    if depth > MAX_DEPTH:  # as deep as YAML may nest; deeper stays text
        raise ValueError("nested too deep")
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v, str(v), depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, str(v), depth + 1) for k, v in value.items()}
    return text  # complex numbers, Ellipsis: keep what was written


def _text_only(text: str) -> str:
    # A literal string ("'0123'") is unquoted; a number keeps its digits.
    value = _literal(text)
    return value if isinstance(value, str) else text


def _mark(value: Any, where: Location) -> Any:
    return MarkedStr(value, where) if isinstance(value, str) else value
