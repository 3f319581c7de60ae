"""What every command shares: printing errors, logging, extra vars, the inventory."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from provisioner.errors import InputError, PlaybookErrors, ProvisionError
from provisioner.secrets import Secrets, secret_names

if TYPE_CHECKING:
    from rich.console import Console

    from provisioner.inventory import Host, Inventory
    from provisioner.inventory.shard import Shard


# The values this run must never print. The CLI's streams mask them (protect_output),
# so an error, a log line or a diff that would show one shows ******** instead.
SECRETS = Secrets()


class _Masked:
    """A text stream that masks the run's secrets in everything written to it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(SECRETS.scrub(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def protect_output() -> None:
    """stdout and stderr mask secrets from here on (logging, rich and typer write there)."""
    if not isinstance(sys.stdout, _Masked):
        sys.stdout = _Masked(sys.stdout)
    if not isinstance(sys.stderr, _Masked):
        sys.stderr = _Masked(sys.stderr)


def note_secrets(variables: Mapping[str, Any]) -> set[str]:
    """Remember the values of the secret variables among these; their names."""
    from provisioner.templating import names_in

    secret = secret_names(variables, names_in)
    SECRETS.add_from(variables, secret)
    return secret


def note_inventory_secrets(inventory: Inventory) -> None:
    for host in inventory.hosts.values():
        note_secrets(host.vars)
        SECRETS.add(host.connection.password)
        SECRETS.add(host.connection.become_password)


@lru_cache(maxsize=1)
def err() -> Console:
    from rich.console import Console

    # soft_wrap: long lines stay whole in logs and pipes (rich would break them at 80 columns)
    return Console(stderr=True, highlight=False, soft_wrap=True)


COLORS = {"red": "31", "green": "32", "yellow": "33"}


def say(text: str, label: str = "", color: str = "") -> None:
    """One line on stderr, the text as-is; `label` coloured on a terminal. Plain writes,
    not rich: the commands that only say a line or two (validate) start faster."""
    if label and color and sys.stderr.isatty() and not os.environ.get("NO_COLOR"):
        label = f"\033[{COLORS[color]}m{label}\033[0m"
    sys.stderr.write(f"{label} {text}\n" if label else f"{text}\n")


def say_error(text: str) -> None:
    say(text, "error:", "red")


def fail(exc: ProvisionError) -> int:
    """Report bad input; exit code 1."""
    if isinstance(exc, PlaybookErrors):
        for error in exc.errors:
            say_error(str(error))
        say(f"{len(exc.errors)} error(s); nothing was changed.")
    else:
        say_error(str(exc))
    return 1


def check_output(output: str) -> None:
    if output not in ("text", "json"):
        raise InputError("--output must be 'text' or 'json'")


def setup_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG), stream=sys.stderr, format="%(name)s: %(message)s"
    )
    # paramiko logs every failed auth attempt and socket error itself; we
    # report those as one line per host. Its DEBUG (packets) is for -vvv.
    paramiko_level = {0: logging.CRITICAL, 1: logging.CRITICAL, 2: logging.WARNING}
    logging.getLogger("paramiko").setLevel(paramiko_level.get(verbose, logging.DEBUG))


def parse_extra_vars(values: list[str] | None) -> dict[str, Any]:
    """`-e key=value`, `-e @vars.yml`, `-e '{"k": 1}'`: YAML read as every file is
    (`yamlmarks`: its limits, errors at file:line or `-e:line:col`)."""
    from provisioner.yamlmarks import load_yaml, load_yaml_text

    out: dict[str, Any] = {}
    for value in values or []:
        SECRETS.add(_secret_words(value))
        if value.startswith("@"):
            data = load_yaml(Path(value[1:]))
            what = f"-e {value}: the file"
        elif value.lstrip().startswith("{"):
            data = load_yaml_text(value, "-e")
            what = "-e: the value"
        else:
            key, eq, val = value.partition("=")
            if not eq or not key.isidentifier():
                raise InputError(f"-e {value!r}: expected key=value, @file.yml or a mapping")
            out[key] = val
            continue
        if not isinstance(data, dict):
            raise InputError(f"{what} must hold a mapping")
        bad = next((k for k in data if not isinstance(k, str)), None)
        if bad is not None:
            raise InputError(f"{what} has a variable name that is not a string: {bad!r}")
        out.update(data)
    note_secrets(out)
    return out


def _secret_words(value: str) -> list[str]:
    """`-e api_token=x`: the value of a secret name, before anything could print it."""
    key, eq, val = value.partition("=")
    from provisioner.secrets import is_secret

    return [val] if eq and is_secret(key.strip()) else []


def limited(inventory: Inventory, limit: str | None) -> list[Host]:
    """The hosts --limit selects (all without it); an empty or unmatched pattern is an
    error, never a silent run everywhere or nowhere."""
    return select_limit(inventory, limit)[1]


def select_limit(inventory: Inventory, limit: str | None) -> tuple[str | None, list[Host]]:
    """The pattern --limit stands for, each `@FILE` in it read (its host names), and the
    hosts it selects."""
    if limit is None:
        return None, list(inventory.hosts.values())
    if not limit.strip():
        raise InputError(
            f"--limit {limit!r} is an empty pattern (leave --limit out for every host)"
        )
    from provisioner.cli.retry import expand_limit

    try:
        pattern = expand_limit(limit, inventory)
        hosts = inventory.select(pattern)
    except InputError as exc:
        raise InputError(f"--limit {limit!r}: {exc}") from None
    if not hosts:
        raise InputError(f"--limit {limit!r} matches no host in the inventory")
    return pattern, hosts


def sharded(text: str | None) -> Shard | None:
    """--shard K/N, checked before anything is read or run."""
    if text is None:
        return None
    from provisioner.inventory.shard import parse_shard

    try:
        return parse_shard(text)
    except InputError as exc:
        raise InputError(f"--shard {text!r}: {exc.message}") from None


def say_shard(shard: Shard, selected: int, mine: set[str]) -> None:
    """How many of the selected hosts this shard runs on: none is an empty run, not an
    error (a fleet split into more shards than it has hosts has empty shards)."""
    if mine:
        say(f"shard {shard}: {len(mine)} of the {selected} selected host(s)")
    else:
        say(f"shard {shard}: none of the {selected} selected host(s); nothing to do")


def load_inventory_or_local(path: Path | None) -> Inventory:
    from provisioner.inventory import load_inventory, localhost_inventory

    inventory = load_inventory(path) if path is not None else localhost_inventory()
    note_inventory_secrets(inventory)
    return inventory
