"""Reading ~/.ssh/config the way OpenSSH does, for what the transport needs.

Honoured: HostName, User, Port, IdentityFile, IdentitiesOnly, ProxyJump
(comma-separated chains, ``[user@]host[:port]`` or ``ssh://user@host:port``),
ProxyCommand, HostKeyAlias, UserKnownHostsFile, Include, and paramiko's
Host/Match matching and %-token expansion. StrictHostKeyChecking is not read:
the inventory's host_key_policy decides. A jump chain or proxy command given
to `resolve` (from the inventory) replaces the config's ProxyJump and
ProxyCommand, as ``ssh -o`` options do.
"""

from __future__ import annotations

import getpass
import glob
import importlib
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import paramiko
import paramiko.config


class SSHConfigError(Exception):
    """The ssh config file could not be read or understood."""


@dataclass(frozen=True)
class Endpoint:
    """One SSH server to log in to, with everything resolved."""

    hostname: str
    port: int = 22
    user: str = ""
    key_filenames: tuple[str, ...] = ()
    identities_only: bool = False
    host_key_alias: str | None = None
    known_hosts_files: tuple[str, ...] = ()  # UserKnownHostsFile; () = default
    proxy_command: str | None = None

    @property
    def address(self) -> str:
        """host:port for messages."""
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Target:
    """The endpoint to reach, and the jump hosts to go through first (in order)."""

    endpoint: Endpoint
    jumps: tuple[Endpoint, ...] = field(default=())


def read_config(path: str | None) -> paramiko.SSHConfig:
    """Parse an ssh config file, inlining Include directives; a missing file is empty."""
    config = paramiko.SSHConfig()
    if path is None:
        return config
    path = os.path.expanduser(path)
    if not os.path.exists(path):
        return config
    text = _read_with_includes(path, os.path.dirname(path), 0)
    if _MATCH_EXEC.search(text):
        _bring_invoke()
    try:
        return paramiko.SSHConfig.from_text(text)
    except Exception as e:  # paramiko raises assorted types for bad lines
        raise SSHConfigError(f"cannot parse ssh config {path}: {e}") from e


_MATCH_EXEC = re.compile(r"^\s*match\b.*\bexec\b", re.IGNORECASE | re.MULTILINE)


def _bring_invoke() -> None:
    """paramiko runs `Match exec` commands with invoke, which the transport package
    kept from loading at start (see its docstring)."""
    if sys.modules.get("invoke", False) is None:
        del sys.modules["invoke"]
    try:
        paramiko.config.invoke = importlib.import_module("invoke")  # type: ignore[attr-defined]
    except ImportError:
        pass  # paramiko says so when a Match exec is evaluated, as without us


_INCLUDE = re.compile(r"^\s*include(?:\s*=\s*|\s+)(.+?)\s*$", re.IGNORECASE)


def _read_with_includes(path: str, base: str, depth: int) -> str:
    if depth > 16:
        raise SSHConfigError(f"ssh config {path}: Include nested too deeply")
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise SSHConfigError(f"cannot read ssh config {path}: {e}") from e
    out: list[str] = []
    for line in lines:
        m = _INCLUDE.match(line)
        if not m:
            out.append(line)
            continue
        for pattern in m.group(1).split():
            pattern = os.path.expanduser(pattern.strip('"'))
            if not os.path.isabs(pattern):
                pattern = os.path.join(base, pattern)
            for inc in sorted(glob.glob(pattern)):
                if os.path.isfile(inc):
                    out.append(_read_with_includes(inc, base, depth + 1))
    return "\n".join(out) + "\n"


