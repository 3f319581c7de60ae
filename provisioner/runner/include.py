"""An include at its turn on one host: its `when`, its `loop`, its file, its tasks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.errors import InputError, ProvisionError
from provisioner.playbook.compile import NO_ITEM, HostPlan, Planned, PlannedInclude, PlannedTask
from provisioner.playbook.entries import EntryLoader, Inherit, with_vars
from provisioner.playbook.problems import Collector
from provisioner.playbook.schema import Entry, IncludeSpec, TaskSpec
from provisioner.templating import Data, Templar


@dataclass
class Expanded:
    entries: list[Planned] | None  # None: skipped (its `when` was false) or failed
    msg: str
    error: ProvisionError | None = None


def expand(plan: HostPlan, include: PlannedInclude, registered: Mapping[str, Any]) -> Expanded:
    spec = include.spec
    inherit: Inherit = spec.inherit
    scope = Templar(plan.scope_vars(inherit.role, spec.vars, registered), inherit.search)
    try:
        false = next((c for c in spec.when if not scope.truthy(c, spec.loc)), None)
        if false is not None:
            return Expanded(None, f"when: {false} was false")
        items: list[Any] = [NO_ITEM]
        if spec.loop is not None:
            loop = scope.render(spec.loop, spec.loc)
            if not isinstance(loop, list):
                raise InputError(f"loop must give a list, got {type(loop).__name__}", spec.loc)
            items = loop
        entries: list[Entry] = []
        names: list[str] = []
        for item in items:
            here = scope if item is NO_ITEM else scope.child({"item": Data(item)})
            found = spec.entries
            if found is None:
                target = str(here.render(spec.target, spec.loc))
                found = _load(plan, spec, target)
                names.append(target)
            entries += found if item is NO_ITEM else with_vars(found, {"item": Data(item)})
        planned = plan.plan_entries(entries)
        what = ", ".join(dict.fromkeys(names)) if names else spec.target
        return Expanded(planned, f"included: {what}")
    except ProvisionError as exc:
        return Expanded(None, str(exc), exc)


def _load(plan: HostPlan, spec: IncludeSpec, target: str) -> list[Entry]:
    """A file (or role) whose name was a template, read now; its errors fail the include."""
    inherit: Inherit = spec.inherit
    out = Collector()
    loader = EntryLoader(out, inherit.playbook_dir)
    if spec.kind == "role":
        found = loader.role(
            target, dict(spec.vars), spec.options, spec.loc, inherit, None, included=True
        )
    else:
        found = loader.read_tasks(loader.task_path(target, inherit), spec.loc, inherit)
    if out.errors:
        raise InputError("; ".join(str(e) for e in out.errors), spec.loc)
    _add_handlers(plan, loader.handlers)
    return found or []


def _add_handlers(plan: HostPlan, handlers: list[TaskSpec]) -> None:
    """A role included by a name known only now brings its handlers: notified from
    then on, as Ansible's include_role makes them."""
    known = {id(p.spec) for p in plan.handlers}
    fresh = [h for h in handlers if id(h) not in known]
    plan.handlers += [p for p in plan.plan_entries(list(fresh)) if isinstance(p, PlannedTask)]


def include_uses(
    plan: HostPlan, include: PlannedInclude, registered: Mapping[str, Any]
) -> frozenset[str]:
    """Every name deciding an include: its `when`, `loop` and file name."""
    spec = include.spec
    inherit: Inherit = spec.inherit
    scope = Templar(plan.scope_vars(inherit.role, spec.vars, registered), inherit.search)
    return scope.names_needed([spec.when, spec.loop, spec.target])
