"""Real ssh to lab hosts: the lab key, the lab's known_hosts, strict host key checking."""

from __future__ import annotations

import subprocess

from .config import KNOWN_HOSTS, SSH_KEY


def argv(ip: str, user: str = "root", connect_timeout: float = 5) -> list[str]:
    """The ssh command line (without the remote command) for user@ip."""
    return [
        "ssh",
        "-F",
        "/dev/null",
        "-i",
        str(SSH_KEY),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        f"UserKnownHostsFile={KNOWN_HOSTS}",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        f"ConnectTimeout={connect_timeout:g}",
        "-o",
        "LogLevel=ERROR",
        f"{user}@{ip}",
    ]


def run(
    ip: str,
    command: str,
    user: str = "root",
    *,
    input: str | None = None,
    timeout: float | None = 120,
    connect_timeout: float = 5,
) -> subprocess.CompletedProcess[str]:
    """Run a shell command on a host; never raises on a non-zero exit (255 = ssh failed)."""
    return subprocess.run(
        [*argv(ip, user, connect_timeout), command],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
