"""After a change whose commands take the host down (a module's `comeback`: reboot):
wait for the host to come back, over fresh connections.

One fresh connection at a time, `POLL_SECONDS` apart: it must answer the module's boot id
probe with another id than before the change (the same id is the old boot: the host has
not gone down yet), then the module's test command must exit 0 on it. All of it within
the module's timeout (after its delay); the connection that passed is the host's from then
on (connections.Connections.comeback). The old connection is never asked: it dies with
the host, and what it would say is of the old boot.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from provisioner.errors import ProbeError, TransportError
from provisioner.modules.base import Comeback
from provisioner.transport.base import Become, Connection
from provisioner.transport.sudo import seconds

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
ATTEMPT_SECONDS = 10.0  # what one attempt's commands may take, without a connect_timeout


@dataclass(frozen=True)
class Returned:
    """How the wait ended: the fresh connection that passed (None: the time ran out, and
    `failure` says why), and the seconds since the wait began."""

    connection: Connection | None
    elapsed: float
    failure: str = ""


def await_comeback(
    host: str,
    back: Comeback,
    become: Become | None,
    connect: Callable[[], Connection],
    note: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Returned:
    """Wait for `host` to come back as `back` says, connecting with `connect` (a fresh,
    lazily opened connection each call); `note` tells people what it waits for."""
    started = clock()
    if back.delay:
        sleep(back.delay)
    deadline = clock() + back.timeout
    note(f"rebooting: waiting up to {seconds(back.timeout)}s for it to come back")
    while True:
        limit = max(1.0, min(back.connect_timeout or ATTEMPT_SECONDS, deadline - clock()))
        conn, why = _attempt(back, become, connect, limit)
        if conn is not None:
            elapsed = clock() - started
            note(f"back after {seconds(round(elapsed, 1))}s (a new boot)")
            return Returned(conn, elapsed)
        log.debug("%s: not back yet: %s", host, why)
        left = deadline - clock()
        if left <= 0:
            msg = (
                f"{host} did not come back within reboot_timeout ({seconds(back.timeout)}s): {why}"
            )
            return Returned(None, clock() - started, msg)
        sleep(min(POLL_SECONDS, left))


def _attempt(
    back: Comeback, become: Become | None, connect: Callable[[], Connection], limit: float
) -> tuple[Connection | None, str]:
    """One fresh connection: it, when the host is back and passes the test; else None and
    why not."""
    conn: Connection | None = None
    try:
        conn = connect()
        answer = conn.run(back.boot_id.command(), become=become, timeout=limit)
        if back.boot_id.parse(answer.stdout, answer.exit_code) == back.before:
            _close(conn)
            return None, "it has not gone down yet (its boot id is the one before)"
        test = conn.run(back.test, become=become, timeout=limit)
        if not test.ok:
            _close(conn)
            said = (test.stderr.strip() or test.stdout.strip())[-300:]
            why = f"test_command {back.test!r} exited {test.exit_code}"
            return None, why + (f": {said}" if said else "")
        return conn, ""
    except TransportError as exc:
        why = f"no connection: {exc.message}"
    except ProbeError as exc:
        why = str(exc)
    if conn is not None:
        _close(conn)
    return None, why


def _close(conn: Connection) -> None:
    try:
        conn.close()
    except Exception:  # closing a dead connection is best effort
        log.debug("closing %s failed", conn.host, exc_info=True)
