"""Loopback hosts for the benchmark: one private sshd per host on 127.0.1.X.

Every host has its own sshd_config, host key, authorized_keys, pid file, log and
state directory (`root`, the workload's `host_root`) under one base directory, and
its own /run (a mount namespace).
The sshds share this machine, so what the workload changes is either under a
host's `root` or named after the host: group bench_gNNN and user bench_uNNN.
The lab refuses to start if any of those names exists already; the names it may
create are written to `owned.txt` first, and exactly those are removed again
(between first-apply runs and at the end), with exactly the sshd PIDs it started.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.lab.rpms import Package, build
from tests.sshd import keygen, spawn, stop, wait_listening

PACKAGE = Package(
    name="bench-marker",
    version="1.0",
    release="1",
    summary="Marker package of the provisioner benchmark",
    description="Installed in the benchmark's own rpm database only (no files).",
)
BASE_CONF = "# bench.conf\nname=bench\nsetting=off\n"
# Each sshd in its own mount namespace with its own /run (a tmpfs): a host's /run is its
# own, as on a real host, so provision's host lock (/run/provisioner.lock) is per host
# and never the controller's. `exec` keeps the PID: the one started is sshd's.
OWN_RUN = (
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "--",
    "sh",
    "-c",
    'mount -t tmpfs -o mode=0755 bench-run /run && mkdir -m 0755 /run/sshd && exec "$@"',
    "sh",
)


@dataclass(frozen=True)
class Host:
    index: int  # 1-based
    port: int
    base: Path  # the lab's base directory

    @property
    def name(self) -> str:
        return f"h{self.index:03d}"

    @property
    def id(self) -> str:
        return f"{self.index:03d}"

    @property
    def address(self) -> str:
        return address(self.index)

    @property
    def dir(self) -> Path:
        return self.base / "hosts" / self.name

    @property
    def root(self) -> Path:
        return self.dir / "root"

    @property
    def log(self) -> Path:
        return self.dir / "sshd.log"

    @property
    def user(self) -> str:
        return f"bench_u{self.id}"

    @property
    def group(self) -> str:
        return f"bench_g{self.id}"


def address(index: int) -> str:
    """127.0.1.1 … 127.0.1.250, then 127.0.2.1 …: all of 127/8 is the loopback."""
    if not 1 <= index <= 250 * 254:
        raise ValueError(f"host index {index} out of range")
    return f"127.0.{1 + (index - 1) // 250}.{1 + (index - 1) % 250}"


def inventory(hosts: Sequence[Host], key: Path, known_hosts: Path) -> dict[str, Any]:
    """The inventory of `hosts` (group `bench`), as provision reads it."""
    return {
        "all": {
            "vars": {"user": "root", "ssh_key": str(key), "known_hosts": str(known_hosts)},
            "children": {
                "bench": {
                    "hosts": {
                        h.name: {
                            "host": h.address,
                            "port": h.port,
                            "host_root": str(h.root),
                            "bench_id": h.id,
                        }
                        for h in hosts
                    }
                }
            },
        }
    }


def write_inventory(path: Path, hosts: Sequence[Host], key: Path, known_hosts: Path) -> None:
    path.write_text(yaml.safe_dump(inventory(hosts, key, known_hosts), sort_keys=False))


def sshd_config(host: Host, home: Path) -> str:
    """HOME is the lab's: rpm reads its .rpmmacros there (the bench rpm database)."""
    return f"""HostKey {host.dir}/host_ed25519
PidFile {host.dir}/sshd.pid
AuthorizedKeysFile {host.dir}/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
LogLevel VERBOSE
MaxStartups 100
SetEnv HOME={home}
Subsystem sftp internal-sftp
"""


