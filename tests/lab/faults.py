"""Faults to inject into a running lab, as context managers that undo themselves.

    with faults.link_down(lab, "lab01"):
        ...  # ssh to 10.66.0.11 times out
    with faults.frozen(lab, "lab01"):
        ...  # "Connection timed out during banner exchange"
    with faults.sshd_stopped(lab, "lab01"):
        ...  # "Connection refused"
    with faults.host_stopped(lab, "lab01"):
        ...  # the host is shut down (its disk is kept); booted again on exit
    with faults.rpm_lock_held(lab, "lab01"):
        ...  # rpm: "can't create transaction lock on /var/lib/rpm/.rpm.lock"
    with faults.dnf_lock_held(lab, "lab01") as pid:
        ...  # dnf: "Waiting for process with pid <pid> to finish."
    with faults.repo_unreachable(lab):
        ...  # dnf: "Failed to download metadata for repo 'base'" (after `dnf clean all`)
    with faults.tmp_full(lab, "lab01"):
        ...  # /tmp has no space left: writes there fail with ENOSPC
    with faults.dir_full(lab, "lab01", "/etc"):
        ...  # the filesystem of /etc (as of /) has no space left; /tmp still has
    with faults.slow_link(lab, "lab01", "64kbit"):
        ...  # the host's link carries 64 kbit/s each way (tc tbf)
    with faults.sshd_killed(lab, "lab01"):
        ...  # every sshd of the host is killed (connections drop, new ones refused)
    faults.reboot(lab, "lab01")  # the host reboots; returns once it answers again
    with faults.slow_host(lab, "lab01", delay=0.4) as relay:
        relay.inventory(path)  # an inventory reaching the host through a slow relay
    with faults.refusing_mirror(lab, 403) as url:
        ...  # a mirror at `url` that answers every request with 403
    with faults.slow_mirror(lab, delay=15) as url:
        ...  # the lab's repositories at `url`, each rpm held back 15 s

Each acts from the controller (links, cgroups, nsenter, files of the host's root, servers
on 10.66.0.1), never over ssh, so it works whatever state the host's sshd is in.

This kernel has no netem qdisc (CONFIG_NET_SCH_NETEM): latency comes from a relay on the
controller (`slow_host`), bandwidth from tc's tbf (`slow_link`).
"""

from __future__ import annotations

import fcntl
import http.server
import os
import random
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cgroups, hosts, network, repos
from .api import Host, Lab
from .config import CONTROLLER_IP, KNOWN_HOSTS, LOGIN_USER, SSH_KEY, netns_name, veth_name
from .system import LabError, run

FAKE_DNF_UNIT = "lab-fault-dnf-lock"
# dnf's pid lock files (dnf/lock.py): the transaction's and the metadata's.
DNF_LOCK_FILES = ("/var/lib/dnf/rpmdb_lock.pid", "/var/cache/dnf/metadata_lock.pid")


def _name(host: str | Host) -> str:
    return host.name if isinstance(host, Host) else host


@contextmanager
def host_stopped(lab: Lab, host: str | Host) -> Iterator[None]:
    """The host is shut down (cleanly) for the block, then booted again with its disk."""
    lab.stop(host)
    try:
        yield
    finally:
        lab.start(host)


@contextmanager
def link_down(lab: Lab, host: str | Host) -> Iterator[None]:
    """The host's cable is pulled: packets to and from it are dropped (ssh times out)."""
    name = lab.host(_name(host)).name
    network.set_link(name, up=False)
    try:
        yield
    finally:
        network.set_link(name, up=True)


@contextmanager
def frozen(lab: Lab, host: str | Host) -> Iterator[None]:
    """Every process of the host is frozen: TCP connects, but nothing ever answers."""
    dirs = lab._host_state(host).cgroups
    cgroups.set_frozen(dirs, True)
    try:
        yield
    finally:
        cgroups.set_frozen(dirs, False)


@contextmanager
def sshd_stopped(lab: Lab, host: str | Host) -> Iterator[None]:
    """sshd is stopped from outside (nsenter + systemctl): new connections are refused;
    sessions already open stay."""
    _systemctl(lab, host, "stop")
    try:
        yield
    finally:
        _systemctl(lab, host, "start")


def _systemctl(lab: Lab, host: str | Host, verb: str) -> None:
    proc = lab.nsenter(host, ["systemctl", verb, "ssh.service"])
    if proc.returncode != 0:
        raise LabError(f"systemctl {verb} ssh on {_name(host)} failed: {proc.stderr.strip()}")


