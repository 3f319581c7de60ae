"""Running this tree's `provision` console entry point in a subprocess, as a user does."""

from __future__ import annotations

import os
import subprocess
import sys
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
