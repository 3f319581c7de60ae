"""The module contract: desired state in, four pure steps out.

A module never touches a host. The runner sends `probe()` (read-only POSIX sh,
run with LC_ALL=C, no Python on the target), hands the output to `parse()`,
asks `plan()` whether anything differs, and only in apply runs the `Op`s from
`commands()`. The dry run is probe + parse + plan: apply executes the very
`Change` the dry run printed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from provisioner.errors import ModuleArgsError


class Args(BaseModel):
    """Base of every module's arguments: a typo is an error, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Op:
    """One shell step of a change.

    If `upload` is set, the runner first writes those bytes to a private temp
    file as the login user and exports its path as $PROVISION_SRC to `script`
    (which runs with the task's become); the runner removes it afterwards.
    """

    script: str
    upload: bytes | None = None


@dataclass(frozen=True)
class Change:
    """What differs on the host, for the dry run, and what apply will do.

    `summary`: one line per difference, e.g. "+ docker-ce 26.1.4",
    "enabled: no → yes", "groups: +docker". `diff`: a unified diff for file
    content. `payload`: module-private data that `commands()` needs.
    """

    summary: tuple[str, ...]
    diff: str | None = None
    payload: Any = None


@dataclass(frozen=True)
class ModuleContext:
    """What a module may know from the controller side."""

    base_dir: Path = field(default_factory=Path.cwd)
    """Directory of the playbook: relative `src` paths resolve here."""

    render: Callable[[str], str] = lambda text: text
    """Render Jinja2 template text with the current host's variables."""


A = TypeVar("A", bound=Args)
S = TypeVar("S")


class Module(ABC, Generic[A, S]):
    """Subclasses set `name`, `aliases` and `args_model`, and implement the four steps."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    args_model: ClassVar[type[Args]]

    def __init__(self, args: A, ctx: ModuleContext | None = None) -> None:
        self.args = args
        self.ctx = ctx or ModuleContext()

    @classmethod
    def from_dict(cls, raw: dict[str, Any], ctx: ModuleContext | None = None) -> Module[Any, Any]:
        """Validate raw (templated) arguments; errors name the module and field."""
        try:
            args = cls.args_model.model_validate(raw)
        except ValidationError as exc:
            raise ModuleArgsError(format_validation(cls.name, exc)) from None
        return cls(args, ctx)  # type: ignore[arg-type]

    @abstractmethod
    def probe(self) -> str:
        """Read-only sh whose stdout describes the current state. Must exit 0
        unless the host cannot be inspected at all."""

    @abstractmethod
    def parse(self, stdout: str, exit_code: int) -> S:
        """Turn the probe's output into a typed state. May raise ProbeError or
        MissingDependency (a unit, group, ... that does not exist)."""

    @abstractmethod
    def plan(self, current: S) -> Change | None:
        """None when the host already matches; else what differs."""

    @abstractmethod
    def commands(self, change: Change) -> list[Op]:
        """The shell that converges the host. Every interpolated value is shlex-quoted."""

    # Tasks whose effect cannot be probed (command, shell) say so: the runner
    # then does not re-probe them after they run, and reports them as "would run".
    probe_after_apply: ClassVar[bool] = True


def format_validation(module: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(arguments)"
        if err["type"] == "extra_forbidden":
            parts.append(f"{module}: unknown argument '{loc}'")
        elif err["type"] == "missing":
            parts.append(f"{module}: missing required argument '{loc}'")
        else:
            parts.append(f"{module}: argument '{loc}': {err['msg']}")
    return "; ".join(parts)
