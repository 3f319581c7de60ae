"""`provision validate`: every error of a playbook (and inventory), no host touched."""

from __future__ import annotations

from pathlib import Path

from provisioner.cli.common import (
    fail,
    note_inventory_secrets,
    parse_extra_vars,
    say,
    say_error,
)
from provisioner.connect import login_user_of
from provisioner.errors import ProvisionError
from provisioner.playbook.load import load_playbook
from provisioner.playbook.roles import set_roles_path
from provisioner.playbook.schema import walk
from provisioner.validate import validate as validate_playbook
from provisioner.validate import warnings


def validate(
    playbook: Path,
    inventory: Path | None,
    extra_vars: list[str] | None,
    roles_path: list[str] | None = None,
) -> int:
    set_roles_path([p for given in roles_path or [] for p in given.split(":") if p])
    try:
        book = load_playbook(playbook)
        inv = None
        if inventory is not None:
            from provisioner.inventory import load_inventory

            inv = load_inventory(inventory)
            note_inventory_secrets(inv)
        problems = validate_playbook(
            book, inv, parse_extra_vars(extra_vars), login_user=login_user_of
        )
    except ProvisionError as exc:
        return fail(exc)
    for warning in warnings(book):
        say(warning, "warning:", "yellow")
    for problem in problems:
        say_error(problem)
    if problems:
        say(f"{len(problems)} error(s).")
        return 1
    tasks = sum(1 for p in book.plays for t in walk(p.tasks) if not t.implicit)
    say(f"{playbook}: {len(book.plays)} play(s), {tasks} task(s)", "ok:", "green")
    return 0
