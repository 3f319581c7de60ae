"""command and shell: run something; only `creates`/`removes` make them idempotent.

`command` runs an argv with no shell: a string `cmd` is split with
shlex.split and every word re-quoted, so `$HOME`, `;` or `*` reach the
program literally. `shell` hands the text to `sh -c`. Neither is re-probed
after it runs (`unprobeable`): there is nothing to probe.
"""

from __future__ import annotations

import shlex
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import field_validator, model_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules.base import (
    CONVERGED,
    Args,
    Blocked,
    Change,
    Kind,
    Module,
    Op,
    Plan,
    Provision,
)
from provisioner.probes.base import Probe, Seen
from provisioner.probes.files import leads, resolved
from provisioner.probes.footprint import Footprint
from provisioner.shell import facts, join, op_script, q, q_always, subshell


class _GuardArgs(Args):
    creates: str | None = None
    removes: str | None = None
    chdir: str | None = None

    @field_validator("chdir")
    @classmethod
    def _some_directory(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("chdir must name a directory")
        return value


def cd_line(directory: str) -> str:
    """`cd` to exactly `directory`. A relative one is written ./dir: `cd -- -` would
    still go to $OLDPWD, and a bare name is looked up in $CDPATH first."""
    path = directory if directory.startswith("/") else f"./{directory}"
    return f"cd -- {q(path)}"


class ShellArgs(_GuardArgs):
    cmd: str

    @field_validator("cmd")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("cmd must not be empty")
        return value


class CommandArgs(_GuardArgs):
    cmd: str | None = None
    argv: list[str] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> CommandArgs:
        if (self.cmd is None) == (self.argv is None):
            raise ValueError("give exactly one of 'cmd' or 'argv'")
        if self.cmd is not None:
            try:
                words = shlex.split(self.cmd)
            except ValueError as exc:
                raise ValueError(f"cannot split cmd {self.cmd!r}: {exc}") from None
        else:
            words = list(self.argv or [])
        if not words or not words[0]:
            raise ValueError("the command is empty")
        return self

    def words(self) -> list[str]:
        return shlex.split(self.cmd) if self.cmd is not None else list(self.argv or [])


@dataclass(frozen=True)
class Guards:
    chdir_exists: bool
    creates_exists: bool | None
    removes_exists: bool | None


@dataclass(frozen=True)
class GuardProbe(Probe[Guards]):
    """Do `chdir`, `creates` and `removes` exist? creates/removes are tested after cd,
    so relative paths mean chdir/PATH."""

    chdir: str | None
    creates: str | None
    removes: str | None

    def command(self) -> str:
        lines = []
        if self.chdir is not None:
            lines.append(f"{cd_line(self.chdir)} 2>/dev/null && echo chdir=yes || echo chdir=no")
        for key, path in (("creates", self.creates), ("removes", self.removes)):
            if path is not None:
                lines.append(f"if [ -e {q(path)} ]; then echo {key}=yes; else echo {key}=no; fi")
                lines += [f"g={q(path)}", leads("g")]  # see reads()
        return subshell(*lines) if lines else ":"

    def reads(self, stdout: str) -> Footprint:
        """Its paths and where they lead; relative ones could be anywhere (None)."""
        named = [p for p in (self.chdir, self.creates, self.removes) if p is not None]
        return resolved(stdout, *named) if named else frozenset()

    def parse(self, stdout: str, exit_code: int) -> Guards:
        f = facts(stdout.splitlines())

        def flag(key: str, wanted: bool) -> bool | None:
            if not wanted:
                return None
            if f.get(key) not in ("yes", "no"):
                raise ProbeError(f"probe did not report '{key}': {stdout[:200]!r}")
            return f[key] == "yes"

        return Guards(
            chdir_exists=flag("chdir", self.chdir is not None) is not False,
            creates_exists=flag("creates", self.creates is not None),
            removes_exists=flag("removes", self.removes is not None),
        )


GA = TypeVar("GA", bound=_GuardArgs)


class _RunModule(Module[GA, Guards, None]):
    free_form: ClassVar[str | None] = "cmd"
    unprobeable: ClassVar[bool] = True

    def _guards(self) -> GuardProbe:
        a = self.args
        return GuardProbe(a.chdir, a.creates, a.removes)

    def probes(self) -> tuple[Probe[Any], ...]:
        return (self._guards(),)

    def state(self, seen: Seen) -> Guards:
        return seen(self._guards())

    def plan(self, current: Guards) -> Plan[None]:
        if current.creates_exists or current.removes_exists is False:
            return CONVERGED
        if not current.chdir_exists:
            chdir = self.args.chdir or ""
            return Blocked(Provision(Kind.PATH, chdir), f"directory {chdir}")
        text = self.display()
        if "\n" in text:  # a summary line is one line
            text = text.split("\n", 1)[0] + " …"
        return Change((f"run: {text}",), None)

    @abstractmethod
    def display(self) -> str:
        """The command as the user wrote it."""

    @abstractmethod
    def run_line(self) -> str:
        """The sh line that runs it."""

    def commands(self, change: Change[None]) -> list[Op]:
        lines = [] if self.args.chdir is None else [cd_line(self.args.chdir)]
        return [Op(op_script(*lines, self.run_line()))]

    def unguarded(self) -> str | None:
        if self.args.creates is not None or self.args.removes is not None:
            return None
        [op] = self.commands(Change((), None))
        return op.script

    def provides(self, change: Change[None]) -> frozenset[Provision]:
        # A command may do anything; what a dry run leans on is what one is used for
        # before a package task: making its packages available (yum-config-manager
        # --add-repo). Not repairing a repository: `yum clean all` repairs none.
        return frozenset({Provision(Kind.PACKAGE)})


@register
class CommandModule(_RunModule[CommandArgs]):
    name = "command"
    args_model = CommandArgs

    def display(self) -> str:
        return self.args.cmd if self.args.cmd is not None else join(self.args.words())

    def run_line(self) -> str:
        first, *rest = self.args.words()
        return " ".join([q_always(first), *(q(w) for w in rest)])


@register
class ShellModule(_RunModule[ShellArgs]):
    name = "shell"
    args_model = ShellArgs

    def display(self) -> str:
        return self.args.cmd

    def run_line(self) -> str:
        return f"sh -c {q(self.args.cmd)}"
