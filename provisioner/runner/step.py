"""One unit of work on one host: plan it, and in apply run it and verify it.

Apply runs the change's commands, then probes and plans again: anything but
converged (or a change made only of actions, like a restart) "did not
converge", a failure, never "changed". Commands (`unprobeable` modules) are
judged by their exit code, or by `changed_when`/`failed_when`.
"""

from __future__ import annotations

import logging
import shlex
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from provisioner.errors import (
    BecomeError,
    CommandTimeout,
    HostBusy,
    InputError,
    OutputTooLarge,
    ProbeError,
    ProvisionError,
    TransportError,
    WriteError,
)
from provisioner.events import Status
from provisioner.modules.base import (
    Blocked,
    Change,
    Comeback,
    ControllerModule,
    Converged,
    Failed,
    Module,
    Plan,
)
from provisioner.playbook.compile import HostPlan, Unit
from provisioner.playbook.schema import TaskSpec
from provisioner.playbook.task import declared_check
from provisioner.runner.batch import Prober, Probing, log_script
from provisioner.runner.comeback import Returned
from provisioner.runner.dryrun import PlannedChange, expected_from, provider, unchecked
from provisioner.runner.expect import HostExpectations, plan_digest
from provisioner.runner.gate import Gated, Moved, read
from provisioner.runner.hostlock import UPLOAD_PREFIX
from provisioner.runner.outcome import Outcome, Ran, registered
from provisioner.runner.tail import Tail
from provisioner.templating import Templar, as_data
from provisioner.transport.base import Become, Connection, Output, Result

AnyRemote = Module[Any, Any, Any]
Ahead = Callable[[], Iterable[Probing]]  # what may join a probe batch
log = logging.getLogger(__name__)


@dataclass
class Context:
    """What a unit of work may use on its host."""

    plan: HostPlan
    prober: Prober
    connection: Callable[[], Connection]
    reconnect: Callable[[], None]
    # after a change that takes the host down: wait for it on fresh connections
    comeback: Callable[[Comeback, Become | None], Returned]
    registered: dict[str, Any]
    planned: list[PlannedChange]  # the dry run's changes so far on this host, all plays
    check: bool
    # the run's own --check (`check` is a task's: `check_mode` may override it)
    dry_run: bool = False
    # registered by a hidden task: what uses them is hidden too
    secrets: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)  # names set so far (registered, barriers)
    run_id: str = ""  # in upload names: a later run removes what a lost one left (hostlock)
    # told (task, line) the last line a change command printed, as it runs (a live view)
    output: Callable[[str, str], None] | None = None
    expect: HostExpectations | None = None  # apply --plan: what the plan expects here


def run_unit(
    ctx: Context,
    unit: Unit,
    become: Become | None,
    ahead: Ahead,
    hidden: bool = False,
) -> Outcome:
    """`hidden`: the task is no_log, or uses what one registered: nothing it sends or
    gets back may show, not even in -vv logs."""
    if unit.skipped is not None or unit.module is None:
        return Outcome(Status.SKIPPED, msg=unit.skipped or "", skip_reason=unit.skipped or "")
    module = unit.module
    if isinstance(module, ControllerModule):
        return _controller(ctx, unit, module)
    assert isinstance(module, Module)
    if module.waits and ctx.check:
        why = "a dry run does not wait"
        return Outcome(Status.SKIPPED, msg=why, skip_reason=why)
    try:
        return _remote(ctx, unit, Probing(module, hidden), become, ahead)
    except CommandTimeout as exc:
        # The task's own failure; the host goes on only if it stopped the command.
        return Outcome(Status.FAILED, msg=exc.message, stop_host=not exc.stopped)
    except (BecomeError, WriteError, OutputTooLarge) as exc:  # the host answered
        return Outcome(Status.FAILED, msg=exc.message, stop_host=True)
    except HostBusy:  # the host is left alone: the runner says why, as the host lock's
        raise
    except TransportError as exc:
        return Outcome(Status.UNREACHABLE, msg=exc.message, stop_host=True)


class _Expressions:
    """A task's expressions, evaluated in its scope, errors at its location."""

    def __init__(self, scope: Templar, task: TaskSpec) -> None:
        self.scope, self.task = scope, task

    def evaluate(self, expression: str | bool) -> Any:
        return self.scope.evaluate(expression, self.task.loc)

    def truthy(self, expression: str | bool) -> bool:
        return self.scope.truthy(expression, self.task.loc)


