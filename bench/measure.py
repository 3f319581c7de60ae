"""Measuring one command: wall time, CPU and peak memory of its process tree; and
what the hosts' sshd logs say it did (logins, commands, sftp sessions)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Usage:
    code: int
    wall: float  # seconds
    cpu: float  # user + system seconds of the command and every child it waited for
    peak_mb: float  # the largest resident set of any process of the tree (ru_maxrss)


def run(
    argv: Sequence[str], stdout: Path, stderr: Path, cwd: Path, env: Mapping[str, str] | None = None
) -> Usage:
    """Run argv to its end; its own rusage comes from wait4, so nothing else this
    process started counts."""
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd, env=env
        )
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:  # Ctrl-C, SIGTERM: stop exactly that child
        proc.kill()
        proc.wait()
        raise
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Usage(
        code=proc.returncode,
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_mb=usage.ru_maxrss / 1024,
    )


@dataclass(frozen=True)
class Sessions:
    """What one sshd log says happened, over a stretch of it."""

    logins: int = 0  # "Accepted publickey for …"
    commands: int = 0  # "Starting session: command for …": one exec
    subsystems: int = 0  # "Starting session: subsystem 'sftp' for …"
    shells: int = 0  # "Starting session: shell on pts/N for …"

    @property
    def execs(self) -> int:
        """Channels that ran something: commands, sftp sessions, shells."""
        return self.commands + self.subsystems + self.shells


def count_sessions(text: str) -> Sessions:
    """Count sshd's LogLevel VERBOSE lines (OpenSSH's session.c and auth.c wording)."""
    logins = commands = subsystems = shells = 0
    for line in text.splitlines():
        if "Accepted publickey for " in line or "Accepted password for " in line:
            logins += 1
        elif "Starting session: command " in line:
            commands += 1
        elif "Starting session: subsystem " in line:
            subsystems += 1
        elif "Starting session: shell " in line:
            shells += 1
    return Sessions(logins, commands, subsystems, shells)


def read_from(path: Path, offset: int) -> str:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def sessions_since(logs: Mapping[Path, int]) -> list[Sessions]:
    """Per host log, the sessions written after its recorded size."""
    return [count_sessions(read_from(path, offset)) for path, offset in logs.items()]


def timed(logs: Sequence[Path], command: Callable[[], Usage]) -> tuple[Usage, tuple[float, float]]:
    """Run the command; (execs, logins) per host from these sshd logs meanwhile."""
    before = {log: log.stat().st_size for log in logs}
    usage = command()
    seen = sessions_since(before)
    n = len(logs)
    return usage, (sum(s.execs for s in seen) / n, sum(s.logins for s in seen) / n)
