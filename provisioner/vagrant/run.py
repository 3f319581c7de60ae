"""Running `vagrant`: one small injectable function, so tests replay recorded outputs."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from provisioner.vagrant.errors import VagrantError
from provisioner.vagrant.status import unescape

__all__ = ["Completed", "CommandRunner", "run_command", "run_vagrant"]

TIMEOUT = 300.0  # `vagrant status` of a big lab on a busy laptop takes its time


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


# (argv, working directory) → what the command did. FileNotFoundError when
# argv[0] is not installed.
CommandRunner = Callable[[Sequence[str], Path], Completed]


def run_command(argv: Sequence[str], cwd: Path) -> Completed:
    """Run a command without a shell, capturing its output (the default runner)."""
    env = dict(os.environ)
    env.pop("VAGRANT_CWD", None)  # it would beat cwd: --dir decides
    env["VAGRANT_CHECKPOINT_DISABLE"] = "1"  # no "a new version is available" in outputs
    env["VAGRANT_NO_COLOR"] = "1"
    try:
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Completed(124, "", f"timed out after {TIMEOUT:.0f} s")
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def run_vagrant(run: CommandRunner, args: Sequence[str], cwd: Path) -> str:
    """stdout of `vagrant ARGS` in `cwd`; a VagrantError (with Vagrant's own words) if it fails."""
    shown = " ".join(["vagrant", *args])
    try:
        done = run(["vagrant", *args], cwd)
    except FileNotFoundError:
        raise VagrantError(
            "vagrant is not installed (no `vagrant` on PATH); install it "
            "(https://developer.hashicorp.com/vagrant/install) or use a written inventory"
        ) from None
    except OSError as err:
        raise VagrantError(f"cannot run `{shown}`: {err.strerror or err}") from None
    if done.returncode != 0:
        said = _error_exit_messages(done.stdout) + [done.stderr.strip()]
        detail = "\n".join(s for s in said if s) or "(it printed no error message)"
        raise VagrantError(
            f"`{shown}` failed (exit {done.returncode}) in {cwd.absolute()}:\n{detail}"
        )
    return done.stdout


def _error_exit_messages(stdout: str) -> list[str]:
    # With --machine-readable, Vagrant reports its error on stdout:
    # `TIME,,error-exit,Vagrant::Errors::Class,message`.
    out = []
    for line in stdout.splitlines():
        parts = line.split(",", 4)
        if len(parts) == 5 and parts[2] == "error-exit":
            out.append(unescape(parts[4]))
    return out
