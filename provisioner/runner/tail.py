"""A change command's stdout as it comes → its last line, for a live view to show.

The transport hands stdout's chunks (`transport.base.Output`); an exchange that frames
the command among other scripts (the host lock before it, probes after it) cuts its
own framing out with `after` and `until`, so only the command's lines reach `Tail`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from provisioner.transport.base import Output

EVERY = 0.25  # seconds: a line told at most this often (the view redraws ~4 times a second)
LONGEST = 400  # characters of a line told: a view shows one row of it


class Tail:
    """Told the last non-empty line of the chunks it is handed, at most every `every`
    seconds; a line that comes sooner waits for the next chunk (the transport hands a
    quiet command's b"" now and then, so it is not held for long)."""

    def __init__(
        self,
        tell: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        every: float = EVERY,
    ) -> None:
        self.tell, self.clock, self.every = tell, clock, every
        self.partial = b""
        self.latest = ""
        self.told_at: float | None = None

    def __call__(self, chunk: bytes) -> None:
        *lines, self.partial = (self.partial + chunk).split(b"\n")
        self.partial = self.partial[-4 * LONGEST :]  # a line with no end is kept bounded
        for raw in lines:
            line = raw.decode(errors="replace").strip()
            if line:
                self.latest = line[:LONGEST]
        now = self.clock()
        if self.latest and (self.told_at is None or now - self.told_at >= self.every):
            self.tell(self.latest)
            self.latest, self.told_at = "", now


def until(mark: str, sink: Output) -> Output:
    """The bytes before `mark` go to `sink`; from it on, nothing."""
    wanted = mark.encode()
    held = b""
    done = False

    def take(chunk: bytes) -> None:
        nonlocal held, done
        if done:
            return
        held += chunk
        at = held.find(wanted)
        if at >= 0:
            done = True
            sink(held[:at])
            return
        keep = _begun(held, wanted)  # the mark may be cut across chunks
        sink(held[: len(held) - keep])
        held = held[len(held) - keep :]

    return take


def _begun(data: bytes, mark: bytes) -> int:
    """How many of `data`'s last bytes are the start of `mark` (held back, not sent:
    the rest of the mark may be in the next chunk)."""
    for size in range(min(len(data), len(mark) - 1), 0, -1):
        if data.endswith(mark[:size]):
            return size
    return 0


def after(mark: str, sink: Output) -> Output:
    """Nothing up to the end of `mark`; the bytes after it go to `sink`."""
    wanted = mark.encode()
    held = b""
    started = False

    def take(chunk: bytes) -> None:
        nonlocal held, started
        if started:
            sink(chunk)
            return
        held += chunk
        at = held.find(wanted)
        if at >= 0:
            started = True
            sink(held[at + len(wanted) :])
            held = b""
            return
        held = held[-(len(wanted) - 1) :]

    return take
