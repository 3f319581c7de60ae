"""The live view on a terminal: one line per host (its task, how long it has been on
it, its counts so far, the last line a long task printed), redrawn in place.

Everything a user needs afterwards (play headers, changes, failures, notes, a dry
run's would-change lines) is printed above the live region as the plain report
prints it; ok and skipped results only count. Hosts through the play leave the
view; after the run the view goes and the recap stands in its place. With more
hosts than rows, hosts on the same task share a line.

Events come from the runner's worker threads and the view is redrawn on rich's
refresh thread: the state is behind a lock, never held while printing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from provisioner.events import (
    Event,
    HostDone,
    HostStats,
    PlayStarted,
    RunSummary,
    Status,
    TaskOutput,
    TaskResult,
    TaskStarted,
)
from provisioner.report import TerminalReport, counts_text

Clock = Callable[[], float]


@dataclass
class HostState:
    """What the view knows of one host of the play running now."""

    task: str = ""  # the task it is on ("": none now)
    since: float = 0.0  # when it started that task (the clock's time)
    output: str = ""  # the last line that task printed, when it streams
    started: bool = False  # it has started a task in this play
    done: bool = False  # through the play


@dataclass
class View:
    """The state the frame is drawn from: the play's hosts in order, the run's counts."""

    hosts: dict[str, HostState] = field(default_factory=dict)
    stats: dict[str, HostStats] = field(default_factory=dict)


def shows(result: TaskResult) -> bool:
    """A result printed above the view: anything but a plain ok or skip."""
    if result.status not in (Status.OK, Status.SKIPPED):
        return True
    return result.shows_msg or (result.undecided and result.status is Status.OK)


class LiveReport(TerminalReport):
    """The terminal report with a live region below what it prints."""

    def __init__(
        self,
        console: Console,
        *,
        diff: bool,
        clock: Clock = time.monotonic,
        refresh_per_second: float = 4.0,
        auto_refresh: bool = True,
    ) -> None:
        super().__init__(console, diff=diff, verbose=0)
        self.clock = clock
        self.view = View()
        self._lock = threading.Lock()
        self._closed = False
        self.live = Live(
            console=console,
            get_renderable=self.frame,
            auto_refresh=auto_refresh,
            refresh_per_second=refresh_per_second,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.track(event)
        if not self._closed and not self.live.is_started:
            self.live.start(refresh=True)  # drawn from this event on, not from before it
        if isinstance(event, TaskResult) and not shows(event):
            self.ended(event)  # it only counts
        elif isinstance(event, TaskOutput):
            pass  # the next frame shows it
        else:
            super().__call__(event)  # printed above the live region
            if self.live.is_started:
                self.live.refresh()  # below it, the view as it is now, not a frame ago

    def track(self, event: Event) -> None:
        view = self.view
        if isinstance(event, PlayStarted):
            view.hosts = {name: HostState() for name in event.hosts}
        elif isinstance(event, TaskStarted):
            view.hosts[event.host] = HostState(event.task, self.clock(), started=True)
        elif isinstance(event, TaskResult):
            view.stats.setdefault(event.host, HostStats()).count(event)
            state = view.hosts.get(event.host)
            if state is not None and not event.item and state.task == event.task:
                state.task, state.output = "", ""
        elif isinstance(event, TaskOutput):
            state = view.hosts.get(event.host)
            if state is not None and state.task == event.task:
                state.output = event.line
        elif isinstance(event, HostDone) and event.host in view.hosts:
            view.hosts[event.host] = HostState(started=True, done=True)

    def frame(self) -> Group:
        """The live region now: it fits the console's height."""
        with self._lock:
            lines = frame_lines(self.view, self.clock(), max(self.console.height - 1, 2))
        return Group(*lines)

    def stop(self, *, keep: bool) -> None:
        """Stop the live region (the cursor shown again); `keep`: its last frame stays."""
        self._closed = True
        self.live.transient = not keep
        self.live.stop()

    def interrupted(self, cause: str = "INTERRUPTED") -> None:
        self.stop(keep=True)  # what each host was doing stays readable above
        super().interrupted(cause)

    def recap(self, summary: RunSummary) -> None:
        self.stop(keep=False)  # the hosts collapse into the recap
        super().recap(summary)

    def close(self) -> None:
        self.stop(keep=True)


