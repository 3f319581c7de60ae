"""The benchmark's figures: samples, their CSV, and the table of medians and ratios."""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, fields

TOOLS = ("floor", "provision")
PHASES = ("first", "rerun")


@dataclass(frozen=True)
class Sample:
    """One measured command: `tool` on `n` hosts, a first apply or a no-change rerun."""

    n: int
    phase: str  # first | rerun
    tool: str  # floor | provision
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


# Column groups over the sub-columns; the table's two header lines.
GROUPS = (
    ("", ("N", "run")),
    ("wall time", ("floor", "provision", "ratio")),
    ("controller CPU", ("floor", "provision", "ratio")),
    ("peak MB", ("floor", "provision")),
    ("execs/host", ("floor", "provision")),
    ("logins/host", ("floor", "provision")),
)
HEADER = tuple(c for _, cols in GROUPS for c in cols)


def rows(samples: Sequence[Sample]) -> list[tuple[str, ...]]:
    """One row per (N, phase): medians over the runs, provision against the floor."""
    out = []
    for n in sorted({s.n for s in samples}):
        for phase in PHASES:
            med: dict[tuple[str, str], float] = {}
            for tool in TOOLS:
                picked = [s for s in samples if (s.n, s.phase, s.tool) == (n, phase, tool)]
                if not picked:
                    break
                for attr in ("wall", "cpu", "peak_mb", "execs", "logins"):
                    med[tool, attr] = median([getattr(s, attr) for s in picked])
            else:
                out.append(_row(n, phase, med))
    return out


def _row(n: int, phase: str, med: dict[tuple[str, str], float]) -> tuple[str, ...]:
    f, p = "floor", "provision"
    return (
        str(n),
        phase,
        f"{med[f, 'wall']:.2f} s",
        f"{med[p, 'wall']:.2f} s",
        ratio(med[p, "wall"], med[f, "wall"]),
        f"{med[f, 'cpu']:.2f} s",
        f"{med[p, 'cpu']:.2f} s",
        ratio(med[p, "cpu"], med[f, "cpu"]),
        f"{med[f, 'peak_mb']:.0f}",
        f"{med[p, 'peak_mb']:.0f}",
        count(med[f, "execs"]),
        count(med[p, "execs"]),
        count(med[f, "logins"]),
        count(med[p, "logins"]),
    )


def render(samples: Sequence[Sample], title: Sequence[str] = ()) -> str:
    """The plain-text table (columns aligned, numbers right), after the title lines."""
    body = [HEADER, *rows(samples)]
    widths = [max(len(r[i]) for r in body) for i in range(len(HEADER))]
    top, start = [], 0
    for name, cols in GROUPS:  # widen a group's last column to fit its name
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
