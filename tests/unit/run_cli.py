"""Running this tree's `provision` console entry point in a subprocess, as a user does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRY = "from provisioner.cli import main; main()"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}  # this tree's code, not an installed copy


def provision(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """This tree's `provision` as a user runs it, with `env` on top of ours."""
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=60,
        env={**ENV, **(env or {})},
    )


@dataclass(frozen=True)
class Ran:
    """One run of the command through `CliServer`."""

    rc: int
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float
    max_rss_kb: int


class CliServer:
    """This tree's `provision`, run many times at little cost: see `cli_server.py`.
    Each run is a child process with a time limit and a cap on its address space."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.unit.cli_server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=ENV,
        )

    def run(
        self, *args: str | Path, cwd: Path, timeout: float = 10.0, memory: int = 1 << 30
    ) -> Ran:
        out, err = self.scratch / "stdout", self.scratch / "stderr"
        request = {
            "args": [str(a) for a in args],
            "cwd": str(cwd),
            "timeout": timeout,
            "memory": memory,
            "out": str(out),
            "err": str(err),
        }
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        return Ran(
            rc=answer["rc"],
            stdout=out.read_text(errors="replace"),
            stderr=err.read_text(errors="replace"),
            timed_out=answer["timed_out"],
            seconds=answer["seconds"],
            max_rss_kb=answer["max_rss_kb"],
        )

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
