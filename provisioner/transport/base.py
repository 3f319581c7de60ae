"""The connection contract: the runner talks to a host only through this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

# Handed a command's stdout as it comes, in chunks (the Result still holds all of it),
# and b"" now and then while the command is quiet (a tick: what was held back may go).
Output = Callable[[bytes], None]


@dataclass(frozen=True)
class Become:
    """Run as another user via sudo. The password never goes on argv."""

    user: str = "root"
    password: str | None = None


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class Connection(Protocol):
    """One per host, reused for a whole run; connects lazily on first use."""

    host: str

    def run(
        self,
        script: str,
        *,
        become: Become | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
        on_output: Output | None = None,
    ) -> Result:
        """Run a POSIX sh script (LC_ALL=C) and return its exit code and output;
        `on_output` is handed its stdout as it comes.

        Raises TransportError subclasses when the host cannot be reached;
        a non-zero exit code is a Result, not an exception.
        """
        ...

    def put(self, data: bytes, path: str, mode: int = 0o600) -> None:
        """Write bytes to a path as the login user (no become)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Reopening(Protocol):
    """A connection that reopens itself when it finds itself lost (SSH)."""

    @property
    def generation(self) -> int:
        """How many times it has been opened (0: not yet). A change means it was lost
        and opened again: the host may have rebooted meanwhile."""
        ...
