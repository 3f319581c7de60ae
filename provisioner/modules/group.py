"""group: a local group exists (with a gid) or not."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules.base import CONVERGED, Args, Change, Kind, Module, Op, Plan, Provision
from provisioner.probes.accounts import ACCOUNTS_ONLY, GroupEntry, GroupInfo
from provisioner.probes.base import Probe, Seen
from provisioner.probes.footprint import Footprint
from provisioner.shell import join, op_script, valid_name

# ':' and ',' separate fields in /etc/group and in `usermod -G`; whitespace
# separates names in `id -nG`.
GROUP_FORBID = ":,\n\t\r "

GroupAction = Literal["add", "mod", "del"]


class GroupArgs(Args):
    name: str
    gid: int | None = Field(default=None, ge=0)
    system: bool = False
    state: Literal["present", "absent"] = "present"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return valid_name(value, "group name", forbid=GROUP_FORBID)


@register
class GroupModule(Module[GroupArgs, GroupInfo, GroupAction]):
    name = "group"
    args_model = GroupArgs

    def probes(self) -> tuple[Probe[Any], ...]:
        return (GroupEntry(self.args.name),)

    def state(self, seen: Seen) -> GroupInfo:
        found = seen(GroupEntry(self.args.name))
        if found.found is None:
            raise ProbeError(f"getent group {self.args.name} failed (exit {found.rc})")
        return found

    def plan(self, current: GroupInfo) -> Plan[GroupAction]:
        a = self.args
        if a.state == "absent":
            return Change((f"- group {a.name}",), "del") if current.found else CONVERGED
        if not current.found:
            extra = f" (gid {a.gid})" if a.gid is not None else ""
            return Change((f"+ group {a.name}{extra}",), "add")
        if a.gid is not None and current.gid != a.gid:
            return Change((f"gid: {current.gid} → {a.gid}",), "mod")
        return CONVERGED

    def commands(self, change: Change[GroupAction]) -> list[Op]:
        a = self.args
        if change.payload == "del":
            argv = ["groupdel", "--", a.name]
        elif change.payload == "mod":
            argv = ["groupmod", "-g", str(a.gid), "--", a.name]
        else:
            argv = ["groupadd", *(["-r"] if a.system else [])]
            argv += [*(["-g", str(a.gid)] if a.gid is not None else []), "--", a.name]
        return [Op(op_script(join(argv)))]

    def provides(self, change: Change[GroupAction]) -> frozenset[Provision]:
        return (
            frozenset({Provision(Kind.GROUP, self.args.name)})
            if change.payload == "add"
            else frozenset()
        )

    def touches(self, change: Change[GroupAction]) -> Footprint:
        return ACCOUNTS_ONLY
