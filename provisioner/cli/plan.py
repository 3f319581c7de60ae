"""`provision plan`, `provision show` and `provision apply --plan`: a dry run saved as a
file (provisioner.planfile), read back, and applied exactly, host by host, as long as
each host is still where the plan found it (provisioner.runner.expect)."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from provisioner.cli.common import SECRETS, fail, note_secrets, say, setup_logging
from provisioner.cli.run import ApplyArgs, execute, finish, prepare, ready
from provisioner.errors import InputError, ProvisionError
from provisioner.events import HostStats, PlayStarted, RunSummary, Status, TaskResult
from provisioner.limits import READS
from provisioner.planfile import (
    PlanError,
    PlanFile,
    PlanInputs,
    PlanOptions,
    PlanTask,
    build,
    changed_files,
    digest_value,
    file_digests,
    hosts_limit,
    relative,
    resolved,
    resolved_where,
    write,
)
from provisioner.planfile import read as read_plan
from provisioner.runner.expect import Expected, HostExpectations, Key
from provisioner.secrets import MASK, masked


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("provisioner")
    except PackageNotFoundError:
        return "unknown"


def _words(text: str | None) -> list[str]:
    return sorted({t.strip() for t in (text or "").split(",") if t.strip()})


def _limit_files(limit: str | None) -> set[Path]:
    """The files a --limit names (`@FILE`): they choose hosts, the plan records its hosts."""
    if limit is None:
        return set()
    if "," not in limit and limit.lstrip("!&").startswith("@"):
        return {Path(limit.lstrip("!&")[1:]).absolute()}
    parts = [p.strip().lstrip("!&") for p in limit.split(",")]
    return {Path(p[1:]).absolute() for p in parts if p.startswith("@")}


def plan(a: ApplyArgs, out: Path) -> int:
    """The dry run, as apply --check shows it, saved to `out`."""
    setup_logging(a.verbose)
    a = replace(a, check=True, diff=True, output="text", shard=None)
    READS.start()  # until the run's end: a task prepared late reads its template then
    try:
        book, inv, options, compiled = prepare(a)
        if not ready(compiled, options, a.ask_become_pass):
            READS.stop()
            return 1
    except ProvisionError as exc:
        READS.stop()
        return fail(exc)
    summary, _ = execute(a, book, inv, options, compiled)
    reads = READS.stop()
    assert a.playbook is not None  # prepare refuses none
    base = out.parent
    extra = dict(options.extra_vars)
    secret = note_secrets(extra)
    shown = masked(extra, secret)
    inputs = PlanInputs(
        playbook=relative(a.playbook, base),
        inventory=relative(a.inventory, base) if a.inventory is not None else None,
        roles_path=[relative(Path(p), base) for p in a.roles_path or []],
        files=file_digests(reads - _limit_files(a.limit), base),
        extra_vars=shown,
        extra_vars_digest=digest_value(extra),
        extra_vars_masked=shown != extra or MASK in json.dumps(shown, default=str),
    )
    options_ = PlanOptions(
        limit=a.limit,
        tags=_words(a.tags),
        skip_tags=_words(a.skip_tags),
        start_at_task=a.start_at_task,
    )
    saved = build(summary, inputs, options_, tool_version(), base)
    try:
        write(saved, out, SECRETS.scrub)
    except OSError as exc:
        return fail(InputError(f"{out}: cannot write the plan: {exc.strerror or exc}"))
    _say_written(saved, out)
    return summary.exit_code


def _say_written(saved: PlanFile, out: Path) -> None:
    changes = sum(
        1 for h in saved.hosts.values() for t in h.tasks if t.status == "changed" or t.at_apply
    )
    say(
        f"plan written to {out}: {len(saved.hosts)} host(s), {changes} task(s) to change; "
        f"review it (provision show {out}), then: provision apply --plan {out}"
    )
    for host, why in saved.left_out.items():
        say(f"{host} is left out of the plan (it will not be applied): {why}")


# -- show ---------------------------------------------------------------------
def show(path: Path, output: str) -> int:
    try:
        saved = read_plan(path)
        if output not in ("text", "json"):
            raise InputError("--output must be 'text' or 'json'")
    except ProvisionError as exc:
        return fail(exc)
    if output == "json":
        sys.stdout.write(json.dumps(saved.model_dump(mode="json"), indent=2, sort_keys=True))
        sys.stdout.write("\n")
        return 0
    from rich.console import Console

    from provisioner.report import TerminalReport

    console = Console(highlight=False, soft_wrap=True)
    console.print(
        f"plan {path}: made {saved.created} by provision {saved.tool_version} from "
        f"{saved.inputs.playbook}"
        + (f" and {saved.inputs.inventory}" if saved.inputs.inventory else ""),
        markup=False,
    )
    report = TerminalReport(console, diff=True)
    summary = RunSummary(check=True)
    for host, planned in saved.hosts.items():
        summary.hosts[host] = HostStats()
        play = None
        for task in planned.tasks:
            if task.play != play:
                play = task.play
                report(PlayStarted(play, (host,), True))
            result = _result(host, task)
            summary.hosts[host].count(result)
            report(result)
    report.recap(summary)
    for host, why in saved.left_out.items():
        console.print(f"{host} is left out of the plan: {why}", markup=False)
    return 0


def _result(host: str, task: PlanTask) -> TaskResult:
    return TaskResult(
        host=host,
        play=task.play,
        task=task.task,
        module=task.module,
        status=Status(task.status),
        summary=tuple(task.changes),
        diff=task.diff,
        msg=task.why or "",
        item=task.item or "",
        check=True,
        handler=task.handler,
        where=task.where,
        would_run=task.would_run,
        undecided=task.at_apply,
    )


# -- apply --plan -------------------------------------------------------------
def _refuse_options(a: ApplyArgs, path: Path) -> None:
    """What the plan decides may not be given again: a playbook, an inventory, the
    selection of hosts and tasks, --check."""
    given = {
        "a playbook": a.playbook is not None,
        "-i": a.inventory is not None,
        "--limit": a.limit is not None,
        "--tags": a.tags is not None,
        "--skip-tags": a.skip_tags is not None,
        "--start-at-task": a.start_at_task is not None,
        "--shard": a.shard is not None,
        "--roles-path": bool(a.roles_path),
        "--check": a.check,
    }
    bad = [name for name, on in given.items() if on]
    if bad:
        raise InputError(
            f"apply --plan {path}: {', '.join(bad)} cannot be given: the plan names its "
            "playbook, inventory, hosts and tasks (make another plan to change them)"
        )


def _from_plan(a: ApplyArgs, saved: PlanFile, path: Path) -> ApplyArgs:
    base = path.parent
    inputs, options = saved.inputs, saved.options
    extra = a.extra_vars
    if not extra and inputs.extra_vars:
        if inputs.extra_vars_masked:
            raise PlanError(
                "the plan's extra vars hold secrets, which it does not keep: "
                "pass the same -e options again",
                None,
            )
        extra = [json.dumps(inputs.extra_vars)]
    return replace(
        a,
        playbook=resolved(inputs.playbook, base),
        inventory=resolved(inputs.inventory, base) if inputs.inventory else None,
        roles_path=[str(resolved(p, base)) for p in inputs.roles_path],
        limit=hosts_limit(saved),
        tags=",".join(options.tags) or None,
        skip_tags=",".join(options.skip_tags) or None,
        start_at_task=options.start_at_task,
        extra_vars=extra,
        check=False,
    )


def _places(keys: list[Key]) -> list[tuple[Key, int]]:
    """Each key with its number among the same keys before it (loop items, repeats)."""
    counts: dict[Key, int] = {}
    out = []
    for key in keys:
        out.append((key, counts.get(key, 0)))
        counts[key] = counts.get(key, 0) + 1
    return out


def expectations(
    saved: PlanFile, base: Path, now: RunSummary | None = None
) -> dict[str, HostExpectations]:
    """The runner's view of the plan, per host; with `now` (a dry run just made), where
    each host first differs from the plan."""
    out = {}
    for name, host in saved.hosts.items():
        keys = [(t.play, resolved_where(t.where, base), t.task) for t in host.tasks]
        entries = {
            place: Expected(t.status, t.probed or "", t.at_apply, tuple(t.changes))
            for place, t in zip(_places(keys), host.tasks, strict=True)
        }
        opened = any(t.at_apply and t.module.startswith("include_") for t in host.tasks)
        drift = _drift(host.tasks, keys, now, name) if now is not None else None
        out[name] = HostExpectations(entries, opened, drift)
    return out


def _drift(
    tasks: list[PlanTask], keys: list[Key], now: RunSummary, host: str
) -> tuple[tuple[Key, int], str] | None:
    """The first task where the dry run `now` differs from the plan on this host: its
    place and what differs. A host it could not reach is left to the apply to say."""
    found = [r for r in now.results if r.host == host]
    if any(r.status is Status.UNREACHABLE for r in found):
        return None
    here = [(r.play, str(_abs_where(r.where)), r.task) for r in found]
    places = _places(here)
    for index, (planned, key) in enumerate(zip(tasks, keys, strict=False)):
        if index >= len(found):
            return (key, _places(keys)[index][1]), "a dry run now stops before this task"
        result = found[index]
        same = key == here[index] and planned.status == result.status.value
        if same and (planned.probed or "") == result.digest:
            continue
        said = "would change" if planned.status == "changed" else planned.status
        expected = f"{said}: {'; '.join(planned.changes)}" if planned.changes else said
        got = result.status.value if result.status is not Status.CHANGED else "would change"
        what = "; ".join(result.summary) or result.msg
        if same:
            what = what + " (from another state than the plan's)" if what else "another state"
        return places[index], f"the plan expected {expected}; a dry run now finds {got}: {what}"
    if len(found) > len(tasks):
        return places[len(tasks)], "the plan has no such task for this host"
    return None


def _abs_where(where: str) -> str:
    return resolved_where(where, Path.cwd()) if where else where


def apply_plan(a: ApplyArgs, path: Path) -> int:
    setup_logging(a.verbose)
    try:
        _refuse_options(a, path)
        saved = read_plan(path)
        changed = changed_files(saved, path.parent)
        if changed:
            raise PlanError(
                f"{changed[0]} changed since the plan was made"
                + (f" (and {len(changed) - 1} more file(s))" if len(changed) > 1 else "")
                + ": nothing was applied; make the plan again (provision plan)",
                None,
            )
        if not saved.hosts:
            say(f"the plan {path} has no host to apply; nothing was changed")
            return 0
        a = _from_plan(a, saved, path)
        READS.start()
        try:
            book, inv, options, compiled = prepare(a)
        finally:
            reads = READS.stop()
        _same_inputs(saved, path, reads, dict(options.extra_vars))
        if not ready(compiled, options, a.ask_become_pass):
            return 1
    except ProvisionError as exc:
        return fail(exc)
    now = _dry_run(a, options.become_password)
    if now is None:
        return 1
    options.expected = expectations(saved, path.parent, now)
    summary, human = execute(a, book, inv, options, compiled)
    for line in stale_lines(saved, summary):
        human.print(line, markup=False, highlight=False)
    return finish(a, summary, inv, human)


def _dry_run(a: ApplyArgs, become_password: str | None) -> RunSummary | None:
    """The plan's dry run made again, just before the apply, told nothing: what each host
    would do now, from the state it is in before any change (None: bad input, said)."""
    from provisioner.connect import Connector, login_user_of
    from provisioner.runner import Runner

    try:
        book, inv, options, compiled = prepare(replace(a, check=True))
    except ProvisionError as exc:
        fail(exc)
        return None
    options.become_password = become_password
    connector = Connector(accept_new_host_keys=a.accept_new_host_keys, connect_timeout=a.timeout)
    runner = Runner(
        book, inv, connector, options, lambda event: None, login_user_of, compiled.plans
    )
    try:
        return runner.run()
    except KeyboardInterrupt:  # nothing was changed yet: stop at once, as apply does
        say("INTERRUPTED before anything was applied")
        sys.stderr.flush()
        os._exit(130)


def _same_inputs(saved: PlanFile, path: Path, reads: set[Path], extra: dict[str, object]) -> None:
    """-e as the plan's; no file read now that the plan was not made from."""
    if digest_value(extra) != saved.inputs.extra_vars_digest:
        raise PlanError("-e: the extra vars differ from those the plan was made with", None)
    known = {resolved(name, path.parent) for name in saved.inputs.files}
    new = sorted(p for p in reads if p not in known)
    if new:
        raise PlanError(
            f"{relative(new[0], path.parent)} was read now but not when the plan was made: "
            "nothing was applied; make the plan again (provision plan)",
            None,
        )


def stale_lines(saved: PlanFile, summary: RunSummary) -> list[str]:
    """Per stale host: the task it stopped at, what the plan expected and what was found,
    and the plan's tasks that did not run."""
    lines = []
    for result in summary.results:
        if result.status is not Status.STALE:
            continue
        tasks = saved.hosts[result.host].tasks
        names = [t.task for t in tasks]
        after = names[names.index(result.task) + 1 :] if result.task in names else []
        lines.append(f"plan is stale for {result.host} at '{result.task}': {result.msg}")
        if after:
            lines.append(f"  not run on {result.host}: {', '.join(dict.fromkeys(after))}")
    if lines:
        lines.append("make the plan again for those hosts: provision plan ...")
    return lines
