"""Pydantic models of what the user wrote: Playbook, Play, TaskSpec.

The loader (load.py) splits each task's module key from its keywords before
validation, so these models only see keywords; `extra="forbid"` turns a typo
into an error that the loader points at with file:line:col.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from provisioner.errors import Location
from provisioner.templating import is_template

TASK_KEYWORDS = (
    "name",
    "args",
    "when",
    "loop",
    "register",
    "notify",
    "listen",
    "tags",
    "become",
    "become_user",
    "ignore_errors",
    "changed_when",
    "failed_when",
    "no_log",
    "timeout",
    "vars",
    "check_mode",
    "loop_control",
    "until",
    "retries",
    "delay",
    "environment",
    "run_once",
    "delegate_to",
    "any_errors_fatal",
)
# Keywords a block, a role or an include hands down to the tasks inside it.
INHERITED = (
    "when",
    "become",
    "become_user",
    "tags",
    "vars",
    "ignore_errors",
    "notify",
    "no_log",
    "check_mode",
    "any_errors_fatal",
)
BLOCK_KEYWORDS = ("name", "block", "rescue", "always", *INHERITED)
PLAY_KEYWORDS = (
    "name",
    "hosts",
    "become",
    "become_user",
    "vars",
    "vars_files",
    "gather_facts",
    "tasks",
    "pre_tasks",
    "roles",
    "post_tasks",
    "handlers",
    "tags",
    "serial",
    "max_fail_percentage",
    "any_errors_fatal",
)

Condition = str | bool


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, (str, bool)):
        return [value]
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=True)


class LoopControl(_Model):
    loop_var: str = "item"
    index_var: str | None = None
    label: str | None = None
    pause: float = Field(default=0, ge=0)
    extended: bool = False

    @field_validator("loop_var", "index_var")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not value.isidentifier():
            raise ValueError(f"'{value}' is not a valid variable name")
        return value


class TaskSpec(_Model):
    name: str | None = None
    module: str
    args: dict[str, Any] = Field(default_factory=dict)
    when: list[Condition] = Field(default_factory=list)
    loop: list[Any] | dict[str, Any] | str | None = None
    loop_with: str | None = None  # `with_<kind>`: how the loop's value makes items
    loop_control: LoopControl = Field(default_factory=lambda: LoopControl())
    until: list[Condition] | None = None
    retries: int | str = Field(default=3)
    delay: float | str = Field(default=5)
    # Variables exported to the commands a task runs (not to its probes).
    environment: dict[str, Any] | str = Field(default_factory=dict)
    # `register` would shadow ABCMeta.register on the model class: store it under another name.
    register_as: str | None = Field(default=None, alias="register")
    notify: list[str] = Field(default_factory=list)
    listen: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    become: bool | None = None
    become_user: str | None = None
    ignore_errors: bool | str = False  # a template (`"{{ ansible_check_mode }}"`) too
    changed_when: list[Condition] | None = None
    failed_when: list[Condition] | None = None
    no_log: bool = False
    # Seconds each command the task runs on the host may take (Ansible's `timeout`).
    timeout: float | None = Field(default=None, gt=0)
    vars: dict[str, Any] = Field(default_factory=dict)
    check_mode: bool | None = None  # None: as the run; True/False: always/never a dry run
    # On the first host of the batch that reaches it; its result is every host's.
    run_once: bool = False
    delegate_to: str | None = None  # the controller only: localhost, 127.0.0.1
    any_errors_fatal: bool | None = None  # None: as the play
    loc: Location = Field(exclude=True)
    is_handler: bool = Field(default=False, exclude=True)
    implicit: bool = Field(default=False, exclude=True)  # the tool's own (a section's flush)
    role: RoleInfo | None = Field(default=None, exclude=True)
    # Where its controller files are looked for, first wins: its role's dir, the playbook's.
    search: tuple[Path, ...] = Field(default=(), exclude=True)

    @field_validator("when", "notify", "listen", "tags", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("changed_when", "failed_when", "until", mode="before")
    @classmethod
    def _listify_optional(cls, value: Any) -> Any:
        return None if value is None else _as_list(value)

    @field_validator("ignore_errors")
    @classmethod
    def _bool_or_template(cls, value: bool | str) -> bool | str:
        """A template decides at run time; any other text must read as a boolean."""
        if isinstance(value, bool) or is_template(value):
            return value
        word = value.strip().lower()
        if word in ("yes", "true", "on", "1", "y"):
            return True
        if word in ("no", "false", "off", "0", "n"):
            return False
        raise ValueError(f"'{value}' is neither a boolean nor a template")

    @field_validator("register_as")
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        if value is not None and not value.isidentifier():
            raise ValueError(f"'{value}' is not a valid variable name")
        return value

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        return f"{self.module}"


@dataclass(frozen=True, eq=False)
class RoleInfo:
    """One use of a role in a play: what its tasks see beside the play's variables.
    `defaults` sit below the inventory, `vars` above the play's, `params` (the keys
    given where the role is named) above registered results."""

    name: str
    path: Path
    defaults: Mapping[str, Any] = field(default_factory=dict)
    vars: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    parent: RoleInfo | None = None  # the role whose meta made this one a dependency
    # Its vars are seen by the whole play (roles:, import_role; include_role only with
    # `public: true`), as Ansible's are.
    public: bool = True


@dataclass(eq=False)
class BlockSpec:
    """`block` / `rescue` / `always`: its keywords are already handed to the tasks."""

    name: str | None
    block: list[Entry]
    rescue: list[Entry]
    always: list[Entry]
    loc: Location

    @property
    def display_name(self) -> str:
        return self.name or "block"


@dataclass(eq=False)
class IncludeSpec:
    """`include_tasks` / `include_role`: decided on each host when its turn comes.
    `entries`: what it includes when its file could be read at load (a static name)."""

    name: str | None
    target: str  # the tasks file (may be a template) or the role's name
    kind: str  # "tasks" | "role"
    when: list[Condition]
    loop: list[Any] | str | None
    vars: dict[str, Any]
    tags: list[str]
    loc: Location
    here: Path  # where a relative tasks file is looked for
    entries: list[Entry] | None = None
    inherit: Any = None  # playbook.entries.Inherit: what the included tasks are handed
    is_handler: bool = False
    options: dict[str, Any] = field(default_factory=dict)  # include_role's tasks_from …

    @property
    def display_name(self) -> str:
        return self.name or f"include_{self.kind} {self.target}"


Entry = TaskSpec | BlockSpec | IncludeSpec


def walk(entries: Sequence[Entry]) -> Iterator[TaskSpec]:
    """Every task inside entries, in order (blocks' parts, includes read at load)."""
    for entry in entries:
        if isinstance(entry, TaskSpec):
            yield entry
        elif isinstance(entry, BlockSpec):
            for part in (entry.block, entry.rescue, entry.always):
                yield from walk(part)
        elif entry.entries is not None:
            yield from walk(entry.entries)


class PlaySpec(_Model):
    name: str | None = None
    hosts: str
    become: bool = False
    become_user: str | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    vars_files: list[str] = Field(default_factory=list)
    # None: gather when something in the play names a fact (see compile.needs_facts)
    gather_facts: bool | None = None
    tasks: list[Any] = Field(default_factory=list)  # Entry: pre_tasks, roles, tasks, post_tasks
    handlers: list[TaskSpec] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    # Batches of hosts, each through the whole play in turn: a count, "30%", or a list
    # of those (its last repeats); a template is rendered with play and extra vars.
    serial: int | str | list[int | str] | None = None
    max_fail_percentage: float | None = Field(default=None, ge=0, le=100)
    any_errors_fatal: bool = False
    loc: Location = Field(exclude=True)
    # The roles the play named, each once: their defaults and vars decide gathering too.
    roles: list[RoleInfo] = Field(default_factory=list, exclude=True)

    def all_tasks(self) -> list[TaskSpec]:
        """Every task of the play known at load, handlers last."""
        return [*walk(self.tasks), *self.handlers]

    @field_validator("hosts", mode="before")
    @classmethod
    def _hosts(cls, value: Any) -> Any:
        if isinstance(value, list):
            return ":".join(str(v) for v in value)
        return value

    @field_validator("vars_files", "tags", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("serial")
    @classmethod
    def _serial(cls, value: int | str | list[int | str] | None) -> Any:
        """Sizes are checked here; a template is rendered and checked at run time."""
        for size in value if isinstance(value, list) else [] if value is None else [value]:
            text = str(size).strip()
            number = text[:-1] if text.endswith("%") else text
            if is_template(text):
                continue
            try:
                if float(number) < 0 or (number == text and not number.isdigit()):
                    raise ValueError
            except ValueError:
                raise ValueError(
                    f"serial: '{size}' is neither a number of hosts nor a percentage ('30%')"
                ) from None
        return value

    @property
    def display_name(self) -> str:
        return self.name or f"hosts: {self.hosts}"

    @property
    def base_dir(self) -> Path:
        """Where its relative paths (vars_files, src) start: its own file's folder."""
        file = self.loc.file
        return _folder_of(file, "" if os.path.isabs(file) else os.getcwd())


@lru_cache(maxsize=256)
def _folder_of(file: str, cwd: str) -> Path:
    # Asked for every task of every host: resolving walks the path's parts each time.
    return (Path(cwd) / file).resolve().parent


class Playbook(_Model):
    path: str
    plays: list[PlaySpec]


TaskSpec.model_rebuild()
