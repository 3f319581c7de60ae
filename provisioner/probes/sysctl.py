"""A kernel parameter's live value: `sysctl -n NAME`, or /proc/sys without procps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from provisioner.errors import ProbeError
from provisioner.probes.base import Probe
from provisioner.shell import b64_of, facts, parse_queries, q, subshell, unb64

# What sysctl (procps-ng) and cat say of a key the running kernel does not have.
UNKNOWN_KEY = ("No such file or directory", "cannot stat", "unknown key")


@dataclass(frozen=True)
class LiveValue:
    """`found`: `value` is what the kernel holds now; `unknown`: no such key (a module not
    loaded, a typo); `error`: it could not be read (`message` says why)."""

    kind: Literal["found", "unknown", "error"]
    value: str = ""
    message: str = ""


def proc_path(name: str) -> str:
    """/proc/sys path of a key: dots separate levels unless the name uses slashes."""
    return "/proc/sys/" + (name if "/" in name else name.replace(".", "/"))


@dataclass(frozen=True)
class SysctlLive(Probe[LiveValue]):
    name: str

    def command(self) -> str:
        return subshell(
            "if command -v sysctl >/dev/null 2>&1; then",
            f"  v=$(sysctl -n {q(self.name)} 2>&1)",
            f"else v=$(cat -- {q(proc_path(self.name))} 2>&1)",
            "fi",
            'if [ "$?" -eq 0 ]; then echo read=yes; else echo read=no; fi',
            "printf out=; " + b64_of('"$v"'),
        )

    def parse(self, stdout: str, exit_code: int) -> LiveValue:
        f = facts(parse_queries(stdout)[""].lines)
        if f.get("read") not in ("yes", "no") or "out" not in f:
            raise ProbeError(f"cannot understand the probe of sysctl {self.name}: {stdout[:200]!r}")
        out = unb64(f["out"], f"sysctl {self.name}").decode("utf-8", "replace")
        if f["read"] == "yes":
            return LiveValue("found", out)
        if any(word in out for word in UNKNOWN_KEY):
            return LiveValue("unknown", message=out.strip())
        return LiveValue("error", message=out.strip() or "no output")
