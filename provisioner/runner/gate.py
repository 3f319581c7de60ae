"""The host lock (hostlock) carried by the exchanges a run makes anyway, so that it
costs no exchange of its own.

A run's first exchange with a host looks at the lock, before and after what it
reads (an apply that holds it makes the run wait: it never reads a half-applied
host). The lock is taken only by the first exchange that may change the host, in
that same exchange; if another run took the lock since the run looked (`last`
differs), the change is not made: `Moved` says so, and the caller reads the host
again, now holding the lock, before it changes anything. So a run that changes
nothing takes no lock and costs no extra exchange, and no change is ever made from
what was read while another run was changing the host.

An exchange as another user than the lock's (root) cannot carry it: the lock goes
in an exchange of its own just before.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from provisioner.errors import HostBusy, ProbeError
from provisioner.runner import hostlock
from provisioner.runner.tail import after
from provisioner.transport.base import Become, Connection, Output, Reopening, Result

State = Literal["unchecked", "checked", "taken"]


class Moved(Exception):
    """The lock was taken, but another run took it since this run read the host: the
    change did not run; read the host again (now locked) and decide again."""


@dataclass
class Gate:
    """One host's lock as one run holds it: looked at, then taken at the first change."""

    host: str
    run: hostlock.RunId
    become: Become | None  # as whom the lock is used (root)
    check: bool  # a dry run looks, never takes
    wait: bool
    waiting: Callable[[hostlock.Holder], None]  # told once per other holder
    # the lock was taken just now, over the connection's generation before that exchange
    on_take: Callable[[hostlock.Answer, int], None]
    state: State = "unchecked"
    seen: str | None = None  # `last` when this run looked
    sleep: Callable[[float], None] = time.sleep
    mark: str = field(default_factory=lambda: f"@@provisioner-gate-{secrets.token_hex(8)}@@")
    _told: hostlock.Holder | None = None

    def read(
        self, conn: Connection, script: str, become: Become | None, timeout: float | None
    ) -> Result:
        """A read-only exchange; the first one looks at the lock before and after."""
        if self.state != "unchecked":
            return conn.run(script, become=become, timeout=timeout)
        if become != self.become:
            self._alone(conn, "check")
            return conn.run(script, become=become, timeout=timeout)
        while True:
            lock = self._script("check")
            res = conn.run(self._wrap(lock, script, post=lock), become=become, timeout=timeout)
            answer, body = self._unwrap(res)
            if answer.status == "free" and body is not None:
                after, body = self._unwrap_post(body)
                if after is not None and after.status == "free" and after.last == answer.last:
                    self._checked(answer)
                    return Result(res.exit_code, body, res.stderr)
            self._wait(answer if answer.status != "free" else None)

    def change(
        self,
        conn: Connection,
        script: str,
        become: Become | None,
        stdin: bytes | None,
        timeout: float | None,
        on_output: Output | None = None,
    ) -> Result:
        """An exchange that may change the host: the lock is taken first, in it;
        `on_output` is handed what the script prints as it comes."""
        if self.check and stdin is None:  # a dry run's check that runs: it only reads
            return self.read(conn, script, become, timeout)
        if self.check or self.state == "taken":
            return conn.run(
                script, become=become, stdin=stdin, timeout=timeout, on_output=on_output
            )
        if become != self.become:
            self._alone(conn, "take")
            return conn.run(
                script, become=become, stdin=stdin, timeout=timeout, on_output=on_output
            )
        while True:
            before = _generation(conn)
            sink = None if on_output is None else after(f"{self.mark} gate\n", on_output)
            res = conn.run(
                self._wrap(self._script("take"), script),
                become=become,
                stdin=stdin,
                timeout=timeout,
                on_output=sink,
            )
            answer, body = self._unwrap(res)
            if answer.status == "taken":
                self._taken(answer, before)
                assert body is not None
                return Result(res.exit_code, body, res.stderr)
            self._wait(answer)

    def _alone(self, conn: Connection, mode: hostlock.Mode) -> None:
        """The lock in an exchange of its own (as the lock's user)."""
        while True:
            before = _generation(conn)
            answer = hostlock.ask(conn, self.run, mode, self.become, self._expect(mode))
            if answer.status == "free":
                self._checked(answer)
                return
            if answer.status == "taken":
                self._taken(answer, before)
                return
            self._wait(answer)

    def _expect(self, mode: hostlock.Mode) -> str | None:
        return self.seen if mode == "take" else None

    def _script(self, mode: hostlock.Mode) -> str:
        return hostlock.script(
            self.run, mode, hostlock.LOCK_DIR, hostlock.UPLOAD_PREFIX, self._expect(mode)
        )

    def _checked(self, answer: hostlock.Answer) -> None:
        self.state, self.seen = "checked", answer.last

    def _taken(self, answer: hostlock.Answer, generation: int) -> None:
        was = self.state
        self.state = "taken"
        self.on_take(answer, generation)
        if answer.moved and was == "checked":
            raise Moved(self.host)

    def _wait(self, answer: hostlock.Answer | None) -> None:
        """Another run holds the lock (or it changed while this run read): wait, or
        with --no-wait leave the host alone."""
        other = answer.other if answer is not None and answer.status == "held" else None
        if other is not None and other != self._told:
            if not self.wait:
                raise HostBusy(self.host, hostlock.busy_message(other))
            self.waiting(other)
            self._told = other
        self.sleep(hostlock.POLL_SECONDS if other is not None else 0.2)

    def _wrap(self, lock: str, script: str, post: str | None = None) -> str:
        """`script` after the lock's answer and only if it lets it run; with `post`, the
        lock looked at again after it."""
        mark = self.mark
        head = (
            f"provision_gate=$( ( {lock}\n) </dev/null 2>&1 )\n"
            f"printf '%s\\n%s\\n' \"$provision_gate\" '{mark} gate'\n"
            "case $provision_gate in *moved=1*) exit 0 ;; esac\n"
            "case ${provision_gate##*status=} in free|taken) ;; *) exit 0 ;; esac\n"
        )
        if post is None:
            return f"{head}( {script}\n)\n"
        return (
            f"{head}( {script}\n)\nprovision_rc=$?\n"
            f"provision_gate=$( ( {post}\n) </dev/null 2>&1 )\n"
            f"printf '\\n%s\\n%s\\n' '{mark} post' \"$provision_gate\"\n"
            "exit $provision_rc\n"
        )

    def _unwrap(self, res: Result) -> tuple[hostlock.Answer, str | None]:
        """The lock's answer, and what the script printed (None: it did not run)."""
        head, sep, body = res.stdout.partition(f"{self.mark} gate\n")
        if not sep:
            detail = (res.stderr or res.stdout).strip()[-300:]
            raise ProbeError(
                f"could not use the host lock {hostlock.LOCK_DIR} (exit {res.exit_code}): {detail}"
            )
        answer = hostlock.parse(head)
        runs = answer.status in ("free", "taken") and not answer.moved
        return answer, body if runs else None

    def _unwrap_post(self, body: str) -> tuple[hostlock.Answer | None, str]:
        text, sep, post = body.rpartition(f"\n{self.mark} post\n")
        if not sep:
            return None, body
        return hostlock.parse(post), text


