"""A probe is a frozen value: its fields say what to ask, `command` how, `parse` what it means.

Being frozen dataclasses, equal probes are equal values: that is what lets the
runner ask each one once per host and batch.
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Generic, Protocol, TypeVar

from provisioner.errors import ProbeError
from provisioner.probes.footprint import Footprint

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

# Frames probe outputs in one script. Random per process: what a probed file
# holds travels base64-encoded, but nothing a host prints may pose as a frame line.
MARK = f"@@provisioner-{secrets.token_hex(8)}@@"


class Probe(ABC, Generic[T_co]):
    """Subclasses are `@dataclass(frozen=True)`: hashable, equal when they ask the same."""

    @abstractmethod
    def command(self) -> str:
        """Read-only sh (run with LC_ALL=C, stdin empty). Exit 0 unless the host cannot
        be inspected at all; what it found goes to stdout."""

    @abstractmethod
    def parse(self, stdout: str, exit_code: int) -> T_co:
        """The command's output as typed data; ProbeError when it makes no sense."""

    def reads(self, stdout: str) -> Footprint:
        """Where on the host this answer (`stdout`) came from (probes.footprint): a
        change writing elsewhere leaves it standing. None: it may depend on anything."""
        return None


class Seen(Protocol):
    """What a module's `state()` reads its probes' answers through."""

    def __call__(self, probe: Probe[T]) -> T: ...


class Answers:
    """Raw answers of probes, parsed when a module asks for them."""

    def __init__(self, raw: dict[Probe[Any], tuple[str, int]]) -> None:
        self.raw = raw

    def __call__(self, probe: Probe[T]) -> T:
        try:
            stdout, code = self.raw[probe]
        except KeyError:
            raise ProbeError(f"no answer to the probe {probe!r}") from None
        return probe.parse(stdout, code)


def frame(scripts: Sequence[str], mark: str = MARK) -> str:
    """One script running each probe in a subshell of its own, its output and exit code
    framed by `mark` lines, stdin closed so no probe can eat the next one's input."""
    body = [
        f"printf '\\n%s %d begin\\n' '{mark}' {i}\n( {script}\n) </dev/null\n"
        f"printf '\\n%s %d end %d\\n' '{mark}' {i} \"$?\"\n"
        for i, script in enumerate(scripts)
    ]
    return "(\n" + "".join(body) + ")"


def unframe(stdout: str, count: int, mark: str = MARK) -> list[tuple[str, int]] | None:
    """Cut framed output into each probe's (output, exit code); None if it is not whole."""
    out: list[tuple[str, int]] = []
    rest = stdout
    for i in range(count):
        begin = f"\n{mark} {i} begin\n"
        start = rest.find(begin)
        if start < 0:
            return None
        rest = rest[start + len(begin) :]
        end_prefix = f"\n{mark} {i} end "
        end = rest.find(end_prefix)
        if end < 0:
            return None
        body = rest[:end]
        code_text, _, rest = rest[end + len(end_prefix) :].partition("\n")
        if not code_text.isdigit():
            return None
        out.append((body, int(code_text)))
    return out


def answers_of(probes: Sequence[Probe[Any]], stdout: str, mark: str = MARK) -> Answers:
    """Answers from the output of `frame([p.command() for p in probes])`."""
    outputs = unframe(stdout, len(probes), mark)
    if outputs is None:
        raise ProbeError(f"probe output is not whole: {stdout[-300:]!r}")
    return Answers(dict(zip(probes, outputs, strict=True)))
