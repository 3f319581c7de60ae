"""The run's connections: one per host, opened lazily in the host's thread, and the
host's lock carried by its exchanges (see gate and hostlock): looked at in the first,
taken in the first that changes the host, taken again after a reconnect, given back
at the end."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from provisioner.errors import (
    HostBusy,
    InputError,
    ProvisionError,
)
from provisioner.events import Event, HostNote
from provisioner.inventory import Host, Inventory
from provisioner.inventory.shard import Shard
from provisioner.modules.base import Comeback
from provisioner.playbook.compile import select_hosts
from provisioner.playbook.schema import Playbook, PlaySpec
from provisioner.runner import hostlock
from provisioner.runner.comeback import Returned, await_comeback
from provisioner.runner.gate import Gate, Gated
from provisioner.transport.base import Become, Connection, Reopening

log = logging.getLogger(__name__)

LOCK_TASK = "Host lock"
UNLOCKED = -1  # a lock's generation no connection has: the next use takes it again


@runtime_checkable
class Retimed(Protocol):
    """A connector that can open connections with another connect timeout (the CLI's
    Connector): a reboot's `connect_timeout`."""

    def within(self, connect_timeout: float) -> Callable[[Host], Connection]: ...


@dataclass(frozen=True)
class LockOptions:
    lock: bool  # take host locks at all
    wait: bool  # wait for another run's lock (else: leave the host alone)
    check: bool  # a dry run waits for an apply's lock but takes none
    limit: str | None
    become_password: str | None
    shard: Shard | None = None


