"""`ansible_ssh_common_args` / `ansible_ssh_extra_args`: OpenSSH command-line
options, read for what the transport can do.

A value is split into words with shell rules (`shlex.split`), then read as
ssh(1) would read them. Honoured: `-o StrictHostKeyChecking`,
`-o UserKnownHostsFile`, `-o ProxyJump` / `-J`, `-o ProxyCommand`, `-o Port` /
`-p`; an `-o` option is written `-o Key=Value`, `-o 'Key Value'`,
`-oKey=Value` or `-o Key Value`, its keyword in any case. The OpenSSH-only
connection sharing and keepalive options are accepted and ignored (`IGNORED`);
anything else is an error, so that no option is silently dropped.

Nothing is decided here about other variables: `connection.py` checks these
options against `port`, `host_key_checking` and `known_hosts`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from provisioner.errors import InventoryError, Location
from provisioner.inventory.spec import HostKeyPolicy

__all__ = ["HONOURED", "IGNORED", "Given", "Option", "SSHOptions", "read_ssh_args"]

HONOURED = "-o StrictHostKeyChecking, UserKnownHostsFile, ProxyJump/-J, ProxyCommand, Port/-p"
# They only tune OpenSSH's own connection sharing and keepalives, which provision does
# not need (one connection per host for the whole run, with its own keepalives);
# copied Ansible inventories are full of them, so they are ignored with a warning.
IGNORED = (
    "ControlMaster",
    "ControlPath",
    "ControlPersist",
    "ServerAliveInterval",
    "ServerAliveCountMax",
)

_KEYWORDS = {
    k.lower(): k
    for k in ("StrictHostKeyChecking", "UserKnownHostsFile", "ProxyJump", "ProxyCommand", "Port")
}
_IGNORED = {k.lower(): k for k in IGNORED}
_FLAGS = {"-J": "ProxyJump", "-p": "Port"}
# ssh(1) flags that take a value: shown with it when refused.
_FLAGS_WITH_VALUE = frozenset("-" + c for c in "BbcDEeFIiJLlmOoPpQRSWw")
# `Key=Value`, `Key = Value` or `Key Value`, as in ssh_config.
_KEY_VALUE = re.compile(r"\s*([A-Za-z0-9]+)(?:\s*=\s*|\s+)(.*?)\s*", re.DOTALL)
_POLICIES: dict[str, HostKeyPolicy] = {
    "yes": "strict",
    "true": "strict",
    "accept-new": "accept-new",
    "no": "off",
    "false": "off",
    "off": "off",
}
_PROXY_TOKEN = re.compile(r"%(.?)", re.DOTALL)
_JUMP_BRACKETS = re.compile(r"\[([^\]]+)\](?::(\d+))?")

T = TypeVar("T")
# The SSHOptions field an honoured option sets.
_Field = Literal["port", "policy", "known_hosts", "proxy_jump", "proxy_command"]


@dataclass(frozen=True)
class Option:
    """One option as written: `text` for messages, its keyword and value."""

    text: str  # "-o Port=2222", "-p 2222"
    keyword: str  # canonical ("Port") for known keywords, else as written
    value: str
    var: str  # the variable it was written in
    where: Location | None

    def error(self, host: str, problem: str) -> InventoryError:
        return InventoryError(
            f"host {host!r}: {self.var} option {self.text!r} {problem}", self.where
        )


@dataclass(frozen=True)
class Given(Generic[T]):
    """A setting some option gives, and that option (for messages)."""

    value: T
    option: Option


@dataclass
class SSHOptions:
    """What a host's ssh options ask for; None where no option says."""

    port: Given[int] | None = None
    policy: Given[HostKeyPolicy] | None = None
    known_hosts: Given[str | None] | None = None  # None: /dev/null or none, no file
    proxy_jump: Given[tuple[str, ...]] | None = None  # (): none, connect directly
    proxy_command: Given[str] | None = None
    ignored: list[Option] = field(default_factory=list)


def read_ssh_args(host: str, values: Sequence[tuple[str, str, Location | None]]) -> SSHOptions:
    """The options of each (value, variable name, where), common args first."""
    out = SSHOptions()
    seen: dict[str, tuple[Option, _Field, object]] = {}
    for value, var, where in values:
        for option in _options(host, _words(host, value, var, where), var, where):
            if option.keyword.lower() in _IGNORED:
                out.ignored.append(option)
                continue
            name, meaning = _meaning(host, option)
            if option.keyword in seen:
                _check_same(host, seen[option.keyword], option, meaning)
                continue
            seen[option.keyword] = (option, name, meaning)
            setattr(out, name, Given(meaning, option))
    if "ProxyJump" in seen and "ProxyCommand" in seen:
        jump, command = seen["ProxyJump"][0], seen["ProxyCommand"][0]
        raise command.error(
            host, f"and {_other(jump, command)} both say how to reach the host; keep one"
        )
    return out


def _other(option: Option, against: Option) -> str:
    """`option` named in a message about `against`."""
    shown = repr(option.text) if option.var == against.var else f"{option.var} {option.text!r}"
    where = f" (at {option.where})" if option.where != against.where else ""
    return shown + where


def _words(host: str, value: str, var: str, where: Location | None) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError as err:  # an unclosed quote
        raise InventoryError(
            f"host {host!r}: {var} cannot be split into words ({err})", where
        ) from None


