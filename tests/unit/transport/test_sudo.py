"""Command construction: quoting, LC_ALL, sudo flags, and judging sudo's answers.

The generated command lines are run through a real local `sh` (standing in
for the remote login shell) so the quoting is tested by a shell, not by eye.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.errors import BecomeError
from provisioner.transport import sudo
from provisioner.transport.base import Become, Result

from .odd_scripts import ODD_SCRIPTS

PASSWORD = "s3cr3t 'pa$$' word"


def sh(command: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a command line the way sshd hands it to the login shell."""
    return subprocess.run(["sh", "-c", command], input=stdin, capture_output=True, timeout=30)


def test_plain_command_is_env_lc_all_sh_c() -> None:
    cmd = sudo.build_command("echo hi; ls", None)
    assert cmd == "env LC_ALL=C sh -c 'echo hi; ls'"
    assert shlex.split(cmd) == ["env", "LC_ALL=C", "sh", "-c", "echo hi; ls"]


def test_become_without_password_uses_sudo_n() -> None:
    argv = sudo.build_argv("id -un", Become("postgres"))
    assert argv[:6] == ["sudo", "-H", "-n", "-u", "postgres", "--"]
    assert argv[6:10] == ["env", "LC_ALL=C", "sh", "-c"]
    assert argv[-2:] == ["sh", "id -un"]
    assert "-S" not in argv and "-k" not in argv


def test_become_with_password_reads_it_from_stdin_never_argv() -> None:
    become = Become("root", PASSWORD)
    argv = sudo.build_argv("id -un", become)
    assert argv[:9] == ["sudo", "-k", "-S", "-p", "", "-H", "-u", "root", "--"]
    assert "-n" not in argv
    command = sudo.build_command("id -un", become)
    assert PASSWORD not in command
    assert all(PASSWORD not in a for a in argv)
    assert "sudo -k -S -p '' -H -u root --" in command
    assert sudo.build_stdin(become, None) == PASSWORD.encode() + b"\n"
    # the script's stdin is /dev/null, so a NOPASSWD rule cannot leak the password into it
    assert "</dev/null" in argv[-3]


def test_become_password_and_stdin_data_conflict() -> None:
    with pytest.raises(ValueError, match="put"):
        sudo.build_stdin(Become("root", "pw"), b"data")
    assert sudo.build_stdin(Become("root"), b"data") == b"data"
    assert sudo.build_stdin(None, b"data") == b"data"
    assert sudo.build_stdin(None, None) is None


@pytest.mark.parametrize(("script", "expected"), ODD_SCRIPTS)
def test_odd_scripts_survive_the_login_shell(script: str, expected: str) -> None:
    res = sh(sudo.build_command(script, None))
    assert res.returncode == 0, res.stderr
    assert res.stdout.decode() == expected
    assert res.stderr == b""


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00")))
@settings(max_examples=60, deadline=None)
def test_any_text_round_trips(text: str) -> None:
    script = "printf '%s' " + shlex.quote(text)
    res = sh(sudo.build_command(script, None))
    assert res.returncode == 0
    assert res.stdout.decode() == text


def test_exit_code_and_stderr_pass_through() -> None:
    res = sh(sudo.build_command("echo out; echo err >&2; exit 7", None))
    assert (res.returncode, res.stdout, res.stderr) == (7, b"out\n", b"err\n")


needs_root_sudo = pytest.mark.skipif(
    shutil.which("sudo") is None or os.geteuid() != 0, reason="needs sudo and root"
)


@needs_root_sudo
@pytest.mark.parametrize(("script", "expected"), ODD_SCRIPTS)
def test_odd_scripts_survive_sudo(script: str, expected: str) -> None:
    become = Become("root")
    res = sh(sudo.build_command(script, become))
    result = sudo.finish("h", become, res.returncode, res.stdout, res.stderr)
    assert result == Result(0, expected, "")


@needs_root_sudo
def test_sudo_wrapper_keeps_exit_code_and_stderr() -> None:
    become = Become("nobody")
    res = sh(sudo.build_command("id -un; echo err >&2; exit 3", become))
    assert sudo.finish("h", become, res.returncode, res.stdout, res.stderr) == Result(
        3, "nobody\n", "err\n"
    )


@needs_root_sudo
def test_password_line_never_reaches_the_script_stdin() -> None:
    # root needs no password, like a NOPASSWD rule: sudo does not read the line
    become = Become("root", PASSWORD)
    cmd = sudo.build_command("cat; echo end", become)
    res = sh(cmd, stdin=sudo.build_stdin(become, None))
    result = sudo.finish("h", become, res.returncode, res.stdout, res.stderr)
    assert result == Result(0, "end\n", "")


# --- judging sudo's answers (messages recorded from sudo 1.9.13) -------------


def finish(become: Become, code: int, stderr: str, stdout: str = "") -> Result:
    return sudo.finish("web1", become, code, stdout.encode(), stderr.encode())


def test_marker_is_stripped_and_script_stderr_kept() -> None:
    res = finish(Become(), 2, f"{sudo.BECOME_MARKER}\nboom\n", "x\n")
    assert res == Result(2, "x\n", "boom\n")


def test_sudo_warnings_before_the_marker_are_kept() -> None:
    err = f"sudo: unable to resolve host web1: Name or service not known\n{sudo.BECOME_MARKER}\nx\n"
    res = finish(Become(), 0, err)
    assert res.stderr == "sudo: unable to resolve host web1: Name or service not known\nx\n"


def test_script_printing_the_marker_later_is_not_confused() -> None:
    err = f"{sudo.BECOME_MARKER}\n{sudo.BECOME_MARKER}\n"
    assert finish(Become(), 0, err).stderr == f"{sudo.BECOME_MARKER}\n"


def test_password_required() -> None:
    with pytest.raises(BecomeError) as exc:
        finish(Become(), 1, "sudo: a password is required\n")
    assert exc.value.host == "web1"
    assert "--ask-become-pass" in str(exc.value) and "become_password" in str(exc.value)


def test_wrong_password() -> None:
    err = (
        "Sorry, try again.\n\nsudo: no password was provided\nsudo: 1 incorrect password attempt\n"
    )
    with pytest.raises(BecomeError, match="password was rejected") as exc:
        finish(Become("root", PASSWORD), 1, err)
    assert PASSWORD not in str(exc.value)


def test_password_is_scrubbed_from_any_message() -> None:
    with pytest.raises(BecomeError) as exc:
        finish(Become("root", PASSWORD), 1, f"sudo: weird failure {PASSWORD}\n")
    assert PASSWORD not in str(exc.value)
    assert "********" in str(exc.value)


@pytest.mark.parametrize(
    ("stderr", "code", "needle"),
    [
        ("sudo: unknown user nosuch\nsudo: error initializing audit plugin\n", 1, "does not exist"),
        (
            "Sorry, user deploy is not allowed to execute '/usr/bin/env ...' as root on h.\n",
            1,
            "sudoers does not let",
        ),
        ("deploy is not in the sudoers file.  This incident will be reported.\n", 1, "sudoers"),
        ("sudo: sorry, you must have a tty to run sudo\n", 1, "requiretty"),
        ("sh: 1: sudo: not found\n", 127, "not installed"),
        ("", 1, "exit code 1: no message"),
    ],
)
def test_other_sudo_refusals(stderr: str, code: int, needle: str) -> None:
    with pytest.raises(BecomeError, match=needle):
        finish(Become(), code, stderr)


def test_without_become_output_is_decoded_with_replacement() -> None:
    res = sudo.finish("h", None, 0, b"ok \xff\n", b"")
    assert res == Result(0, "ok \ufffd\n", "")
