"""Playbook YAML → validated Playbook, with every error pointing at file:line:col.

All errors of a file are collected and raised together, so `provision validate`
shows them in one pass.
"""

from __future__ import annotations

import difflib
import shlex
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from provisioner.errors import InputError, Location, PlaybookError, PlaybookErrors
from provisioner.modules import lookup, names, registry
from provisioner.modules.base import ALIAS_CONFLICT, AnyModule, argument_names
from provisioner.playbook.schema import PLAY_KEYWORDS, TASK_KEYWORDS, Playbook, PlaySpec, TaskSpec
from provisioner.templating import is_template
from provisioner.yamlmarks import MarkedDict, load_yaml


def module_class(module: str) -> type[AnyModule]:
    found = lookup(module)
    if found is None:  # load checks names against names() first
        raise KeyError(module)
    return found


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""


def _loc(node: Any, fallback: Location) -> Location:
    loc = getattr(node, "loc", None)
    return loc if isinstance(loc, Location) else fallback


def _key_loc(mapping: Any, key: str, fallback: Location) -> Location:
    if isinstance(mapping, MarkedDict):
        return mapping.key_loc(key)
    return fallback


class _Collector:
    def __init__(self) -> None:
        self.errors: list[PlaybookError] = []

    def add(self, message: str, where: Location) -> None:
        self.errors.append(PlaybookError(message, where))

    def pydantic(self, exc: ValidationError, raw: Any, where: Location, what: str) -> None:
        # One error per field: a union (`loop`: a list or a template) fails once per kind.
        seen: set[str] = set()
        for err in exc.errors():
            path = [p for p in err["loc"] if isinstance(p, str)]
            field = path[0] if path else ""
            if field in seen:
                continue
            seen.add(field)
            place = _key_loc(raw, field, where) if field else where
            if err["type"] == "extra_forbidden":
                self.add(f"unknown {what} keyword '{field}'", place)
            elif err["type"] == "missing":
                self.add(f"{what} is missing '{field}'", place)
            else:
                self.add(f"{what} '{_field_path(err['loc'])}': {err['msg']}", place)


def _field_path(loc: tuple[int | str, ...]) -> str:
    """`when.0`, not pydantic's `when.0.str`: the field, then list indexes (the rest
    names union members)."""
    return ".".join([str(loc[0]), *(str(p) for p in loc[1:] if isinstance(p, int))])


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
    module: str, args: dict[str, Any], raw_args: Any, where: Location, out: _Collector
) -> None:
    """Validate arguments now where they are literal; templated values wait for run time."""
    model = module_class(module).args_model
    try:
        model.model_validate(args)
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            place = _key_loc(raw_args, field, where) if field else where
            value = args.get(field)
            if err["type"] == "extra_forbidden":
                fields = argument_names(model)
                out.add(
                    f"{module}: unknown argument '{field}'{_did_you_mean(field, fields)}", place
                )
            elif err["type"] == ALIAS_CONFLICT:
                second = str((err.get("ctx") or {}).get("second", ""))
                out.add(f"{module}: {err['msg']}", _key_loc(raw_args, second, where))
            elif err["type"] == "missing":
                out.add(f"{module}: missing required argument '{field}'", place)
            elif not (isinstance(value, str) and is_template(value)) and not _has_template(value):
                out.add(f"{module}: argument '{field}': {err['msg']}", place)


def _judged() -> str:
    """The modules whose outcome changed_when/failed_when judge ("command and shell")."""
    judged = sorted({cls.name for cls in registry().values() if cls.unprobeable})
    return " and ".join([", ".join(judged[:-1]), judged[-1]] if len(judged) > 1 else judged)


def _has_template(value: Any) -> bool:
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, list):
        return any(_has_template(v) for v in value)
    if isinstance(value, dict):
        return any(_has_template(v) for v in value.values())
    return False


def parse_task(raw: Any, where: Location, out: _Collector, *, handler: bool) -> TaskSpec | None:
    if not isinstance(raw, dict):
        out.add("a task must be a mapping (name, module, keywords)", where)
        return None
    where = _loc(raw, where)
    known = names()
    modules = [k for k in raw if k not in TASK_KEYWORDS]
    good = [k for k in modules if k in known]
    for key in modules:
        if key not in known:
            hint = _did_you_mean(str(key), known + list(TASK_KEYWORDS))
            out.add(f"unknown module or task keyword '{key}'{hint}", _key_loc(raw, key, where))
    if not good:
        if not modules:
            out.add("task has no module (for example: package, service, copy, command)", where)
        return None
    if len(good) > 1:
        out.add(f"task names more than one module: {', '.join(good)}", where)
        return None
    module = good[0]
    mod_where = _key_loc(raw, module, where)
    try:
        args = _free_form(module, raw[module], mod_where)
    except InputError as exc:
        out.add(exc.message, mod_where)
        return None
    extra = raw.get("args")
    if extra is not None:
        # Ansible's `args:` keyword: more module arguments, e.g. creates for a command line.
        if not isinstance(extra, dict):
            out.add("'args' must be a mapping of module arguments", _key_loc(raw, "args", where))
            return None
        args = {**extra, **args}
    _check_module_args(module, args, raw[module], mod_where, out)
    # Unknown keys were reported above, once.
    fields = {k: v for k, v in raw.items() if k in TASK_KEYWORDS and k != "args"}
    if "with_items" in fields:
        if "loop" in fields:
            out.add("a task takes 'loop' or 'with_items', not both", _key_loc(raw, "loop", where))
            return None
        fields["loop"] = fields.pop("with_items")
    for key in ("changed_when", "failed_when"):
        if key in fields and not module_class(module).unprobeable:
            # Only commands have an outcome to judge; elsewhere it would be silently ignored.
            out.add(f"'{key}' applies to {_judged()} tasks only", _key_loc(raw, key, where))
            return None
    try:
        return TaskSpec.model_validate(
            {**fields, "module": module, "args": args, "loc": where, "is_handler": handler}
        )
    except ValidationError as exc:
        out.pydantic(exc, raw, where, "task")
        return None


