"""LocalConnection end to end, with a real sh (and sudo, where present)."""

from __future__ import annotations

import os
import shutil
import stat
import time
from pathlib import Path

import pytest

from provisioner.errors import TimeoutError_, WriteError
from provisioner.transport.base import Become, Connection, Result
from provisioner.transport.local import LocalConnection

from .odd_scripts import ODD_SCRIPTS


@pytest.fixture
def conn() -> LocalConnection:
    return LocalConnection("ctl")


def test_is_a_connection(conn: LocalConnection) -> None:
    c: Connection = conn
    assert c.host == "ctl"


def test_output_and_exit_code(conn: LocalConnection) -> None:
    assert conn.run("echo out; echo err >&2; exit 4") == Result(4, "out\n", "err\n")


@pytest.mark.parametrize(("script", "expected"), ODD_SCRIPTS)
def test_odd_scripts(conn: LocalConnection, script: str, expected: str) -> None:
    assert conn.run(script) == Result(0, expected, "")


def test_c_locale_even_if_the_caller_has_another(
    conn: LocalConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    assert conn.run('echo "$LC_ALL"').stdout == "C\n"


def test_stdin_is_fed(conn: LocalConnection) -> None:
    assert conn.run("wc -c", stdin=b"x" * 100_000).stdout.strip() == "100000"


def test_no_stdin_means_empty_stdin(conn: LocalConnection) -> None:
    assert conn.run("cat; echo done").stdout == "done\n"


def test_big_output_on_both_streams(conn: LocalConnection) -> None:
    # 2 MB on stdout and on stderr at once: would deadlock if read one after the other
    res = conn.run("head -c 2000000 /dev/zero | tr '\\0' a; head -c 2000000 /dev/zero >&2")
    assert len(res.stdout) == 2_000_000 and len(res.stderr) == 2_000_000


def test_invalid_utf8_is_replaced(conn: LocalConnection) -> None:
    assert conn.run("printf 'a\\377b'").stdout == "a\ufffdb"


def test_timeout_kills_the_whole_process_group(conn: LocalConnection, tmp_path: Path) -> None:
    marker = tmp_path / "late"
    with pytest.raises(TimeoutError_, match="within 0.5s") as exc:
        conn.run(f"(sleep 2; touch {marker}) & sleep 30", timeout=0.5)
    assert exc.value.host == "ctl"
    time.sleep(2.5)
    assert not marker.exists()


def test_put_writes_with_mode(conn: LocalConnection, tmp_path: Path) -> None:
    target = tmp_path / "f"
    conn.put(b"secret\n", str(target))
    assert target.read_bytes() == b"secret\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    conn.put(b"public\n", str(target), mode=0o644)
    assert target.read_bytes() == b"public\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_put_failure_names_the_host(conn: LocalConnection, tmp_path: Path) -> None:
    with pytest.raises(WriteError, match=r"^ctl: cannot write .*/missing/f"):
        conn.put(b"x", str(tmp_path / "missing" / "f"))


def test_become_current_user_runs_directly(conn: LocalConnection) -> None:
    me = conn.run("id -un").stdout.strip()
    assert conn.run("id -un; cat", become=Become(me), stdin=b"in") == Result(0, me + "\nin", "")
    # the password is not needed, and not fed to the script either
    assert conn.run("id -un; cat", become=Become(me, "pw")) == Result(0, me + "\n", "")
    with pytest.raises(ValueError):
        conn.run("cat", become=Become(me, "pw"), stdin=b"in")


@pytest.mark.skipif(shutil.which("sudo") is None or os.geteuid() != 0, reason="needs sudo and root")
def test_become_other_user_through_sudo(conn: LocalConnection) -> None:
    res = conn.run('id -un; echo "$HOME" ; echo "$LC_ALL"', become=Become("nobody"))
    assert res.exit_code == 0
    assert res.stdout.splitlines()[0] == "nobody"
    assert res.stdout.splitlines()[2] == "C"
    assert res.stderr == ""


def test_on_output_gets_stdout_as_it_comes(conn: LocalConnection, tmp_path: Path) -> None:
    """The first line arrives while the command still runs (it waits for a file the
    test makes only after seeing that line), and the chunks are all of stdout."""
    go = tmp_path / "go"
    chunks: list[bytes] = []

    def seen(chunk: bytes) -> None:
        chunks.append(chunk)
        if b"first" in chunk:
            go.touch()

    script = f"echo first; while [ ! -e {go} ]; do sleep 0.05; done; echo second; echo err >&2"
    res = conn.run(script, on_output=seen, timeout=20)
    assert res == Result(0, "first\nsecond\n", "err\n")
    assert b"".join(chunks) == b"first\nsecond\n"


def test_on_output_with_stdin_and_both_streams_big(conn: LocalConnection) -> None:
    chunks: list[bytes] = []
    script = "wc -c; head -c 2000000 /dev/zero | tr '\\0' a; head -c 2000000 /dev/zero >&2"
    res = conn.run(script, stdin=b"x" * 100_000, on_output=chunks.append)
    assert res.stdout.startswith("100000\n") and len(res.stderr) == 2_000_000
    assert b"".join(chunks).decode() == res.stdout


def test_on_output_keeps_the_timeout(conn: LocalConnection) -> None:
    with pytest.raises(TimeoutError_, match="within 0.5s"):
        conn.run("echo started; sleep 30", timeout=0.5, on_output=lambda chunk: None)


def test_on_output_ticks_while_the_command_is_quiet(conn: LocalConnection, tmp_path: Path) -> None:
    """A quiet command's on_output is handed b"" now and then (so a line held back by a
    rate limit is shown): the command waits for a file the test makes at the tick."""
    go = tmp_path / "go"
    chunks: list[bytes] = []

    def seen(chunk: bytes) -> None:
        chunks.append(chunk)
        if chunk == b"":
            go.touch()

    script = f"while [ ! -e {go} ]; do sleep 0.05; done; echo done"
    res = conn.run(script, on_output=seen, timeout=30)
    assert res.stdout == "done\n" and b"".join(chunks) == b"done\n"
