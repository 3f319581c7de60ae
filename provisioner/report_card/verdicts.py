"""A run's results → a card: for each host and task, pass, fail, error or skipped.

`provision verify` is a dry run read as a test: a host passes when its dry run plans
nothing, every check holds and nothing failed. A would-change task fails (what differs
is its diff), so does a check blocked by a change only planned; what could not be
checked is an error (unreachable, decided at apply). An apply's card passes what it
changed too: what it did, read per task.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from provisioner.events import RunSummary, Status, TaskResult


class Verdict(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"


# What a loop's items add up to: the worst of them.
RANK = {Verdict.SKIPPED: 0, Verdict.PASS: 1, Verdict.ERROR: 2, Verdict.FAIL: 3}
UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
STOPS = ("failed", "unreachable")  # what ends a host's run: the tasks after it do not run
COMMAND_HINT = (
    "a command: a dry run does not run it (with changed_when: false and check_mode: false"
    " it is a check, and runs)"
)


def printable(text: str) -> str:
    """Host output as text every page can hold (XML 1.0 has no control characters)."""
    return UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


@dataclass(frozen=True)
class Column:
    """A task of the run; the same name again later in its play is another column."""

    play: str
    task: str
    handler: bool = False
    occurrence: int = 0


@dataclass(frozen=True)
class Cell:
    verdict: Verdict
    word: str  # what happened: ok, would change, blocked, failed, unreachable, not run, …
    message: str = ""  # why, in a line or a few
    detail: str = ""  # what differs (changes, diff) and what a command said


@dataclass(frozen=True)
class HostCard:
    host: str
    verdict: Verdict  # pass, fail or error
    cells: tuple[Cell, ...]  # one per column of the card
    unreachable: bool = False


@dataclass(frozen=True)
class Card:
    verify: bool  # a dry run read as a test; else what an apply did
    title: str
    columns: tuple[Column, ...]
    hosts: tuple[HostCard, ...]

    @property
    def passed(self) -> int:
        return sum(h.verdict is Verdict.PASS for h in self.hosts)

    def count(self, verdict: Verdict) -> int:
        return sum(h.verdict is verdict for h in self.hosts)

    @property
    def headline(self) -> str:
        total = len(self.hosts)
        return f"{self.passed} of {total} host{'' if total == 1 else 's'} pass"

    @property
    def exit_code(self) -> int:
        """verify's: 0 every host passes; 2 a host fails or could not be checked; 4 a
        host was unreachable; 6 both."""
        code = 0
        if any(
            h.verdict is Verdict.FAIL or not (h.unreachable or h.verdict is Verdict.PASS)
            for h in self.hosts
        ):
            code |= 2
        if any(h.unreachable for h in self.hosts):
            code |= 4
        return code


def judge(result: TaskResult, dry: bool) -> Cell:
    """One result's verdict; `dry`: the run was a dry run (verify's reading)."""
    r = result
    detail = _detail(r)
    if r.status is Status.UNREACHABLE:
        return Cell(Verdict.ERROR, "unreachable", r.msg, detail)
    if r.status is Status.FAILED and (r.ignored or r.rescued):
        word = "failed (ignored)" if r.ignored else "failed (rescued)"
        return Cell(Verdict.SKIPPED, word, r.msg, detail)
    if r.status is Status.FAILED:
        return Cell(Verdict.FAIL, "failed", r.msg, detail)
    if r.blocked_by:  # verify asks whether the host is right now: this check says no
        return Cell(Verdict.FAIL, "blocked", r.msg, detail)
    if r.status is Status.CHANGED and dry:
        word = "would run" if r.would_run else "would change" if r.check else "changed"
        return Cell(Verdict.FAIL, word, r.msg, detail)  # what differs: in the detail
    if r.status is Status.CHANGED:
        return Cell(Verdict.PASS, "changed", r.msg, detail)
    if r.status is Status.OK and r.undecided:
        return Cell(Verdict.ERROR, "at apply", f"could not be checked: {r.msg}", detail)
    if r.status is Status.SKIPPED:
        hint = COMMAND_HINT if r.would_run and dry and not r.msg else ""
        return Cell(Verdict.SKIPPED, "skipped", r.msg or hint)
    return Cell(Verdict.PASS, "ok", r.msg if r.shows_msg else "", detail)


def _detail(r: TaskResult) -> str:
    parts = ["\n".join(r.summary), r.diff or ""]
    if r.stdout:
        parts.append(f"stdout:\n{r.stdout}")
    if r.stderr:
        parts.append(f"stderr:\n{r.stderr}")
    return "\n\n".join(p.rstrip("\n") for p in parts if p)


def _combined(cells: Sequence[tuple[str, Cell]]) -> Cell:
    """A loop's items as one cell: the worst verdict, with what each such item said."""
    worst = max(cells, key=lambda c: RANK[c[1].verdict])[1]
    if len(cells) == 1:
        return cells[0][1]
    these = [(item, c) for item, c in cells if c.verdict is worst.verdict]
    message = "\n".join(f"[{item}] {c.message}".rstrip() for item, c in these)
    detail = "\n\n".join(f"[{item}]\n{c.detail}" for item, c in these if c.detail)
    return Cell(worst.verdict, worst.word, message, detail)


