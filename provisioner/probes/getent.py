"""Any NSS database through getent(1): what it printed, and its exit code.

getent's codes: 0 found, 1 bad arguments or unknown database, 2 a key not found,
3 the database cannot be enumerated; 127: no getent at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.probes.base import Probe
from provisioner.shell import join


@dataclass(frozen=True)
class Entries:
    rc: int
    lines: tuple[str, ...]


@dataclass(frozen=True)
class GetentLookup(Probe[Entries]):
    database: str
    key: str | None = None
    service: str | None = None

    def command(self) -> str:
        service = ["-s", self.service] if self.service else []
        key = ["--", self.key] if self.key is not None else []
        return "getent " + join([*service, self.database, *key])

    def parse(self, stdout: str, exit_code: int) -> Entries:
        return Entries(exit_code, tuple(line for line in stdout.splitlines() if line))
