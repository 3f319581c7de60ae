"""`--shard K/N`: a slice of the selected hosts that depends on each host's name alone.

A host's shard is a stable hash of its name (the first 8 bytes of its SHA-256, as an
unsigned big-endian integer) mod N, plus 1. It depends on no other host, so adding or
removing a host moves only that host; changing N reshuffles them all, as it must.
The hash is not Python's `hash()`, which differs from one process to the next.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from provisioner.errors import InputError

_TEXT = re.compile(r"(\d+)/(\d+)")


def shard_of(name: str, count: int) -> int:
    """The shard (1..count) that host `name` is in, of `count` shards."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    def keeps(self, name: str) -> bool:
        return shard_of(name, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """`K/N` with 1 ≤ K ≤ N; an InputError saying what is wrong (the caller names the
    option)."""
    found = _TEXT.fullmatch(text.strip())
    if found is None:
        raise InputError("expected K/N, two whole numbers with 1 <= K <= N (e.g. 2/4)")
    index, count = int(found.group(1)), int(found.group(2))
    if count < 1:
        raise InputError("N, the number of shards, must be at least 1")
    if not 1 <= index <= count:
        raise InputError(f"K must be between 1 and N ({count})")
    return Shard(index, count)