class Gated:
    """A host's connection whose exchanges carry its lock (see Gate): `run` may
    change the host, `read` only reads it."""

    def __init__(self, conn: Connection, gate: Gate) -> None:
        self.conn = conn
        self.gate = gate
        self.host = conn.host

    @property
    def generation(self) -> int:
        return _generation(self.conn)

    def run(
        self,
        script: str,
        *,
        become: Become | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
        on_output: Output | None = None,
    ) -> Result:
        return self.gate.change(self.conn, script, become, stdin, timeout, on_output)

    def read(
        self, script: str, *, become: Become | None = None, timeout: float | None = None
    ) -> Result:
        return self.gate.read(self.conn, script, become, timeout)

    def put(self, data: bytes, path: str, mode: int = 0o600) -> None:
        self.conn.put(data, path, mode)

    def hold(self, become: Become | None) -> None:
        """The lock taken now, before an upload: an upload the link cut half-way is then
        one a later run finds by this run's id, and removes."""
        if self.gate.state != "taken" and not self.gate.check:
            self.run(":", become=become)

    def close(self) -> None:
        self.conn.close()


def read(
    conn: Connection, script: str, become: Become | None = None, timeout: float | None = None
) -> Result:
    """A read-only exchange: through the gate when the connection has one."""
    if isinstance(conn, Gated):
        return conn.read(script, become=become, timeout=timeout)
    return conn.run(script, become=become, timeout=timeout)


def _generation(conn: Connection) -> int:
    return conn.generation if isinstance(conn, Reopening) else 1
