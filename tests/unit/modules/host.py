"""Run module shell for real, on this machine, with `sh` (dash on Debian).

`FakeHost` puts stub programs first on PATH: each stub logs its argv and
answers with a recorded output (chosen by a `case` glob over its arguments),
so a probe's real shell text meets realistic EL output, and the commands'
argv can be checked word for word. Tools that behave the same here and on EL
(stat, sha256sum, base64, readlink, mktemp, curl with file://) run for real.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.modules.base import Blocked, Change, Module, Op, Plan
from provisioner.probes.base import Answers, Probe

RECORDED = Path(__file__).parent / "recorded"


def rec(name: str) -> str:
    """A recorded output of a real command on EL7/EL9."""
    return (RECORDED / name).read_text()


@dataclass(frozen=True)
class Result:
    rc: int
    stdout: str
    stderr: str


def sh(script: str, *, env: dict[str, str] | None = None, path_prefix: str | None = None) -> Result:
    full = {**os.environ, "LC_ALL": "C", **(env or {})}
    if path_prefix:
        full["PATH"] = f"{path_prefix}:{full['PATH']}"
    p = subprocess.run(
        ["sh", "-c", script],
        capture_output=True,
        env=full,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return Result(
        p.returncode,
        p.stdout.decode("utf-8", "surrogateescape"),
        p.stderr.decode("utf-8", "replace"),
    )


def syntax_ok(script: str) -> bool:
    return (
        subprocess.run(["sh", "-n", "-c", script], capture_output=True, check=False).returncode == 0
    )


@dataclass
class FakeHost:
    """Stub programs answering from recorded outputs, logging every call."""

    root: Path
    replies: dict[str, list[tuple[str, str, int, str]]] = field(default_factory=dict)

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def log(self) -> Path:
        return self.root / "calls.log"

    def on(
        self, prog: str, pattern: str = "*", out: str = "", rc: int = 0, err: str = ""
    ) -> FakeHost:
        """When `prog` is called with "$*" matching the sh glob `pattern`: `out` on
        stdout, `err` on stderr, exit `rc`."""
        self.replies.setdefault(prog, []).append((pattern, out, rc, err))
        return self

    def _write(self) -> None:
        self.bin.mkdir(parents=True, exist_ok=True)
        for prog, replies in self.replies.items():
            lines = [
                "#!/bin/sh",
                f"{{ printf '%s\\0' {prog} \"$@\"; printf '\\001'; }} >> '{self.log}'",
                'case "$*" in',
            ]
            for i, (pattern, out, rc, err) in enumerate(replies):
                reply = self.root / f"{prog}.{i}.out"
                (self.root / f"{prog}.{i}.err").write_text(err)
                reply.write_text(out)
                err_file = self.root / f"{prog}.{i}.err"
                lines.append(f"  {pattern}) cat '{reply}'; cat '{err_file}' >&2; exit {rc} ;;")
            lines += ["esac", f'echo "stub {prog}: no reply for: $*" >&2', "exit 127"]
            stub = self.bin / prog
            stub.write_text("\n".join(lines) + "\n")
            stub.chmod(0o755)

    def run(self, script: str, env: dict[str, str] | None = None) -> Result:
        self._write()
        return sh(script, env=env, path_prefix=str(self.bin))

    def calls(self, prog: str | None = None) -> list[list[str]]:
        if not self.log.exists():
            return []
        raw = self.log.read_bytes().decode("utf-8", "surrogateescape")
        out = [rec.split("\0")[:-1] for rec in raw.split("\1") if rec]
        return [c for c in out if prog is None or c[0] == prog]

    def clear(self) -> None:
        self.log.unlink(missing_ok=True)


def run_op(op: Op, run: Any, tmp: Path) -> Result:
    """Run one Op as the runner would: upload bytes first, path in $PROVISION_SRC."""
    env = {}
    if op.upload is not None:
        src = tmp / "provision-src"
        src.write_bytes(op.upload)
        env["PROVISION_SRC"] = str(src)
    result: Result = run(op.script, env)
    return result


def observe(module: Module[Any, Any, Any], run: Any = None) -> Any:
    """probe → parse, for real."""
    r = (run or (lambda s, e=None: sh(s, env=e)))(module.probe(), None)
    assert r.rc == 0, r.stderr
    return module.parse(r.stdout, r.rc)


def converge(
    module: Module[Any, Any, Any], tmp: Path, run: Any = None
) -> tuple[Plan[Any], Plan[Any]]:
    """Probe, plan, apply the commands, probe again: (first plan, plan after apply)."""
    runner = run or (lambda s, e=None: sh(s, env=e))
    first = module.plan(observe(module, runner))
    if isinstance(first, Blocked) and first.otherwise is not None:
        first = first.otherwise  # as apply does: nothing earlier brought what it needs
    if isinstance(first, Change):
        for op in module.commands(first):
            assert syntax_ok(op.script), op.script
            r = run_op(op, runner, tmp)
            assert r.rc == 0, f"op failed ({r.rc}): {r.stderr}\n{op.script}"
    again = module.plan(observe(module, runner))
    return first, again


def state_of(module: Module[Any, Any, Any], answers: dict[Probe[Any], tuple[str, int]]) -> Any:
    """The module's state from given (stdout, exit code) answers to its probes.

    Every probe the module asks must be answered, and nothing else: a ProbeError
    then comes from reading an answer, never from a forgotten one."""
    assert set(answers) == set(module.probes()), (set(answers), module.probes())
    return module.state(Answers(answers))
