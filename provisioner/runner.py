"""Drives hosts and tasks: hosts in parallel, tasks in order on each host.

Probes are read-only, so a host's probes go out in one batch (one round trip)
and are reused until something changes on that host; after a change, the
task itself and everything after it are probed again, in one batch. A task
whose plan is not empty after its own commands ran "did not converge": it is
a failure, never "changed".
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from provisioner import facts as host_facts
from provisioner.errors import (
    BecomeError,
    InputError,
    MissingDependency,
    ProbeError,
    ProvisionError,
    TransportError,
    WriteError,
)
from provisioner.events import (
    Event,
    HostStats,
    PlayStarted,
    RunSummary,
    Status,
    TaskResult,
    TaskStarted,
)
from provisioner.facts import uses_facts
from provisioner.inventory import Host, Inventory
from provisioner.modules.base import Change, Module
from provisioner.modules.controller import AssertArgs, DebugArgs
from provisioner.playbook.compile import (
    Prepared,
    host_variables,
    play_gathers,
    prepare,
    task_templar,
)
from provisioner.playbook.schema import Playbook, PlaySpec, TaskSpec
from provisioner.transport.base import Become, Connection, Result

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


class HostFailed(Exception):
    """Stops this host for the rest of the run (a failed task or unreachable)."""


def select_hosts(inventory: Inventory, play: PlaySpec, limit: str | None) -> list[Host]:
    hosts = inventory.select(play.hosts)
    if limit:
        allowed = {h.name for h in inventory.select(limit)}
        hosts = [h for h in hosts if h.name in allowed]
    return hosts


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
        login_user: Callable[[Host], str] = lambda host: host.connection.user or "root",
    ) -> None:
        self.playbook = playbook
        self.inventory = inventory
        self.connect = connect
        self.options = options
        self.listener = listener
        self.login_user = login_user
        self.summary = RunSummary(check=options.check)
        self._lock = threading.Lock()
        self._connections: dict[str, Connection] = {}
        self._registered: dict[str, dict[str, Any]] = {}
        self._facts: dict[str, dict[str, Any]] = {}  # per host, gathered once a run
        self._planned: dict[str, list[tuple[str, str]]] = {}  # per host (see HostWorker)
        self._dead: set[str] = set()
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
            self.listener(event)

    # -- the run ------------------------------------------------------------
    def run(self) -> RunSummary:
        try:
            for play in self.playbook.plays:
                self._run_play(play)
        except KeyboardInterrupt:
            # Before the connections close: a task cut off by that is not "unreachable",
            # and the listener must still know it was running.
            with self._lock:
                self._interrupted = True
            raise
        finally:
            for conn in self._connections.values():
                try:
                    conn.close()
                except Exception:  # closing is best effort
                    log.debug("closing %s failed", conn.host, exc_info=True)
        return self.summary

    def _run_play(self, play: PlaySpec) -> None:
        hosts = [h for h in select_hosts(self.inventory, play, self.options.limit)]
        hosts = [h for h in hosts if h.name not in self._dead]
        for host in hosts:
            with self._lock:
                self.summary.hosts.setdefault(host.name, HostStats())
        self.emit(PlayStarted(play.display_name, tuple(h.name for h in hosts), self.options.check))
        if not hosts:
            return
        tasks = self._tasks_to_run(play)
        gathers = play_gathers(play)  # reads files: once per play, not per host
        workers = max(1, min(self.options.forks, len(hosts)))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="host")
        try:
            futures = [pool.submit(self._run_host, play, host, tasks, gathers) for host in hosts]
            for future in futures:
                future.result()
        except KeyboardInterrupt:
            # Do not wait for running tasks: the caller reports them and exits.
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()

    def _tasks_to_run(self, play: PlaySpec) -> list[TaskSpec]:
        out = []
        for task in play.tasks:
            if not self._started and task.name == self.options.start_at_task:
                self._started = True
            if self._started and tag_selected(task, play, self.options):
                out.append(task)
        return out

    def _connection(self, host: Host) -> Connection:
        conn = self._connections.get(host.name)
        if conn is None:
            conn = self.connect(host)
            with self._lock:
                self._connections[host.name] = conn
        return conn

    def _gather_facts(self, host: Host, play: PlaySpec) -> dict[str, Any] | None:
        """The host's facts as variables; None (reported, host stopped) when they cannot be
        had."""
        if host.name in self._facts:
            return self._facts[host.name]
        task = "Gathering facts"
        try:
            found = host_facts.gather(self._connection(host))
        except TransportError as exc:
            self.emit(
                TaskResult(
                    host.name, play.display_name, task, "-", Status.UNREACHABLE, msg=exc.message
                )
            )
            with self._lock:
                self._dead.add(host.name)
            return None
        except ProbeError as exc:
            self._fail_host(host, play, task, str(exc))
            return None
        self._facts[host.name] = found.variables()
        return self._facts[host.name]

    def _run_host(
        self, play: PlaySpec, host: Host, tasks: list[TaskSpec], gathers: bool | None
    ) -> None:
        """`gathers`: play_gathers(play); None leaves it to the host's variables."""
        registered = self._registered.setdefault(host.name, {})
        facts: dict[str, Any] | None = {}
        if gathers is None:
            gathers = uses_facts([host.vars, self.options.extra_vars])
        if gathers:
            facts = self._gather_facts(host, play)
            if facts is None:
                return
        try:
            magic = {
                "inventory_hostname": host.name,
                "group_names": list(host.group_names),
                "login_user": self.login_user(host),
                "ansible_check_mode": self.options.check,
            }
            variables = host_variables(
                play, play.base_dir, host.vars, magic, self.options.extra_vars, facts
            )
        except InputError as exc:
            self._fail_host(host, play, "variables", str(exc))
            return
        worker = HostWorker(self, play, host, variables, registered)
        try:
            worker.run_tasks(tasks)
            worker.run_handlers()
        except HostFailed:
            with self._lock:
                self._dead.add(host.name)

    def _fail_host(self, host: Host, play: PlaySpec, task: str, msg: str) -> None:
        self.emit(TaskResult(host.name, play.display_name, task, "-", Status.FAILED, msg=msg))
        with self._lock:
            self._dead.add(host.name)


