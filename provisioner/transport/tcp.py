"""The TCP socket under an SSH connection, set for many small exchanges.

A run sends a few small packets per exchange (a channel opened, a script, its
end) and waits for the answer before the next. With Nagle's algorithm on, a
small packet waits for the acknowledgement of the one before; the peer delays
that acknowledgement by up to 40 ms on Linux when it has nothing to send back.
So without these options most exchanges paid about 40 ms of idle wait on each
side (measured on loopback: a first apply of the bench workload took 1.5 s on one
host, 1.0 s with them). `TCP_NODELAY` stops our side waiting; sshd sets it only
for sessions with a terminal, so its side is helped by acknowledging at once
(`TCP_QUICKACK`, which Linux turns off again by itself: set after every read).
"""

from __future__ import annotations

import logging
import socket

log = logging.getLogger(__name__)

_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only


class QuickAckSocket(socket.socket):
    """A socket that acknowledges what it reads at once (see the module's doc)."""

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data = super().recv(bufsize, flags)
        if _QUICKACK is not None and data:
            try:
                self.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            except OSError:  # closed meanwhile: the next read says so
                pass
        return data


def low_latency(sock: socket.socket) -> socket.socket:
    """`sock` with Nagle's algorithm off and, where the system has it, quick
    acknowledgements; the same connection (its file descriptor moves over)."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        log.debug("TCP_NODELAY not set", exc_info=True)
    if _QUICKACK is None:
        return sock
    timeout = sock.gettimeout()
    tuned = QuickAckSocket(sock.family, sock.type, sock.proto, fileno=sock.detach())
    tuned.settimeout(timeout)
    return tuned
