"""getent: read an NSS database (passwd, group, hosts, services, ...) into the host's facts.

Read-only, so it runs in a dry run too and is always `ok`. As Ansible's, it
registers `ansible_facts: {getent_DATABASE: {KEY: [the other fields]}}`, each
line split on `split` (passwd, shadow, group and gshadow: ':'; other databases:
whitespace); a key found on several lines holds a list of those lists. A
missing key fails the task unless `fail_key: false` (then the key holds None).
The runner puts `ansible_facts` into the host's facts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import field_validator

from provisioner.modules import register
from provisioner.modules._args import Text
from provisioner.modules.base import (
    CONVERGED,
    Args,
    Blocked,
    Change,
    Failed,
    Kind,
    Module,
    Op,
    Plan,
    Provision,
)
from provisioner.probes.base import Probe, Seen
from provisioner.probes.getent import Entries, GetentLookup

COLON_DATABASES = frozenset({"passwd", "shadow", "group", "gshadow"})
WORD = re.compile(r"[A-Za-z0-9_.-]+")

# getent's exit codes, and what Ansible says of each.
ACCOUNT_KINDS = {"group": Kind.GROUP, "passwd": Kind.USER}
MISSING_KEY = "One or more supplied key could not be found in the database."
MESSAGES = {
    1: "Missing arguments, or database unknown.",
    2: MISSING_KEY,
    3: "Enumeration not supported on this database.",
    127: "getent is not installed on the host.",
}


class GetentArgs(Args):
    database: str
    key: Text | None = None
    split: str | None = None
    fail_key: bool = True
    service: str | None = None

    @field_validator("database", "service")
    @classmethod
    def _word(cls, value: str | None) -> str | None:
        if value is not None and (not WORD.fullmatch(value) or value.startswith("-")):
            raise ValueError(
                f"{value!r} is not a database or service name (like 'passwd', 'files')"
            )
        return value

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None and (not value or "\n" in value or "\0" in value):
            raise ValueError("key must be one non-empty line")
        return value

    @field_validator("split")
    @classmethod
    def _split(cls, value: str | None) -> str | None:
        if value == "":
            raise ValueError("split must not be empty")
        return value


def records(lines: tuple[str, ...], split: str | None) -> dict[str, Any]:
    """Ansible's shape: the first field is the key, the rest its list; a key seen again
    becomes a list of such lists, in the order getent printed them."""
    out: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for line in lines:
        fields = line.split(split)
        if not fields:
            continue
        key, rest = fields[0], fields[1:]
        if key not in seen:
            out[key], seen[key] = rest, 1
            continue
        if seen[key] == 1:
            out[key] = [out[key]]
        out[key].append(rest)
        seen[key] += 1
    return out


@register
class GetentModule(Module[GetentArgs, Entries, None]):
    name = "getent"
    reads_only = True
    aliases = ("ansible.builtin.getent",)
    args_model = GetentArgs
    sets_facts = True

    def _lookup(self) -> GetentLookup:
        a = self.args
        return GetentLookup(a.database, a.key, a.service)

    def probes(self) -> tuple[Probe[Any], ...]:
        return (self._lookup(),)

    def state(self, seen: Seen) -> Entries:
        return seen(self._lookup())

    def plan(self, current: Entries) -> Plan[None]:
        if current.rc == 0 or (current.rc == 2 and not self.args.fail_key):
            return CONVERGED
        kind = ACCOUNT_KINDS.get(self.args.database)
        if current.rc == 2 and kind is not None and self.args.key is not None:
            # A group or user an earlier planned change may make (a package's): a dry run
            # says would-change; apply, where it is still missing, fails with this text.
            what = f"{self.args.database} {self.args.key}"
            return Blocked(
                Provision(kind, self.args.key), what, MISSING_KEY, fails_with=MISSING_KEY
            )
        return Failed(MESSAGES.get(current.rc, f"Unexpected failure! (getent exit {current.rc})"))

    def commands(self, change: Change[None]) -> list[Op]:
        return []  # plan() never asks for a change

    def _split(self) -> str | None:
        a = self.args
        return a.split if a.split is not None or a.database not in COLON_DATABASES else ":"

    def fields(self, current: Entries) -> Mapping[str, Any]:
        a = self.args
        tree = f"getent_{a.database}"
        if current.rc == 0:
            return {"ansible_facts": {tree: records(current.lines, self._split())}}
        if current.rc == 2 and not a.fail_key and a.key is not None:
            return {"ansible_facts": {tree: {a.key: None}}, "msg": MISSING_KEY}
        return {}
