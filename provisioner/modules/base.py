"""The module contract: desired state in, pure steps out.

A module never touches a host. It names the probes it needs (`probes()`,
read-only POSIX sh, run with LC_ALL=C, no Python on the target); the runner
sends them, batched with other tasks' probes, and hands their answers to
`state()`. `plan()` compares that state with the arguments and says one of:

- `CONVERGED`: the host already matches;
- a `Change`: what differs (for the dry run and --diff) and a typed payload
  from which `commands()` builds the shell that converges the host;
- `Blocked`: something this task needs is missing (a unit, a group, a package
  in no repository); a dry run reports it as would-change when an earlier
  planned change `provides()` it;
- `Failed`: the host answered and what it shows fails the task, in a dry run
  too (getent: no such key; timezone: no such zone). The runner reports the
  task failed with `msg` and still registers `fields()`, as Ansible's
  `fail_json` keeps what a module returned beside its message.

The dry run is probes + state + plan: apply executes the very `Change` the dry
run printed, then probes again and plans again: anything but `CONVERGED` (or a
change made only of actions, like a restart) "did not converge".

Everything a module reads on the controller (a `src` file, a rendered
template) is resolved once, in `build()`, when the task is compiled; the
constructor and the steps do no I/O.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from provisioner.errors import ModuleArgsError
from provisioner.modules._args import resolve_aliases
from provisioner.probes.base import MARK, Probe, Seen, answers_of, frame
from provisioner.probes.footprint import Footprint


class Args(BaseModel):
    """Base of every module's arguments: a typo is an error, never ignored.

    An argument may have other spellings, as Ansible's do (file's `path` is also `dest`
    and `name`): `Field(validation_alias=AliasChoices(FIELD, ALIAS, ...))`, the field's
    own name first. Giving two spellings of one argument is an error (Ansible warns and
    takes the alias), not a silent choice. Numbers given for a text argument become
    text (`owner: 1000`), as Ansible's `str` arguments do; booleans take Ansible's
    spellings (`yes`, `no`, `"true"`, `on`, `1`, ...) and integers numeric strings.
    """

    # defer_build: a model's validator is built when first used, so loading a playbook
    # pays only for the arguments it validates, not for every model imported.
    model_config = ConfigDict(
        extra="forbid", frozen=True, defer_build=True, coerce_numbers_to_str=True
    )

    renamed: ClassVar[Mapping[str, str]] = {}
    """Other names of arguments (alias → argument) resolved before validation, for
    arguments whose other spelling is not in their `AliasChoices` (`resolve_aliases`)."""

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        return resolve_aliases(data, cls.renamed) if cls.renamed else data

    @model_validator(mode="before")
    @classmethod
    def _one_spelling(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for spellings in spellings_of(cls).values():
                given = [s for s in spellings if s in data]
                if len(given) > 1:
                    raise PydanticCustomError(
                        ALIAS_CONFLICT,
                        "'{first}' and '{second}' are the same argument: give one of them",
                        {"first": given[0], "second": given[1]},
                    )
        return data


ALIAS_CONFLICT = "alias_conflict"
"""The pydantic error type of two spellings of one argument given together."""


@cache
def spellings_of(model: type[BaseModel]) -> dict[str, tuple[str, ...]]:
    """Each argument's spellings: its name first, then its aliases."""
    out: dict[str, tuple[str, ...]] = {}
    for name, info in model.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            words = [c for c in alias.choices if isinstance(c, str)]
            out[name] = tuple(dict.fromkeys([name, *words]))
        else:
            out[name] = (alias if isinstance(alias, str) else name,)
    return out


def argument_names(model: type[BaseModel]) -> list[str]:
    """Every name a task may give an argument by (for "did you mean")."""
    return [s for spellings in spellings_of(model).values() for s in spellings]


@dataclass(frozen=True)
class Op:
    """One shell step of a change.

    If `upload` is set, the runner first writes those bytes to a private temp
    file as the login user and exports its path as $PROVISION_SRC to `script`
    (which runs with the task's become); the runner removes it afterwards.
    """

    script: str
    upload: bytes | None = None