@contextmanager
def rpm_lock_held(lab: Lab, host: str | Host) -> Iterator[None]:
    """rpm's transaction lock (/var/lib/rpm/.rpm.lock, fcntl) is held by the controller."""
    path = Path(lab._host_state(host).merged) / "var/lib/rpm/.rpm.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def dnf_lock_held(lab: Lab, host: str | Host) -> Iterator[int]:
    """A live process inside the host owns dnf's locks, as a running dnf would.

    Yields that process's PID as the host sees it (the one dnf waits for).
    """
    run = ["systemd-run", f"--unit={FAKE_DNF_UNIT}", "--quiet", "--collect"]
    started = lab.nsenter(host, [*run, "bash", "-c", "exec -a /usr/bin/dnf sleep infinity"])
    if started.returncode != 0:
        raise LabError(f"could not start the lock holder: {started.stderr.strip()}")
    try:
        show = lab.nsenter(host, ["systemctl", "show", "-p", "MainPID", "--value", FAKE_DNF_UNIT])
        pid = int(show.stdout.strip() or "0")
        if pid <= 0:
            raise LabError(f"the lock holder on {_name(host)} did not start")
        root = Path(lab._host_state(host).merged)
        for lock in DNF_LOCK_FILES:
            path = root / lock.lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(str(pid))
        yield pid
    finally:
        lab.nsenter(host, ["systemctl", "stop", FAKE_DNF_UNIT])
        root = Path(lab._host_state(host).merged)
        for lock in DNF_LOCK_FILES:
            (root / lock.lstrip("/")).unlink(missing_ok=True)


@contextmanager
def repo_unreachable(lab: Lab) -> Iterator[None]:
    """The repository server is stopped (connection refused), then started again.

    dnf only notices when it fetches metadata: run `dnf clean all` (or `--refresh`) first.
    """
    lab._stop_http()
    try:
        yield
    finally:
        lab._restart_http()


@contextmanager
def tmp_full(lab: Lab, host: str | Host) -> Iterator[None]:
    """/tmp is full for the block: a tiny tmpfs, filled, mounted over it, then unmounted."""
    fill = (
        "mount -t tmpfs -o size=64k,mode=1777 lab-fault-full /tmp && "
        "{ dd if=/dev/zero of=/tmp/.lab-fault-fill bs=4k 2>/dev/null; true; }"
    )
    started = lab.nsenter(host, ["sh", "-c", fill])
    if started.returncode != 0:
        raise LabError(f"could not fill /tmp on {_name(host)}: {started.stderr.strip()}")
    try:
        yield
    finally:
        lab.nsenter(host, ["umount", "/tmp"])


@contextmanager
def dir_full(lab: Lab, host: str | Host, path: str = "/etc") -> Iterator[None]:
    """The filesystem holding `path` is full, as `/` would be: a small tmpfs holding a copy
    of `path` is mounted over it and filled, so reads work and every write fails (ENOSPC).
    Unmounted on exit: what was written there meanwhile (nothing can be) is gone with it."""
    fill = (
        f"set -e; t=$(mktemp -d); cp -a {path}/. $t/; "
        f"mount -t tmpfs -o size=$(( $(du -sk $t | cut -f1) + 512 ))k lab-fault-full {path}; "
        f"cp -a $t/. {path}/; rm -rf $t; "
        f"dd if=/dev/zero of={path}/.lab-fault-fill bs=4k 2>/dev/null || true; "
        f"dd if=/dev/zero of={path}/.lab-fault-fill-tail bs=1 2>/dev/null || true"
    )
    started = lab.nsenter(host, ["sh", "-c", fill])
    if started.returncode != 0:
        lab.nsenter(host, ["sh", "-c", f"! mountpoint -q {path} || umount {path}"])
        raise LabError(f"could not fill {path} on {_name(host)}: {started.stderr.strip()}")
    try:
        yield
    finally:
        lab.nsenter(host, ["umount", path])


@contextmanager
def slow_link(lab: Lab, host: str | Host, rate: str = "64kbit") -> Iterator[None]:
    """The host's link carries `rate` each way (tc tbf on both ends of its veth)."""
    name = lab.host(_name(host)).name
    shape = ["root", "tbf", "rate", rate, "burst", "4kb", "latency", "10s"]
    ends = [["tc"], ["tc", "-n", netns_name(name)]]
    devices = [veth_name(name), "eth0"]
    for tc, dev in zip(ends, devices, strict=True):
        run([*tc, "qdisc", "replace", "dev", dev, *shape])
    try:
        yield
    finally:
        for tc, dev in zip(ends, devices, strict=True):
            run([*tc, "qdisc", "del", "dev", dev, "root"], check=False)


@contextmanager
def sshd_killed(lab: Lab, host: str | Host) -> Iterator[None]:
    """Every sshd of the host is killed (SIGKILL): the listener and each connection's, so
    open connections drop at once and new ones are refused. Started again on exit."""
    lab.nsenter(host, ["systemctl", "kill", "--signal=SIGKILL", "ssh.service"])
    lab.nsenter(host, ["pkill", "-KILL", "-x", "sshd"])
    try:
        yield
    finally:
        lab.nsenter(host, ["systemctl", "reset-failed", "ssh.service"])
        _systemctl(lab, host, "start")


