"""Facts about the session and security: the login user, its environment, the date and
time, SELinux, AppArmor, FIPS, the kernel command line and machine id, in Ansible's
shapes."""

from __future__ import annotations

import re
import shlex
from datetime import datetime, timezone
from typing import Any

from provisioner.probes.host_raw import Raw, to_int

_MODES = ("enforcing", "permissive", "disabled")
_ENV_NAME = re.compile(r"[^=\s]+\Z")
_LINE_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def selinux_state(raw: Raw) -> str:
    """enforcing | permissive | disabled (configured, not running) | absent."""
    enforce = raw.first("selinux_enforce")
    if enforce == "1":
        return "enforcing"
    if enforce == "0":
        return "permissive"
    return "disabled" if raw.has("selinux_config") else "absent"


def security_facts(raw: Raw) -> dict[str, Any]:
    """selinux as Ansible's mapping, apparmor's status, fips."""
    state = selinux_state(raw)
    selinux: dict[str, Any] = {"status": "disabled"}
    if state in ("enforcing", "permissive"):
        config = raw.first("selinux_config").strip("\"'").lower()
        selinux = {
            "status": "enabled",
            "mode": state,
            "config_mode": config if config in _MODES else "unknown",
            "type": raw.first("selinux_type").strip("\"'") or "unknown",
            "policyvers": to_int(raw.first("selinux_policyvers")) or "unknown",
        }
    apparmor = "enabled" if raw.exists("/sys/kernel/security/apparmor") else "disabled"
    out: dict[str, Any] = {"selinux": selinux, "apparmor": {"status": apparmor}}
    if raw.first("fips") in ("0", "1"):
        out["fips"] = raw.first("fips") == "1"
    return out


def user_facts(raw: Raw, env: dict[str, str]) -> dict[str, Any]:
    """user_id and the login user's passwd entry; real and effective ids."""
    out: dict[str, Any] = {}
    name = raw.first("user_id") or env.get("LOGNAME", "") or env.get("USER", "")
    if name:
        out["user_id"] = name
    fields = raw.first("passwd").split(":")
    if len(fields) == 7 and to_int(fields[2]) is not None and to_int(fields[3]) is not None:
        out |= {"user_uid": to_int(fields[2]), "user_gid": to_int(fields[3])}
        out |= {"user_gecos": fields[4], "user_dir": fields[5], "user_shell": fields[6]}
    ids = {
        "real_user_id": "real_uid",
        "effective_user_id": "uid",
        "real_group_id": "real_gid",
        "effective_group_id": "gid",
    }
    for fact, key in ids.items():
        if to_int(raw.first(key)) is not None:
            out[fact] = to_int(raw.first(key))
    return out


def environment(raw: Raw) -> dict[str, str] | None:
    """The login environment: NUL-separated where `env -0` was there (its newlines came
    as \\001), else line by line (a line not starting NAME= continues the value)."""
    out: dict[str, str] = {}
    if raw.has("env0"):
        for entry in raw.all("env0"):
            name, eq, value = entry.partition("=")
            if eq and _ENV_NAME.match(name):
                out.setdefault(name, value.replace("\x01", "\n"))
        return out
    if not raw.has("env"):
        return None
    last = ""
    for line in raw.all("env"):
        if _LINE_ENV.match(line):
            last, _, value = line.partition("=")
            out[last] = value
        elif last:
            out[last] += "\n" + line
    return out


def date_time(raw: Raw) -> dict[str, str] | None:
    """date_time: the host's clock, every value a string as in Ansible."""
    words = raw.first("date").split()
    if len(words) < 12:
        return None
    y, mo, d, h, mi, s, epoch, nanos, wday, week, weekday = words[:11]
    if not all(map(_digits, (y, mo, d, h, mi, s, epoch, wday, week))):
        return None
    tz, offset = (words[11], words[12]) if len(words) > 12 else ("", words[11])
    micro = nanos[:6].ljust(6, "0") if _digits(nanos) else "000000"  # busybox has no %N
    try:
        utc = datetime.fromtimestamp(int(epoch), timezone.utc)
    except (OverflowError, ValueError, OSError):
        return None
    out = {
        "year": y, "month": mo, "day": d, "hour": h, "minute": mi, "second": s,
        "epoch": epoch, "epoch_int": epoch, "date": f"{y}-{mo}-{d}", "time": f"{h}:{mi}:{s}",
        "weekday": weekday, "weekday_number": wday, "weeknumber": week,
        "iso8601": utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "iso8601_micro": utc.strftime("%Y-%m-%dT%H:%M:%S.") + micro + "Z",
        "iso8601_basic": f"{y}{mo}{d}T{h}{mi}{s}{micro}",
        "iso8601_basic_short": f"{y}{mo}{d}T{h}{mi}{s}",
        "tz": tz, "tz_dst": _tz_dst(raw, tz), "tz_offset": offset,
    }  # fmt: skip
    return out


def _digits(word: str) -> bool:
    return word.isascii() and word.isdigit() and len(word) < 20


def _tz_dst(raw: Raw, tz: str) -> str:
    """The zone's summer-time name: of January's and July's, the one further east."""
    names = [raw.first(k).split() for k in ("tz_jan", "tz_jul")]
    if not all(len(n) == 2 and re.fullmatch(r"[+-]\d{4}", n[1]) for n in names):
        return tz
    return max(names, key=lambda n: int(n[1]))[0]


def cmdline_facts(raw: Raw) -> dict[str, Any]:
    """cmdline (each word's last value, True without one) and proc_cmdline (a repeated
    word's values as a list)."""
    text = raw.first("cmdline")
    if not text:
        return {}
    try:
        words = shlex.split(text, posix=False)
    except ValueError:
        return {"cmdline": {}, "proc_cmdline": {}}
    last: dict[str, Any] = {}
    every: dict[str, Any] = {}
    for word in words:
        key, eq, value = word.partition("=")
        if not eq:
            last[key] = every[key] = True
            continue
        last[key] = value
        before = every.get(key)
        if isinstance(before, str):
            every[key] = [before, value]
        elif isinstance(before, list):
            before.append(value)
        else:
            every[key] = value
    return {"cmdline": last, "proc_cmdline": every}


def machine_id(raw: Raw) -> dict[str, Any]:
    found = raw.first("machine_id")
    return {"machine_id": found} if re.fullmatch(r"[0-9a-f]{32}", found) else {}
