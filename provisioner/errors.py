"""One exception tree for everything a user can get wrong or a host can refuse.

Every message names where the problem is (file:line:col, host, task), so the
CLI can print it as-is; a traceback reaching the user is a bug.
"""

from __future__ import annotations


class ProvisionError(Exception):
    """Base of every error the CLI reports without a traceback."""


class Location:
    """A place in a user's file, printed as file:line:col."""

    __slots__ = ("file", "line", "col")

    def __init__(self, file: str, line: int | None = None, col: int | None = None) -> None:
        self.file = file
        self.line = line
        self.col = col

    def __str__(self) -> str:
        out = self.file
        if self.line is not None:
            out += f":{self.line}"
            if self.col is not None:
                out += f":{self.col}"
        return out

    def __repr__(self) -> str:
        return f"Location({str(self)!r})"


class InputError(ProvisionError):
    """Bad user input: names the place in the file."""

    def __init__(self, message: str, where: Location | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class InventoryError(InputError):
    pass


class PlaybookError(InputError):
    pass


class PlaybookErrors(ProvisionError):
    """Several playbook errors found in one pass (validate reports them all)."""

    def __init__(self, errors: list[PlaybookError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class TemplateError(InputError):
    pass


class TransportError(ProvisionError):
    """A host could not be reached or talked to; the host is 'unreachable'."""

    def __init__(self, host: str, message: str) -> None:
        self.host = host
        self.message = message
        super().__init__(f"{host}: {message}")


class ConnectError(TransportError):
    pass


class AuthError(TransportError):
    pass


class HostKeyError(TransportError):
    pass


class TimeoutError_(TransportError):
    pass


class CommandTimeout(TimeoutError_):
    """A command ran past the time it was given (a task's `timeout`): the task fails.

    `stopped`: the host stopped it (its timeout(1) answered); otherwise the host did
    not answer in time either, and the command may still be running there.
    """

    def __init__(self, host: str, message: str, *, stopped: bool) -> None:
        super().__init__(host, message)
        self.stopped = stopped


class WriteError(TransportError):
    """A reachable host would not take a file (no space, no permission): the task fails."""


class OutputTooLarge(TransportError):
    """A host sent more output for one command than the controller keeps: the command
    is cut off and its task fails (a broken or hostile host cannot fill the memory)."""


class HostBusy(TransportError):
    """Another run holds the host's lock (and this one may not wait): the host is left
    alone, as if a task failed."""


class BecomeError(TransportError):
    """sudo refused (wrong or missing password): the host cannot be managed as asked."""


class ModuleArgsError(InputError):
    """Module arguments are invalid (after templating)."""


class ProbeError(ProvisionError):
    """A probe's output could not be understood, or says the task cannot apply."""
