"""Everything one host does in one play, on one thread: its tasks in order, then the
handlers they notified."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from provisioner.events import Event, Status, TaskStarted
from provisioner.modules.base import Module
from provisioner.playbook.compile import HostPlan, PlannedTask, Unit
from provisioner.playbook.schema import TaskSpec
from provisioner.runner.batch import Probing
from provisioner.runner.outcome import Outcome, event, registered, registered_loop
from provisioner.runner.step import Context, run_unit
from provisioner.transport.base import Become


class HostFailed(Exception):
    """Stops this host for the rest of the run (a failed task or unreachable)."""


class HostWorker:
    def __init__(
        self,
        ctx: Context,
        emit: Callable[[Event], None],
        become_password: str | None,
    ) -> None:
        self.ctx = ctx
        self.plan: HostPlan = ctx.plan
        self.emit = emit
        self.become_password = become_password
        self.notified: list[str] = []

    def become_for(self, task: TaskSpec) -> Become | None:
        play = self.plan.play
        wanted = task.become if task.become is not None else play.become
        if not wanted:
            return None
        user = task.become_user or play.become_user or "root"
        password = self.plan.host.connection.become_password or self.become_password
        return Become(user=user, password=password)

    # -- tasks ----------------------------------------------------------------
    def run_tasks(self, tasks: list[PlannedTask]) -> None:
        for index, planned in enumerate(tasks):
            self.emit_started(planned.spec)
            self.run_task(planned, tasks, index)

    def run_handlers(self) -> None:
        if not self.notified:
            return
        for planned in self.plan.handlers:
            names = {planned.spec.name, *planned.spec.listen}
            if names & set(self.notified):
                self.emit_started(planned.spec)
                self.run_task(planned, [planned], 0)

    def emit_started(self, task: TaskSpec) -> None:
        self.emit(TaskStarted(self.plan.host.name, task.display_name))

    def run_task(self, planned: PlannedTask, tasks: list[PlannedTask], index: int) -> None:
        task = planned.spec
        if not planned.prepared:
            self.plan.prepare(planned, self.ctx.registered)
        if planned.error is not None:
            self.report(task, None, Outcome(Status.FAILED, msg=str(planned.error)), task.no_log)
            if not task.ignore_errors:
                raise HostFailed(task.display_name)
            return
        become = self.become_for(task)
        hidden = self.hidden(planned)
        outcomes: list[Outcome] = []
        for unit in planned.units or []:
            outcome = run_unit(
                self.ctx, unit, become, lambda: self.ahead(tasks, index, become), hidden
            )
            self.report(task, unit, outcome, hidden)
            if outcome.stop_host:
                raise HostFailed(task.display_name)
            outcomes.append(outcome)
        if task.register_as:
            if hidden:
                self.ctx.secrets.add(task.register_as)
            single = task.loop is None and outcomes
            self.ctx.registered[task.register_as] = (
                registered(outcomes[0]) if single else registered_loop(outcomes)
            )
        if any(o.status is Status.CHANGED for o in outcomes) and task.notify:
            self.notify(task)
        if any(o.failed for o in outcomes) and not task.ignore_errors:
            raise HostFailed(task.display_name)

    def notify(self, task: TaskSpec) -> None:
        scope = self.plan.scope(task, self.ctx.registered)
        for name in task.notify:
            target = str(scope.render(name, task.loc))
            if target not in self.notified:
                self.notified.append(target)

    def hidden(self, planned: PlannedTask) -> bool:
        """no_log, or it reads a result a hidden task registered (its secrets)."""
        return planned.spec.no_log or bool(planned.uses & self.ctx.secrets)

    def report(self, task: TaskSpec, unit: Unit | None, outcome: Outcome, hidden: bool) -> None:
        ignored = task.ignore_errors and not outcome.stop_host
        self.emit(
            event(
                self.plan.host.name,
                self.plan.play.display_name,
                task,
                unit,
                outcome,
                check=self.ctx.check,
                ignored=ignored,
                hidden=hidden,
            )
        )

    def ahead(
        self, tasks: list[PlannedTask], index: int, become: Become | None
    ) -> Iterator[Probing]:
        """Modules of the tasks after `index` whose probes can go in the same batch: same
        become, prepared or preparable now, not waiting; it stops at the first that is not."""
        pending = {r for r in [tasks[index].spec.register_as] if r}
        for planned in tasks[index + 1 :]:
            if self.become_for(planned.spec) != become:
                return
            if not planned.prepared:
                if not self.plan.ready(planned, self.ctx.registered, pending):
                    return
                self.plan.prepare(planned, self.ctx.registered)
            if planned.error is not None:
                return
            units = [u for u in planned.units or [] if u.skipped is None]
            if any(u.module is not None and u.module.waits for u in units):
                return  # its probe waits: asked now, it would wait before the tasks here ran
            for unit in units:
                if isinstance(unit.module, Module):
                    yield Probing(unit.module, self.hidden(planned))
            if planned.spec.register_as:
                pending.add(planned.spec.register_as)