# --- what plan() says ----------------------------------------------------------


class Converged:
    """The host already matches: nothing to do."""

    _instance: ClassVar[Converged | None] = None

    def __new__(cls) -> Converged:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "CONVERGED"


CONVERGED = Converged()

P = TypeVar("P")
P_co = TypeVar("P_co", covariant=True)


@dataclass(frozen=True)
class Change(Generic[P_co]):
    """What differs on the host, for the dry run, and what apply will do.

    `summary`: one line per difference, e.g. "+ docker-ce 26.1.4",
    "enabled: no → yes", "groups: +docker". `diff`: a unified diff for file
    content. `payload`: what `commands()` needs, typed by the module.
    `actions_only`: every line is an action that leaves no trace a probe can
    see (restart, reload), so planning it again after apply still counts as
    converged.
    """

    summary: tuple[str, ...]
    payload: P_co
    diff: str | None = None
    actions_only: bool = False


class Kind(str, Enum):
    """Kinds of things a task may need and an earlier change may bring."""

    PACKAGE = "package"  # one a repository offers
    INSTALLED = "installed package"  # one an install puts on the host (its dependencies too)
    REPO = "repository"
    UNIT = "unit"
    GROUP = "group"
    USER = "user"
    PATH = "path"


@dataclass(frozen=True)
class Provision:
    """A thing of a kind, by name; `name` None: any thing of that kind."""

    kind: Kind
    name: str | None = None

    def covers(self, need: Provision) -> bool:
        if self.kind is not need.kind:
            return False
        if self.name is None or self.name == need.name:
            return True
        # `mkdir -p /a/b` makes /a too.
        return self.kind is Kind.PATH and need.name is not None and _is_under(self.name, need.name)


def _is_under(path: str, ancestor: str) -> bool:
    return path.startswith(ancestor.rstrip("/") + "/")


@dataclass(frozen=True)
class Blocked:
    """Something the task needs is missing.

    `what` names it for people ("unit docker.service", "directory /etc/docker");
    `change` is the plan were it there (shown in a dry run), when known.
    """

    need: Provision
    what: str
    detail: str = ""
    change: Change[Any] | None = None
    # Without it there is nothing to do (removing from a file that is not there): only a
    # dry run, where an earlier change may bring it, says would-change.
    otherwise_converged: bool = False
    fails_with: str | None = None  # the failure's own words when nothing brings it
    # The plan when nothing earlier brings it (a file to create): apply makes it, and so
    # does a dry run in which no earlier change says it provides it.
    otherwise: Change[Any] | None = None
    # What it does once an earlier change brought the need depends on what that brings
    # (a file's content): a dry run says would-change, decided at apply.
    uncertain: bool = False
    # The same, only when an earlier planned change provides this (an install that may
    # bring the package as a dependency).
    uncertain_if: Provision | None = None

    @property
    def failure(self) -> str:
        return self.fails_with or self.message

    @property
    def message(self) -> str:
        return f"{self.what} not found" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class Failed:
    """The host could be inspected, and what it shows fails the task: `msg` says why.

    Not `Blocked`: no earlier change is expected to bring what is missing, so a dry
    run fails it too. Not a `ProbeError`: the probe's answer made sense."""

    msg: str


Plan = Converged | Change[P] | Blocked | Failed


@dataclass(frozen=True)
class Comeback:
    """What the runner waits for after a change whose commands take the host down (a
    reboot): the module says what to ask, the runner does the waiting.

    The runner waits `delay` seconds, then, within `timeout` more, opens fresh
    connections until one answers `boot_id` with something other than `before` (the
    host went down and came up again) and `test` (sh) exits 0 on it. Each connection
    attempt may take `connect_timeout` seconds (None: the run's own). Subsequent tasks
    use that connection; the old one is closed.
    """

    before: str
    boot_id: Probe[str]
    test: str
    timeout: float
    connect_timeout: float | None = None
    delay: float = 0


# --- controller side -------------------------------------------------------------