def _controller(ctx: Context, unit: Unit, module: ControllerModule[Any]) -> Outcome:
    scope = ctx.plan.scope(unit.task, ctx.registered, unit.item, unit.index)
    try:
        verdict = module.evaluate(_Expressions(scope, unit.task))
    except ProvisionError as exc:
        return Outcome(Status.FAILED, msg=str(exc))
    status = Status.FAILED if verdict.failed else Status.CHANGED if verdict.changed else Status.OK
    return Outcome(status, msg=verdict.msg, fields=verdict.fields, effects=verdict)


def _plan(
    ctx: Context, unit: Unit, this: Probing, become: Become | None, ahead: Ahead
) -> tuple[Plan[Any], Mapping[str, Any]]:
    """The module's plan, and what it registers of the state it planned from."""
    module = this.module
    state = module.state(ctx.prober.seen(this, become, ahead, unit.task.timeout))
    return module.plan(state), module.fields(state)


def _remote(
    ctx: Context,
    unit: Unit,
    this: Probing,
    become: Become | None,
    ahead: Ahead,
) -> Outcome:
    try:
        plan, fields = _plan(ctx, unit, this, become, ahead)
    except ProbeError as exc:
        return Outcome(Status.FAILED, msg=str(exc))
    except InputError as exc:  # a template's own error, found as it is rendered
        return Outcome(Status.FAILED, msg=exc.message)
    if ctx.expect is not None and not ctx.check:
        stale = ctx.expect.stale(ctx.plan.play.display_name, unit, this.module, plan, become)
        if stale is not None:  # the host drifted: it stops here, nothing of the task runs
            return Outcome(Status.STALE, diff=stale.diff, msg=stale.msg, stop_host=True)
    decided = _decide(ctx, unit, this, plan, fields, become, ahead)
    return replace(decided, digest=plan_digest(plan))  # what a saved plan records of it


def _decide(
    ctx: Context,
    unit: Unit,
    this: Probing,
    plan: Plan[Any],
    fields: Mapping[str, Any],
    become: Become | None,
    ahead: Ahead,
) -> Outcome:
    module = this.module
    if isinstance(plan, Failed):  # in a dry run too: nothing earlier would help
        return Outcome(Status.FAILED, msg=plan.msg, fields=fields)
    if isinstance(plan, Blocked) and plan.otherwise is not None:
        if not (ctx.check and provider(plan.need, ctx.planned)):
            plan = plan.otherwise  # nothing earlier brings it: this plan, as it is
    if isinstance(plan, Blocked):
        return _blocked(ctx, unit, module, plan)
    if isinstance(plan, Converged):
        return Outcome(Status.OK, fields=fields)
    if ctx.check:
        notes = unchecked(module.judged_by(plan), ctx.planned)
        ctx.planned.append(PlannedChange(unit.task.display_name, module.provides(plan)))
        # A guarded command whose changed_when is literally false changes nothing.
        quiet = module.unprobeable and unit.task.changed_when == [False]
        status = Status.SKIPPED if quiet else Status.CHANGED
        summary = (*plan.summary, *notes)
        fields = {**fields, "check": True}
        # What it was judged by, an earlier planned change changes first: apply decides.
        return Outcome(status, summary, plan.diff, fields=fields, undecided=bool(notes))
    return _apply(ctx, unit, this, plan, become, ahead)


def _blocked(ctx: Context, unit: Unit, module: AnyRemote, blocked: Blocked) -> Outcome:
    """In a dry run, what an earlier planned change may bring is a would-change."""
    if not (ctx.check and ctx.planned):
        if blocked.otherwise_converged:
            return Outcome(Status.OK)
        return Outcome(Status.FAILED, msg=blocked.failure)
    reason = f"{blocked.what} is not there yet; {expected_from(blocked.need, ctx.planned)}"
    if blocked.detail:  # what could not be checked, and why
        reason += f"; not checked now: {blocked.detail}"
    if module.reads_only:  # it changes nothing: what it finds is known at apply
        why = f"decided at apply: {reason}"
        return Outcome(Status.OK, (why,), msg=why, undecided=True, blocked=True)
    maybe = blocked.uncertain_if
    uncertain = blocked.uncertain or (maybe is not None and provider(maybe, ctx.planned))
    if uncertain:  # what it does depends on what the earlier change brings
        reason = f"decided at apply: {reason}"
    change = blocked.change
    provides = module.provides(change) if change is not None else frozenset()
    ctx.planned.append(PlannedChange(unit.task.display_name, provides))
    summary = (*(change.summary if change else ()), f"would change: {reason}")
    diff = change.diff if change else None
    return Outcome(
        Status.CHANGED, summary, diff, msg=reason, undecided=bool(uncertain), blocked=True
    )


