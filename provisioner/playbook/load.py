"""Playbook YAML → validated Playbook, with every error pointing at file:line:col.

All errors of a file are collected and raised together, so `provision validate`
shows them in one pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from provisioner.errors import InputError, Location, PlaybookErrors
from provisioner.modules import meta
from provisioner.playbook.entries import HANDLERS_ARE_TASKS, EntryLoader, short_names
from provisioner.playbook.problems import Collector, did_you_mean, key_loc, loc_of
from provisioner.playbook.schema import PLAY_KEYWORDS, Entry, Playbook, PlaySpec, TaskSpec
from provisioner.playbook.task import module_class, parse_task
from provisioner.templating import is_template
from provisioner.yamlmarks import load_yaml

__all__ = ["load_playbook", "module_class", "parse_task"]


# A play's task lists, in the order they run; handlers notified so far run after each.
SECTIONS = ("pre_tasks", "roles", "tasks", "post_tasks")
# A playbook entry that is not a play, and the keys it takes.
IMPORT_PLAYBOOK = "import_playbook"
IMPORT_PLAYBOOK_KEYWORDS = (IMPORT_PLAYBOOK, "name")


def parse_play(raw: Any, where: Location, out: Collector) -> PlaySpec | None:
    if not isinstance(raw, dict):
        out.add("a play must be a mapping with 'hosts' and 'tasks'", where)
        return None
    where = loc_of(raw, where)
    for key in raw:
        if key not in PLAY_KEYWORDS:
            hint = did_you_mean(str(key), list(PLAY_KEYWORDS))
            out.add(f"unknown play keyword '{key}'{hint}", key_loc(raw, key, where))
    fields = {k: v for k, v in raw.items() if k in PLAY_KEYWORDS and k not in SECTIONS}
    here = Path(where.file).resolve().parent
    loader = EntryLoader(out, here)
    tasks: list[Entry] = []
    for section in SECTIONS:
        if raw.get(section) is None:
            continue
        place = key_loc(raw, section, where)
        if section == "roles":
            found = loader.play_roles(raw[section], place, loader.root(here))
        else:
            found = loader.entries(raw[section], section, place, loader.root(here))
        if tasks:
            tasks.append(flush_handlers(place))
        tasks += found
    handlers = loader.entries(
        fields.pop("handlers", None),
        "handlers",
        key_loc(raw, "handlers", where),
        loader.root(here, handler=True),
    )
    plain = [h for h in handlers if isinstance(h, TaskSpec)]
    if len(plain) < len(handlers):
        out.add(HANDLERS_ARE_TASKS, where)
    try:
        return PlaySpec.model_validate(
            {
                **fields,
                "tasks": tasks,
                "handlers": [*plain, *loader.handlers],
                "roles": loader.roles,
                "loc": where,
            }
        )
    except ValidationError as exc:
        out.pydantic(exc, raw, where, "play")
        return None


def flush_handlers(where: Location) -> TaskSpec:
    """What Ansible does between a play's sections: run the handlers notified so far."""
    module, args = meta.flush_handlers()
    return TaskSpec(module=module, args=args, loc=where, implicit=True)


def load_playbook(path: Path) -> Playbook:
    """Load and validate a playbook; raise PlaybookErrors listing every problem."""
    out = Collector()
    plays = _load_plays(path, Location(str(path)), out, [])
    _check_references(plays, out)
    if out.errors:
        raise PlaybookErrors(out.errors)
    return Playbook(path=str(path), plays=plays)


def _load_plays(path: Path, where: Location, out: Collector, stack: list[Path]) -> list[PlaySpec]:
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
        out.add("a playbook is a list of plays (each with 'hosts' and 'tasks')", loc_of(data, here))
        return []
    plays: list[PlaySpec] = []
    for raw in data:
        if isinstance(raw, dict) and IMPORT_PLAYBOOK not in raw:  # its ansible.builtin. name
            raw = short_names(raw, (IMPORT_PLAYBOOK,))
        if isinstance(raw, dict) and IMPORT_PLAYBOOK in raw:
            plays += _import(raw, path, loc_of(raw, here), out, [*stack, path.resolve()])
            continue
        play = parse_play(raw, loc_of(raw, here), out)
        if play is not None:
            plays.append(play)
    return plays


def _import(
    raw: dict[str, Any], path: Path, where: Location, out: Collector, stack: list[Path]
) -> list[PlaySpec]:
    """`- import_playbook: other.yml` (relative to this file), as Ansible has it."""
    extra = [k for k in raw if k not in IMPORT_PLAYBOOK_KEYWORDS]
    if extra:
        out.add(
            f"import_playbook takes only 'name', not '{extra[0]}'", key_loc(raw, extra[0], where)
        )
        return []
    target = raw[IMPORT_PLAYBOOK]
    if not isinstance(target, str) or not target or is_template(target):
        out.add("import_playbook needs a file name (templates are not supported)", where)
        return []
    full = (path.parent / target).resolve()
    if full in stack:
        chain = " → ".join(p.name for p in [*stack, full])
        out.add(f"import_playbook loops: {chain}", where)
        return []
    return _load_plays(full, key_loc(raw, IMPORT_PLAYBOOK, where), out, stack)


def _check_references(plays: list[PlaySpec], out: Collector) -> None:
    """A notify that names no handler is a typo that would silently do nothing."""
    for play in plays:
        names = {h.name for h in play.handlers if h.name}
        names |= {listen for h in play.handlers for listen in h.listen}
        for task in play.all_tasks():
            for target in task.notify:
                if target not in names and not is_template(target):
                    hint = did_you_mean(target, sorted(names))
                    out.add(f"notify names no handler '{target}'{hint}", task.loc)
