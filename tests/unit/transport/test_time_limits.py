"""How a command's time limit and a lost host are told, without an SSH server: the shell
that stops a command on the host, and the socket option that ends a silent connection."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from provisioner.errors import CommandTimeout
from provisioner.transport import sudo
from provisioner.transport.local import LocalConnection
from provisioner.transport.ssh import _why, keepalive_interval, watch_socket


def test_the_host_stops_a_command_past_its_limit_with_its_children(tmp_path: Path) -> None:
    script = "sleep 30.4217 & sleep 31.4217; touch never"  # odd lengths: ours alone
    proc = subprocess.run(["sh", "-c", sudo.time_limited(script, 0.5)], cwd=tmp_path)
    assert proc.returncode in sudo.TIMED_OUT_CODES
    time.sleep(0.2)
    left = subprocess.run(["pgrep", "-f", "^sleep 3[01].4217$"], capture_output=True, text=True)
    assert left.stdout == "" and not (tmp_path / "never").exists()


def test_a_command_within_its_limit_keeps_its_exit_code_and_output() -> None:
    proc = subprocess.run(
        ["sh", "-c", sudo.time_limited("echo 'it''s fine'; exit 3", 5)],
        capture_output=True,
        text=True,
    )
    assert (proc.returncode, proc.stdout) == (3, "its fine\n")


@pytest.mark.parametrize(("limit", "shown"), [(5, "5"), (0.5, "0.5"), (1e6, "1000000")])
def test_limits_are_written_as_timeout_1_reads_them(limit: float, shown: str) -> None:
    assert sudo.seconds(limit) == shown
    assert f" {shown} sh -c " in sudo.time_limited("true", limit)


def test_a_local_command_past_its_limit_is_a_command_timeout() -> None:
    with pytest.raises(CommandTimeout, match="did not finish within 0.3s and was killed") as e:
        LocalConnection().run("sleep 30", timeout=0.3)
    assert e.value.stopped


def test_a_silent_host_is_given_up_after_three_times_the_connect_timeout() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    try:
        watch_socket(client, 2.5)
        option = socket.TCP_USER_TIMEOUT
        assert client.getsockopt(socket.IPPROTO_TCP, option) == 7500
    finally:
        client.close()
        server.close()
    assert keepalive_interval(2.5) == 2.5 and keepalive_interval(0.2) == 1.0


def test_why_a_connection_died_in_words() -> None:
    assert _why(None, TimeoutError(), 10) == "no answer for 30s"
    assert _why(None, ConnectionResetError(), 10) == "reset by the host"
    assert _why(None, EOFError(), 2) == "closed by the host, or no answer for 6s"
