"""The filters Ansible adds to Jinja2, with Ansible's documented results: here the
ones on values, lists and dicts, and the table of them all (`text_filters`,
`encoding_filters` hold the rest).

Jinja2's own filters (`default`, `int`, `join`, `map`…) are used as they are;
what differs from Ansible is said where it is done and in docs/jinja.md.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jinja2

from provisioner.jinja import encoding_filters as enc
from provisioner.jinja import text_filters as text
from provisioner.jinja.errors import FilterFailed


def to_bool(value: Any) -> bool:
    """Ansible's `bool`: true for yes/on/true/1 (any case), 1 and True; else false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "on", "true", "1")
    return isinstance(value, (int, float)) and value == 1


def ternary(value: Any, true_val: Any, false_val: Any = None, none_val: Any = None) -> Any:
    if value is None and none_val is not None:
        return none_val
    return true_val if value else false_val


def mandatory(value: Any, msg: str | None = None) -> Any:
    if isinstance(value, jinja2.Undefined):
        if msg is not None:
            raise FilterFailed(str(msg))
        name = value._undefined_name
        raise FilterFailed(
            f"mandatory variable {name!r} is not defined"
            if name
            else "a mandatory variable is not defined"
        )
    return value


# -- lists and dicts ------------------------------------------------------------


class _Seen:
    """Membership for any values: a set for the hashable ones (fast), a list for the
    others (lists and dicts, compared by ==)."""

    def __init__(self, values: Iterable[Any] = ()) -> None:
        self._hashed: set[Any] = set()
        self._listed: list[Any] = []
        for value in values:
            self.add(value)

    def __contains__(self, value: Any) -> bool:
        try:
            return value in self._hashed
        except TypeError:
            return value in self._listed

    def add(self, value: Any) -> None:
        try:
            self._hashed.add(value)
        except TypeError:
            self._listed.append(value)


def _unique(items: Iterable[Any], key: Callable[[Any], Any] = lambda x: x) -> list[Any]:
    """First occurrences, in order."""
    seen = _Seen()
    out: list[Any] = []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


def _item(value: Any, attribute: str) -> Any:
    """`value`'s dotted key path (`a.b`, `list.0`): keys and indexes only, never Python
    attributes (the sandbox's job to guard those)."""
    for part in attribute.split("."):
        key: Any = int(part) if part.isdigit() and isinstance(value, (list, tuple)) else part
        value = value[key]
    return value


def unique(
    items: Iterable[Any], case_sensitive: bool = False, attribute: str | None = None
) -> list[Any]:
    """First occurrences, in order; strings compared ignoring case unless case_sensitive
    (Jinja2's and Ansible's default); `attribute`: compared by that key. Lists and
    dicts work too (Jinja2's own unique refuses them)."""

    def key(item: Any) -> Any:
        k = item if attribute is None else _item(item, attribute)
        return k.lower() if isinstance(k, str) and not case_sensitive else k

    return _unique(items, key)


def union(a: Iterable[Any], b: Iterable[Any]) -> list[Any]:
    return _unique([*a, *b])


def intersect(a: Iterable[Any], b: Iterable[Any]) -> list[Any]:
    other = _Seen(b)
    return _unique(x for x in a if x in other)


def difference(a: Iterable[Any], b: Iterable[Any]) -> list[Any]:
    other = _Seen(b)
    return _unique(x for x in a if x not in other)


def symmetric_difference(a: Iterable[Any], b: Iterable[Any]) -> list[Any]:
    left, right = list(a), list(b)
    in_left, in_right = _Seen(left), _Seen(right)
    return _unique(
        [*(x for x in left if x not in in_right), *(x for x in right if x not in in_left)]
    )


def flatten(value: Iterable[Any], levels: int | None = None, skip_nulls: bool = True) -> list[Any]:
    """Lists inside the list spliced in, `levels` deep (all the way by default);
    null items dropped unless skip_nulls=false, as Ansible does."""
    out: list[Any] = []
    for item in value:
        if skip_nulls and item in (None, "None", "null"):
            continue
        if isinstance(item, (list, tuple)) and (levels is None or int(levels) >= 1):
            deeper = None if levels is None else int(levels) - 1
            out += flatten(item, deeper, skip_nulls)
        else:
            out.append(item)
    return out


LIST_MERGE = ("replace", "keep", "append", "prepend", "append_rp", "prepend_rp")