class HostWorker:
    """Everything one host does in one play, on one thread."""

    def __init__(
        self,
        runner: Runner,
        play: PlaySpec,
        host: Host,
        variables: dict[str, Any],
        registered: dict[str, Any],
    ) -> None:
        self.r = runner
        self.play = play
        self.host = host
        self.variables = variables
        self.registered = registered
        self.check = runner.options.check
        self.cache: dict[tuple[str, Become | None], Result] = {}
        # earlier would-change tasks of this host in this run, all plays (dry run):
        # (task, module name); a later play may need what an earlier one would change
        self.planned = runner._planned.setdefault(host.name, [])
        self.notified: list[str] = []

    # -- plumbing -----------------------------------------------------------
    def become_for(self, task: TaskSpec) -> Become | None:
        wanted = task.become if task.become is not None else self.play.become
        if not wanted:
            return None
        user = task.become_user or self.play.become_user or "root"
        password = self.host.connection.become_password or self.r.options.become_password
        return Become(user=user, password=password)

    def prepare(self, task: TaskSpec) -> list[Prepared]:
        return prepare(
            task, self.variables, self.registered, self.r.options.extra_vars, self.play.base_dir
        )

    def result(self, task: TaskSpec, status: Status, **kw: Any) -> TaskResult:
        res = TaskResult(
            host=self.host.name,
            play=self.play.display_name,
            task=task.display_name,
            module=task.module,
            status=status,
            check=self.check,
            handler=task.is_handler,
            where=str(task.loc),
            **kw,
        )
        if task.no_log:  # the task may handle secrets: keep its content out of output
            res = replace(res, diff=None, stdout="", stderr="", msg="(output hidden: no_log)")
        self.r.emit(res)
        return res

    # -- probes ---------------------------------------------------------------
    def probe(
        self, module: Module[Any, Any], become: Become | None, ahead: list[TaskSpec]
    ) -> Result:
        key = (module.probe(), become)
        if key not in self.cache:
            scripts = [key[0]] + self._probes_ahead(ahead, become)
            self._batch(scripts, become)
        return self.cache[key]

    def _probes_ahead(self, ahead: list[TaskSpec], become: Become | None) -> list[str]:
        """Probes of the tasks that follow, as far as they can be prepared now."""
        scripts: list[str] = []
        for task in ahead:
            if self.become_for(task) != become:
                break
            try:
                prepared = self.prepare(task)
            except ProvisionError:
                break  # depends on something not known yet (a registered result)
            for unit in prepared:
                if unit.module is not None and unit.skipped is None:
                    scripts.append(unit.module.probe())
        return scripts

    def _batch(self, scripts: list[str], become: Become | None) -> None:
        unique = list(dict.fromkeys(s for s in scripts if (s, become) not in self.cache))
        mark = f"@@provisioner-{uuid.uuid4().hex}@@"
        body = []
        for i, script in enumerate(unique):
            body.append(
                f"printf '\\n%s %d begin\\n' '{mark}' {i}\n( {script}\n) </dev/null\n"
                f"printf '\\n%s %d end %d\\n' '{mark}' {i} \"$?\"\n"
            )
        res = self.r._connection(self.host).run("".join(body), become=become)
        outputs = split_batch(res.stdout, mark, len(unique))
        if outputs is None:
            detail = res.stderr.strip() or res.stdout[-500:]
            raise ProbeError(f"probe batch failed (exit {res.exit_code}): {detail}")
        for script, (stdout, code) in zip(unique, outputs, strict=True):
            self.cache[(script, become)] = Result(code, stdout, res.stderr)

    # -- tasks ----------------------------------------------------------------
    def run_tasks(self, tasks: list[TaskSpec]) -> None:
        for index, task in enumerate(tasks):
            self.r.emit(TaskStarted(self.host.name, task.display_name))
            self.run_task(task, tasks[index + 1 :])

    def run_handlers(self) -> None:
        if not self.notified:
            return
        for handler in self.play.handlers:
            names = {handler.name, *handler.listen}
            if names & set(self.notified):
                self.r.emit(TaskStarted(self.host.name, handler.display_name))
                self.run_task(handler, [])

    def run_task(self, task: TaskSpec, ahead: list[TaskSpec]) -> None:
        try:
            units = self.prepare(task)
        except ProvisionError as exc:
            self.fail(task, str(exc))
            return
        outcomes: list[dict[str, Any]] = []
        for unit in units:
            outcomes.append(self.run_unit(task, unit, ahead))
        changed = any(o.get("changed") for o in outcomes)
        if task.register_as:
            if task.loop is None and outcomes:
                self.registered[task.register_as] = outcomes[0]
            else:
                self.registered[task.register_as] = {"changed": changed, "results": outcomes}
        if changed and task.notify:
            templar = task_templar(task, self.variables, self.registered, self.r.options.extra_vars)
            for name in task.notify:
                target = str(templar.render(name, task.loc))
                if target not in self.notified:
                    self.notified.append(target)
        failed = [o for o in outcomes if o.get("failed")]
        if failed and not task.ignore_errors:
            raise HostFailed(task.display_name)

    def fail(self, task: TaskSpec, msg: str, **kw: Any) -> None:
        self.result(task, Status.FAILED, msg=msg, ignored=task.ignore_errors, **kw)
        if not task.ignore_errors:
            raise HostFailed(task.display_name)

    def run_unit(self, task: TaskSpec, unit: Prepared, ahead: list[TaskSpec]) -> dict[str, Any]:
        label = unit.label
        if unit.skipped is not None:
            self.result(task, Status.SKIPPED, msg=unit.skipped, item=label)
            return {"changed": False, "skipped": True, "skip_reason": unit.skipped}
        if unit.module is None:
            return self.run_controller(task, unit)
        try:
            return self.run_module(task, unit, unit.module, ahead)
        except (BecomeError, WriteError) as exc:  # the host answered: it refused
            self.result(task, Status.FAILED, msg=exc.message, item=label)
            raise HostFailed(task.display_name) from None
        except TransportError as exc:
            self.result(task, Status.UNREACHABLE, msg=exc.message, item=label)
            raise HostFailed(task.display_name) from None

    def run_controller(self, task: TaskSpec, unit: Prepared) -> dict[str, Any]:
        templar = task_templar(
            task, self.variables, self.registered, self.r.options.extra_vars, unit.item
        )
        args = unit.controller_args
        try:
            if isinstance(args, DebugArgs):
                text = (
                    f"{args.var} = {templar.evaluate(args.var, task.loc)!r}"
                    if args.var
                    else str(args.msg if args.msg is not None else "Hello world!")
                )
                self.result(task, Status.OK, msg=text, item=unit.label)
                return {"changed": False, "msg": text}
            assert isinstance(args, AssertArgs)
            for cond in args.that:
                if not templar.truthy(cond, task.loc):
                    msg = args.fail_msg or f"assertion failed: {cond}"
                    self.result(
                        task, Status.FAILED, msg=msg, item=unit.label, ignored=task.ignore_errors
                    )
                    return {"changed": False, "failed": True, "msg": msg}
            msg = args.success_msg or "all assertions passed"
            # quiet: a passing assert says nothing (as Ansible's quiet does)
            self.result(task, Status.OK, msg="" if args.quiet else msg, item=unit.label)
            return {"changed": False, "msg": msg}
        except ProvisionError as exc:
            self.result(
                task, Status.FAILED, msg=str(exc), item=unit.label, ignored=task.ignore_errors
            )
            return {"changed": False, "failed": True, "msg": str(exc)}

    def _plan(
        self, module: Module[Any, Any], become: Become | None, ahead: list[TaskSpec]
    ) -> Change | None:
        res = self.probe(module, become, ahead)
        return module.plan(module.parse(res.stdout, res.exit_code))

    def run_module(
        self, task: TaskSpec, unit: Prepared, module: Module[Any, Any], ahead: list[TaskSpec]
    ) -> dict[str, Any]:
        become = self.become_for(task)
        label = unit.label
        try:
            change = self._plan(module, become, ahead)
        except MissingDependency as exc:
            if self.check and self.planned:
                reason = (
                    f"{exc.what} is not there yet; expected from an earlier planned change"
                    f" ({provider_of(exc.what, self.planned)})"
                )
                self.planned.append((task.display_name, module.name))
                planned = exc.change if isinstance(exc.change, Change) else None
                self.result(
                    task,
                    Status.CHANGED,
                    summary=(*(planned.summary if planned else ()), f"would change: {reason}"),
                    diff=planned.diff if planned else None,
                    msg=reason,
                    item=label,
                )
                return {"changed": True, "msg": reason}
            return self._failed(task, label, str(exc))
        except ProbeError as exc:
            return self._failed(task, label, str(exc))
        except InputError as exc:  # a template file's own error, found as it is rendered
            return self._failed(task, label, exc.message)
        if change is None:
            self.result(task, Status.OK, item=label)
            return {"changed": False}
        if self.check:
            self.planned.append((task.display_name, module.name))
            status = self._check_command_status(task, module)
            self.result(task, status, summary=change.summary, diff=change.diff, item=label)
            return {"changed": status is Status.CHANGED, "check": True}
        return self.apply(task, unit, module, change, become, ahead)

    def _check_command_status(self, task: TaskSpec, module: Module[Any, Any]) -> Status:
        """A guarded command whose changed_when is literally false changes nothing."""
        if not module.probe_after_apply and task.changed_when == [False]:
            return Status.SKIPPED
        return Status.CHANGED

    def _failed(self, task: TaskSpec, label: str, msg: str, **kw: Any) -> dict[str, Any]:
        self.result(task, Status.FAILED, msg=msg, item=label, ignored=task.ignore_errors, **kw)
        return {"changed": False, "failed": True, "msg": msg}

    def apply(
        self,
        task: TaskSpec,
        unit: Prepared,
        module: Module[Any, Any],
        change: Change,
        become: Become | None,
        ahead: list[TaskSpec],
    ) -> dict[str, Any]:
        conn = self.r._connection(self.host)
        label = unit.label
        self.cache.clear()  # the host is about to change: every probe is stale
        last = Result(0, "", "")
        for op in module.commands(change):
            last = run_op(conn, op.script, op.upload, become)
            if last.exit_code != 0:
                break
        # As Ansible registers them: trailing newlines stripped, plus the lines.
        stdout, stderr = last.stdout.rstrip("\r\n"), last.stderr.rstrip("\r\n")
        outcome = {
            "changed": True,
            "rc": last.exit_code,
            "stdout": stdout,
            "stderr": stderr,
            "stdout_lines": stdout.splitlines(),
            "stderr_lines": stderr.splitlines(),
            "failed": last.exit_code != 0,
        }
        if not module.probe_after_apply:
            return self._finish_command(task, unit, change, outcome)
        if last.exit_code != 0:
            return self._failed(
                task, label, error_text(last), summary=change.summary, diff=change.diff
            )
        try:
            after = self._plan(module, become, ahead)
        except ProvisionError as exc:
            return self._failed(task, label, f"after apply: {exc}", summary=change.summary)
        if after is not None:
            msg = "did not converge: still differs after apply: " + "; ".join(after.summary)
            return self._failed(task, label, msg, summary=change.summary, diff=change.diff)
        self._after_change(task, module)
        self.result(task, Status.CHANGED, summary=change.summary, diff=change.diff, item=label)
        return outcome

    def _finish_command(
        self, task: TaskSpec, unit: Prepared, change: Change, outcome: dict[str, Any]
    ) -> dict[str, Any]:
        templar = task_templar(
            task, self.variables, self.registered, self.r.options.extra_vars, unit.item
        )
        scope = templar.child(
            {**outcome, **({task.register_as: outcome} if task.register_as else {})}
        )
        try:
            if task.failed_when is not None:
                outcome["failed"] = all(scope.truthy(c, task.loc) for c in task.failed_when)
            if task.changed_when is not None:
                outcome["changed"] = all(scope.truthy(c, task.loc) for c in task.changed_when)
        except ProvisionError as exc:
            return self._failed(task, unit.label, str(exc))
        kw: dict[str, Any] = {
            "stdout": outcome["stdout"],
            "stderr": outcome["stderr"],
            "item": unit.label,
        }
        if outcome["failed"]:
            self.result(
                task,
                Status.FAILED,
                msg=error_text(Result(outcome["rc"], outcome["stdout"], outcome["stderr"])),
                ignored=task.ignore_errors,
                summary=change.summary,
                **kw,
            )
            return outcome
        status = Status.CHANGED if outcome["changed"] else Status.OK
        self.result(task, status, summary=change.summary if outcome["changed"] else (), **kw)
        return outcome

    def _after_change(self, task: TaskSpec, module: Module[Any, Any]) -> None:
        """Group changes for the login user apply to new logins only: reconnect."""
        if task.module == "user":
            name = getattr(module.args, "name", None)
            if name == self.variables.get("login_user"):
                self.r._connection(self.host).close()


