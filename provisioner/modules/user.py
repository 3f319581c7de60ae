"""user: a local account, its shell, home and supplementary groups.

A requested group that does not exist is MissingDependency("group NAME"): a
dry run may see it provided by an earlier `group` (or package) task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import field_validator

from provisioner.errors import MissingDependency, ProbeError
from provisioner.modules import register
from provisioner.modules._files import AbsPath
from provisioner.modules._sh import (
    Query,
    comma_list,
    join,
    need,
    op_script,
    parse_queries,
    query,
    subshell,
    valid_name,
)
from provisioner.modules.base import Args, Change, Module, Op
from provisioner.modules.group import GROUP_FORBID, parse_getent_group


class UserArgs(Args):
    name: str
    groups: list[str] | None = None
    append: bool = False
    shell: str | None = None
    home: AbsPath | None = None
    create_home: bool = True
    system: bool = False
    remove: bool = False
    """With state absent: also remove the home directory (userdel -r)."""
    state: Literal["present", "absent"] = "present"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        # ':' ends the name in getent's output; the rest is quoted.
        return valid_name(value, "user name", forbid=":\n")

    @field_validator("groups", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return comma_list(value)

    @field_validator("groups")
    @classmethod
    def _group_names(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            for g in value:
                valid_name(g, "group name", forbid=GROUP_FORBID)
        return value

    @field_validator("shell")
    @classmethod
    def _shell(cls, value: str | None) -> str | None:
        if value is not None and (":" in value or "\n" in value or not value):
            raise ValueError("shell must be a path without ':' or newlines")
        return value


@dataclass(frozen=True)
class UserState:
    exists: bool
    home: str | None = None
    shell: str | None = None
    primary: str | None = None
    groups: tuple[str, ...] = ()  # supplementary, primary excluded
    missing_groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserPlan:
    action: Literal["add", "mod", "del"]
    set_groups: tuple[str, ...] | None = None  # None: leave groups alone
    append: bool = False
    shell: str | None = None
    home: str | None = None


@register
class UserModule(Module[UserArgs, UserState]):
    name = "user"
    args_model = UserArgs

    def probe(self) -> str:
        a = self.args
        lines = [query("passwd", join(["getent", "passwd", "--", a.name]))]
        if a.state == "present" and a.groups is not None:
            lines.append(query("ids", join(["id", "-nG", "--", a.name]) + " 2>/dev/null"))
            for i, g in enumerate(a.groups):
                lines.append(query(f"group {i}", join(["getent", "group", "--", g])))
        return subshell(*lines)

    def parse(self, stdout: str, exit_code: int) -> UserState:
        a = self.args
        qs = parse_queries(stdout)
        pw = need(qs, "passwd", "user")
        missing = tuple(
            g
            for i, g in enumerate(a.groups or [])
            if f"group {i}" in qs and not _group_exists(qs[f"group {i}"], g)
        )
        if pw.rc == 2:
            return UserState(False, missing_groups=missing)
        if pw.rc != 0 or not pw.lines:
            raise ProbeError(f"getent passwd {a.name} failed (exit {pw.rc})")
        fields = pw.lines[0].split(":")
        if len(fields) != 7 or fields[0] != a.name:
            raise ProbeError(f"cannot read getent passwd output {pw.lines[0]!r}")
        primary: str | None = None
        groups: tuple[str, ...] = ()
        ids = qs.get("ids")
        if ids is not None:
            if ids.rc != 0 or not ids.lines:
                raise ProbeError(f"id -nG {a.name} failed (exit {ids.rc})")
            names = ids.lines[0].split()
            primary, groups = names[0], tuple(dict.fromkeys(names[1:]))
        return UserState(True, fields[5], fields[6], primary, groups, missing)

    def plan(self, current: UserState) -> Change | None:
        a = self.args
        if a.state == "absent":
            return (
                Change((f"- user {a.name}",), payload=UserPlan("del")) if current.exists else None
            )
        if current.missing_groups:
            raise MissingDependency(f"group {current.missing_groups[0]}")
        want = [g for g in dict.fromkeys(a.groups or []) if g != current.primary]
        if not current.exists:
            lines = [f"+ user {a.name}"]
            if want:
                lines.append("groups: " + " ".join(f"+{g}" for g in want))
            return Change(tuple(lines), payload=UserPlan("add", tuple(want)))
        lines = []
        shell = home = None
        if a.shell is not None and a.shell != current.shell:
            lines.append(f"shell: {current.shell} → {a.shell}")
            shell = a.shell
        if a.home is not None and a.home != current.home:
            lines.append(f"home: {current.home} → {a.home}")
            home = a.home
        set_groups = None
        if a.groups is not None:
            add = [g for g in want if g not in current.groups]
            drop = [] if a.append else [g for g in current.groups if g not in want]
            if add or drop:
                lines.append(
                    "groups: " + " ".join([*(f"+{g}" for g in add), *(f"-{g}" for g in drop)])
                )
                set_groups = tuple(add if a.append else want)
        if not lines:
            return None
        return Change(tuple(lines), payload=UserPlan("mod", set_groups, a.append, shell, home))

    def commands(self, change: Change) -> list[Op]:
        a, p = self.args, change.payload
        if not isinstance(p, UserPlan):
            raise TypeError("user: foreign payload")
        if p.action == "del":
            argv = ["userdel", *(["-r"] if a.remove else []), "--", a.name]
        elif p.action == "add":
            argv = ["useradd", *(["-r"] if a.system else []), "-m" if a.create_home else "-M"]
            argv += [*(["-d", a.home] if a.home else []), *(["-s", a.shell] if a.shell else [])]
            argv += [*(["-G", ",".join(p.set_groups)] if p.set_groups else []), "--", a.name]
        else:
            argv = [
                "usermod",
                *(["-s", p.shell] if p.shell else []),
                *(["-d", p.home] if p.home else []),
            ]
            if p.set_groups is not None:
                argv += [*(["-a"] if p.append else []), "-G", ",".join(p.set_groups)]
            argv += ["--", a.name]
        return [Op(op_script(join(argv)))]


def _group_exists(qr: Query, name: str) -> bool:
    return parse_getent_group(qr.lines, qr.rc, name).exists
