"""The facts probe's `KEY=value` lines, read defensively: what a host prints is data.

A value longer than MAX_VALUE is left out (a missing fact, not a cut one); a key keeps
at most its bound of values; lines past MAX_LINES are not read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

MAX_VALUE = 65536
MAX_LINES = 100_000
MAX_VALUES = {"cpuinfo": 20000, "mount": 2000, "addr": 2000, "iface": 512}
DEFAULT_MAX_VALUES = 1000
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Raw:
    """The values of each key, in the order printed."""

    def __init__(self, body: str) -> None:
        self.values: dict[str, list[str]] = {}
        for count, line in enumerate(_lines(body)):
            if count >= MAX_LINES:
                break
            key, eq, value = line.partition("=")
            if not eq or not _KEY.match(key) or len(value) > MAX_VALUE:
                continue
            kept = self.values.setdefault(key, [])
            if len(kept) < MAX_VALUES.get(key, DEFAULT_MAX_VALUES):
                kept.append(value.replace("\x00", ""))

    def first(self, key: str) -> str:
        """The key's first value, stripped ("" when the host printed none)."""
        found = self.values.get(key)
        return found[0].strip() if found else ""

    def all(self, key: str) -> list[str]:
        return self.values.get(key, [])

    def has(self, key: str) -> bool:
        return key in self.values

    def exists(self, path: str) -> bool:
        return path in self.values.get("exists", ())


def _lines(body: str) -> Iterator[str]:
    # Only \n ends a line: a \r or \x0b inside a value stays part of it.
    start = 0
    while start < len(body):
        end = body.find("\n", start)
        if end < 0:
            end = len(body)
        yield body[start:end]
        start = end + 1


def to_int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 20 else None


def paren(text: str) -> str:
    """What the first parentheses hold: `7 (Core)` → `Core`."""
    found = re.search(r"\(([^)]*)\)", text)
    return found.group(1).strip() if found else ""
