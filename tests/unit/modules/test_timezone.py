"""timezone: a zoneinfo tree in a temp dir, timedatectl as a stub that keeps its state."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules import registry
from provisioner.modules.base import CONVERGED, Change, Converged, Failed
from provisioner.modules.timezone import Paths, TimezoneModule
from tests.unit.modules.host import FakeHost, converge, observe, syntax_ok

# `timedatectl status` as systemd 219 (CentOS 7) and 252 (Rocky 9) print it; hand-written
# from their formats. {zone} and {rtc} are filled in by the stub.
EL7_STATUS = """\
      Local time: Mon 2025-01-06 10:00:00 CET
  Universal time: Mon 2025-01-06 09:00:00 UTC
        RTC time: Mon 2025-01-06 09:00:00
       Time zone: {zone} (CET, +0100)
     NTP enabled: yes
NTP synchronized: yes
 RTC in local TZ: {rtc}
      DST active: no
"""
EL9_STATUS = """\
               Local time: Mon 2025-01-06 10:00:00 CET
           Universal time: Mon 2025-01-06 09:00:00 UTC
                 RTC time: Mon 2025-01-06 09:00:00
                Time zone: {zone} (CET, +0100)
System clock synchronized: yes
              NTP service: active
          RTC in local TZ: {rtc}
"""

STUB = r"""#!/bin/sh
{ printf '%s\0' timedatectl "$@"; printf '\001'; } >> "$TZ_LOG"
case "$1" in
  status)
    [ -f "$TZ_DIR/format" ] || { echo "System has not been booted with systemd" >&2; exit 1; }
    sed -e "s|{zone}|$(cat "$TZ_DIR/zone")|" -e "s|{rtc}|$(cat "$TZ_DIR/rtc")|" "$TZ_DIR/format" ;;
  set-timezone)
    [ -f "$TZ_DIR/zoneinfo/$2" ] || { echo "Invalid or not installed time zone '$2'" >&2; exit 1; }
    printf '%s' "$2" > "$TZ_DIR/zone" ;;
  set-local-rtc) printf '%s' "$2" > "$TZ_DIR/rtc" ;;
  *) exit 2 ;;
