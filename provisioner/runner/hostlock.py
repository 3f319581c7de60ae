"""One apply at a time on a host: a lock directory on the host itself.

`/run/provisioner.lock/` holds the run's id (`run`), when it started (`started`,
UTC), who started it (`by`: user@controller) and its holder (`holder`). An apply
takes it in its first exchange with the host and removes it at the end; a second
apply finds it and waits (or, with --no-wait, leaves the host alone), so two runs
never interleave their changes.

The holder is the login session of the run's connection: the cgroup of its
logind session (session-N.scope), which lives as long as the connection's sshd
and every command it started, including one still running after the controller
was stopped (a yum transaction is not cut in half by Ctrl-C). Without a logind
session it is the sshd process serving the connection (PID and start time). A
lock whose holder is gone is stale: its controller died or lost the host, and
nothing of that run still runs there; the next run takes it over, says so, and
removes the uploads that run left half-written in /tmp (their names carry its id).
/run is a tmpfs, so a reboot clears it too.

A dry run takes no lock (it changes nothing, so it never blocks an apply), but it
waits for an apply that holds one: it never reports a half-applied host as the
state to come.

Every step is one short shell script run as root (the lock is under /run), inside
a mutex directory, so two runs deciding at once see each other.
"""

from __future__ import annotations

import getpass
import re
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from provisioner.errors import HostBusy, ProbeError
from provisioner.shell import q
from provisioner.transport.base import Become, Connection

LOCK_DIR = "/run/provisioner.lock"
UPLOAD_PREFIX = "/tmp/.provisioner-"  # uploads: + run id + "-" + random (runner.step)
POLL_SECONDS = 2.0
Mode = Literal["take", "check", "release"]


@dataclass(frozen=True)
class RunId:
    """Who a run is, as its lock tells others."""

    id: str
    started: str  # ISO 8601, UTC
    by: str  # user@controller

    @classmethod
    def new(cls) -> RunId:
        started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        by = _printable(f"{getpass.getuser()}@{socket.gethostname()}")
        return cls(secrets.token_hex(6), started, by)


def _printable(text: str) -> str:
    return re.sub(r"[^\w.@:+-]", "?", text)[:100]


@dataclass(frozen=True)
class Holder:
    """What another run's lock says about it."""

    run: str
    started: str
    by: str

    def describe(self) -> str:
        return f"run {self.run or '?'} by {self.by or '?'}, started {self.started or '?'}"


@dataclass(frozen=True)
class Answer:
    status: Literal["taken", "free", "held", "busy", "released"]
    other: Holder | None = None  # the lock found (held by it, or stale and replaced)
    stale: bool = False
    leftovers: tuple[str, ...] = ()  # uploads of the stale run, removed
    last: str = ""  # the run that last took the lock on this host (before this answer)
    moved: bool = False  # taken, but not last taken by the run `expect` named


# The lock's holder for this connection: its logind session's cgroup (v1 name=systemd,
# hybrid unified, or pure v2), else its sshd's PID and start time, else our parent's.
_HOLDER = r"""
provision_start() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }
provision_holder() {
  p=$$
  while [ "$p" -gt 1 ]; do
    case $(cat "/proc/$p/comm" 2>/dev/null) in sshd*) break ;; esac
    p=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$p/status" 2>/dev/null)
    [ -n "$p" ] || p=1
  done
  [ "$p" -gt 1 ] || p=$PPID
  v1=$(sed -n 's/^[0-9]*:name=systemd://p' "/proc/$p/cgroup" 2>/dev/null)
  v2=$(sed -n 's/^0:://p' "/proc/$p/cgroup" 2>/dev/null)
  for d in "/sys/fs/cgroup/systemd$v1" "/sys/fs/cgroup/unified$v2" "/sys/fs/cgroup$v2"; do
    case $d in */session-*.scope) if [ -d "$d" ]; then echo "cgroup $d"; return; fi ;; esac
  done
  echo "pid $p $(provision_start "$p")"
}
provision_alive() {
  case $1 in
    cgroup) read -r _ < "$2/cgroup.procs" 2>/dev/null ;;
    pid) [ -n "$2" ] && [ "$(provision_start "$2")" = "$3" ] ;;
    *) return 1 ;;
  esac
}
"""

# A mutex left by a shell that died inside it (a few milliseconds of work) is removed
# after 30 s; a mutex that stays busy longer than 5 s is reported, and asked again. One
# that can be neither made nor found means /run is not writable: an error.
_MUTEX = r"""
provision_tries=0
until mkdir "$mutex" 2>/dev/null; do
  if [ ! -d "$mutex" ]; then  # gone meanwhile (another may take it first), or not makeable
    mkdir "$mutex" 2>/dev/null && break
    if [ ! -d "$mutex" ]; then mkdir "$mutex" && break; exit 1; fi  # saying why
  fi
  made=$(stat -c %Y "$mutex" 2>/dev/null) || made=$(date +%s)
  [ $(( $(date +%s) - made )) -le 30 ] || rmdir "$mutex" 2>/dev/null
  provision_tries=$((provision_tries + 1))
  if [ "$provision_tries" -gt 50 ]; then echo status=busy; exit 0; fi
  sleep 0.1 2>/dev/null || sleep 1
done
trap 'rmdir "$mutex" 2>/dev/null' EXIT
"""