def _apply(
    ctx: Context,
    unit: Unit,
    this: Probing,
    change: Change[Any],
    become: Become | None,
    ahead: Ahead,
) -> Outcome:
    module = this.module
    try:
        exports = environment_of(ctx, unit)
    except ProvisionError as exc:
        return Outcome(Status.FAILED, change.summary, msg=str(exc))
    try:
        last = _run_ops(ctx, unit, this, change, become, ahead, exports)
    except Moved:  # another run changed the host since it was read: read it again, locked
        ctx.prober.invalidate()
        return _remote(ctx, unit, this, become, ahead)
    ran = Ran.of(last)
    if module.unprobeable:
        return _judge_command(ctx, unit, change, ran)
    if last.exit_code != 0:
        return Outcome(Status.FAILED, change.summary, change.diff, error_text(last), ran)
    back = module.comeback(change)
    if back is not None:
        return _come_back(ctx, change, back, become, ran)
    try:
        after, fields = _plan(ctx, unit, this, become, ahead)
    except ProvisionError as exc:
        return Outcome(Status.FAILED, change.summary, msg=f"after apply: {exc}", ran=ran)
    if isinstance(after, Blocked | Failed):
        why = after.message if isinstance(after, Blocked) else after.msg
        return Outcome(Status.FAILED, change.summary, msg=f"after apply: {why}", ran=ran)
    if isinstance(after, Change) and not after.actions_only:
        msg = "did not converge: still differs after apply: " + "; ".join(after.summary)
        return Outcome(Status.FAILED, change.summary, change.diff, msg, ran)
    if module.changes_login_groups and getattr(module.args, "name", None) == ctx.plan.login_user():
        ctx.reconnect()  # group changes reach new logins only
    return Outcome(Status.CHANGED, change.summary, change.diff, ran=ran, fields=fields)


def judged(ctx: Context, unit: Unit, outcome: Outcome) -> Outcome:
    """changed_when / failed_when on a module that is not a command (those judge its
    exit code, see _judge_command): they decide the outcome's status from its result,
    as Ansible's do; skipped and unreachable stay as they are."""
    task, module = unit.task, unit.module
    if task.changed_when is None and task.failed_when is None:
        return outcome
    if module is None or getattr(module, "unprobeable", False):
        return outcome
    if outcome.status is Status.SKIPPED or outcome.stop_host:
        return outcome
    result = registered(outcome)
    named = {task.register_as: result} if task.register_as else {}
    scope = ctx.plan.scope(task, ctx.registered, unit.item, unit.index)
    here = scope.child(as_data({**result, **named}))
    try:
        failed = outcome.failed
        if task.failed_when is not None:
            failed = all(here.truthy(c, task.loc) for c in task.failed_when)
        changed = outcome.status is Status.CHANGED
        if task.changed_when is not None:
            changed = all(here.truthy(c, task.loc) for c in task.changed_when)
    except ProvisionError as exc:
        return replace(outcome, status=Status.FAILED, msg=str(exc))
    if failed:
        first = (task.failed_when or ["failed_when"])[0]
        msg = outcome.msg if outcome.failed else f"failed_when: {first}"
        return replace(outcome, status=Status.FAILED, msg=msg)
    status = Status.CHANGED if changed else Status.OK
    return replace(outcome, status=status, msg="" if outcome.failed else outcome.msg)


def _come_back(
    ctx: Context, change: Change[Any], back: Comeback, become: Become | None, ran: Ran
) -> Outcome:
    """The change took the host down (reboot): it is done when the host is back, on a
    fresh connection, and nothing probed before it holds any more."""
    returned = ctx.comeback(back, become)
    ctx.prober.invalidate()
    fields = {"rebooted": True, "elapsed": int(returned.elapsed)}
    if returned.connection is None:
        return Outcome(Status.FAILED, change.summary, msg=returned.failure, ran=ran, fields=fields)
    return Outcome(Status.CHANGED, change.summary, ran=ran, fields=fields)


def _judge_command(ctx: Context, unit: Unit, change: Change[Any], ran: Ran) -> Outcome:
    """A command's outcome: its exit code, or what changed_when/failed_when say."""
    task = unit.task
    failed, changed = ran.rc != 0, True
    try:
        if task.failed_when is not None or task.changed_when is not None:
            so_far = registered(Outcome(Status.CHANGED, ran=ran))
            so_far["failed"] = failed
            scope = ctx.plan.scope(task, ctx.registered, unit.item, unit.index).child(
                as_data({**so_far, **({task.register_as: so_far} if task.register_as else {})})
            )
            if task.failed_when is not None:
                failed = all(scope.truthy(c, task.loc) for c in task.failed_when)
            if task.changed_when is not None:
                changed = all(scope.truthy(c, task.loc) for c in task.changed_when)
    except ProvisionError as exc:
        return Outcome(Status.FAILED, msg=str(exc), ran=ran)
    if failed:
        msg = error_text(Result(ran.rc, ran.stdout, ran.stderr))
        if ctx.dry_run and ctx.planned and declared_check(task):
            return _check_blocked(ctx.planned[-1].task, msg, ran)
        return Outcome(Status.FAILED, change.summary, msg=msg, ran=ran, show_output=True)
    status = Status.CHANGED if changed else Status.OK
    summary = change.summary if changed else ()
    return Outcome(status, summary, ran=ran, show_output=True)


