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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provisioner.errors import (
    Location,
    ModuleArgsError,
    ProvisionError,
    TemplateError,
)
from provisioner.modules.base import AnyModule, ModuleContext
from provisioner.playbook.loops import loop_items
from provisioner.playbook.schema import (
    BlockSpec,
    Entry,
    IncludeSpec,
    Playbook,
    PlaySpec,
    RoleInfo,
    TaskSpec,
    walk,
)
from provisioner.playbook.task import module_class
from provisioner.playbook.variables import (
    LOOP_MAGIC,
    MAGIC_NAMES,
    OMIT,
    RESCUE_MAGIC,
    check_magic,
    magic_variables,
    merge,
    play_files_vars,
    play_magic,
    resolved,
    role_magic,
)
from provisioner.probes.host import FACT_NAMES
from provisioner.templating import Data, Templar, as_data

if TYPE_CHECKING:  # types only: commands without an inventory do not import it
    from provisioner.inventory import Host, Inventory
    from provisioner.inventory.shard import Shard

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
    index: int = 0
    shown: str | None = None  # loop_control's label, rendered

    @property
    def label(self) -> str:
        if self.item is NO_ITEM:
            return ""
        if self.shown is not None:
            return self.shown
        return str(self.item.get("name", self.item) if isinstance(self.item, dict) else self.item)


@dataclass
class PlannedTask:
    """A task of a HostPlan: prepared (`units`) or waiting for `needs` (run-time names)."""

    spec: TaskSpec
    needs: frozenset[str]  # names only the run can tell
    uses: frozenset[str] = frozenset()  # every name its templates read
    units: list[Unit] | None = None
    error: ProvisionError | None = None  # preparing it failed
    sets: frozenset[str] = frozenset()  # names it gives a value (register, set_fact, barrier)

    @property
    def prepared(self) -> bool:
        return self.units is not None or self.error is not None


@dataclass
class PlannedBlock:
    spec: BlockSpec
    block: list[Planned]
    rescue: list[Planned]
    always: list[Planned]


@dataclass
class PlannedInclude:
    """Decided at its turn: its `when`, `loop` and file, then its tasks planned."""

    spec: IncludeSpec
    barrier: str  # what every later task waits for: it may set anything


Planned = PlannedTask | PlannedBlock | PlannedInclude


RESCUE_NAMES = frozenset(RESCUE_MAGIC)


def flat(planned: list[Planned]) -> list[PlannedTask]:
    """The planned tasks of a list, blocks opened (includes are planned at run time)."""
    out: list[PlannedTask] = []
    for entry in planned:
        if isinstance(entry, PlannedTask):
            out.append(entry)
        elif isinstance(entry, PlannedBlock):
            out += [t for part in (entry.block, entry.rescue, entry.always) for t in flat(part)]
    return out


def barrier_of(entry: TaskSpec | IncludeSpec) -> str:
    """A name no template can write: done when this entry has run on the host."""
    return f"<after {entry.loc} #{id(entry)}>"


def sets_of(task: TaskSpec) -> frozenset[str]:
    """The variables a task gives a value, known before it runs."""
    names = {task.register_as} if task.register_as else set()
    cls = module_class(task.module)
    if cls.sets_variables:
        names |= {k for k in task.args if isinstance(k, str) and k != "cacheable"}
    if cls.loads_variables or cls.sets_facts:
        names.add(barrier_of(task))
    return frozenset(names)


def select_hosts(
    inventory: Inventory, play: PlaySpec, limit: str | None, shard: Shard | None = None
) -> list[Host]:
    """The play's hosts, then those of --limit, then those of --shard."""
    hosts = inventory.select(play.hosts, where=play.loc)
    if limit is not None:
        allowed = {h.name for h in inventory.select(limit)}
        hosts = [h for h in hosts if h.name in allowed]
    if shard is not None:
        hosts = [h for h in hosts if shard.keeps(h.name)]
    return hosts


def registered_names(playbook: Playbook) -> frozenset[str]:
    """Names some task registers or sets: only the run knows their values (and what a
    rescue reads of the failure)."""
    names = {n for p in playbook.plays for t in p.all_tasks() for n in sets_of(t)}
    return frozenset(names | RESCUE_NAMES)


