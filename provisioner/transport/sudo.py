"""Building the remote command line, with and without sudo, and judging sudo's answer.

Shared by the SSH and the local transport so both quote, become and report
sudo failures the same way.

Without become a script runs as::

    env LC_ALL=C sh -c <script>

With become it runs as (no password)::

    sudo -H -n -u USER -- env LC_ALL=C sh -c <WRAPPER> sh <script>

or (with a password, which is the first line of stdin and never on argv)::

    sudo -k -S -p '' -H -u USER -- env LC_ALL=C sh -c <WRAPPER> sh <script>

`WRAPPER` first prints a marker line on stderr, then execs ``sh -c "$1"``.
Seeing the marker proves sudo let us in: whatever stderr holds before it is
sudo's own talk (a refusal, a wrong password), and everything after it is the
script's. No prompt is scraped and the script's own output can never be
mistaken for a sudo failure. With a password the wrapper also points the
script's stdin at /dev/null: under a NOPASSWD rule sudo does not read the
password line, and it must not reach the script.
"""

from __future__ import annotations

import shlex

from provisioner.errors import BecomeError
from provisioner.transport.base import Become, Result

BECOME_MARKER = "__provisioner_become_ok__"

_WRAPPER = f'printf "%s\\n" {BECOME_MARKER} >&2; exec sh -c "$1" sh'
_WRAPPER_NO_STDIN = _WRAPPER + " </dev/null"


def plain_argv(script: str) -> list[str]:
    """argv running `script` with POSIX sh in the C locale."""
    return ["env", "LC_ALL=C", "sh", "-c", script]


def become_argv(script: str, become: Become) -> list[str]:
    """argv running `script` through sudo as `become.user`; the password is never in it."""
    user = become.user or "root"
    if become.password is None:
        sudo = ["sudo", "-H", "-n", "-u", user, "--"]
        wrapper = _WRAPPER
    else:
        # -k: ignore cached credentials, so sudo always reads the password line;
        # -S: read it from stdin; -p '': print no prompt.
        sudo = ["sudo", "-k", "-S", "-p", "", "-H", "-u", user, "--"]
        wrapper = _WRAPPER_NO_STDIN
    return [*sudo, "env", "LC_ALL=C", "sh", "-c", wrapper, "sh", script]


# timeout(1) exits 124 when it stopped the command with TERM, 137 when KILL was needed.
TIMED_OUT_CODES = (124, 137)
KILL_AFTER = 5  # seconds between timeout(1)'s TERM and its KILL


def seconds(value: float) -> str:
    """A duration as timeout(1) and people read it: 5, 0.5 (never 1e+06)."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def time_limited(script: str, limit: float) -> str:
    """sh running `script` under the host's timeout(1) (coreutils, on every EL): TERM to
    its whole process group after `limit` seconds, KILL KILL_AFTER seconds later. Where
    there is no timeout(1), the script runs unlimited (the controller still gives up)."""
    inner = shlex.quote(script)
    return (
        "if command -v timeout >/dev/null 2>&1; then\n"
        f"  exec timeout -k {KILL_AFTER} {seconds(limit)} sh -c {inner}\n"
        f"fi\nexec sh -c {inner}"
    )


def build_argv(script: str, become: Become | None) -> list[str]:
    return plain_argv(script) if become is None else become_argv(script, become)


def build_command(script: str, become: Become | None) -> str:
    """The command line (for a remote login shell) that runs `script`, quoted once."""
    return shlex.join(build_argv(script, become))


def build_stdin(become: Become | None, stdin: bytes | None) -> bytes | None:
    """What to feed the command's stdin: the sudo password line, or the caller's data."""
    if become is not None and become.password is not None:
        if stdin is not None:
            raise ValueError(
                "stdin data cannot be combined with a become password "
                "(the password is sent on stdin); upload data with put() instead"
            )
        return become.password.encode() + b"\n"
    return stdin


def _scrub(text: str, become: Become) -> str:
    if become.password:
        text = text.replace(become.password, "********")
    return text


def finish(
    host: str, become: Become | None, exit_code: int, stdout: bytes, stderr: bytes
) -> Result:
    """Decode the output; with become, check sudo let us in and strip the marker.

    Raises BecomeError when sudo refused; the password never appears in it.
    """
    out = stdout.decode("utf-8", errors="replace")
    err = stderr.decode("utf-8", errors="replace")
    if become is None:
        return Result(exit_code, out, err)
    marker = BECOME_MARKER + "\n"
    if err.startswith(marker):
        return Result(exit_code, out, err[len(marker) :])
    pos = err.find("\n" + marker)
    if pos >= 0:
        before = err[: pos + 1]
        after = err[pos + 1 + len(marker) :]
        # sudo may warn before running the command ("unable to resolve host");
        # keep that, but never an echo of the password.
        before = "".join(line for line in before.splitlines(keepends=True) if line.strip())
        return Result(exit_code, out, _scrub(before, become) + after)
    raise BecomeError(host, _explain(become, exit_code, _scrub(err, become)))


def _explain(become: Become, exit_code: int, err: str) -> str:
    user = become.user or "root"
    low = err.lower()
    detail = " ".join(line.strip() for line in err.strip().splitlines()[-3:])
    if len(detail) > 200:
        detail = detail[:200] + "..."
    if "incorrect password" in low or "sorry, try again" in low:
        return (
            f"become (sudo -u {user}) failed: the become password was rejected. "
            "Check become_password or the password given to -K/--ask-become-pass."
        )
    if "a password is required" in low or "no password was provided" in low:
        return (
            f"become (sudo -u {user}) needs a password on this host. "
            "Give it with -K/--ask-become-pass or set become_password "
            "(or allow NOPASSWD for this user in sudoers)."
        )
    if "must have a tty" in low or "requiretty" in low:
        return (
            f"become (sudo -u {user}) failed: sudoers has 'Defaults requiretty' on this host. "
            "Remove requiretty for this user (visudo)."
        )
    if "unknown user" in low:
        return f"become failed: user {user!r} does not exist on this host."
    if "not in the sudoers" in low or "not allowed to" in low or "may not run sudo" in low:
        return (
            f"become (sudo -u {user}) refused: sudoers does not let the login user run "
            f"commands as {user} here. Grant it in sudoers or log in as a user who may."
        )
    if exit_code == 127 or "sudo: not found" in low or "command not found" in low:
        return "become failed: sudo is not installed on this host (install the sudo package)."
    if not detail:
        detail = "no message"
    return f"become (sudo -u {user}) failed with exit code {exit_code}: {detail}"
