"""reboot: reboot the host, wait for it to go down and come back, and for a test command
to succeed on it; always changed (a dry run says it would reboot and does nothing).

The module is pure, like every other: its probe reads the boot id (`boot_time_command`),
who the task runs as and which reboot command the host has; its one command starts the
reboot detached (`nohup setsid sh -c 'sleep N; shutdown -r +0 MSG'` in the background),
so the command's session closes cleanly before sshd goes down. What comes after is the
runner's (see `comeback()` and runner/comeback.py): fresh connections until one answers
the boot id probe with a new id and runs `test_command` successfully, within
`reboot_timeout`; later tasks use that connection.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules._files import AbsPath
from provisioner.modules.base import Args, Change, Comeback, Failed, Module, Op, Plan
from provisioner.probes.base import Probe, Seen
from provisioner.shell import facts, q

BOOT_ID_COMMAND = "cat /proc/sys/kernel/random/boot_id"
# Where reboot commands live on EL; Ansible's defaults and the bins (sudo's secure_path).
SEARCH_PATHS = ("/sbin", "/bin", "/usr/sbin", "/usr/bin", "/usr/local/sbin")
DEFAULT_TOOLS = ("shutdown", "systemctl")  # systemctl where shutdown is not installed
DETACH_SECONDS = 1  # after the command returns, before the reboot: its session closes
MESSAGE = "Reboot initiated by provision"


def _one_line(value: str, what: str) -> str:
    if not value.strip() or "\0" in value:
        raise ValueError(f"{what} must be a non-empty command without NUL bytes")
    return value


class RebootArgs(Args):
    reboot_timeout: int = Field(default=600, ge=1)
    connect_timeout: int | None = Field(default=None, ge=1)
    pre_reboot_delay: int = Field(default=0, ge=0)
    post_reboot_delay: int = Field(default=0, ge=0)
    test_command: str = "whoami"
    msg: str = MESSAGE
    reboot_command: str | None = None
    boot_time_command: str = BOOT_ID_COMMAND
    search_paths: list[AbsPath] = Field(default_factory=lambda: list(SEARCH_PATHS))

    @field_validator("test_command", "boot_time_command", "reboot_command")
    @classmethod
    def _command(cls, value: str | None) -> str | None:
        return None if value is None else _one_line(value, "the command")

    @field_validator("reboot_command")
    @classmethod
    def _splits(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                shlex.split(value)
            except ValueError as exc:
                raise ValueError(f"reboot_command {value!r} cannot be split: {exc}") from None
        return value

    @field_validator("msg")
    @classmethod
    def _msg(cls, value: str) -> str:
        if "\0" in value or "\n" in value:
            raise ValueError("msg must be one line of text")
        return value

    @field_validator("search_paths")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        if any(":" in p for p in value):
            raise ValueError("a search path must not contain ':'")
        return value

    @property
    def tools(self) -> tuple[str, ...]:
        """The commands that may reboot the host, the first found is used."""
        if self.reboot_command is None:
            return DEFAULT_TOOLS
        return (shlex.split(self.reboot_command)[0],)


@dataclass(frozen=True)
class BootId(Probe[str]):
    """What `command` prints: one value per boot (the kernel's random boot id)."""

    command_text: str

    def command(self) -> str:
        return f"sh -c {q(self.command_text)} 2>&1"

    def parse(self, stdout: str, exit_code: int) -> str:
        text = stdout.strip()
        if exit_code != 0:
            raise ProbeError(
                f"boot_time_command {self.command_text!r} failed (exit {exit_code}): {text[-300:]}"
            )
        if not text:
            raise ProbeError(f"boot_time_command {self.command_text!r} printed nothing")
        return text


@dataclass(frozen=True)
class Rebooter:
    uid: int
    tool: str  # where the first of the reboot commands was found; "" for none


@dataclass(frozen=True)
class RebooterProbe(Probe[Rebooter]):
    """Who the task runs as, and which of `tools` the host has (`search_paths` first)."""

    tools: tuple[str, ...]
    search_paths: tuple[str, ...]

    def command(self) -> str:
        return "\n".join(
            [
                "(",
                _path_line(self.search_paths),
                'echo "uid=$(id -u)"',
                f"for c in {' '.join(q(t) for t in self.tools)}; do",
                '  found=$(command -v "$c" 2>/dev/null)',
                '  if [ -n "$found" ]; then echo "tool=$found"; break; fi',
                "done",
                ")",
            ]
        )

    def parse(self, stdout: str, exit_code: int) -> Rebooter:
        f = facts(stdout.splitlines())
        uid = f.get("uid", "")
        if not uid.isdigit():
            raise ProbeError(f"reboot: cannot understand the host's answer: {stdout[-200:]!r}")
        return Rebooter(int(uid), f.get("tool", ""))


def _path_line(paths: tuple[str, ...]) -> str:
    """search_paths before the PATH the task has."""
    if not paths:
        return ":"
    return f'PATH={q(":".join(paths))}:"$PATH"; export PATH'


@dataclass(frozen=True)
class RebootState:
    boot_id: str
    rebooter: Rebooter


@register
class RebootModule(Module[RebootArgs, RebootState, str]):
    name = "reboot"
    aliases = ("ansible.builtin.reboot",)
    args_model = RebootArgs

    @property
    def boot_id(self) -> BootId:
        return BootId(self.args.boot_time_command)

    @property
    def rebooter(self) -> RebooterProbe:
        return RebooterProbe(self.args.tools, tuple(self.args.search_paths))

    def probes(self) -> tuple[Probe[Any], ...]:
        return (self.boot_id, self.rebooter)

    def state(self, seen: Seen) -> RebootState:
        return RebootState(seen(self.boot_id), seen(self.rebooter))

    def plan(self, current: RebootState) -> Plan[str]:
        a, found = self.args, current.rebooter
        if not found.tool:
            where = ", ".join(a.search_paths) or "no search_paths"
            names = " or ".join(a.tools)
            return Failed(f"reboot: no {names} command on the host (looked in {where}, then PATH)")
        if a.reboot_command is None and found.uid != 0:
            return Failed(
                f"reboot: rebooting needs root and the task runs as uid {found.uid}:"
                " give it become: true"
            )
        summary = f"reboot ({found.tool}), then wait up to {a.reboot_timeout}s for it to come back"
        return Change((summary,), current.boot_id, actions_only=True)

    def commands(self, change: Change[str]) -> list[Op]:
        return [Op(reboot_script(self.args))]

    def comeback(self, change: Change[str]) -> Comeback:
        a = self.args
        return Comeback(
            before=change.payload,
            boot_id=self.boot_id,
            test=a.test_command,
            timeout=a.reboot_timeout,
            connect_timeout=a.connect_timeout,
            delay=a.post_reboot_delay,
        )

    def fields(self, current: RebootState) -> Mapping[str, Any]:
        return {"rebooted": False, "elapsed": 0}


def reboot_script(a: RebootArgs) -> str:
    """Start the reboot in the background, detached from the command's session (setsid,
    nohup, no open descriptor), `DETACH_SECONDS` + `pre_reboot_delay` from now."""
    delay = DETACH_SECONDS + a.pre_reboot_delay
    if a.reboot_command is None:
        then = (
            'if command -v shutdown >/dev/null 2>&1; then exec shutdown -r +0 "$1";'
            " else exec systemctl reboot; fi"
        )
    else:
        then = a.reboot_command
    inner = f"sleep {delay}; {then}"
    return "\n".join(
        [
            "(",
            _path_line(tuple(a.search_paths)),
            "detach=; if command -v setsid >/dev/null 2>&1; then detach=setsid; fi",
            f"nohup $detach sh -c {q(inner)} provision-reboot {q(a.msg)}"
            " </dev/null >/dev/null 2>&1 &",
            ")",
        ]
    )
