"""A script's stdout, stderr and exit code, framed in the output of a longer exchange:
a change and the probes read after it, or a check run among probes.

stdout streams through as it comes; stderr is kept by the shell and printed after it
(trailing newlines dropped, as a registered result drops them anyway)."""

from __future__ import annotations

from provisioner.transport.base import Result


def captured(script: str, mark: str) -> str:
    """sh that runs `script` in a subshell (stdin kept for it) and frames what it did."""
    return (
        "exec 3>&1\n"
        f"provision_err=$( ( {script}\n) 2>&1 1>&3 3>&- )\n"
        "provision_rc=$?\n"
        "exec 3>&-\n"
        f"printf '\\n%s %d\\n%s\\n%s\\n' '{mark} rc' \"$provision_rc\" \"$provision_err\""
        f" '{mark} end'\n"
    )


def uncaptured(stdout: str, mark: str) -> tuple[Result, str] | None:
    """The framed script's Result, and what the exchange printed after it; None when the
    frame is not whole (the exchange was cut short)."""
    head, sep, rest = stdout.partition(f"\n{mark} rc ")
    if not sep:
        return None
    code, _, rest = rest.partition("\n")
    err, sep, after = rest.partition(f"\n{mark} end\n")
    if not sep or not code.isdigit():
        return None
    return Result(int(code), head, err), after
