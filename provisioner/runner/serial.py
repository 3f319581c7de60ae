"""A play's `serial` batches and its failure limits, as Ansible documents them.

`serial: 2`, `serial: "30%"` or a list of those (the last size repeats until every host
had its turn); a percentage rounds down but is at least one host. Each batch runs the
whole play before the next starts. The play stops (and the playbook with it) when every
host of a batch failed, or when the share of a batch's hosts that failed exceeds
`max_fail_percentage`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from provisioner.errors import PlaybookError
from provisioner.playbook.schema import PlaySpec
from provisioner.templating import Templar, is_template

T = TypeVar("T")


def batch_sizes(play: PlaySpec, extra_vars: Mapping[str, Any], total: int) -> list[int]:
    """The sizes of the play's batches over `total` hosts (one batch without serial)."""
    if play.serial is None or total == 0:
        return [total] if total else []
    values = play.serial if isinstance(play.serial, list) else [play.serial]
    if not values:
        return [total]
    sizes = [_size(_rendered(v, play, extra_vars), total, play) for v in values]
    out: list[int] = []
    left = total
    while left > 0:
        size = sizes[min(len(out), len(sizes) - 1)]
        size = min(size, left) if size > 0 else left  # 0: the rest in one batch
        out.append(size)
        left -= size
    return out


def batches(items: Sequence[T], sizes: Sequence[int]) -> list[list[T]]:
    out: list[list[T]] = []
    start = 0
    for size in sizes:
        out.append(list(items[start : start + size]))
        start += size
    return out


def limit_exceeded(play: PlaySpec, failed: int, size: int) -> bool:
    """Whether `failed` hosts of a batch of `size` stop the play: all of them, or more
    than `max_fail_percentage` of them (exceeded, not reached)."""
    if size == 0 or failed == 0:
        return False
    if failed >= size:
        return True
    limit = play.max_fail_percentage
    return limit is not None and failed * 100 / size > limit


def _rendered(value: int | str, play: PlaySpec, extra_vars: Mapping[str, Any]) -> int | str:
    if isinstance(value, str) and is_template(value):
        scope = Templar({**play.vars, **extra_vars})
        rendered = scope.render(value, play.loc)
        return rendered if isinstance(rendered, (int, str)) else str(rendered)
    return value


def _size(value: int | str, total: int, play: PlaySpec) -> int:
    text = str(value).strip()
    try:
        if text.endswith("%"):
            share = float(text[:-1])
            if share < 0:
                raise ValueError(text)
            return max(1, int(total * share / 100))
        size = int(text)
        if size < 0:
            raise ValueError(text)
        return size
    except ValueError:
        raise PlaybookError(
            f"serial: '{value}' is neither a number of hosts nor a percentage ('30%')",
            play.loc,
        ) from None