def _columns_of(results: Iterable[TaskResult]) -> list[tuple[Column, list[TaskResult]]]:
    """One host's results grouped into its columns, in order: a loop's items are one."""
    out: list[tuple[Column, list[TaskResult]]] = []
    seen: dict[tuple[str, str, bool], int] = {}
    for r in results:
        key = (r.play, r.task, r.handler)
        if out and (out[-1][0].play, out[-1][0].task, out[-1][0].handler) == key:
            out[-1][1].append(r)
            continue
        seen[key] = seen.get(key, -1) + 1
        out.append((Column(r.play, r.task, r.handler, seen[key]), [r]))
    return out


def _merge(order: list[Column], theirs: Sequence[Column]) -> None:
    """Adds a host's columns to the card's, each new one after the one before it."""
    at = 0
    for col in theirs:
        if col in order:
            at = order.index(col) + 1
        else:
            order.insert(at, col)
            at += 1


def card(summary: RunSummary, title: str = "") -> Card:
    dry = summary.check
    per_host: dict[str, list[TaskResult]] = {name: [] for name in summary.hosts}
    for r in summary.results:
        per_host.setdefault(r.host, []).append(r)
    grouped = {host: _columns_of(rs) for host, rs in per_host.items()}
    order: list[Column] = []
    for cols in grouped.values():
        _merge(order, [c for c, _ in cols])
    hosts = []
    for host, cols in grouped.items():
        found = {
            c: _combined([(r.item, printable_cell(judge(r, dry))) for r in rs]) for c, rs in cols
        }
        stats = summary.hosts.get(host)
        hosts.append(_host(host, order, found, bool(stats and stats.unreachable)))
    return Card(dry, title, tuple(order), tuple(hosts))


def printable_cell(cell: Cell) -> Cell:
    return Cell(cell.verdict, cell.word, printable(cell.message), printable(cell.detail))


def _host(host: str, order: list[Column], found: dict[Column, Cell], unreachable: bool) -> HostCard:
    """The host's row: a cell for every column of the card, "not run" where it has none."""
    stops = (c for c in order if c in found and found[c].word in STOPS)
    stopped = next(stops, None)
    cells = []
    for col in order:
        if col in found:
            cells.append(found[col])
            continue
        why = f"the host stopped at '{stopped.task}'" if stopped else "not on this host's path"
        cells.append(Cell(Verdict.SKIPPED, "not run", why))
    verdicts = {c.verdict for c in cells}
    verdict = Verdict.PASS
    if Verdict.FAIL in verdicts:
        verdict = Verdict.FAIL
    elif Verdict.ERROR in verdicts or unreachable:
        verdict = Verdict.ERROR
    return HostCard(host, verdict, tuple(cells), unreachable)