@dataclass
class HostPlan:
    """One host in one play: its variables (facts once gathered) and its tasks."""

    play: PlaySpec
    host: Host
    layers: dict[str, Mapping[str, Any]]  # inventory, files, extra, magic
    registers: set[str]
    tasks: list[Planned] = field(default_factory=list)
    handlers: list[PlannedTask] = field(default_factory=list)
    facts: Mapping[str, Any] | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    # include_vars' values for this host (shared by its plays): template source
    included: dict[str, Any] = field(default_factory=dict)
    barriers: set[str] = field(default_factory=set)  # entries later tasks wait for

    @property
    def extra_vars(self) -> Mapping[str, Any]:
        return self.layers["extra"]

    def login_user(self) -> str:
        return str(resolved(self.variables["login_user"]))

    def unknown(self) -> frozenset[str]:
        """Names that only the run can tell (registered results; facts until gathered)."""
        return frozenset(self.registers) | (FACT_NAMES if self.facts is None else frozenset())

    def bind_facts(self, facts: Mapping[str, Any]) -> None:
        """The facts are in: variables gain them (below play vars, as documented)."""
        self.facts = facts
        self.merge_variables()

    def bind_hosts(self, hosts_magic: Mapping[str, Any]) -> None:
        """The batch's `groups`, `hostvars` and play hosts (a plan compiled by validate
        saw the whole play as one batch)."""
        self.layers["magic"] = {**self.layers["magic"], **hosts_magic}
        self.merge_variables()

    def merge_variables(self) -> None:
        lay = self.layers
        self.variables = merge(
            lay["inventory"], self.facts or {}, self.play, lay["files"], lay["extra"], lay["magic"]
        )

    def scope(
        self, task: TaskSpec, registered: Mapping[str, Any], item: Any = NO_ITEM, index: int = 0
    ) -> Templar:
        """What a task's templates see, then the loop item."""
        merged = self.scope_vars(task.role, task.vars, registered)
        scoped = merged if item is NO_ITEM else {**merged, **loop_vars(task, item, index)}
        return Templar(scoped, search=task.search or (self.play.base_dir,))

    def scope_vars(
        self, role: RoleInfo | None, own: Mapping[str, Any], registered: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Low to high: role defaults < inventory < facts < play vars < vars_files <
        role vars (the play's roles', then the task's own) < block and task vars <
        include_vars < set_fact and registered < role params < extra vars; the magic
        variables above all."""
        return {
            **self._role_defaults(role),
            **self.variables,
            **self._public_role_vars(),
            **_role_layer(role, "vars"),
            **own,
            **self.included,
            **as_data(registered),
            **_role_layer(role, "params"),
            **self.extra_vars,
            **self.layers["magic"],
        }

    def _public_role_vars(self) -> dict[str, Any]:
        """The vars of the play's roles, which Ansible shows its every task (role vars
        are not private unless the role was include_role'd)."""
        out: dict[str, Any] = {}
        for info in self.play.roles:
            if info.public:
                out.update(info.vars)
        return out

    def _role_defaults(self, role: RoleInfo | None) -> dict[str, Any]:
        """Every role's defaults of the play (as Ansible shares them), the task's own
        role's on top."""
        out: dict[str, Any] = {}
        for info in self.play.roles:
            out.update(info.defaults)
        chain = _chain(role)
        for info in chain:
            out.update(info.defaults)
        return out

    def plan_entries(self, entries: list[Entry]) -> list[Planned]:
        """Entries planned for this host, in order; a task after an entry that may set
        any name (include_vars, an include) waits for it."""
        self.registers |= {n for t in walk(entries) for n in sets_of(t)}
        out: list[Planned] = []
        for entry in entries:
            if isinstance(entry, TaskSpec):
                planned = _planned(self, entry)
                out.append(planned)
                self.barriers |= {n for n in planned.sets if n.startswith("<after ")}
            elif isinstance(entry, BlockSpec):
                parts = [self.plan_entries(p) for p in (entry.block, entry.rescue, entry.always)]
                out.append(PlannedBlock(entry, *parts))
            else:
                barrier = barrier_of(entry)
                out.append(PlannedInclude(entry, barrier))
                self.registers |= {barrier}
                self.barriers.add(barrier)
        return out

    def prepare(self, planned: PlannedTask, registered: Mapping[str, Any]) -> None:
        """Prepare the task now (errors are kept, to fail the task at its turn)."""
        try:
            planned.units = prepare(planned.spec, self.scope(planned.spec, registered), self.play)
        except ProvisionError as exc:
            planned.error = located(exc, planned.spec.loc)

    def ready(self, planned: PlannedTask, known: set[str], pending: set[str]) -> bool:
        """Whether a waiting task can be prepared now: all it needs is known (registered,
        set, or the entries it waits for done) and no task before it that has not run
        yet may still change it."""
        unknown = (FACT_NAMES if self.facts is None else frozenset()) | pending
        return not (planned.needs & unknown) and planned.needs & self.registers <= known


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
    hosts_magic: Mapping[str, Any] | None = None,
) -> HostPlan:
    """The HostPlan of one host in one play. Raises InputError for the play's variables
    (a missing vars file, a magic variable set); a task's own error is kept in it.
    `hosts_magic`: `groups`, `hostvars`, the play's hosts (variables.run_magic)."""
    magic = {
        **magic_variables(host, login_user, check),
        **play_magic(play, host),
        **(hosts_magic or {}),
    }
    taken = sorted(MAGIC_NAMES & set(host.vars))
    where = host.var_loc(taken[0]) if taken else None
    try:
        files = play_files_vars(play, host.vars, extra_vars, magic, facts or {}, where)
    except TemplateError as exc:  # rendering a vars_files name
        raise located(exc, play.loc) from None
    layers = {"inventory": host.vars, "files": files, "extra": extra_vars, "magic": magic}
    # Other hosts' facts come in while the play runs: what reads hostvars waits its turn.
    plan = HostPlan(play, host, layers, {*registers, "hostvars"}, facts=facts)
    plan.merge_variables()
    plan.tasks = plan.plan_entries(play.tasks)
    plan.barriers.clear()  # handlers run after the tasks: nothing to wait for
    plan.handlers = [_planned(plan, t) for t in play.handlers]
    return plan


def _planned(plan: HostPlan, task: TaskSpec) -> PlannedTask:
    templar = plan.scope(task, {})
    values: list[Any] = [task.args, task.when, task.loop, task.vars, task.ignore_errors]
    values += module_class(task.module).rendered_sources(task.args, base_dir(task, plan.play))
    uses = templar.names_needed(values)
    needs = (uses & plan.unknown()) | plan.barriers
    planned = PlannedTask(task, frozenset(needs), uses, sets=sets_of(task))
    if not planned.needs:
        plan.prepare(planned, {})
    return planned


def base_dir(task: TaskSpec, play: PlaySpec, src: Any = None) -> Path:
    """Where a task's relative `src` is read: its role's `files/` or `templates/` when
    the file is there (or when no src is known yet), else the playbook's folder."""
    sub = module_class(task.module).src_dir
    if task.role is None or sub is None:
        return play.base_dir
    folder = task.role.path / sub
    if src is None or (isinstance(src, str) and (folder / src).exists()):
        return folder
    return play.base_dir


def _chain(role: RoleInfo | None) -> list[RoleInfo]:
    """A role and the roles that depend on it, outermost first."""
    out: list[RoleInfo] = []
    while role is not None:
        out.insert(0, role)
        role = role.parent
    return out


def _role_layer(role: RoleInfo | None, layer: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for info in _chain(role):
        out.update(getattr(info, layer))
    if role is not None and layer == "vars":
        out |= role_magic(role)
    return out


def prepare(task: TaskSpec, templar: Templar, play: PlaySpec) -> list[Unit]:
    """Evaluate loop and when, render arguments, build the module(s).

    Raises TemplateError/ModuleArgsError (with the task's location) when a
    template fails or the rendered arguments are invalid.
    """
    check_magic([("task vars", task.vars, task.loc)])
    items: Sequence[Any] = [NO_ITEM]
    if task.loop is not None:
        loop = templar.render(task.loop, task.loc)
        search = task.search or (play.base_dir,)
        items = loop_items(task.loop_with, loop, search, task.loc)
    out: list[Unit] = []
    control = task.loop_control
    for index, item in enumerate(items):
        # A loop item is the result of rendering the loop: data, not rendered again.
        scope = templar if item is NO_ITEM else templar.child(loop_vars(task, item, index))
        shown = None
        if item is not NO_ITEM and control.label is not None:
            shown = str(scope.render(control.label, task.loc))
        false = next((c for c in task.when if not scope.truthy(c, task.loc)), None)
        if false is not None:
            skipped = f"when: {false} was false"
            out.append(Unit(task, item, None, skipped=skipped, index=index, shown=shown))
            continue
        args = scope.render(task.args, task.loc)
        # `default(omit)`: the argument is left out, as if never written.
        args = {k: v for k, v in args.items() if v != OMIT}
        module = build_module(task, args, scope, play)
        out.append(Unit(task, item, module, index=index, shown=shown))
    return out


def loop_vars(task: TaskSpec, item: Any, index: int) -> dict[str, Data]:
    """The loop's variables for one item: `item` (or loop_var), index_var, ansible_loop."""
    control = task.loop_control
    out = {control.loop_var: Data(item)}
    if control.index_var:
        out[control.index_var] = Data(index)
    if control.extended:
        out[LOOP_MAGIC] = Data({"index": index + 1, "index0": index, "first": index == 0})
    return out


def build_module(task: TaskSpec, args: dict[str, Any], scope: Templar, play: PlaySpec) -> AnyModule:
    try:
        cls = module_class(task.module)
    except KeyError:  # the loader only lets known names through
        raise ModuleArgsError(f"unknown module '{task.module}'", task.loc) from None
    ctx = ModuleContext(
        base_dir=base_dir(task, play, args.get("src")),
        search=task.search or (play.base_dir,),
        render_file=lambda text, name: scope.render_file(text, name, task.loc),
    )
    try:
        return cls.from_dict(args, ctx)
    except ModuleArgsError as exc:
        raise ModuleArgsError(exc.message, task.loc) from None
