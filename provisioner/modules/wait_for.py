"""wait_for: wait on the host until a port opens, closes or drains, or a path appears
(holding a match) or goes; with neither, just sleep.

The probe itself waits: a bounded POSIX sh loop on the host (`date +%s`, `sleep`),
so the task never changes anything; it is ok, or fails after `timeout` with
Ansible's message. A port is tried with bash's /dev/tcp (bash is on every EL),
else `nc -z`, else listening sockets in `ss -ltn` (the local host only); drained
counts connections in `ss -tan`. `search_regex` is a POSIX extended regex
(`grep -E`), matched line by line.

The module `waits` (see base.py): the runner asks its probe only at its turn, and a
dry run skips it, as Ansible's check mode does.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules._files import AbsPath
from provisioner.modules.base import CONVERGED, Args, Change, Failed, Module, Op, Plan
from provisioner.probes.base import Probe, Seen
from provisioner.shell import facts, q

State = Literal["started", "present", "stopped", "absent", "drained"]
ACTIVE_STATES = ("ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "SYN_RECV", "SYN_SENT", "TIME_WAIT")
# Ansible's names for TCP states → what `ss` prints.
SS_STATES = {
    "ESTABLISHED": "ESTAB",
    "SYN_SENT": "SYN-SENT",
    "SYN_RECV": "SYN-RECV",
    "FIN_WAIT1": "FIN-WAIT-1",
    "FIN_WAIT2": "FIN-WAIT-2",
    "TIME_WAIT": "TIME-WAIT",
    "CLOSE": "UNCONN",
    "CLOSE_WAIT": "CLOSE-WAIT",
    "LAST_ACK": "LAST-ACK",
    "LISTEN": "LISTEN",
    "CLOSING": "CLOSING",
}
LOCAL_HOSTS = ("127.0.0.1", "localhost", "0.0.0.0", "::", "::1")
READ_LIMIT = 65536  # bytes read from a port for search_regex
_TOKENS = itertools.count(1)


class WaitForArgs(Args):
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535)
    path: AbsPath | None = None
    search_regex: str | None = None
    state: State = "started"
    timeout: int = Field(default=300, ge=0)
    delay: int = Field(default=0, ge=0)
    sleep: int = Field(default=1, ge=1)
    connect_timeout: int = Field(default=5, ge=1)
    active_connection_states: list[str] = Field(default_factory=lambda: list(ACTIVE_STATES))
    exclude_hosts: list[str] | None = None
    msg: str | None = None

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9._:%-]+", value) or value.startswith("-"):
            raise ValueError(f"host {value!r} must be a host name or an IP address")
        return value

    @field_validator("search_regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value or "\n" in value or "\0" in value:
            raise ValueError("search_regex must be one line of text")
        if "(?" in value or re.search(r"\\[dD]", value):
            raise ValueError(
                "search_regex is a POSIX extended regex (grep -E): no (?...) groups or"
                " \\d (write [0-9])"
            )
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"search_regex {value!r} is not a valid regex: {exc}") from None
        return value

    @field_validator("active_connection_states")
    @classmethod
    def _states(cls, value: list[str]) -> list[str]:
        bad = [s for s in value if s.upper() not in SS_STATES]
        if bad:
            raise ValueError(f"unknown active_connection_state {bad[0]!r}")
        return [s.upper() for s in value]

    @field_validator("exclude_hosts")
    @classmethod
    def _exclude(cls, value: list[str] | None) -> list[str] | None:
        for h in value or []:
            cls._host(h)
        return value

    @model_validator(mode="after")
    def _combination(self) -> WaitForArgs:
        if self.port is not None and self.path is not None:
            raise ValueError("port and path cannot both be given")
        if self.path is not None and self.state in ("stopped", "drained"):
            raise ValueError(f"state={self.state} is for a port, not a path")
        if self.state == "drained" and self.port is None:
            raise ValueError("state=drained needs a port")
        if self.exclude_hosts is not None and self.state != "drained":
            raise ValueError("exclude_hosts goes with state=drained only")
        if self.search_regex is not None and self.state not in ("started", "present"):
            raise ValueError("search_regex goes with state started or present")
        return self

    @property
    def waits_for_presence(self) -> bool:
        return self.state in ("started", "present")


@dataclass(frozen=True)
class Waited:
    met: bool
    elapsed: int
    missing_tool: str = ""  # what the host lacks to check at all


@dataclass(frozen=True)
class WaitProbe(Probe[Waited]):
    """The wait itself (`script`, from `wait_script`). `token` makes each task's probe its
    own: the runner reuses equal probes' answers, and two waits are two waits."""

    script: str
    token: int

    def command(self) -> str:
        return self.script

    def parse(self, stdout: str, exit_code: int) -> Waited:
        f = facts(stdout.splitlines())
        if "missing" in f:
            return Waited(False, 0, f["missing"])
        elapsed = f.get("elapsed", "")
        if f.get("result") not in ("met", "timeout") or not elapsed.isdigit():
            raise ProbeError(f"wait_for: cannot understand the host's answer: {stdout[-200:]!r}")
        return Waited(f["result"] == "met", int(elapsed))


