"""A systemd unit as `systemctl show` describes it."""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.errors import ProbeError
from provisioner.probes.base import Probe
from provisioner.shell import join

PROPS = ("LoadState", "ActiveState", "UnitFileState", "NeedDaemonReload")


@dataclass(frozen=True)
class UnitState:
    load: str  # loaded, not-found, masked, ...
    active: str
    unit_file: str
    need_reload: bool


@dataclass(frozen=True)
class UnitShow(Probe[UnitState]):
    unit: str

    def command(self) -> str:
        return join(["systemctl", "show", "-p", ",".join(PROPS), "--", self.unit])

    def parse(self, stdout: str, exit_code: int) -> UnitState:
        props = {}
        for line in stdout.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                props[key] = value
        if exit_code != 0 or "LoadState" not in props or "ActiveState" not in props:
            raise ProbeError(
                f"systemctl show {self.unit} failed (exit {exit_code}): is this a systemd host?"
            )
        return UnitState(
            props["LoadState"],
            props["ActiveState"],
            props.get("UnitFileState", ""),
            props.get("NeedDaemonReload") == "yes",
        )
