"""The benchmark's figures: samples, their CSV, and the table of medians and ratios."""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import astuple, dataclass, fields

PHASES = ("first", "rerun")


@dataclass(frozen=True)
class Sample:
    """One measured command: `tool` on `n` hosts, a first apply or a no-change rerun."""

    n: int
    phase: str  # first | rerun
    tool: str  # floor | provision | pyinfra | ansible
    run: int  # 1-based
    wall: float  # seconds
    cpu: float  # controller CPU seconds (user + system) of the command's process tree
    peak_mb: float  # peak resident memory, MB
    execs: float  # per host: sessions that ran something (commands + sftp), from sshd logs
    logins: float  # per host: SSH logins, from sshd logs
    changed: int  # changed items over all hosts, as the tool reported them


def to_csv(samples: Iterable[Sample]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f.name for f in fields(Sample)])
    for s in samples:
        writer.writerow([f"{v:.4f}" if isinstance(v, float) else v for v in astuple(s)])
    return out.getvalue()


def from_csv(text: str) -> list[Sample]:
    rows = csv.DictReader(io.StringIO(text))
    return [
        Sample(
            n=int(r["n"]),
            phase=r["phase"],
            tool=r["tool"],
            run=int(r["run"]),
            wall=float(r["wall"]),
            cpu=float(r["cpu"]),
            peak_mb=float(r["peak_mb"]),
            execs=float(r["execs"]),
            logins=float(r["logins"]),
            changed=int(r["changed"]),
        )
        for r in rows
    ]


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("no values")
    return float(statistics.median(values))


def ratio(value: float, floor: float) -> str:
    """How many times the floor: '3.2x' (one decimal under 100), '-' without a floor."""
    if floor <= 0:
        return "-"
    r = value / floor
    return f"{r:.1f}x" if r < 100 else f"{r:.0f}x"


def count(value: float) -> str:
    """A per-host count: whole when it is (it should be), else one decimal."""
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


# The tools in column order; a row needs the first two, a peer missing at an N is '-'.
TOOLS = ("floor", "provision", "pyinfra", "ansible")
REQUIRED = TOOLS[:2]
ATTRS = ("wall", "cpu", "peak_mb", "execs", "logins")
Groups = tuple[tuple[str, tuple[str, ...]], ...]


def tools_of(samples: Iterable[Sample]) -> tuple[str, ...]:
    """The tools with columns: ours, and the peers that were measured at some N."""
    present = {s.tool for s in samples}
    return tuple(t for t in TOOLS if t in REQUIRED or t in present)


def groups(tools: Sequence[str]) -> Groups:
    """Column groups over their sub-columns (the table's two header lines): a tool's
    time is followed by its ratio to the floor."""
    rated = tuple(c for t in tools[1:] for c in (t, "ratio"))
    return (
        ("", ("N", "run")),
        ("wall time", ("floor", *rated)),
        ("controller CPU", ("floor", *rated)),
        ("peak MB", tuple(tools)),
        ("execs/host", tuple(tools)),
        ("logins/host", tuple(tools)),
    )


GROUPS = groups(REQUIRED)  # make bench's table
HEADER = tuple(c for _, cols in GROUPS for c in cols)


def rows(samples: Sequence[Sample]) -> list[tuple[str, ...]]:
    """One row per (N, phase): medians over the runs, each tool against the floor."""
    tools = tools_of(samples)
    out = []
    for n in sorted({s.n for s in samples}):
        for phase in PHASES:
            med = _medians([s for s in samples if (s.n, s.phase) == (n, phase)], tools)
            if all((t, "wall") in med for t in REQUIRED):
                out.append(_row(n, phase, tools, med))
    return out


def _medians(samples: Sequence[Sample], tools: Sequence[str]) -> dict[tuple[str, str], float]:
    med: dict[tuple[str, str], float] = {}
    for tool in tools:
        picked = [s for s in samples if s.tool == tool]
        for attr in ATTRS if picked else ():
            med[tool, attr] = median([getattr(s, attr) for s in picked])
    return med


def _row(
    n: int, phase: str, tools: Sequence[str], med: dict[tuple[str, str], float]
) -> tuple[str, ...]:
    def rated(attr: str) -> list[str]:  # the floor's seconds, then each tool's and ratio
        floor = med["floor", attr]
        cells = [f"{floor:.2f} s"]
        for t in tools[1:]:
            v = med.get((t, attr))
            cells += ["-", "-"] if v is None else [f"{v:.2f} s", ratio(v, floor)]
        return cells

    def each(attr: str, show: Callable[[float], str]) -> list[str]:
        return [show(med[t, attr]) if (t, attr) in med else "-" for t in tools]

    return (
        str(n),
        phase,
        *rated("wall"),
        *rated("cpu"),
        *each("peak_mb", lambda v: f"{v:.0f}"),
        *each("execs", count),
        *each("logins", count),
    )


def render(samples: Sequence[Sample], title: Sequence[str] = ()) -> str:
    """The plain-text table (columns aligned, numbers right), after the title lines."""
    column_groups = groups(tools_of(samples))
    header = tuple(c for _, cols in column_groups for c in cols)
    body = [header, *rows(samples)]
    widths = [max(len(r[i]) for r in body) for i in range(len(header))]
    top, start = [], 0
    for name, cols in column_groups:  # widen a group's last column to fit its name
        span = range(start, start + len(cols))
        short = len(name) - (sum(widths[i] for i in span) + 2 * (len(cols) - 1))
        widths[span[-1]] += max(short, 0)
        top.append(name.ljust(sum(widths[i] for i in span) + 2 * (len(cols) - 1)))
        start += len(cols)
    lines = [*title, "  ".join(top).rstrip()]
    for k, r in enumerate(body):
        cells = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"
