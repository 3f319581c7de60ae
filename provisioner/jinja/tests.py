"""The tests Ansible adds to Jinja2 (`x is changed`, `v is version('2.0', '>=')`…).

Jinja2's own tests (`defined`, `in`, `string`, `mapping`…) are used as they are.
"""

from __future__ import annotations

import operator
import os.path
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from provisioner.jinja.errors import TestFailed

# -- task results ------------------------------------------------------------------


def _result(value: Any, test: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TestFailed(
            f"the '{test}' test needs a task result (a dict), got {type(value).__name__}"
        )
    return value


def _items(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A loop's item results (`results`), if that is what `result` is."""
    items = result.get("results")
    if isinstance(items, list) and items and all(isinstance(i, Mapping) for i in items):
        return items
    return []


def changed(value: Any) -> bool:
    """`changed` if the result says so; a loop's result without it: any item changed."""
    result = _result(value, "changed")
    if "changed" in result:
        return bool(result["changed"])
    return any(i.get("changed", False) for i in _items(result))


def failed(value: Any) -> bool:
    return bool(_result(value, "failed").get("failed", False))


def succeeded(value: Any) -> bool:
    return not bool(_result(value, "succeeded").get("failed", False))


def skipped(value: Any) -> bool:
    """`skipped` if the result says so; a loop's result without it: every item skipped."""
    result = _result(value, "skipped")
    if "skipped" in result:
        return bool(result["skipped"])
    items = _items(result)
    return bool(items) and all(i.get("skipped", False) for i in items)


# -- versions ------------------------------------------------------------------------

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "=": operator.eq, "eq": operator.eq,
    "!=": operator.ne, "<>": operator.ne, "ne": operator.ne,
    "<": operator.lt, "lt": operator.lt,
    "<=": operator.le, "le": operator.le,
    ">": operator.gt, "gt": operator.gt,
    ">=": operator.ge, "ge": operator.ge,
}  # fmt: skip

_LOOSE_PART = re.compile(r"(\d+|[a-z]+|\.)")
_STRICT = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:([ab])(\d+))?$", re.ASCII)


def loose_version(text: str) -> tuple[tuple[int, int | str], ...]:
    """Distutils' LooseVersion: runs of digits (compared as numbers), runs of lower-case
    letters and whatever lies between them, dots dropped. Where LooseVersion would
    compare a number with a word (and fail on Python 3), a number sorts first."""
    parts = [p for p in _LOOSE_PART.split(text) if p and p != "."]
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def strict_version(text: str) -> tuple[int, int, int, tuple[str, int] | tuple[str]]:
    """Distutils' StrictVersion: N.N[.N], optionally a1 or b2 after; a release sorts
    after its pre-releases."""
    m = _STRICT.match(text)
    if not m:
        raise TestFailed(f"{text!r} is not a strict version (N.N or N.N.N, then aN or bN)")
    major, minor, patch, kind, number = m.groups()
    pre: tuple[str, int] | tuple[str] = (kind, int(number)) if kind else ("~",)  # "~" > "a", "b"
    return int(major), int(minor), int(patch or 0), pre


def version_compare(
    value: Any,
    version: Any,
    operator: str = "eq",
    strict: bool = False,
    version_type: str | None = None,
) -> bool:
    if strict and version_type is not None:
        raise TestFailed("give strict or version_type, not both")
    kind = version_type or ("strict" if strict else "loose")
    if kind not in ("loose", "strict"):
        raise TestFailed(f"version_type must be loose or strict, not {kind!r}")
    if operator not in _OPERATORS:
        raise TestFailed(f"unknown operator {operator!r}: one of {', '.join(_OPERATORS)}")
    if not str(value) or not str(version):
        raise TestFailed("cannot compare an empty version")
    parse = strict_version if kind == "strict" else loose_version
    return _OPERATORS[operator](parse(str(value)), parse(str(version)))


# -- regular expressions, sets, truth -------------------------------------------------


def _flags(ignorecase: bool, multiline: bool) -> int:
    return (re.IGNORECASE if ignorecase else 0) | (re.MULTILINE if multiline else 0)


def regex(
    value: Any,
    pattern: str = "",
    ignorecase: bool = False,
    multiline: bool = False,
    match_type: str = "search",
) -> bool:
    if match_type not in ("search", "match", "fullmatch"):
        raise TestFailed(f"match_type must be search, match or fullmatch, not {match_type!r}")
    compiled = re.compile(pattern, _flags(ignorecase, multiline))
    return getattr(compiled, match_type)(str(value)) is not None


def match(value: Any, pattern: str = "", ignorecase: bool = False, multiline: bool = False) -> bool:
    """Matches at the start of the string (Python's re.match)."""
    return regex(value, pattern, ignorecase, multiline, "match")


def search(
    value: Any, pattern: str = "", ignorecase: bool = False, multiline: bool = False
) -> bool:
    return regex(value, pattern, ignorecase, multiline, "search")


def subset(a: Iterable[Any], b: Iterable[Any]) -> bool:
    other = list(b)
    return all(x in other for x in a)


def superset(a: Iterable[Any], b: Iterable[Any]) -> bool:
    return subset(b, a)


def contains(seq: Any, value: Any) -> bool:
    return value in seq


_TRUE_WORDS = ("yes", "on", "1", "true", "y", "t")
_FALSE_WORDS = ("no", "off", "0", "false", "n", "f")


def truthy(value: Any, convert_bool: bool = False) -> bool:
    """Python's truth; with convert_bool=true, boolean-like words first read as one."""
    if convert_bool and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        word = str(value).strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return bool(value)


def falsy(value: Any, convert_bool: bool = False) -> bool:
    return not truthy(value, convert_bool)


# -- controller paths ------------------------------------------------------------------


def _path(value: Any) -> str:
    """A controller path as written: relative to the current directory, `~` not expanded
    (as Ansible's tests)."""
    return str(value)


TESTS: dict[str, Callable[..., bool]] = {
    "changed": changed,
    "change": changed,
    "failed": failed,
    "failure": failed,
    "succeeded": succeeded,
    "success": succeeded,
    "successful": succeeded,
    "skipped": skipped,
    "skip": skipped,
    "version": version_compare,
    "version_compare": version_compare,
    "match": match,
    "search": search,
    "regex": regex,
    "subset": subset,
    "issubset": subset,
    "superset": superset,
    "issuperset": superset,
    "contains": contains,
    "any": lambda value: any(value),
    "all": lambda value: all(value),
    "truthy": truthy,
    "falsy": falsy,
    "file": lambda value: os.path.isfile(_path(value)),
    "directory": lambda value: os.path.isdir(_path(value)),
    "exists": lambda value: os.path.exists(_path(value)),
    "link": lambda value: os.path.islink(_path(value)),
    "link_exists": lambda value: os.path.lexists(_path(value)),
    "abs": lambda value: os.path.isabs(_path(value)),
}

# Not pure (the controller's files change): computed at each render.
VOLATILE = frozenset({"file", "directory", "exists", "link", "link_exists"})

# Jinja2's own tests that roles use as Ansible documents them (checked by the tests).
BUILTIN_TESTS = (
    "defined", "undefined", "none", "in", "string", "number", "integer", "float",
    "boolean", "mapping", "sequence", "iterable", "equalto", "eq", "ne", "lt", "le", "gt",
    "ge", "sameas", "even", "odd", "divisibleby", "lower", "upper", "true", "false",
)  # fmt: skip
