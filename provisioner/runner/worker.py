"""Everything one host does in one play, on one thread: its tasks in order (blocks with
their rescue and always, includes decided at their turn), then the handlers they
notified."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from typing import Any

from provisioner.errors import InputError, ProvisionError
from provisioner.events import Event, Status, TaskResult, TaskStarted
from provisioner.modules.base import Module
from provisioner.playbook.compile import (
    HostPlan,
    Planned,
    PlannedBlock,
    PlannedInclude,
    PlannedTask,
    Unit,
    sets_of,
)
from provisioner.playbook.schema import IncludeSpec, TaskSpec
from provisioner.playbook.task import declared_check, module_class
from provisioner.playbook.variables import RESCUE_MAGIC
from provisioner.probes.base import Probe
from provisioner.runner.batch import Early, Prober, Probing
from provisioner.runner.control import LOCAL_NAMES, Once, Shared, Stop
from provisioner.runner.include import expand, include_uses
from provisioner.runner.outcome import Outcome, event, registered, registered_loop
from provisioner.runner.step import Context, environment_of, judged, run_unit
from provisioner.templating import Data, as_data
from provisioner.transport.base import Become
from provisioner.transport.local import LocalConnection

Selected = Callable[[TaskSpec | IncludeSpec], bool]
Absent = object()  # not a registered value


def not_batched(task: TaskSpec) -> bool:
    """Probed on its own: it runs elsewhere (delegate_to) or maybe not here (run_once)."""
    return task.delegate_to is not None or task.run_once


def reads_only(task: TaskSpec) -> bool:
    cls = module_class(task.module)
    return cls.reads_only or (cls.runs_on_controller and cls.supported)


def task_sets(task: TaskSpec | IncludeSpec) -> frozenset[str]:
    return sets_of(task) if isinstance(task, TaskSpec) else frozenset()


class HostFailed(Exception):
    """Stops this host for the rest of the run (a failed task or unreachable)."""

    def __init__(
        self, task: str, unreachable: bool = False, result: Any = None, stale: bool = False
    ) -> None:
        super().__init__(task)
        self.unreachable = unreachable
        self.stale = stale  # apply --plan: the host drifted since the plan; nothing failed
        self.result = result
        self.fatal: bool | None = None  # the failed task's any_errors_fatal (None: the play's)


class HostEnded(Exception):
    """meta end_host / end_play: this host's play ends here, nothing failed."""


