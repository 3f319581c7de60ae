"""The SSH connection's TCP socket: Nagle off, quick acknowledgements, the same
connection after (transport.tcp)."""

from __future__ import annotations

import socket

from provisioner.transport.tcp import QuickAckSocket, low_latency


def test_low_latency_keeps_the_connection_and_turns_nagle_off() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        plain = socket.create_connection(server.getsockname(), timeout=5)
        peer, _ = server.accept()
        with peer, low_latency(plain) as tuned:
            assert tuned.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
            assert tuned.gettimeout() == 5
            if hasattr(socket, "TCP_QUICKACK"):
                assert isinstance(tuned, QuickAckSocket)
            peer.sendall(b"hello")
            assert tuned.recv(5) == b"hello"
            tuned.sendall(b"back")
            assert peer.recv(4) == b"back"
