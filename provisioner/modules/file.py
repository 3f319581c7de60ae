"""file: a path's kind (file, directory, link, absent) and its attributes.

`state: file` never creates (as in Ansible): a missing file blocks the task
("file PATH not found"), which a dry run may see provided by an earlier
copy/template task. `touch` creates a missing file but, to stay idempotent,
does not bump the times of an existing one. file, directory and touch follow a
symlink at PATH (like chmod/chown do); link and absent act on the link itself.
Without `state`, as in Ansible, the path's own kind is kept (a directory stays
one), else `file`. `mode` may be symbolic (`u=rwX,go=rX`): it is resolved
against the path's current mode (a new path's: what umask 022 gives it).
`recurse` (directories): see `_tree`.
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
    FileMode,
    account_probes,
    accounts_seen,
    attr_changes,
    chmod_word,
    chown_lines,
    missing_account,
    parent_of,
    resolve_mode,
)
from provisioner.modules._tree import TreePlan, plan_tree, tree_commands, tree_line
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
from provisioner.probes.files import PathInfo, PathState, TreeAttrs, TreeEntry
from provisioner.probes.footprint import Footprint, paths
from provisioner.shell import op_script, q


class FileArgs(Args):
    path: AbsPath = Field(validation_alias=AliasChoices("path", "dest", "name"))
    state: Literal["file", "directory", "link", "absent", "touch"] | None = None
    mode: FileMode = None
    owner: Account = None
    group: Account = None
    src: str | None = None
    recurse: bool = False

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
        if self.recurse and self.state not in (None, "directory"):
            raise ValueError("'recurse' needs state 'directory'")
        return self


State = Literal["file", "directory", "link", "absent", "touch"]


@dataclass(frozen=True)
class FilePlan:
    action: Literal["none", "mkdir", "touch", "link", "remove"]
    mode: str | None  # 4-digit octal, symbolic modes resolved
    owner: str | None
    group: str | None
    tree: TreePlan | None = None  # recurse: what changes under the directory


FileView = tuple[PathState, Accounts, tuple[TreeEntry, ...]]


@register
class FileModule(Module[FileArgs, FileView, FilePlan]):
    name = "file"
    differs = "links under a recursed directory are not followed (Ansible follows them by default)"
    args_model = FileArgs

    def _tree(self) -> TreeAttrs | None:
        return TreeAttrs(self.args.path) if self.args.recurse else None

    def probes(self) -> tuple[Probe[Any], ...]:
        a, tree = self.args, self._tree()
        return (PathInfo(a.path), *account_probes(a.owner, a.group), *([tree] if tree else []))

    def state(self, seen: Seen) -> FileView:
        a, tree = self.args, self._tree()
        entries = seen(tree) if tree is not None else ()
        return seen(PathInfo(a.path)), accounts_seen(seen, a.owner, a.group), entries

    def _state(self, here: PathState) -> State:
        """As Ansible: no `state` means what the path is (followed), else `file`, or
        `directory` with `recurse`."""
        if self.args.state is not None:
            return self.args.state
        if here.kind == "directory" or self.args.recurse:
            return "directory"
        return "file"

    def plan(self, current: FileView) -> Plan[FilePlan]:
        a = self.args
        here, accounts, entries = current
        path, state = a.path, self._state(here)
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
            return self._plan_create(here, state)
        want = "directory" if state == "directory" else "file"
        if here.kind != want and not (state == "touch" and here.kind == "directory"):
            raise ProbeError(f"{path} is a {_kind_name(here.kind)}, not a {want}")
        if here.attrs is None:
            raise ProbeError(f"file: no stat output for {path}")
        mode = resolve_mode(a.mode, here.attrs.mode, here.kind == "directory")
        lines, mode, owner, group = attr_changes(here.attrs, mode, a.owner, a.group)
        tree = plan_tree(entries, a.mode, a.owner, a.group) if a.recurse else None
        if tree is not None:
            lines.append(tree_line(path, tree))
        if not lines:
            return CONVERGED
        return Change(tuple(lines), FilePlan("none", mode, owner, group, tree))

    def _plan_create(self, here: PathState, state: State) -> Plan[FilePlan]:
        a = self.args
        if state == "file":
            return Blocked(Provision(Kind.PATH, a.path), f"file {a.path}")
        if state == "touch" and not here.parent_exists:
            parent = parent_of(a.path)
            return Blocked(Provision(Kind.PATH, parent), f"directory {parent}")
        action: Literal["mkdir", "touch"] = "mkdir" if state == "directory" else "touch"
        head = f"+ {a.path}/" if state == "directory" else f"+ {a.path}"
        mode = resolve_mode(a.mode, None, state == "directory")
        return Change((head,), FilePlan(action, mode, a.owner, a.group))

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
            lines.append(f"chmod {chmod_word(p.mode)} -- {path}")
        lines += chown_lines(path, p.owner, p.group, link=link)
        if p.tree is not None:
            lines += tree_commands(self.args.path, p.tree)
        return [Op(op_script(*lines))]

    def provides(self, change: Change[FilePlan]) -> frozenset[Provision]:
        if change.payload.action in ("mkdir", "touch", "link"):
            return frozenset({Provision(Kind.PATH, self.args.path)})
        return frozenset()

    def touches(self, change: Change[FilePlan]) -> Footprint:
        return paths(self.args.path)  # and what is under it (recurse, a removed tree)


def _kind_name(kind: str) -> str:
    return {"file": "regular file", "other": "special file"}.get(kind, kind)
