"""A user's authorized_keys file: the account (getent passwd), the file and its directory.

One probe, because the default path depends on the home directory that the
same probe finds: `~USER/.ssh/authorized_keys` is resolved on the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from provisioner.errors import ProbeError
from provisioner.probes.base import Probe
from provisioner.probes.files import STAT_FMT, Attrs, parse_stat
from provisioner.shell import b64_of, facts, parse_queries, q, query, subshell, unb64

LIMIT = 1024 * 1024
"""A larger authorized_keys file is refused: it travels whole in the probe."""

PathKind = Literal["file", "directory", "absent", "other"]


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: str


@dataclass(frozen=True)
class KeysFile:
    """`account` None: no such user (`rc` 2) or getent could not say (another rc)."""

    account: Account | None
    rc: int = 0
    path: str = ""  # the file, symlinks resolved when asked to follow
    dir_kind: PathKind = "absent"
    dir_attrs: Attrs | None = None
    dir_parent: bool = False  # the directory's parent exists
    kind: PathKind = "absent"
    attrs: Attrs | None = None
    content: bytes | None = None

    @property
    def directory(self) -> str:
        return self.path.rsplit("/", 1)[0] or "/"


@dataclass(frozen=True)
class AuthorizedKeysFile(Probe[KeysFile]):
    user: str
    path: str | None = None  # None: ~user/.ssh/authorized_keys
    follow: bool = False

    def command(self) -> str:
        where = q(self.path) if self.path else '"$home/.ssh/authorized_keys"'
        follow = (
            ['if r=$(readlink -f -- "$f" && echo x); then r=${r%x}; f=${r%?}; fi']
            if self.follow
            else []
        )
        return subshell(
            f"pw=$(getent passwd -- {q(self.user)}); rc=$?",
            'if [ "$rc" -ne 0 ]; then echo "user_rc=$rc"; exit 0; fi',
            "printf pw=; " + b64_of('"$pw"'),
            "home=$(printf '%s\\n' \"$pw\" | head -n 1 | cut -d: -f6)",
            f"f={where}",
            *follow,
            "printf file=; " + b64_of('"$f"'),
            'd=${f%/*}; [ -n "$d" ] || d=/',
            f'if [ -d "$d" ]; then echo dir=directory; stat -L -c {STAT_FMT} -- "$d" | '
            'sed "s/^/dirstat=/"',
            'elif [ -e "$d" ]; then echo dir=other; else echo dir=absent; fi',
            'p=${d%/*}; [ -n "$p" ] || p=/',
            'if [ -d "$p" ]; then echo dirparent=yes; fi',
            'if [ -f "$f" ]; then',
            "  echo kind=file",
            f'  stat -L -c {STAT_FMT} -- "$f" | sed "s/^/stat=/"',
            f'  if [ "$(stat -L -c %s -- "$f")" -le {LIMIT} ]; then',
            "    " + query("content", 'base64 < "$f"').replace("\n", "\n    "),
            "  fi",
            'elif [ -e "$f" ]; then echo kind=other',
            "else echo kind=absent",
            "fi",
        )

    def parse(self, stdout: str, exit_code: int) -> KeysFile:
        queries = parse_queries(stdout)
        f = facts(queries[""].lines)
        if "user_rc" in f:
            return KeysFile(None, int(f["user_rc"]) if f["user_rc"].isdigit() else -1)
        if "pw" not in f or "file" not in f or f.get("kind") not in ("file", "absent", "other"):
            raise ProbeError(f"cannot understand the probe of {self.user}'s authorized_keys")
        account = _account(unb64(f["pw"], "getent passwd").decode("utf-8", "replace"), self.user)
        path = unb64(f["file"], "authorized_keys").decode("utf-8", "surrogateescape")
        kind = _kind(f["kind"])
        attrs = content = None
        if kind == "file":
            attrs = parse_stat(f.get("stat", ""), path)
            found = queries.get("content")
            if found is None:
                raise ProbeError(f"authorized_key: {path} is larger than {LIMIT} bytes")
            if found.rc != 0:
                raise ProbeError(f"cannot read {path} (permission denied? try become)")
            content = unb64("".join(found.lines), path)
        return KeysFile(
            account,
            path=path,
            dir_kind=_kind(f.get("dir", "absent")),
            dir_attrs=parse_stat(f["dirstat"], path) if "dirstat" in f else None,
            dir_parent=f.get("dirparent") == "yes",
            kind=kind,
            attrs=attrs,
            content=content,
        )


def _account(line: str, user: str) -> Account:
    fields = line.splitlines()[0].split(":") if line.strip() else []
    if len(fields) != 7 or fields[0] != user or not (fields[2].isdigit() and fields[3].isdigit()):
        raise ProbeError(f"cannot read getent passwd output {line[:200]!r}")
    return Account(user, int(fields[2]), int(fields[3]), fields[5])


def _kind(word: str) -> PathKind:
    kinds: dict[str, PathKind] = {"file": "file", "directory": "directory", "other": "other"}
    return kinds.get(word, "absent")
