"""known_hosts checking with OpenSSH semantics, as a paramiko MissingHostKeyPolicy.

The SSH client is given no host keys of its own, so paramiko hands every
server key to `HostKeyChecker`, which decides with the known_hosts files:

- a key listed for the host (plain, hashed ``|1|...`` or ``[host]:port``
  entries, ``*``/``?`` patterns and ``!`` negations) is accepted;
- a host listed with other keys only is refused as CHANGED under every policy
  but ``off`` (also when the listed keys are of another type: that is how a
  man in the middle would offer a key we cannot compare);
- an unknown host is refused (``strict``), saved and accepted
  (``accept-new``), or accepted without saving (``off``);
- a key marked ``@revoked`` is always refused.

Never paramiko's AutoAddPolicy.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import shlex
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import paramiko

from provisioner.errors import HostKeyError

log = logging.getLogger(__name__)

HostKeyPolicy = Literal["strict", "accept-new", "off"]

_save_lock = threading.Lock()


def fingerprint(blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob: ``SHA256:base64-without-padding``."""
    digest = hashlib.sha256(blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def known_hosts_name(hostname: str, port: int) -> str:
    """The name a host is filed under in known_hosts: ``host`` or ``[host]:port``."""
    return hostname if port == 22 else f"[{hostname}]:{port}"


@dataclass(frozen=True)
class KnownHostEntry:
    path: str
    line: int
    marker: str | None  # None, "@revoked" or "@cert-authority"
    key_type: str
    blob: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.blob)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def _hashed_match(entry: str, name: str) -> bool:
    # |1|base64(salt)|base64(hmac-sha1(salt, name))
    parts = entry.split("|")
    if len(parts) != 4:
        return False
    try:
        salt = base64.b64decode(parts[2])
        want = base64.b64decode(parts[3])
    except (binascii.Error, ValueError):
        return False
    got = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return hmac.compare_digest(got, want)


def _pattern_match(pattern: str, name: str) -> bool:
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == name.lower()
    return _pattern_rx(pattern).fullmatch(name) is not None


@lru_cache(maxsize=4096)
def _pattern_rx(pattern: str) -> re.Pattern[str]:
    # OpenSSH patterns know only * and ?; brackets in "[host]:port" are literal.
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(rx, flags=re.IGNORECASE)


def hostnames_match(field: str, name: str) -> bool:
    """Does the hostnames field of a known_hosts line name `name`?"""
    matched = False
    for pat in field.split(","):
        if not pat:
            continue
        if pat.startswith("|"):
            if _hashed_match(pat, name):
                matched = True
            continue
        if pat.startswith("!"):
            if _pattern_match(pat[1:], name):
                return False
            continue
        if _pattern_match(pat, name):
            matched = True
    return matched


