"""`provision facts` and `provision inventory --list`: what the tool sees of the hosts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from provisioner.cli.common import (
    check_output,
    err,
    fail,
    limited,
    load_inventory_or_local,
    note_inventory_secrets,
    note_secrets,
    say_error,
    setup_logging,
)
from provisioner.errors import ProvisionError, TransportError
from provisioner.inventory import SECRET_VARS, load_inventory
from provisioner.probes.host import Facts
from provisioner.secrets import masked


def facts(
    inventory: Path | None,
    limit: str | None,
    output: str,
    forks: int,
    accept_new_host_keys: bool,
    verbose: int,
    timeout: float = 10.0,
) -> int:
    from rich.console import Console

    from provisioner.connect import Connector
    from provisioner.report import facts_table, say_unreached
    from provisioner.runner.facts import gather_all

    setup_logging(verbose)
    try:
        check_output(output)
        hosts = limited(load_inventory_or_local(inventory), limit)
    except ProvisionError as exc:
        return fail(exc)
    connector = Connector(accept_new_host_keys=accept_new_host_keys, connect_timeout=timeout)
    found = gather_all(hosts, connector, forks)
    code = 0
    for name, got in found.items():
        if isinstance(got, ProvisionError):
            unreachable = isinstance(got, TransportError)
            code |= 4 if unreachable else 2
            say_unreached(err(), name, got, unreachable=unreachable)
    known = {n: f for n, f in found.items() if isinstance(f, Facts)}
    if output == "json":
        sys.stdout.write(json.dumps({n: f.shown() for n, f in known.items()}, indent=2) + "\n")
    else:
        facts_table(Console(highlight=False, soft_wrap=True), known)
    return code


def show_inventory(inventory: Path | None, limit: str | None) -> int:
    if inventory is None:
        say_error("give the inventory to show: provision inventory -i FILE --list")
        return 1
    try:
        inv = load_inventory(inventory)
        note_inventory_secrets(inv)
        hosts = limited(inv, limit)
    except ProvisionError as exc:
        return fail(exc)
    doc = {
        "groups": {g.name: {"hosts": g.hosts, "children": g.children} for g in inv.groups.values()},
        "hosts": {h.name: masked(h.vars, note_secrets(h.vars) | set(SECRET_VARS)) for h in hosts},
    }
    sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
    return 0
