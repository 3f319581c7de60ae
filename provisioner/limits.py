"""How much input the loaders take, and reading a file within it.

A hostile or broken file (a YAML alias bomb, `web[0:99999999]`, `-e @/dev/zero`)
is refused with an error that names the limit, instead of hanging or eating
memory. Each limit is far above what a real playbook, inventory or vars file
needs, and low enough that input at the limit loads in seconds and well under
a gigabyte (PyYAML's pure-Python loader reads about 150 KB a second).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from provisioner.errors import InputError, Location

__all__ = [
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_HOST_NAME",
    "MAX_HOST_VARIABLES",
    "MAX_INVENTORY_HOSTS",
    "MAX_PATTERN_HOSTS",
    "MAX_PATTERN_RANGES",
    "MAX_VALUES",
    "READS",
    "ReadLog",
    "read_text",
]

# One playbook, inventory or vars file.
MAX_FILE_BYTES = 2 * 1024 * 1024
# Containers inside containers: well below Python's recursion limit, so that
# no walk over the data (templating, JSON output) can overflow the stack.
MAX_DEPTH = 100
# Alias uses (`*name`) in one YAML document.
MAX_ALIASES = 10_000
# Values (scalars, lists, mappings) in one YAML document once aliases are
# expanded: what every later walk over the data costs.
MAX_VALUES = 250_000
# Host ranges (`web[01:20]`): hosts one pattern stands for, ranges in it, and
# the length of a host name (a DNS name has at most 253 characters).
MAX_PATTERN_HOSTS = 10_000
MAX_PATTERN_RANGES = 8
MAX_HOST_NAME = 255
# One inventory: its hosts, and the variables they get in all (each host gets
# a copy of every variable of its groups).
MAX_INVENTORY_HOSTS = 50_000
MAX_HOST_VARIABLES = 1_000_000


def mib(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB"


class ReadLog:
    """The controller files a run read (playbooks, roles, vars files, templates, the
    inventory), while `start`ed: a saved plan records their digests (`provision plan`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paths: set[Path] | None = None

    def start(self) -> None:
        with self._lock:
            self._paths = set()

    def note(self, path: Path) -> None:
        with self._lock:
            if self._paths is not None:
                self._paths.add(Path(os.path.abspath(path)))

    def stop(self) -> set[Path]:
        with self._lock:
            paths, self._paths = self._paths or set(), None
        return paths


READS = ReadLog()


def read_text(path: Path, *, error: type[InputError] = InputError) -> str:
    """A UTF-8 text file of at most MAX_FILE_BYTES, newlines as Python reads them.

    Reads no more than the limit allows, so `/dev/zero` or a huge file costs
    nothing. Errors name the file as `path` was given.
    """
    READS.note(path)
    where = Location(str(path))
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise error(f"cannot read file: {err.strerror or err}", where) from None
    if len(data) > MAX_FILE_BYTES:
        raise error(
            f"file is larger than {mib(MAX_FILE_BYTES)} (the limit for a playbook, "
            "inventory or vars file)",
            where,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        col = err.start - data.rfind(b"\n", 0, err.start)  # in bytes
        raise error(
            f"not UTF-8 text: {err.reason} at byte {err.start}", Location(str(path), line, col)
        ) from None
    # What Path.read_text gives: universal newlines.
    return text.replace("\r\n", "\n").replace("\r", "\n")
