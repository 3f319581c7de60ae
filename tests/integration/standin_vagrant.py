"""A stand-in `vagrant` for the classroom test: the lab's hosts play the Vagrant machines.

No VirtualBox here, so this answers the four commands the teacher's guide uses the way
Vagrant does, from a JSON file named by PROVLAB_VAGRANT_MACHINES:
{"machines": {"docker01": "10.66.0.11", ...}, "key": ".../id_ed25519",
"known_hosts": ".../known_hosts", "user": "student", "stopped": ["docker03"],
"provider": "libvirt"}. With libvirt, a machine is reached at its own address, port 22;
with "virtualbox", a machine is [address, port]: a forward on 127.0.0.1, as VirtualBox's
NAT makes. Every call is appended to that file's `.log` sibling.

  vagrant up [--no-provision]        says the machines are up (they are)
  vagrant status --machine-readable  running, or shutoff for "stopped"
  vagrant ssh-config [NAME...]       the ssh-config block of each running machine
  vagrant ssh NAME -c CMD            runs CMD over real ssh on the machine
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

NOT_READY = (
    "The provider for this Vagrant-managed machine is reporting that it is not yet ready for SSH."
)


def _config() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(os.environ["PROVLAB_VAGRANT_MACHINES"]).read_text())
    return data


def _log(argv: list[str]) -> None:
    log = Path(os.environ["PROVLAB_VAGRANT_MACHINES"]).with_suffix(".log")
    with log.open("a") as f:
        f.write(json.dumps({"cwd": os.getcwd(), "argv": argv}) + "\n")


def _where(machine: str | list[Any]) -> tuple[str, int]:
    return (machine, 22) if isinstance(machine, str) else (str(machine[0]), int(machine[1]))


def _ssh_config(name: str, machine: str | list[Any], cfg: dict[str, Any]) -> str:
    # Vagrant's templates/commands/ssh_config/config.erb, filled as the provider does.
    host, port = _where(machine)
    return (
        f"Host {name}\n"
        f"  HostName {host}\n"
        f"  User {cfg['user']}\n"
        f"  Port {port}\n"
        "  UserKnownHostsFile /dev/null\n"
        "  StrictHostKeyChecking no\n"
        "  PasswordAuthentication no\n"
        f"  IdentityFile {cfg['key']}\n"
        "  IdentitiesOnly yes\n"
        "  LogLevel FATAL\n"
        "\n"
    )


def main(argv: list[str]) -> int:
    _log(argv)
    if not Path("Vagrantfile").is_file():
        print("A Vagrant environment or target machine is required to run this", file=sys.stderr)
        return 1
    cfg = _config()
    machines: dict[str, Any] = cfg["machines"]
    provider = cfg.get("provider", "libvirt")
    stopped = set(cfg.get("stopped", []))
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command == "up":
        for name in machines:
            print(f"==> {name}: Machine already provisioned. Run `vagrant provision` ...")
        return 0
    if command == "status" and "--machine-readable" in args:
        now = int(time.time())
        for name in machines:
            state = (
                ("shutoff" if provider == "libvirt" else "poweroff")
                if name in stopped
                else "running"
            )
            print(f"{now},{name},metadata,provider,{provider}")
            print(f"{now},{name},provider-name,{provider}")
            print(f"{now},{name},state,{state}")
        return 0
    if command == "ssh-config":
        names = [a for a in args if not a.startswith("-")] or list(machines)
        for name in names:
            if name not in machines:
                print(f"The machine with the name '{name}' was not found", file=sys.stderr)
                return 1
            if name in stopped:
                print(NOT_READY, file=sys.stderr)
                return 1
            sys.stdout.write(_ssh_config(name, machines[name], cfg))
        return 0
    if command == "ssh" and len(args) == 3 and args[1] == "-c":
        host, port = _where(machines[args[0]])
        ssh = [
            "ssh", "-i", cfg["key"], "-p", str(port), "-o", "UserKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=no", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
            f"{cfg['user']}@{host}", args[2],
        ]  # fmt: skip
        return subprocess.run(ssh, check=False).returncode
    print(f"standin vagrant: not supported: {argv}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