esac
"""

ZONES = ("UTC", "Europe/Paris", "America/New_York")


@dataclass(frozen=True)
class Case:
    id: str
    args: dict[str, Any]
    status: str | None  # timedatectl's format; None: timedatectl does not answer
    zone: str  # what timedatectl says, or where /etc/localtime links ("copy:" a copy)
    summary: tuple[str, ...] | Converged
    calls: tuple[tuple[str, ...], ...] = ()
    rtc: str = "no"
    clock: str | None = None  # /etc/sysconfig/clock
    clock_after: str | None = None


CASES = [
    Case(
        "EL7: set the zone with timedatectl",
        {"name": "Europe/Paris"},
        EL7_STATUS,
        "UTC",
        ("timezone: UTC → Europe/Paris",),
        (("timedatectl", "set-timezone", "Europe/Paris"),),
    ),
    Case("EL9: already so", {"name": "Europe/Paris"}, EL9_STATUS, "Europe/Paris", CONVERGED),
    Case(
        "hwclock to local time",
        {"hwclock": "local"},
        EL9_STATUS,
        "UTC",
        ("hwclock: UTC → local",),
        (("timedatectl", "set-local-rtc", "yes"),),
    ),
    Case(
        "both, rtc is hwclock's alias",
        {"name": "America/New_York", "rtc": "UTC"},
        EL7_STATUS,
        "Europe/Paris",
        ("timezone: Europe/Paris → America/New_York", "hwclock: local → UTC"),
        (
            ("timedatectl", "set-timezone", "America/New_York"),
            ("timedatectl", "set-local-rtc", "no"),
        ),
        rtc="yes",
    ),
    Case(
        "timedatectl does not answer (a container): /etc/localtime is relinked",
        {"name": "Europe/Paris"},
        None,
        "UTC",
        (
            "timezone: UTC → Europe/Paris",
            "{root}/etc/localtime -> ../usr/share/zoneinfo/Europe/Paris",
        ),
    ),
    Case(
        "no timedatectl, the link is right",
        {"name": "Europe/Paris"},
        None,
        "Europe/Paris",
        CONVERGED,
    ),
    Case(
        "no timedatectl, a copy of the zone's file counts as that zone",
        {"name": "Europe/Paris"},
        None,
        "copy:Europe/Paris",
        CONVERGED,
    ),
    Case(
        "no timedatectl: an existing /etc/sysconfig/clock gets ZONE too",
        {"name": "Europe/Paris"},
        None,
        "UTC",
        (
            "timezone: UTC → Europe/Paris",
            "{root}/etc/localtime -> ../usr/share/zoneinfo/Europe/Paris",
            '{root}/etc/sysconfig/clock: ZONE="Europe/Paris"',
        ),
        clock='# written by anaconda\nZONE="UTC"\nUTC=true\nZONE=UTC\n',
        clock_after='# written by anaconda\nZONE="Europe/Paris"\nUTC=true\n',
    ),
]


class Host:
    def __init__(self, root: Path, host: FakeHost) -> None:
        self.root, self.host = root, host
        for zone in ZONES:
            f = root / "usr/share/zoneinfo" / zone
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(f"TZif {zone}\n")
        (root / "etc/sysconfig").mkdir(parents=True)
        (root / "tz").mkdir()
        (root / "tz" / "zoneinfo").symlink_to(root / "usr/share/zoneinfo")
        host.bin.mkdir(parents=True, exist_ok=True)
        (host.bin / "timedatectl").write_text(STUB)
        (host.bin / "timedatectl").chmod(0o755)

    def module(self, args: dict[str, Any]) -> TimezoneModule:
        root = self.root

        class Here(TimezoneModule):
            paths = Paths(
                f"{root}/etc/localtime", f"{root}/usr/share/zoneinfo", f"{root}/etc/sysconfig/clock"
            )

        return Here.from_dict(args)

    def run(self, script: str, env: dict[str, str] | None = None) -> Any:
        full = {"TZ_DIR": str(self.root / "tz"), "TZ_LOG": str(self.host.log), **(env or {})}
        return self.host.run(script, full)

    @property
    def localtime(self) -> Path:
        return self.root / "etc/localtime"


@pytest.fixture
def tz(host: FakeHost, tmp_path: Path) -> Host:
    return Host(tmp_path / "root", host)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_plan_commands_and_convergence(tz: Host, tmp_path: Path, case: Case) -> None:
    if case.status is not None:
        (tz.root / "tz/format").write_text(case.status)
        (tz.root / "tz/zone").write_text(case.zone)
        (tz.root / "tz/rtc").write_text(case.rtc)
    if case.zone.startswith("copy:"):
        tz.localtime.write_bytes((tz.root / "usr/share/zoneinfo" / case.zone[5:]).read_bytes())
    else:
        tz.localtime.symlink_to(f"../usr/share/zoneinfo/{case.zone}")
    if case.clock is not None:
        (tz.root / "etc/sysconfig/clock").write_text(case.clock)
    module = tz.module(case.args)
    assert syntax_ok(module.probe())
    first, again = converge(module, tmp_path, tz.run)
    sets = [tuple(c) for c in tz.host.calls("timedatectl") if c[1] != "status"]
    if isinstance(case.summary, Converged):
        assert first is CONVERGED and sets == []
        return
    assert isinstance(first, Change)
    assert first.summary == tuple(s.replace("{root}", str(tz.root)) for s in case.summary)
    assert sets == list(case.calls)
    assert again is CONVERGED
    if case.status is None:
        assert os.readlink(tz.localtime) == f"../usr/share/zoneinfo/{case.args['name']}"
    if case.clock_after is not None:
        assert (tz.root / "etc/sysconfig/clock").read_text() == case.clock_after


def test_an_unknown_zone_fails_even_in_a_dry_run(tz: Host) -> None:
    tz.localtime.symlink_to("../usr/share/zoneinfo/UTC")
    module = tz.module({"name": "Europe/Pariss"})
    failed = module.plan(observe(module, tz.run))
    assert isinstance(failed, Failed)
    assert failed.msg == (
        f"unknown time zone 'Europe/Pariss': the host has no "
        f"{tz.root}/usr/share/zoneinfo/Europe/Pariss (is tzdata installed?)"
    )


def test_hwclock_without_timedatectl_fails(tz: Host) -> None:
    tz.localtime.symlink_to("../usr/share/zoneinfo/UTC")
    module = tz.module({"hwclock": "local"})
    failed = module.plan(observe(module, tz.run))
    assert isinstance(failed, Failed) and "timedatectl" in failed.msg


def test_a_status_without_a_zone_is_an_error(tz: Host) -> None:
    (tz.root / "tz/format").write_text("garbage\n")
    (tz.root / "tz/zone").write_text("")
    (tz.root / "tz/rtc").write_text("")
    module = tz.module({"name": "UTC"})
    with pytest.raises(ProbeError, match="cannot find the time zone"):
        observe(module, tz.run)


def test_the_real_paths_are_the_systems() -> None:
    probe = TimezoneModule.from_dict({"name": "Europe/Paris"}).probe()
    assert "/usr/share/zoneinfo/Europe/Paris" in probe and "/etc/localtime" in probe


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({}, "give 'name', 'hwclock' or both"),
        ({"name": "../../etc/passwd"}, "not a time zone name"),
        ({"name": "/usr/share/zoneinfo/UTC"}, "not a time zone name"),
        ({"name": "Europe/Paris; reboot"}, "not a time zone name"),
        ({"hwclock": "utc"}, "hwclock"),
        ({"name": "UTC", "rtc": "UTC", "hwclock": "UTC"}, "alias of 'hwclock'"),
    ],
)
def test_bad_args(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        TimezoneModule.from_dict(raw)


def test_names() -> None:
    assert registry()["community.general.timezone"] is TimezoneModule