def reboot(lab: Lab, host: str | Host, timeout: float = 90) -> None:
    """The host reboots (`systemctl reboot` inside: the nspawn machine restarts with its
    disk, /run and every process gone); returns once it answers ssh again. Nothing to
    undo, so not a context manager."""
    state = lab._host_state(host)
    before = hosts.init_pid(state)
    lab.nsenter(host, ["systemctl", "reboot"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if hosts.init_pid(state) != before:
                break
        except LabError:
            pass  # between two boots: no systemd yet
        time.sleep(0.2)
    else:
        raise LabError(f"{_name(host)} did not reboot within {timeout:g}s")
    hosts.wait_ready(state)


@dataclass
class Relay:
    """A TCP relay on the controller to a host's sshd that delays what it carries."""

    host: Host
    delay: float  # seconds, each way
    jitter: float  # up to this much more, at random (what TCP's resends after loss add)
    port: int = 0
    _listener: socket.socket | None = None
    _open: list[socket.socket] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def inventory(self, path: Path) -> Path:
        """An inventory (and its known_hosts beside it) reaching the host through here."""
        known = path.with_suffix(".known_hosts")
        lines = [ln for ln in KNOWN_HOSTS.read_text().splitlines() if ln.startswith(self.host.ip)]
        where = f"[{CONTROLLER_IP}]:{self.port}"
        known.write_text("".join(where + ln[len(self.host.ip) :] + "\n" for ln in lines))
        path.write_text(
            "all:\n  hosts:\n"
            f"    {self.host.name}:\n      host: {CONTROLLER_IP}\n      port: {self.port}\n"
            f"      user: {LOGIN_USER}\n      ssh_key: {SSH_KEY}\n      known_hosts: {known}\n"
        )
        return path

    def start(self) -> None:
        self._listener = socket.create_server((CONTROLLER_IP, 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        for sock in [*self._open, *([self._listener] if self._listener else [])]:
            try:
                sock.close()
            except OSError:
                pass

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
                server = socket.create_connection((self.host.ip, 22), timeout=10)
            except OSError:
                continue
            self._open += [client, server]
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._carry, args=(src, dst), daemon=True).start()

    def _carry(self, src: socket.socket, dst: socket.socket) -> None:
        """src → dst, each chunk held back `delay` (+ jitter), in order."""
        pending: list[tuple[float, bytes]] = []
        ready = threading.Condition()

        def deliver() -> None:
            while True:
                with ready:
                    while not pending:
                        ready.wait()
                    due, chunk = pending.pop(0)
                time.sleep(max(0.0, due - time.monotonic()))
                try:
                    if not chunk:
                        dst.shutdown(socket.SHUT_WR)
                        return
                    dst.sendall(chunk)
                except OSError:
                    return

        threading.Thread(target=deliver, daemon=True).start()
        last = 0.0
        while True:
            try:
                chunk = src.recv(65536)
            except OSError:
                chunk = b""
            due = max(last, time.monotonic() + self.delay + random.uniform(0, self.jitter))
            last = due
            with ready:
                pending.append((due, chunk))
                ready.notify()
            if not chunk:
                return


@contextmanager
def slow_host(
    lab: Lab, host: str | Host, delay: float = 0.4, jitter: float = 0.2
) -> Iterator[Relay]:
    """The host answers slowly: a relay on the controller holds back everything between
    a client and the host's sshd by `delay` seconds each way, plus up to `jitter` at
    random. Reach it with `relay.inventory(path)`."""
    relay = Relay(lab.host(_name(host)), delay, jitter)
    relay.start()
    try:
        yield relay
    finally:
        relay.stop()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


@contextmanager
def _serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    server = _Server((CONTROLLER_IP, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{CONTROLLER_IP}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def refusing_mirror(lab: Lab, status: int = 403) -> Iterator[str]:
    """A mirror on the controller that answers every request with `status` (a vault that
    refuses: 403; a path it does not have: 404). Yields its base URL."""

    class Refusing(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_HEAD = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with _serving(Refusing) as url:
        yield url


@contextmanager
def slow_mirror(lab: Lab, delay: float = 15) -> Iterator[str]:
    """The lab's repositories, served again on another port, every rpm held back `delay`
    seconds before it is sent (metadata at once): an install that takes a while. (A
    trickle would not do: dnf gives up below 1000 bytes/s, and the rpms are small.)"""
    www = Path(lab._state.repos) / repos.WWW_DIR

    class Slow(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(www), **kwargs)

        def copyfile(self, source: Any, outputfile: Any) -> None:
            if self.path.endswith(".rpm"):
                time.sleep(delay)
            shutil.copyfileobj(source, outputfile)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with _serving(Slow) as url:
        yield url
