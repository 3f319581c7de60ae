"""`provision validate`: every error of a playbook (and inventory), no host touched."""

from __future__ import annotations

from pathlib import Path

from provisioner.cli.common import err, fail, parse_extra_vars, say_error
from provisioner.connect import login_user_of
from provisioner.errors import ProvisionError
from provisioner.inventory import load_inventory
from provisioner.playbook.load import load_playbook
from provisioner.validate import validate as validate_playbook


def validate(playbook: Path, inventory: Path | None, extra_vars: list[str] | None) -> int:
    from rich.markup import escape

    try:
        book = load_playbook(playbook)
        inv = load_inventory(inventory) if inventory is not None else None
        problems = validate_playbook(
            book, inv, parse_extra_vars(extra_vars), login_user=login_user_of
        )
    except ProvisionError as exc:
        return fail(exc)
    for problem in problems:
        say_error(problem)
    if problems:
        err().print(f"{len(problems)} error(s).")
        return 1
    tasks = sum(len(p.tasks) for p in book.plays)
    err().print(
        f"[green]ok[/green]: {escape(str(playbook))}: {len(book.plays)} play(s), {tasks} task(s)"
    )
    return 0