@dataclass(frozen=True)
class ModuleContext:
    """What `build()` may read on the controller, once, when a task is compiled."""

    base_dir: Path = field(default_factory=Path.cwd)
    """Where relative `src` paths resolve: the role's `src_dir` when the file is there,
    else the playbook's directory."""

    search: tuple[Path, ...] = ()
    """Directories a controller file is looked for in, first wins (the role's, then the
    playbook's): include_vars reads its files from these."""

    render_file: Callable[[str, str], str] = lambda text, name: text
    """Render a controller file's text (its name for errors) with the host's variables."""


class Expressions(Protocol):
    """How a controller module evaluates the task's expressions (`that`, `var`)."""

    def evaluate(self, expression: str | bool) -> Any: ...

    def truthy(self, expression: str | bool) -> bool: ...


@dataclass(frozen=True)
class Verdict:
    """What a controller module decided: failed or not, its message, registered fields.

    `sets`: host variables it sets at set_fact's precedence (set_fact); `loads`: host
    variables at include_vars' precedence; `control`: a run-control action the worker
    carries out (meta's flush_handlers, end_host, ...). `changed`: it reports changed."""

    failed: bool
    msg: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    sets: Mapping[str, Any] = field(default_factory=dict)
    loads: Mapping[str, Any] = field(default_factory=dict)
    control: str | None = None
    changed: bool = False


# --- the module classes ------------------------------------------------------------

A = TypeVar("A", bound=Args)
S = TypeVar("S")
M = TypeVar("M", bound="BaseModule[Any]")


class BaseModule(ABC, Generic[A]):
    """What every module declares. Subclasses set `name`, `aliases` and `args_model`."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    args_model: ClassVar[type[Args]]

    free_form: ClassVar[str | None] = None
    """The argument a bare string fills (`command: echo hi` → cmd); None: a string is
    Ansible's `key=value ...` shorthand."""

    silent: ClassVar[bool] = False
    """Its outcome is run control, not a result to report or count (meta)."""

    supported: ClassVar[bool] = True
    """False for a module Ansible has and provision does not: it fails where it runs."""

    reads_only: ClassVar[bool] = False
    """It never changes the host (getent, stat, wait_for, the *_facts modules): where a
    dry run cannot tell yet what it finds, that is decided at apply, not a change."""

    differs: ClassVar[str] = ""
    """How it differs from Ansible's module of its name, beyond the arguments it takes
    (docs/modules.md lists those), in a line of docs/ansible-compatibility.md; empty:
    nothing more than that."""

    sets_facts: ClassVar[bool] = False
    """Its registered `ansible_facts` join the host's facts (getent, service_facts):
    every later task waits for it."""

    runs_on_controller: ClassVar[bool] = False
    """Nothing is sent to the host (debug, assert): see ControllerModule."""

    unprobeable: ClassVar[bool] = False
    """Its effect cannot be probed (command, shell): a dry run says "would run", apply
    does not probe it again, and `changed_when`/`failed_when` judge its outcome."""

    sets_variables: ClassVar[bool] = False
    """Its argument names are host variables it sets (set_fact): later tasks that read
    them wait for it."""

    loads_variables: ClassVar[bool] = False
    """It sets host variables no one can name before it runs (include_vars): every later
    task waits for it."""

    src_dir: ClassVar[str | None] = None
    """Where in a role a relative `src` is looked for first (`files`, `templates`)."""

    changes_login_groups: ClassVar[bool] = False
    """A change to the account in its `name` argument changes that account's groups,
    which a login sees only when it logs in again: the runner reconnects when that
    account is the login user."""

    waits: ClassVar[bool] = False
    """Its probe waits for something on the host (wait_for): the runner never sends it
    ahead of its turn (in the batch of an earlier task, before that task ran), and a
    dry run skips the task (as Ansible does: nothing to predict, only time to lose)."""

    def __init__(self, args: A) -> None:
        self.args = args

    @classmethod
    def validate_args(cls, raw: Mapping[str, Any]) -> A:
        """Validate raw (templated) arguments; errors name the module and field."""
        try:
            return cls.args_model.model_validate(raw)  # type: ignore[return-value]
        except ValidationError as exc:
            raise ModuleArgsError(format_validation(cls.name, exc)) from None

    @classmethod
    def from_dict(cls: type[M], raw: Mapping[str, Any], ctx: ModuleContext | None = None) -> M:
        return cls.build(cls.validate_args(raw), ctx or ModuleContext())

    @classmethod
    def build(cls: type[M], args: Any, ctx: ModuleContext) -> M:
        """The module for these arguments, with its controller inputs resolved.
        Modules that read controller files override this; the rest need nothing."""
        return cls(args)

    @classmethod
    def rendered_sources(cls, raw: Mapping[str, Any], base_dir: Path) -> list[str]:
        """Template text that `build()` will render (a template's src file), so the
        compiler can see which variables it names before rendering it."""
        return []


