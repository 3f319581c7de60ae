"""FakeConnection: the scripted transport the runner tests use."""

from __future__ import annotations

import re

import pytest

from provisioner.errors import ConnectError
from provisioner.transport.base import Become, Connection, Result
from provisioner.transport.fake import Call, FakeConnection, UnexpectedCall

OK = Result(0, "ok\n", "")


def test_is_a_connection() -> None:
    conn: Connection = FakeConnection(lambda s, b, i: OK, host="web1")
    assert conn.host == "web1"


def test_handler_sees_script_become_stdin_and_calls_are_recorded() -> None:
    seen: list[tuple[str, Become | None, bytes | None]] = []

    def handler(script: str, become: Become | None, stdin: bytes | None) -> Result:
        seen.append((script, become, stdin))
        return Result(0, script.upper(), "")

    conn = FakeConnection(handler)
    assert conn.run("echo a", become=Become("root"), stdin=b"x", timeout=5).stdout == "ECHO A"
    assert seen == [("echo a", Become("root"), b"x")]
    assert conn.calls == [Call("echo a", Become("root"), b"x", 5)]
    assert conn.scripts == ["echo a"]


def test_rules_first_match_answers_any_number_of_times() -> None:
    conn = FakeConnection(
        rules=[
            ("rpm -q", Result(0, "bash-5.1\n", "")),
            (re.compile(r"^systemctl is-enabled"), Result(1, "disabled\n", "")),
        ]
    )
    assert conn.run("rpm -q bash").stdout == "bash-5.1\n"
    assert conn.run("rpm -q bash").stdout == "bash-5.1\n"
    assert conn.run("systemctl is-enabled sshd").exit_code == 1
    with pytest.raises(UnexpectedCall, match="no rule matches the script:\nuname"):
        conn.run("uname")
    with pytest.raises(UnexpectedCall):
        conn.run("x; systemctl is-enabled sshd")  # regex anchored at the start


def test_ordered_rules_are_used_up() -> None:
    conn = FakeConnection(rules=[("probe", OK), ("apply", Result(0, "", ""))], ordered=True)
    conn.run("the probe")
    with pytest.raises(AssertionError, match="'apply'"):
        conn.assert_done()
    with pytest.raises(UnexpectedCall, match="expected a script matching 'apply'"):
        conn.run("the probe")
    conn2 = FakeConnection(rules=[("a", OK)], ordered=True)
    conn2.run("a")
    conn2.assert_done()
    with pytest.raises(UnexpectedCall, match="no more calls"):
        conn2.run("a")


def test_handler_and_rules_are_exclusive() -> None:
    with pytest.raises(ValueError):
        FakeConnection(lambda s, b, i: OK, rules=[("a", OK)])


def test_put_records_files() -> None:
    conn = FakeConnection(lambda s, b, i: OK)
    conn.put(b"data", "/tmp/x")
    conn.put(b"more", "/tmp/y", mode=0o644)
    assert conn.files == {"/tmp/x": (b"data", 0o600), "/tmp/y": (b"more", 0o644)}


def test_unreachable() -> None:
    down = ConnectError("web1", "connection refused")
    conn = FakeConnection(lambda s, b, i: OK, fail=down)
    with pytest.raises(ConnectError):
        conn.run("true")
    with pytest.raises(ConnectError):
        conn.put(b"", "/x")
    assert conn.scripts == ["true"]
    conn.fail(None)
    assert conn.run("true") == OK
    conn.fail(down)
    with pytest.raises(ConnectError, match="web1: connection refused"):
        conn.run("true")


def test_handler_may_raise_itself() -> None:
    def handler(script: str, become: Become | None, stdin: bytes | None) -> Result:
        raise ConnectError("h", "dropped")

    with pytest.raises(ConnectError):
        FakeConnection(handler).run("x")


def test_close() -> None:
    conn = FakeConnection(lambda s, b, i: OK)
    conn.close()
    assert conn.closed
