"""hostname: the host's name, now (the kernel's) and at boot (the static name).

As Ansible's: `use: systemd` (the default where hostnamectl answers: EL7 and
later) runs `hostnamectl set-hostname`; `use: redhat` keeps HOSTNAME= in
/etc/sysconfig/network. Without hostnamectl and without `use`, /etc/hostname
is written and `hostname NAME` run. /etc/hosts is not touched. Names compare
without regard to case, as DNS does (systemd before 249 lowercases the static
name), and must be RFC 1123 names of at most 64 characters (the kernel's limit).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import field_validator

from provisioner.modules import register
from provisioner.modules._files import Accounts, FileWish, WritePlan, plan_write, write_ops
from provisioner.modules.base import CONVERGED, Args, Blocked, Change, Failed, Module, Op, Plan
from provisioner.modules.lineinfile import split_lines
from provisioner.probes.base import Probe, Seen
from provisioner.probes.files import ContentState, FileContent
from provisioner.probes.hostname import HostNameProbe, NodeName
from provisioner.shell import join, op_script, q

LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
MAX_LENGTH = 64


def check_name(value: str) -> str:
    if not value or len(value) > MAX_LENGTH:
        raise ValueError(
            f"a host name has 1 to {MAX_LENGTH} characters; {value!r} has {len(value)}"
        )
    bad = [label for label in value.split(".") if not LABEL.fullmatch(label)]
    if bad:
        raise ValueError(
            f"{value!r} is not a host name: each dot-separated part is letters, digits and "
            f"inner '-', 1 to 63 characters ({bad[0]!r} is not)"
        )
    return value


class HostnameArgs(Args):
    name: str
    use: Literal["systemd", "debian", "redhat"] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)


@dataclass(frozen=True)
class Paths:
    hostname: str = "/etc/hostname"
    network: str = "/etc/sysconfig/network"


@dataclass(frozen=True)
class HostState:
    node: NodeName
    file: ContentState  # /etc/hostname, or /etc/sysconfig/network with use: redhat


@dataclass(frozen=True)
class HostPlan:
    hostnamectl: bool = False
    write: WritePlan | None = None
    set_current: bool = False


def static_name(text: str) -> str:
    """/etc/hostname's name: its first line that is not blank or a comment."""
    for line in split_lines(text):
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()
    return ""


def network_name(text: str) -> str:
    for line in split_lines(text):
        if line.strip().startswith("HOSTNAME"):
            return line.partition("=")[2].strip().strip("\"'")
    return ""


def with_network_name(text: str, name: str) -> str:
    lines = [
        f"HOSTNAME={name}\n" if line.strip().startswith("HOSTNAME") else line
        for line in split_lines(text)
    ]
    if not any(line.startswith("HOSTNAME=") for line in lines):
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(f"HOSTNAME={name}\n")
    return "".join(lines)


@register
class HostnameModule(Module[HostnameArgs, HostState, HostPlan]):
    name = "hostname"
    aliases = ("ansible.builtin.hostname",)
    differs = "the systemd (= debian) and redhat strategies only"
    args_model = HostnameArgs
    sets_facts = True
    paths: ClassVar[Paths] = Paths()

    def _file(self) -> FileContent:
        redhat = self.args.use == "redhat"
        return FileContent(self.paths.network if redhat else self.paths.hostname)

    def probes(self) -> tuple[Probe[Any], ...]:
        return (HostNameProbe(), self._file())

    def state(self, seen: Seen) -> HostState:
        return HostState(seen(HostNameProbe()), seen(self._file()))

    def plan(self, current: HostState) -> Plan[HostPlan]:
        a = self.args
        text = (current.file.content or b"").decode("utf-8", "replace")
        redhat = a.use == "redhat"
        static = network_name(text) if redhat else static_name(text)
        lines = []
        now_differs = current.node.current.lower() != a.name.lower()
        if now_differs:
            lines.append(f"hostname: {current.node.current} → {a.name}")
        if static.lower() != a.name.lower():
            where = self.paths.network if redhat else self.paths.hostname
            lines.append(f"static hostname ({where}): {static or '(none)'} → {a.name}")
        if not lines:
            return CONVERGED
        if a.use in ("systemd", "debian") or (a.use is None and current.node.hostnamectl):
            if not current.node.hostnamectl:
                return Failed(
                    f"use: {a.use} needs hostnamectl, which does not answer here (no systemd?); "
                    "leave use unset to write /etc/hostname"
                )
            return Change(tuple(lines), HostPlan(hostnamectl=True))
        return self._plan_files(current, tuple(lines), static, now_differs)

    def _plan_files(
        self, current: HostState, lines: tuple[str, ...], static: str, now_differs: bool
    ) -> Plan[HostPlan]:
        a = self.args
        write = diff = None
        if static.lower() != a.name.lower():
            old = (current.file.content or b"").decode("utf-8", "surrogateescape")
            new = with_network_name(old, a.name) if a.use == "redhat" else f"{a.name}\n"
            planned = plan_write(current.file, Accounts(), FileWish(new.encode()))
            if isinstance(planned, Blocked | Failed):
                return planned
            if isinstance(planned, Change):
                write, diff = planned.payload, planned.diff
        return Change(lines, HostPlan(write=write, set_current=now_differs), diff)

    def commands(self, change: Change[HostPlan]) -> list[Op]:
        a, p = self.args, change.payload
        if p.hostnamectl:
            return [Op(op_script(join(["hostnamectl", "set-hostname", a.name])))]
        ops = write_ops(p.write) if p.write is not None else []
        if p.set_current:
            ops.append(
                Op(
                    op_script(
                        "if command -v hostname >/dev/null 2>&1; "
                        f"then hostname {q(a.name)}; "
                        f"else printf '%s\\n' {q(a.name)} > /proc/sys/kernel/hostname; fi"
                    )
                )
            )
        return ops

    def fields(self, current: HostState) -> Mapping[str, Any]:
        """The facts Ansible's hostname module returns (the new name, dry run too)."""
        name = self.args.name
        return {"ansible_facts": {"ansible_hostname": name.split(".")[0], "ansible_nodename": name}}