class HostWorker:
    def __init__(
        self,
        ctx: Context,
        emit: Callable[[Event], None],
        become_password: str | None,
        selected: Selected = lambda task: True,
        stop: Stop | None = None,
        once: Once | None = None,
    ) -> None:
        self.ctx = ctx
        self.plan: HostPlan = ctx.plan
        self.emit = emit
        self.become_password = become_password
        self.selected = selected
        self.stop = stop or Stop()  # shared by the batch's hosts
        self.once = once or Once()
        self.local: LocalConnection | None = None  # for tasks delegated to the controller
        self.notified: list[str] = []
        self.rescuable = 0  # inside how many blocks that have a rescue
        # In a dry run: names whose value an earlier would-change task decides at apply.
        self.uncertain: dict[str, str] = {}

    def become_for(self, task: TaskSpec) -> Become | None:
        play = self.plan.play
        wanted = task.become if task.become is not None else play.become
        if not wanted:
            return None
        user = task.become_user or play.become_user or "root"
        password = self.plan.host.connection.become_password or self.become_password
        return Become(user=user, password=password)

    # -- tasks ----------------------------------------------------------------
    def run_tasks(self, entries: list[Planned]) -> None:
        for index, entry in enumerate(entries):
            if self.stop.now.is_set():
                raise HostEnded("end_play")
            if isinstance(entry, PlannedBlock):
                self.run_block(entry)
            elif isinstance(entry, PlannedInclude):
                self.run_include(entry)
            elif entry.spec.implicit or self.selected(entry.spec):
                if not (entry.spec.implicit or module_class(entry.spec.module).silent):
                    self.emit_started(entry.spec)
                self.run_marked(entry, entries, index)
            self.ctx.done |= entry.sets if isinstance(entry, PlannedTask) else set()

    def run_marked(self, planned: PlannedTask, tasks: list[Planned], index: int) -> None:
        """A task whose failure says whether it is fatal to the batch (any_errors_fatal)."""
        try:
            if planned.spec.run_once:
                self.run_once(planned, tasks, index)
            else:
                self.run_task(planned, tasks, index)
        except HostFailed as exc:
            if exc.fatal is None:
                exc.fatal = planned.spec.any_errors_fatal
            raise

    def run_once(self, planned: PlannedTask, tasks: list[Planned], index: int) -> None:
        """The first host of the batch to get here runs it; the others take its result."""
        key = f"{planned.spec.loc}:{planned.spec.display_name}"
        if not self.once.claim(key):
            self.take_shared(planned, self.once.wait(key, self.stop))
            return
        before = dict(self.ctx.registered)
        shared = Shared(self.plan.host.name, {}, failed=True, msg="it did not finish")
        try:
            self.run_task(planned, tasks, index)
            shared.failed = False
        except HostFailed as exc:
            shared.msg = str((exc.result or {}).get("msg") or "it failed")
            raise
        finally:
            shared.names = {
                k: v for k, v in self.ctx.registered.items() if before.get(k, Absent) is not v
            }
            self.once.publish(key, shared)

    def take_shared(self, planned: PlannedTask, shared: Shared | None) -> None:
        if shared is None:
            raise HostEnded("end_play")
        self.ctx.registered.update(shared.names)
        if shared.failed and not self.ignores(planned.spec):
            msg = f"run_once: the task failed on {shared.host} ({shared.msg})"
            self.report(planned.spec, None, Outcome(Status.FAILED, msg=msg), False, False)
            raise HostFailed(planned.spec.display_name, result={"msg": msg})

    def run_block(self, block: PlannedBlock) -> None:
        """A failure in `block` runs `rescue`, and the host goes on if that succeeds;
        `always` runs in every case but an unreachable host."""
        failure: HostFailed | None = None
        self.rescuable += 1 if block.rescue else 0
        try:
            self.run_tasks(block.block)
        except HostFailed as exc:
            failure = exc
        finally:
            self.rescuable -= 1 if block.rescue else 0
        if failure is not None and block.rescue and not failure.unreachable:
            failed_task, failed_result = RESCUE_MAGIC
            self.ctx.registered[failed_task] = {"name": str(failure)}
            self.ctx.registered[failed_result] = failure.result or {}
            try:
                self.run_tasks(block.rescue)
                failure = None
            except HostFailed as exc:
                failure = exc
        if failure is None or not failure.unreachable:
            self.run_tasks(block.always)
        if failure is not None:
            raise failure

    def run_include(self, include: PlannedInclude) -> None:
        spec = include.spec
        try:
            if not self.selected(spec):
                return
            self.emit(TaskStarted(self.plan.host.name, spec.display_name))
            if self.decided_at_apply(spec, include_uses(self.plan, include, self.ctx.registered)):
                return
            found = expand(self.plan, include, self.ctx.registered)
            status = Status.OK if found.entries is not None else Status.SKIPPED
            if found.error is not None:
                status = Status.FAILED
            self.emit(self._include_result(spec.display_name, status, found.msg, spec))
            if found.error is not None:
                raise HostFailed(spec.display_name, result={"msg": found.msg})
            if found.entries is not None:
                self.run_tasks(found.entries)
        finally:
            self.ctx.done.add(include.barrier)

    def _include_result(self, name: str, status: Status, msg: str, spec: Any) -> TaskResult:
        kind = f"include_{spec.kind}"
        return TaskResult(
            self.plan.host.name,
            self.plan.play.display_name,
            name,
            kind,
            status,
            msg=msg,
            where=str(spec.loc),
            check=self.ctx.check,
            handler=spec.is_handler,
        )

    def run_handlers(self) -> None:
        """The handlers notified so far, in the order they are written; then none is."""
        if not self.notified:
            return
        notified, self.notified = set(self.notified), []
        for planned in self.plan.handlers:
            names = {planned.spec.name, *planned.spec.listen}
            if names & notified:
                self.emit_started(planned.spec)
                self.run_marked(planned, [planned], 0)

    def emit_started(self, task: TaskSpec) -> None:
        self.emit(TaskStarted(self.plan.host.name, task.display_name))

    def run_task(self, planned: PlannedTask, tasks: list[Planned], index: int) -> None:
        task = planned.spec
        if not planned.prepared:
            self.plan.prepare(planned, self.ctx.registered)
        ignored = self.ignores(task)
        if planned.error is not None and self.decided_at_apply(task, planned.uses):
            return
        if planned.error is not None:
            outcome = Outcome(Status.FAILED, msg=str(planned.error))
            self.report(task, None, outcome, task.no_log, ignored)
            if not ignored:
                raise HostFailed(task.display_name, result=registered(outcome))
            return
        ctx = self.ctx if task.check_mode is None else replace(self.ctx, check=task.check_mode)
        try:
            ctx = self.delegated(task, ctx)
        except ProvisionError as exc:
            self.report(task, None, Outcome(Status.FAILED, msg=str(exc)), task.no_log, ignored)
            if not ignored:
                raise HostFailed(task.display_name, result={"msg": str(exc)}) from None
            return
        become = self.become_for(task)
        hidden = self.hidden(planned)
        outcomes: list[Outcome] = []
        for number, unit in enumerate(planned.units or []):
            if number and task.loop_control.pause:
                time.sleep(task.loop_control.pause)
            ahead = partial(self.ahead, tasks, index, become)
            outcome = self.attempts(ctx, unit, partial(run_unit, ctx, unit, become, ahead, hidden))
            outcome = judged(ctx, unit, outcome)
            self.report(task, unit, outcome, hidden, ignored)
            if outcome.stop_host:
                stale = outcome.status is Status.STALE
                raise HostFailed(task.display_name, unreachable=True, stale=stale)
            outcomes.append(outcome)
            self.carry_out(unit, outcome)
        self.after(task, outcomes, hidden, ignored)
        # a blocked check (check_mode: false) is undecided too: what it registers is known
        # only at apply
        if any((ctx.check and o.status is Status.CHANGED) or o.undecided for o in outcomes):
            self.mark_uncertain(planned)

    def delegated(self, task: TaskSpec, ctx: Context) -> Context:
        """The context of a task with `delegate_to`: the controller's connection for
        localhost, the host's own for its own name; other hosts are not supported yet."""
        if task.delegate_to is None:
            return ctx
        host = self.plan.host.name
        target = str(self.plan.scope(task, self.ctx.registered).render(task.delegate_to, task.loc))
        if target.strip() == host:
            return ctx
        if target.strip() not in LOCAL_NAMES:
            raise InputError(
                f"delegate_to '{target}': only the controller (localhost) is supported yet"
                f" (the task would run on {host})",
                task.loc,
            )
        if self.local is None:
            self.local = LocalConnection("localhost")
        local = self.local
        return replace(
            ctx, connection=lambda: local, prober=Prober(lambda: local), reconnect=lambda: None
        )

    def close(self) -> None:
        if self.local is not None:
            self.local.close()

    def mark_uncertain(self, planned: PlannedTask) -> None:
        """What a would-change task sets is known only at apply (facts too, if it sets
        them)."""
        names = set(planned.sets)
        if module_class(planned.spec.module).sets_facts:
            names.add("ansible_facts")
        for name in names:
            self.uncertain.setdefault(name, planned.spec.display_name)

    def decided_at_apply(self, task: TaskSpec | IncludeSpec, uses: frozenset[str]) -> bool:
        """In a dry run, a task or include that reads what an earlier would-change task
        decides is reported as decided at apply, not guessed (nor failed)."""
        read = sorted(uses & set(self.uncertain))
        if not (self.ctx.check and read):
            return False
        why = f"decided at apply: it reads {read[0]}, which '{self.uncertain[read[0]]}' decides"
        if isinstance(task, IncludeSpec):
            why = f"would include {task.target} ({why})"
            result = self._include_result(task.display_name, Status.OK, why, task)
            self.emit(replace(result, undecided=True))
            return True
        # A task that cannot change the host is ok whatever it finds; any other may change.
        status = Status.OK if reads_only(task) else Status.CHANGED
        outcome = Outcome(status, (why,), msg=why, undecided=True)
        self.report(task, None, outcome, task.no_log, False)
        self.uncertain |= {n: self.uncertain[read[0]] for n in task_sets(task)}
        return True

    def attempts(self, ctx: Context, unit: Unit, once: Callable[[], Outcome]) -> Outcome:
        """`until`: run again, `delay` seconds apart, until it holds or `retries` more
        attempts were made (Ansible's count); a dry run of a command cannot tell."""
        task = unit.task
        outcome = once()
        if task.until is None or unit.module is None or (ctx.check and unit.module.unprobeable):
            return outcome
        scope = self.plan.scope(task, self.ctx.registered, unit.item, unit.index)
        try:
            retries = int(scope.render(task.retries, task.loc))
            delay = float(scope.render(task.delay, task.loc))
            attempt = 1
            while True:
                result = registered(outcome)
                named = {task.register_as: result} if task.register_as else {}
                here = scope.child(as_data({**result, **named}))
                if all(here.truthy(c, task.loc) for c in task.until) and not outcome.stop_host:
                    return replace(outcome, fields={**outcome.fields, "attempts": attempt})
                if attempt > retries or outcome.stop_host:
                    msg = f"still not true after {attempt} attempt(s): {task.until[0]}"
                    fields = {**outcome.fields, "attempts": attempt}
                    return replace(outcome, status=Status.FAILED, msg=msg, fields=fields)
                time.sleep(delay)
                ctx.prober.invalidate()  # the host may have changed meanwhile
                attempt += 1
                outcome = once()
        except (ProvisionError, ValueError) as exc:
            return Outcome(Status.FAILED, msg=f"until: {exc}")

    def after(self, task: TaskSpec, outcomes: list[Outcome], hidden: bool, ignored: bool) -> None:
        """What a task's outcomes leave: its registered result, the handlers it notifies,
        the host stopped when it failed."""
        result: dict[str, Any] = {}
        if outcomes:
            single = task.loop is None
            result = registered(outcomes[0]) if single else registered_loop(outcomes)
        if task.register_as:
            if hidden:
                self.ctx.secrets.add(task.register_as)
            self.ctx.registered[task.register_as] = result
        if any(o.status is Status.CHANGED for o in outcomes) and task.notify:
            self.notify(task)
        if any(o.failed for o in outcomes) and not ignored:
            raise HostFailed(task.display_name, result=result)

    def carry_out(self, unit: Unit, outcome: Outcome) -> None:
        """What a unit's module asks of the run: variables set, facts, meta's actions."""
        effects = outcome.effects
        facts = outcome.fields.get("ansible_facts")
        module = unit.module
        if module is not None and module.sets_facts and isinstance(facts, dict):
            self.add_facts(facts)
        if effects is None or outcome.failed:
            return
        self.ctx.registered.update(effects.sets)
        self.plan.included.update(effects.loads)
        if effects.control is not None:
            self.meta(effects.control)

    def add_facts(self, facts: dict[str, Any]) -> None:
        """Facts a module found (getent, service_facts) join the host's: in
        `ansible_facts` and as top-level names, as Ansible injects them."""
        current = dict(self.plan.facts or {})
        known = current.get("ansible_facts")
        inner = {k.removeprefix("ansible_"): v for k, v in facts.items()}
        merged = {**(known.value if isinstance(known, Data) else known or {}), **inner}
        self.plan.bind_facts({**current, **facts, "ansible_facts": merged})

    def meta(self, action: str) -> None:
        if action == "flush_handlers":
            self.run_handlers()
        elif action == "reset_connection":
            self.ctx.reconnect()
        elif action == "clear_facts":
            self.plan.bind_facts({})
        elif action == "end_host":
            raise HostEnded(action)
        elif action in ("end_play", "end_batch"):
            self.stop.end(play=action == "end_play")
            raise HostEnded(action)
        # noop, clear_host_errors, refresh_inventory: nothing to do here

    def notify(self, task: TaskSpec) -> None:
        scope = self.plan.scope(task, self.ctx.registered)
        for name in task.notify:
            target = str(scope.render(name, task.loc))
            if target not in self.notified:
                self.notified.append(target)

    def ignores(self, task: TaskSpec) -> bool:
        """`ignore_errors`, which roles also write as a template (`{{ ansible_check_mode }}`)."""
        if isinstance(task.ignore_errors, bool):
            return task.ignore_errors
        try:
            return self.plan.scope(task, self.ctx.registered).truthy(task.ignore_errors, task.loc)
        except ProvisionError:  # a broken template: the task's own failure says more
            return False

    def hidden(self, planned: PlannedTask) -> bool:
        """no_log, or it reads a result a hidden task registered (its secrets)."""
        return planned.spec.no_log or bool(planned.uses & self.ctx.secrets)

    def report(
        self, task: TaskSpec, unit: Unit | None, outcome: Outcome, hidden: bool, ignored: bool
    ) -> None:
        if task.implicit or (unit is not None and unit.module is not None and unit.module.silent):
            return
        self.emit(
            event(
                self.plan.host.name,
                self.plan.play.display_name,
                task,
                unit,
                outcome,
                check=self.ctx.check if task.check_mode is None else task.check_mode,
                ignored=ignored and not outcome.stop_host,
                hidden=hidden,
                rescued=self.rescuable > 0 and not outcome.stop_host,
            )
        )

    def ahead(self, tasks: list[Planned], index: int, become: Become | None) -> Iterator[Probing]:
        """Modules of the tasks after `index` whose probes can go in the same batch: same
        become, prepared or preparable now; it stops at the first that is not."""
        first = tasks[index]
        if isinstance(first, PlannedTask) and not_batched(first.spec):
            return
        pending = set(first.sets) if isinstance(first, PlannedTask) else set()
        known = set(self.ctx.registered) | self.ctx.done
        for planned in tasks[index + 1 :]:
            if not isinstance(planned, PlannedTask):
                return
            if planned.spec.check_mode is not None and not declared_check(planned.spec):
                return  # it may really change the host in a dry run: probe after it
            if not_batched(planned.spec):
                return
            if self.become_for(planned.spec) != become:
                return
            if not planned.prepared:
                if not self.plan.ready(planned, known, pending):
                    return
                self.plan.prepare(planned, self.ctx.registered)
            if planned.error is not None:
                return
            units = [u for u in planned.units or [] if u.skipped is None]
            if any(u.module is not None and u.module.waits for u in units):
                return  # its probe waits: asked now, it would wait before the tasks here ran
            for unit in units:
                if isinstance(unit.module, Module):
                    yield Probing(unit.module, self.hidden(planned), self.early(planned, unit))
            pending |= planned.sets

    def early(self, planned: PlannedTask, unit: Unit) -> tuple[Probe[Any], ...]:
        """A declared check's command, to run in the batch before its turn: its result
        stands while nothing changes on the host before then (step._run_ops). Once
        something changed, it runs at its turn only: a check may be costly."""
        task, module = planned.spec, unit.module
        if self.ctx.prober.changed:
            return ()
        if not isinstance(module, Module) or not declared_check(task) or task.timeout or task.until:
            return ()
        script = module.unguarded()
        if script is None:
            return ()
        try:
            return (Early(environment_of(self.ctx, unit) + script),)
        except ProvisionError:  # its own turn says what is wrong
            return ()
