"""SSHConnection failures that need no SSH server: loopback sockets only."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import AuthError, ConnectError, TimeoutError_
from provisioner.transport.base import Become, Connection
from provisioner.transport.ssh import SSHConnection, SSHSettings


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


def settings(port: int, **kw: Any) -> SSHSettings:
    base: dict[str, Any] = {
        "name": "web1",
        "address": "127.0.0.1",
        "port": port,
        "user": "nobody",
        "connect_timeout": 1.0,
        "ssh_config": None,
    }
    base.update(kw)
    return SSHSettings(**base)


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections (kernel backlog) but never says a word."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(5)
    yield s.getsockname()[1]
    s.close()


@pytest.fixture
def hangup_server() -> Iterator[int]:
    """Accepts and closes at once, like an sshd over MaxStartups."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(5)
    s.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                c, _ = s.accept()
            except OSError:
                continue
            c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield s.getsockname()[1]
    stop.set()
    t.join()
    s.close()


def test_is_a_connection_and_connects_lazily() -> None:
    conn: Connection = SSHConnection(settings(closed_port()))
    assert conn.host == "web1"
    conn.close()  # never connected: fine


def test_password_is_not_in_repr() -> None:
    conn = SSHConnection(settings(22, password="hunter2"))
    assert "hunter2" not in repr(conn)
    assert "hunter2" not in repr(conn.settings)


def test_connection_refused() -> None:
    port = closed_port()
    conn = SSHConnection(settings(port))
    with pytest.raises(ConnectError) as exc:
        conn.run("true")
    msg = str(exc.value)
    assert exc.value.host == "web1"
    assert msg.startswith("web1: ") and f"127.0.0.1:{port}" in msg
    assert "refused" in msg and "sshd running" in msg


def test_banner_timeout(silent_server: int) -> None:
    conn = SSHConnection(settings(silent_server, connect_timeout=0.5))
    with pytest.raises(TimeoutError_) as exc:
        conn.run("true")
    msg = str(exc.value)
    assert "Connection timed out during banner exchange" in msg
    assert f"127.0.0.1:{silent_server}" in msg and "connect_timeout" in msg


def test_closed_before_banner(hangup_server: int) -> None:
    conn = SSHConnection(settings(hangup_server))
    with pytest.raises(ConnectError, match="closed the connection") as exc:
        conn.put(b"x", "/tmp/x")
    assert not isinstance(exc.value, TimeoutError_)


def test_dns_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*a: object, **k: object) -> socket.socket:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "create_connection", fail)
    conn = SSHConnection(settings(22, address="no-such-host.example"))
    with pytest.raises(ConnectError, match="cannot resolve host name 'no-such-host.example'"):
        conn.run("true")


def test_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*a: object, **k: object) -> socket.socket:
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", fail)
    with pytest.raises(TimeoutError_, match="no answer from 127.0.0.1:22 within 1s"):
        SSHConnection(settings(22)).run("true")


def test_no_route(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*a: object, **k: object) -> socket.socket:
        raise OSError(113, "No route to host")

    monkeypatch.setattr(socket, "create_connection", fail)
    with pytest.raises(ConnectError, match="no route to 127.0.0.1:22"):
        SSHConnection(settings(22)).run("true")


def test_missing_key_file(tmp_path: Path) -> None:
    conn = SSHConnection(settings(closed_port(), key_filename=str(tmp_path / "id_nope")))
    with pytest.raises(AuthError, match="id_nope does not exist"):
        conn.run("true")


def test_bad_ssh_config(tmp_path: Path) -> None:
    cfg = tmp_path / "config"
    cfg.write_text("Host *\n  Port twenty-two\n")
    conn = SSHConnection(settings(22, ssh_config=str(cfg)))
    with pytest.raises(ConnectError, match="Port"):
        conn.run("true")


def test_stdin_with_become_password_is_refused_before_connecting() -> None:
    conn = SSHConnection(settings(closed_port()))
    with pytest.raises(ValueError, match="put"):
        conn.run("cat", become=Become("root", "pw"), stdin=b"data")


def test_a_proxy_command_is_ended_and_waited_for(tmp_path: Path) -> None:
    """paramiko only signals the process; a zombie (and its pipes) must not stay behind."""
    pidfile = tmp_path / "pid"
    silent = f"sh -c 'echo $$ > {pidfile}; exec sleep 30'"  # never says a word
    conn = SSHConnection(settings(22, connect_timeout=0.5, proxy_command=silent))
    with pytest.raises(TimeoutError_, match="banner"):
        conn.run("true")
    with pytest.raises(ProcessLookupError):  # a zombie would still take signal 0
        os.kill(int(pidfile.read_text()), 0)
