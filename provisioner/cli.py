"""The `provision` command: apply, validate, inventory."""

from __future__ import annotations

import getpass
import ipaddress
import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from provisioner import facts as host_facts
from provisioner import vagrant
from provisioner.connect import Connector, login_user_of
from provisioner.errors import InputError, PlaybookErrors, ProvisionError, TransportError
from provisioner.inventory import SECRET_VARS, Inventory, load_inventory, localhost_inventory
from provisioner.playbook.load import load_playbook
from provisioner.report import TerminalReport, dump_json
from provisioner.runner import Runner, RunOptions
from provisioner.validate import validate as validate_playbook
from provisioner.yamlmarks import load_yaml

app = typer.Typer(
    help="Agentless, idempotent provisioning over SSH, with an honest dry run.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)

InventoryOpt = Annotated[
    Path | None,
    typer.Option("-i", "--inventory", help="Inventory file (YAML or INI, Ansible shape)."),
]
ExtraVarsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-e", "--extra-vars", help="key=value, @file.yml or a JSON/YAML mapping; repeatable."
    ),
]


OutputOpt = Annotated[
    str, typer.Option("--output", "-o", help="text or json (json: one document on stdout).")
]
AcceptNewOpt = Annotated[
    bool,
    typer.Option(
        "--accept-new-host-keys",
        help="Trust and save keys of hosts never seen before (a changed key is still refused).",
    ),
]


def _check_output(output: str) -> None:
    if output not in ("text", "json"):
        err.print("[red]error:[/red] --output must be 'text' or 'json'")
        raise typer.Exit(1)


def parse_extra_vars(values: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for value in values or []:
        if value.startswith("@"):
            data = load_yaml(Path(value[1:]))
            if not isinstance(data, dict):
                raise InputError(f"-e {value}: the file must hold a mapping")
            out.update(data)
        elif value.lstrip().startswith("{"):
            try:
                data = yaml.safe_load(value)
            except yaml.YAMLError as exc:
                raise InputError(f"-e: not a valid mapping: {exc}") from None
            out.update(data)
        else:
            key, eq, val = value.partition("=")
            if not eq or not key.isidentifier():
                raise InputError(f"-e {value!r}: expected key=value, @file.yml or a mapping")
            out[key] = val
    return out


def _inventory(path: Path | None) -> Inventory:
    return load_inventory(path) if path is not None else localhost_inventory()


def _fail(exc: ProvisionError) -> typer.Exit:
    if isinstance(exc, PlaybookErrors):
        for error in exc.errors:
            err.print(f"[red]error:[/red] {escape(str(error))}")
        err.print(f"{len(exc.errors)} error(s); nothing was changed.")
    else:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
    return typer.Exit(1)


def _logging(verbose: int) -> None:
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG), stream=sys.stderr, format="%(name)s: %(message)s"
    )
    # paramiko logs every failed auth attempt and socket error itself; we
    # report those as one line per host. Its DEBUG (packets) is for -vvv.
    paramiko_level = {0: logging.CRITICAL, 1: logging.CRITICAL, 2: logging.WARNING}
    logging.getLogger("paramiko").setLevel(paramiko_level.get(verbose, logging.DEBUG))


