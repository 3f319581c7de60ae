"""`provision validate`: compile every task for every host, touching no host.

Tasks whose templates name a registered result or a fact cannot be prepared
before the run; their templates are checked for syntax only. `apply` runs the
HostPlans compiled here, so nothing is prepared twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from provisioner.errors import InputError, ProvisionError
from provisioner.modules.unsupported import Unsupported
from provisioner.playbook.compile import (
    HostPlan,
    PlanKey,
    compile_host,
    default_login_user,
    flat,
    registered_names,
    select_hosts,
)
from provisioner.playbook.schema import Playbook, PlaySpec, TaskSpec
from provisioner.playbook.task import module_class
from provisioner.playbook.variables import check_magic, run_magic
from provisioner.runner.control import LOCAL_NAMES
from provisioner.templating import environment, is_template

if TYPE_CHECKING:  # types only: commands without an inventory do not import it
    from provisioner.inventory import Host, Inventory
    from provisioner.inventory.shard import Shard


@dataclass
class Compiled:
    problems: list[str] = field(default_factory=list)  # 'where: message' lines
    plans: dict[PlanKey, HostPlan] = field(default_factory=dict)


def compile_run(
    playbook: Playbook,
    inventory: Inventory | None,
    extra_vars: Mapping[str, Any],
    *,
    login_user: Callable[[Host], str] = default_login_user,
    limit: str | None = None,
    check: bool = False,
    shard: Shard | None = None,
) -> Compiled:
    """The HostPlans of every play × host, and every problem found. A problem that
    several hosts share is one line naming them all."""
    out = Compiled()
    per_host: dict[str, list[str]] = {}  # message → hosts
    registers = registered_names(playbook)
    for index, play in enumerate(playbook.plays):
        # A task with a syntax error is reported once, here, not once more per host.
        flagged: set[int] = set()
        for task in play.all_tasks():
            found = _task_syntax(task)
            if found:
                flagged.add(id(task))
                out.problems.extend(found)
        if inventory is None:
            out.problems.extend(_magic(play))  # with hosts, compile_host finds these
            continue
        hosts = select_hosts(inventory, play, limit, shard)
        # A shard may hold none of a play's hosts: an empty play, as with --limit.
        if not hosts and limit is None and not select_hosts(inventory, play, None):
            out.problems.append(
                f"{play.loc}: hosts '{play.hosts}' matches no host in the inventory"
            )
        names = [h.name for h in hosts]
        hosts_magic = run_magic(inventory, names, names)
        for host in hosts:
            try:
                plan = compile_host(
                    play,
                    host,
                    extra_vars,
                    login_user=login_user,
                    check=check,
                    registers=registers,
                    hosts_magic=hosts_magic,
                )
            except ProvisionError as exc:
                per_host.setdefault(str(exc), []).append(host.name)
                continue
            out.plans[(index, host.name)] = plan
            for planned in [*flat(plan.tasks), *plan.handlers]:
                if planned.error is not None and id(planned.spec) not in flagged:
                    per_host.setdefault(str(planned.error), []).append(host.name)
    for message, names in per_host.items():
        names = list(dict.fromkeys(names))
        label = "host" if len(names) == 1 else "hosts"
        out.problems.append(f"{message} ({label} {', '.join(names)})")
    out.problems = list(dict.fromkeys(out.problems))
    return out


def validate(
    playbook: Playbook,
    inventory: Inventory | None,
    extra_vars: Mapping[str, Any],
    *,
    login_user: Callable[[Host], str] = default_login_user,
    limit: str | None = None,
) -> list[str]:
    """Every problem found, as 'where: message' lines (empty: all good)."""
    return compile_run(playbook, inventory, extra_vars, login_user=login_user, limit=limit).problems


def warnings(playbook: Playbook) -> list[str]:
    """What loads but may not run as written: modules we do not have yet (they fail only
    on a host where they would run) and delegate_to a host that is not the controller."""
    out = []
    for play in playbook.plays:
        for task in play.all_tasks():
            if issubclass(module_class(task.module), Unsupported):
                out.append(
                    f"{task.loc}: module '{task.module}' is not supported yet: the task fails"
                    " on a host where it would run (skipped where its `when` is false)"
                )
            target = task.delegate_to
            if target is not None and not is_template(target) and target not in LOCAL_NAMES:
                out.append(
                    f"{task.loc}: delegate_to '{target}': only the controller (localhost)"
                    " is supported yet: the task fails where it would run"
                )
    return list(dict.fromkeys(out))


def _task_syntax(task: TaskSpec) -> list[str]:
    """What can be checked without hosts: the syntax of every template and condition."""
    where = str(task.loc)
    out = _syntax([task.args, task.loop, task.vars], where)
    conditions = [*task.when, *(task.changed_when or []), *(task.failed_when or [])]
    return out + [p for c in conditions for p in _condition_syntax(c, where)]


def _magic(play: PlaySpec) -> list[str]:
    sources = [("play vars", play.vars, play.loc)]
    sources += [("task vars", t.vars, t.loc) for t in play.all_tasks()]
    out = []
    for source in sources:
        try:
            check_magic([source])
        except InputError as exc:
            out.append(str(exc))
    return out


def _condition_syntax(condition: str | bool, where: str) -> list[str]:
    """A bare expression, read as Templar.evaluate reads it: `x == 1`, or `{{ x == 1 }}`
    alone."""
    if isinstance(condition, bool):
        return []
    text = condition.strip()
    inner = text[2:-2]
    if text.startswith("{{") and text.endswith("}}") and "{{" not in inner and "}}" not in inner:
        text = inner.strip()
    try:
        environment().parse("{{ (" + text + ") }}")
        environment().compile_expression(text)
    except Exception as exc:
        return [f"{where}: template syntax error in {condition!r}: {exc}"]
    return []


def _syntax(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        try:
            environment().parse(value)
        except Exception as exc:
            return [f"{where}: template syntax error in {value!r}: {exc}"]
        return []
    if isinstance(value, list):
        return [p for v in value for p in _syntax(v, where)]
    if isinstance(value, dict):
        return [p for v in value.values() for p in _syntax(v, where)]
    return []