def _options(host: str, words: list[str], var: str, where: Location | None) -> Iterator[Option]:
    i = 0
    while i < len(words):
        word = words[i]
        flag = word[:2]
        if flag != "-o" and flag not in _FLAGS:
            shown = words[i : i + 2] if word in _FLAGS_WITH_VALUE else [word]
            unsupported = Option(shlex.join(shown), word, "", var, where)
            raise unsupported.error(host, f"is not supported (provision honours {HONOURED})")
        glued = len(word) > 2
        if not glued and i + 1 == len(words):
            raise Option(word, word, "", var, where).error(host, "needs a value after it")
        arg = word[2:] if glued else words[i + 1]
        used = 1 if glued else 2
        if flag == "-o":
            keyword, value, extra = _key_value(arg, words[i + used :])
            used += extra
        else:
            keyword, value = _FLAGS[flag], arg
        option = Option(shlex.join(words[i : i + used]), keyword, value, var, where)
        if keyword.lower() not in _KEYWORDS and keyword.lower() not in _IGNORED:
            raise option.error(host, f"is not supported (provision honours {HONOURED})")
        yield option
        i += used


def _key_value(arg: str, rest: list[str]) -> tuple[str, str, int]:
    """(keyword, value, words used after `arg`) of an `-o` argument."""
    m = _KEY_VALUE.fullmatch(arg)
    if m is not None:
        keyword, value, extra = m.group(1), m.group(2), 0
    elif rest and not rest[0].startswith("-"):
        keyword, value, extra = arg.strip(), rest[0], 1  # `-o Key Value` as two words
    else:
        keyword, value, extra = arg.strip(), "", 0
    return _KEYWORDS.get(keyword.lower(), keyword), value, extra


def _check_same(
    host: str, first: tuple[Option, _Field, object], again: Option, meaning: object
) -> None:
    # OpenSSH would silently take the first; two different values are a mistake.
    option, _, first_meaning = first
    if meaning != first_meaning:
        raise again.error(host, f"disagrees with {_other(option, again)}; keep one")


def _meaning(host: str, option: Option) -> tuple[_Field, object]:
    """The SSHOptions field an honoured option sets, and to what."""
    if not option.value.strip():
        raise option.error(host, "needs a value")
    keyword = option.keyword
    if keyword == "Port":
        return "port", _port(host, option)
    if keyword == "StrictHostKeyChecking":
        return "policy", _policy(host, option)
    if keyword == "UserKnownHostsFile":
        return "known_hosts", _known_hosts(host, option)
    if keyword == "ProxyJump":
        return "proxy_jump", _jumps(host, option)
    if option.value.lower() == "none":  # ProxyCommand none: connect directly
        return "proxy_jump", ()
    return "proxy_command", _proxy_command(host, option)


def _port(host: str, option: Option) -> int:
    text = option.value
    if not (text.isascii() and text.isdecimal() and 1 <= int(text) <= 65535):
        raise option.error(host, "needs a port number 1..65535")
    return int(text)


def _policy(host: str, option: Option) -> HostKeyPolicy:
    value = option.value.lower()
    if value == "ask":
        raise option.error(
            host, "asks at a terminal, which provision never does; use yes, accept-new or no"
        )
    if value not in _POLICIES:
        raise option.error(host, "must be yes, accept-new or no")
    return _POLICIES[value]


def _known_hosts(host: str, option: Option) -> str | None:
    files = option.value.split()
    if len(files) > 1:
        raise option.error(host, "names several files; provision reads one known_hosts file")
    if files[0] == "/dev/null" or files[0].lower() == "none":
        return None
    if "%" in files[0]:
        raise option.error(host, "uses %-tokens, which provision does not expand here")
    return files[0]


def _jumps(host: str, option: Option) -> tuple[str, ...]:
    if option.value.lower() == "none":
        return ()
    hops = tuple(hop.strip() for hop in option.value.split(","))
    for hop in hops:
        problem = _jump_problem(hop)
        if problem:
            raise option.error(host, f"has a bad jump host {hop!r}: {problem}")
    return hops


def _jump_problem(hop: str) -> str:
    """What is wrong with one `[user@]host[:port]` or `ssh://[user@]host[:port]` hop."""
    rest = hop[len("ssh://") :].rstrip("/") if hop.startswith("ssh://") else hop
    rest = rest.rsplit("@", 1)[-1]
    m = _JUMP_BRACKETS.fullmatch(rest)
    if m is not None:
        name, port = m.group(1), m.group(2)
    elif rest.count(":") == 1:
        name, port = rest.split(":")
    else:
        name, port = rest, None  # a bare IPv6 address has several ':'
    if not name or any(c.isspace() for c in hop):
        return "write [user@]host[:port]"
    if port is not None and not (port.isascii() and port.isdecimal() and 1 <= int(port) <= 65535):
        return "the port must be a number 1..65535"
    return ""


def _proxy_command(host: str, option: Option) -> str:
    for m in _PROXY_TOKEN.finditer(option.value):
        if m.group(1) not in ("h", "p", "r", "n", "%"):
            raise option.error(
                host, f"has an unknown token %{m.group(1)} (ProxyCommand knows %h %p %r %n %%)"
            )
    return option.value
