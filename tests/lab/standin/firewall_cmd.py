#!/usr/libexec/platform-python
"""Stand-in firewall-cmd (and firewalld) of the provisioner lab: no packet filter at all,
only the zones' configuration, kept in files, answering as firewalld 0.6 to 1.x does.

- the permanent configuration: /etc/firewalld/lab-permanent.json (made on first write;
  until then each zone has what EL's stock zones have: public = ssh, dhcpv6-client);
- the runtime one: /run/firewalld/lab-runtime.json, which `firewalld --load` (this
  program under that name, firewalld.service's ExecStartPre) copies from the permanent
  one as the unit starts, as the real daemon loads its configuration; `--reload` does
  the same, and stopping the unit forgets it;
- "running" is what systemd says of firewalld.service (the real one asks D-Bus):
  otherwise every command but --version says "FirewallD is not running", exit 252.

Understood: --state, --version, --get-default-zone, --get-zones, --get-services,
[--permanent] [--zone=Z] --query-/--add-/--remove-{service,port,source,interface}=V,
--change-{source,interface}=V (moved from the zone it is in), --list-{services,ports,
sources,interfaces}, --list-all, --reload. Exit codes and words are firewalld's:
yes/no with 0/1 for a query, "success", "Warning: ALREADY_ENABLED: ..." on stderr (exit 0),
"Error: INVALID_ZONE: ..." (112), INVALID_SERVICE (101), INVALID_PORT (102).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

VERSION = "1.3.4"
CONF = Path("/etc/firewalld/firewalld.conf")
PERMANENT = Path("/etc/firewalld/lab-permanent.json")
RUNTIME = Path("/run/firewalld/lab-runtime.json")
KINDS = ("service", "port", "source", "interface")
ZONES = ("block", "dmz", "drop", "external", "home", "internal", "public", "trusted", "work")
SERVICES = ("cockpit", "dhcpv6-client", "http", "https", "mysql", "nfs", "postgresql", "ssh")
STOCK = {
    "public": {"service": ["ssh", "dhcpv6-client"]},
    "internal": {"service": ["ssh", "dhcpv6-client"]},
    "work": {"service": ["ssh", "dhcpv6-client"]},
    "home": {"service": ["ssh", "dhcpv6-client"]},
    "dmz": {"service": ["ssh"]},
    "external": {"service": ["ssh"]},
}
PORT = re.compile(r"(\d{1,5})(-\d{1,5})?/(tcp|udp|sctp|dccp)")
NOT_RUNNING, INVALID_ZONE, INVALID_SERVICE, INVALID_PORT, USAGE = 252, 112, 101, 102, 2

Config = dict[str, dict[str, list[str]]]


class Exit(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


def stock() -> Config:
    return {z: {k: list(STOCK.get(z, {}).get(k, [])) for k in KINDS} for z in ZONES}


def load(path: Path) -> Config:
    if not path.exists():
        return stock()
    data: Config = json.loads(path.read_text())
    return data


def save(path: Path, config: Config) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(config, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)


def default_zone() -> str:
    if CONF.exists():
        for line in CONF.read_text().splitlines():
            if line.startswith("DefaultZone="):
                return line.split("=", 1)[1].strip()
    return "public"


def running() -> bool:
    unit = ["systemctl", "is-active", "--quiet", "firewalld.service"]
    return subprocess.run(unit, check=False).returncode == 0


def check_value(kind: str, value: str) -> None:
    if kind == "service" and value not in SERVICES:
        raise Exit(
            INVALID_SERVICE, f"Error: INVALID_SERVICE: '{value}' not among existing services"
        )
    if kind == "port" and not PORT.fullmatch(value):
        raise Exit(INVALID_PORT, f"Error: INVALID_PORT: {value}")


def shown(kind: str, value: str) -> str:
    """How firewalld names an item in its warnings (a port as 8080:tcp)."""
    return value.replace("/", ":") if kind == "port" else value


def warn(text: str) -> str:
    """firewalld warns on stderr, and the change still succeeds."""
    print(f"Warning: {text}", file=sys.stderr)
    return "success"


def act(config: Config, zone: str, verb: str, kind: str, value: str) -> str:
    """One query or change of a zone; what firewall-cmd prints (a query raises Exit 1)."""
    check_value(kind, value)
    items = config[zone][kind]
    if verb == "query":
        if value in items:
            return "yes"
        raise Exit(1, "no")
    if verb in ("add", "change"):
        if value in items:
            return warn(f"ALREADY_ENABLED: {shown(kind, value)}")
        if verb == "change":  # a source or interface is in one zone at a time
            for other in config.values():
                if value in other[kind]:
                    other[kind].remove(value)
        items.append(value)
        return "success"
    if value not in items:
        return warn(f"NOT_ENABLED: {shown(kind, value)}")
    items.remove(value)
    return "success"


def list_all(config: Config, zone: str) -> str:
    z = config[zone]
    active = " (active)" if z["source"] or z["interface"] else ""
    return "\n".join(
        [
            f"{zone}{active}",
            "  target: default",
            f"  interfaces: {' '.join(z['interface'])}",
            f"  sources: {' '.join(z['source'])}",
            f"  services: {' '.join(z['service'])}",
            f"  ports: {' '.join(z['port'])}",
        ]
    )


def firewall_cmd(argv: list[str]) -> str:
    if argv == ["--version"]:
        return VERSION
    if not running():
        raise Exit(NOT_RUNNING, "FirewallD is not running")
    if argv == ["--state"]:
        return "running"
    permanent = "--permanent" in argv
    words = [w for w in argv if w != "--permanent"]
    zone = default_zone()
    for w in list(words):
        if w.startswith("--zone="):
            zone = w.split("=", 1)[1]
            words.remove(w)
    if zone not in ZONES:
        raise Exit(INVALID_ZONE, f"Error: INVALID_ZONE: {zone}")
    if len(words) != 1:
        raise Exit(USAGE, f"usage: firewall-cmd (lab stand-in) does not take {' '.join(argv)}")
    word = words[0]
    path = PERMANENT if permanent else RUNTIME
    config = load(path)
    simple = {
        "--get-default-zone": default_zone(),
        "--get-zones": " ".join(ZONES),
        "--get-services": " ".join(SERVICES),
        "--list-all": list_all(config, zone),
    }
    if word in simple:
        return simple[word]
    if word == "--reload":
        save(RUNTIME, load(PERMANENT))
        return "success"
    listed = re.fullmatch(r"--list-(service|port|source|interface)s", word)
    if listed:
        return " ".join(config[zone][listed.group(1)])
    m = re.fullmatch(r"--(query|add|remove|change)-(service|port|source|interface)=(.+)", word)
    if not m or (m.group(1) == "change" and m.group(2) not in ("source", "interface")):
        raise Exit(USAGE, f"usage: firewall-cmd (lab stand-in) does not know {word}")
    verb, kind, value = m.groups()
    out = act(config, zone, verb, kind, value)
    if verb != "query":
        save(path, config)
    return out


def firewalld(argv: list[str]) -> None:
    """The daemon's part. `--load` (firewalld.service's ExecStartPre, so that `systemctl
    start` returns with it done): the permanent configuration becomes the runtime one.
    Else wait for systemd to stop it, and forget the runtime configuration then."""
    if "--load" in argv:
        save(RUNTIME, load(PERMANENT))
        return

    def stop(signum: int, frame: object) -> None:
        RUNTIME.unlink(missing_ok=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    while True:
        signal.pause()


def main() -> int:
    if os.path.basename(sys.argv[0]) == "firewalld":
        firewalld(sys.argv[1:])
        return 0
    try:
        print(firewall_cmd(sys.argv[1:]))
    except Exit as exc:
        print(exc.text, file=sys.stderr if exc.code not in (0, 1) else sys.stdout)
        return exc.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
