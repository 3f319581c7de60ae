"""What a running lab owns, recorded in .lab/state.json as it is made.

Every resource is written down *before* it is created, so `down` after a crash finds
everything that may exist (and tolerates what does not).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .config import STATE_FILE

FORMAT = 1

# Hosts are reset in parallel threads; each reset records its new supervisor.
_SAVE_LOCK = threading.Lock()


@dataclass
class Process:
    pid: int
    start_time: int | None  # with the pid, names the process even if the pid is reused


@dataclass
class HostState:
    name: str
    index: int
    ip: str
    netns: str
    veth: str
    dir: str  # .lab/hosts/NAME: upper/ work/ merged/ console.log boot.sh
    merged: str
    cgroups: list[str] = field(default_factory=list)  # nspawn and the container
    supervisor_cgroups: list[str] = field(default_factory=list)  # the reboot loop
    supervisor: Process | None = None


@dataclass
class LabState:
    lower: str = ""
    repos: str = ""
    bridge: str = ""
    http: Process | None = None
    http_cgroups: list[str] = field(default_factory=list)
    hosts: dict[str, HostState] = field(default_factory=dict)
    format: int = FORMAT

    def save(self, path: Path = STATE_FILE) -> None:
        with _SAVE_LOCK:
            path.parent.mkdir(parents=True, exist_ok=True)
            # A name of its own, so a save from another process cannot take it away.
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
            os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path = STATE_FILE) -> LabState | None:
        """The recorded state, or None when there is no (readable) state file."""
        try:
            raw: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        hosts = {
            name: HostState(**{**h, "supervisor": _process(h.get("supervisor"))})
            for name, h in raw.get("hosts", {}).items()
        }
        return cls(
            lower=raw.get("lower", ""),
            repos=raw.get("repos", ""),
            bridge=raw.get("bridge", ""),
            http=_process(raw.get("http")),
            http_cgroups=list(raw.get("http_cgroups", [])),
            hosts=hosts,
            format=int(raw.get("format", FORMAT)),
        )


def _process(raw: Any) -> Process | None:
    if not isinstance(raw, dict):
        return None
    return Process(pid=int(raw["pid"]), start_time=raw.get("start_time"))
