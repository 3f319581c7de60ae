"""Events → what a person reads (rich, streaming) or one JSON document.

With `--output json`, stdout carries the JSON document and nothing else; the
human-readable progress goes to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import astuple, dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from provisioner.events import (
    Event,
    HostNote,
    HostStats,
    PlayStarted,
    PlayStopped,
    RunSummary,
    Status,
    TaskResult,
    TaskStarted,
)
from provisioner.probes.host import Facts

STYLE = {
    Status.OK: "green",
    Status.CHANGED: "yellow",
    Status.SKIPPED: "cyan",
    Status.FAILED: "bold red",
    Status.UNREACHABLE: "bold magenta",
    Status.STALE: "bold red",
}


RECAP_COLUMNS = ("host", "ok", "changed", "failed", "skipped", "rescued", "ignored", "unreachable")


def status_word(result: TaskResult) -> str:
    if result.status is Status.FAILED and result.ignored:
        return "failed (ignored)"
    if result.status is Status.FAILED and result.rescued:
        return "failed (rescued)"
    if result.would_change:
        return "would run" if result.would_run else "would change"
    if result.blocked_by:
        return "blocked"  # a check waiting for a change the dry run only planned
    if result.undecided and result.status is Status.OK:
        return "at apply"  # a dry run cannot tell yet; its message says why
    return result.status.value


class TerminalReport:
    """Streams one line per host and task as results arrive, then a recap."""

    def __init__(self, console: Console, *, diff: bool, verbose: int = 0) -> None:
        self.console = console
        self.diff = diff
        self.verbose = verbose
        # host → the task it started and has not reported (for an interrupted run)
        self.running: dict[str, str] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, PlayStarted):
            mode = "  [dim](dry run: nothing will change)[/dim]" if event.check else ""
            hosts = ", ".join(event.hosts) or "no hosts matched"
            batch = f" [dim]({escape(event.batch)})[/dim]" if event.batch else ""
            self.console.print(
                f"\n[bold]PLAY {escape(event.play)}[/bold]{batch}"
                f" [dim]· {escape(hosts)}[/dim]{mode}"
            )
        elif isinstance(event, PlayStopped):
            self.console.print(f"  [bold red]PLAY STOPPED[/bold red] {escape(stopped_text(event))}")
        elif isinstance(event, TaskStarted):
            self.running[event.host] = event.task
            if self.verbose:
                self.console.print(f"[dim]  {escape(event.host)}: {escape(event.task)} …[/dim]")
        elif isinstance(event, HostNote):
            host, text = escape(event.host), escape(event.text)
            self.console.print(f"  [cyan]{'note':<12}[/cyan] {host:<14} {text}")
        elif isinstance(event, TaskResult):
            self.ended(event)
            self.result(event)

    def ended(self, result: TaskResult) -> None:
        """The task `result` reports is no longer running (for an interrupted run)."""
        if not result.item and self.running.get(result.host) == result.task:
            del self.running[result.host]  # a loop item's result does not end the loop

    def close(self) -> None:
        """Nothing to undo: what it printed stays as it is."""

    def interrupted(self, cause: str = "INTERRUPTED") -> None:
        """Say what an interrupt (Ctrl-C, SIGTERM: `cause`) may have left half-done."""
        self.console.print(f"\n[bold red]{escape(cause)}[/bold red]")
        if not self.running:
            self.console.print("No task was running: every host stopped between tasks.")
            return
        for host, task in sorted(self.running.items()):
            self.console.print(
                f"  {escape(host):<14} {escape(task)}: was running and may be half-applied"
            )
        self.console.print(
            "A command on a remote host may still run to its end. "
            "Run the same command again: every task checks the host first."
        )

    def result(self, res: TaskResult) -> None:
        # A Text, not markup, and no highlighting: a line per host and task adds up.
        head = Text.assemble(
            "  ",
            (f"{status_word(res):<12}", STYLE[res.status]),
            f" {res.host:<14} ",
            ("handler ", "dim") if res.handler else "",
            res.task,
            (f" ({res.item})", "dim") if res.item else "",
        )
        self.console.print(head, highlight=False)
        show_detail = res.status is not Status.OK or self.verbose
        if res.status is Status.CHANGED and not (self.diff or res.check):
            show_detail = self.verbose > 0
        if show_detail:
            for line in res.summary:
                self.console.print(
                    f"      {escape(line)}",
                    style="yellow" if res.status is Status.CHANGED else None,
                )
            if res.diff and (self.diff or res.check):
                self.print_diff(res.diff)
        if res.msg and (
            res.status in (Status.FAILED, Status.UNREACHABLE, Status.STALE)
            or self.verbose
            or res.shows_msg
            or (res.undecided and res.status is Status.OK)  # else its changes say why
        ):
            self.console.print(
                f"      {escape(res.msg)}", style="red" if res.status is Status.FAILED else None
            )
        if self.verbose > 1 and res.stdout:
            self.console.print(f"      [dim]{escape(res.stdout.rstrip())}[/dim]")

    def print_diff(self, diff: str) -> None:
        for line in diff.rstrip("\n").splitlines():
            style = None
            if line.startswith("+") and not line.startswith("+++"):
                style = "green"
            elif line.startswith("-") and not line.startswith("---"):
                style = "red"
            elif line.startswith("@@"):
                style = "cyan"
            self.console.print(f"      {escape(line)}", style=style, highlight=False)

    def recap(self, summary: RunSummary) -> None:
        """A row per host; past GROUPED_PAST hosts, `recap_lines` instead."""
        self.console.print()
        if len(summary.hosts) > GROUPED_PAST:
            for line in recap_lines(summary):
                self.console.print(Text(line.text, style=line.style))
        else:
            self.console.print(recap_table(summary))
        for stop in summary.stopped:
            self.console.print(
                f"[red]stopped:[/red] {escape(stop.play)}: {escape(stopped_text(stop))}"
            )


def recap_title(summary: RunSummary) -> str:
    return "RECAP (dry run: would change)" if summary.check else "RECAP"


def recap_table(summary: RunSummary) -> Table:
    table = Table(title=recap_title(summary), title_justify="left", box=None, pad_edge=False)
    for col in RECAP_COLUMNS:
        table.add_column(col, justify="left" if col == "host" else "right")
    for name, st in summary.hosts.items():
        table.add_row(
            escape(name),
            str(st.ok),
            f"[yellow]{st.changed}[/yellow]" if st.changed else "0",
            f"[red]{st.failed}[/red]" if st.failed else "0",
            str(st.skipped),
            str(st.rescued),
            str(st.ignored),
            "[magenta]yes[/magenta]" if st.unreachable else "no",
        )
    return table


# Up to this many hosts the recap is a row per host; past it, a row per failure and
# a row per group of hosts with identical counts (a fleet's recap fits on a screen).
GROUPED_PAST = 20
# A group this small names its hosts; a larger one only counts them.
NAMED_UP_TO = 5
REASON_CHARS = 160


@dataclass(frozen=True)
class RecapLine:
    text: str
    style: str = ""


def recap_lines(summary: RunSummary) -> list[RecapLine]:
    """The grouped recap: a title, each failed then each unreachable host with the task
    and the reason, then the hosts grouped by identical counts, the largest group first."""
    failures = first_failures(summary)
    failed = [h for h, r in failures.items() if r.status is Status.FAILED]
    unreachable = [h for h, r in failures.items() if r.status is Status.UNREACHABLE]
    said = [f"{len(failed)} failed"] if failed else []
    said += [f"{len(unreachable)} unreachable"] if unreachable else []
    title = (
        f"{recap_title(summary)}: {len(summary.hosts)} hosts, {', '.join(said) or 'none failed'}"
    )
    lines = [RecapLine(title, "bold")]
    width = max((len(h) for h in failures), default=0)
    for host in failed + unreachable:
        result = failures[host]
        style = "red" if result.status is Status.FAILED else "magenta"
        lines.append(
            RecapLine(f"{result.status.value:<12} {host:<{width}}  {failure_text(result)}", style)
        )
    return lines + group_lines(summary)


def group_lines(summary: RunSummary) -> list[RecapLine]:
    groups: dict[tuple[int | bool, ...], list[str]] = {}
    for name, st in summary.hosts.items():
        groups.setdefault(astuple(st), []).append(name)
    # largest first; among equals, the group of the host listed first (dicts keep order)
    ordered = sorted(groups.values(), key=len, reverse=True)
    width = max(len(str(len(names))) for names in ordered) if ordered else 1
    lines = []
    for names in ordered:
        st = summary.hosts[names[0]]
        noun = "host " if len(names) == 1 else "hosts"
        shown = f"  ({', '.join(names)})" if len(names) <= NAMED_UP_TO else ""
        bad = st.failed or st.unreachable
        lines.append(
            RecapLine(
                f"{len(names):>{width}} {noun}  {counts_text(st)}{shown}", "red" if bad else ""
            )
        )
    return lines


def counts_text(st: HostStats) -> str:
    """ok and changed always; the other counts only when not zero."""
    rare = {
        "failed": st.failed,
        "skipped": st.skipped,
        "rescued": st.rescued,
        "ignored": st.ignored,
    }
    parts = [f"ok={st.ok}", f"changed={st.changed}"]
    parts += [f"{key}={n}" for key, n in rare.items() if n]
    flags = (["unreachable=yes"] if st.unreachable else []) + (["stale=yes"] if st.stale else [])
    return " ".join(parts + flags)


def first_failures(summary: RunSummary) -> dict[str, TaskResult]:
    """Each failed or unreachable host's first such result (ignored and rescued failures
    are none), in the order of the recap's hosts."""
    first: dict[str, TaskResult] = {}
    for r in summary.results:
        failing = r.status is Status.FAILED and not (r.ignored or r.rescued)
        if (failing or r.status is Status.UNREACHABLE) and r.host not in first:
            first[r.host] = r
    return {h: first[h] for h in summary.hosts if h in first}


