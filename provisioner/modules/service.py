"""service (alias systemd): a systemd unit's run state and boot enablement.

`start`/`stop` and `enable`/`disable` are separate commands: CentOS 7's
systemd 219 has no `enable --now`.

`restarted` and `reloaded` are actions, not states: plan() announces them
every time until this module instance has produced its commands(); after
that (the runner's re-probe after apply) only what they leave behind is
checked: the unit is active, and enabled if asked. So one module instance
per host and task, as the runner builds them. `daemon_reload: true` reloads
only when systemd says a unit file changed on disk (NeedDaemonReload=yes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import field_validator, model_validator

from provisioner.errors import MissingDependency, ProbeError
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
from provisioner.modules.base import Args, Change, Module, ModuleContext, Op

UNIT_TYPES = (
    ".service", ".socket", ".timer", ".target", ".mount", ".automount",
    ".path", ".slice", ".scope", ".swap", ".device",
)  # fmt: skip
PROPS = ("LoadState", "ActiveState", "UnitFileState", "NeedDaemonReload")

# is-enabled says yes for these; static/indirect/generated/transient units
# cannot be enabled or disabled, so either request is already met.
ENABLED = {"enabled", "enabled-runtime", "alias"}
DISABLED = {"disabled", "linked", "linked-runtime"}
FIXED = {"static", "indirect", "generated", "transient", ""}
RUNNING = {"active", "activating", "reloading"}


class ServiceArgs(Args):
    name: str
    state: Literal["started", "stopped", "restarted", "reloaded"] | None = None
    enabled: bool | None = None
    daemon_reload: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return valid_name(value, "unit name", forbid="/\n\t ")

    @model_validator(mode="after")
    def _something(self) -> ServiceArgs:
        if self.state is None and self.enabled is None and not self.daemon_reload:
            raise ValueError("give at least one of 'state', 'enabled' or 'daemon_reload'")
        return self

    @property
    def unit(self) -> str:
        return self.name if self.name.endswith(UNIT_TYPES) else f"{self.name}.service"


@dataclass(frozen=True)
class UnitState:
    load: str
    active: str
    unit_file: str
    need_reload: bool


@register
class ServiceModule(Module[ServiceArgs, UnitState]):
    name = "service"
    aliases = ("systemd",)
    args_model = ServiceArgs

    def __init__(self, args: ServiceArgs, ctx: ModuleContext | None = None) -> None:
        super().__init__(args, ctx)
        self._acted = False  # commands() ran: restart/reload are done

    def probe(self) -> str:
        argv = ["systemctl", "show", "-p", ",".join(PROPS), "--", self.args.unit]
        return subshell(query("show", join(argv)))

    def parse(self, stdout: str, exit_code: int) -> UnitState:
        unit = self.args.unit
        qr = need(parse_queries(stdout), "show", "service")
        f = facts_any(qr.lines)
        if qr.rc != 0 or "LoadState" not in f or "ActiveState" not in f:
            raise ProbeError(
                f"systemctl show {unit} failed (exit {qr.rc}): is this a systemd host?"
            )
        state = UnitState(
            f["LoadState"],
            f["ActiveState"],
            f.get("UnitFileState", ""),
            f.get("NeedDaemonReload") == "yes",
        )
        if state.load == "not-found":
            raise MissingDependency(f"unit {unit}")
        return state

    def plan(self, current: UnitState) -> Change | None:
        a, unit = self.args, self.args.unit
        lines: list[str] = []
        actions: list[str] = []
        if a.daemon_reload and current.need_reload:
            lines.append("daemon-reload")
            actions.append("daemon-reload")
        running = current.active in RUNNING
        want = a.state
        if want in ("restarted", "reloaded") and self._acted:
            want = "started"
        if want in ("started", "restarted", "reloaded") and current.load == "masked":
            raise ProbeError(f"unit {unit} is masked")
        if want == "started" and not running:
            lines.append(f"state: {current.active} → active")
            actions.append("start")
        elif want == "stopped" and running:
            lines.append(f"state: {current.active} → inactive")
            actions.append("stop")
        elif want == "restarted":
            lines.append("restart")
            actions.append("restart")
        elif want == "reloaded":
            # Reloading a stopped unit starts it, as Ansible does.
            lines.append("reload" if running else f"state: {current.active} → active")
            actions.append("reload" if running else "start")
        if a.enabled is not None:
            ufs = current.unit_file
            if ufs in ("masked", "masked-runtime", "bad") and a.enabled:
                raise ProbeError(f"unit {unit} cannot be enabled: it is {ufs}")
            is_on = ufs in ENABLED
            if ufs not in FIXED and is_on != a.enabled:
                if ufs not in ENABLED | DISABLED | {"masked", "masked-runtime"}:
                    raise ProbeError(f"unit {unit}: unknown UnitFileState {ufs!r}")
                lines.append(
                    f"enabled: {'yes' if is_on else 'no'} → {'yes' if a.enabled else 'no'}"
                )
                actions.append("enable" if a.enabled else "disable")
        if not lines:
            return None
        return Change(tuple(lines), payload=tuple(actions))

    def commands(self, change: Change) -> list[Op]:
        self._acted = True
        ops = []
        for action in change.payload:
            if action == "daemon-reload":
                ops.append(Op(op_script("systemctl daemon-reload")))
            else:
                ops.append(Op(op_script(join(["systemctl", action, "--", self.args.unit]))))
        return ops


def facts_any(lines: tuple[str, ...]) -> dict[str, str]:
    """`Key=value` lines of systemctl show (keys are CamelCase)."""
    out = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out