class KnownHosts:
    """The known_hosts files to read (in order) and the one to append new keys to."""

    def __init__(self, read: Sequence[str], save_to: str | None = None) -> None:
        self.read = [os.path.expanduser(p) for p in read]
        self.save_to = os.path.expanduser(save_to) if save_to else None

    def entries(self, name: str) -> list[KnownHostEntry]:
        """Every entry naming `name`, in file order."""
        found: list[KnownHostEntry] = []
        seen: set[str] = set()
        for path in self.read:
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            found.extend(_scan(path, name))
        return found

    def add(self, name: str, key: paramiko.PKey) -> str:
        """Append `key` for `name` to `save_to` (file made 0600, dir 0700); returns the path."""
        if self.save_to is None:
            raise ValueError("no known_hosts file to save to")
        path = self.save_to
        line = f"{name} {key.get_name()} {key.get_base64()}\n"
        with _save_lock:
            directory = os.path.dirname(path)
            if directory:
                os.makedirs(directory, mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                size = os.fstat(fd).st_size
                if size:
                    with open(path, "rb") as f:
                        f.seek(size - 1)
                        if f.read(1) != b"\n":
                            line = "\n" + line
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        return path


@dataclass(frozen=True)
class _Line:
    """One known_hosts line, split once."""

    lineno: int
    marker: str | None
    hostnames: str
    key_type: str
    key: str
    plain: frozenset[str] | None  # its names, lowercased, when all are plain (no |, !, *, ?)


@dataclass(frozen=True)
class _File:
    """A known_hosts file read once: plain lines by name, the others scanned."""

    by_name: dict[str, tuple[_Line, ...]]
    patterned: tuple[_Line, ...]


_files: dict[str, tuple[str, _File]] = {}  # path → (its text, that text split)
_files_lock = threading.Lock()


def _scan(path: str, name: str) -> Iterable[KnownHostEntry]:
    known = _read(path)
    if known is None:
        return
    lines = [*known.by_name.get(name.lower(), ()), *known.patterned]
    for line in sorted(lines, key=lambda x: x.lineno):
        if line.plain is None and not hostnames_match(line.hostnames, name):
            continue
        try:
            blob = base64.b64decode(line.key, validate=True)
        except (binascii.Error, ValueError):
            log.warning("%s:%d: unreadable key in known_hosts, ignored", path, line.lineno)
            continue
        yield KnownHostEntry(path, line.lineno, line.marker, line.key_type, blob)


def _read(path: str) -> _File | None:
    """The file split into lines once while its text stays the same: every host of a
    run asks, and matching each line's patterns per host grew with the square of the
    hosts. The text is read each time (a key saved since, an edit by hand must count)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        log.warning("cannot read known_hosts file %s: %s", path, e)
        return None
    with _files_lock:
        last = _files.get(path)
    if last is not None and last[0] == text:
        return last[1]
    known = _parse(text)
    with _files_lock:
        _files[path] = (text, known)
    return known


def _parse(text: str) -> _File:
    by_name: dict[str, list[_Line]] = {}
    patterned: list[_Line] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields or fields[0].startswith("#"):
            continue
        marker = fields.pop(0) if fields[0].startswith("@") else None
        if len(fields) < 3:
            continue
        names = [n for n in fields[0].split(",") if n]
        simple = not any(c in n for n in names for c in "|!*?")
        plain = frozenset(n.lower() for n in names) if simple else None
        line = _Line(lineno, marker, fields[0], fields[1], fields[2], plain)
        if plain is None:
            patterned.append(line)
        for n in plain or ():
            by_name.setdefault(n, []).append(line)
    return _File({k: tuple(v) for k, v in by_name.items()}, tuple(patterned))


_RSA_ALGOS = ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]


class HostKeyChecker(paramiko.MissingHostKeyPolicy):
    """Checks a server's key against known_hosts for one endpoint.

    `host` is the inventory name (messages start with it), `where` is
    "address:port" for messages, `name` the known_hosts name
    (``known_hosts_name(hostname, port)`` or a HostKeyAlias).
    """

    def __init__(
        self,
        *,
        host: str,
        where: str,
        name: str,
        policy: HostKeyPolicy,
        known_hosts: KnownHosts,
    ) -> None:
        if policy not in ("strict", "accept-new", "off"):
            raise ValueError(f"unknown host key policy {policy!r}")
        self.host = host
        self.where = where
        self.name = name
        self.policy: HostKeyPolicy = policy
        self.known_hosts = known_hosts
        self.checked = False

    def preferred_key_types(self) -> list[str]:
        """Host key algorithms to ask for first: those known_hosts has for this host."""
        out: list[str] = []
        for e in self.known_hosts.entries(self.name):
            if e.marker is not None:
                continue
            for algo in _RSA_ALGOS if e.key_type == "ssh-rsa" else [e.key_type]:
                if algo not in out:
                    out.append(algo)
        return out

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        self.check(key)

    def check(self, key: paramiko.PKey) -> None:
        """Accept `key` (returns) or raise HostKeyError; saves it under accept-new."""
        blob = key.asbytes()
        ktype = key.get_name()
        fp = fingerprint(blob)
        if self.policy == "off":
            log.debug("%s: host key check off, accepting %s %s", self.host, ktype, fp)
            self.checked = True
            return
        entries = self.known_hosts.entries(self.name)
        for e in entries:
            if e.marker == "@revoked" and e.blob == blob:
                raise HostKeyError(
                    self.host,
                    f"the host key of {self.where} ({ktype} {fp}) is marked @revoked "
                    f"in {e.where}; refusing to connect.",
                )
        plain = [e for e in entries if e.marker is None]
        if any(e.blob == blob for e in plain):
            self.checked = True
            return
        if plain:
            raise HostKeyError(self.host, self._changed_message(ktype, fp, plain))
        if self.policy == "strict":
            raise HostKeyError(
                self.host,
                f"the host key of {self.where} is not known ({ktype} {fp}) and "
                f"host_key_policy is 'strict'. Check the fingerprint, then add it to "
                f"known_hosts (for example `ssh-keyscan{self._port_opt()} {self._host_part()} "
                f">> ~/.ssh/known_hosts`), or set host_key_policy: accept-new "
                "to trust a host on first connection.",
            )
        try:
            path = self.known_hosts.add(self.name, key)
        except (OSError, ValueError) as e:
            raise HostKeyError(
                self.host,
                f"cannot save the new host key of {self.where} ({ktype} {fp}): {e}",
            ) from e
        log.info("%s: new host key %s %s for %s saved to %s", self.host, ktype, fp, self.name, path)
        self.checked = True

    def _host_part(self) -> str:
        m = re.fullmatch(r"\[(.*)\]:(\d+)", self.name)
        return m.group(1) if m else self.name

    def _port_opt(self) -> str:
        m = re.fullmatch(r"\[(.*)\]:(\d+)", self.name)
        return f" -p {m.group(2)}" if m else ""

    def _changed_message(self, ktype: str, fp: str, known: list[KnownHostEntry]) -> str:
        same_type = [e for e in known if e.key_type == ktype]
        lines = ", ".join(f"{e.where} ({e.key_type} {e.fingerprint})" for e in (same_type or known))
        files = sorted({e.path for e in (same_type or known)})
        fix = "; ".join(
            f"ssh-keygen -R {shlex.quote(self.name)} -f {shlex.quote(p)}" for p in files
        )
        if same_type:
            what = f"the host key of {self.where} has CHANGED: it now offers {ktype} {fp}, "
        else:
            what = (
                f"the host key of {self.where} has CHANGED: it offers {ktype} {fp}, "
                f"but known_hosts lists only other key types for {self.name}: "
            )
        return (
            what + f"known_hosts has {lines}. Someone may be intercepting the connection "
            "(man in the middle), or the host was reinstalled. Refusing to connect. "
            f"If the change is expected, remove the old key ({fix}) and connect again "
            "(for Vagrant machines, `provision inventory from-vagrant` again does that)."
        )
