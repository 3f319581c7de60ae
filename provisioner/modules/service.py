"""service (aliases systemd, systemd_service): a systemd unit's run state, boot
enablement and mask; with only `name`, its properties (registered as `status`).

`start`/`stop` and `enable`/`disable` are separate commands: CentOS 7's
systemd 219 has no `enable --now`.

`restarted` and `reloaded` are actions, not states: plan() announces them
every time, marked as actions, so the runner's re-probe after apply checks
only what they leave behind (the unit is active, and enabled if asked).
`daemon_reload: true` with a unit reloads only when systemd says a unit file
changed on disk (NeedDaemonReload=yes) or a drop-in on disk is not one systemd loaded
(DropInPaths: NeedDaemonReload misses one in a NAME.d made since the last reload);
without a unit nothing can tell, so it is an action that runs every time. `masked`
is planned around the rest: unmask first, mask last (after a stop or a disable).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator

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
from provisioner.probes.systemd import UNIT_DIRS, DropIns, UnitShow, UnitState
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
    name: str | None = Field(default=None, validation_alias=AliasChoices("name", "service", "unit"))
    state: Literal["started", "stopped", "restarted", "reloaded"] | None = None
    enabled: bool | None = None
    masked: bool | None = None
    daemon_reload: bool = Field(
        default=False, validation_alias=AliasChoices("daemon_reload", "daemon-reload")
    )
    scope: Literal["system", "user", "global"] = "system"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else valid_name(value, "unit name", forbid="/\n\t ")

    @field_validator("scope")
    @classmethod
    def _system_only(cls, value: str) -> str:
        if value != "system":
            raise ValueError(
                f"scope '{value}' is not supported: only system units (systemctl without --user)"
            )
        return value

    @model_validator(mode="after")
    def _something(self) -> ServiceArgs:
        asked = [k for k in ("state", "enabled", "masked") if getattr(self, k) is not None]
        if self.name is None and asked:
            raise ValueError(f"'{asked[0]}' needs 'name' (the unit)")
        if self.name is None and not self.daemon_reload:
            raise ValueError(
                "give 'name' (with 'state', 'enabled' or 'masked'), or 'daemon_reload'"
            )
        return self

    @property
    def unit(self) -> str | None:
        if self.name is None:
            return None
        return self.name if self.name.endswith(UNIT_TYPES) else f"{self.name}.service"

    @property
    def query_only(self) -> bool:
        """Only `name`: nothing to change, the unit's properties to register."""
        return self.state is None and self.enabled is None and self.masked is None


Action = Literal[
    "daemon-reload", "unmask", "start", "stop", "restart", "reload", "enable", "disable", "mask"
]  # fmt: skip
ACTION_LINES = frozenset({"restart", "reload", "daemon-reload"})
MASKED = {"masked", "masked-runtime"}
View = UnitState | None  # None: no unit named (daemon_reload alone)


