"""Play × Host → the tasks that host will run: variables, Jinja2, when, loop.

Preparing a task is pure (no host is touched), so the runner can prepare
tasks ahead of time to batch their probes, and `validate` can prepare every
task for every host to report errors before anything runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner.errors import InputError, Location, ModuleArgsError, PlaybookError
from provisioner.facts import uses_facts
from provisioner.modules import registry
from provisioner.modules.base import Args, Module, ModuleContext
from provisioner.modules.controller import CONTROLLER_MODULES
from provisioner.playbook.schema import PlaySpec, TaskSpec
from provisioner.templating import Templar, is_template
from provisioner.yamlmarks import load_yaml

NO_ITEM = object()


@dataclass
class Prepared:
    """One unit of work for one host: a task, or one loop item of it."""

    task: TaskSpec
    item: Any
    args: dict[str, Any]
    module: Module[Any, Any] | None  # None: a controller module (debug, assert)
    controller_args: Args | None
    skipped: str | None = None  # the reason, when `when` is false

    @property
    def label(self) -> str:
        if self.item is NO_ITEM:
            return ""
        return str(self.item.get("name", self.item) if isinstance(self.item, dict) else self.item)


def load_vars_files(play: PlaySpec, base_dir: Path, templar: Templar) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in play.vars_files:
        rendered = str(templar.render(name, play.loc))
        path = (base_dir / rendered).resolve()
        if not path.is_file():
            raise PlaybookError(
                f"vars_files: no such file '{rendered}' (looked at {path})", play.loc
            )
        data = load_yaml(path)
        if data is None:
            continue
        if not isinstance(data, dict):
            raise PlaybookError(
                "a vars file must be a mapping of names to values", Location(str(path))
            )
        out.update(data)
    return out


# Set by the runner for every host; see host_variables.
MAGIC_NAMES = frozenset({"inventory_hostname", "group_names", "login_user", "ansible_check_mode"})


def needs_facts(play: PlaySpec, *more: Mapping[str, Any]) -> bool:
    """Whether this play gathers facts: as its `gather_facts` says, else when any of its
    values (or the variables in `more`: inventory, extra vars) names one."""
    decided = play_gathers(play)
    return decided if decided is not None else uses_facts(list(more))


def play_gathers(play: PlaySpec) -> bool | None:
    """What the play alone decides: its `gather_facts`, or True when it names a fact
    itself (its values, vars files, template files); None: up to each host's variables.
    Reads files, so the runner asks once per play, not once per host."""
    if play.gather_facts is not None:
        return play.gather_facts
    values: list[Any] = [play.vars, play.vars_files]
    files = list(play.vars_files)  # their contents too: a fact may be named only there
    for task in [*play.tasks, *play.handlers]:
        values += [task.args, task.when, task.loop, task.vars, task.notify]
        values += [task.changed_when, task.failed_when]
        if task.module == "template" and isinstance(task.args.get("src"), str):
            files.append(task.args["src"])
    values += [_text_of(play.base_dir, name) for name in files if not is_template(name)]
    return True if uses_facts(values) else None


def _text_of(base_dir: Path, name: str) -> str:
    """A controller file's text, or "" when it cannot be read (its task reports that)."""
    path = Path(name).expanduser()
    try:
        return (path if path.is_absolute() else base_dir / path).read_text(errors="replace")
    except OSError:
        return ""


def host_variables(
    play: PlaySpec,
    base_dir: Path,
    inventory_vars: Mapping[str, Any],
    magic: Mapping[str, Any],
    extra_vars: Mapping[str, Any],
    facts: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Precedence, low to high: inventory < facts < play vars < vars_files < extra vars.

    Registered results and task vars go on top at run time (see `prepare`),
    with extra vars still winning; the loop `item` goes on top of all.
    The magic variables (`magic`) are the tool's own: setting one is an error,
    since the runner relies on them (login_user decides when to log in again).
    """
    facts = facts or {}
    files = load_vars_files(
        play, base_dir, Templar({**inventory_vars, **facts, **play.vars, **extra_vars, **magic})
    )
    for source, names, where in (
        ("play vars", play.vars, play.loc),
        ("vars_files", files, play.loc),
        ("extra vars (-e)", extra_vars, None),
        ("inventory vars", inventory_vars, None),
    ):
        taken = sorted(set(names) & set(magic))
        if taken:
            raise InputError(f"{source} set {', '.join(taken)}: provision sets these itself", where)
    variables: dict[str, Any] = {**inventory_vars, **facts, **play.vars, **files, **extra_vars}
    variables.update(magic)
    return variables


def _templar(base: Mapping[str, Any], extra_vars: Mapping[str, Any], **layers: Any) -> Templar:
    merged = dict(base)
    for layer in layers.values():
        merged.update(layer)
    merged.update(extra_vars)
    return Templar(merged)


def build_module(
    task: TaskSpec, args: dict[str, Any], templar: Templar, base_dir: Path
) -> tuple[Module[Any, Any] | None, Args | None]:
    if task.module in CONTROLLER_MODULES:
        try:
            return None, CONTROLLER_MODULES[task.module].model_validate(args)
        except Exception as exc:
            raise ModuleArgsError(f"{task.module}: {exc}", task.loc) from None
    ctx = ModuleContext(base_dir=base_dir, render=lambda text: str(templar.render(text, task.loc)))
    try:
        return registry()[task.module].from_dict(args, ctx), None
    except ModuleArgsError as exc:
        raise ModuleArgsError(exc.message, task.loc) from None


def prepare(
    task: TaskSpec,
    variables: Mapping[str, Any],
    registered: Mapping[str, Any],
    extra_vars: Mapping[str, Any],
    base_dir: Path,
) -> list[Prepared]:
    """Evaluate loop and when, render arguments, build the module(s).

    Raises TemplateError/ModuleArgsError (with the task's location) when a
    template fails or the rendered arguments are invalid.
    """
    taken = sorted(set(task.vars) & MAGIC_NAMES)
    if taken:
        raise InputError(f"task vars set {', '.join(taken)}: provision sets these itself", task.loc)
    templar = _templar(variables, extra_vars, registered=registered, task=task.vars)
    items: list[Any] = [NO_ITEM]
    if task.loop is not None:
        loop = templar.render(task.loop, task.loc)
        if not isinstance(loop, list):
            raise InputError(f"loop must give a list, got {type(loop).__name__}", task.loc)
        items = loop
    out: list[Prepared] = []
    for item in items:
        item_templar = templar if item is NO_ITEM else templar.child({"item": item})
        false = next((c for c in task.when if not item_templar.truthy(c, task.loc)), None)
        if false is not None:
            out.append(Prepared(task, item, {}, None, None, skipped=f"when: {false} was false"))
            continue
        args = item_templar.render(task.args, task.loc)
        module, controller_args = build_module(task, args, item_templar, base_dir)
        out.append(Prepared(task, item, args, module, controller_args))
    return out


def task_templar(
    task: TaskSpec,
    variables: Mapping[str, Any],
    registered: Mapping[str, Any],
    extra_vars: Mapping[str, Any],
    item: Any = NO_ITEM,
) -> Templar:
    templar = _templar(variables, extra_vars, registered=registered, task=task.vars)
    return templar if item is NO_ITEM else templar.child({"item": item})