@app.command()
def apply(
    playbook: Annotated[Path, typer.Argument(help="Playbook YAML file.")],
    inventory: InventoryOpt = None,
    check: Annotated[
        bool, typer.Option("--check", "-C", help="Dry run: show what would change, change nothing.")
    ] = False,
    diff: Annotated[
        bool, typer.Option("--diff", "-D", help="Show file diffs and one-line changes.")
    ] = False,
    limit: Annotated[
        str | None, typer.Option("--limit", "-l", help="Host pattern to restrict to.")
    ] = None,
    tags: Annotated[
        str | None,
        typer.Option("--tags", "-t", help="Only tasks with these tags (comma-separated)."),
    ] = None,
    skip_tags: Annotated[
        str | None, typer.Option("--skip-tags", help="Skip tasks with these tags.")
    ] = None,
    start_at_task: Annotated[
        str | None, typer.Option("--start-at-task", help="Start at the task with this name.")
    ] = None,
    extra_vars: ExtraVarsOpt = None,
    ask_become_pass: Annotated[
        bool,
        typer.Option(
            "--ask-become-pass", "-K", help="Ask once for the sudo password of all hosts."
        ),
    ] = False,
    forks: Annotated[
        int, typer.Option("--forks", "-f", min=1, help="Hosts worked on in parallel.")
    ] = 10,
    output: OutputOpt = "text",
    accept_new_host_keys: AcceptNewOpt = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More detail (-vv output, -vvv SSH).")
    ] = 0,
) -> None:
    """Converge hosts to a playbook (or, with --check, show exactly what would change)."""
    _logging(verbose)
    _check_output(output)
    try:
        book = load_playbook(playbook)
        inv = _inventory(inventory)
        options = RunOptions(
            check=check,
            forks=forks,
            limit=limit,
            tags=frozenset(t.strip() for t in (tags or "").split(",") if t.strip()),
            skip_tags=frozenset(t.strip() for t in (skip_tags or "").split(",") if t.strip()),
            start_at_task=start_at_task,
            extra_vars=parse_extra_vars(extra_vars),
        )
        if limit and not inv.select(limit):
            raise InputError(f"--limit {limit!r} matches no host in the inventory")
        problems = validate_playbook(book, inv, options.extra_vars, limit=limit)
        if problems:
            for problem in problems:
                err.print(f"[red]error:[/red] {escape(problem)}")
            err.print(f"{len(problems)} error(s); nothing was changed.")
            raise typer.Exit(1)
        if ask_become_pass:
            options.become_password = getpass.getpass("BECOME password: ")
    except ProvisionError as exc:
        raise _fail(exc) from None
    # soft_wrap: long lines stay whole in logs and pipes (rich would break them at 80 columns)
    human = Console(stderr=(output == "json"), highlight=False, soft_wrap=True)
    report = TerminalReport(human, diff=diff or check, verbose=verbose)
    connector = Connector(accept_new_host_keys=accept_new_host_keys)
    runner = Runner(book, inv, connector, options, listener=report, login_user=login_user_of)
    try:
        summary = runner.run()
    except KeyboardInterrupt:
        report.interrupted()
        sys.stdout.flush()
        sys.stderr.flush()
        # Worker threads may sit in a remote command; exiting now closes their
        # connections instead of waiting for them (Python would join them).
        os._exit(130)
    report.recap(summary)
    if output == "json":
        sys.stdout.write(dump_json(summary) + "\n")
    global _run_exit_code
    _run_exit_code = summary.exit_code


@app.command()
def validate(
    playbook: Annotated[Path, typer.Argument(help="Playbook YAML file.")],
    inventory: InventoryOpt = None,
    extra_vars: ExtraVarsOpt = None,
) -> None:
    """Load and compile a playbook for every host; report every error; touch no host."""
    try:
        book = load_playbook(playbook)
        inv = load_inventory(inventory) if inventory is not None else None
        problems = validate_playbook(book, inv, parse_extra_vars(extra_vars))
    except ProvisionError as exc:
        raise _fail(exc) from None
    for problem in problems:
        err.print(f"[red]error:[/red] {escape(problem)}")
    if problems:
        err.print(f"{len(problems)} error(s).")
        raise typer.Exit(1)
    tasks = sum(len(p.tasks) for p in book.plays)
    err.print(
        f"[green]ok[/green]: {escape(str(playbook))}: {len(book.plays)} play(s), {tasks} task(s)"
    )


@app.command()
def facts(
    inventory: InventoryOpt = None,
    limit: Annotated[
        str | None, typer.Option("--limit", "-l", help="Host pattern to restrict to.")
    ] = None,
    output: OutputOpt = "text",
    forks: Annotated[
        int, typer.Option("--forks", "-f", min=1, help="Hosts asked in parallel.")
    ] = 10,
    accept_new_host_keys: AcceptNewOpt = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More detail (-vvv SSH).")
    ] = 0,
) -> None:
    """Show what plays can branch on, per host: distribution, version, package manager, ..."""
    _logging(verbose)
    _check_output(output)
    try:
        inv = _inventory(inventory)
        hosts = inv.select(limit) if limit else list(inv.hosts.values())
        if not hosts:
            raise InputError(f"--limit {limit!r} matches no host in the inventory")
    except ProvisionError as exc:
        raise _fail(exc) from None
    found = host_facts.gather_all(
        hosts, Connector(accept_new_host_keys=accept_new_host_keys), forks
    )
    code = 0
    for name, got in found.items():
        if isinstance(got, ProvisionError):
            unreachable = isinstance(got, TransportError)
            code |= 4 if unreachable else 2
            kind = "unreachable" if unreachable else "failed"
            err.print(f"[red]{kind}[/red] {escape(name)}: {escape(str(got))}")
    if output == "json":
        doc = {n: asdict(f) for n, f in found.items() if isinstance(f, host_facts.Facts)}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        table = Table(box=None, pad_edge=False, highlight=False)
        columns = (
            "host",
            "distribution",
            "version",
            "family",
            "arch",
            "pkg_mgr",
            "init",
            "selinux",
        )
        for column in columns:
            table.add_column(column)
        for name, f in found.items():
            if isinstance(f, host_facts.Facts):
                row = (name, f.distribution, f.distribution_version, f.os_family, f.architecture)
                table.add_row(*map(escape, (*row, f.pkg_mgr, f.service_mgr, f.selinux)))
        Console(highlight=False, soft_wrap=True).print(table)
    if code:
        raise typer.Exit(code)


