"""lineinfile: one line present (or lines absent) in a text file.

The probe brings the file back (base64); the new content is computed here,
on the controller, with Ansible's rules, and uploaded atomically, keeping the
file's mode and owner unless the task sets them.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules._files import (
    AbsPath,
    Account,
    FileWish,
    Mode,
    WritePlan,
    account_probes,
    accounts_seen,
    path_provisions,
    plan_write,
    write_ops,
)
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
from provisioner.modules.copy import FileView
from provisioner.probes.base import Probe, Seen
from provisioner.probes.files import FileContent
from provisioner.probes.footprint import Footprint, paths

LIMIT = 8 * 1024 * 1024
"""Larger files are refused: the whole file travels in the probe."""


class LineinfileArgs(Args):
    path: AbsPath = Field(validation_alias=AliasChoices("path", "dest", "destfile", "name"))
    line: str | None = Field(default=None, validation_alias=AliasChoices("line", "value"))
    regexp: str | None = Field(default=None, validation_alias=AliasChoices("regexp", "regex"))
    state: Literal["present", "absent"] = "present"
    create: bool = False
    insertafter: str = "EOF"
    mode: Mode = None
    owner: Account = None
    group: Account = None
    backup: bool = False

    @field_validator("regexp", "insertafter")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None and value != "EOF":
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        return value

    @field_validator("line")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and ("\n" in value or "\r" in value):
            # A multi-line 'line' never matches itself on the next run.
            raise ValueError("line must be a single line (no newline)")
        return value

    @model_validator(mode="after")
    def _needs(self) -> LineinfileArgs:
        if self.state == "present" and self.line is None:
            raise ValueError("state 'present' needs 'line'")
        if self.state == "absent" and self.line is None and self.regexp is None:
            raise ValueError("state 'absent' needs 'line' or 'regexp'")
        return self


def split_lines(text: str) -> list[str]:
    """Lines with their '\\n' (only '\\n' splits; '\\r' stays in the line)."""
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def _bare(line: str) -> str:
    return line.rstrip("\r\n")


def edit(text: str, a: LineinfileArgs) -> tuple[str, str]:
    """New text and a short description of the edit ("" when unchanged)."""
    lines = split_lines(text)
    rx = re.compile(a.regexp) if a.regexp is not None else None
    if a.state == "absent":
        keep = [ln for ln in lines if not (rx.search(_bare(ln)) if rx else _bare(ln) == a.line)]
        gone = len(lines) - len(keep)
        return "".join(keep), (f"{gone} line{'s' if gone != 1 else ''} removed" if gone else "")
    line = a.line or ""
    if rx is not None:
        hits = [i for i, ln in enumerate(lines) if rx.search(_bare(ln))]
        if hits:
            i = hits[-1]
            if _bare(lines[i]) == line:
                return text, ""
            ending = lines[i][len(_bare(lines[i])) :]
            lines[i] = line + ending
            return "".join(lines), "line replaced"
    if any(_bare(ln) == line for ln in lines):
        return text, ""
    at = len(lines)
    if a.insertafter != "EOF":
        after = re.compile(a.insertafter)
        hits = [i for i, ln in enumerate(lines) if after.search(_bare(ln))]
        if hits:
            at = hits[-1] + 1
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    lines.insert(at, line + "\n")
    return "".join(lines), "line added"


@register
class LineinfileModule(Module[LineinfileArgs, FileView, WritePlan]):
    name = "lineinfile"
    args_model = LineinfileArgs

    def probes(self) -> tuple[Probe[Any], ...]:
        a = self.args
        return (FileContent(a.path, limit=LIMIT), *account_probes(a.owner, a.group))

    def state(self, seen: Seen) -> FileView:
        a = self.args
        file = seen(FileContent(a.path, limit=LIMIT))
        if file.kind == "file" and file.content is None:
            raise ProbeError(f"lineinfile: {a.path} is larger than {LIMIT} bytes")
        return file, accounts_seen(seen, a.owner, a.group)

    def plan(self, current: FileView) -> Plan[WritePlan]:
        a = self.args
        file, accounts = current
        if file.kind in ("absent", "noparent"):
            if a.state == "absent":
                return CONVERGED
            if not a.create:
                return Blocked(Provision(Kind.PATH, a.path), f"file {a.path}")
            text, what = edit("", a)  # plan_write reports a missing directory
        else:
            old = file.content or b""
            text, what = edit(old.decode("utf-8", "surrogateescape"), a)
        new = text.encode("utf-8", "surrogateescape")
        planned = plan_write(file, accounts, FileWish(new, a.mode, a.owner, a.group, a.backup))
        if not isinstance(planned, Change) or not what or file.kind == "absent":
            return planned
        head, *rest = planned.summary
        if head.startswith("~ "):
            head = f"~ {a.path} ({what})"
        return dataclasses.replace(planned, summary=(head, *rest))

    def commands(self, change: Change[WritePlan]) -> list[Op]:
        return write_ops(change.payload)

    def provides(self, change: Change[WritePlan]) -> frozenset[Provision]:
        return path_provisions(self.args.path)

    def touches(self, change: Change[WritePlan]) -> Footprint:
        return paths(self.args.path)  # the file (a temporary beside it, a backup)
