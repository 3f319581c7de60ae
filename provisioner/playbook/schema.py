"""Pydantic models of what the user wrote: Playbook, Play, TaskSpec.

The loader (load.py) splits each task's module key from its keywords before
validation, so these models only see keywords; `extra="forbid"` turns a typo
into an error that the loader points at with file:line:col.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from provisioner.errors import Location

TASK_KEYWORDS = (
    "name",
    "args",
    "when",
    "loop",
    "with_items",
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
)
PLAY_KEYWORDS = (
    "name",
    "hosts",
    "become",
    "become_user",
    "vars",
    "vars_files",
    "gather_facts",
    "tasks",
    "handlers",
    "tags",
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


class TaskSpec(_Model):
    name: str | None = None
    module: str
    args: dict[str, Any] = Field(default_factory=dict)
    when: list[Condition] = Field(default_factory=list)
    loop: list[Any] | str | None = None
    # `register` would shadow ABCMeta.register on the model class: store it under another name.
    register_as: str | None = Field(default=None, alias="register")
    notify: list[str] = Field(default_factory=list)
    listen: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    become: bool | None = None
    become_user: str | None = None
    ignore_errors: bool = False
    changed_when: list[Condition] | None = None
    failed_when: list[Condition] | None = None
    no_log: bool = False
    # Seconds each command the task runs on the host may take (Ansible's `timeout`).
    timeout: float | None = Field(default=None, gt=0)
    vars: dict[str, Any] = Field(default_factory=dict)
    loc: Location = Field(exclude=True)
    is_handler: bool = Field(default=False, exclude=True)

    @field_validator("when", "notify", "listen", "tags", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("changed_when", "failed_when", mode="before")
    @classmethod
    def _listify_optional(cls, value: Any) -> Any:
        return None if value is None else _as_list(value)

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


class PlaySpec(_Model):
    name: str | None = None
    hosts: str
    become: bool = False
    become_user: str | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    vars_files: list[str] = Field(default_factory=list)
    # None: gather when something in the play names a fact (see compile.needs_facts)
    gather_facts: bool | None = None
    tasks: list[TaskSpec] = Field(default_factory=list)
    handlers: list[TaskSpec] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    loc: Location = Field(exclude=True)

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

    @property
    def display_name(self) -> str:
        return self.name or f"hosts: {self.hosts}"

    @property
    def base_dir(self) -> Path:
        """Where its relative paths (vars_files, src) start: its own file's folder."""
        return Path(self.loc.file).resolve().parent


class Playbook(_Model):
    path: str
    plays: list[PlaySpec]
