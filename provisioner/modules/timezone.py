"""timezone: the system time zone (and, with systemd, whether the hardware clock is local).

As community.general's: where `timedatectl status` answers (EL7 and later),
it is read and `timedatectl set-timezone` / `set-local-rtc` set it. Elsewhere (a
container without systemd) /etc/localtime is made a link to the zone's file, as
timedatectl makes it, and an existing /etc/sysconfig/clock gets `ZONE="NAME"`
(Ansible also creates that file, and copies the zone file instead of linking).
A zone with no file under /usr/share/zoneinfo fails the task.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import field_validator, model_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules._files import Accounts, FileWish, WritePlan, plan_write, write_ops
from provisioner.modules.base import CONVERGED, Args, Change, Failed, Module, Op, Plan
from provisioner.modules.lineinfile import split_lines
from provisioner.probes.base import Probe, Seen
from provisioner.probes.files import ContentState, FileContent
from provisioner.probes.timezone import ClockState, TimezoneProbe
from provisioner.shell import join, op_script, q

ZONE_NAME = re.compile(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*")
CLOCK_ZONE = re.compile(r'^ZONE\s*=\s*"?([^"\s]+)"?')


class TimezoneArgs(Args):
    renamed: ClassVar[Mapping[str, str]] = {"rtc": "hwclock"}

    name: str | None = None
    hwclock: Literal["local", "UTC"] | None = None

    @field_validator("name")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None and not ZONE_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a time zone name like 'Europe/Paris' or 'UTC'")
        return value

    @model_validator(mode="after")
    def _some(self) -> TimezoneArgs:
        if self.name is None and self.hwclock is None:
            raise ValueError("give 'name', 'hwclock' or both")
        return self


@dataclass(frozen=True)
class Paths:
    """Where the zone lives on the host (tests point these into a temp dir)."""

    localtime: str = "/etc/localtime"
    zoneinfo: str = "/usr/share/zoneinfo"
    clock: str = "/etc/sysconfig/clock"


@dataclass(frozen=True)
class TzState:
    clock: ClockState
    sysconfig: ContentState | None  # /etc/sysconfig/clock, asked when a zone is named


@dataclass(frozen=True)
class TzPlan:
    set_zone: bool = False  # timedatectl set-timezone
    rtc: str | None = None  # timedatectl set-local-rtc
    relink: bool = False  # /etc/localtime → the zone's file
    sysconfig: WritePlan | None = None


def clock_zone(text: str) -> str | None:
    for line in split_lines(text):
        found = CLOCK_ZONE.match(line)
        if found:
            return found.group(1)
    return None


def with_zone(text: str, zone: str) -> str:
    """/etc/sysconfig/clock with its first ZONE line set (others dropped), or one on top."""
    lines = split_lines(text)
    hits = [i for i, line in enumerate(lines) if CLOCK_ZONE.match(line)]
    at = hits[0] if hits else 0
    kept = [line for i, line in enumerate(lines) if i not in hits]
    kept.insert(at, f'ZONE="{zone}"\n')
    return "".join(kept)


@register
class TimezoneModule(Module[TimezoneArgs, TzState, TzPlan]):
    name = "timezone"
    aliases = ("community.general.timezone",)
    args_model = TimezoneArgs
    paths: ClassVar[Paths] = Paths()

    def _clock(self) -> TimezoneProbe:
        return TimezoneProbe(self.args.name, self.paths.localtime, self.paths.zoneinfo)

    def _sysconfig(self) -> FileContent | None:
        return FileContent(self.paths.clock) if self.args.name else None

    def probes(self) -> tuple[Probe[Any], ...]:
        sysconfig = self._sysconfig()
        return (self._clock(), *((sysconfig,) if sysconfig else ()))

    def state(self, seen: Seen) -> TzState:
        sysconfig = self._sysconfig()
        return TzState(seen(self._clock()), seen(sysconfig) if sysconfig else None)

    def plan(self, current: TzState) -> Plan[TzPlan]:
        a, clock = self.args, current.clock
        if a.name is not None and not clock.zone_file:
            return Failed(
                f"unknown time zone {a.name!r}: the host has no "
                f"{self.paths.zoneinfo}/{a.name} (is tzdata installed?)"
            )
        if not clock.timedatectl:
            return self._plan_files(current)
        lines: list[str] = []
        set_zone = a.name is not None and clock.zone != a.name
        if set_zone:
            lines.append(f"timezone: {clock.zone} → {a.name}")
        rtc = None
        if a.hwclock is not None and clock.rtc != a.hwclock:
            if clock.rtc is None:
                raise ProbeError("timedatectl status does not say how the hardware clock runs")
            lines.append(f"hwclock: {clock.rtc} → {a.hwclock}")
            rtc = a.hwclock
        if not lines:
            return CONVERGED
        return Change(tuple(lines), TzPlan(set_zone=set_zone, rtc=rtc))

    def _plan_files(self, current: TzState) -> Plan[TzPlan]:
        a, clock = self.args, current.clock
        if a.hwclock is not None:
            return Failed("hwclock is set with timedatectl (systemd), which does not answer here")
        assert a.name is not None
        lines: list[str] = []
        # A copy of the zone's file in place of the link is that zone too (Ansible's way).
        relink = clock.zone != a.name and not (clock.link is None and clock.same_file)
        if relink:
            lines.append(f"timezone: {clock.zone or 'n/a'} → {a.name}")
            lines.append(f"{self.paths.localtime} -> {self._target()}")
        write = diff = None
        sysconfig = current.sysconfig
        if sysconfig is not None and sysconfig.kind == "file" and sysconfig.content is not None:
            text = sysconfig.content.decode("utf-8", "surrogateescape")
            if clock_zone(text) != a.name:
                new = with_zone(text, a.name).encode("utf-8", "surrogateescape")
                planned = plan_write(sysconfig, Accounts(), FileWish(new))
                if isinstance(planned, Change):
                    lines.append(f'{self.paths.clock}: ZONE="{a.name}"')
                    write, diff = planned.payload, planned.diff
        if not lines:
            return CONVERGED
        return Change(tuple(lines), TzPlan(relink=relink, sysconfig=write), diff)

    def _target(self) -> str:
        """The link /etc/localtime holds: relative, as timedatectl writes it."""
        zone_file = f"{self.paths.zoneinfo}/{self.args.name}"
        return posixpath.relpath(zone_file, posixpath.dirname(self.paths.localtime))

    def commands(self, change: Change[TzPlan]) -> list[Op]:
        a, p = self.args, change.payload
        ops = []
        if p.set_zone and a.name is not None:
            ops.append(Op(op_script(join(["timedatectl", "set-timezone", a.name]))))
        if p.rtc is not None:
            local = "yes" if p.rtc == "local" else "no"
            ops.append(Op(op_script(join(["timedatectl", "set-local-rtc", local]))))
        if p.relink:
            lt = q(self.paths.localtime)
            tmp = q(posixpath.join(posixpath.dirname(self.paths.localtime), ".localtime.provision"))
            ops.append(
                Op(
                    op_script(
                        f"tmp={tmp}.$$",
                        "trap 'rm -f -- \"$tmp\"' EXIT",
                        f'ln -s -- {q(self._target())} "$tmp"',
                        f'mv -f -T -- "$tmp" {lt}',
                        "trap - EXIT",
                    )
                )
            )
        if p.sysconfig is not None:
            ops += write_ops(p.sysconfig)
        return ops
