"""What the hosts of one batch share while each runs the play on its own thread: the
signal that stops them all, and the results of `run_once` tasks."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

# delegate_to names that mean the controller: the only delegation supported yet.
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass
class Stop:
    """Set, every host of the batch stops at its next task (meta end_play/end_batch,
    any_errors_fatal, max_fail_percentage)."""

    now: threading.Event = field(default_factory=threading.Event)
    play_ended: bool = False  # meta end_play: the later batches do not run either
    reason: str | None = None  # a failure stopped the batch: the playbook stops too

    def end(self, *, play: bool) -> None:
        self.play_ended = self.play_ended or play
        self.now.set()

    def fail(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self.now.set()


@dataclass
class Batch:
    """The hosts running the play together now (all of the play's without `serial`)."""

    label: str  # "batch 2 of 3", or "" without serial
    hosts: tuple[str, ...]
    play_hosts: tuple[str, ...]  # every host of the play, all batches
    failed: set[str] = field(default_factory=set)
    stop: Stop = field(default_factory=Stop)
    once: Once = field(default_factory=lambda: Once())


@dataclass
class Shared:
    """What a run_once task left on the host that ran it, for the batch's other hosts."""

    host: str
    names: dict[str, Any]  # registered and set_fact values, as that host has them
    failed: bool = False
    msg: str = ""


@dataclass
class _Slot:
    done: threading.Event = field(default_factory=threading.Event)
    shared: Shared | None = None


class Once:
    """run_once: the first host of the batch to reach the task runs it; the others wait
    for its result and take it as theirs (Ansible applies it to every host of the
    batch)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[str, _Slot] = {}

    def claim(self, key: str) -> bool:
        """True: this host runs it (and must `publish`); False: `wait` for the result."""
        with self._lock:
            if key in self._slots:
                return False
            self._slots[key] = _Slot()
            return True

    def publish(self, key: str, shared: Shared) -> None:
        slot = self._slots[key]
        slot.shared = shared
        slot.done.set()

    def wait(self, key: str, stop: Stop) -> Shared | None:
        """The result; None when the batch stopped before it came."""
        slot = self._slots[key]
        while not slot.done.wait(0.2):
            if stop.now.is_set():
                return None
        return slot.shared
