"""Play × Host → a HostPlan: the host's variables and its tasks, prepared once.

Preparing a task (loop, when, rendered arguments, the module built with its
controller inputs) is pure: no host is touched. A task is prepared when the
play is compiled, unless what it renders names something only the run knows
(a registered result, a fact not gathered yet): such a task is prepared later,
as soon as that is known (the runner's look-ahead) or at its turn. `validate`
and `apply` share the HostPlans, so nothing is prepared twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from provisioner.errors import (
    InputError,
    Location,
    ModuleArgsError,
    ProvisionError,
    TemplateError,
)
from provisioner.modules import lookup
from provisioner.modules.base import AnyModule, ModuleContext
from provisioner.playbook.schema import Playbook, PlaySpec, TaskSpec
from provisioner.playbook.variables import (
    MAGIC_NAMES,
    check_magic,
    magic_variables,
    merge,
    play_files_vars,
    resolved,
)
from provisioner.probes.host import FACT_NAMES
from provisioner.templating import Data, Templar, as_data

if TYPE_CHECKING:  # types only: commands without an inventory do not import it
    from provisioner.inventory import Host, Inventory

NO_ITEM = object()
PlanKey = tuple[int, str]  # (play index, host name)


def default_login_user(host: Host) -> str:
    """Without a transport to ask: the inventory's user, else root."""
    return host.connection.user or "root"


@dataclass
class Unit:
    """One unit of work for one host: a task, or one loop item of it."""

    task: TaskSpec
    item: Any
    module: AnyModule | None  # None: skipped
    skipped: str | None = None  # the reason, when `when` is false

    @property
    def label(self) -> str:
        if self.item is NO_ITEM:
            return ""
        return str(self.item.get("name", self.item) if isinstance(self.item, dict) else self.item)


@dataclass
class PlannedTask:
    """A task of a HostPlan: prepared (`units`) or waiting for `needs` (run-time names)."""

    spec: TaskSpec
    needs: frozenset[str]  # names only the run can tell
    uses: frozenset[str] = frozenset()  # every name its templates read
    units: list[Unit] | None = None
    error: ProvisionError | None = None  # preparing it failed

    @property
    def prepared(self) -> bool:
        return self.units is not None or self.error is not None


def select_hosts(inventory: Inventory, play: PlaySpec, limit: str | None) -> list[Host]:
    hosts = inventory.select(play.hosts, where=play.loc)
    if limit is not None:
        allowed = {h.name for h in inventory.select(limit)}
        hosts = [h for h in hosts if h.name in allowed]
    return hosts


def registered_names(playbook: Playbook) -> frozenset[str]:
    """Names some task registers: only the run knows their values."""
    return frozenset(
        t.register_as for p in playbook.plays for t in [*p.tasks, *p.handlers] if t.register_as
    )


@dataclass
class HostPlan:
    """One host in one play: its variables (facts once gathered) and its tasks."""

    play: PlaySpec
    host: Host
    layers: dict[str, Mapping[str, Any]]  # inventory, files, extra, magic
    registers: frozenset[str]
    tasks: list[PlannedTask] = field(default_factory=list)
    handlers: list[PlannedTask] = field(default_factory=list)
    facts: Mapping[str, Any] | None = None
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def extra_vars(self) -> Mapping[str, Any]:
        return self.layers["extra"]

    def login_user(self) -> str:
        return str(resolved(self.variables["login_user"]))

    def unknown(self) -> frozenset[str]:
        """Names that only the run can tell (registered results; facts until gathered)."""
        return self.registers | (FACT_NAMES if self.facts is None else frozenset())

    def bind_facts(self, facts: Mapping[str, Any]) -> None:
        """The facts are in: variables gain them (below play vars, as documented)."""
        self.facts = facts
        self.merge_variables()

    def merge_variables(self) -> None:
        lay = self.layers
        self.variables = merge(
            lay["inventory"], self.facts or {}, self.play, lay["files"], lay["extra"], lay["magic"]
        )

    def scope(self, task: TaskSpec, registered: Mapping[str, Any], item: Any = NO_ITEM) -> Templar:
        """What a task's templates see: variables < registered < task vars < extra vars,
        then the loop item."""
        merged = {**self.variables, **as_data(registered), **task.vars, **self.extra_vars}
        return Templar(merged if item is NO_ITEM else {**merged, "item": Data(item)})

    def prepare(self, planned: PlannedTask, registered: Mapping[str, Any]) -> None:
        """Prepare the task now (errors are kept, to fail the task at its turn)."""
        try:
            planned.units = prepare(planned.spec, self.scope(planned.spec, registered), self.play)
        except ProvisionError as exc:
            planned.error = located(exc, planned.spec.loc)

    def ready(self, planned: PlannedTask, registered: Mapping[str, Any], pending: set[str]) -> bool:
        """Whether a waiting task can be prepared now: all it needs is known and no task
        before it that has not run yet may still change it."""
        unknown = (FACT_NAMES if self.facts is None else frozenset()) | pending
        return not (planned.needs & unknown) and planned.needs & self.registers <= set(registered)


