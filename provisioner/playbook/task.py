"""One task mapping → a validated TaskSpec: its module, arguments and keywords."""

from __future__ import annotations

import shlex
from typing import Any, Protocol

from pydantic import ValidationError

from provisioner.errors import InputError, Location
from provisioner.modules import lookup, names
from provisioner.modules.base import ALIAS_CONFLICT, AnyModule, argument_names
from provisioner.modules.unsupported import is_ansible_module, unsupported
from provisioner.playbook.loops import WITH
from provisioner.playbook.problems import Collector, did_you_mean, key_loc, loc_of
from provisioner.playbook.schema import TASK_KEYWORDS, TaskSpec
from provisioner.templating import is_template

WITH_KEYS = tuple(f"with_{kind}" for kind in WITH)


def declared_check(task: TaskSpec) -> bool:
    """A command in Ansible's idiom for a read-only check (`changed_when: false` and
    `check_mode: false`): it changes nothing, so what is probed before it holds after
    it, and the probes of the tasks after it may be asked before it runs."""
    cls = module_class(task.module)
    return cls.unprobeable and task.changed_when == [False] and task.check_mode is False


def module_class(module: str) -> type[AnyModule]:
    """The class of a task's module: a stand-in for a module Ansible has and we do not."""
    found = lookup(module)
    if found is not None:
        return found
    if is_ansible_module(module):
        return unsupported(module)
    raise KeyError(module)  # the loader checks names first


def _free_form(module: str, value: Any, where: Location) -> dict[str, Any]:
    """`command: echo hi` and Ansible's `yum: name=x state=present` shorthand."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, str):
        free_form = module_class(module).free_form
        if free_form is not None:
            return {free_form: str(value)}
        try:
            words = shlex.split(value)
        except ValueError as exc:  # shlex's only error: "No closing quotation"
            raise InputError(
                f"{module}: cannot read its key=value arguments: {str(exc).lower()} "
                "(quote a value with spaces as key='a b')",
                where,
            ) from None
        out: dict[str, Any] = {}
        for word in words:
            key, eq, val = word.partition("=")
            if not eq or not key:
                raise InputError(f"{module}: expected key=value arguments, got '{word}'", where)
            out[key] = val
        return out
    raise InputError(f"{module}: arguments must be a mapping", where)


def _check_module_args(
    module: str, args: dict[str, Any], raw_args: Any, where: Location, out: Collector
) -> None:
    """Validate arguments now where they are literal; templated values wait for run time."""
    model = module_class(module).args_model
    try:
        model.model_validate(args)
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            place = key_loc(raw_args, field, where) if field else where
            value = args.get(field)
            if err["type"] == "extra_forbidden":
                fields = argument_names(model)
                out.add(f"{module}: unknown argument '{field}'{did_you_mean(field, fields)}", place)
            elif err["type"] == ALIAS_CONFLICT:
                second = str((err.get("ctx") or {}).get("second", ""))
                out.add(f"{module}: {err['msg']}", key_loc(raw_args, second, where))
            elif err["type"] == "missing":
                out.add(f"{module}: missing required argument '{field}'", place)
            elif not (isinstance(value, str) and is_template(value)) and not _has_template(value):
                out.add(f"{module}: argument '{field}': {err['msg']}", place)


def _has_template(value: Any) -> bool:
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, list):
        return any(_has_template(v) for v in value)
    if isinstance(value, dict):
        return any(_has_template(v) for v in value.values())
    return False


def _module_key(raw: dict[str, Any], where: Location, out: Collector) -> str | None:
    """The one key of the task that names its module; errors for none, several, typos."""
    known = names()
    modules = [k for k in raw if k not in TASK_KEYWORDS and k not in WITH_KEYS]
    good = [k for k in modules if lookup(str(k)) is not None or is_ansible_module(str(k))]
    for key in modules:
        if key not in good:
            hint = did_you_mean(str(key), known + [*TASK_KEYWORDS, *WITH_KEYS])
            out.add(f"unknown module or task keyword '{key}'{hint}", key_loc(raw, key, where))
    if not good:
        if not modules:
            out.add("task has no module (for example: package, service, copy, command)", where)
        return None
    if len(good) > 1:
        out.add(f"task names more than one module: {', '.join(good)}", where)
        return None
    return str(good[0])


def _arguments(raw: dict[str, Any], module: str, where: Location, out: Collector) -> Any:
    """The module's arguments (free form, key=value, mapping, plus `args:`); None: an error."""
    mod_where = key_loc(raw, module, where)
    try:
        args = _free_form(module, raw[module], mod_where)
    except InputError as exc:
        out.add(exc.message, mod_where)
        return None
    extra = raw.get("args")
    if extra is not None:
        # Ansible's `args:` keyword: more module arguments, e.g. creates for a command line.
        if not isinstance(extra, dict):
            out.add("'args' must be a mapping of module arguments", key_loc(raw, "args", where))
            return None
        args = {**extra, **args}
    if module_class(module).supported:
        _check_module_args(module, args, raw[module], mod_where, out)
    return args


def parse_task(
    raw: Any, where: Location, out: Collector, *, handler: bool, inherit: Inherited | None = None
) -> TaskSpec | None:
    """`inherit`: what the block, role or import around the task hands down to it."""
    if not isinstance(raw, dict):
        out.add("a task must be a mapping (name, module, keywords)", where)
        return None
    where = loc_of(raw, where)
    module = _module_key(raw, where, out)
    if module is None:
        return None
    args = _arguments(raw, module, where, out)
    if args is None:
        return None
    # Unknown keys were reported above, once.
    fields = {k: v for k, v in raw.items() if k in TASK_KEYWORDS and k != "args"}
    loops = [k for k in raw if k == "loop" or k in WITH_KEYS]
    if len(loops) > 1:
        both = f"'{loops[0]}' or '{loops[1]}'"
        out.add(f"a task takes {both}, not both", key_loc(raw, loops[0], where))
        return None
    if loops and loops[0] != "loop":
        fields["loop"] = raw[loops[0]]
        fields["loop_with"] = loops[0].removeprefix("with_")
    if inherit is not None:
        fields = inherit.apply(fields)
    try:
        return TaskSpec.model_validate(
            {**fields, "module": module, "args": args, "loc": where, "is_handler": handler}
        )
    except ValidationError as exc:
        out.pydantic(exc, raw, where, "task")
        return None


class Inherited(Protocol):
    def apply(self, fields: dict[str, Any]) -> dict[str, Any]: ...