class Connections:
    def __init__(
        self,
        connect: Callable[[Host], Connection],
        playbook: Playbook,
        inventory: Inventory,
        options: LockOptions,
        login_user: Callable[[Host], str],
        emit: Callable[[Event], None],
    ) -> None:
        self.connect = connect
        self.playbook = playbook
        self.inventory = inventory
        self.options = options
        self.login_user = login_user
        self.emit = emit
        self.run_id = hostlock.RunId.new()
        self._open: dict[str, Connection] = {}
        self._gates: dict[str, Gate] = {}  # hosts whose lock this run uses
        self._locks: dict[str, int] = {}  # host → its connection's generation when locked
        self._guard = threading.Lock()
        self._selected: list[frozenset[str]] | None = None  # each play's hosts, once
        self._selecting = threading.Lock()

    def get(self, host: Host) -> Connection:
        conn = self._open.get(host.name)
        if conn is None:
            conn = self.connect(host)
            with self._guard:
                self._open[host.name] = conn
        elif host.name in self._locks and _generation(conn) != self._locks[host.name]:
            self._relock(host, conn)
        gate = self._gates.get(host.name)
        return Gated(conn, gate) if gate is not None else conn

    def _lock_plan(self, host: Host) -> tuple[bool, Become | None]:
        """Whether this run locks the host, and through which sudo. The lock is under /run,
        so it is taken as root: a run that never becomes root there, logged in as another
        user, can change only what that user may, and takes none."""
        if not self.options.lock or host.connection.connection == "local":
            return False, None
        plays = [
            play
            for play, names in zip(self.playbook.plays, self._play_hosts(), strict=True)
            if host.name in names
        ]
        if any(_becomes(play) for play in plays):
            password = host.connection.become_password or self.options.become_password
            return True, Become("root", password)
        try:
            return self.login_user(host) == "root", None
        except InputError:  # an ssh config it cannot read: connecting says so
            return False, None

    def _play_hosts(self) -> list[frozenset[str]]:
        """Each play's selected hosts, found once per run, not once per host (which
        grew with the square of the hosts)."""
        with self._selecting:
            if self._selected is None:
                chosen = (self.options.limit, self.options.shard)
                self._selected = [
                    frozenset(h.name for h in select_hosts(self.inventory, play, *chosen))
                    for play in self.playbook.plays
                ]
            return self._selected

    def lock(self, host: Host) -> None:
        """The host's lock for this run, carried by its exchanges from now on (see gate):
        nothing is sent yet."""
        wanted, become = self._lock_plan(host)
        if host.name in self._gates or not wanted:
            return

        def waiting(other: hostlock.Holder) -> None:
            text = f"waiting: {other.describe()} holds this host ({hostlock.LOCK_DIR})"
            self.emit(HostNote(host.name, text))

        def taken(answer: hostlock.Answer, generation: int) -> None:
            self._locks[host.name] = generation
            if answer.stale and answer.other is not None:
                gone = f"took over a stale lock: {answer.other.describe()} is gone from this host"
                if answer.leftovers:
                    gone += f"; removed the {len(answer.leftovers)} upload(s) it left in /tmp"
                self.emit(HostNote(host.name, gone))

        self._gates[host.name] = Gate(
            host.name,
            self.run_id,
            become,
            check=self.options.check,
            wait=self.options.wait,
            waiting=waiting,
            on_take=taken,
        )

    def _relock(self, host: Host, conn: Connection) -> None:
        """The connection was lost and opened again (a reboot also clears /run): hold the
        lock again before going on. HostBusy when another run took it meanwhile."""
        self._locks[host.name] = _generation(conn)
        _, become = self._lock_plan(host)
        try:
            hostlock.acquire(
                conn,
                self.run_id,
                become=become,
                check=self.options.check,
                wait=False,
                waiting=_no_note,
            )
        except HostBusy as exc:
            lost = "another run took this host while this run's connection to it was lost"
            raise HostBusy(host.name, f"{lost}: {exc.message}") from None
        self._locks[host.name] = _generation(conn)  # a fresh one opened just now

    def reconnect(self, host: Host) -> None:
        """A new login (the login user's groups changed). A lock goes to the new
        connection before the old one closes, so it never lacks a live holder."""
        old = self._open.get(host.name)
        if old is None:
            return
        if host.name in self._locks and not self.options.check:
            new = self.connect(host)
            _, become = self._lock_plan(host)
            try:
                hostlock.acquire(
                    new, self.run_id, become=become, check=False, wait=False, waiting=_no_note
                )
            except BaseException:
                new.close()
                raise
            with self._guard:
                self._open[host.name] = new
            self._locks[host.name] = _generation(new)
        old.close()

    def comeback(self, host: Host, back: Comeback, become: Become | None) -> Returned:
        """After a change that took the host down (reboot): wait for it over fresh
        connections (runner.comeback); the one that passed becomes the host's, and holds
        the lock again (the reboot emptied /run). The old connection is closed. When the
        time runs out, the next use connects afresh (and takes the lock again)."""
        connect = self.connect
        if back.connect_timeout is not None and isinstance(connect, Retimed):
            connect = connect.within(back.connect_timeout)

        def note(text: str) -> None:
            self.emit(HostNote(host.name, text))

        returned = await_comeback(host.name, back, become, lambda: connect(host), note)
        with self._guard:
            old = self._open.pop(host.name, None)
        if old is not None:
            _close_quietly(old)
        fresh = returned.connection or self.connect(host)
        with self._guard:
            self._open[host.name] = fresh
        if host.name in self._locks:
            self._locks[host.name] = UNLOCKED
            if returned.connection is not None:
                self._relock(host, fresh)
        return returned

    def last_play(self, host: Host) -> int:
        """The index of the last play that selects `host` (-1: none)."""
        found = [i for i, names in enumerate(self._play_hosts()) if host.name in names]
        return found[-1] if found else -1

    def finish(self, host: Host, lost: bool) -> None:
        """The host has nothing more to do in this run: its lock given back now (not if
        it was `lost` during a command: see release) and its connection closed, instead
        of both waiting, idle, for the run's last host."""
        with self._guard:
            conn = self._open.pop(host.name, None)
        locked = self._locks.pop(host.name, None) is not None
        if conn is None:
            return
        if locked and not (self.options.check or lost):
            self._give_back(host, conn)
        _close_quietly(conn)

    def release(self, lost: Iterable[str]) -> None:
        """Give back the locks, but not of a host `lost` (unreachable) during a command (it
        may still run there): that lock goes stale by itself once nothing of this run
        runs there."""
        lost = set(lost)
        for name in self._locks:
            conn = self._open.get(name)
            if self.options.check or conn is None or name in lost:
                continue
            self._give_back(self.inventory.hosts[name], conn)

    def _give_back(self, host: Host, conn: Connection) -> None:
        _, become = self._lock_plan(host)
        try:
            hostlock.ask(conn, self.run_id, "release", become)
        except ProvisionError:  # it goes stale when the connection closes
            log.debug("releasing the lock on %s failed", host.name, exc_info=True)

    def close_all(self) -> None:
        for conn in self._open.values():
            _close_quietly(conn)


def _close_quietly(conn: Connection) -> None:
    try:
        conn.close()
    except Exception:  # closing is best effort
        log.debug("closing %s failed", conn.host, exc_info=True)


def _no_note(other: hostlock.Holder) -> None:
    """Taking its own lock again a run does not wait: nothing to say."""


def _becomes(play: PlaySpec) -> bool:
    return play.become or any(t.become for t in play.all_tasks())


def _generation(conn: Connection) -> int:
    return conn.generation if isinstance(conn, Reopening) else 1
