"""Local accounts: `getent passwd`, `getent group`, `id -nG`.

Shared by user, group and every module with an owner or a group, so a play
that makes group docker and then a file owned by it asks `getent group
docker` once per batch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from provisioner.errors import ProbeError
from provisioner.probes.base import Probe
from provisioner.probes.footprint import ACCOUNTS, Footprint
from provisioner.shell import join

# getent: 0 found, 2 no such entry; anything else (no getent, NSS down) tells nothing.
NOT_FOUND = 2
ACCOUNTS_ONLY = frozenset({ACCOUNTS})


@dataclass(frozen=True)
class Passwd:
    found: bool | None  # None: getent could not say
    home: str = ""
    shell: str = ""
    rc: int = 0


@dataclass(frozen=True)
class PasswdEntry(Probe[Passwd]):
    name: str

    def command(self) -> str:
        return join(["getent", "passwd", "--", self.name])

    def reads(self, stdout: str) -> Footprint:
        return ACCOUNTS_ONLY

    def parse(self, stdout: str, exit_code: int) -> Passwd:
        if exit_code == NOT_FOUND:
            return Passwd(False, rc=exit_code)
        if exit_code != 0:
            return Passwd(None, rc=exit_code)
        line = stdout.splitlines()[0] if stdout.strip() else ""
        fields = line.split(":")
        if len(fields) != 7 or fields[0] != self.name:
            raise ProbeError(f"cannot read getent passwd output {line!r}")
        return Passwd(True, fields[5], fields[6])


@dataclass(frozen=True)
class GroupInfo:
    found: bool | None  # None: getent could not say
    gid: int | None = None
    rc: int = 0


@dataclass(frozen=True)
class GroupEntry(Probe[GroupInfo]):
    name: str

    def command(self) -> str:
        return join(["getent", "group", "--", self.name])

    def reads(self, stdout: str) -> Footprint:
        return ACCOUNTS_ONLY

    def parse(self, stdout: str, exit_code: int) -> GroupInfo:
        if exit_code == NOT_FOUND:
            return GroupInfo(False, rc=exit_code)
        if exit_code != 0:
            return GroupInfo(None, rc=exit_code)
        line = stdout.splitlines()[0] if stdout.strip() else ""
        fields = line.split(":")
        if len(fields) != 4 or fields[0] != self.name or not fields[2].isdigit():
            raise ProbeError(f"cannot read getent group output {line!r}")
        return GroupInfo(True, int(fields[2]))


@dataclass(frozen=True)
class Membership:
    primary: str
    supplementary: tuple[str, ...]


@dataclass(frozen=True)
class UserGroups(Probe[Membership | None]):
    """`id -nG NAME`: the primary group first; None when id knows no such user."""

    name: str

    def command(self) -> str:
        return join(["id", "-nG", "--", self.name]) + " 2>/dev/null"

    def reads(self, stdout: str) -> Footprint:
        return ACCOUNTS_ONLY

    def parse(self, stdout: str, exit_code: int) -> Membership | None:
        names = stdout.split()
        if exit_code != 0 or not names:
            return None
        return Membership(names[0], tuple(dict.fromkeys(names[1:])))


@dataclass(frozen=True)
class Shadow:
    """An account's password hash, as its sha256 only: the hash never leaves the host."""

    found: bool | None  # None: /etc/shadow could not be read (not root)
    digest: str = ""  # sha256 hex of the hash field


@dataclass(frozen=True)
class ShadowDigest(Probe[Shadow]):
    """`getent shadow NAME`, hashed on the host: the controller compares the sha256 of the
    hash it wants with it, so no password hash travels back or reaches a log."""

    name: str

    def command(self) -> str:
        return "\n".join(
            [
                f"if entry=$({join(['getent', 'shadow', '--', self.name])} 2>/dev/null); then",
                "  rest=${entry#*:}; hash=${rest%%:*}",
                "  sum=$(printf '%s' \"$hash\" | sha256sum | cut -d ' ' -f 1)",
                '  echo "digest=$sum"',
                # getent cannot tell "no such entry" from "not allowed to read": test says.
                "elif [ -r /etc/shadow ]; then echo found=no",
                "else echo unreadable=yes",
                "fi",
            ]
        )

    def reads(self, stdout: str) -> Footprint:
        return ACCOUNTS_ONLY

    def parse(self, stdout: str, exit_code: int) -> Shadow:
        words = stdout.split()
        if "unreadable=yes" in words:
            return Shadow(None)
        if "found=no" in words:
            return Shadow(False)
        for word in words:
            digest = word.removeprefix("digest=")
            if digest != word and re.fullmatch(r"[0-9a-f]{64}", digest):
                return Shadow(True, digest)
        raise ProbeError(f"cannot read the shadow probe of {self.name}")