def elapsed(seconds: float) -> str:
    whole = max(int(seconds), 0)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole // 60 % 60:02d}m"


def one_row(text: str, style: str = "") -> Text:
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


def frame_lines(view: View, now: float, rows: int) -> list[Text]:
    """The host lines, then a footer of the hosts not on a task: at most `rows` lines."""
    running = [(n, s) for n, s in view.hosts.items() if s.task]
    lines = host_lines(running, view.stats, now, rows - 1)
    return [*lines, footer(view)]


def host_lines(
    running: list[tuple[str, HostState]],
    stats: Mapping[str, HostStats],
    now: float,
    rows: int,
) -> list[Text]:
    """A line per running host and one for its output, while they fit in `rows`; else
    hosts on the same task share a line (first those without output, then all), the
    largest groups first when even those do not fit."""
    width = max((len(n) for n, _ in running), default=0)
    if sum(1 + bool(s.output) for _, s in running) <= rows:
        return [line for n, s in running for line in single(n, s, stats, now, width)]
    alone = [(n, s) for n, s in running if s.output]
    groups = by_task([(n, s) for n, s in running if not s.output])
    if len(groups) + 2 * len(alone) > rows:
        alone, groups = [], by_task(running)
    lines = [line for n, s in alone for line in single(n, s, stats, now, width)]
    rest: list[list[tuple[str, HostState]]] = []
    if len(groups) > rows:
        ordered = sorted(groups, key=len, reverse=True)
        groups, rest = ordered[: rows - 1], ordered[rows - 1 :]
    for group in groups:
        if len(group) == 1:
            lines += single(*group[0], stats, now, width)[:1]
        else:
            lines.append(grouped(group, now))
    if rest:
        hosts = sum(len(g) for g in rest)
        lines.append(one_row(f"… {hosts} more hosts on {len(rest)} other tasks", "dim"))
    return lines


def by_task(running: list[tuple[str, HostState]]) -> list[list[tuple[str, HostState]]]:
    groups: dict[str, list[tuple[str, HostState]]] = {}
    for name, state in running:
        groups.setdefault(state.task, []).append((name, state))
    return list(groups.values())


def single(
    name: str, state: HostState, stats: Mapping[str, HostStats], now: float, width: int
) -> list[Text]:
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"  {name:<{width}}  ", style="bold")
    line.append(state.task)
    line.append(f" ({elapsed(now - state.since)})", style="cyan")
    line.append(f"  {counts_text(stats.get(name, HostStats()))}", style="dim")
    if not state.output:
        return [line]
    return [line, one_row(f"  {'':<{width}}  │ {state.output}", "dim")]


def grouped(group: list[tuple[str, HostState]], now: float) -> Text:
    longest = max(now - s.since for _, s in group)
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"  {len(group)} hosts: ", style="bold")
    line.append(group[0][1].task)
    line.append(f" ({elapsed(longest)})", style="cyan")
    return line


def footer(view: View) -> Text:
    """How many of the play's hosts are through it, and those not on a task now."""
    states = view.hosts.values()
    done = sum(s.done for s in states)
    failed = sum(
        1
        for name, s in view.hosts.items()
        if s.done and (st := view.stats.get(name)) and (st.failed or st.unreachable)
    )
    parts = [f"{done} of {len(view.hosts)} hosts done"]
    if failed:
        parts.append(f"{failed} failed")
    waiting = sum(not s.started for s in states)
    between = sum(s.started and not s.done and not s.task for s in states)
    if waiting:
        parts.append(f"{waiting} starting")
    if between:
        parts.append(f"{between} between tasks")
    return one_row("  " + " · ".join(parts), "dim")
