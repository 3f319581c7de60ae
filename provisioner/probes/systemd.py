"""A systemd unit as `systemctl show` describes it: every property, once.

The service module plans from four of them (LoadState, ActiveState,
UnitFileState, NeedDaemonReload) and registers them all as `status`, as
Ansible's systemd module does (`status.FragmentPath`, `status.MainPID`).

NeedDaemonReload misses a drop-in in a directory made since the last daemon-reload
(systemd looks for drop-ins only in the directories it knew then): `DropIns` compares
the drop-in files on disk with the ones systemd loaded (DropInPaths).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from provisioner.errors import ProbeError
from provisioner.probes.base import Probe
from provisioner.shell import join, q, subshell

SHOW_LIMIT = 256 * 1024
"""Bytes of `systemctl show` read back: a unit has a few hundred properties (~15 KiB)."""

KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
NEXT_KEY = re.compile(r"[A-Z][A-Za-z0-9]*=")  # a property's line: a continuation ends there


@dataclass(frozen=True)
class UnitState:
    load: str  # loaded, not-found, masked, ...
    active: str
    unit_file: str
    need_reload: bool
    props: Mapping[str, str] = field(default_factory=dict)  # every property shown


def parse_show(text: str) -> dict[str, str]:
    """`Key=Value` lines → dict. An `Exec*={ ...` value may go on over the next lines
    until one ends with `}` or the next property begins (an argument holding a newline
    is printed so); any other line that is not `Key=Value` is ignored."""
    props: dict[str, str] = {}
    open_key: str | None = None
    for line in text.splitlines():
        if open_key is not None and not NEXT_KEY.match(line):
            props[open_key] += "\n" + line
            if line.rstrip().endswith("}"):
                open_key = None
            continue
        open_key = None
        key, sep, value = line.partition("=")
        if not sep or not KEY.fullmatch(key):
            continue
        props[key] = value
        braced = value.lstrip().startswith("{") and not value.rstrip().endswith("}")
        if key.startswith("Exec") and braced:
            open_key = key
    return props


@dataclass(frozen=True)
class UnitShow(Probe[UnitState]):
    unit: str

    def command(self) -> str:
        # Through a variable so that the exit code survives the bound on the size.
        show = join(["systemctl", "show", "--", self.unit])
        return f'out=$({show})\nrc=$?\nprintf \'%s\\n\' "$out" | head -c {SHOW_LIMIT}\nexit "$rc"'

    def parse(self, stdout: str, exit_code: int) -> UnitState:
        if len(stdout.encode("utf-8", "surrogateescape")) >= SHOW_LIMIT:
            stdout = stdout[: stdout.rfind("\n") + 1]  # the last line was cut: drop it
        props = parse_show(stdout)
        if exit_code != 0 or "LoadState" not in props or "ActiveState" not in props:
            raise ProbeError(
                f"systemctl show {self.unit} failed (exit {exit_code}): is this a systemd host?"
            )
        return UnitState(
            props["LoadState"],
            props["ActiveState"],
            props.get("UnitFileState", ""),
            props.get("NeedDaemonReload") == "yes",
            props,
        )


# Where systemd reads a unit's drop-ins (NAME.d/*.conf), /etc first.
UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)


@dataclass(frozen=True)
class DropInState:
    on_disk: frozenset[str]  # every NAME.d/*.conf file, its path resolved
    loaded: frozenset[str] | None  # DropInPaths, resolved; None: systemctl does not say

    @property
    def unseen(self) -> bool:
        """Drop-ins on disk that systemd has not loaded (or loaded ones since gone)."""
        return self.loaded is not None and self.on_disk != self.loaded


@dataclass(frozen=True)
class DropIns(Probe[DropInState]):
    unit: str
    dirs: tuple[str, ...] = UNIT_DIRS

    def command(self) -> str:
        conf = q(f"{self.unit}.d")
        return subshell(
            "set -f",
            f"for d in {join(self.dirs)}; do",
            "  set +f",
            f'  for f in "$d"/{conf}/*.conf; do',
            '    if [ -f "$f" ]; then printf \'disk=%s\\n\' "$(readlink -f -- "$f")"; fi',
            "  done",
            "  set -f",
            "done",
            # systemd 219 has no `show --value`: the property's line, its name cut off.
            f"shown=$(systemctl show -p DropInPaths -- {q(self.unit)}) || exit 1",
            'case "$shown" in DropInPaths=*) ;; *) echo loaded=unknown; exit 0 ;; esac',
            "for f in ${shown#DropInPaths=}; do",
            '  printf \'loaded=%s\\n\' "$(readlink -f -- "$f" || printf \'%s\' "$f")"',
            "done",
        )

    def parse(self, stdout: str, exit_code: int) -> DropInState:
        if exit_code != 0:
            raise ProbeError(f"systemctl show -p DropInPaths {self.unit} failed (exit {exit_code})")
        lines = stdout.splitlines()
        disk = frozenset(ln[len("disk=") :] for ln in lines if ln.startswith("disk="))
        if "loaded=unknown" in lines:
            return DropInState(disk, None)
        loaded = frozenset(ln[len("loaded=") :] for ln in lines if ln.startswith("loaded="))
        return DropInState(disk, loaded)
