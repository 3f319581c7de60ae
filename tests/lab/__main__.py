"""python -m tests.lab up [N] | down | status | reset HOST | record"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from . import profiles, record
from .api import Lab
from .config import INVENTORY, KNOWN_HOSTS, REPO_ROOT, SSH_KEY
from .system import LabError


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(message)s",
        datefmt="%H:%M:%S",
    )
    started = time.monotonic()
    rc = 0
    try:
        if args.command == "up":
            lab = Lab.up(args.n)
            for host in lab.hosts:
                print(f"{host.name}  {host.ip}")
            print(f"inventory:   {INVENTORY}")
            print(f"ssh key:     {SSH_KEY}")
            print(f"known_hosts: {KNOWN_HOSTS}")
            print(
                f"try: ssh -i {SSH_KEY} -o UserKnownHostsFile={KNOWN_HOSTS} "
                f"{lab.user}@{lab.hosts[0].ip}"
            )
        elif args.command == "down":
            Lab.down()
            print("lab down")
        elif args.command == "status":
            lab = Lab.load()
            print(f"repository server: {'up' if lab.http_running() else 'DOWN'} ({lab.repo_url})")
            for s in lab.status():
                state = s.system or ("no ssh" if s.running else "stopped")
                print(f"{s.name}  {s.ip:<12} {state}")
        elif args.command == "reset":
            Lab.load().reset(args.host, profile=args.profile)
            print(f"{args.host} reset" + (f" as {args.profile}" if args.profile else ""))
        elif args.command == "record":
            rc = _record(check=args.check, keep=args.keep, sources_only=args.sources_only)
    except LabError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lab: interrupted; run `python -m tests.lab down` to clean up", file=sys.stderr)
        return 130
    if args.command in ("up", "reset", "record"):
        print(f"({time.monotonic() - started:.1f} s)")
    return rc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.lab",
        description="The built-in lab: EL-like hosts (sshd, systemd, dnf) in namespaces.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every command")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="build (cached) and boot N hosts, write the inventory")
    up.add_argument("n", nargs="?", type=int, default=3, help="number of hosts (default 3)")
    sub.add_parser("down", help="stop and remove everything the lab made")
    sub.add_parser("status", help="show the hosts and whether they answer")
    reset = sub.add_parser("reset", help="make one host fresh again (same host keys)")
    reset.add_argument("host", help="e.g. lab01")
    reset.add_argument(
        "--profile",
        choices=list(profiles.PROFILES),
        help="look like CentOS 7 after EOL, AlmaLinux 9, or AlmaLinux 9 with podman",
    )
    rec = sub.add_parser("record", help="capture tests/unit/modules/recorded/ on lab hosts")
    rec.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file would change"
    )
    rec.add_argument("--keep", action="store_true", help="leave a lab started here up")
    rec.add_argument(
        "--sources-only",
        action="store_true",
        help="rewrite only recorded/SOURCES.md from recordings.py; needs no lab",
    )
    return parser


def _record(*, check: bool, keep: bool, sources_only: bool) -> int:
    if sources_only:
        changed = [record.SOURCES] if record.write_sources(check=check) else []
    else:
        changed = record.record(check=check, keep=keep)
    verb = "differs" if check else "rewritten"
    for path in changed:
        print(f"{verb}: {record.RECORDED.relative_to(REPO_ROOT) / path}")
    print(f"{len(changed)} file(s) {verb}" if changed else "recordings unchanged")
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
