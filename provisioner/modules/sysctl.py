"""sysctl: a kernel parameter in a sysctl file, and (reload, sysctl_set) in the kernel.

As Ansible's: the file's value is compared as written (spaces around it
stripped), the live value with its whitespace normalized (`1024 65000` equals
`1024\\t65000`). With `reload` (the default) a live value that differs also
counts, and `sysctl -p FILE` applies the file; `sysctl_set` sets the one value
with `sysctl -w`. Unlike Ansible, only the key's own lines are rewritten: the
file's other lines keep their bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules._files import (
    AbsPath,
    Accounts,
    FileWish,
    WritePlan,
    plan_write,
    write_ops,
)
from provisioner.modules.base import CONVERGED, Args, Blocked, Change, Failed, Module, Op, Plan
from provisioner.modules.lineinfile import split_lines
from provisioner.probes.base import Probe, Seen
from provisioner.probes.files import ContentState, FileContent
from provisioner.probes.sysctl import LiveValue, SysctlLive
from provisioner.shell import join, op_script, valid_name

LIMIT = 1024 * 1024
"""A sysctl file larger than this is refused: it travels whole in the probe."""

# Ansible's boolean words: a value written as one of them is 1 or 0.
TRUE_WORDS = frozenset({"y", "yes", "on", "1", "true", "t"})
FALSE_WORDS = frozenset({"n", "no", "off", "0", "false", "f"})


def _value(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        word = value.strip()
        if word.lower() in TRUE_WORDS:
            return "1"
        if word.lower() in FALSE_WORDS:
            return "0"
        if "\n" in word or "\r" in word:
            raise ValueError("value must be a single line")
        return word
    return value


class SysctlArgs(Args):
    renamed: ClassVar[Mapping[str, str]] = {"key": "name", "val": "value"}

    name: str
    # A boolean or a number is read as Ansible reads it (`_normalized`).
    value: str | None = Field(
        default=None,
        json_schema_extra={"anyOf": [{"type": ["string", "number", "boolean"]}, {"type": "null"}]},
    )
    state: Literal["present", "absent"] = "present"
    sysctl_file: AbsPath = "/etc/sysctl.conf"
    reload: bool = True
    sysctl_set: bool = False
    ignoreerrors: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        # '=' would end the key in the file and in `sysctl -w`.
        return valid_name(value.strip(), "name", forbid="= \t\n\r")

    @field_validator("value", mode="before")
    @classmethod
    def _normalized(cls, value: object) -> object:
        return _value(value)

    @model_validator(mode="after")
    def _needs(self) -> SysctlArgs:
        if self.state == "present" and not self.value:
            raise ValueError("state 'present' needs a non-empty 'value'")
        return self


def same_live(a: str, b: str) -> bool:
    return a.split() == b.split()


def _entry(line: str) -> tuple[str, str] | None:
    """A `key = value` line's key and value; None for comments, blanks and the rest."""
    text = line.strip()
    if not text or text.startswith(("#", ";")) or "=" not in text:
        return None
    key, _, value = text.partition("=")
    return key.strip(), value.strip()


def file_value(text: str, name: str) -> str | None:
    """The key's value in the file: the last line that sets it wins, as with sysctl -p."""
    found = None
    for line in split_lines(text):
        entry = _entry(line)
        if entry is not None and entry[0] == name:
            found = entry[1]
    return found


def edit(text: str, name: str, value: str | None) -> str:
    """The file with `name=value` in place of the key's first line (its other lines
    dropped), appended if the key has none; value None: every line of the key dropped."""
    out: list[str] = []
    placed = False
    for line in split_lines(text):
        entry = _entry(line)
        if entry is None or entry[0] != name:
            out.append(line)
        elif value is not None and not placed:
            out.append(f"{name}={value}\n")
            placed = True
    if value is not None and not placed:
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        out.append(f"{name}={value}\n")
    return "".join(out)


@dataclass(frozen=True)
class SysctlState:
    file: ContentState
    live: LiveValue | None  # asked only when the live value matters


@dataclass(frozen=True)
class SysctlPlan:
    write: WritePlan | None
    set_live: bool
    reload: bool