class Module(BaseModule[A], Generic[A, S, P]):
    """A module that works on the host: probes → state → plan → commands."""

    @abstractmethod
    def probes(self) -> tuple[Probe[Any], ...]:
        """What to ask the host (read-only), in the order `state()` reads them."""

    @abstractmethod
    def state(self, seen: Seen) -> S:
        """The probes' answers (`seen(probe)`) as this module's typed state."""

    @abstractmethod
    def plan(self, current: S) -> Plan[P]:
        """CONVERGED, a Change, Blocked or Failed: see the module docstring."""

    @abstractmethod
    def commands(self, change: Change[P]) -> list[Op]:
        """The shell that converges the host. Every interpolated value is shlex-quoted."""

    def provides(self, change: Change[P]) -> frozenset[Provision]:
        """What this change brings that later tasks may need (a dry run reads it)."""
        return frozenset()

    def judged_by(self, change: Change[P]) -> frozenset[Provision]:
        """What on the host this change was judged by that an earlier change may alter (a
        package's availability: the repositories); a dry run says it could not check it
        when an earlier planned change provides one."""
        return frozenset()

    def touches(self, change: Change[P]) -> Footprint:
        """Where on the host this change's commands write (probes.footprint): after it,
        only the answers read from there are asked again. None (the default): it may
        write anywhere, and every answer is stale."""
        return None

    def comeback(self, change: Change[P]) -> Comeback | None:
        """When this change's commands take the host down (reboot): what the runner
        waits for before the run goes on, instead of probing again. None: they do not."""
        return None

    def unguarded(self) -> str | None:
        """The script this module runs whatever its probes find, if it has one (a command
        without creates/removes): a task declared a read-only check may run it early,
        among the probes. None: it has none."""
        return None

    def fields(self, current: S) -> Mapping[str, Any]:
        """What a `register` of this task holds beside changed/failed/rc/...: the state as
        the task found it (stat's `stat`), where the module has something to tell."""
        return {}

    # -- conveniences for one module alone (tests, tools): the runner batches probes ---
    def probe(self) -> str:
        """All of this module's probes as one read-only subshell."""
        return frame([p.command() for p in self.probes()])

    def parse(self, stdout: str, exit_code: int = 0) -> S:
        """The state from the output of `probe()`."""
        return self.state(answers_of(self.probes(), stdout, MARK))


class ControllerModule(BaseModule[A]):
    """A module that runs on the controller only (debug, assert): no probe, no host."""

    runs_on_controller: ClassVar[bool] = True

    @abstractmethod
    def evaluate(self, expressions: Expressions) -> Verdict:
        """Decide, from the task's rendered arguments and its expressions."""


AnyModule = BaseModule[Any]


def format_validation(module: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(arguments)"
        if err["type"] == "extra_forbidden":
            parts.append(f"{module}: unknown argument '{loc}'")
        elif err["type"] == ALIAS_CONFLICT:
            parts.append(f"{module}: {err['msg']}")
        elif err["type"] == "missing":
            parts.append(f"{module}: missing required argument '{loc}'")
        else:
            parts.append(f"{module}: argument '{loc}': {err['msg']}")
    return "; ".join(parts)
