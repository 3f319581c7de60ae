"""The `provision` command: apply, plan, show, validate, facts, schema, inventory, report.

Only the command line is declared here; each command's work lives in its own
module, imported when that command runs, so `provision --help` or `validate`
never pay for SSH (paramiko) or Vagrant. Each command returns its exit code
(0 ok, 1 bad input, 2 a task failed, 3 a saved plan stale for some hosts (apply --plan),
4 a host unreachable, 6 both 2 and 4, 130 interrupted, 143 terminated).
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

# rich_markup_mode=None: help and usage errors in click's plain layout; typer's rich
# layout alone would cost `provision --help` more time than the rest of its start.
# add_completion: typer's --install-completion and --show-completion (bash, zsh, fish).
app = typer.Typer(
    help="Agentless, idempotent provisioning over SSH, with an honest dry run.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
PROG = "provision"
COMPLETE_VAR = "_PROVISION_COMPLETE"  # what typer's completion scripts set on each TAB


def _complete_limit(ctx: typer.Context, incomplete: str) -> list[str]:
    from provisioner.cli.complete import limit_values

    return limit_values(ctx.params, incomplete)


def _complete_output(incomplete: str) -> list[str]:
    from provisioner.cli.complete import output_values

    return output_values(incomplete)


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
    str,
    typer.Option(
        "--output",
        "-o",
        help="text or json (json: one document on stdout).",
        autocompletion=_complete_output,
    ),
]
AcceptNewOpt = Annotated[
    bool,
    typer.Option(
        "--accept-new-host-keys",
        help="Trust and save keys of hosts never seen before (a changed key is still refused).",
    ),
]
LimitOpt = Annotated[
    str | None,
    typer.Option(
        "--limit",
        "-l",
        help="Host pattern to restrict to; @FILE: the hosts a file lists, one a line "
        "(@.provision/last-failed: those the last runs left failed).",
        autocompletion=_complete_limit,
    ),
]
ShardOpt = Annotated[
    str | None,
    typer.Option(
        "--shard",
        metavar="K/N",
        help="Only slice K of N (1-based) of the selected hosts, after --limit; a host's slice "
        "depends on its name alone (docs/fleet.md).",
    ),
]
VerboseOpt = Annotated[
    int, typer.Option("--verbose", "-v", count=True, help="More detail (-vv output, -vvv SSH).")
]
ForksOpt = Annotated[int, typer.Option("--forks", "-f", min=1, help="Hosts worked on in parallel.")]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        "-T",
        min=0.1,
        help="Seconds to wait for a host when connecting; a connected host that "
        "acknowledges nothing for 3 times as long is lost.",
    ),
]
JunitOpt = Annotated[
    Path | None,
    typer.Option(
        "--junit", metavar="FILE", help="Write the report card as JUnit XML (a suite per host)."
    ),
]
HtmlOpt = Annotated[
    Path | None,
    typer.Option(
        "--html", metavar="FILE", help="Write the report card as one HTML page (hosts × tasks)."
    ),
]

TagsOpt = Annotated[
    str | None,
    typer.Option("--tags", "-t", help="Only tasks with these tags (comma-separated)."),
]

SkipTagsOpt = Annotated[str | None, typer.Option("--skip-tags", help="Skip tasks with these tags.")]

StartAtOpt = Annotated[
    str | None, typer.Option("--start-at-task", help="Start at the task with this name.")
]

AskBecomePassOpt = Annotated[
    bool,
    typer.Option("--ask-become-pass", "-K", help="Ask once for the sudo password of all hosts."),
]

NoWaitOpt = Annotated[
    bool,
    typer.Option(
        "--no-wait", help="Leave alone a host that another run holds, instead of waiting."
    ),
]


RolesPathOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--roles-path",
        "-r",
        help="Where to look for roles, before PROVISION_ROLES_PATH and ANSIBLE_ROLES_PATH "
        "(repeatable; colon-separated lists too).",
    ),
]


@app.command()
def apply(
    playbook: Annotated[
        Path | None, typer.Argument(help="Playbook YAML file (none with --plan).")
    ] = None,
    inventory: InventoryOpt = None,
    check: Annotated[
        bool, typer.Option("--check", "-C", help="Dry run: show what would change, change nothing.")
    ] = False,
    diff: Annotated[
        bool, typer.Option("--diff", "-D", help="Show file diffs and one-line changes.")
    ] = False,
    limit: LimitOpt = None,
    shard: ShardOpt = None,
    tags: TagsOpt = None,
    skip_tags: SkipTagsOpt = None,
    start_at_task: StartAtOpt = None,
    extra_vars: ExtraVarsOpt = None,
    ask_become_pass: AskBecomePassOpt = False,
    forks: ForksOpt = 20,
    output: OutputOpt = "text",
    accept_new_host_keys: AcceptNewOpt = False,
    verbose: VerboseOpt = 0,
    timeout: TimeoutOpt = 10.0,
    no_wait: NoWaitOpt = False,
    roles_path: RolesPathOpt = None,
    junit: JunitOpt = None,
    html: HtmlOpt = None,
    plan: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            help="Apply exactly this saved plan (provision plan): a host that drifted since "
            "stops before the drifted task (exit code 3).",
        ),
    ] = None,
) -> int:
    """Converge hosts to a playbook (or, with --check, show exactly what would change)."""
    given = dict(locals())
    given.pop("plan")
    from provisioner.cli import run

    if plan is not None:
        from provisioner.cli import plan as saved

        return saved.apply_plan(run.ApplyArgs(**given), plan)
    return run.apply(run.ApplyArgs(**given))


@app.command()
def verify(
    playbook: Annotated[Path, typer.Argument(help="Playbook YAML file.")],
    inventory: InventoryOpt = None,
    junit: JunitOpt = None,
    html: HtmlOpt = None,
    limit: LimitOpt = None,
    shard: ShardOpt = None,
    tags: TagsOpt = None,
    skip_tags: SkipTagsOpt = None,
    extra_vars: ExtraVarsOpt = None,
    ask_become_pass: AskBecomePassOpt = False,
    forks: ForksOpt = 20,
    output: OutputOpt = "text",
    accept_new_host_keys: AcceptNewOpt = False,
    verbose: VerboseOpt = 0,
    timeout: TimeoutOpt = 10.0,
    no_wait: NoWaitOpt = False,
    roles_path: RolesPathOpt = None,
) -> int:
    """Which hosts are right: a dry run read as a test (exit 0 only if every host passes)."""
    given = dict(locals())
    from provisioner.cli import run

    return run.apply(run.ApplyArgs(**given, check=True, diff=True, start_at_task=None, verify=True))


@app.command("plan")
def plan_cmd(
    playbook: Annotated[Path, typer.Argument(help="Playbook YAML file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The plan file to write (JSON).")],
    inventory: InventoryOpt = None,
    limit: LimitOpt = None,
    tags: TagsOpt = None,
    skip_tags: SkipTagsOpt = None,
    start_at_task: StartAtOpt = None,
    extra_vars: ExtraVarsOpt = None,
    ask_become_pass: AskBecomePassOpt = False,
    forks: ForksOpt = 20,
    accept_new_host_keys: AcceptNewOpt = False,
    verbose: VerboseOpt = 0,
    timeout: TimeoutOpt = 10.0,
    no_wait: NoWaitOpt = False,
    roles_path: RolesPathOpt = None,
) -> int:
    """Dry run, saved: print what would change per host and write it to a plan file, to
    review (provision show) and then apply exactly (provision apply --plan)."""
    from provisioner.cli import plan as saved
    from provisioner.cli import run

    args = run.ApplyArgs(
        playbook=playbook,
        inventory=inventory,
        check=True,
        diff=True,
        limit=limit,
        tags=tags,
        skip_tags=skip_tags,
        start_at_task=start_at_task,
        extra_vars=extra_vars,
        ask_become_pass=ask_become_pass,
        forks=forks,
        output="text",
        accept_new_host_keys=accept_new_host_keys,
        verbose=verbose,
        timeout=timeout,
        no_wait=no_wait,
        roles_path=roles_path,
    )
    return saved.plan(args, out)


@app.command()
def show(
    plan: Annotated[Path, typer.Argument(help="A plan file (provision plan -o FILE).")],
    output: OutputOpt = "text",
) -> int:
    """Show a saved plan: per host, what would change (or the plan as JSON)."""
    from provisioner.cli import plan as saved

    return saved.show(plan, output)


@app.command()
def validate(
    playbook: Annotated[Path, typer.Argument(help="Playbook YAML file.")],
    inventory: InventoryOpt = None,
    extra_vars: ExtraVarsOpt = None,
    roles_path: RolesPathOpt = None,
) -> int:
    """Load and compile a playbook for every host; report every error; touch no host."""
    from provisioner.cli import check

    return check.validate(playbook, inventory, extra_vars, roles_path)


@app.command()
def facts(
    inventory: InventoryOpt = None,
    limit: LimitOpt = None,
    output: OutputOpt = "text",
    forks: Annotated[
        int, typer.Option("--forks", "-f", min=1, help="Hosts asked in parallel.")
    ] = 20,
    accept_new_host_keys: AcceptNewOpt = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More detail (-vvv SSH).")
    ] = 0,
    timeout: TimeoutOpt = 10.0,
) -> int:
    """Show what plays can branch on, per host: distribution, version, package manager, ..."""
    from provisioner.cli import hosts

    return hosts.facts(inventory, limit, output, forks, accept_new_host_keys, verbose, timeout)


class SchemaKind(str, Enum):
    playbook = "playbook"
    tasks = "tasks"
    inventory = "inventory"


@app.command()
def schema(
    kind: Annotated[
        SchemaKind,
        typer.Argument(help="playbook, tasks (a tasks or handlers file, a role's) or inventory."),
    ] = SchemaKind.playbook,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write it to this file, not stdout.")
    ] = None,
) -> int:
    """Print the JSON Schema of a playbook, a tasks file or an inventory, for an editor
    (see docs/editors.md)."""
    from provisioner.cli import schemas

    return schemas.show(kind.value, output)


inventory_app = typer.Typer(
    help="Show an inventory (-i INV --list), or write one (from-vagrant).",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
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
    limit: Annotated[
        str | None,
        typer.Option(
            "--limit",
            "-l",
            help="Host pattern (@FILE: a file's hosts).",
            autocompletion=_complete_limit,
        ),
    ] = None,
) -> int:
    """Show an inventory as the tool sees it (secrets hidden)."""
    if ctx.invoked_subcommand is not None:
        return 0
    from provisioner.cli import hosts

    return hosts.show_inventory(inventory, limit)


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
    ] = "192.168.56.0/21",
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
) -> int:
    """Write an inventory of the running Vagrant machines (group `lab`).

    Host keys are accepted on first use into a known_hosts file of the lab's
    own; writing the inventory again forgets the old key of a rebuilt machine.
    """
    from provisioner.cli import vagrant

    return vagrant.from_vagrant(directory, output, via, network, limit, known_hosts)


report_app = typer.Typer(
    help="Work with the JSON reports of `apply -o json`: merge those of a run's shards.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(report_app, name="report")


@report_app.command("merge")
def report_merge(
    reports: Annotated[
        list[Path],
        typer.Argument(
            metavar="REPORT",
            help="The reports (`provision apply --shard K/N -o json`), one per shard.",
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output", "-o", help="text (the recap) or json (the merged report on stdout)."
        ),
    ] = "text",
) -> int:
    """Merge the JSON reports of a run's shards into one report and one recap; the exit
    code is apply's over all their hosts (docs/fleet.md)."""
    from provisioner.cli import reports as merging

    return merging.merge(reports, output)


def main() -> None:
    """The console script: exit codes as the README documents them. Usage errors are
    bad input (1), not the 2 of "a task failed" that click would give them."""
    from provisioner.cli.common import protect_output

    protect_output()
    if os.environ.get(COMPLETE_VAR):
        _complete()
    try:
        code = app(standalone_mode=False, prog_name=PROG)
    except typer.Abort:
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click's usage errors: shown as click shows them
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _complete() -> NoReturn:
    """Answer a TAB (typer prints the candidates and exits). A failure completes nothing
    and says nothing: a traceback would land in the middle of the user's command line."""
    try:
        app(prog_name=PROG, complete_var=COMPLETE_VAR)
    except SystemExit:
        raise
    except BaseException:
        sys.exit(1)
    sys.exit(0)
