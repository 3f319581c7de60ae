"""A stand-in for procps' sysctl over a directory that plays /proc/sys.

It answers `-n NAME`, `[-e] -w NAME=VALUE` and `[-e] -p FILE` as procps-ng does
(an unknown key: "cannot stat /proc/sys/...: No such file or directory", exit
255; `-e` ignores it), and logs every call's argv, so a module's probe and
commands run for real against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.unit.modules.host import Result, sh

STUB = r"""#!/bin/sh
{ printf '%s\0' sysctl "$@"; printf '\001'; } >> "$SYSCTL_LOG"
path() { printf '%s' "$SYSCTL_ROOT/"; printf '%s' "$1" | tr . /; }
e=0
if [ "$1" = -e ]; then e=1; shift; fi
put() {
  f=$(path "$1")
  if [ ! -f "$f" ]; then
    [ "$e" = 1 ] && return 0
    echo "sysctl: cannot stat /proc/sys/$(printf '%s' "$1" | tr . /): No such file or directory" >&2
    return 255
  fi
  printf '%s\n' "$2" > "$f"
  echo "$1 = $2"
}
case "$1" in
  -n)
    f=$(path "$2")
    if [ -f "$f" ]; then cat "$f"; exit 0; fi
    echo "sysctl: cannot stat /proc/sys/$(printf '%s' "$2" | tr . /): No such file or directory" >&2
    exit 255 ;;
  -w) put "${2%%=*}" "${2#*=}" ;;
  -p)
    rc=0
    while IFS= read -r line; do
      case "$line" in ''|'#'*|';'*) continue ;; esac
      k=$(printf '%s' "${line%%=*}" | tr -d ' \t')
      v=$(printf '%s' "${line#*=}" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
      put "$k" "$v" || rc=$?
    done < "$2"
    exit "$rc" ;;
  *) echo "sysctl stub: cannot do $*" >&2; exit 2 ;;
esac
"""


@dataclass
class FakeKernel:
    """`root/bin/sysctl` over `root/proc`: keys are files holding their value."""

    root: Path

    def __post_init__(self) -> None:
        (self.root / "bin").mkdir(parents=True, exist_ok=True)
        (self.root / "proc").mkdir(exist_ok=True)
        stub = self.root / "bin" / "sysctl"
        stub.write_text(STUB)
        stub.chmod(0o755)

    def set(self, name: str, value: str) -> FakeKernel:
        f = self.root / "proc" / name.replace(".", "/")
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(value + "\n")
        return self

    def get(self, name: str) -> str | None:
        f = self.root / "proc" / name.replace(".", "/")
        return f.read_text().rstrip("\n") if f.exists() else None

    @property
    def log(self) -> Path:
        return self.root / "sysctl.log"

    def calls(self) -> list[tuple[str, ...]]:
        if not self.log.exists():
            return []
        raw = self.log.read_bytes().decode()
        return [tuple(rec.split("\0")[:-1]) for rec in raw.split("\1") if rec]

    def clear(self) -> None:
        self.log.unlink(missing_ok=True)

    def run(self, script: str, env: dict[str, str] | None = None) -> Result:
        full = {
            "SYSCTL_ROOT": str(self.root / "proc"),
            "SYSCTL_LOG": str(self.log),
            **(env or {}),
        }
        return sh(script, env=full, path_prefix=str(self.root / "bin"))
