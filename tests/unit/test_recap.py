"""The recap of a run: a row per host up to 20 hosts; past that, the failed and
unreachable hosts first with their task and reason, then the hosts grouped by
identical counts (`recap_lines`, a pure function of the summary)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from rich.console import Console

from provisioner.events import HostStats, PlayStopped, RunSummary, Status, TaskResult
from provisioner.report import GROUPED_PAST, TerminalReport, recap_lines

OK, CHANGED, SKIPPED = Status.OK, Status.CHANGED, Status.SKIPPED
FAILED, UNREACHABLE = Status.FAILED, Status.UNREACHABLE


@dataclass(frozen=True)
class R:
    """One result of a host: its status and what a failure says."""

    status: Status
    task: str = "t"
    msg: str = ""
    item: str = ""
    summary: tuple[str, ...] = ()
    ignored: bool = False
    rescued: bool = False


def run(*hosts: tuple[str, list[R]], check: bool = False) -> RunSummary:
    """A summary as the runner makes it: every host listed, its results counted."""
    summary = RunSummary(check=check)
    for name, results in hosts:
        summary.hosts[name] = HostStats()
        for r in results:
            result = TaskResult(
                host=name,
                play="p",
                task=r.task,
                module="command",
                status=r.status,
                msg=r.msg,
                item=r.item,
                summary=r.summary,
                ignored=r.ignored,
                rescued=r.rescued,
                check=check,
            )
            summary.results.append(result)
            summary.hosts[name].count(result)
    return summary


def fleet(n: int, results: list[R], prefix: str = "web") -> list[tuple[str, list[R]]]:
    return [(f"{prefix}{i:02d}", results) for i in range(1, n + 1)]


@dataclass(frozen=True)
class Case:
    id: str
    summary: RunSummary
    lines: tuple[str, ...]


CASES = [
    Case(
        "21 identical hosts are one line",
        run(*fleet(21, [R(OK), R(OK), R(SKIPPED)])),
        ("RECAP: 21 hosts, none failed", "21 hosts  ok=2 changed=0 skipped=1"),
    ),
    Case(
        "failed then unreachable first, with task and reason; small groups named",
        run(
            ("gone", [R(UNREACHABLE, "Connecting", "no answer from 10.0.0.9:22 within 10s")]),
            *fleet(20, [R(OK), R(CHANGED)]),
            ("db1", [R(OK), R(FAILED, "Install docker-ce", "No package docker-ce available.")]),
        ),
        (
            "RECAP: 22 hosts, 1 failed, 1 unreachable",
            "failed       db1   Install docker-ce: No package docker-ce available.",
            "unreachable  gone  Connecting: no answer from 10.0.0.9:22 within 10s",
            "20 hosts  ok=1 changed=1",
            " 1 host   ok=0 changed=0 unreachable=yes  (gone)",
            " 1 host   ok=1 changed=0 failed=1  (db1)",
        ),
    ),
    Case(
        "largest group first; equal groups in the order of their first host",
        run(
            *fleet(3, [R(CHANGED)], "a"),
            *fleet(12, [R(OK)], "b"),
            *fleet(3, [R(SKIPPED)], "c"),
            *fleet(6, [R(OK), R(OK)], "d"),
        ),
        (
            "RECAP: 24 hosts, none failed",
            "12 hosts  ok=1 changed=0",
            " 6 hosts  ok=2 changed=0",
            " 3 hosts  ok=0 changed=1  (a01, a02, a03)",
            " 3 hosts  ok=0 changed=0 skipped=1  (c01, c02, c03)",
        ),
    ),
    Case(
        "ignored and rescued failures are counted, not listed as failures",
        run(
            *fleet(19, [R(OK)]),
            ("x1", [R(FAILED, msg="boom", ignored=True)]),
            ("x2", [R(FAILED, msg="boom", rescued=True), R(OK)]),
        ),
        (
            "RECAP: 21 hosts, none failed",
            "19 hosts  ok=1 changed=0",
            " 1 host   ok=0 changed=0 ignored=1  (x1)",
            " 1 host   ok=1 changed=0 rescued=1  (x2)",
        ),
    ),
    Case(
        "the reason is the message's first line; the loop item is named; the first failure",
        run(
            *fleet(20, [R(OK)]),
            ("h1", [R(FAILED, "pkgs", "\n  Error: nothing provides x\nmore\n", item="x")]),
            ("h2", [R(FAILED, "cmd", "", summary=("run: false",)), R(FAILED, "later", "no")]),
        ),
        (
            "RECAP: 22 hosts, 2 failed",
            "failed       h1  pkgs (x): Error: nothing provides x",
            "failed       h2  cmd: run: false",
            "20 hosts  ok=1 changed=0",
            " 1 host   ok=0 changed=0 failed=1  (h1)",
            " 1 host   ok=0 changed=0 failed=2  (h2)",
        ),
    ),
    Case(
        "a long reason is cut; a failure without words shows the task alone",
        run(
            *fleet(20, [R(OK)]),
            ("h1", [R(FAILED, "long", "x" * 300)]),
            ("h2", [R(FAILED, "mute")]),
        ),
        (
            "RECAP: 22 hosts, 2 failed",
            "failed       h1  long: " + "x" * 159 + "…",
            "failed       h2  mute",
            "20 hosts  ok=1 changed=0",
            " 2 hosts  ok=0 changed=0 failed=1  (h1, h2)",
        ),
    ),
    Case(
        "a dry run says so; hosts without results are a group of their own",
        run(*fleet(15, [R(CHANGED)]), *fleet(6, [], "idle"), check=True),
        (
            "RECAP (dry run: would change): 21 hosts, none failed",
            "15 hosts  ok=0 changed=1",
            " 6 hosts  ok=0 changed=0",
        ),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_recap_lines(case: Case) -> None:
    assert len(case.summary.hosts) > GROUPED_PAST
    assert tuple(line.text for line in recap_lines(case.summary)) == case.lines


def test_failed_and_unreachable_lines_are_coloured() -> None:
    summary = run(
        *fleet(20, [R(OK)]), ("a", [R(FAILED, msg="x")]), ("b", [R(UNREACHABLE, msg="y")])
    )
    styles = {line.text.split()[0]: line.style for line in recap_lines(summary)}
    assert styles["failed"] == "red" and styles["unreachable"] == "magenta"


def printed(summary: RunSummary) -> str:
    out = io.StringIO()
    TerminalReport(Console(file=out, width=200), diff=False).recap(summary)
    return out.getvalue()


def test_up_to_20_hosts_the_recap_is_a_row_per_host() -> None:
    text = printed(run(*fleet(GROUPED_PAST, [R(OK)])))
    rows = [ln.split() for ln in text.splitlines() if ln.startswith("web")]
    assert len(rows) == GROUPED_PAST and rows[0] == ["web01", "1", "0", "0", "0", "0", "0", "no"]
    assert not re.search(r"^ *\d+ hosts? ", text, re.M)  # no grouped line


def test_past_20_hosts_the_recap_is_grouped_and_names_stopped_plays() -> None:
    summary = run(*fleet(GROUPED_PAST + 1, [R(OK)]), ("bad", [R(FAILED, "t", "[red]no[/red]")]))
    summary.stopped.append(PlayStopped("p", "any_errors_fatal", ("web02",)))
    text = printed(summary)
    assert "stopped: p: any_errors_fatal; not run on web02; the playbook stops here" in text
    assert "21 hosts  ok=1 changed=0" in text
    assert "failed       bad  t: [red]no[/red]" in text  # printed as-is, not read as markup
    assert not any(ln.startswith("web01") for ln in text.splitlines())
