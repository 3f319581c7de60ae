"""group: a local group exists (with a gid) or not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules._sh import (
    join,
    need,
    op_script,
    parse_queries,
    query,
    subshell,
    valid_name,
)
from provisioner.modules.base import Args, Change, Module, Op

# ':' and ',' separate fields in /etc/group and in `usermod -G`; whitespace
# separates names in `id -nG`.
GROUP_FORBID = ":,\n\t\r "


class GroupArgs(Args):
    name: str
    gid: int | None = Field(default=None, ge=0)
    system: bool = False
    state: Literal["present", "absent"] = "present"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return valid_name(value, "group name", forbid=GROUP_FORBID)


@dataclass(frozen=True)
class GroupState:
    exists: bool
    gid: int | None = None


def parse_getent_group(lines: tuple[str, ...], rc: int | None, name: str) -> GroupState:
    """`getent group NAME`: rc 2 means no such group."""
    if rc == 2:
        return GroupState(False)
    if rc != 0 or not lines:
        raise ProbeError(f"getent group {name} failed (exit {rc})")
    fields = lines[0].split(":")
    if len(fields) != 4 or fields[0] != name or not fields[2].isdigit():
        raise ProbeError(f"cannot read getent group output {lines[0]!r}")
    return GroupState(True, int(fields[2]))


@register
class GroupModule(Module[GroupArgs, GroupState]):
    name = "group"
    args_model = GroupArgs

    def probe(self) -> str:
        return subshell(query("group", join(["getent", "group", "--", self.args.name])))

    def parse(self, stdout: str, exit_code: int) -> GroupState:
        qr = need(parse_queries(stdout), "group", "group")
        return parse_getent_group(qr.lines, qr.rc, self.args.name)

    def plan(self, current: GroupState) -> Change | None:
        a = self.args
        if a.state == "absent":
            return Change((f"- group {a.name}",), payload="del") if current.exists else None
        if not current.exists:
            extra = f" (gid {a.gid})" if a.gid is not None else ""
            return Change((f"+ group {a.name}{extra}",), payload="add")
        if a.gid is not None and current.gid != a.gid:
            return Change((f"gid: {current.gid} → {a.gid}",), payload="mod")
        return None

    def commands(self, change: Change) -> list[Op]:
        a = self.args
        if change.payload == "del":
            argv = ["groupdel", "--", a.name]
        elif change.payload == "mod":
            argv = ["groupmod", "-g", str(a.gid), "--", a.name]
        else:
            argv = ["groupadd", *(["-r"] if a.system else [])]
            argv += [*(["-g", str(a.gid)] if a.gid is not None else []), "--", a.name]
        return [Op(op_script(join(argv)))]
