"""A user's crontab as `crontab -l` prints it (none: "no crontab for USER", exit 1).

`-u USER` only when USER is not who runs the probe: cronie lets only root use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.errors import ProbeError
from provisioner.probes.base import Probe
from provisioner.shell import b64_of, facts, parse_queries, q, subshell, unb64


def crontab_argv(user: str | None, *rest: str) -> str:
    """sh that sets "$@" to `crontab [-u USER] REST...`."""
    tail = " ".join(rest)
    if user is None:
        return f"set -- crontab {tail}"
    return (
        f'if [ "$(id -un)" = {q(user)} ]; then set -- crontab {tail}; '
        f"else set -- crontab -u {q(user)} {tail}; fi"
    )


@dataclass(frozen=True)
class Crontab:
    """`text` None: the user has no crontab yet; `installed` False: no crontab program."""

    text: str | None
    installed: bool = True


@dataclass(frozen=True)
class UserCrontab(Probe[Crontab]):
    user: str | None  # None: whoever the task runs as

    def command(self) -> str:
        return subshell(
            "if ! command -v crontab >/dev/null 2>&1; then echo crontab=missing; exit 0; fi",
            crontab_argv(self.user, "-l"),
            # `echo x` keeps the output's last newline (or its absence) through $(...).
            'out=$("$@" 2>/dev/null; r=$?; echo x; exit "$r"); rc=$?',
            'echo "rc=$rc"',
            'if [ "$rc" -eq 0 ]; then printf text=; ' + b64_of('"${out%x}"'),
            'else err=$("$@" 2>&1 >/dev/null); printf err=; ' + b64_of('"$err"'),
            "fi",
        )

    def parse(self, stdout: str, exit_code: int) -> Crontab:
        f = facts(parse_queries(stdout)[""].lines)
        who = f"crontab of {self.user}" if self.user else "crontab"
        if f.get("crontab") == "missing":
            return Crontab(None, installed=False)
        if not f.get("rc", "").isdigit():
            raise ProbeError(f"cannot understand the probe of the {who}: {stdout[:200]!r}")
        if f["rc"] == "0" and "text" in f:
            return Crontab(unb64(f["text"], who).decode("utf-8", "surrogateescape"))
        err = unb64(f.get("err", ""), who).decode("utf-8", "replace").strip()
        if f["rc"] == "1" and "no crontab for" in err:
            return Crontab(None)
        raise ProbeError(f"crontab -l failed (exit {f['rc']}): {err or 'no output'}")
