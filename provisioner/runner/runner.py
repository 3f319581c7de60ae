"""Drives hosts and tasks: hosts in parallel, tasks in order on each host.

Each host in each play runs its HostPlan (compiled once, by `validate` or here)
in a worker thread; the runner keeps the threads, the connections, the order
of plays and the events.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from provisioner.errors import (
    BecomeError,
    HostBusy,
    InputError,
    ProbeError,
    ProvisionError,
    TransportError,
)
from provisioner.events import (
    Event,
    HostNote,
    HostStats,
    PlayStarted,
    RunSummary,
    Status,
    TaskResult,
)
from provisioner.inventory import Host, Inventory
from provisioner.playbook.compile import (
    HostPlan,
    PlanKey,
    compile_host,
    default_login_user,
    registered_names,
    select_hosts,
)
from provisioner.playbook.schema import Playbook, PlaySpec, TaskSpec
from provisioner.playbook.variables import play_gathers, uses_facts
from provisioner.runner import hostlock
from provisioner.runner.batch import Prober
from provisioner.runner.dryrun import PlannedChange
from provisioner.runner.facts import gather
from provisioner.runner.step import Context
from provisioner.runner.worker import HostFailed, HostWorker
from provisioner.transport.base import Become, Connection, Reopening

log = logging.getLogger(__name__)

Connector = Callable[[Host], Connection]
Listener = Callable[[Event], None]


@dataclass
class RunOptions:
    check: bool = False
    forks: int = 10
    limit: str | None = None
    tags: frozenset[str] = frozenset()
    skip_tags: frozenset[str] = frozenset()
    start_at_task: str | None = None
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    become_password: str | None = field(default=None, repr=False)
    lock: bool = False  # take each SSH host's lock (runner.hostlock); the CLI always does
    wait: bool = True  # wait while another run holds a host (False: --no-wait)


def selection_problem(playbook: Playbook, options: RunOptions) -> str | None:
    """--start-at-task or --tags that name nothing in the playbook: said, not a silent
    no-op."""
    tasks = [(t, p) for p in playbook.plays for t in p.tasks]
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


def tag_selected(task: TaskSpec, play: PlaySpec, options: RunOptions) -> bool:
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
        self._connections: dict[str, Connection] = {}
        self._registered: dict[str, dict[str, Any]] = {}
        self._facts: dict[str, dict[str, Any]] = {}  # per host, gathered once a run
        self._planned: dict[str, list[PlannedChange]] = {}  # per host, all plays (dry run)
        self._secrets: dict[str, set[str]] = {}  # per host: registered by hidden tasks
        self._dead: set[str] = set()
        self._started = options.start_at_task is None
        self._interrupted = False
        self._run_id = hostlock.RunId.new()
        self._locks: dict[str, int] = {}  # host → its connection's generation when locked

    # -- events -------------------------------------------------------------
    def emit(self, event: Event) -> None:
        with self._lock:
            if self._interrupted:
                return  # what workers see after Ctrl-C (connections closed under them) is noise
            if isinstance(event, TaskResult):
                self.summary.results.append(event)
                self.summary.hosts.setdefault(event.host, HostStats()).count(event)
            self.listener(event)

    # -- the run ------------------------------------------------------------
    def run(self) -> RunSummary:
        try:
            for index, play in enumerate(self.playbook.plays):
                self._run_play(index, play)
        except KeyboardInterrupt:
            # Before the connections close: a task cut off by that is not "unreachable",
            # and the listener must still know it was running.
            with self._lock:
                self._interrupted = True
            raise
        finally:
            if not self._interrupted:  # after Ctrl-C a command may still run: see hostlock
                self._release_locks()
            for conn in self._connections.values():
                try:
                    conn.close()
                except Exception:  # closing is best effort
                    log.debug("closing %s failed", conn.host, exc_info=True)
        return self.summary

    def _run_play(self, index: int, play: PlaySpec) -> None:
        hosts = select_hosts(self.inventory, play, self.options.limit)
        hosts = [h for h in hosts if h.name not in self._dead]
        for host in hosts:
            with self._lock:
                self.summary.hosts.setdefault(host.name, HostStats())
        self.emit(PlayStarted(play.display_name, tuple(h.name for h in hosts), self.options.check))
        if not hosts:
            return
        selected = self._tasks_to_run(play)
        gathers = play_gathers(play)  # reads files: once per play, not per host
        workers = max(1, min(self.options.forks, len(hosts)))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="host")
        try:
            futures = [
                pool.submit(self._run_host, index, play, host, selected, gathers) for host in hosts
            ]
            for future in futures:
                future.result()
        except KeyboardInterrupt:
            # Do not wait for running tasks: the caller reports them and exits.
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()

    def _tasks_to_run(self, play: PlaySpec) -> list[int]:
        out = []
        for i, task in enumerate(play.tasks):
            if not self._started and task.name == self.options.start_at_task:
                self._started = True
            if self._started and tag_selected(task, play, self.options):
                out.append(i)
        return out

    def _connection(self, host: Host) -> Connection:
        conn = self._connections.get(host.name)
        if conn is None:
            conn = self.connect(host)
            with self._lock:
                self._connections[host.name] = conn
        elif host.name in self._locks and _generation(conn) != self._locks[host.name]:
            self._relock(host, conn)
        return conn

    # -- the host lock (see hostlock) ------------------------------------------
    def _lock_plan(self, host: Host) -> tuple[bool, Become | None]:
        """Whether this run locks the host, and through which sudo. The lock is under /run,
        so it is taken as root: a run that never becomes root there, logged in as another
        user, can change only what that user may, and takes none."""
        if not self.options.lock or host.connection.connection == "local":
            return False, None
        plays = [
            play
            for play in self.playbook.plays
            if host.name in {h.name for h in select_hosts(self.inventory, play, self.options.limit)}
        ]
        if any(_becomes(play) for play in plays):
            password = host.connection.become_password or self.options.become_password
            return True, Become("root", password)
        try:
            return self.login_user(host) == "root", None
        except InputError:  # an ssh config it cannot read: connecting says so
            return False, None

    def _take_lock(self, host: Host, play: PlaySpec) -> bool:
        """The host's lock, in this run's first exchange with it; False when it could not
        be had (reported, host stopped)."""
        wanted, become = self._lock_plan(host)
        if host.name in self._locks or not wanted:
            return True

        def waiting(other: hostlock.Holder) -> None:
            text = f"waiting: {other.describe()} holds this host ({hostlock.LOCK_DIR})"
            self.emit(HostNote(host.name, text))

        conn = self._connection(host)
        try:
            answer = hostlock.acquire(
                conn,
                self._run_id,
                become=become,
                check=self.options.check,
                wait=self.options.wait,
                waiting=waiting,
            )
        except (HostBusy, BecomeError) as exc:  # the host answered: not now, or not as root
            self._fail_host(host, play, LOCK_TASK, exc.message)
            return False
        except TransportError as exc:
            self._unreachable(host, play, "Connecting", exc.message)
            return False
        except ProbeError as exc:
            self._fail_host(host, play, LOCK_TASK, str(exc))
            return False
        if answer.stale and answer.other is not None:
            gone = f"took over a stale lock: {answer.other.describe()} is gone from this host"
            if answer.leftovers:
                gone += f"; removed the {len(answer.leftovers)} upload(s) it left in /tmp"
            self.emit(HostNote(host.name, gone))
        self._locks[host.name] = _generation(conn)
        return True

    def _relock(self, host: Host, conn: Connection) -> None:
        """The connection was lost and opened again (a reboot also clears /run): hold the
        lock again before going on. HostBusy when another run took it meanwhile."""
        self._locks[host.name] = _generation(conn)
        _, become = self._lock_plan(host)
        try:
            hostlock.acquire(
                conn,
                self._run_id,
                become=become,
                check=self.options.check,
                wait=False,
                waiting=_no_note,
            )
        except HostBusy as exc:
            lost = "another run took this host while this run's connection to it was lost"
            raise HostBusy(host.name, f"{lost}: {exc.message}") from None

    def _reconnect(self, host: Host) -> None:
        """A new login (the login user's groups changed). A lock goes to the new
        connection before the old one closes, so it never lacks a live holder."""
        old = self._connections.get(host.name)
        if old is None:
            return
        if host.name in self._locks and not self.options.check:
            new = self.connect(host)
            _, become = self._lock_plan(host)
            try:
                hostlock.acquire(
                    new, self._run_id, become=become, check=False, wait=False, waiting=_no_note
                )
            except BaseException:
                new.close()
                raise
            with self._lock:
                self._connections[host.name] = new
            self._locks[host.name] = _generation(new)
        old.close()

    def _release_locks(self) -> None:
        """Give back the locks, but not of a host lost during a command (it may still run
        there): that lock goes stale by itself once nothing of this run runs there."""
        for name in self._locks:
            conn = self._connections.get(name)
            stats = self.summary.hosts.get(name)
            if self.options.check or conn is None or (stats is not None and stats.unreachable):
                continue
            _, become = self._lock_plan(self.inventory.hosts[name])
            try:
                hostlock.ask(conn, self._run_id, "release", become)
            except ProvisionError:  # it goes stale when the connection closes
                log.debug("releasing the lock on %s failed", name, exc_info=True)

    def _gather_facts(self, host: Host, play: PlaySpec) -> dict[str, Any] | None:
        """The host's facts as variables; None (reported, host stopped) when they cannot be
        had."""
        if host.name in self._facts:
            return self._facts[host.name]
        task = "Gathering facts"
        try:
            found = gather(self._connection(host))
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
        plan = self.plans.get((index, host.name))
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
                )
            elif facts is not None:
                plan.bind_facts(facts)
        except InputError as exc:
            self._fail_host(host, play, "variables", str(exc))
            return None
        return plan

    def _run_host(
        self, index: int, play: PlaySpec, host: Host, selected: list[int], gathers: bool | None
    ) -> None:
        """`gathers`: play_gathers(play); None leaves it to the host's variables."""
        if gathers is None:  # up to the host's variables
            gathers = uses_facts([host.vars, self.options.extra_vars])
        if not self._take_lock(host, play):
            return
        facts = None
        if gathers:
            facts = self._gather_facts(host, play)
            if facts is None:
                return
        plan = self._host_plan(index, play, host, facts)
        if plan is None:
            return
        ctx = Context(
            plan=plan,
            prober=Prober(lambda: self._connection(host)),
            connection=lambda: self._connection(host),
            reconnect=lambda: self._reconnect(host),
            registered=self._registered.setdefault(host.name, {}),
            planned=self._planned.setdefault(host.name, []),
            check=self.options.check,
            secrets=self._secrets.setdefault(host.name, set()),
            run_id=self._run_id.id,
        )
        worker = HostWorker(ctx, self.emit, self.options.become_password)
        try:
            worker.run_tasks([plan.tasks[i] for i in selected])
            worker.run_handlers()
        except HostFailed:
            with self._lock:
                self._dead.add(host.name)

    def _fail_host(self, host: Host, play: PlaySpec, task: str, msg: str) -> None:
        self.emit(TaskResult(host.name, play.display_name, task, "-", Status.FAILED, msg=msg))
        with self._lock:
            self._dead.add(host.name)

    def _unreachable(self, host: Host, play: PlaySpec, task: str, msg: str) -> None:
        self.emit(TaskResult(host.name, play.display_name, task, "-", Status.UNREACHABLE, msg=msg))
        with self._lock:
            self._dead.add(host.name)


LOCK_TASK = "Host lock"


def _no_note(other: hostlock.Holder) -> None:
    """Taking its own lock again a run does not wait: nothing to say."""


def _becomes(play: PlaySpec) -> bool:
    return play.become or any(t.become for t in [*play.tasks, *play.handlers])


def _generation(conn: Connection) -> int:
    return conn.generation if isinstance(conn, Reopening) else 1
