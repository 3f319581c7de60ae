"""The lab as tests and the CLI use it: `Lab.up(n)`, `Lab.load()`, `Lab.down()`, `lab.ssh(...)`.

lab = Lab.up(3)                      # or Lab.ensure(3): reuse a healthy running lab
lab.ssh("lab01", "rpm -q yum-utils", user="student")
lab.reset("lab01")                   # fresh host, same ssh host keys
Lab.down()                           # nothing left behind, also after a crash
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from . import cache, cgroups, hosts, inventory, network, preflight, profiles, repos, rootfs, ssh
from .config import (
    BRIDGE,
    HOSTS_DIR,
    INVENTORY,
    KNOWN_HOSTS,
    LAB_DIR,
    LOGIN_USER,
    MAX_HOSTS,
    REPO_BASE_URL,
    SSH_KEY,
    STATE_FILE,
    STOP_TIMEOUT,
    TEACHER_PASSWORD,
    TEACHER_USER,
    host_ip,
    host_name,
)
from .state import HostState, LabState, Process
from .system import LabError, log, pid_start_time, run, same_process, terminate

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Host:
    name: str
    ip: str


@dataclass(frozen=True)
class HostStatus:
    name: str
    ip: str
    running: bool  # its boot loop (and so systemd-nspawn) is alive
    ssh: bool  # root@ip answers over ssh with the known host key
    system: str  # `systemctl is-system-running`, or "" when ssh does not answer


class Lab:
    """A running lab, as recorded in .lab/state.json."""

    user = LOGIN_USER
    teacher_user = TEACHER_USER
    teacher_password = TEACHER_PASSWORD
    inventory_path = INVENTORY
    ssh_key = SSH_KEY
    known_hosts = KNOWN_HOSTS
    repo_url = REPO_BASE_URL

    def __init__(self, state: LabState) -> None:
        self._state = state

    # --- life cycle ----------------------------------------------------------------------

    @classmethod
    def up(cls, n: int = 3) -> Lab:
        """Build what is not cached, boot n hosts in parallel, wait for ssh and systemd."""
        if not 1 <= n <= MAX_HOSTS:
            raise LabError(f"the lab has room for 1 to {MAX_HOSTS} hosts, not {n}")
        old = LabState.load()
        if old is not None and any(hosts.is_running(h) for h in old.hosts.values()):
            raise LabError("the lab is already up; run `python -m tests.lab down` first")
        preflight.check()
        if old is not None or _leftovers():
            log.info("clearing what an earlier lab left behind")
            cls.down()
        started = time.monotonic()
        LAB_DIR.mkdir(exist_ok=True)
        _make_ssh_key()
        with cache.locked():
            repos_dir = repos.ensure_built()
            lower = rootfs.ensure_built()
        state = LabState(lower=str(lower), repos=str(repos_dir), bridge=BRIDGE)
        state.save()
        lab = cls(state)
        try:
            lab._start_all(n)
        except BaseException:
            if os.environ.get("PROVISIONER_LAB_KEEP_FAILED") != "1":
                log.error("up failed; tearing down (PROVISIONER_LAB_KEEP_FAILED=1 keeps it)")
                cls.down()
            raise
        log.info("lab up: %d hosts in %.1f s", n, time.monotonic() - started)
        return lab

    def _start_all(self, n: int) -> None:
        state = self._state
        network.create_bridge()
        state.http_cgroups = cgroups.paths("http")
        state.save()
        pid, state.http_cgroups = repos.start_server(Path(state.repos) / repos.WWW_DIR)
        state.http = _process(pid)
        state.save()
        new = [hosts.new_state(host_name(i), i, host_ip(i)) for i in range(1, n + 1)]
        _parallel(hosts.make_identity, new)  # cached after the first time
        for host in new:
            host.cgroups = cgroups.paths(host.name)
            host.supervisor_cgroups = cgroups.paths(f"{host.name}.sup")
            state.hosts[host.name] = host
            state.save()
            network.create_host_link(host.name, host.ip)
            self._boot(host, fresh=True)
        inventory.write_known_hosts(
            line for h in state.hosts.values() for line in hosts.known_hosts_lines(h)
        )
        _parallel(self._wait_ready, list(state.hosts.values()))
        inventory.write(state.hosts.values(), repos.docker_fingerprint(Path(state.repos)))

    def _boot(self, host: HostState, fresh: bool, profile: str | None = None) -> None:
        hosts.mount(host, Path(self._state.lower))
        if fresh:
            hosts.personalise(host, (SSH_KEY.with_suffix(".pub")).read_text())
            profiles.apply(Path(host.merged), profile, Path(self._state.repos) / repos.WWW_DIR)
        host.supervisor = hosts.start(host)
        self._state.save()

    def _wait_ready(self, host: HostState) -> str:
        try:
            return hosts.wait_ready(host)
        except LabError as exc:
            tail = _tail(Path(host.dir) / "console.log", 25)
            raise LabError(f"{exc}\n--- console of {host.name} ---\n{tail}") from exc

    @classmethod
    def load(cls) -> Lab:
        """The running lab; LabError if none is up."""
        state = LabState.load()
        if state is None or not state.hosts:
            raise LabError("the lab is not up; run `python -m tests.lab up`")
        return cls(state)

    @classmethod
    def ensure(cls, n: int = 3) -> Lab:
        """Reuse a running lab with at least n hosts that all answer; else start afresh."""
        try:
            lab = cls.load()
        except LabError:
            return cls.up(n)
        if len(lab.hosts) >= n and all(s.ssh for s in lab.status()):
            return lab
        cls.down()
        return cls.up(n)

    @staticmethod
    def down() -> None:
        """Stop and remove everything a lab made (from the state file, then by sweeping for
        the lab's names: cgroups `provlab/*`, namespaces `provlab-*`, links `pl-*`,
        bridge `provlab0`, mounts under .lab/). Idempotent."""
        state = LabState.load() or LabState()
        recorded = list(state.hosts.values())
        for directory in HOSTS_DIR.glob("*") if HOSTS_DIR.is_dir() else []:
            if directory.name not in state.hosts:
                recorded.append(hosts.new_state(directory.name, 0, ""))
        for host in recorded:
            host.cgroups = host.cgroups or cgroups.paths(host.name)
            host.supervisor_cgroups = host.supervisor_cgroups or cgroups.paths(f"{host.name}.sup")
        _parallel(hosts.stop, recorded)
        if state.http is not None and same_process(state.http.pid, state.http.start_time):
            terminate([state.http.pid], STOP_TIMEOUT)
        for name in cgroups.lab_cgroup_names():
            dirs = cgroups.paths(name)
            cgroups.kill_all(dirs)
            cgroups.remove(dirs)
        cgroups.remove_parent_if_empty()
        for mount_point in _mounts_under(LAB_DIR):
            run(["umount", mount_point], check=False)
            if os.path.ismount(mount_point):
                run(["umount", "-l", mount_point], check=False)
        for host in recorded:
            network.delete_host_link(host.name)
            shutil.rmtree(Path("/run/systemd/nspawn/propagate") / host.name, ignore_errors=True)
        for ns in network.lab_netns_names():
            run(["ip", "netns", "del", ns], check=False)
        for link in _lab_links():
            run(["ip", "link", "del", link], check=False)
        network.delete_bridge()
        inventory.remove()
        if LAB_DIR.exists():
            shutil.rmtree(LAB_DIR)

    # --- hosts ---------------------------------------------------------------------------

    @property
    def hosts(self) -> list[Host]:
        return [Host(h.name, h.ip) for h in self._state.hosts.values()]

    def host(self, name: str) -> Host:
        h = self._host_state(name)
        return Host(h.name, h.ip)

    def _host_state(self, name: str | Host) -> HostState:
        key = name.name if isinstance(name, Host) else name
        try:
            return self._state.hosts[key]
        except KeyError:
            known = ", ".join(self._state.hosts)
            raise LabError(f"no lab host {key!r} (hosts: {known})") from None

    def reset(self, name: str | Host, profile: str | None = None) -> None:
        """Make a host fresh: stop it, forget its writes, boot it (same ssh host keys).

        `profile` ("el7", "el9", "el9-podman"; see profiles.py) makes it look like that
        release."""
        host = self._host_state(name)
        hosts.stop(host)
        hosts.wipe(host)
        network.set_host_nic(host.name, up=True)
        self._boot(host, fresh=True, profile=profile)
        self._wait_ready(host)

    def stop(self, name: str | Host) -> None:
        """Shut a host down, keeping its disk (its upper dir)."""
        host = self._host_state(name)
        hosts.stop(host)
        network.set_host_nic(host.name, up=False)
        self._state.save()

    def start(self, name: str | Host) -> None:
        """Boot a stopped host again with what it had on disk."""
        host = self._host_state(name)
        if hosts.is_running(host):
            return
        network.set_host_nic(host.name, up=True)
        self._boot(host, fresh=False)
        self._wait_ready(host)

    def ssh(
        self,
        host: str | Host,
        command: str,
        user: str = "root",
        *,
        input: str | None = None,
        timeout: float | None = 120,
        connect_timeout: float = 5,
    ) -> subprocess.CompletedProcess[str]:
        """Run `command` on a host with real ssh (lab key, lab known_hosts, strict)."""
        ip = self._host_state(host).ip
        return ssh.run(
            ip, command, user, input=input, timeout=timeout, connect_timeout=connect_timeout
        )

    def nsenter(self, host: str | Host, command: list[str]) -> subprocess.CompletedProcess[str]:
        """Run a command inside a host from the controller, without ssh."""
        return hosts.nsenter(self._host_state(host), command)

    def status(self) -> list[HostStatus]:
        def one(h: HostState) -> HostStatus:
            running = hosts.is_running(h)
            system = ""
            if running:
                try:
                    proc = ssh.run(h.ip, "systemctl is-system-running", connect_timeout=2)
                    system = proc.stdout.strip() if proc.returncode != 255 else ""
                except subprocess.TimeoutExpired:
                    pass
            return HostStatus(h.name, h.ip, running, bool(system), system)

        return _parallel(one, list(self._state.hosts.values()))

    def http_running(self) -> bool:
        http = self._state.http
        return http is not None and same_process(http.pid, http.start_time)

    # --- for faults ----------------------------------------------------------------------

    def _restart_http(self) -> None:
        state = self._state
        pid, state.http_cgroups = repos.start_server(Path(state.repos) / repos.WWW_DIR)
        state.http = _process(pid)
        state.save()

    def _stop_http(self) -> None:
        if self._state.http is not None and self.http_running():
            terminate([self._state.http.pid], STOP_TIMEOUT)
        self._state.http = None
        self._state.save()


def _process(pid: int) -> Process:
    return Process(pid=pid, start_time=pid_start_time(pid))


def _parallel(fn: Callable[[T], R], items: list[T]) -> list[R]:
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(items))) as pool:
        return list(pool.map(fn, items))


def _make_ssh_key() -> None:
    if not SSH_KEY.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "provisioner-lab", "-f", SSH_KEY])


def _mounts_under(directory: Path) -> list[str]:
    prefix = str(directory.resolve()) + "/"
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(prefix):
            points.append(point)
    return sorted(points, key=len, reverse=True)


def _lab_links() -> list[str]:
    net = Path("/sys/class/net")
    return sorted(p.name for p in net.iterdir() if p.name.startswith("pl-lab"))


def _leftovers() -> bool:
    return bool(
        network.link_exists(BRIDGE)
        or network.lab_netns_names()
        or cgroups.lab_cgroup_names()
        or _mounts_under(LAB_DIR)
        or STATE_FILE.exists()
    )


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no console log)"
