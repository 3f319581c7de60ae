"""yum_repository: one [section] of /etc/yum.repos.d/FILE.repo.

The section is rendered exactly (key=value, this order) and replaces the one
with the same id; other sections of the file are kept, as Ansible does, so
several tasks may share one file. Removing the last section removes the file.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import field_validator, model_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules._files import (
    REPO_DIR,
    Accounts,
    FileWish,
    WritePlan,
    plan_write,
    write_ops,
)
from provisioner.modules.base import (
    CONVERGED,
    Args,
    Change,
    Kind,
    Module,
    Op,
    Plan,
    Provision,
)
from provisioner.modules.lineinfile import split_lines
from provisioner.probes.base import Probe, Seen
from provisioner.probes.files import ContentState, FileContent
from provisioner.shell import op_script, q

__all__ = ["REPO_DIR", "RepoArgs", "RepoModule", "edit", "render"]

HEADER = re.compile(r"\s*\[([^\]]*)\]\s*")


class RepoArgs(Args):
    name: str
    description: str | None = None
    baseurl: str | list[str] | None = None
    mirrorlist: str | None = None
    metalink: str | None = None
    gpgcheck: bool | None = None
    gpgkey: str | list[str] | None = None
    enabled: bool = True
    file: str | None = None
    state: Literal["present", "absent"] = "present"

    @field_validator("name", "file")
    @classmethod
    def _ident(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_.:+-]+", value):
            raise ValueError(f"{value!r} may hold only letters, digits and _ . : + -")
        return value

    @model_validator(mode="after")
    def _check(self) -> RepoArgs:
        for key in ("description", "baseurl", "mirrorlist", "metalink", "gpgkey"):
            value = getattr(self, key)
            for v in value if isinstance(value, list) else [value]:
                if v is not None and ("\n" in v or "\r" in v):
                    # A newline would inject keys into the .repo file.
                    raise ValueError(f"'{key}' must not contain a newline")
        if self.state == "present" and not (self.baseurl or self.mirrorlist or self.metalink):
            raise ValueError("state 'present' needs 'baseurl', 'mirrorlist' or 'metalink'")
        return self

    @property
    def path(self) -> str:
        return f"{REPO_DIR}/{self.file or self.name}.repo"


def render(a: RepoArgs) -> str:
    """The section exactly as written to the file."""

    def multi(key: str, value: str | list[str]) -> str:
        items = [value] if isinstance(value, str) else value
        return f"{key}=" + "\n    ".join(items) + "\n"  # indented lines continue a value

    out = f"[{a.name}]\nname={a.description if a.description is not None else a.name}\n"
    if a.baseurl:
        out += multi("baseurl", a.baseurl)
    if a.mirrorlist:
        out += f"mirrorlist={a.mirrorlist}\n"
    if a.metalink:
        out += f"metalink={a.metalink}\n"
    out += f"enabled={int(a.enabled)}\n"
    if a.gpgcheck is not None:
        out += f"gpgcheck={int(a.gpgcheck)}\n"
    if a.gpgkey:
        out += multi("gpgkey", a.gpgkey)
    return out


def chunks(text: str) -> list[tuple[str | None, list[str]]]:
    """Split a .repo file into (section id or None for the preamble, lines)."""
    out: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in split_lines(text):
        m = HEADER.fullmatch(line.rstrip("\n"))
        if m:
            out.append((m.group(1).strip(), [line]))
        else:
            out[-1][1].append(line)
    return out


def _trailing_blanks(lines: list[str]) -> list[str]:
    """The blank and comment lines that end a section: they introduce the next one
    (CentOS-Base.repo's "#released updates"), so they stay when the section is replaced."""
    n = 0
    while n < len(lines) - 1:
        line = lines[len(lines) - 1 - n].strip()
        if line and not line.startswith(("#", ";")):
            break
        n += 1
    return lines[len(lines) - n :]


def edit(text: str, a: RepoArgs) -> str:
    """The file with our section replaced, appended or removed."""
    parts = chunks(text)
    new: list[str] = []
    placed = False
    for ident, lines in parts:
        if ident != a.name:
            new.extend(lines)
            continue
        if a.state == "present" and not placed:
            new.append(render(a))
            new.extend(_trailing_blanks(lines))
            placed = True
    if a.state == "present" and not placed:
        if new and not new[-1].endswith("\n"):
            new[-1] += "\n"
        if new and new[-1].strip():
            new.append("\n")
        new.append(render(a))
    return "".join(new)


# A removal deletes the file when no section is left; else the file is rewritten.
RepoPlan = WritePlan | None


@register
class RepoModule(Module[RepoArgs, ContentState, RepoPlan]):
    name = "yum_repository"
    args_model = RepoArgs

    def probes(self) -> tuple[Probe[Any], ...]:
        return (FileContent(self.args.path),)

    def state(self, seen: Seen) -> ContentState:
        file = seen(FileContent(self.args.path))
        if file.kind == "file" and file.content is None:
            raise ProbeError(f"{self.args.path} is too large to be a .repo file")
        return file

    def plan(self, current: ContentState) -> Plan[RepoPlan]:
        a = self.args
        old = (current.content or b"").decode("utf-8", "surrogateescape")
        if a.state == "absent":
            if current.kind != "file":
                return CONVERGED
            text = edit(old, a)
            if text == old:
                return CONVERGED
            if not any(ident is not None for ident, _ in chunks(text)):
                return Change((f"- {a.path}",), None)
        else:
            text = edit(old, a)
        return plan_write(current, Accounts(), FileWish(text.encode("utf-8", "surrogateescape")))

    def commands(self, change: Change[RepoPlan]) -> list[Op]:
        if change.payload is None:
            return [Op(op_script(f"rm -f -- {q(self.args.path)}"))]
        return write_ops(change.payload)

    def provides(self, change: Change[RepoPlan]) -> frozenset[Provision]:
        if self.args.state == "absent":
            return frozenset()
        # Its packages are learnt only from the repository itself: any package may come.
        return frozenset(
            {Provision(Kind.REPO, self.args.name), Provision(Kind.REPO), Provision(Kind.PACKAGE)}
        )
