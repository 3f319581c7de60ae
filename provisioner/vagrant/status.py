"""`vagrant status --machine-readable`: which machines exist, and which run.

Each record is one line, ``TIMESTAMP,TARGET,TYPE,DATA...``; commas inside
data are written ``%!(VAGRANT_COMMA)``, newlines ``\\n``. We read the types
``state`` (running, poweroff, not_created, saved, aborted, shutoff, ...),
``provider-name`` and ``metadata,provider,NAME``. Lines that are not records
(a Vagrantfile may print its own) are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from provisioner.vagrant.errors import VagrantError

__all__ = ["RUNNING", "MachineStatus", "parse_status", "unescape"]

RUNNING = "running"
_RECORD = re.compile(r"(\d+),([^,]*),([^,]+)(?:,(.*))?")


@dataclass(frozen=True)
class MachineStatus:
    name: str
    state: str  # Vagrant's state id; "" when it named none
    provider: str | None = None

    @property
    def running(self) -> bool:
        return self.state == RUNNING


def unescape(data: str) -> str:
    """One field of a machine-readable record, as Vagrant meant it."""
    return data.replace("%!(VAGRANT_COMMA)", ",").replace("\\n", "\n").replace("\\r", "\r")


def parse_status(stdout: str) -> list[MachineStatus]:
    """The machines, in the Vagrantfile's order."""
    states: dict[str, str] = {}
    providers: dict[str, str] = {}
    for line in stdout.splitlines():
        m = _RECORD.fullmatch(line.strip())
        if m is None or not m.group(2):
            continue  # not a record, or one about no machine (ui messages)
        target, kind = m.group(2), m.group(3)
        data = [unescape(f) for f in (m.group(4) or "").split(",")]
        states.setdefault(target, "")
        if kind == "state":
            states[target] = data[0]
        elif kind == "provider-name":
            providers[target] = data[0]
        elif kind == "metadata" and len(data) > 1 and data[0] == "provider":
            providers.setdefault(target, data[1])
    if not states:
        first = next((line for line in stdout.splitlines() if line.strip()), "")
        raise VagrantError(
            "`vagrant status --machine-readable` listed no machine"
            + (f"; it printed: {first[:200]!r}" if first else " (it printed nothing)")
        )
    return [MachineStatus(name, state, providers.get(name)) for name, state in states.items()]