_SHOW = r"""
provision_show() {
  for f in run started by; do printf '%s=%s\n' "$f" "$(head -n 1 "$lock/$f" 2>/dev/null)"; done
}
printf 'last=%s\n' "$(head -n 1 "$lock.last" 2>/dev/null)"
"""

_TAKE = r"""
if [ -d "$lock" ] && [ "$(cat "$lock/run" 2>/dev/null)" != "$run" ]; then
  provision_show
  if provision_alive $(cat "$lock/holder" 2>/dev/null); then echo status=held; exit 0; fi
  echo stale=1
  if [ "$mode" != check ]; then
    old=$(head -n 1 "$lock/run" 2>/dev/null)
    case $old in
      ""|*[!0-9a-f]*) ;;
      *) for f in "$uploads$old"-*; do [ -f "$f" ] && rm -f -- "$f" && echo "leftover=$f"; done ;;
    esac
    rm -rf -- "$lock"
  fi
fi
if [ "$mode" = check ]; then echo status=free; exit 0; fi
if [ "$expect" != - ] && [ "$(head -n 1 "$lock.last" 2>/dev/null)" != "$expect" ]; then
  echo moved=1
fi
mkdir -p -m 0755 -- "$lock" &&
  printf '%s\n' "$run" > "$lock.last" &&
  printf '%s\n' "$run" > "$lock/run" &&
  printf '%s\n' "$started" > "$lock/started" &&
  printf '%s\n' "$by" > "$lock/by" &&
  provision_holder > "$lock/holder" || exit 1
echo status=taken
"""

_RELEASE = r"""
if [ "$(cat "$lock/run" 2>/dev/null)" = "$run" ]; then rm -rf -- "$lock"; fi
echo status=released
"""


def script(
    run: RunId,
    mode: Mode,
    lock: str | None = None,
    uploads: str | None = None,
    expect: str | None = None,
) -> str:
    """sh that takes (or, `check`, only looks at, or releases) the lock at `lock`;
    `uploads` is where a run's uploads start (UPLOAD_PREFIX). A take with `expect`
    (the `last` a check saw) says `moved=1` when another run took the lock since."""
    lock = lock or LOCK_DIR
    head = [
        f"lock={q(lock)}",
        f"mutex={q(lock + '.mutex')}",
        f"uploads={q(uploads or UPLOAD_PREFIX)}",
        f"run={q(run.id)}",
        f"started={q(run.started)}",
        f"by={q(run.by)}",
        f"mode={mode}",
        f"expect={q(expect) if expect is not None else '-'}",
    ]
    body = _RELEASE if mode == "release" else _HOLDER + _SHOW + _TAKE
    return "\n".join(head) + _MUTEX + body


def parse(stdout: str) -> Answer:
    found: dict[str, str] = {}
    leftovers = []
    for line in stdout.splitlines():
        key, eq, value = line.partition("=")
        if key == "leftover":
            leftovers.append(value)
        elif eq:
            found.setdefault(key, value)
    status = found.get("status", "")
    if status not in ("taken", "free", "held", "busy", "released"):
        raise ProbeError(f"the host lock script said: {stdout.strip()[-300:] or 'nothing'}")
    other = None
    if "run" in found:
        other = Holder(found["run"], found.get("started", ""), found.get("by", ""))
    stale = found.get("stale") == "1"
    moved = found.get("moved") == "1"
    last = found.get("last", "")
    return Answer(status, other, stale, tuple(leftovers), last, moved)  # type: ignore[arg-type]


def ask(
    conn: Connection, run: RunId, mode: Mode, become: Become | None, expect: str | None = None
) -> Answer:
    res = conn.run(script(run, mode, LOCK_DIR, expect=expect), become=become)
    if res.exit_code != 0:
        detail = (res.stderr or res.stdout).strip()[-300:]
        raise ProbeError(f"could not use the host lock {LOCK_DIR} (exit {res.exit_code}): {detail}")
    return parse(res.stdout)


def acquire(
    conn: Connection,
    run: RunId,
    *,
    become: Become | None,
    check: bool,
    wait: bool,
    waiting: Callable[[Holder], None],
    sleep: Callable[[float], None] = time.sleep,
) -> Answer:
    """Take the lock (a dry run: see that no apply holds it); while another run holds
    it, tell `waiting` (once per holder) and ask again every POLL_SECONDS, or with
    `wait` false raise HostBusy. The answer says which stale lock was replaced."""
    told: Holder | None = None
    while True:
        answer = ask(conn, run, "check" if check else "take", become)
        if answer.status in ("taken", "free"):
            return answer
        if answer.status == "held" and answer.other is not None and answer.other != told:
            if not wait:
                raise HostBusy(conn.host, busy_message(answer.other))
            waiting(answer.other)
            told = answer.other
        sleep(POLL_SECONDS)


def busy_message(other: Holder) -> str:
    return (
        f"another run holds this host ({other.describe()}; {LOCK_DIR}): "
        "nothing was done here. Run again when it has finished, or without --no-wait to wait."
    )