def failure_text(result: TaskResult) -> str:
    """`task (item): reason`, the reason's first line, cut to REASON_CHARS."""
    task = f"{result.task} ({result.item})" if result.item else result.task
    texts = (result.msg, *result.summary)  # a bare `exit 1` says less than `run: false`
    lines = [line.strip() for text in texts for line in text.splitlines()]
    reason = next((ln for ln in lines if ln), "")
    if len(reason) > REASON_CHARS:
        reason = reason[: REASON_CHARS - 1] + "…"
    return f"{task}: {reason}" if reason else task


FACT_COLUMNS = ("host", "distribution", "version", "family", "arch", "pkg_mgr", "init", "selinux")


def facts_table(console: Console, found: Mapping[str, Facts]) -> None:
    """`provision facts` as a table: one row per host that answered."""
    table = Table(box=None, pad_edge=False, highlight=False)
    for column in FACT_COLUMNS:
        table.add_column(column)
    for name, f in found.items():
        row = (name, f.distribution, f.distribution_version, f.os_family, f.architecture)
        table.add_row(*map(escape, (*row, f.pkg_mgr, f.service_mgr, f.selinux)))
    console.print(table)


def say_unreached(console: Console, host: str, error: Exception, *, unreachable: bool) -> None:
    kind = "unreachable" if unreachable else "failed"
    console.print(f"[red]{kind}[/red] {escape(host)}: {escape(str(error))}")


