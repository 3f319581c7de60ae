"""Retrying the hosts a run left failed: `.provision/last-failed`, and `--limit @FILE`.

After every run that is not a dry run, `.provision/last-failed` in the current
directory lists the hosts to retry, one a line: those the run left failed or
unreachable, then those an earlier run left there that this run did not run. A host
leaves it when a run runs it without failing; with none left, the file is removed.
`--limit @FILE` stands for the host names such a file lists, so
`--limit @.provision/last-failed`, given in the same directory, retries exactly those.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from provisioner.errors import InputError, Location
from provisioner.events import RunSummary
from provisioner.inventory import Inventory
from provisioner.inventory.patterns import LOCALHOST_NAMES, split_pattern
from provisioner.limits import read_text

__all__ = ["RETRY_FILE", "RETRY_LIMIT", "expand_limit", "read_hosts_file", "remember_failed"]

# Relative to the current directory, as the hint printed with it is: the command run
# again from there finds it (a playbook's folder may not be writable, or be shared).
RETRY_FILE = Path(".provision") / "last-failed"
RETRY_LIMIT = f"--limit @{RETRY_FILE}"


def expand_limit(limit: str, inventory: Inventory) -> str:
    """`limit` with each `@FILE` term (or `!@FILE`: all but those) replaced by the host
    names the file lists; a limit without one is returned as it is."""
    terms = _terms(limit)
    if not any(term.lstrip("!&").strip().startswith("@") for term in terms):
        return limit
    out: list[str] = []
    for term in terms:
        mark = term[0] if term[0] in "!&" else ""
        body = term[len(mark) :].strip()
        if not body.startswith("@"):
            out.append(term)
        elif mark == "&":
            raise InputError(
                f"{term!r}: a file's hosts can be added (@FILE) or left out (!@FILE), "
                "not intersected"
            )
        elif body == "@":
            raise InputError("'@' names no file: write @FILE, as in @.provision/last-failed")
        else:
            out += [mark + name for name in read_hosts_file(Path(body[1:]), inventory)]
    return ",".join(out)


def _terms(limit: str) -> list[str]:
    """The terms of a pattern as `patterns.split_pattern` reads them, except that a
    pattern without commas that starts with `@` is one file, whatever its name holds."""
    text = limit.strip()
    if "," in text:
        return [term.strip() for term in text.split(",") if term.strip()]
    if text.startswith("@"):
        return [text]
    return split_pattern(text)


def read_hosts_file(path: Path, inventory: Inventory) -> list[str]:
    """The host names of a file, one a line; blank lines and `#` comments are skipped.
    A line that names no host of the inventory is an error at file:line."""
    problems: list[InputError] = []
    names: list[str] = []
    for number, line in _named(read_text(path)):
        problem = _not_a_host(line, inventory)
        if problem:
            problems.append(InputError(problem, Location(str(path), number)))
        else:
            names.append(line)
    if problems:
        more = len(problems) - 1
        raise InputError(str(problems[0]) + (f" (and {more} more such line(s))" if more else ""))
    if not names:
        raise InputError(f"{path} names no host (a file of host names, one a line)")
    return names


def _not_a_host(name: str, inventory: Inventory) -> str | None:
    if name in inventory.hosts or name in LOCALHOST_NAMES:
        return None
    if any(c.isspace() for c in name):
        return f"{name!r}: one host name a line"
    if name in inventory.groups:
        return f"{name!r} is a group, not a host: the file lists host names, one a line"
    source = f"in {inventory.source}" if inventory.source else "(no inventory was given: -i)"
    return f"{name!r} is no host {source}"


def remember_failed(
    summary: RunSummary, known: Collection[str], base: Path = Path(".")
) -> list[str]:
    """After a run that changed hosts, the retry file under `base` lists the hosts it
    left failed or unreachable, then those an earlier run left there that this one did
    not run (and that `known`, the run's inventory, still has); none: it is removed.
    What to tell the user, one line each."""
    path = base / RETRY_FILE
    failed = [name for name, st in summary.hosts.items() if st.failed or st.unreachable]
    try:
        if not failed and not path.exists():
            return []  # nothing to write, nothing to remove
        path.parent.mkdir(exist_ok=True)
        with _locked(path.parent):  # runs side by side in one folder (shards) add up
            retry = failed + _earlier(path, summary, known, set(failed))
            if retry:
                _write(path, "".join(f"{name}\n" for name in retry))
            else:
                path.unlink(missing_ok=True)
    except OSError as exc:
        retry_with = f"; retry with --limit {','.join(failed)}" if failed else ""
        return [f"warning: could not update {RETRY_FILE}: {exc.strerror}{retry_with}"]
    if not retry:
        return [f"no host left to retry: {RETRY_FILE} removed"]
    lines = [_hint(len(failed), len(retry) - len(failed))]
    if summary.stopped:  # the hosts of the plays it never got to have not failed
        lines.append("the playbook stopped early: run it again whole to finish the other hosts")
    return lines


def _earlier(
    path: Path, summary: RunSummary, known: Collection[str], failed: set[str]
) -> list[str]:
    """The hosts the retry file lists that this run did not run (a host of a play that
    stopped early did not run) and that the run's inventory still has."""
    unfinished = {name for stop in summary.stopped for name in stop.stopped}
    ran = (set(summary.hosts) - unfinished) | failed
    kept = set(known) | LOCALHOST_NAMES
    return [name for name in _listed(path) if name in kept and name not in ran]


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and the lock with it


def _hint(failed: int, earlier: int) -> str:
    now = f"{failed} host(s) failed or were unreachable" if failed else "no host failed"
    if not earlier:
        return f"{now}: written to {RETRY_FILE}; retry exactly those with {RETRY_LIMIT}"
    kept = f"{earlier} host(s) an earlier run left to retry were not run this time"
    return f"{now}; {kept}: all in {RETRY_FILE}; retry them with {RETRY_LIMIT}"


def _listed(path: Path) -> list[str]:
    """The names the retry file holds now; none when it is missing or unreadable (it is
    written again whole)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    return [name for _, name in _named(text)]


def _named(text: str) -> list[tuple[int, str]]:
    """(line number, text) of each line that is not blank or a `#` comment."""
    lines = enumerate((line.strip() for line in text.splitlines()), start=1)
    return [(number, line) for number, line in lines if line and not line.startswith("#")]


def _write(path: Path, text: str) -> None:
    from provisioner.vagrant.files import write_atomically  # whole or not at all

    write_atomically(path, text, 0o644)
    ignore = path.parent / ".gitignore"
    if not ignore.exists():  # the folder is the run's, never the project's to commit
        write_atomically(ignore, "# written by provision: the last run's failed hosts\n*\n", 0o644)