def run_op(conn: Connection, script: str, upload: bytes | None, become: Become | None) -> Result:
    if upload is None:
        return conn.run(script, become=become)
    path = f"/tmp/.provisioner-{uuid.uuid4().hex}"
    conn.put(upload, path, 0o600)
    wrapped = (
        f"PROVISION_SRC={path}\nexport PROVISION_SRC\n"
        f"( {script}\n)\nrc=$?\nrm -f {path}\nexit $rc\n"
    )
    return conn.run(wrapped, become=become)


def error_text(res: Result) -> str:
    text = (res.stderr.strip() or res.stdout.strip())[-2000:]
    return f"exit {res.exit_code}: {text}" if text else f"exit {res.exit_code}"


def split_batch(stdout: str, mark: str, count: int) -> list[tuple[str, int]] | None:
    """Cut a batch's stdout into each probe's (output, exit code)."""
    out: list[tuple[str, int]] = []
    rest = stdout
    for i in range(count):
        begin = f"\n{mark} {i} begin\n"
        start = rest.find(begin)
        if start < 0:
            return None
        rest = rest[start + len(begin) :]
        end_prefix = f"\n{mark} {i} end "
        end = rest.find(end_prefix)
        if end < 0:
            return None
        body = rest[:end]
        tail = rest[end + len(end_prefix) :]
        code_text, _, rest = tail.partition("\n")
        try:
            code = int(code_text)
        except ValueError:
            return None
        out.append((body, code))
    return out


# Which modules can bring a missing thing into being, by its kind ("unit docker.service").
_PROVIDERS = {
    "unit": {"package", "copy", "template", "file"},
    "group": {"group", "user", "package"},
    "user": {"user", "package"},
    "file": {"file", "copy", "template", "get_url", "lineinfile", "package"},
    "directory": {"file", "package"},
    "package": {"yum_repository", "copy", "template", "get_url", "package", "command", "shell"},
    "repository": {"yum_repository", "copy", "template", "lineinfile"},
}


def provider_of(what: str, planned: list[tuple[str, str]]) -> str:
    """The latest planned task that can provide `what`; else simply the latest one."""
    kinds = _PROVIDERS.get(what.partition(" ")[0], set())
    for task, module in reversed(planned):
        if module in kinds:
            return task
    return planned[-1][0]