def wait_script(a: WaitForArgs) -> str:
    """The bounded loop: `delay`, then the check every `sleep` seconds until it holds or
    `timeout` seconds (counted from before the delay, as Ansible does) have passed."""
    setup, check = _check(a)
    return "\n".join(
        [
            "(",
            "start=$(date +%s)",
            *([f"sleep {a.delay}"] if a.delay else []),
            *setup,
            "while :; do",
            f"  if {check}; then echo result=met; break; fi",
            "  now=$(date +%s)",
            f"  if [ $((now - start)) -ge {a.timeout} ]; then echo result=timeout; break; fi",
            f"  left=$((start + {a.timeout} - now))",
            f'  if [ "$left" -lt {a.sleep} ]; then sleep "$left"; else sleep {a.sleep}; fi',
            "done",
            'echo "elapsed=$(( $(date +%s) - start ))"',
            ")",
        ]
    )


def _check(a: WaitForArgs) -> tuple[list[str], str]:
    """(sh that sets the check up, the sh condition that is true once the wait is over)."""
    if a.path is not None:
        exists = f"[ -e {q(a.path)} ]"
        if not a.waits_for_presence:
            return [], f"! {exists}"
        if a.search_regex is None:
            return [], exists
        return [], f"{exists} && grep -Eq -- {q(a.search_regex)} {q(a.path)} 2>/dev/null"
    if a.port is None:  # nothing to wait for: sleep the whole timeout
        return [], "false"
    if a.state == "drained":
        return _ss_required(), f'[ "$({_active_count(a)})" -eq 0 ]'
    opened = "provision_open"
    return _port_tools(a), opened if a.waits_for_presence else f"! {opened}"


def _ss_required() -> list[str]:
    return [
        "if ! command -v ss >/dev/null 2>&1; then echo 'missing=ss (package iproute)'; exit 0; fi"
    ]


def _port_tools(a: WaitForArgs) -> list[str]:
    """Define `provision_open`: the port answers (and sends a match of search_regex)."""
    hp = f"{q(a.host)} {a.port}"
    ct = a.connect_timeout
    to = f'to="timeout {ct}"; command -v timeout >/dev/null 2>&1 || to='
    if a.search_regex is None:
        via_bash = f"$to bash -c 'exec 3<>\"/dev/tcp/$1/$2\"' sh {hp} 2>/dev/null"
        via_nc = f"nc -z -w {ct} {hp} </dev/null >/dev/null 2>&1"
    else:
        grep = f"grep -Eq -- {q(a.search_regex)}"
        via_bash = (
            f"$to bash -c 'exec 3<>\"/dev/tcp/$1/$2\" && head -c {READ_LIMIT} <&3'"
            f" sh {hp} 2>/dev/null | {grep}"
        )
        via_nc = f"nc -w {ct} {hp} </dev/null 2>/dev/null | head -c {READ_LIMIT} | {grep}"
    lines = [
        to,
        "if command -v bash >/dev/null 2>&1; then",
        f"  provision_open() {{ {via_bash}; }}",
        "elif command -v nc >/dev/null 2>&1; then",
        f"  provision_open() {{ {via_nc}; }}",
    ]
    if a.host in LOCAL_HOSTS and a.search_regex is None:
        listening = f"ss -ltn | awk '$4 ~ /:{a.port}$/ {{ found = 1 }} END {{ exit !found }}'"
        lines += [
            "elif command -v ss >/dev/null 2>&1; then",
            f"  provision_open() {{ {listening}; }}",
        ]
    lines += ["else echo 'missing=bash or nc'; exit 0", "fi"]
    return lines


