"""service_facts: every systemd service as Ansible's `ansible_facts.services` has it.

Read-only, so it runs the same in a dry run. From two listings: `systemctl
list-units` (the loaded units: running or stopped, and their active state) and
`systemctl list-unit-files` (whether each is enabled; a unit file that is not
loaded is `inactive`, what `systemctl show` says of it). `state` is `running`
when the unit's sub-state is running, else `stopped`; `status` is `not-found`,
`masked` or `failed` when systemd says so, else the unit file's state (enabled,
disabled, static, ...), else the unit's active state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules._listing import Listing, bounded, listing
from provisioner.modules.base import CONVERGED, Args, Change, Converged, Module, Op
from provisioner.probes.base import Probe, Seen
from provisioner.shell import subshell

MAX_UNITS = 20_000
BAD = ("not-found", "masked", "failed")
UNITS = "systemctl list-units --type=service --all --no-legend --plain --no-pager"
UNIT_FILES = "systemctl list-unit-files --type=service --no-legend --no-pager"


class ServiceFactsArgs(Args):
    pass


@dataclass(frozen=True)
class Service:
    name: str
    state: str
    status: str

    def as_fact(self) -> dict[str, str]:
        return {"name": self.name, "state": self.state, "status": self.status, "source": "systemd"}


@dataclass(frozen=True)
class Services(Probe[tuple[Service, ...]]):
    def command(self) -> str:
        return subshell(
            "if ! command -v systemctl >/dev/null 2>&1; then echo nosystemctl=1; exit 0; fi",
            bounded("unit", UNITS, MAX_UNITS),
            bounded("file", UNIT_FILES, MAX_UNITS),
        )

    def parse(self, stdout: str, exit_code: int) -> tuple[Service, ...]:
        if "nosystemctl=1" in stdout.splitlines():
            raise ProbeError("service_facts: systemctl not found: only systemd hosts are supported")
        units = _ok(listing(stdout, "unit", "service_facts"), "list-units")
        files = _ok(listing(stdout, "file", "service_facts"), "list-unit-files")
        found: dict[str, Service] = {}
        for line in units:
            words = line.split()
            if words and words[0] in ("●", "*"):  # the bullet of a unit not found
                words = words[1:]
            if len(words) < 4 or not words[0].endswith(".service"):
                continue
            name, load, active, sub = words[:4]
            bad = next((b for b in BAD if b in (load, active, sub)), None)
            state = "running" if sub == "running" else "stopped"
            found[name] = Service(name, state, bad or active)
        for line in files:
            words = line.split()
            if len(words) < 2 or not words[0].endswith(".service"):
                continue
            name, status = words[:2]
            known = found.get(name)
            if known is None:
                found[name] = Service(name, "inactive", status)
            elif known.status not in BAD:
                found[name] = Service(name, known.state, status)
        return tuple(found.values())


def _ok(got: Listing, what: str) -> tuple[str, ...]:
    if got.rc != 0:
        raise ProbeError(f"service_facts: systemctl {what} failed (exit {got.rc})")
    if got.truncated:
        raise ProbeError(f"service_facts: systemctl {what} lists more than {MAX_UNITS} units")
    return got.lines


@register
class ServiceFactsModule(Module[ServiceFactsArgs, tuple[Service, ...], None]):
    name = "service_facts"
    reads_only = True
    aliases = ("ansible.builtin.service_facts",)
    differs = "systemd hosts only"
    args_model = ServiceFactsArgs
    sets_facts = True

    def probes(self) -> tuple[Probe[Any], ...]:
        return (Services(),)

    def state(self, seen: Seen) -> tuple[Service, ...]:
        return seen(Services())

    def plan(self, current: tuple[Service, ...]) -> Converged:
        return CONVERGED

    def commands(self, change: Change[None]) -> list[Op]:
        return []

    def fields(self, current: tuple[Service, ...]) -> Mapping[str, Any]:
        return {"ansible_facts": {"services": {s.name: s.as_fact() for s in current}}}