def stopped_text(stop: PlayStopped) -> str:
    hosts = f"; not run on {', '.join(stop.stopped)}" if stop.stopped else ""
    return f"{stop.reason}{hosts}; the playbook stops here"


def to_json(summary: RunSummary) -> dict[str, Any]:
    return {
        "check": summary.check,
        "hosts": {
            name: {
                "ok": st.ok,
                "changed": st.changed,
                "failed": st.failed,
                "skipped": st.skipped,
                "rescued": st.rescued,
                "ignored": st.ignored,
                "unreachable": st.unreachable,
                **({"stale": True} if st.stale else {}),
            }
            for name, st in summary.hosts.items()
        },
        "results": [
            {
                "host": r.host,
                "play": r.play,
                "task": r.task,
                "module": r.module,
                "status": r.status.value,
                "item": r.item or None,
                "changes": list(r.summary),
                "diff": r.diff,
                "msg": r.msg,
                "ignored": r.ignored,
                "rescued": r.rescued,
                "handler": r.handler,
                "undecided": r.undecided,
                "blocked_by": r.blocked_by or None,
            }
            for r in summary.results
        ],
        "stopped": [
            {"play": s.play, "reason": s.reason, "hosts": list(s.stopped)} for s in summary.stopped
        ],
    }


def dump_json(summary: RunSummary) -> str:
    return json.dumps(to_json(summary), indent=2, ensure_ascii=False)
