"""Faults a user meets, at the command line, without the lab: a hung command under a
task's `timeout`, SIGTERM, a host that answers too slowly for --timeout. Local
connection and loopback sockets only."""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.run_cli import provision
from tests.unit.test_cli import signal_during_second_task, sleepers_in


def test_a_hung_command_is_reported_as_timed_out_naming_the_task(tmp_path: Path) -> None:
    book = tmp_path / "p.yml"
    book.write_text(
        "- hosts: localhost\n  tasks:\n"
        "    - name: Wait for the mirror\n      command: sleep 30\n      timeout: 1\n"
        "    - name: never\n      command: touch never\n"
    )
    proc = provision("apply", book, "-o", "json", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    [result] = json.loads(proc.stdout)["results"]
    assert (result["task"], result["status"]) == ("Wait for the mirror", "failed")
    assert result["msg"] == "timed out: a local command did not finish within 1s and was killed"
    assert sleepers_in(tmp_path) == [] and not (tmp_path / "never").exists()


def test_a_timed_out_task_may_be_ignored_and_the_host_goes_on(tmp_path: Path) -> None:
    book = tmp_path / "p.yml"
    book.write_text(
        "- hosts: localhost\n  tasks:\n"
        "    - name: slow\n      command: sleep 30\n      timeout: 0.5\n      ignore_errors: true\n"
        "    - name: next\n      command: touch next\n"
    )
    proc = provision("apply", book, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "failed (ignored)" in proc.stdout and (tmp_path / "next").exists()


@pytest.mark.parametrize("value", ["0", "-3", "soon"])
def test_a_bad_timeout_is_bad_input_naming_the_line(tmp_path: Path, value: str) -> None:
    book = tmp_path / "p.yml"
    book.write_text(
        f"- hosts: localhost\n  tasks:\n    - command: 'true'\n      timeout: {value}\n"
    )
    proc = provision("validate", book, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert f"{book}:" in proc.stderr and "timeout" in proc.stderr


def test_sigterm_stops_the_run_like_ctrl_c_with_exit_143(tmp_path: Path) -> None:
    code, out, text = signal_during_second_task(tmp_path, signal.SIGTERM)
    assert code == 143, text
    assert "TERMINATED (SIGTERM)" in text
    assert "second: was running and may be half-applied" in text
    assert "Traceback" not in text and out == ""
    assert not (tmp_path / "never").exists()
    assert sleepers_in(tmp_path) == []


@pytest.fixture
def mute_sshd() -> Iterator[int]:
    """A port on loopback that accepts TCP but never says a word (a host far too slow)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(5)
    yield s.getsockname()[1]
    s.close()


def test_timeout_option_bounds_the_wait_for_a_slow_host(tmp_path: Path, mute_sshd: int) -> None:
    inv = tmp_path / "hosts.yml"
    inv.write_text(f"all:\n  hosts:\n    slow1: {{host: 127.0.0.1, port: {mute_sshd}}}\n")
    book = tmp_path / "p.yml"
    book.write_text("- hosts: all\n  tasks:\n    - command: 'true'\n")
    commands: list[list[str | Path]] = [["apply", "-i", inv, book], ["facts", "-i", inv]]
    for command in commands:
        proc = provision(*command, "--timeout", "0.5", cwd=tmp_path)
        text = proc.stdout + proc.stderr
        assert proc.returncode == 4, text
        assert "slow1" in text and "no SSH greeting within 0.5s" in text


def test_timeout_option_must_be_positive(tmp_path: Path) -> None:
    proc = provision("apply", "--timeout", "0", "p.yml", cwd=tmp_path)
    assert proc.returncode == 1 and "--timeout" in proc.stderr
