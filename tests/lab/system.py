"""Small helpers around processes and commands, shared by the other modules."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

log = logging.getLogger("tests.lab")


class LabError(Exception):
    """Something the lab could not do; the message says what and what to try."""


def run(
    argv: Sequence[str | Path],
    *,
    check: bool = True,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = 300.0,
    quiet: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run a command with captured text output; raise LabError on failure when check."""
    args = [str(a) for a in argv]
    if not quiet:
        log.debug("run: %s", " ".join(args))
    full_env = None if env is None else {**os.environ, **env}
    try:
        proc = subprocess.run(
            args,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
        )
    except FileNotFoundError as exc:
        raise LabError(f"command not found: {args[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"timed out after {timeout} s: {' '.join(args)}") from exc
    if check and proc.returncode != 0:
        raise LabError(
            f"command failed (exit {proc.returncode}): {' '.join(args)}\n"
            f"{proc.stderr.strip() or proc.stdout.strip()}"
        )
    return proc


def spawn_detached(argv: Sequence[str | Path], cgroup_dirs: Sequence[str], log_path: Path) -> int:
    """Start a long-lived process in the given cgroups, detached from us; return its PID.

    A launcher shell (in a session of its own) moves itself into the cgroups, starts the
    command in the background with output to log_path, prints its PID and exits. The
    command is then nobody's child here, so no Popen object is left to warn about it.
    """
    enter = "".join(f"echo $$ > '{d}/cgroup.procs' && " for d in cgroup_dirs)
    script = enter + 'log="$1"; shift; "$@" </dev/null >>"$log" 2>&1 & echo $!'
    args = ["sh", "-c", script, "sh", str(log_path), *(str(a) for a in argv)]
    proc = subprocess.run(
        args, stdin=subprocess.DEVNULL, capture_output=True, text=True, start_new_session=True
    )
    if proc.returncode != 0 or not proc.stdout.strip().isdigit():
        raise LabError(f"could not start {argv[0]}: {proc.stderr.strip()}")
    return int(proc.stdout.strip())


def require_tools(tools: Iterable[str]) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        raise LabError(
            "missing tools: "
            + ", ".join(missing)
            + "\n  apt-get install mmdebstrap systemd-container rpm createrepo-c gnupg "
            "openssh-client iproute2 util-linux"
        )


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def pid_start_time(pid: int) -> int | None:
    """The kernel's start time of a process: with the PID, it names the process uniquely."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def same_process(pid: int, start_time: int | None) -> bool:
    """True while PID still is the process we started (not a recycled PID)."""
    return pid_alive(pid) and (start_time is None or pid_start_time(pid) == start_time)


def signal_pid(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def wait_gone(pids: Iterable[int], timeout: float) -> list[int]:
    """Wait until all PIDs have exited; return those still alive at the deadline."""
    waiting = list(pids)
    deadline = time.monotonic() + timeout
    while waiting:
        for pid in waiting:
            try:  # reap our own children so they do not linger as zombies
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        waiting = [p for p in waiting if pid_alive(p)]
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    return waiting


def terminate(pids: Sequence[int], timeout: float) -> None:
    """SIGTERM, then SIGKILL whatever is left after `timeout` seconds."""
    for pid in pids:
        signal_pid(pid, signal.SIGTERM)
    left = wait_gone(pids, timeout)
    for pid in left:
        log.warning("pid %d ignored SIGTERM for %.0f s; sending SIGKILL", pid, timeout)
        signal_pid(pid, signal.SIGKILL)
    wait_gone(left, 5.0)