def located(exc: ProvisionError, where: Location) -> ProvisionError:
    """A template error raised without a place (a variable that refers to itself,
    found while resolving names) gets the place of what was being rendered."""
    if isinstance(exc, TemplateError) and exc.where is None:
        return TemplateError(exc.message, where)
    return exc


def compile_host(
    play: PlaySpec,
    host: Host,
    extra_vars: Mapping[str, Any],
    *,
    login_user: Callable[[Host], str],
    check: bool,
    registers: frozenset[str],
    facts: Mapping[str, Any] | None = None,
) -> HostPlan:
    """The HostPlan of one host in one play. Raises InputError for the play's variables
    (a missing vars file, a magic variable set); a task's own error is kept in it."""
    magic = magic_variables(host, login_user, check)
    taken = sorted(MAGIC_NAMES & set(host.vars))
    where = host.var_loc(taken[0]) if taken else None
    try:
        files = play_files_vars(play, host.vars, extra_vars, magic, facts or {}, where)
    except TemplateError as exc:  # rendering a vars_files name
        raise located(exc, play.loc) from None
    layers = {"inventory": host.vars, "files": files, "extra": extra_vars, "magic": magic}
    plan = HostPlan(play, host, layers, registers, facts=facts)
    plan.merge_variables()
    plan.tasks = [_planned(plan, t) for t in play.tasks]
    plan.handlers = [_planned(plan, t) for t in play.handlers]
    return plan


def _planned(plan: HostPlan, task: TaskSpec) -> PlannedTask:
    templar = plan.scope(task, {})
    values: list[Any] = [task.args, task.when, task.loop, task.vars]
    cls = lookup(task.module)
    if cls is not None:
        values += cls.rendered_sources(task.args, plan.play.base_dir)
    uses = templar.names_needed(values)
    planned = PlannedTask(task, uses & plan.unknown(), uses)
    if not planned.needs:
        plan.prepare(planned, {})
    return planned


def prepare(task: TaskSpec, templar: Templar, play: PlaySpec) -> list[Unit]:
    """Evaluate loop and when, render arguments, build the module(s).

    Raises TemplateError/ModuleArgsError (with the task's location) when a
    template fails or the rendered arguments are invalid.
    """
    check_magic([("task vars", task.vars, task.loc)])
    items: Sequence[Any] = [NO_ITEM]
    if task.loop is not None:
        loop = templar.render(task.loop, task.loc)
        if not isinstance(loop, list):
            raise InputError(f"loop must give a list, got {type(loop).__name__}", task.loc)
        items = loop
    out: list[Unit] = []
    for item in items:
        # A loop item is the result of rendering the loop: data, not rendered again.
        scope = templar if item is NO_ITEM else templar.child({"item": Data(item)})
        false = next((c for c in task.when if not scope.truthy(c, task.loc)), None)
        if false is not None:
            out.append(Unit(task, item, None, skipped=f"when: {false} was false"))
            continue
        args = scope.render(task.args, task.loc)
        out.append(Unit(task, item, build_module(task, args, scope, play)))
    return out


def build_module(task: TaskSpec, args: dict[str, Any], scope: Templar, play: PlaySpec) -> AnyModule:
    cls = lookup(task.module)
    if cls is None:  # the loader only lets known names through
        raise ModuleArgsError(f"unknown module '{task.module}'", task.loc)
    ctx = ModuleContext(
        base_dir=play.base_dir,
        render_file=lambda text, name: scope.render_file(text, name, task.loc),
    )
    try:
        return cls.from_dict(args, ctx)
    except ModuleArgsError as exc:
        raise ModuleArgsError(exc.message, task.loc) from None
