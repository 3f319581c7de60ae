"""`vagrant ssh-config NAME...`: how each running machine is reached over SSH.

Vagrant renders one block per machine from its template
(templates/commands/ssh_config/config.erb), each followed by an empty line::

    Host docker01
      HostName 127.0.0.1
      User vagrant
      Port 2222
      UserKnownHostsFile /dev/null
      StrictHostKeyChecking no
      PasswordAuthentication no
      IdentityFile /home/t/lab/.vagrant/machines/docker01/virtualbox/private_key
      IdentitiesOnly yes
      LogLevel FATAL

An IdentityFile with a space in its path is double-quoted; there may be
several; some providers add ProxyCommand, newer Vagrants other options
(kept, not used). Keywords are case-insensitive, as in OpenSSH, and
``Keyword=value`` works too. Text before the first ``Host`` (a Vagrantfile's
own output) and Vagrant's ``==> `` notices are skipped; anything else that is
not an option line is an error naming the line of the output.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from provisioner.errors import Location
from provisioner.vagrant.errors import VagrantError

__all__ = ["SSHConfigHost", "parse_ssh_config"]

_OPTION = re.compile(r"([A-Za-z][A-Za-z0-9]*)(?:\s*=\s*|\s+)(.*)")
# Options whose value is one word (quoted when it holds spaces).
_ONE_WORD = frozenset(
    {
        "hostname",
        "user",
        "port",
        "identityfile",
        "identitiesonly",
        "stricthostkeychecking",
        "passwordauthentication",
        "loglevel",
    }
)


@dataclass(frozen=True)
class SSHConfigHost:
    name: str
    hostname: str
    port: int = 22
    user: str | None = None
    identity_files: tuple[str, ...] = ()
    identities_only: bool = False
    strict_host_key_checking: str | None = None
    user_known_hosts_files: tuple[str, ...] = ()
    password_authentication: str | None = None
    proxy_command: str | None = None
    # Every option as written (lower-case keyword → values in order).
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    line: int = 0  # of the `Host` line


@dataclass
class _Block:
    name: str
    line: int
    values: dict[str, list[list[str]]] = field(default_factory=dict)  # words per line
    raw: dict[str, list[str]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)


def parse_ssh_config(text: str, source: str = "vagrant ssh-config output") -> list[SSHConfigHost]:
    """Every `Host` block, in output order. `source` names the output in errors."""
    blocks: list[_Block] = []
    current: _Block | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("==> "):
            continue
        where = Location(source, lineno)
        m = _OPTION.fullmatch(line)
        if m is None:
            if current is None:
                continue  # before the first Host: not Vagrant's template
            raise VagrantError(f"not an ssh_config option line: {raw!r}", where)
        key, value = m.group(1).lower(), m.group(2).strip()
        if key == "host":
            words = _words(value, raw, where)
            if len(words) != 1:
                raise VagrantError(f"expected one machine name after Host: {raw!r}", where)
            current = _Block(words[0], lineno)
            blocks.append(current)
            continue
        if current is None:
            continue  # an option before any Host: not from Vagrant's template
        words = _words(value, raw, where) if key != "proxycommand" else [value]
        if not words:
            raise VagrantError(f"{m.group(1)} without a value: {raw!r}", where)
        if key in _ONE_WORD and len(words) != 1:
            hint = " (a path with spaces must be quoted)" if key == "identityfile" else ""
            raise VagrantError(f"{m.group(1)} takes one value{hint}: {raw!r}", where)
        current.values.setdefault(key, []).append(words)
        current.raw.setdefault(key, []).append(value)
        current.lines.setdefault(key, lineno)
    if not blocks and text.strip():
        first = next(i for i, line in enumerate(text.splitlines(), 1) if line.strip())
        raise VagrantError(
            f"no 'Host NAME' block: {text.splitlines()[first - 1]!r}", Location(source, first)
        )
    return [_host(block, source) for block in blocks]


def _words(value: str, raw: str, where: Location) -> list[str]:
    # OpenSSH splits arguments on spaces, with "double" or 'single' quotes.
    try:
        return shlex.split(value, comments=False, posix=True)
    except ValueError:
        raise VagrantError(f"unclosed quote: {raw!r}", where) from None


def _host(block: _Block, source: str) -> SSHConfigHost:
    def first(key: str) -> str | None:
        values = block.values.get(key)
        return " ".join(values[0]) if values else None  # OpenSSH: the first one wins

    hostname = first("hostname")
    if hostname is None:
        raise VagrantError(f"Host {block.name} has no HostName", Location(source, block.line))
    port_text = first("port") or "22"
    if not (port_text.isascii() and port_text.isdecimal() and 1 <= int(port_text) <= 65535):
        raise VagrantError(
            f"Host {block.name}: Port must be a number 1..65535, not {port_text!r}",
            Location(source, block.lines["port"]),
        )
    known_hosts: list[str] = []
    for words in block.values.get("userknownhostsfile", []):
        known_hosts.extend(words)
    proxy = first("proxycommand")
    return SSHConfigHost(
        name=block.name,
        hostname=hostname,
        port=int(port_text),
        user=first("user"),
        identity_files=tuple(w[0] for w in block.values.get("identityfile", [])),
        identities_only=(first("identitiesonly") or "no").lower() == "yes",
        strict_host_key_checking=first("stricthostkeychecking"),
        user_known_hosts_files=tuple(known_hosts),
        password_authentication=first("passwordauthentication"),
        proxy_command=None if proxy is None or proxy.lower() == "none" else proxy,
        options={k: tuple(v) for k, v in block.raw.items()},
        line=block.line,
    )
