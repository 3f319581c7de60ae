"""get_url: download a URL to a file on the host (curl, or wget without curl).

A present file counts as converged unless `checksum` says otherwise, or
`force` is set: then the probe fetches the URL itself (to stdout, hashed,
nothing written) and downloads again only if the content differs, so force
still converges. The download goes to a temp file next to dest and is
checked against `checksum` before it replaces dest. `timeout` bounds connecting and
each wait for data (not the whole download); `validate_certs: false` skips the TLS
certificate check (curl -k, wget --no-check-certificate).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules._files import (
    DEFAULT_MODE,
    HASHES,
    AbsPath,
    Account,
    Accounts,
    Mode,
    WritePlan,
    account_probes,
    accounts_seen,
    attr_changes,
    attrs_op,
    install_lines,
    missing_account,
    not_writable,
    path_provisions,
)
from provisioner.modules.base import CONVERGED, Args, Change, Module, Op, Plan, Provision
from provisioner.probes.base import Probe, Seen
from provisioner.probes.files import ContentState, FileContent
from provisioner.shell import facts, op_script, q

HEX_LEN = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}
CURL_ERRORS = {
    6: "could not resolve host",
    7: "could not connect",
    22: "HTTP error",
    28: "timed out",
    35: "TLS handshake failed",
    60: "TLS certificate not trusted",
}


class GetUrlArgs(Args):
    url: str
    dest: AbsPath
    mode: Mode = None
    owner: Account = None
    group: Account = None
    checksum: str | None = None
    force: bool = False
    timeout: int = Field(default=10, ge=1)
    """Seconds to connect, and without a byte received, before the fetch gives up."""
    validate_certs: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"(https?|ftp|file)://", value) or any(c.isspace() for c in value):
            raise ValueError(f"url {value!r} must be http(s)://, ftp:// or file:// without spaces")
        return value

    @field_validator("checksum")
    @classmethod
    def _checksum(cls, value: str | None) -> str | None:
        if value is None:
            return None
        algo, _, digest = value.partition(":")
        algo, digest = algo.strip().lower(), digest.strip().lower()
        if algo not in HASHES or not re.fullmatch(rf"[0-9a-f]{{{HEX_LEN.get(algo, 0)}}}", digest):
            raise ValueError(f"checksum must be ALGO:HEX with ALGO one of {', '.join(HASHES)}")
        return f"{algo}:{digest}"

    @property
    def algo(self) -> str:
        return self.checksum.split(":")[0] if self.checksum else "sha256"

    @property
    def digest(self) -> str | None:
        return self.checksum.split(":")[1] if self.checksum else None


def fetch(url: str, to: str | None, *, timeout: int | None = None, verify: bool = True) -> str:
    """sh that downloads url to the file `to` (a sh word) or to stdout. `timeout`: seconds
    to connect, and with no byte coming, before giving up (as a socket timeout does);
    `verify` False: no TLS certificate check."""
    curl_opts = [] if verify else ["-k"]
    wget_opts = [] if verify else ["--no-check-certificate"]
    if timeout is not None:
        curl_opts += ["--connect-timeout", str(timeout), "--speed-limit", "1"]
        curl_opts += ["--speed-time", str(timeout)]
        wget_opts += [f"--timeout={timeout}", "--tries=1"]
    curl = ["curl", "-fsSL", *curl_opts, *(["-o", to] if to else []), q(url)]
    wget = ["wget", "-q", "-O", to or "-", *wget_opts, q(url)]
    # wget's exit codes mean other things than curl's: translate them, so one table
    # (CURL_ERRORS) explains both: 4 network → 7, 5 TLS → 35, 6 auth and 8 server → 22.
    wget_rc = (
        "case $? in 0) ;; 4) (exit 7) ;; 5) (exit 35) ;; 6|8) (exit 22) ;; *) (exit 1) ;; esac"
    )
    return (
        f"if command -v curl >/dev/null 2>&1; then {' '.join(curl)}; "
        f"elif command -v wget >/dev/null 2>&1; then {' '.join(wget)}; {wget_rc}; "
        "else echo 'get_url: neither curl nor wget is installed' >&2; (exit 127); fi"
    )


@dataclass(frozen=True)
class RemoteDigest(Probe[str | None]):
    """What a download would bring, hashed on the fly with nothing written; asked only
    when `dest` exists (a missing file is downloaded anyway)."""

    url: str
    dest: str
    algo: str
    timeout: int | None = None
    verify: bool = True

    def command(self) -> str:
        # POSIX has no pipefail: the fetch's exit code travels out on fd 3.
        got = fetch(self.url, None, timeout=self.timeout, verify=self.verify)
        get = f'{{ {got}; echo "fetch_rc=$?" >&3; }}'
        return (
            f"if [ -f {q(self.dest)} ]; then {{ {get}"
            f" | {self.algo}sum | cut -d ' ' -f 1 | sed 's/^/remote=/'; }} 3>&1; fi"
        )

    def parse(self, stdout: str, exit_code: int) -> str | None:
        f = facts(stdout.splitlines())
        if "fetch_rc" not in f:
            return None
        rc = int(f["fetch_rc"]) if f["fetch_rc"].isdigit() else -1
        if rc != 0:
            why = CURL_ERRORS.get(rc, f"exit {rc}")
            raise ProbeError(f"get_url: cannot fetch {self.url}: {why}")
        return f.get("remote")


@dataclass(frozen=True)
class UrlState:
    file: ContentState
    accounts: Accounts
    remote: str | None = None  # digest of what the URL serves now (force only)


@dataclass(frozen=True)
class GetPlan:
    download: bool
    write: WritePlan


@register
class GetUrlModule(Module[GetUrlArgs, UrlState, GetPlan]):
    name = "get_url"
    args_model = GetUrlArgs

    def _file(self) -> FileContent:
        return FileContent(self.args.dest, algo=self.args.algo, limit=None)

    def _remote(self) -> RemoteDigest | None:
        a = self.args
        if not a.force or a.checksum is not None:
            return None
        return RemoteDigest(a.url, a.dest, a.algo, a.timeout, a.validate_certs)

    def probes(self) -> tuple[Probe[Any], ...]:
        a = self.args
        remote = self._remote()
        return (
            self._file(),
            *account_probes(a.owner, a.group),
            *((remote,) if remote is not None else ()),
        )

    def state(self, seen: Seen) -> UrlState:
        a = self.args
        remote = self._remote()
        return UrlState(
            seen(self._file()),
            accounts_seen(seen, a.owner, a.group),
            seen(remote) if remote is not None else None,
        )

    def plan(self, current: UrlState) -> Plan[GetPlan]:
        a, cur = self.args, current.file
        blocked = not_writable(cur) or missing_account(current.accounts, a.owner, a.group)
        if blocked is not None:
            return blocked
        target = cur.real or cur.path
        if cur.kind == "absent" or cur.attrs is None:
            write = WritePlan(target, None, a.mode or DEFAULT_MODE, a.owner, a.group)
            return Change((f"+ {a.dest}",), GetPlan(True, write))
        lines, mode, owner, group = attr_changes(cur.attrs, a.mode, a.owner, a.group)
        stale = ""
        if a.digest is not None and cur.digest != a.digest:
            stale = "checksum differs"
        elif current.remote is not None and current.remote != cur.digest:
            stale = "remote content differs"
        if stale:
            write = WritePlan(target, None, a.mode, a.owner, a.group, cur.attrs)
            return Change((f"~ {a.dest} ({stale})", *lines), GetPlan(True, write))
        if not lines:
            return CONVERGED
        return Change(tuple(lines), GetPlan(False, WritePlan(target, None, mode, owner, group)))

    def commands(self, change: Change[GetPlan]) -> list[Op]:
        p = change.payload
        w = p.write
        if not p.download:
            return [attrs_op(w.path, w.mode, w.owner, w.group)]
        a = self.args
        fill = [fetch(a.url, '"$tmp"', timeout=a.timeout, verify=a.validate_certs)]
        if a.digest is not None:
            fill += [
                f'sum=$({a.algo}sum < "$tmp" | cut -d " " -f 1)',
                f'if [ "$sum" != {a.digest} ]; then',
                f'  echo "get_url: checksum mismatch for {_dq(a.url)}:'
                f' expected {a.checksum}, got {a.algo}:$sum" >&2',
                "  exit 1",
                "fi",
            ]
        return [Op(op_script(*install_lines(w, fill)))]

    def provides(self, change: Change[GetPlan]) -> frozenset[Provision]:
        return path_provisions(self.args.dest)


def _dq(text: str) -> str:
    """Text safe inside a double-quoted sh string (for messages)."""
    return re.sub(r'([\\"$`])', r"\\\1", text)
