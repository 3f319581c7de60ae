"""What the facts modules share: a long listing from the host, cut at a bound.

A host may list a great deal (every unit, every package); the probe keeps at most
`limit` lines, each marked with its tag, says whether there were more, and brings
the command's own exit code after them (POSIX sh has no pipefail).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from provisioner.errors import ProbeError
from provisioner.shell import facts, q


def bounded(tag: str, command: str, limit: int) -> str:
    """sh printing `command`'s first `limit` lines as `TAG LINE`, then `TAG_rc=N` (its
    exit code) and `TAG_more=1` when it printed more. Its stderr is dropped, and so are
    empty lines. The exit code travels as the last line into awk, which alone writes:
    two writers on one pipe could cut each other's lines."""
    if not re.fullmatch(r"[a-z]+", tag):
        raise ValueError(f"bad tag {tag!r}")
    program = (
        'NR > 1 && prev != "" { if (++n <= limit) print tag " " prev; else more = 1 }'
        " { prev = $0 }"
        ' END { print tag "_rc=" prev; if (more) print tag "_more=1" }'
    )
    return (
        f"{{ {command} 2>/dev/null; printf '\\n%s\\n' \"$?\"; }}"
        f" | awk -v limit={limit} -v tag={tag} {q(program)}"
    )


@dataclass(frozen=True)
class Listing:
    lines: tuple[str, ...]
    rc: int
    truncated: bool


def listing(stdout: str, tag: str, what: str) -> Listing:
    """The lines of `bounded(tag, ...)`; ProbeError when its exit code is missing."""
    all_lines = stdout.splitlines()
    free = facts(all_lines)
    code = free.get(f"{tag}_rc", "")
    if not code.isdigit():
        raise ProbeError(f"{what}: cannot understand the probe output: {stdout[-200:]!r}")
    prefix = f"{tag} "
    lines = tuple(ln[len(prefix) :] for ln in all_lines if ln.startswith(prefix))
    return Listing(lines, int(code), free.get(f"{tag}_more") == "1")
