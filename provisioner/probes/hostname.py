"""The host's name as the kernel has it (`uname -n`), and whether hostnamectl answers."""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.errors import ProbeError
from provisioner.probes.base import Probe
from provisioner.shell import facts, parse_queries, subshell, unb64


@dataclass(frozen=True)
class NodeName:
    current: str
    hostnamectl: bool  # hostnamectl is there and systemd-hostnamed answers it


@dataclass(frozen=True)
class HostNameProbe(Probe[NodeName]):
    def command(self) -> str:
        return subshell(
            "printf current=; uname -n | base64 | tr -d '\\n'; echo",
            "if command -v hostnamectl >/dev/null 2>&1 && hostnamectl status >/dev/null 2>&1",
            "then echo hostnamectl=yes; fi",
        )

    def parse(self, stdout: str, exit_code: int) -> NodeName:
        f = facts(parse_queries(stdout)[""].lines)
        if not f.get("current"):
            raise ProbeError(f"cannot read the host's name: {stdout[:200]!r}")
        current = unb64(f["current"], "uname -n").decode("utf-8", "replace").strip()
        return NodeName(current, f.get("hostnamectl") == "yes")