def _active_count(a: WaitForArgs) -> str:
    """sh printing how many connections to the local port are in an active state."""
    states = " ".join(SS_STATES[s] for s in a.active_connection_states)
    anywhere = "1" if a.host in ("0.0.0.0", "::") else "0"
    exclude = " ".join(a.exclude_hosts or [])
    program = (
        'BEGIN { n = split(states, s, " "); for (i = 1; i <= n; i++) active[s[i]] = 1;'
        ' n = split(excl, e, " "); for (i = 1; i <= n; i++) skip[e[i]] = 1 }'
        ' function addr(x) { sub(/:[^:]*$/, "", x); gsub(/[][]/, "", x);'
        ' sub(/^::ffff:/, "", x); return x }'
        ' NR > 1 && ($1 in active) && $4 ~ (":" port "$") {'
        " if ((any || addr($4) == host) && !(addr($5) in skip)) c++ }"
        " END { print c + 0 }"
    )
    return (
        f"ss -tan | awk -v states={q(states)} -v excl={q(exclude)} -v port={a.port}"
        f" -v host={q(a.host)} -v any={anywhere} {q(program)}"
    )


@register
class WaitForModule(Module[WaitForArgs, Waited, None]):
    name = "wait_for"
    reads_only = True
    aliases = ("ansible.builtin.wait_for",)
    differs = "search_regex is a POSIX extended regex (grep -E), not Python's"
    args_model = WaitForArgs
    waits: ClassVar[bool] = True

    def __init__(self, args: WaitForArgs) -> None:
        super().__init__(args)
        self._probe = WaitProbe(wait_script(args), next(_TOKENS))

    def probes(self) -> tuple[Probe[Any], ...]:
        return (self._probe,)

    def state(self, seen: Seen) -> Waited:
        return seen(self._probe)

    def plan(self, current: Waited) -> Plan[None]:
        a = self.args
        if current.missing_tool:
            return Failed(
                f"wait_for: cannot check port {a.port}: no {current.missing_tool} on the host"
            )
        if current.met or (a.port is None and a.path is None):
            return CONVERGED
        return Failed(a.msg or timeout_message(a))

    def commands(self, change: Change[None]) -> list[Op]:
        return []

    def fields(self, current: Waited) -> Mapping[str, Any]:
        a = self.args
        return {
            "elapsed": current.elapsed,
            "state": a.state,
            "port": a.port,
            "path": a.path,
            "search_regex": a.search_regex,
            "match_groups": [],
            "match_groupdict": {},
        }


def timeout_message(a: WaitForArgs) -> str:
    """Ansible's words for a wait that ran out of time."""
    where = f"{a.host}:{a.port}" if a.port is not None else f"{a.path}"
    if a.search_regex is not None:
        return f"Timeout when waiting for search string {a.search_regex} in {where}"
    if a.state == "drained":
        return f"Timeout when waiting for {where} to drain"
    if a.port is not None:
        return f"Timeout when waiting for {where}" + ("" if a.waits_for_presence else " to stop.")
    if a.waits_for_presence:
        return f"Timeout when waiting for file {where}"
    return f"Timeout when waiting for {where} to be absent."