def combine(*terms: Any, recursive: bool = False, list_merge: str = "replace") -> dict[Any, Any]:
    """Dicts merged left to right (later keys win); `[d1, d2] | combine` works too."""
    if list_merge not in LIST_MERGE:
        raise FilterFailed(f"list_merge must be one of {', '.join(LIST_MERGE)}, not {list_merge!r}")
    dicts = flatten(terms, levels=1)
    out: dict[Any, Any] = {}
    for d in dicts:
        if not isinstance(d, Mapping):
            raise FilterFailed(f"can only combine dicts, got {type(d).__name__}")
        out = _merge(out, d, recursive, list_merge)
    return out


def _merge(
    low: Mapping[Any, Any], high: Mapping[Any, Any], recursive: bool, lists: str
) -> dict[Any, Any]:
    out = dict(low)
    for key, new in high.items():
        old = out.get(key)
        if key not in out:
            out[key] = new
        elif isinstance(old, Mapping) and isinstance(new, Mapping):
            out[key] = _merge(old, new, recursive, lists) if recursive else new
        elif isinstance(old, list) and isinstance(new, list):
            out[key] = _merge_lists(old, new, lists)
        else:
            out[key] = new
    return out


def _merge_lists(old: list[Any], new: list[Any], how: str) -> list[Any]:
    if how == "keep":
        return old
    if how == "append":
        return old + new
    if how == "prepend":
        return new + old
    if how == "append_rp":  # "rp": the old items the new list holds are removed
        return [x for x in old if x not in new] + new
    if how == "prepend_rp":
        return new + [x for x in old if x not in new]
    return new


def dict2items(
    value: Any, key_name: str = "key", value_name: str = "value"
) -> list[dict[str, Any]]:
    if not isinstance(value, Mapping):
        raise FilterFailed(f"dict2items needs a dict, got {type(value).__name__}")
    return [{key_name: k, value_name: v} for k, v in value.items()]


def items2dict(value: Any, key_name: str = "key", value_name: str = "value") -> dict[Any, Any]:
    if not isinstance(value, (list, tuple)):
        raise FilterFailed(f"items2dict needs a list, got {type(value).__name__}")
    out: dict[Any, Any] = {}
    for item in value:
        if not isinstance(item, Mapping) or key_name not in item or value_name not in item:
            keys = f"{key_name!r} and {value_name!r}"
            raise FilterFailed(f"items2dict needs dicts with the keys {keys}, got {item!r}")
        out[item[key_name]] = item[value_name]
    return out


def zip_lists(*lists: Iterable[Any]) -> list[list[Any]]:
    return [list(t) for t in zip(*lists, strict=False)]  # as long as the shortest


def zip_longest(*lists: Iterable[Any], fillvalue: Any = None) -> list[list[Any]]:
    return [list(t) for t in itertools.zip_longest(*lists, fillvalue=fillvalue)]


FILTERS: dict[str, Callable[..., Any]] = {
    "bool": to_bool,
    "ternary": ternary,
    "mandatory": mandatory,
    "unique": unique,
    "union": union,
    "intersect": intersect,
    "difference": difference,
    "symmetric_difference": symmetric_difference,
    "flatten": flatten,
    "combine": combine,
    "dict2items": dict2items,
    "items2dict": items2dict,
    "zip": zip_lists,
    "zip_longest": zip_longest,
    "regex_replace": text.regex_replace,
    "regex_search": text.regex_search,
    "regex_findall": text.regex_findall,
    "regex_escape": text.regex_escape,
    "quote": text.quote,
    "basename": text.basename,
    "dirname": text.dirname,
    "splitext": text.splitext,
    "split": text.split,
    "comment": text.comment,
    "to_json": enc.to_json,
    "to_nice_json": enc.to_nice_json,
    "from_json": enc.from_json,
    "to_yaml": enc.to_yaml,
    "to_nice_yaml": enc.to_nice_yaml,
    "from_yaml": enc.from_yaml,
    "b64encode": enc.b64encode,
    "b64decode": enc.b64decode,
    "hash": enc.hash_text,
    "checksum": enc.hash_text,
    "sha1": enc.hash_text,
    "md5": lambda value: enc.hash_text(value, "md5"),
    "password_hash": enc.password_hash,
}

# Not pure: computed at each render, never once when the template is compiled.
VOLATILE = frozenset({"password_hash"})

# Jinja2's own filters that roles use as Ansible documents them (checked by the tests).
BUILTIN_FILTERS = (
    "default", "d", "int", "float", "string", "lower", "upper", "length", "count", "join",
    "list", "map", "select", "reject", "selectattr", "rejectattr", "min", "max",
    "sum", "first", "last", "sort", "indent", "trim", "replace", "items",
    "dictsort", "reverse", "capitalize", "title", "abs", "round", "batch", "wordcount",
)  # fmt: skip
