"""The system time zone: `timedatectl status` where it answers, /etc/localtime in any case,
and whether the wanted zone's file exists under /usr/share/zoneinfo."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from provisioner.errors import ProbeError
from provisioner.probes.base import Probe
from provisioner.shell import b64_of, facts, parse_queries, q, subshell, unb64

# `timedatectl status` as systemd 219 (EL7) and 252 (EL9) print it.
_ZONE = re.compile(r"^\s*Time ?zone\s*:\s*(\S+)", re.MULTILINE)
_RTC_LOCAL = re.compile(r"^\s*RTC in local TZ\s*:\s*(\S+)", re.MULTILINE)
# A zone file's path, wherever a distribution keeps its zoneinfo.
_ZONE_PATH = re.compile(r"/(?:usr/share|etc)/zoneinfo/(.+)$")


@dataclass(frozen=True)
class ClockState:
    """`timedatectl`: systemd's view (`zone`, `rtc` "local"/"UTC", None when not said);
    else what /etc/localtime is (`link`: its target; `zone`: read from it)."""

    timedatectl: bool
    zone: str | None
    rtc: str | None = None
    link: str | None = None  # /etc/localtime's target, if it is a link
    zone_file: bool = False  # the wanted zone exists under zoneinfo
    same_file: bool = False  # /etc/localtime is a copy of the wanted zone's file


@dataclass(frozen=True)
class TimezoneProbe(Probe[ClockState]):
    zone: str | None
    localtime: str = "/etc/localtime"
    zoneinfo: str = "/usr/share/zoneinfo"

    def command(self) -> str:
        lt = q(self.localtime)
        wanted = q(f"{self.zoneinfo}/{self.zone}") if self.zone else ""
        check = (
            [
                f"if [ -f {wanted} ]; then echo zone_file=yes",
                f'  if [ -f {lt} ] && [ "$(sha256sum < {lt})" = "$(sha256sum < {wanted})" ]; '
                "then echo same_file=yes; fi",
                "fi",
            ]
            if self.zone
            else []
        )
        return subshell(
            "if command -v timedatectl >/dev/null 2>&1 && st=$(timedatectl status 2>/dev/null)",
            "then printf status=; " + b64_of('"$st"'),
            "fi",
            f"if [ -L {lt} ]; then printf link=; readlink -- {lt} | base64 | tr -d '\\n'; echo; fi",
            *check,
        )

    def parse(self, stdout: str, exit_code: int) -> ClockState:
        f = facts(parse_queries(stdout)[""].lines)
        link = None
        if "link" in f:
            link = unb64(f["link"], self.localtime).decode("utf-8", "replace").rstrip("\n")
        zone_file, same_file = f.get("zone_file") == "yes", f.get("same_file") == "yes"
        if "status" in f:
            status = unb64(f["status"], "timedatectl status").decode("utf-8", "replace")
            zone = _ZONE.search(status)
            if zone is None:
                raise ProbeError(
                    f"cannot find the time zone in timedatectl status: {status[:300]!r}"
                )
            rtc = _RTC_LOCAL.search(status)
            local = None if rtc is None else ("local" if rtc.group(1) == "yes" else "UTC")
            return ClockState(True, zone.group(1), local, link, zone_file, same_file)
        return ClockState(False, self._link_zone(link), None, link, zone_file, same_file)

    def _link_zone(self, link: str | None) -> str | None:
        if link is None:
            return None
        target = posixpath.normpath(posixpath.join(posixpath.dirname(self.localtime), link))
        if target.startswith(self.zoneinfo.rstrip("/") + "/"):
            return target[len(self.zoneinfo.rstrip("/")) + 1 :]
        found = _ZONE_PATH.search(target)
        return found.group(1) if found else None