@dataclass
class Lab:
    base: Path
    count: int
    port: int = 2222
    first: int = 1  # the first host's index: another lab's hosts can be 1…K at once
    hosts: list[Host] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def key(self) -> Path:
        return self.base / "id_client"

    @property
    def known_hosts(self) -> Path:
        return self.base / "known_hosts"

    @property
    def home(self) -> Path:
        return self.base / "home"

    @property
    def owned(self) -> Path:
        return self.base / "owned.txt"

    def up(self) -> None:
        """Make the base directory, claim the names, start every sshd."""
        last = self.first + self.count
        self.hosts = [Host(i, self.port, self.base) for i in range(self.first, last)]
        taken = [n for n in names(self.hosts) if exists(n)]
        if taken:
            raise SystemExit(f"bench: these names exist already, not ours: {', '.join(taken)}")
        self.base.mkdir(parents=True)
        self.owned.write_text("".join(f"{n}\n" for n in names(self.hosts)))
        client_pub = keygen(self.key)
        self._rpm_database()
        known = []
        for h in self.hosts:
            h.dir.mkdir(parents=True)
            known.append(f"[{h.address}]:{h.port} {keygen(h.dir / 'host_ed25519')}\n")
            (h.dir / "authorized_keys").write_text(client_pub + "\n")
            (h.dir / "sshd_config").write_text(sshd_config(h, self.home))
        self.known_hosts.write_text("".join(known))
        for h in self.hosts:
            self.procs.append(
                spawn(
                    h.dir / "sshd_config",
                    h.log,
                    h.address,
                    h.port,
                    new_session=True,
                    prefix=OWN_RUN,
                )
            )
        for h, proc in zip(self.hosts, self.procs, strict=True):
            wait_listening(proc, h.address, h.port, h.log)

    def _rpm_database(self) -> None:
        """A private rpm database holding bench-marker, found through HOME/.rpmmacros."""
        db = self.base / "rpmdb"
        rpm = build(PACKAGE, self.base / "rpms")
        subprocess.run(["rpm", "--dbpath", str(db), "--initdb"], check=True)
        subprocess.run(
            ["rpm", "--dbpath", str(db), "-i", "--justdb", "--nodeps", str(rpm)],
            check=True,
            capture_output=True,
        )
        self.home.mkdir()
        (self.home / ".rpmmacros").write_text(f"%_dbpath {db}\n")

    def reset(self, hosts: Iterable[Host]) -> None:
        """Every host as before a first apply: no bench user or group, a fresh root."""
        hosts = list(hosts)
        owned = set(self.owned.read_text().split())
        remove_accounts([n for n in names(hosts) if n in owned])
        for h in hosts:
            shutil.rmtree(h.root, ignore_errors=True)
            (h.root / "etc" / "yum.repos.d").mkdir(parents=True)
            (h.root / "etc" / "bench.conf").write_text(BASE_CONF)

    def down(self) -> None:
        """Stop exactly the sshds started, remove exactly the names owned, then the base."""
        for proc in self.procs:
            stop(proc)
        self.procs.clear()
        if self.owned.exists():
            remove_accounts(self.owned.read_text().split())
        if self.base.exists():
            shutil.rmtree(self.base)


def names(hosts: Iterable[Host]) -> list[str]:
    """The account names the workload may create for these hosts: each user, its
    private group (useradd makes one on Debian), and the task's group."""
    return [n for h in hosts for n in (f"user:{h.user}", f"group:{h.user}", f"group:{h.group}")]


def exists(name: str) -> bool:
    kind, _, account = name.partition(":")
    db = "passwd" if kind == "user" else "group"
    found = subprocess.run(["getent", db, account], capture_output=True, check=False)
    return found.returncode == 0


def remove_accounts(owned: Iterable[str]) -> None:
    """userdel/groupdel those of the names that exist now (users first)."""
    for name in sorted(owned, key=lambda n: not n.startswith("user:")):
        if exists(name):
            kind, _, account = name.partition(":")
            tool = "userdel" if kind == "user" else "groupdel"
            subprocess.run([tool, account], check=True, capture_output=True)


def cleanup(base: Path) -> list[str]:
    """After a run that could not clean up (killed): stop the sshds whose pid file is
    under `base` and whose command line names its config, remove its owned names and
    the directory. Returns what it did."""
    done = []
    for pidfile in sorted(base.glob("hosts/*/sshd.pid")):
        config = str(pidfile.with_name("sshd_config"))
        pid = int(pidfile.read_text().strip() or 0)
        try:  # sshd retitles itself: its argv becomes one string, "sshd: /usr/sbin/sshd -D …"
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue
        if f" -f {config} " in cmdline:
            os.kill(pid, signal.SIGTERM)
            done.append(f"stopped sshd {pid} ({config})")
    owned = base / "owned.txt"
    if owned.exists():
        remove_accounts(owned.read_text().split())
        done.append(f"removed the accounts of {owned} that existed")
    shutil.rmtree(base, ignore_errors=True)
    return done
