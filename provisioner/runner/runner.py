"""Drives hosts and tasks: hosts in parallel, tasks in order on each host.

Each host in each play runs its HostPlan (compiled once, by `validate` or here)
in a worker thread; the runner keeps the threads, the order of plays and the
events. Connections and host locks are `connections`'.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from provisioner.errors import (
    HostBusy,
    InputError,
    ProbeError,
    TransportError,
)
from provisioner.events import (
    Event,
    HostDone,
    HostStats,
    PlayStarted,
    PlayStopped,
    RunSummary,
    Status,
    TaskOutput,
    TaskResult,
)
from provisioner.inventory import Host, Inventory
from provisioner.inventory.shard import Shard
from provisioner.playbook.compile import (
    HostPlan,
    PlanKey,
    compile_host,
    default_login_user,
    registered_names,
    select_hosts,
)
from provisioner.playbook.schema import IncludeSpec, Playbook, PlaySpec, TaskSpec, walk
from provisioner.playbook.variables import play_gathers, run_magic, uses_facts
from provisioner.runner.batch import Prober
from provisioner.runner.connections import LOCK_TASK, Connections, LockOptions
from provisioner.runner.control import Batch
from provisioner.runner.dryrun import PlannedChange
from provisioner.runner.expect import HostExpectations
from provisioner.runner.facts import gather
from provisioner.runner.serial import batch_sizes, batches, limit_exceeded
from provisioner.runner.step import Context
from provisioner.runner.worker import HostEnded, HostFailed, HostWorker, Selected
from provisioner.transport.base import Connection

log = logging.getLogger(__name__)

Connector = Callable[[Host], Connection]
Listener = Callable[[Event], None]


@dataclass
class RunOptions:
    check: bool = False
    forks: int = 20  # measured best on 2 CPUs at 50 and 200 hosts: README, Performance
    limit: str | None = None
    tags: frozenset[str] = frozenset()
    skip_tags: frozenset[str] = frozenset()
    start_at_task: str | None = None
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    become_password: str | None = field(default=None, repr=False)
    lock: bool = False  # take each SSH host's lock (runner.hostlock); the CLI always does
    wait: bool = True  # wait while another run holds a host (False: --no-wait)
    shard: Shard | None = None  # --shard K/N: this run's slice of the hosts, after --limit
    stream: bool = False  # TaskOutput events: a change command's last line as it runs
    # apply --plan: per host, what the saved plan expects of each task (runner.expect)
    expected: Mapping[str, HostExpectations] = field(default_factory=dict)


def selection_problem(playbook: Playbook, options: RunOptions) -> str | None:
    """--start-at-task or --tags that name nothing in the playbook: said, not a silent
    no-op."""
    tasks = [(t, p) for p in playbook.plays for t in walk(p.tasks)]
    start = options.start_at_task
    if start is not None and start not in {t.name for t, _ in tasks}:
        return f"--start-at-task {start!r} names no task in the playbook"
    asked = options.tags - {"all"}
    if asked:
        known = {tag for t, p in tasks for tag in (*t.tags, *p.tags)}
        if not asked & known:
            have = ", ".join(sorted(known)) if known else "none"
            return f"--tags {','.join(sorted(asked))} matches no task; the playbook's tags: {have}"
    return None


def tag_selected(task: TaskSpec | IncludeSpec, play: PlaySpec, options: RunOptions) -> bool:
    tags = {*task.tags, *play.tags}
    if options.skip_tags & tags:
        return False
    if not options.tags or "always" in tags:
        return True
    return bool(options.tags & (tags | {"all"}))


class Runner:
    def __init__(
        self,
        playbook: Playbook,
        inventory: Inventory,
        connect: Connector,
        options: RunOptions,
        listener: Listener = lambda event: None,
        login_user: Callable[[Host], str] = default_login_user,
        plans: Mapping[PlanKey, HostPlan] | None = None,
    ) -> None:
        self.playbook = playbook
        self.inventory = inventory
        self.connect = connect
        self.options = options
        self.listener = listener
        self.login_user = login_user
        self.plans = dict(plans or {})
        self.summary = RunSummary(check=options.check)
        self._registers = registered_names(playbook)
        self._lock = threading.Lock()
        self.connections = Connections(
            connect,
            playbook,
            inventory,
            LockOptions(
                options.lock,
                options.wait,
                options.check,
                options.limit,
                options.become_password,
                options.shard,
            ),
            login_user,
            self.emit,
        )
        self._registered: dict[str, dict[str, Any]] = {}
        self._facts: dict[str, dict[str, Any]] = {}  # per host, gathered once a run
        self._planned: dict[str, list[PlannedChange]] = {}  # per host, all plays (dry run)
        self._secrets: dict[str, set[str]] = {}  # per host: registered by hidden tasks
        self._included: dict[str, dict[str, Any]] = {}  # per host: include_vars, all plays
        self._done: dict[str, set[str]] = {}  # per host: names set, entries run
        self._batch = Batch("", (), ())  # the hosts running the play now
        self._dead: set[str] = set()
        self._finished: set[str] = set()  # hosts through the current play
        self._hosts_magic: dict[str, Any] = {}  # groups, hostvars, the batch: run_magic
        self._started = options.start_at_task is None
        self._interrupted = False

    # -- events -------------------------------------------------------------
    def emit(self, event: Event) -> None:
        with self._lock:
            if self._interrupted:
                return  # what workers see after Ctrl-C (connections closed under them) is noise
            if isinstance(event, TaskResult):
                self.summary.results.append(event)
                self.summary.hosts.setdefault(event.host, HostStats()).count(event)
            elif isinstance(event, PlayStopped):
                self.summary.stopped.append(event)
            self.listener(event)

    # -- the run ------------------------------------------------------------
    def run(self) -> RunSummary:
        try:
            for index, play in enumerate(self.playbook.plays):
                if not self._run_play(index, play):
                    break  # a batch failed: the playbook stops, as Ansible's does
        except KeyboardInterrupt:
            # Before the connections close: a task cut off by that is not "unreachable",
            # and the listener must still know it was running.
            with self._lock:
                self._interrupted = True
            raise
        finally:
            if not self._interrupted:  # after Ctrl-C a command may still run: see hostlock
                lost = [n for n, st in self.summary.hosts.items() if st.unreachable]
                self.connections.release(lost)
            self.connections.close_all()
        return self.summary

    def _run_play(self, index: int, play: PlaySpec) -> bool:
        """The play, batch after batch (`serial`); False: a batch failed and the
        playbook stops."""
        hosts = select_hosts(self.inventory, play, self.options.limit, self.options.shard)
        hosts = [h for h in hosts if h.name not in self._dead]
        self._finished.clear()
        for host in hosts:
            with self._lock:
                self.summary.hosts.setdefault(host.name, HostStats())
        groups = batches(hosts, batch_sizes(play, self.options.extra_vars, len(hosts)))
        if not groups:
            self.emit(PlayStarted(play.display_name, (), self.options.check))
            return True
        selected = self._tasks_to_run(play)
        gathers = play_gathers(play)  # reads files: once per play, not per host
        for number, group in enumerate(groups, 1):
            label = f"batch {number} of {len(groups)}" if play.serial is not None else ""
            names = tuple(h.name for h in group)
            self.emit(PlayStarted(play.display_name, names, self.options.check, label))
            self._batch = Batch(label, names, tuple(h.name for h in hosts))
            self._hosts_magic = run_magic(
                self.inventory, self._batch.play_hosts, names, self._facts.get
            )
            self._run_batch(index, play, group, selected, gathers)
            if self._batch.stop.play_ended and not self._batch.stop.reason:
                return True  # meta end_play: the later batches do not run
            reason = self._batch.stop.reason or self._batch_failed(play)
            if reason is not None:
                rest = [h.name for g in groups[number:] for h in g]
                left = [n for n in names if n not in self._dead and n not in self._finished]
                if left or rest or index < len(self.playbook.plays) - 1:
                    # Said only where it stopped something: hosts, batches or plays.
                    self.emit(PlayStopped(play.display_name, reason, tuple([*left, *rest])))
                return False
        return True

    def _run_batch(
        self,
        index: int,
        play: PlaySpec,
        group: list[Host],
        selected: Selected,
        gathers: bool | None,
    ) -> None:
        workers = max(1, min(self.options.forks, len(group)))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="host")
        try:
            futures = [
                pool.submit(self._run_host, index, play, host, selected, gathers) for host in group
            ]
            for future in futures:
                future.result()
        except KeyboardInterrupt:
            # Do not wait for running tasks: the caller reports them and exits.
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()

    def _batch_failed(self, play: PlaySpec) -> str | None:
        """Why the batch's failures stop the playbook (None: they do not)."""
        batch = self._batch
        failed = len(batch.failed)
        if not limit_exceeded(play, failed, len(batch.hosts)):
            return None
        which = f"{batch.label}: " if batch.label else ""
        if failed >= len(batch.hosts):
            return f"{which}every host failed"
        return (
            f"{which}{failed} of {len(batch.hosts)} hosts failed, more than"
            f" max_fail_percentage {play.max_fail_percentage:g}%"
        )

    def _host_failed(self, play: PlaySpec, host: str, task: str, fatal: bool | None) -> None:
        """A host is out of the play: any_errors_fatal, or too many failed, stop the
        batch's other hosts at their next task."""
        with self._lock:
            self._dead.add(host)
            batch = self._batch
            if host not in batch.hosts:
                return
            batch.failed.add(host)
        if fatal if fatal is not None else play.any_errors_fatal:
            batch.stop.fail(f"any_errors_fatal: {host} failed '{task}'")
        elif len(batch.failed) < len(batch.hosts):
            reason = self._batch_failed(play)
            if reason is not None:
                batch.stop.fail(reason)

    def _tasks_to_run(self, play: PlaySpec) -> Selected:
        """Which tasks run (--tags, --skip-tags, --start-at-task): the play's tasks known
        at load are decided here, in order; what an include brings, by its tags."""
        chosen: set[int] = set()
        known: set[int] = set()
        for task in walk(play.tasks):
            known.add(id(task))
            if not self._started and task.name == self.options.start_at_task:
                self._started = True
            if self._started and tag_selected(task, play, self.options):
                chosen.add(id(task))
        started = self._started

        def selected(task: TaskSpec | IncludeSpec) -> bool:
            if id(task) in known:
                return id(task) in chosen
            return started and tag_selected(task, play, self.options)

        return selected

    def _connection(self, host: Host) -> Connection:
        return self.connections.get(host)

    def _gather_facts(self, host: Host, play: PlaySpec) -> dict[str, Any] | None:
        """The host's facts as variables; None (reported, host stopped) when they cannot be
        had."""
        if host.name in self._facts:
            return self._facts[host.name]
        task = "Gathering facts"
        try:
            found = gather(self._connection(host))
        except HostBusy:
            raise
        except TransportError as exc:
            self._unreachable(host, play, task, exc.message)
            return None
        except ProbeError as exc:
            self._fail_host(host, play, task, str(exc))
            return None
        self._facts[host.name] = found.variables()
        return self._facts[host.name]

    def _host_plan(
        self, index: int, play: PlaySpec, host: Host, facts: Mapping[str, Any] | None
    ) -> HostPlan | None:
        """The host's plan for this play, facts bound (None: reported, host stopped)."""
        # validate's plan saw the whole play as one batch: with serial, plan it again
        plan = self.plans.get((index, host.name)) if play.serial is None else None
        try:
            if plan is None:
                plan = compile_host(
                    play,
                    host,
                    self.options.extra_vars,
                    login_user=self.login_user,
                    check=self.options.check,
                    registers=self._registers,
                    facts=facts if facts is not None else {},
                    hosts_magic=self._hosts_magic,
                )
            else:
                plan.bind_hosts(self._hosts_magic)
                if facts is not None:
                    plan.bind_facts(facts)
        except InputError as exc:
            self._fail_host(host, play, "variables", str(exc))
            return None
        return plan

    def _run_host(
        self, index: int, play: PlaySpec, host: Host, selected: Selected, gathers: bool | None
    ) -> None:
        """`gathers`: play_gathers(play); None leaves it to the host's variables."""
        if gathers is None:  # up to the host's variables
            gathers = uses_facts([host.vars, self.options.extra_vars])
        self.connections.lock(host)
        try:
            self._run_locked(index, play, host, selected, gathers)
        except HostBusy as exc:  # another run holds it, or took it while this one was away
            self._fail_host(host, play, LOCK_TASK, exc.message)
        if index == self.connections.last_play(host) and not self._interrupted:
            stats = self.summary.hosts.get(host.name)
            self.connections.finish(host, lost=stats is not None and stats.unreachable)
        self.emit(HostDone(host.name))

    def _run_locked(
        self, index: int, play: PlaySpec, host: Host, selected: Selected, gathers: bool
    ) -> None:
        facts = None
        if gathers:
            facts = self._gather_facts(host, play)
            if facts is None:
                return
        plan = self._host_plan(index, play, host, facts)
        if plan is None:
            return
        plan.included = self._included.setdefault(host.name, {})
        expect = self.options.expected.get(host.name)
        ctx = Context(
            plan=plan,
            prober=Prober(lambda: self._connection(host), expect.pristine if expect else None),
            connection=lambda: self._connection(host),
            reconnect=lambda: self.connections.reconnect(host),
            comeback=lambda back, become: self.connections.comeback(host, back, become),
            registered=self._registered.setdefault(host.name, {}),
            planned=self._planned.setdefault(host.name, []),
            check=self.options.check,
            dry_run=self.options.check,
            secrets=self._secrets.setdefault(host.name, set()),
            run_id=self.connections.run_id.id,
            done=self._done.setdefault(host.name, set()),
            output=self._output(host.name) if self.options.stream else None,
            expect=expect,
        )
        batch = self._batch
        worker = HostWorker(
            ctx, self.emit, self.options.become_password, selected, batch.stop, batch.once
        )
        try:
            worker.run_tasks(plan.tasks)
            worker.run_handlers()
            with self._lock:
                self._finished.add(host.name)
        except HostEnded:
            pass
        except HostFailed as exc:
            if exc.stale:  # out of the run, but no failure the other hosts answer for
                with self._lock:
                    self._dead.add(host.name)
            else:
                self._host_failed(play, host.name, str(exc), exc.fatal)
        finally:
            worker.close()

    def _output(self, host: str) -> Callable[[str, str], None]:
        return lambda task, line: self.emit(TaskOutput(host, task, line))

    def _fail_host(self, host: Host, play: PlaySpec, task: str, msg: str) -> None:
        self.emit(TaskResult(host.name, play.display_name, task, "-", Status.FAILED, msg=msg))
        self._host_failed(play, host.name, task, None)

    def _unreachable(self, host: Host, play: PlaySpec, task: str, msg: str) -> None:
        self.emit(TaskResult(host.name, play.display_name, task, "-", Status.UNREACHABLE, msg=msg))
        self._host_failed(play, host.name, task, None)
