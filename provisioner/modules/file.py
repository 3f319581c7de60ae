"""file: a path's kind (file, directory, link, absent) and its attributes.

`state: file` never creates (as in Ansible): a missing file is a
MissingDependency("file PATH"), which a dry run may see provided by an
earlier copy/template task. `touch` creates a missing file but, to stay
idempotent, does not bump the times of an existing one. file, directory and
touch follow a symlink at PATH (like chmod/chown do); link and absent act on
the link itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from pydantic import model_validator

from provisioner.errors import MissingDependency, ProbeError
from provisioner.modules import register
from provisioner.modules._files import (
    STAT_FMT,
    AbsPath,
    Account,
    Attrs,
    Mode,
    account_probe,
    attr_changes,
    chown_lines,
    parent_of,
    parse_stat,
)
from provisioner.modules._sh import facts, op_script, parse_queries, q, subshell, unb64
from provisioner.modules.base import Args, Change, Module, Op

FileKind = Literal["absent", "file", "directory", "other"]
FILE_KINDS: dict[str, FileKind] = {k: k for k in get_args(FileKind)}


class FileArgs(Args):
    path: AbsPath
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
class FileState:
    is_link: bool
    kind: FileKind  # what PATH is, symlinks followed ("absent" for a dangling link)
    attrs: Attrs | None  # of the followed target
    link_attrs: Attrs | None  # of the link itself
    target: str | None  # readlink
    parent_exists: bool
    owner_exists: bool | None = None
    group_exists: bool | None = None


@dataclass(frozen=True)
class FilePlan:
    action: Literal["none", "mkdir", "touch", "link", "remove"]
    mode: str | None
    owner: str | None
    group: str | None


@register
class FileModule(Module[FileArgs, FileState]):
    name = "file"
    args_model = FileArgs

    def probe(self) -> str:
        a = self.args
        return subshell(
            f"p={q(a.path)}",
            'if [ -L "$p" ]; then',
            "  echo link=yes",
            f'  stat -c {STAT_FMT} -- "$p" | sed "s/^/lstat=/"',
            # readlink's newline is part of the base64; parse drops it.
            '  printf target=; readlink -- "$p" | base64 | tr -d "\\n"; echo',
            "else echo link=no",
            "fi",
            'if [ -d "$p" ]; then echo kind=directory',
            'elif [ -f "$p" ]; then echo kind=file',
            'elif [ -e "$p" ]; then echo kind=other',
            "else echo kind=absent",
            "fi",
            f'if [ -e "$p" ]; then stat -L -c {STAT_FMT} -- "$p" | sed "s/^/stat=/"; fi',
            f"if [ -d {q(parent_of(a.path))} ]; then echo parent=yes; else echo parent=no; fi",
            *account_probe(a.owner, a.group),
        )

    def parse(self, stdout: str, exit_code: int) -> FileState:
        f = facts(parse_queries(stdout)[""].lines)
        kind = FILE_KINDS.get(f.get("kind", ""))
        if kind is None or f.get("link") not in ("yes", "no"):
            what = f"file: cannot understand probe output for {self.args.path}"
            raise ProbeError(f"{what}: {stdout[:200]!r}")
        target = None
        if "target" in f:
            raw = unb64(f["target"], "file").decode("utf-8", "surrogateescape")
            target = raw[:-1] if raw.endswith("\n") else raw
        return FileState(
            is_link=f["link"] == "yes",
            kind=kind,
            attrs=parse_stat(f["stat"], "file") if "stat" in f else None,
            link_attrs=parse_stat(f["lstat"], "file") if "lstat" in f else None,
            target=target,
            parent_exists=f.get("parent") == "yes",
            owner_exists={"0": True, "2": False}.get(f.get("owner_rc", "")),
            group_exists={"0": True, "2": False}.get(f.get("group_rc", "")),
        )

    def plan(self, current: FileState) -> Change | None:
        a = self.args
        path, state = a.path, a.state
        if state == "absent":
            if not current.is_link and current.kind == "absent":
                return None
            return Change((f"- {path}",), payload=FilePlan("remove", None, None, None))
        if current.owner_exists is False and a.owner is not None:
            raise MissingDependency(f"user {a.owner}")
        if current.group_exists is False and a.group is not None:
            raise MissingDependency(f"group {a.group}")
        if state == "link":
            return self._plan_link(current)
        if current.kind == "absent":
            if state == "file":
                raise MissingDependency(f"file {path}")
            if state == "touch" and not current.parent_exists:
                raise MissingDependency(f"directory {parent_of(path)}")
            action: Literal["mkdir", "touch"] = "mkdir" if state == "directory" else "touch"
            head = f"+ {path}/" if state == "directory" else f"+ {path}"
            return Change((head,), payload=FilePlan(action, a.mode, a.owner, a.group))
        want = "directory" if state == "directory" else "file"
        if current.kind != want and not (state == "touch" and current.kind == "directory"):
            raise ProbeError(f"{path} is a {_kind_name(current.kind)}, not a {want}")
        if current.attrs is None:
            raise ProbeError(f"file: no stat output for {path}")
        lines, mode, owner, group = attr_changes(current.attrs, a.mode, a.owner, a.group)
        if not lines:
            return None
        return Change(tuple(lines), payload=FilePlan("none", mode, owner, group))

    def _plan_link(self, current: FileState) -> Change | None:
        a = self.args
        src = a.src or ""
        if current.is_link and current.target == src:
            attrs = current.link_attrs
            if attrs is None:
                raise ProbeError(f"file: no stat output for link {a.path}")
            lines, _, owner, group = attr_changes(attrs, None, a.owner, a.group)
            if not lines:
                return None
            return Change(tuple(lines), payload=FilePlan("none", None, owner, group))
        if current.is_link:
            head = f"link: {a.path} -> {current.target} → {src}"
        elif current.kind != "absent":
            # As Ansible without force: never replace a real file by a link.
            raise ProbeError(f"{a.path} is a {_kind_name(current.kind)}, not a link")
        elif not current.parent_exists:
            raise MissingDependency(f"directory {parent_of(a.path)}")
        else:
            head = f"+ {a.path} -> {src}"
        return Change((head,), payload=FilePlan("link", None, a.owner, a.group))

    def commands(self, change: Change) -> list[Op]:
        p = change.payload
        if not isinstance(p, FilePlan):
            raise TypeError("file: foreign payload")
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


def _kind_name(kind: str) -> str:
    return {"file": "regular file", "other": "special file"}.get(kind, kind)
