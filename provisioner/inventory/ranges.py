"""Ansible host ranges: `web[01:03]` → web01 web02 web03, `[a:c]`, `[0:9:2]`.

Expansion is lazy and bounded (`limits`): `web[0:99999999]` is an error naming
the limit, found after MAX_PATTERN_HOSTS names, not after building them all.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator

from provisioner.errors import InventoryError, Location
from provisioner.limits import MAX_HOST_NAME, MAX_PATTERN_HOSTS, MAX_PATTERN_RANGES

__all__ = ["expand_range"]

_RANGE = re.compile(r"\[([0-9]*|[a-zA-Z]):([0-9]+|[a-zA-Z])(?::([0-9]+))?\]")


def expand_range(name: str, where: Location) -> list[str]:
    """Every name a host pattern stands for (just `name` when it has no range)."""
    if len(name) > MAX_HOST_NAME:
        raise InventoryError(
            f"host name {name[:40]!r}… is longer than {MAX_HOST_NAME} characters", where
        )
    if _RANGE.search(name) is None:
        return [name]
    if len(_RANGE.findall(name)) > MAX_PATTERN_RANGES:
        raise InventoryError(
            f"host pattern {name!r} has more than {MAX_PATTERN_RANGES} ranges", where
        )
    out: list[str] = []
    for host in _expand(name, where, 0):
        if len(out) == MAX_PATTERN_HOSTS:
            raise InventoryError(
                f"host pattern {name!r} stands for more than {MAX_PATTERN_HOSTS} hosts "
                "(the limit for one pattern)",
                where,
            )
        out.append(host)
    return out


def _expand(name: str, where: Location, depth: int) -> Iterator[str]:
    m = _RANGE.search(name)
    if m is None:
        yield name
        return
    if depth == MAX_PATTERN_RANGES:  # a range written across another one's brackets
        raise InventoryError(
            f"host pattern {name!r} has more than {MAX_PATTERN_RANGES} ranges", where
        )
    head, tail = name[: m.start()], name[m.end() :]
    beg, end, step_text = m.group(1) or "0", m.group(2), m.group(3)
    step = int(step_text) if step_text else 1
    if step < 1:
        raise InventoryError(f"host range {m.group(0)!r}: step must be at least 1", where)
    if beg.isdigit() != end.isdigit():
        raise InventoryError(f"host range {m.group(0)!r} mixes letters and numbers", where)
    if beg.isdigit():
        seq = _numbers(m.group(0), beg, end, step, where)
    else:
        seq = _letters(m.group(0), beg, end, step, where)
    # Several ranges in one name (`r[1:2]c[a:b]`): expand the rest too.
    for part in seq:
        yield from _expand(head + part + tail, where, depth + 1)


def _numbers(text: str, beg: str, end: str, step: int, where: Location) -> Iterator[str]:
    # `[01:10]` keeps the zero padding; `[1:10]` does not pad.
    width = len(beg) if beg.startswith("0") and len(beg) > 1 else 0
    if width and len(end) != width:
        raise InventoryError(
            f"host range {text!r}: zero-padded bounds must have the same length", where
        )
    if int(beg) > int(end):
        raise InventoryError(f"host range {text!r}: start is after end", where)
    return (str(i).zfill(width) for i in range(int(beg), int(end) + 1, step))


def _letters(text: str, beg: str, end: str, step: int, where: Location) -> Iterator[str]:
    letters = string.ascii_letters
    i, j = letters.index(beg), letters.index(end)
    if i > j:
        raise InventoryError(f"host range {text!r}: start is after end", where)
    return iter(letters[i : j + 1 : step])