@register
class SysctlModule(Module[SysctlArgs, SysctlState, SysctlPlan]):
    name = "sysctl"
    aliases = ("ansible.posix.sysctl",)
    differs = "the file's other lines keep their bytes (Ansible rewrites each as key=value)"
    args_model = SysctlArgs

    def _live_matters(self) -> bool:
        a = self.args
        return a.state == "present" and (a.reload or a.sysctl_set)

    def _file_probe(self) -> FileContent:
        return FileContent(self.args.sysctl_file, limit=LIMIT)

    def probes(self) -> tuple[Probe[Any], ...]:
        live = (SysctlLive(self.args.name),) if self._live_matters() else ()
        return (self._file_probe(), *live)

    def state(self, seen: Seen) -> SysctlState:
        file = seen(self._file_probe())
        if file.kind == "file" and file.content is None:
            raise ProbeError(f"sysctl: {self.args.sysctl_file} is larger than {LIMIT} bytes")
        live = seen(SysctlLive(self.args.name)) if self._live_matters() else None
        return SysctlState(file, live)

    def plan(self, current: SysctlState) -> Plan[SysctlPlan]:
        a = self.args
        file = current.file
        old_text = (file.content or b"").decode("utf-8", "surrogateescape")
        old = file_value(old_text, a.name) if file.kind == "file" else None
        lines: list[str] = []
        write: WritePlan | None = None
        diff: str | None = None
        if (a.state == "present" and old != a.value) or (a.state == "absent" and old is not None):
            new = edit(old_text, a.name, a.value if a.state == "present" else None)
            planned = plan_write(file, Accounts(), FileWish(new.encode("utf-8", "surrogateescape")))
            if isinstance(planned, Blocked):
                return planned
            assert isinstance(planned, Change)
            lines.append(self._file_line(old))
            write, diff = planned.payload, planned.diff
        live = self._live_plan(current.live)
        if isinstance(live, Failed):
            return live
        if live is not None:
            lines.append(live)
        set_live = live is not None and a.sysctl_set
        reload = a.reload and (write is not None or live is not None)
        if not lines:
            return CONVERGED
        if reload and live is None:
            lines.append(f"reload: sysctl -p {a.sysctl_file}")
        return Change(tuple(lines), SysctlPlan(write, set_live, reload), diff)

    def _file_line(self, old: str | None) -> str:
        a = self.args
        where = f"({a.sysctl_file})"
        if a.state == "absent":
            return f"- {a.name} {where}"
        if old is None:
            return f"+ {a.name} = {a.value} {where}"
        return f"~ {a.name}: {old} → {a.value} {where}"

    def _live_plan(self, live: LiveValue | None) -> str | Failed | None:
        """The summary line of a live value that differs (None: it does not, or does not
        matter), or why the task fails."""
        a = self.args
        if live is None or a.value is None:
            return None
        if live.kind == "unknown":
            if a.ignoreerrors:
                return None
            return Failed(
                f"sysctl: the running kernel has no key {a.name} ({live.message}); is its "
                "kernel module loaded? ignoreerrors: true writes the file all the same"
            )
        if live.kind == "error":
            raise ProbeError(f"sysctl: cannot read {a.name}: {live.message} (try become)")
        if same_live(live.value, a.value):
            return None
        how = "sysctl -w" if a.sysctl_set else f"sysctl -p {a.sysctl_file}"
        shown = " ".join(live.value.split())
        return f"live {a.name}: {shown} → {a.value} ({how})"

    def commands(self, change: Change[SysctlPlan]) -> list[Op]:
        a, p = self.args, change.payload
        e = ["-e"] if a.ignoreerrors else []
        ops = write_ops(p.write) if p.write is not None else []
        if p.set_live:
            ops.append(Op(_checked(join(["sysctl", *e, "-w", f"{a.name}={a.value}"]))))
        if p.reload:
            ops.append(Op(_checked(join(["sysctl", *e, "-p", a.sysctl_file]))))
        return ops


def _checked(command: str) -> str:
    """Run sysctl; some versions exit 0 though a key was refused, so its words count too
    (what Ansible checks for)."""
    return op_script(
        f"rc=0; err=$({command} 2>&1 >/dev/null) || rc=$?",
        '[ -z "$err" ] || printf \'%s\\n\' "$err" >&2',
        'case "$err" in *"Invalid argument"*|*"Read-only file system"*) exit 1 ;; esac',
        'exit "$rc"',
    )
