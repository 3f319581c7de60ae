"""firewalld: a service, port, source or interface enabled or disabled in a zone, in the
runtime configuration, the permanent one, or both.

As Ansible's: `permanent: false` (the default) changes the runtime configuration
only; `permanent: true` the permanent one, and the runtime one too with `immediate:
true`. The zone defaults to the host's default zone. firewalld must be running: a
host without firewall-cmd, or where firewalld is stopped, is a missing dependency
(a dry run after a planned package install or `service: firewalld started` says
would change). Enabling a source or an interface moves it from the zone it is in
(`--change-source`, `--change-interface`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import field_validator, model_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules.base import (
    CONVERGED,
    Args,
    Blocked,
    Change,
    Kind,
    Module,
    Op,
    Plan,
    Provision,
)
from provisioner.probes.base import Probe, Seen
from provisioner.shell import facts, join, op_script, q, subshell

Item = Literal["service", "port", "source", "interface"]
ITEMS: tuple[Item, ...] = ("service", "port", "source", "interface")
Target = Literal["runtime", "permanent"]
PORT = re.compile(r"(\d{1,5})(?:-(\d{1,5}))?/(tcp|udp|sctp|dccp)")
UNIT = "firewalld.service"


def _word(value: str | None, what: str) -> str | None:
    if value is not None and (not value or re.search(r"[\s\0]", value)):
        raise ValueError(f"{what} {value!r} must be one word")
    return value


class FirewalldArgs(Args):
    service: str | None = None
    port: str | None = None
    source: str | None = None
    interface: str | None = None
    zone: str | None = None
    permanent: bool = False
    immediate: bool = False
    state: Literal["enabled", "disabled", "present", "absent"]

    @field_validator("service", "source", "interface", "zone")
    @classmethod
    def _one_word(cls, value: str | None) -> str | None:
        return _word(value, "value")

    @field_validator("port")
    @classmethod
    def _port(cls, value: str | None) -> str | None:
        if value is None:
            return None
        m = PORT.fullmatch(value.strip())
        if not m or not all(1 <= int(p) <= 65535 for p in m.groups()[:2] if p):
            raise ValueError(f"port {value!r} must be PORT/PROTOCOL or PORT-PORT/PROTOCOL")
        return value.strip()

    @model_validator(mode="after")
    def _one_item(self) -> FirewalldArgs:
        given = [i for i in ITEMS if getattr(self, i) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(ITEMS)}")
        if self.state in ("present", "absent"):
            raise ValueError("state present/absent is for zones, which are not supported")
        return self

    @property
    def item(self) -> tuple[Item, str]:
        kind = next(i for i in ITEMS if getattr(self, i) is not None)
        return kind, str(getattr(self, kind))

    @property
    def targets(self) -> tuple[Target, ...]:
        if not self.permanent:
            return ("runtime",)
        return ("runtime", "permanent") if self.immediate else ("permanent",)


@dataclass(frozen=True)
class Firewall:
    found: Literal["missing", "stopped", "running"]
    zone: str = ""
    enabled: tuple[tuple[Target, bool], ...] = ()  # per configuration asked


def _query(target: Target, kind: Item, value: str) -> list[str]:
    permanent = ["--permanent"] if target == "permanent" else []
    argv = join(["firewall-cmd", *permanent]) + ' --zone="$zone" ' + q(f"--query-{kind}={value}")
    return [
        f"out=$({argv} 2>&1)",
        f'echo "{target}_rc=$?"',
        f"printf '%s\\n' \"$out\" | head -n 3 | sed 's/^/{target}_says /'",
    ]


@dataclass(frozen=True)
class FirewallQuery(Probe[Firewall]):
    kind: Item
    value: str
    zone: str | None
    targets: tuple[Target, ...]

    def command(self) -> str:
        zone = f"zone={q(self.zone)}" if self.zone else "zone=$(firewall-cmd --get-default-zone)"
        queries = [ln for t in self.targets for ln in _query(t, self.kind, self.value)]
        return subshell(
            "if ! command -v firewall-cmd >/dev/null 2>&1; then echo fw=missing; exit 0; fi",
            "if ! firewall-cmd --state >/dev/null 2>&1; then echo fw=stopped; exit 0; fi",
            "echo fw=running",
            zone,
            "printf 'zone=%s\\n' \"$zone\"",
            *queries,
        )

    def parse(self, stdout: str, exit_code: int) -> Firewall:
        lines = stdout.splitlines()
        f = facts(lines)
        found = f.get("fw")
        if found == "missing":
            return Firewall("missing")
        if found == "stopped":
            return Firewall("stopped")
        if found != "running" or not f.get("zone"):
            raise ProbeError(f"firewalld: cannot understand the probe output: {stdout[-200:]!r}")
        enabled: list[tuple[Target, bool]] = []
        for target in self.targets:
            rc = f.get(f"{target}_rc", "")
            if rc not in ("0", "1"):
                says = f"{target}_says "
                said = " ".join(ln[len(says) :] for ln in lines if ln.startswith(says)).strip()
                raise ProbeError(
                    f"firewalld: cannot query {self.kind} {self.value} in zone {f['zone']}"
                    f" ({target}): {said or 'exit ' + rc}"
                )
            enabled.append((target, rc == "0"))
        return Firewall("running", f["zone"], tuple(enabled))


@dataclass(frozen=True)
class FirewallPlan:
    zone: str
    enable: bool
    targets: tuple[Target, ...]


@register
class FirewalldModule(Module[FirewalldArgs, Firewall, FirewallPlan]):
    name = "firewalld"
    aliases = ("ansible.posix.firewalld",)
    differs = (
        "a service, port, source or interface per task: no zone operations "
        "(present/absent), rich rules, masquerade, forwarding, ICMP blocks, timeout or "
        "offline"
    )
    args_model = FirewalldArgs

    def _probe(self) -> FirewallQuery:
        a = self.args
        return FirewallQuery(*a.item, a.zone, a.targets)

    def probes(self) -> tuple[Probe[Any], ...]:
        return (self._probe(),)

    def state(self, seen: Seen) -> Firewall:
        return seen(self._probe())

    def plan(self, current: Firewall) -> Plan[FirewallPlan]:
        if current.found == "missing":
            return Blocked(Provision(Kind.PACKAGE, "firewalld"), "firewall-cmd (package firewalld)")
        if current.found == "stopped":
            why = f"firewall-cmd --state says not running; start {UNIT} first"
            return Blocked(Provision(Kind.UNIT, UNIT), "a running firewalld", why)
        enable = self.args.state == "enabled"
        todo = tuple(t for t, on in current.enabled if on != enable)
        if not todo:
            return CONVERGED
        kind, value = self.args.item
        sign = "+" if enable else "-"
        summary = tuple(f"{sign} {kind} {value} (zone {current.zone}, {t})" for t in todo)
        return Change(summary, FirewallPlan(current.zone, enable, todo))

    def commands(self, change: Change[FirewallPlan]) -> list[Op]:
        p = change.payload
        kind, value = self.args.item
        verb = "remove"
        if p.enable:
            verb = "change" if kind in ("source", "interface") else "add"
        lines = [
            join(
                [
                    "firewall-cmd",
                    *(["--permanent"] if t == "permanent" else []),
                    f"--zone={p.zone}",
                    f"--{verb}-{kind}={value}",
                ]
            )
            for t in p.targets
        ]
        return [Op(op_script(*lines))]