def _tasks(raw: Any, key: str, where: Location, out: _Collector) -> list[TaskSpec]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        out.add(f"'{key}' must be a list of tasks", where)
        return []
    specs = []
    for item in raw:
        spec = parse_task(item, _loc(item, where), out, handler=(key == "handlers"))
        if spec is not None:
            specs.append(spec)
    return specs


def parse_play(raw: Any, where: Location, out: _Collector) -> PlaySpec | None:
    if not isinstance(raw, dict):
        out.add("a play must be a mapping with 'hosts' and 'tasks'", where)
        return None
    where = _loc(raw, where)
    for key in raw:
        if key not in PLAY_KEYWORDS:
            hint = _did_you_mean(str(key), list(PLAY_KEYWORDS))
            out.add(f"unknown play keyword '{key}'{hint}", _key_loc(raw, key, where))
    fields = {k: v for k, v in raw.items() if k in PLAY_KEYWORDS}
    tasks = _tasks(fields.pop("tasks", None), "tasks", _key_loc(raw, "tasks", where), out)
    handlers = _tasks(
        fields.pop("handlers", None), "handlers", _key_loc(raw, "handlers", where), out
    )
    try:
        return PlaySpec.model_validate(
            {**fields, "tasks": tasks, "handlers": handlers, "loc": where}
        )
    except ValidationError as exc:
        out.pydantic(exc, raw, where, "play")
        return None


def load_playbook(path: Path) -> Playbook:
    """Load and validate a playbook; raise PlaybookErrors listing every problem."""
    out = _Collector()
    plays = _load_plays(path, Location(str(path)), out, [])
    _check_references(plays, out)
    if out.errors:
        raise PlaybookErrors(out.errors)
    return Playbook(path=str(path), plays=plays)


def _load_plays(path: Path, where: Location, out: _Collector, stack: list[Path]) -> list[PlaySpec]:
    """The plays of one file, those of `import_playbook` entries spliced in place."""
    if not path.is_file():
        out.add(
            "playbook file not found" if not stack else f"import_playbook: no such file {path}",
            where,
        )
        return []
    here = Location(str(path))
    try:
        data = load_yaml(path)
    except InputError as exc:
        out.add(exc.message, exc.where or here)
        return []
    if not isinstance(data, list):
        out.add("a playbook is a list of plays (each with 'hosts' and 'tasks')", _loc(data, here))
        return []
    plays: list[PlaySpec] = []
    for raw in data:
        if isinstance(raw, dict) and "import_playbook" in raw:
            plays += _import(raw, path, _loc(raw, here), out, [*stack, path.resolve()])
            continue
        play = parse_play(raw, _loc(raw, here), out)
        if play is not None:
            plays.append(play)
    return plays


def _import(
    raw: dict[str, Any], path: Path, where: Location, out: _Collector, stack: list[Path]
) -> list[PlaySpec]:
    """`- import_playbook: other.yml` (relative to this file), as Ansible has it."""
    extra = [k for k in raw if k not in ("import_playbook", "name")]
    if extra:
        out.add(
            f"import_playbook takes only 'name', not '{extra[0]}'", _key_loc(raw, extra[0], where)
        )
        return []
    target = raw["import_playbook"]
    if not isinstance(target, str) or not target or is_template(target):
        out.add("import_playbook needs a file name (templates are not supported)", where)
        return []
    full = (path.parent / target).resolve()
    if full in stack:
        chain = " → ".join(p.name for p in [*stack, full])
        out.add(f"import_playbook loops: {chain}", where)
        return []
    return _load_plays(full, _key_loc(raw, "import_playbook", where), out, stack)


def _check_references(plays: list[PlaySpec], out: _Collector) -> None:
    """A notify that names no handler is a typo that would silently do nothing."""
    for play in plays:
        names = {h.name for h in play.handlers if h.name}
        names |= {listen for h in play.handlers for listen in h.listen}
        for task in play.tasks:
            for target in task.notify:
                if target not in names and not is_template(target):
                    hint = _did_you_mean(target, sorted(names))
                    out.add(f"notify names no handler '{target}'{hint}", task.loc)
