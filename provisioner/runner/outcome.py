"""What one unit of work came to, and the two things made of it: the event and the
registered variable (shaped as Ansible registers results)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from provisioner.events import Status, TaskResult
from provisioner.modules.base import Verdict
from provisioner.playbook.compile import Unit
from provisioner.playbook.schema import TaskSpec
from provisioner.transport.base import Result

NO_LOG = "(output hidden: no_log)"
HIDDEN_CHANGES = ("(changes hidden: no_log)",)
HIDDEN_ITEM = "(hidden)"


@dataclass(frozen=True)
class Ran:
    """The last command a change ran, as Ansible registers it: trailing newlines
    stripped, plus the lines."""

    rc: int
    stdout: str
    stderr: str

    @classmethod
    def of(cls, res: Result) -> Ran:
        return cls(res.exit_code, res.stdout.rstrip("\r\n"), res.stderr.rstrip("\r\n"))

    def fields(self) -> dict[str, Any]:
        return {
            "rc": self.rc,
            "stdout": self.stdout,
            "stdout_lines": self.stdout.splitlines(),
            "stderr": self.stderr,
            "stderr_lines": self.stderr.splitlines(),
        }


@dataclass(frozen=True)
class Outcome:
    status: Status
    summary: tuple[str, ...] = ()
    diff: str | None = None
    msg: str = ""
    ran: Ran | None = None
    skip_reason: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)  # the module's own
    stop_host: bool = False  # the host cannot go on (unreachable, sudo or upload refused)
    show_output: bool = False  # stdout/stderr belong in the event (commands)
    effects: Verdict | None = None  # a controller module's: variables set, meta's action
    undecided: bool = False  # dry run: what it does is decided at apply
    blocked_by: str = ""  # dry run: the planned change a failed declared check waits for
    digest: str = ""  # dry run: of the module's plan (runner.expect.plan_digest)
    blocked: bool = False  # dry run: it waits for what an earlier planned change brings

    @property
    def failed(self) -> bool:
        return self.status in (Status.FAILED, Status.UNREACHABLE)


def registered(outcome: Outcome) -> dict[str, Any]:
    out: dict[str, Any] = {
        "changed": outcome.status is Status.CHANGED,
        "failed": outcome.failed,
    }
    if outcome.status is Status.SKIPPED and outcome.skip_reason:
        out |= {"skipped": True, "skip_reason": outcome.skip_reason}
    if outcome.msg:
        out["msg"] = outcome.msg
    if outcome.ran is not None:
        out |= outcome.ran.fields()
        out["failed"] = outcome.failed
    return out | dict(outcome.fields)


def registered_loop(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """A looped task: one result per item, and what they add up to."""
    items = [registered(o) for o in outcomes]
    out: dict[str, Any] = {"changed": any(i["changed"] for i in items), "results": items}
    if any(i["failed"] for i in items):
        out["failed"] = True
    return out


def event(
    host: str,
    play: str,
    task: TaskSpec,
    unit: Unit | None,
    outcome: Outcome,
    *,
    check: bool,
    ignored: bool,
    hidden: bool,
    rescued: bool = False,
) -> TaskResult:
    """The event of one outcome; `hidden` (no_log, or a no_log task's result used)
    keeps every value of the task out of it: what changed, diffs, output, item."""
    res = TaskResult(
        host=host,
        play=play,
        task=task.display_name,
        module=task.module,
        status=outcome.status,
        summary=outcome.summary,
        diff=outcome.diff,
        msg=outcome.msg,
        item=unit.label if unit is not None else "",
        ignored=ignored and outcome.status is Status.FAILED,
        rescued=rescued and outcome.status is Status.FAILED and not ignored,
        check=check,
        handler=task.is_handler,
        where=str(task.loc),
        stdout=outcome.ran.stdout if outcome.ran and outcome.show_output else "",
        stderr=outcome.ran.stderr if outcome.ran and outcome.show_output else "",
        would_run=unit is not None and unit.module is not None and unit.module.unprobeable,
        shows_msg=unit is not None and unit.module is not None and unit.module.runs_on_controller,
        undecided=outcome.undecided,
        blocked_by=outcome.blocked_by,
        digest=outcome.digest,
        blocked=outcome.blocked,
    )
    if hidden:
        summary = HIDDEN_CHANGES if res.summary else ()
        item = HIDDEN_ITEM if res.item else ""
        res = replace(res, summary=summary, diff=None, stdout="", stderr="", msg=NO_LOG, item=item)
    return res