def parse_jump(spec: str) -> tuple[str | None, str, int | None]:
    """``[user@]host[:port]`` or ``ssh://[user@]host[:port]`` → (user, host, port)."""
    s = spec.strip()
    if s.startswith("ssh://"):
        s = s[len("ssh://") :].rstrip("/")
    user: str | None = None
    if "@" in s:
        user, s = s.rsplit("@", 1)
    port: int | None = None
    m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", s)
    if m:
        host = m.group(1)
        port = int(m.group(2)) if m.group(2) else None
    elif s.count(":") == 1:
        host, p = s.split(":")
        if not p.isdigit():
            raise SSHConfigError(f"bad port in ProxyJump {spec!r}")
        port = int(p)
    else:
        host = s
    if not host:
        raise SSHConfigError(f"bad ProxyJump {spec!r}")
    return user or None, host, port


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def endpoint_for(
    config: paramiko.SSHConfig,
    alias: str,
    *,
    port: int | None = None,
    user: str | None = None,
    key_filename: str | None = None,
) -> tuple[Endpoint, str | None]:
    """Resolve `alias` through the config; explicit arguments win over it.

    Returns the endpoint and its raw ProxyJump value (None when unset or "none").
    """
    try:
        opts = config.lookup(alias)
    except Exception as e:
        raise SSHConfigError(f"ssh config lookup for {alias!r} failed: {e}") from e
    hostname = str(opts.get("hostname", alias))
    if port is None:
        try:
            port = int(opts.get("port", 22))
        except ValueError as e:
            raise SSHConfigError(f"bad Port in ssh config for {alias!r}") from e
    if user is None:
        user = str(opts["user"]) if "user" in opts else getpass.getuser()
    if key_filename is not None:
        keys = [os.path.expanduser(key_filename)]
    else:
        keys = [os.path.expanduser(k) for k in _as_list(opts.get("identityfile"))]
        keys = [k for k in keys if os.path.isfile(k)]  # OpenSSH skips missing ones too
    known: list[str] = []
    for v in _as_list(opts.get("userknownhostsfile")):
        known.extend(os.path.expanduser(p) for p in v.split())
    proxy_command = opts.get("proxycommand")
    if proxy_command is not None and str(proxy_command).lower() == "none":
        proxy_command = None
    jump = opts.get("proxyjump")
    if jump is not None and str(jump).lower() == "none":
        jump = None
    endpoint = Endpoint(
        hostname=hostname,
        port=port,
        user=user,
        key_filenames=tuple(keys),
        identities_only=str(opts.get("identitiesonly", "no")).lower() == "yes",
        host_key_alias=str(opts["hostkeyalias"]) if "hostkeyalias" in opts else None,
        known_hosts_files=tuple(known),
        proxy_command=None if proxy_command is None else str(proxy_command),
    )
    return endpoint, None if jump is None else str(jump)


def resolve(
    config: paramiko.SSHConfig,
    address: str,
    *,
    port: int | None = None,
    user: str | None = None,
    key_filename: str | None = None,
    proxy_jump: Sequence[str] | None = None,
    proxy_command: str | None = None,
) -> Target:
    """The target for `address` and its ProxyJump chain, from the config.

    Jump hosts get their own HostName/User/Port/IdentityFile from the config
    (their own ProxyJump is not followed: write the chain with commas);
    `key_filename` is offered to a jump host that has no IdentityFile.

    `proxy_jump` (``[user@]host[:port]`` hops; empty: connect directly) or
    `proxy_command` (with %h %p %r %n %% tokens), when given, replace both the
    config's ProxyJump and its ProxyCommand.
    """
    endpoint, jump = endpoint_for(config, address, port=port, user=user, key_filename=key_filename)
    if proxy_command is not None:
        command = expand_proxy_command(proxy_command, endpoint, address)
        endpoint, jump = replace(endpoint, proxy_command=command), None
    elif proxy_jump is not None:
        endpoint, jump = replace(endpoint, proxy_command=None), ",".join(proxy_jump)
    jumps: list[Endpoint] = []
    for spec in (jump or "").split(","):
        if not spec.strip():
            continue
        juser, jhost, jport = parse_jump(spec)
        hop, _ = endpoint_for(config, jhost, port=jport, user=juser)
        hop = replace(hop, proxy_command=None)
        if not hop.key_filenames and key_filename is not None:
            hop = replace(hop, key_filenames=(os.path.expanduser(key_filename),))
        jumps.append(hop)
    if jumps:
        # OpenSSH uses whichever of ProxyJump/ProxyCommand comes first; we prefer ProxyJump.
        endpoint = replace(endpoint, proxy_command=None)
    return Target(endpoint, tuple(jumps))


_PROXY_TOKEN = re.compile(r"%(.?)", re.DOTALL)


def expand_proxy_command(command: str, endpoint: Endpoint, alias: str) -> str:
    """OpenSSH's ProxyCommand tokens: %h host, %p port, %r user, %n the name as given, %%."""
    values = {
        "h": endpoint.hostname,
        "p": str(endpoint.port),
        "r": endpoint.user,
        "n": alias,
        "%": "%",
    }

    def one(m: re.Match[str]) -> str:
        if m.group(1) not in values:  # "" is a lone % at the end
            raise SSHConfigError(
                f"ProxyCommand {command!r}: unknown token %{m.group(1)} (known: %h %p %r %n %%)"
            )
        return values[m.group(1)]

    return _PROXY_TOKEN.sub(one, command)
