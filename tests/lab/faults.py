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

Each acts from the controller (links, cgroups, nsenter, files of the host's root), never
over ssh, so it works whatever state the host's sshd is in.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import cgroups, network
from .api import Host, Lab
from .system import LabError

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