def _check_blocked(by: str, msg: str, ran: Ran) -> Outcome:
    """A declared check that fails in a dry run after a change was only planned on its
    host (hello-world before Docker is installed): apply decides it, after that change."""
    why = f"decided at apply: blocked by earlier planned changes (the latest: {by}); now: {msg}"
    return Outcome(
        Status.OK, (why,), msg=why, ran=ran, show_output=True, undecided=True, blocked_by=by
    )


def environment_of(ctx: Context, unit: Unit) -> str:
    """The task's `environment`, as quoted exports before each of its commands."""
    task = unit.task
    if not task.environment:
        return ""
    scope = ctx.plan.scope(task, ctx.registered, unit.item, unit.index)
    values = scope.render(task.environment, task.loc)
    if not isinstance(values, dict):
        raise InputError("environment must be a mapping of names to values", task.loc)
    lines = []
    for name, value in values.items():
        if not str(name).isidentifier():
            raise InputError(f"environment: '{name}' is not a variable name", task.loc)
        lines.append(f"{name}={shlex.quote(str(value))}; export {name}\n")
    return "".join(lines)


def _run_ops(
    ctx: Context,
    unit: Unit,
    this: Probing,
    change: Change[Any],
    become: Become | None,
    ahead: Ahead,
    exports: str,
) -> Result:
    """The change's commands, in order until one fails. A declared check whose result
    a batch already has (nothing changed since) does not run again. The last command
    of a module that is verified carries the probes read after it: its task's and the
    look-ahead's, asked again in the same exchange."""
    module, task = this.module, unit.task
    conn = ctx.connection()
    check = declared_check(task)
    if not check:  # the host is about to change: what it read there is stale
        ctx.prober.invalidate(module.touches(change), module.probes())
    ops = module.commands(change)
    last = Result(0, "", "")
    for number, op in enumerate(ops, 1):
        script = exports + op.script
        if check and op.upload is None:
            early = ctx.prober.early(script, become)
            if early is not None:
                log.debug("%s: %s: its result from the batch", conn.host, task.display_name)
                last = early
                continue
        log_script(conn.host, task.display_name, op.script, become, this.no_log)
        if check and op.upload is None:  # it only reads: it takes no host lock
            last = read(conn, script, become, task.timeout)
        else:
            then: Iterable[Probing] = ()
            if number == len(ops) and not (check or module.comeback(change)):
                then = [this, *ahead()]
            last = run_op(
                conn,
                script,
                op.upload,
                become,
                task.timeout,
                ctx.run_id,
                then,
                ctx.prober,
                _tail(ctx, task.display_name, this.no_log),
            )
        if last.exit_code != 0:
            break
    return last


def run_op(
    conn: Connection,
    script: str,
    upload: bytes | None,
    become: Become | None,
    timeout: float | None = None,
    run_id: str = "",
    then: Iterable[Probing] = (),
    prober: Prober | None = None,
    on_output: Output | None = None,
) -> Result:
    """One command, its upload sent first; with a `prober`, the probes of `then` are read
    after it in the same exchange; `on_output` is handed its stdout as it comes."""
    if upload is not None:
        path = f"{UPLOAD_PREFIX}{run_id + '-' if run_id else ''}{uuid.uuid4().hex}"
        script = (
            f"PROVISION_SRC={path}\nexport PROVISION_SRC\n"
            f"( {script}\n)\nrc=$?\nrm -f {path}\nexit $rc\n"
        )
        if isinstance(conn, Gated):
            conn.hold(become)
        conn.put(upload, path, 0o600)
    if prober is None:
        return conn.run(script, become=become, timeout=timeout, on_output=on_output)
    return prober.after(conn, script, become, None, timeout, then, on_output)


def _tail(ctx: Context, task: str, hidden: bool) -> Tail | None:
    """What hands the command's last line on as it runs; never a hidden task's (its
    output may hold its secrets)."""
    tell = ctx.output
    if tell is None or hidden:
        return None
    return Tail(lambda line: tell(task, line))


def error_text(res: Result) -> str:
    text = (res.stderr.strip() or res.stdout.strip())[-2000:]
    return f"exit {res.exit_code}: {text}" if text else f"exit {res.exit_code}"
