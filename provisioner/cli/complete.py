"""Shell completion (`provision --install-completion`): what TAB offers for a value.

Typer's completion scripts ask the command itself on every TAB, so this runs then:
it reads at most the inventory file given on the line, touches no host, and prints
nothing. Anything that goes wrong completes nothing. Paths (the playbook, `-i`) are
left to the shell's own file completion, which an empty answer falls back to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from provisioner.cli.retry import RETRY_FILE

__all__ = ["limit_candidates", "limit_values", "output_values"]

OUTPUTS = ("text", "json")


def output_values(incomplete: str) -> list[str]:
    return [value for value in OUTPUTS if value.startswith(incomplete)]


def limit_values(params: Mapping[str, Any], incomplete: str, cwd: Path = Path(".")) -> list[str]:
    """--limit's values: the host and group names of the `-i` inventory already on the
    line (nothing without one, or when it cannot be read), and the retry file if any."""
    hosts: list[str] = []
    groups: list[str] = []
    inventory = params.get("inventory")
    if isinstance(inventory, str | Path) and str(inventory):
        from provisioner.inventory.load import read_names

        try:
            hosts, groups = read_names(Path(inventory))
        except Exception:  # completion shows no error: a bad file completes nothing
            return []
    retry = [f"@{RETRY_FILE}"] if (cwd / RETRY_FILE).is_file() else []
    return limit_candidates(incomplete, [*groups, *hosts], retry)


def limit_candidates(incomplete: str, names: Iterable[str], files: Iterable[str] = ()) -> list[str]:
    """The completions of the last term of a comma-separated pattern: what is before it
    kept, its `!` or `&` kept, the names it starts, each once and not already given."""
    head, comma, term = incomplete.rpartition(",")
    mark = term[:1] if term[:1] in "!&" else ""
    start = term[len(mark) :]
    given = {t.lstrip("!&") for t in head.split(",")} if comma else set()
    # in order, once; a file's hosts are added or left out, not intersected (retry)
    offered = dict.fromkeys([*names, *(files if mark != "&" else ())])
    return [
        f"{head}{comma}{mark}{name}"
        for name in offered
        if name.startswith(start) and name not in given
    ]
