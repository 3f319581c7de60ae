"""`provision apply`: validate and compile, then run the HostPlans and report."""

from __future__ import annotations

import getpass
import json
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import provisioner.transport.ssh  # noqa: F401  (imported before the worker threads need it)
from provisioner.cli.common import (
    SECRETS,
    check_output,
    fail,
    load_inventory_or_local,
    note_secrets,
    parse_extra_vars,
    say,
    say_error,
    say_shard,
    select_limit,
    setup_logging,
    sharded,
)
from provisioner.cli.retry import remember_failed
from provisioner.cli.verify import check_paths, run_card, verdict_lines, verify_json, write_files
from provisioner.connect import Connector, login_user_of
from provisioner.errors import InputError, ProvisionError
from provisioner.events import RunSummary
from provisioner.inventory import Inventory
from provisioner.live import LiveReport
from provisioner.playbook.load import load_playbook
from provisioner.playbook.roles import set_roles_path
from provisioner.playbook.schema import Playbook
from provisioner.report import TerminalReport, to_json
from provisioner.runner import Runner, RunOptions
from provisioner.runner.runner import selection_problem
from provisioner.validate import Compiled, compile_run

if TYPE_CHECKING:
    from rich.console import Console


@dataclass
class ApplyArgs:
    playbook: Path | None  # None only with --plan, which names its own
    inventory: Path | None
    check: bool
    diff: bool
    limit: str | None
    tags: str | None
    skip_tags: str | None
    start_at_task: str | None
    extra_vars: list[str] | None
    ask_become_pass: bool
    forks: int
    output: str
    accept_new_host_keys: bool
    verbose: int
    timeout: float = 10.0
    no_wait: bool = False
    roles_path: list[str] | None = None
    shard: str | None = None
    junit: Path | None = None  # the report card as JUnit XML
    html: Path | None = None  # the report card as one HTML page
    verify: bool = False  # `provision verify`: a dry run read as a test


class Terminated(KeyboardInterrupt):
    """SIGTERM: the run stops as on Ctrl-C (the same paths end it), with exit code 143."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def _words(text: str | None) -> frozenset[str]:
    return frozenset(t.strip() for t in (text or "").split(",") if t.strip())


def prepare(a: ApplyArgs) -> tuple[Playbook, Inventory, RunOptions, Compiled]:
    """Everything before the first host is touched; raises ProvisionError on bad input."""
    check_output(a.output)
    check_paths(a.junit, a.html)
    shard = sharded(a.shard)
    set_roles_path([p for given in a.roles_path or [] for p in given.split(":") if p])
    if a.playbook is None:
        raise InputError("apply needs a playbook (or --plan FILE, a saved plan)")
    book = load_playbook(a.playbook)
    inv = load_inventory_or_local(a.inventory)
    extra_vars = parse_extra_vars(a.extra_vars)
    limit, selected = select_limit(inv, a.limit)  # each `@FILE` read once, here
    options = RunOptions(
        check=a.check,
        forks=a.forks,
        limit=limit,
        tags=_words(a.tags),
        skip_tags=_words(a.skip_tags),
        start_at_task=a.start_at_task,
        extra_vars=extra_vars,
        lock=True,
        wait=not a.no_wait,
        shard=shard,
    )
    problem = selection_problem(book, options)
    if problem:
        raise InputError(problem)
    compiled = compile_run(
        book,
        inv,
        options.extra_vars,
        login_user=login_user_of,
        limit=limit,
        check=a.check,
        shard=shard,
    )
    for plan in compiled.plans.values():  # play vars and vars files may hold secrets too
        note_secrets(plan.variables)
    if shard is not None:
        say_shard(shard, len(selected), {name for _, name in compiled.plans})
    return book, inv, options, compiled


def pick_report(human: Console, a: ApplyArgs) -> TerminalReport:
    """The live view on an interactive terminal with text output and no -v; else the
    plain line-per-task report (a pipe, a file, --output json, -v)."""
    if a.output == "text" and not a.verbose and human.is_interactive:
        return LiveReport(human, diff=a.diff or a.check)
    return TerminalReport(human, diff=a.diff or a.check, verbose=a.verbose)


def apply(a: ApplyArgs) -> int:
    setup_logging(a.verbose)
    try:
        book, inv, options, compiled = prepare(a)
        if not ready(compiled, options, a.ask_become_pass):
            return 1
    except ProvisionError as exc:
        return fail(exc)
    summary, human = execute(a, book, inv, options, compiled)
    return finish(a, summary, inv, human)


def ready(compiled: Compiled, options: RunOptions, ask_become_pass: bool) -> bool:
    """False: the playbook has errors (said); else the sudo password asked, if -K."""
    if compiled.problems:
        for problem in compiled.problems:
            say_error(problem)
        say(f"{len(compiled.problems)} error(s); nothing was changed.")
        return False
    if ask_become_pass:
        options.become_password = getpass.getpass("BECOME password: ")
        SECRETS.add(options.become_password)
    return True


def execute(
    a: ApplyArgs, book: Playbook, inv: Inventory, options: RunOptions, compiled: Compiled
) -> tuple[RunSummary, Console]:
    """The run, reported as it goes, and its recap; Ctrl-C and SIGTERM end the process."""
    from rich.console import Console

    human = Console(stderr=(a.output == "json"), highlight=False, soft_wrap=True)
    report = pick_report(human, a)
    options.stream = isinstance(report, LiveReport)  # only a live view shows it
    connector = Connector(accept_new_host_keys=a.accept_new_host_keys, connect_timeout=a.timeout)
    runner = Runner(
        book, inv, connector, options, report, login_user=login_user_of, plans=compiled.plans
    )
    signal.signal(signal.SIGTERM, _terminate)
    try:
        summary = runner.run()
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        report.interrupted("TERMINATED (SIGTERM)" if terminated else "INTERRUPTED")
        sys.stdout.flush()
        sys.stderr.flush()
        # Worker threads may sit in a remote command; exiting now closes their
        # connections instead of waiting for them (Python would join them).
        os._exit(143 if terminated else 130)
    except BaseException:
        report.close()  # the terminal as it was (a live view's cursor shown again)
        raise
    report.recap(summary)
    return summary, human


def finish(a: ApplyArgs, summary: RunSummary, inv: Inventory, human: Console) -> int:
    """The retry file, the JSON document; the exit code."""
    if not a.check:  # a dry run changes nothing, the retry file included
        for line in remember_failed(summary, inv.hosts):
            human.print(line, markup=False, highlight=False)
    return _reported(a, summary, human)


def _reported(a: ApplyArgs, summary: RunSummary, human: Console) -> int:
    """The JSON document, the report card's files and verdicts; the exit code."""
    doc = to_json(summary)
    code = summary.exit_code
    if a.verify or a.junit or a.html:
        verb = "verify" if a.verify else "apply --check" if a.check else "apply"
        card = run_card(summary, f"provision {verb} {a.playbook}")
        if a.verify:  # on the recap's stream (the human one), masked as it is
            for line in verdict_lines(card):
                human.print(line, markup=False, highlight=False)
            doc, code = verify_json(doc, card), card.exit_code
        if not write_files(card, a.junit, a.html) and code == 0:
            code = 1
    if a.output == "json":
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return code
