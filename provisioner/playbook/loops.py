"""Ansible's `with_<lookup>` loops → the list of items a task runs for.

`loop:` takes a list as it is; `with_items` flattens one level; the others shape
their terms as the lookup of the same name does. Relative names of `with_fileglob`
and `with_first_found` are looked for in the task's role, then beside the playbook
(`files/`, `vars/`, `templates/`, `tasks/` and the folder itself).
"""

from __future__ import annotations

import glob
import itertools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from provisioner.errors import InputError, Location

WITH = (
    "items",
    "list",
    "dict",
    "fileglob",
    "together",
    "nested",
    "cartesian",
    "subelements",
    "first_found",
    "indexed_items",
    "flattened",
)
SUBDIRS = ("files", "vars", "templates", "tasks", ".")


def _flat_once(value: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for item in value:
        out += list(item) if isinstance(item, list) else [item]
    return out


def _flatten(value: Any) -> list[Any]:
    if not isinstance(value, list):
        return [value]
    return [x for item in value for x in _flatten(item)]


def _lists(value: Any, kind: str, where: Location) -> list[list[Any]]:
    if not isinstance(value, list) or not all(isinstance(v, list) for v in value):
        raise InputError(f"with_{kind} takes a list of lists", where)
    return value


def _dict(value: Any, where: Location) -> list[Any]:
    if not isinstance(value, Mapping):
        raise InputError(f"with_dict takes a mapping, got {type(value).__name__}", where)
    return [{"key": k, "value": v} for k, v in value.items()]


def _subelements(value: Any, where: Location) -> list[Any]:
    if not isinstance(value, list) or len(value) not in (2, 3) or not isinstance(value[1], str):
        raise InputError("with_subelements takes [list of mappings, 'key'(, flags)]", where)
    skip = len(value) == 3 and isinstance(value[2], Mapping) and bool(value[2].get("skip_missing"))
    out = []
    for element in value[0] if isinstance(value[0], list) else []:
        sub = element.get(value[1]) if isinstance(element, Mapping) else None
        if sub is None and not skip:
            raise InputError(f"with_subelements: an element has no '{value[1]}'", where)
        out += [[element, s] for s in sub or []]
    return out


def candidates(name: str, search: Sequence[Path]) -> list[Path]:
    path = Path(name).expanduser()
    if path.is_absolute():
        return [path]
    return [base / sub / path for base in search for sub in SUBDIRS]


def _first_found(value: Any, search: Sequence[Path], where: Location) -> list[Any]:
    names: list[str] = []
    skip = False
    for term in value if isinstance(value, list) else [value]:
        if isinstance(term, Mapping):
            paths = term.get("paths") or [""]
            names += [str(Path(p) / f) for f in term.get("files") or [] for p in paths]
            skip = skip or bool(term.get("skip"))
        else:
            names.append(str(term))
    for name in names:
        for path in candidates(name, search):
            if path.is_file():
                return [str(path.resolve())]
    if skip:
        return []
    raise InputError(f"with_first_found: none of {', '.join(names)} was found", where)


def _fileglob(value: Any, search: Sequence[Path]) -> list[Any]:
    out: list[str] = []
    for pattern in value if isinstance(value, list) else [value]:
        for base in candidates(str(pattern), search):
            found = sorted(p for p in glob.glob(str(base)) if Path(p).is_file())
            if found:
                out += found
                break
    return out


def loop_items(kind: str | None, value: Any, search: Sequence[Path], where: Location) -> list[Any]:
    """The items of a rendered `loop` (kind None) or `with_<kind>` value."""
    shapes: dict[str, Callable[[], list[Any]]] = {
        "items": lambda: _flat_once(value if isinstance(value, list) else [value]),
        "list": lambda: list(value) if isinstance(value, list) else [value],
        "flattened": lambda: _flatten(value),
        "dict": lambda: _dict(value, where),
        "indexed_items": lambda: [[i, v] for i, v in enumerate(_flat_once(value))],
        "together": lambda: [
            list(t) for t in itertools.zip_longest(*_lists(value, "together", where))
        ],
        "nested": lambda: [list(t) for t in itertools.product(*_lists(value, "nested", where))],
        "cartesian": lambda: [
            list(t) for t in itertools.product(*_lists(value, "cartesian", where))
        ],
        "subelements": lambda: _subelements(value, where),
        "first_found": lambda: _first_found(value, search, where),
        "fileglob": lambda: _fileglob(value, search),
    }
    if kind is None:
        if not isinstance(value, list):
            raise InputError(f"loop must give a list, got {type(value).__name__}", where)
        return value
    return shapes[kind]()