inventory_app = typer.Typer(
    help="Show an inventory (-i INV --list), or write one (from-vagrant).",
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(inventory_app, name="inventory")


@inventory_app.callback(invoke_without_command=True)
def inventory_cmd(
    ctx: typer.Context,
    inventory: Annotated[
        Path | None, typer.Option("-i", "--inventory", help="Inventory file (YAML or INI).")
    ] = None,
    list_: Annotated[
        bool, typer.Option("--list", help="Print hosts, groups and variables as JSON (default).")
    ] = False,
    limit: Annotated[str | None, typer.Option("--limit", "-l", help="Host pattern.")] = None,
) -> None:
    """Show an inventory as the tool sees it (secrets hidden)."""
    if ctx.invoked_subcommand is not None:
        return
    if inventory is None:
        err.print(
            "[red]error:[/red] give the inventory to show: provision inventory -i FILE --list"
        )
        raise typer.Exit(1)
    try:
        inv = load_inventory(inventory)
        hosts = inv.select(limit) if limit else list(inv.hosts.values())
    except ProvisionError as exc:
        raise _fail(exc) from None
    doc = {
        "groups": {g.name: {"hosts": g.hosts, "children": g.children} for g in inv.groups.values()},
        "hosts": {
            h.name: {k: ("********" if k in SECRET_VARS else v) for k, v in h.vars.items()}
            for h in hosts
        },
    }
    sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")


@inventory_app.command("from-vagrant")
def inventory_from_vagrant(
    directory: Annotated[
        Path, typer.Option("--dir", "-d", help="Directory of the Vagrantfile.")
    ] = Path("."),
    output: Annotated[
        str, typer.Option("--output", "-o", help="Inventory file to write; '-' for stdout.")
    ] = "inventories/vagrant.yml",
    via: Annotated[
        str,
        typer.Option(
            "--via",
            help="forwarded-port: the address and port of `vagrant ssh-config` (127.0.0.1:22xx "
            "for VirtualBox); private-network: each machine's address in --network.",
        ),
    ] = "forwarded-port",
    network: Annotated[
        str,
        typer.Option("--network", help="The private network's range, for --via private-network."),
    ] = str(vagrant.DEFAULT_NETWORK),
    limit: Annotated[
        str | None,
        typer.Option("--limit", "-l", help="Host pattern over machine names: only these."),
    ] = None,
    known_hosts: Annotated[
        Path | None,
        typer.Option(
            "--known-hosts",
            help="The lab's known_hosts file (default: next to the output, NAME.known_hosts).",
        ),
    ] = None,
) -> None:
    """Write an inventory of the running Vagrant machines (group `lab`).

    Host keys are accepted on first use into a known_hosts file of the lab's
    own; writing the inventory again forgets the old key of a rebuilt machine.
    """
    try:
        if via not in vagrant.VIA_CHOICES:
            raise InputError(f"--via must be {' or '.join(vagrant.VIA_CHOICES)}, not {via!r}")
        try:
            net = ipaddress.IPv4Network(network, strict=False)
        except ValueError as exc:
            raise InputError(f"--network {network!r}: {exc}") from None
        options = vagrant.Options(
            directory=directory,
            output=None if output == "-" else Path(output),
            via="private-network" if via == "private-network" else "forwarded-port",
            limit=limit,
            network=net,
            known_hosts=known_hosts,
        )
        outcome = vagrant.plan(options)
        vagrant.write(outcome)
    except ProvisionError as exc:
        raise _fail(exc) from None
    for line in outcome.forgotten:
        err.print(escape(f"{outcome.known_hosts}: {line}"))
    if outcome.output is None:
        sys.stdout.write(outcome.inventory)
    err.print(escape(outcome.summary()))


# The exit code of a run, handed to main(): typer's own usage errors also exit 2,
# which here means "a task failed"; main() maps theirs to 1 (bad input).
_run_exit_code = 0


def main() -> None:
    """The console script: exit codes as the README documents them."""
    try:
        app()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code == 2:
            code = 1
        sys.exit(code or _run_exit_code)
