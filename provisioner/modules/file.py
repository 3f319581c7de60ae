"""file: a path's kind (file, directory, link, absent) and its attributes.

`state: file` never creates (as in Ansible): a missing file blocks the task
("file PATH not found"), which a dry run may see provided by an earlier
copy/template task. `touch` creates a missing file but, to stay idempotent,
does not bump the times of an existing one. file, directory and touch follow a
symlink at PATH (like chmod/chown do); link and absent act on the link itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import AliasChoices, Field, model_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules._files import (
    AbsPath,
    Account,
    Accounts,
    Mode,
    account_probes,
    accounts_seen,
    attr_changes,
    chown_lines,
    missing_account,
    parent_of,
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
from provisioner.probes.base import Probe, Seen
from provisioner.probes.files import PathInfo, PathState
from provisioner.shell import op_script, q


class FileArgs(Args):
    path: AbsPath = Field(validation_alias=AliasChoices("path", "dest", "name"))
    state: Literal["file", "directory", "link", "absent", "touch"] = "file"
    mode: Mode = None
    owner: Account = None
    group: Account = None
    src: str | None = None

    @model_validator(mode="after")
    def _link_needs_src(self) -> FileArgs:
        if self.state == "link" and not self.src:
            raise ValueError("state 'link' needs 'src' (the link target)")
        if self.state != "link" and self.src is not None:
            raise ValueError("'src' is only for state 'link'")
        if self.state == "link" and self.mode is not None:
            # Linux ignores a symlink's own mode; set it on the target with its own task.
            raise ValueError("'mode' has no effect on a link (set it on the target)")
        if self.src is not None and "\0" in self.src:
            raise ValueError("src must not contain a NUL byte")
        return self


@dataclass(frozen=True)
class FilePlan:
    action: Literal["none", "mkdir", "touch", "link", "remove"]
    mode: str | None
    owner: str | None
    group: str | None


FileView = tuple[PathState, Accounts]


@register
class FileModule(Module[FileArgs, FileView, FilePlan]):
    name = "file"
    args_model = FileArgs

    def probes(self) -> tuple[Probe[Any], ...]:
        a = self.args
        return (PathInfo(a.path), *account_probes(a.owner, a.group))

    def state(self, seen: Seen) -> FileView:
        a = self.args
        return seen(PathInfo(a.path)), accounts_seen(seen, a.owner, a.group)

    def plan(self, current: FileView) -> Plan[FilePlan]:
        a = self.args
        here, accounts = current
        path, state = a.path, a.state
        if state == "absent":
            if not here.is_link and here.kind == "absent":
                return CONVERGED
            return Change((f"- {path}",), FilePlan("remove", None, None, None))
        blocked = missing_account(accounts, a.owner, a.group)
        if blocked is not None:
            return blocked
        if state == "link":
            return self._plan_link(here)
        if here.kind == "absent":
            return self._plan_create(here)
        want = "directory" if state == "directory" else "file"
        if here.kind != want and not (state == "touch" and here.kind == "directory"):
            raise ProbeError(f"{path} is a {_kind_name(here.kind)}, not a {want}")
        if here.attrs is None:
            raise ProbeError(f"file: no stat output for {path}")
        lines, mode, owner, group = attr_changes(here.attrs, a.mode, a.owner, a.group)
        if not lines:
            return CONVERGED
        return Change(tuple(lines), FilePlan("none", mode, owner, group))

    def _plan_create(self, here: PathState) -> Plan[FilePlan]:
        a = self.args
        if a.state == "file":
            return Blocked(Provision(Kind.PATH, a.path), f"file {a.path}")
        if a.state == "touch" and not here.parent_exists:
            parent = parent_of(a.path)
            return Blocked(Provision(Kind.PATH, parent), f"directory {parent}")
        action: Literal["mkdir", "touch"] = "mkdir" if a.state == "directory" else "touch"
        head = f"+ {a.path}/" if a.state == "directory" else f"+ {a.path}"
        return Change((head,), FilePlan(action, a.mode, a.owner, a.group))

    def _plan_link(self, here: PathState) -> Plan[FilePlan]:
        a = self.args
        src = a.src or ""
        if here.is_link and here.target == src:
            attrs = here.link_attrs
            if attrs is None:
                raise ProbeError(f"file: no stat output for link {a.path}")
            lines, _, owner, group = attr_changes(attrs, None, a.owner, a.group)
            if not lines:
                return CONVERGED
            return Change(tuple(lines), FilePlan("none", None, owner, group))
        if here.is_link:
            head = f"link: {a.path} -> {here.target} → {src}"
        elif here.kind != "absent":
            # As Ansible without force: never replace a real file by a link.
            raise ProbeError(f"{a.path} is a {_kind_name(here.kind)}, not a link")
        elif not here.parent_exists:
            parent = parent_of(a.path)
            return Blocked(Provision(Kind.PATH, parent), f"directory {parent}")
        else:
            head = f"+ {a.path} -> {src}"
        return Change((head,), FilePlan("link", None, a.owner, a.group))

    def commands(self, change: Change[FilePlan]) -> list[Op]:
        p = change.payload
        path = q(self.args.path)
        link = self.args.state == "link"
        lines: list[str] = []
        if p.action == "remove":
            return [Op(op_script(f"rm -rf -- {path}"))]
        if p.action == "mkdir":
            lines.append(f"mkdir -p -- {path}")
        elif p.action == "touch":
            lines.append(f"touch -- {path}")
        elif p.action == "link":
            # -n: replace a link to a directory instead of writing into it.
            lines.append(f"ln -sfn -- {q(self.args.src or '')} {path}")
        if p.mode is not None and not link:
            lines.append(f"chmod {p.mode} -- {path}")
        lines += chown_lines(path, p.owner, p.group, link=link)
        return [Op(op_script(*lines))]

    def provides(self, change: Change[FilePlan]) -> frozenset[Provision]:
        if change.payload.action in ("mkdir", "touch", "link"):
            return frozenset({Provision(Kind.PATH, self.args.path)})
        return frozenset()


def _kind_name(kind: str) -> str:
    return {"file": "regular file", "other": "special file"}.get(kind, kind)
