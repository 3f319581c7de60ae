"""Helpers to build POSIX sh text and to read probe output back.

Probes print *queries*: a marker line `@@ TAG`, whatever the command printed,
then `@@ rc N` with its exit code. Only values we chose (tags, numbers,
base64) appear on marker lines, so odd user values cannot forge one.
"""

from __future__ import annotations

import base64
import binascii
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from provisioner.errors import ProbeError

MARK = "@@ "


def q(value: str) -> str:
    """Quote one value for sh."""
    return shlex.quote(value)


def join(argv: Sequence[str]) -> str:
    """Quote every word of an argv list."""
    return " ".join(shlex.quote(a) for a in argv)


def q_always(value: str) -> str:
    """Single-quote even a 'safe' word: in command position `if` or `A=b` would
    otherwise be read as a reserved word or an assignment."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


def subshell(*lines: str) -> str:
    """A probe body: a subshell, so nothing it does leaks into the batch."""
    return "(\n" + "\n".join(lines) + "\n)"


def op_script(*lines: str) -> str:
    """An Op body: a subshell with `set -e`, so the first failing step stops it
    and an `exit` stays inside."""
    return subshell("set -e", *lines)


def query(tag: str, command: str) -> str:
    """Run `command`, framed by markers, keeping its exit code."""
    return f'echo {q(MARK + tag)}\n{command}\necho "{MARK}rc $?"'


def b64_of(shell_expr: str) -> str:
    """sh that prints the base64 of a shell word on one line."""
    return f"printf '%s' {shell_expr} | base64 | tr -d '\\n'; echo"


@dataclass(frozen=True)
class Query:
    lines: tuple[str, ...]
    rc: int | None  # None when the query never finished (cannot happen in sane output)


def parse_queries(stdout: str) -> dict[str, Query]:
    """Split probe output into queries by tag.

    Lines outside any query are kept under the tag "" (modules print
    `key=value` facts there). A query without its `@@ rc` line has rc None."""
    out: dict[str, Query] = {}
    free: list[str] = []
    tag: str | None = None
    lines: list[str] = []
    for line in stdout.splitlines():
        if line.startswith(MARK):
            rest = line[len(MARK) :]
            m = re.fullmatch(r"rc (\d+)", rest)
            if m and tag is not None:
                out[tag] = Query(tuple(lines), int(m.group(1)))
                tag, lines = None, []
                continue
            if tag is not None:
                out[tag] = Query(tuple(lines), None)
            tag, lines = rest, []
            continue
        (lines if tag is not None else free).append(line)
    if tag is not None:
        out[tag] = Query(tuple(lines), None)
    out[""] = Query(tuple(free), 0)
    return out


def need(queries: dict[str, Query], tag: str, what: str) -> Query:
    try:
        return queries[tag]
    except KeyError:
        raise ProbeError(f"{what}: probe output has no '{tag}' section") from None


def facts(lines: Iterable[str]) -> dict[str, str]:
    """`key=value` lines → dict (later keys win; other lines are ignored)."""
    out: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and re.fullmatch(r"[a-z_]+", key):
            out[key] = value
    return out


def unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ProbeError(f"{what}: probe printed invalid base64") from None


def comma_list(value: object) -> object:
    """A pydantic before-validator: "a, b" → ["a", "b"] (Ansible allows both forms)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def valid_name(value: str, what: str, *, forbid: str = "") -> str:
    """Names that are passed as one argv word: may hold odd characters (they are
    quoted), but never a leading '-' (that would be an option) or a NUL."""
    if not value:
        raise ValueError(f"{what} must not be empty")
    if value.startswith("-"):
        raise ValueError(f"{what} must not start with '-'")
    if "\0" in value:
        raise ValueError(f"{what} must not contain a NUL byte")
    bad = sorted({c for c in value if c in forbid})
    if bad:
        raise ValueError(f"{what} {value!r} must not contain {''.join(bad)!r}")
    return value
