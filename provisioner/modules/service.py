"""service (alias systemd): a systemd unit's run state and boot enablement.

`start`/`stop` and `enable`/`disable` are separate commands: CentOS 7's
systemd 219 has no `enable --now`.

`restarted` and `reloaded` are actions, not states: plan() announces them
every time, marked as actions, so the runner's re-probe after apply checks
only what they leave behind (the unit is active, and enabled if asked).
`daemon_reload: true` reloads only when systemd says a unit file changed on
disk (NeedDaemonReload=yes).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator, model_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
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
from provisioner.probes.systemd import UnitShow, UnitState
from provisioner.shell import join, op_script, valid_name

UNIT_TYPES = (
    ".service", ".socket", ".timer", ".target", ".mount", ".automount",
    ".path", ".slice", ".scope", ".swap", ".device",
)  # fmt: skip

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


Action = Literal["daemon-reload", "start", "stop", "restart", "reload", "enable", "disable"]
ACTION_LINES = frozenset({"restart", "reload"})


@register
class ServiceModule(Module[ServiceArgs, UnitState, tuple[Action, ...]]):
    name = "service"
    aliases = ("systemd",)
    args_model = ServiceArgs

    def probes(self) -> tuple[Probe[Any], ...]:
        return (UnitShow(self.args.unit),)

    def state(self, seen: Seen) -> UnitState:
        return seen(UnitShow(self.args.unit))

    def plan(self, current: UnitState) -> Plan[tuple[Action, ...]]:
        a, unit = self.args, self.args.unit
        if current.load == "not-found":
            return Blocked(Provision(Kind.UNIT, unit), f"unit {unit}")
        lines: list[str] = []
        actions: list[Action] = []
        if a.daemon_reload and current.need_reload:
            lines.append("daemon-reload")
            actions.append("daemon-reload")
        self._plan_run_state(current, lines, actions)
        self._plan_enabled(current, lines, actions)
        if not lines:
            return CONVERGED
        # A restart or reload of a running unit leaves nothing a probe could check.
        return Change(tuple(lines), tuple(actions), actions_only=set(lines) <= ACTION_LINES)

    def _plan_run_state(self, current: UnitState, lines: list[str], actions: list[Action]) -> None:
        unit, want = self.args.unit, self.args.state
        running = current.active in RUNNING
        if want in ("started", "restarted", "reloaded") and current.load == "masked":
            raise ProbeError(f"unit {unit} is masked")
        if want == "started" and not running:
            lines.append(f"state: {current.active} → active")
            actions.append("start")
        elif want == "stopped" and running:
            lines.append(f"state: {current.active} → inactive")
            actions.append("stop")
        elif want == "restarted":
            lines.append("restart" if running else f"state: {current.active} → active")
            actions.append("restart")
        elif want == "reloaded":
            # Reloading a stopped unit starts it, as Ansible does.
            lines.append("reload" if running else f"state: {current.active} → active")
            actions.append("reload" if running else "start")

    def _plan_enabled(self, current: UnitState, lines: list[str], actions: list[Action]) -> None:
        unit, enabled = self.args.unit, self.args.enabled
        if enabled is None:
            return
        ufs = current.unit_file
        if ufs in ("masked", "masked-runtime", "bad") and enabled:
            raise ProbeError(f"unit {unit} cannot be enabled: it is {ufs}")
        is_on = ufs in ENABLED
        if ufs not in FIXED and is_on != enabled:
            if ufs not in ENABLED | DISABLED | {"masked", "masked-runtime"}:
                raise ProbeError(f"unit {unit}: unknown UnitFileState {ufs!r}")
            lines.append(f"enabled: {'yes' if is_on else 'no'} → {'yes' if enabled else 'no'}")
            actions.append("enable" if enabled else "disable")

    def commands(self, change: Change[tuple[Action, ...]]) -> list[Op]:
        ops = []
        for action in change.payload:
            if action == "daemon-reload":
                ops.append(Op(op_script("systemctl daemon-reload")))
            else:
                ops.append(Op(op_script(join(["systemctl", action, "--", self.args.unit]))))
        return ops
