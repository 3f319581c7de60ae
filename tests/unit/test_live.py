"""The live view (`provisioner.live`): driven by the runner's events, with a fake clock
and a fake terminal (rich's recording Console), never redrawn on its own (no refresh
thread): each test reads the frame the view would draw now."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from provisioner.cli.run import ApplyArgs, pick_report
from provisioner.events import (
    HostDone,
    HostNote,
    HostStats,
    PlayStarted,
    PlayStopped,
    RunSummary,
    Status,
    TaskOutput,
    TaskResult,
    TaskStarted,
)
from provisioner.live import LiveReport

PLAY = "web"


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def terminal(height: int = 24, width: int = 100) -> Console:
    """A terminal of that size; what was written to it: `raw`."""
    return Console(
        file=io.StringIO(),
        record=True,
        force_terminal=True,
        width=width,
        height=height,
        color_system=None,
    )


def raw(console: Console) -> str:
    """The bytes the terminal got, control sequences included."""
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def live(console: Console, clock: Clock, *, diff: bool = False) -> LiveReport:
    return LiveReport(console, diff=diff, clock=clock, auto_refresh=False)


def frame(report: LiveReport) -> list[str]:
    """The live region as it would be drawn now, a line per row."""
    probe = Console(file=io.StringIO(), width=report.console.width, color_system=None)
    probe.print(report.frame())
    file = probe.file
    assert isinstance(file, io.StringIO)
    return file.getvalue().rstrip("\n").splitlines()


def printed(console: Console) -> str:
    """What went to the terminal, the live region's frames included, its whitespace
    made single spaces (a long line wraps)."""
    return " ".join(console.export_text(clear=False).split())


def result(host: str, task: str, status: Status = Status.OK, **kw: object) -> TaskResult:
    return TaskResult(host, PLAY, task, "command", status, **kw)  # type: ignore[arg-type]


def test_a_host_line_shows_its_task_how_long_and_its_counts() -> None:
    clock, console = Clock(), terminal()
    report = live(console, clock)
    report(PlayStarted(PLAY, ("web1", "web2"), False))
    report(TaskStarted("web1", "Install packages"))
    report(result("web1", "Install packages"))
    report(TaskStarted("web1", "Start nginx"))
    report(TaskStarted("web2", "Install packages"))
    clock.now += 75
    lines = frame(report)
    assert lines[0].split() == ["web1", "Start", "nginx", "(1m15s)", "ok=1", "changed=0"]
    assert lines[1].split() == ["web2", "Install", "packages", "(1m15s)", "ok=0", "changed=0"]
    assert lines[-1].strip() == "0 of 2 hosts done"
    report.close()


def test_a_long_task_shows_its_last_output_line_under_its_host() -> None:
    clock, console = Clock(), terminal()
    report = live(console, clock)
    report(PlayStarted(PLAY, ("web1", "web2"), False))
    report(TaskStarted("web1", "Install packages"))
    report(TaskStarted("web2", "Install packages"))
    report(TaskOutput("web1", "Install packages", "Installing : nginx-1.24 2/5"))
    report(TaskOutput("web2", "an earlier task", "late line"))  # not its task now: ignored
    lines = frame(report)
    assert lines[1].split() == ["│", "Installing", ":", "nginx-1.24", "2/5"]
    assert "web2" in lines[2] and not any("late line" in line for line in lines)
    report(result("web1", "Install packages", Status.CHANGED))
    report(TaskStarted("web1", "Start nginx"))
    assert not any("│" in line for line in frame(report))  # the next task starts clean
    report.close()


def test_with_little_room_hosts_with_output_keep_their_lines_the_rest_group() -> None:
    clock, console = Clock(), terminal(height=8)
    report = live(console, clock)
    hosts = tuple(f"h{n}" for n in range(10))
    report(PlayStarted(PLAY, hosts, False))
    for host in hosts:
        report(TaskStarted(host, "Install packages"))
    report(TaskOutput("h3", "Install packages", "Downloading"))
    lines = [line.strip() for line in frame(report)]
    assert lines[:3] == [
        "h3  Install packages (0s)  ok=0 changed=0",
        "│ Downloading",
        "9 hosts: Install packages (0s)",
    ]
    for n, host in enumerate(hosts):  # output everywhere: no room for any of it
        report(TaskOutput(host, "Install packages", f"line {n}"))
    assert [line.strip() for line in frame(report)][:-1] == ["10 hosts: Install packages (0s)"]
    report.close()


def test_the_time_on_a_task_counts_from_its_start() -> None:
    clock, console = Clock(), terminal()
    report = live(console, clock)
    report(PlayStarted(PLAY, ("web1",), False))
    report(TaskStarted("web1", "first"))
    clock.now += 50
    report(result("web1", "first"))
    report(TaskStarted("web1", "second"))
    clock.now += 3.9
    assert "second (3s)" in frame(report)[0]
    report.close()


def test_a_finished_host_leaves_the_view_and_is_counted_done() -> None:
    clock, console = Clock(), terminal()
    report = live(console, clock)
    report(PlayStarted(PLAY, ("web1", "web2", "web3"), False))
    for host in ("web1", "web2"):
        report(TaskStarted(host, "ping"))
    report(result("web1", "ping"))
    report(HostDone("web1"))
    lines = frame(report)
    assert not any("web1" in line for line in lines)
    assert "web2" in lines[0]
    assert lines[-1].strip() == "1 of 3 hosts done · 1 starting"
    report(result("web2", "ping", Status.FAILED, msg="exit 1"))
    report(HostDone("web2"))
    assert frame(report)[-1].strip() == "2 of 3 hosts done · 1 failed · 1 starting"
    report.close()


def test_ok_results_only_count_what_a_user_needs_is_printed_above() -> None:
    clock, console = Clock(), terminal()
    report = live(console, clock)
    report(PlayStarted(PLAY, ("web1",), False))
    report(TaskStarted("web1", "quiet"))
    report(result("web1", "quiet"))
    report(TaskStarted("web1", "edit config"))
    report(result("web1", "edit config", Status.CHANGED, summary=("line added",)))
    report(HostNote("web1", "waiting for the lock held by run 42"))
    report(TaskStarted("web1", "broken"))
    report(result("web1", "broken", Status.FAILED, msg="exit 3: no such file"))
    report(PlayStopped(PLAY, "every host failed"))
    report.close()
    text = printed(console)
    assert "PLAY web" in text
    assert re.search(r"changed\s+web1\s+edit config", text)
    assert "waiting for the lock held by run 42" in text
    assert re.search(r"failed\s+web1\s+broken", text)
    assert "exit 3: no such file" in text
    assert "PLAY STOPPED every host failed" in text
    assert not re.search(r"ok\s+web1\s+quiet", text)


def test_a_dry_run_with_diff_prints_its_would_change_lines_and_diff() -> None:
    clock, console = Clock(), terminal()
    report = live(console, clock, diff=True)
    report(PlayStarted(PLAY, ("web1",), True))
    report(TaskStarted("web1", "config"))
    diff = "--- before\n+++ after\n-old\n+new\n"
    report(result("web1", "config", Status.CHANGED, summary=("set x",), diff=diff, check=True))
    report.close()
    text = printed(console)
    assert re.search(r"would change\s+web1\s+config", text)
    assert "set x" in text and "+new" in text and "-old" in text


def test_fifty_hosts_fit_a_24_row_terminal_grouped_by_task() -> None:
    clock, console = Clock(), terminal(height=24)
    report = live(console, clock)
    hosts = tuple(f"web{n:02d}" for n in range(50))
    report(PlayStarted(PLAY, hosts, False))
    for host in hosts[:30]:
        report(TaskStarted(host, "Install packages"))
    clock.now += 5
    for host in hosts[30:]:
        report(TaskStarted(host, "Write config"))
    for host in hosts[45:]:
        report(result(host, "Write config", Status.CHANGED))
        report(HostDone(host))
    clock.now += 10
    lines = frame(report)
    assert len(lines) <= 23
    assert lines[0].strip() == "30 hosts: Install packages (15s)"
    assert lines[1].strip() == "15 hosts: Write config (10s)"
    assert lines[-1].strip() == "5 of 50 hosts done"
    report.close()


def test_more_tasks_than_rows_keeps_the_largest_groups_and_counts_the_rest() -> None:
    clock, console = Clock(), terminal(height=6)
    report = live(console, clock)
    hosts = tuple(f"h{n}" for n in range(12))
    report(PlayStarted(PLAY, hosts, False))
    for n, host in enumerate(hosts):
        report(TaskStarted(host, "common" if n < 5 else f"task {n}"))
    lines = frame(report)
    assert len(lines) == 5
    assert lines[0].strip() == "5 hosts: common (0s)"
    assert lines[-2].strip() == "… 5 more hosts on 5 other tasks"
    report.close()


def test_interrupt_leaves_the_last_frame_and_says_what_was_running() -> None:
    clock, console = Clock(), terminal()
    report = live(console, clock)
    report(PlayStarted(PLAY, ("web1",), False))
    report(TaskStarted("web1", "long one"))
    clock.now += 5
    report.interrupted()
    assert not report.live.is_started
    text = printed(console)
    assert "long one (5s)" in text  # the last frame, drawn as the view stopped
    assert text.endswith("Run the same command again: every task checks the host first.")
    assert "INTERRUPTED web1 long one: was running and may be half-applied" in text
    written = raw(console)
    assert written.count("\x1b[?25l") == 1  # the view hid the cursor as it started
    assert written.rindex("\x1b[?25h") > written.index("\x1b[?25l")  # and showed it again


def test_the_recap_replaces_the_view_and_nothing_redraws_after_it() -> None:
    clock, console = Clock(), terminal()
    report = live(console, clock)
    report(PlayStarted(PLAY, ("web1",), False))
    report(TaskStarted("web1", "t"))
    report(result("web1", "t"))
    report(HostDone("web1"))
    summary = RunSummary(check=False, hosts={"web1": HostStats(ok=1)})
    report.recap(summary)
    assert not report.live.is_started
    report(PlayStarted(PLAY, ("web1",), False))  # a late event draws nothing again
    assert not report.live.is_started
    assert "RECAP" in printed(console)


def test_the_live_view_only_on_a_terminal_with_text_output_and_no_v() -> None:
    def args(output: str = "text", verbose: int = 0) -> ApplyArgs:
        return ApplyArgs(
            Path("p.yml"), None, False, False, None, None, None, None, None, False, 5,
            output, False, verbose,
        )  # fmt: skip

    tty = terminal()
    pipe = Console(file=io.StringIO(), force_terminal=False)
    assert isinstance(pick_report(tty, args()), LiveReport)
    for console, given in ((pipe, args()), (tty, args(verbose=1)), (tty, args(output="json"))):
        report = pick_report(console, given)
        assert not isinstance(report, LiveReport)
