"""Shared pieces of the lab tests: running the installed `provision` command,
and snapshots of a host's state."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.lab.api import Host, Lab

REPO = Path(__file__).resolve().parents[2]
DOCKER_PLAYBOOK = REPO / "playbooks" / "docker-ce.yml"
# The console script of the installed package (make venv installs it, not the bare tree).
PROVISION = Path(sys.executable).with_name("provision")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def doc(self) -> dict[str, Any]:
        """The --output json document (stdout must hold exactly one)."""
        data: dict[str, Any] = json.loads(self.stdout)
        return data

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def provision(*args: str | Path, input: str | None = None, timeout: float = 600) -> Run:
    if not PROVISION.exists():
        raise AssertionError(f"{PROVISION} is missing: install the package (make venv)")
    proc = subprocess.run(
        [str(PROVISION), *map(str, args)],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        # No controlling terminal: -K then reads the password from stdin, as in a pipe.
        start_new_session=True,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def statuses(doc: dict[str, Any], status: str) -> set[tuple[str, str, str]]:
    """(host, task, item) of every result with this status."""
    return {
        (r["host"], r["task"], r["item"] or "") for r in doc["results"] if r["status"] == status
    }


def reset_all(lab: Lab, hosts: list[Host] | None = None) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lab.reset, hosts if hosts is not None else lab.hosts))


# What a dry run must leave alone: packages, unit files and states, groups, repos.
SNAPSHOT_SCRIPT = r"""
echo '## rpm'; rpm -qa | sort
echo '## unit files'
systemctl list-unit-files --no-legend --no-pager | grep -v '^session-' | sort
echo '## services'
systemctl list-units --all --no-legend --no-pager --plain --type=service,socket \
  | awk '{print $1, $3, $4}' | grep -v -e '^user@' -e '^user-runtime-dir@' | sort
echo '## group'; cat /etc/group
echo '## repos'; ls -la --time-style=+%s /etc/yum.repos.d
for f in /etc/yum.repos.d/*; do echo "# $f"; cat "$f"; done
echo '## rpm keys'; rpm -q gpg-pubkey 2>&1 | sort
"""


def snapshot(lab: Lab, host: Host) -> str:
    proc = lab.ssh(host, SNAPSHOT_SCRIPT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