@register
class ServiceModule(Module[ServiceArgs, View, tuple[Action, ...]]):
    name = "service"
    aliases = ("systemd", "systemd_service", "ansible.builtin.systemd_service")
    differs = (
        "systemd units only (scope: system); daemon_reload alone is changed on every run "
        "(Ansible: ok); with only a name it registers the unit's status (Ansible refuses "
        "that)"
    )
    args_model = ServiceArgs
    unit_dirs: ClassVar[tuple[str, ...]] = UNIT_DIRS  # where drop-ins are (tests: a tmp dir)

    def _dropins(self) -> DropIns | None:
        """Asked with daemon_reload: NeedDaemonReload alone misses a drop-in made in a
        new NAME.d directory."""
        unit = self.args.unit
        if unit is None or not self.args.daemon_reload:
            return None
        return DropIns(unit, self.unit_dirs)

    def probes(self) -> tuple[Probe[Any], ...]:
        unit, dropins = self.args.unit, self._dropins()
        return () if unit is None else (UnitShow(unit), *((dropins,) if dropins else ()))

    def state(self, seen: Seen) -> View:
        unit, dropins = self.args.unit, self._dropins()
        if unit is None:
            return None
        shown = seen(UnitShow(unit))
        if dropins is not None and shown.load == "loaded" and not shown.need_reload:
            if seen(dropins).unseen:
                shown = replace(shown, need_reload=True)
        return shown

    def plan(self, current: View) -> Plan[tuple[Action, ...]]:
        a, unit = self.args, self.args.unit
        if current is None or unit is None:
            # No unit to ask about: systemd cannot say whether a reload is due.
            return Change(("daemon-reload",), ("daemon-reload",), actions_only=True)
        needs_unit = a.state is not None or a.enabled is not None
        if current.load == "not-found" and needs_unit:
            return Blocked(Provision(Kind.UNIT, unit), f"unit {unit}")
        lines: list[str] = []
        actions: list[Action] = []
        if a.daemon_reload and current.need_reload:
            lines.append("daemon-reload")
            actions.append("daemon-reload")
        masking = self._plan_mask(current)
        if masking == "unmask":
            lines.append("masked: yes → no")
            actions.append("unmask")
        self._plan_run_state(current, lines, actions)
        self._plan_enabled(current, lines, actions)
        if masking == "mask":  # last: stopping and disabling go before it
            lines.append("masked: no → yes")
            actions.append("mask")
        if not lines:
            return CONVERGED
        # A restart or reload of a running unit leaves nothing a probe could check.
        return Change(tuple(lines), tuple(actions), actions_only=set(lines) <= ACTION_LINES)

    def _is_masked(self, current: UnitState) -> bool:
        return current.unit_file in MASKED or current.load == "masked"

    def _plan_mask(self, current: UnitState) -> Action | None:
        want, now = self.args.masked, self._is_masked(current)
        if want is None or want == now:
            return None
        if not want and current.unit_file == "masked-runtime":
            raise ProbeError(
                f"unit {self.args.unit} is masked until the next boot (masked-runtime):"
                " `systemctl unmask --runtime` undoes that"
            )
        return "mask" if want else "unmask"

    def _will_be_masked(self, current: UnitState) -> bool:
        return self._is_masked(current) if self.args.masked is None else self.args.masked

    def _plan_run_state(self, current: UnitState, lines: list[str], actions: list[Action]) -> None:
        unit, want = self.args.unit, self.args.state
        running = current.active in RUNNING
        if want in ("started", "restarted", "reloaded") and self._will_be_masked(current):
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
        if self.args.masked is False and self._is_masked(current):
            # What the unit file says once unmasked, only the re-probe can tell;
            # enable/disable of a unit already so is harmless.
            lines.append(f"enabled: masked → {'yes' if enabled else 'no'}")
            actions.append("enable" if enabled else "disable")
            return
        if enabled and (self._will_be_masked(current) or ufs == "bad"):
            raise ProbeError(f"unit {unit} cannot be enabled: it is {ufs or 'masked'}")
        is_on = ufs in ENABLED
        if ufs not in FIXED and is_on != enabled:
            if ufs not in ENABLED | DISABLED | MASKED:
                raise ProbeError(f"unit {unit}: unknown UnitFileState {ufs!r}")
            lines.append(f"enabled: {'yes' if is_on else 'no'} → {'yes' if enabled else 'no'}")
            actions.append("enable" if enabled else "disable")

    def commands(self, change: Change[tuple[Action, ...]]) -> list[Op]:
        ops = []
        for action in change.payload:
            if action == "daemon-reload":
                ops.append(Op(op_script("systemctl daemon-reload")))
            else:
                ops.append(Op(op_script(join(["systemctl", action, "--", self.args.unit or ""]))))
        return ops

    def fields(self, current: View) -> Mapping[str, Any]:
        """Ansible's `status`: every property `systemctl show` gave, as text."""
        if current is None:
            return {}
        return {"name": self.args.unit, "status": dict(current.props)}
