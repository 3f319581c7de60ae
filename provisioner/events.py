"""What the runner tells the outside world; `report` consumes it. Only the CLI prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Status(str, Enum):
    OK = "ok"
    CHANGED = "changed"
    SKIPPED = "skipped"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    STALE = "stale"  # apply --plan: the host is no longer where the plan found it


@dataclass(frozen=True)
class TaskResult:
    host: str
    play: str
    task: str
    module: str
    status: Status
    summary: tuple[str, ...] = ()
    diff: str | None = None
    msg: str = ""
    item: str = ""
    ignored: bool = False
    rescued: bool = False  # failed inside a block whose rescue then ran
    check: bool = False
    handler: bool = False
    where: str = ""
    stdout: str = ""
    stderr: str = ""
    would_run: bool = False  # a command whose effect no probe can see: "would run"
    shows_msg: bool = False  # a controller module (debug, assert): the message is the result
    undecided: bool = False  # dry run: decided at apply (it reads what a change decides)
    # dry run: a declared check that failed before an earlier planned change (this task) made
    blocked_by: str = ""
    # dry run: a digest of the module's plan from what its probes found ("": none made);
    # `blocked`: it waits for what an earlier planned change brings (saved plans: runner.expect)
    digest: str = ""
    blocked: bool = False

    @property
    def would_change(self) -> bool:
        return self.check and self.status is Status.CHANGED


@dataclass(frozen=True)
class PlayStarted:
    play: str
    hosts: tuple[str, ...]
    check: bool
    batch: str = ""  # "batch 2 of 3" when the play has `serial`


@dataclass(frozen=True)
class PlayStopped:
    """The play, and the playbook with it, stopped early for the hosts still in it:
    a batch failed (serial, max_fail_percentage) or any_errors_fatal."""

    play: str
    reason: str
    stopped: tuple[str, ...] = ()  # hosts that had not finished the play


@dataclass(frozen=True)
class TaskStarted:
    host: str
    task: str


@dataclass(frozen=True)
class TaskOutput:
    """The last line a host's running task printed so far (a long command, a package
    transaction); never a no_log task's. Sent only when the run asks (`stream`)."""

    host: str
    task: str
    line: str


@dataclass(frozen=True)
class HostNote:
    """Something about a host that is no task's result: waiting for another run's lock,
    a stale lock taken over."""

    host: str
    text: str


@dataclass(frozen=True)
class HostDone:
    """The host is through the play (finished, failed or ended): nothing more of it runs
    until the next play."""

    host: str


@dataclass
class HostStats:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    skipped: int = 0
    ignored: int = 0
    rescued: int = 0
    unreachable: bool = False
    stale: bool = False  # apply --plan stopped it: it drifted since the plan

    def count(self, result: TaskResult) -> None:
        if result.status is Status.UNREACHABLE:
            self.unreachable = True
        elif result.status is Status.STALE:
            self.stale = True
        elif result.status is Status.FAILED and result.ignored:
            self.ignored += 1
        elif result.status is Status.FAILED and result.rescued:
            self.rescued += 1
        elif result.status is Status.FAILED:
            self.failed += 1
        elif result.status is Status.CHANGED:
            self.changed += 1
        elif result.status is Status.SKIPPED:
            self.skipped += 1
        else:
            self.ok += 1


@dataclass
class RunSummary:
    check: bool
    hosts: dict[str, HostStats] = field(default_factory=dict)
    results: list[TaskResult] = field(default_factory=list)
    stopped: list[PlayStopped] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 all ok; 2 a task failed; 4 a host was unreachable (both: 6); 3 a saved plan
        was stale for some hosts and nothing else went wrong (2, 4 and 6 come first)."""
        code = 0
        if any(s.failed for s in self.hosts.values()):
            code |= 2
        if any(s.unreachable for s in self.hosts.values()):
            code |= 4
        if code == 0 and any(s.stale for s in self.hosts.values()):
            code = 3
        return code


Event = PlayStarted | PlayStopped | TaskStarted | TaskOutput | TaskResult | HostNote | HostDone
