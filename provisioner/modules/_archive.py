"""What unarchive needs around an archive: its members, and the sh that lists and checks them.

A member is (kind, size, name): kind is the first letter of `ls -l` (`-` file, `d`
directory, `l` symlink, `h` hard link, others), size counts for files only. A
controller archive is read here, in Python (tarfile, zipfile); an archive on the
host is listed there (`tar -tv`, `unzip -Z`) into the same `kind TAB size TAB name`
lines. Either way one sh loop checks each member under dest.
"""

from __future__ import annotations

import functools
import io
import posixpath
import secrets
import stat
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from provisioner.errors import ModuleArgsError
from provisioner.modules._files import read_src, src_path
from provisioner.shell import join, q

Format = Literal["tar", "zip"]
MAX_MEMBERS = 10_000
MAX_ARCHIVE = 512 * 1024 * 1024
MAX_SHOWN = 5  # differing members named in a plan
# tar's compression flag for a controller archive, by its first bytes.
COMPRESSION = ((b"\x1f\x8b", "-z"), (b"BZh", "-j"), (b"\xfd7zXZ\x00", "-J"))
# tar -tv: perms owner/group size date time NAME; unzip -Z: perms ver os size type method
# date time NAME. What each listing becomes: kind TAB size TAB name.
TAR_LINES = (
    "{ kind = substr($1, 1, 1); size = $3; name = $0;"
    ' sub(/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ /, "", name);'
    ' if (kind == "l") sub(/ -> .*$/, "", name);'
    ' if (kind == "h") sub(/ link to .*$/, "", name);'
    ' print kind "\\t" size "\\t" name }'
)
ZIP_LINES = (
    "$1 ~ /^[-dl]/ && NF >= 9 && $4 ~ /^[0-9]+$/ { kind = substr($1, 1, 1); name = $0;"
    ' sub(/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ /, "", name);'
    ' print kind "\\t" $4 "\\t" name }'
)


@dataclass(frozen=True)
class Member:
    kind: str
    size: int
    name: str


@dataclass(frozen=True)
class LocalArchive:
    data: bytes
    format: Format
    compression: str  # tar's flag (-z, -j, -J) or ""
    members: tuple[Member, ...]


def normal(name: str) -> str:
    """A member name as it lands under dest: no leading ./ or /, no trailing /."""
    while name.startswith(("./", "/")):
        name = name[1:] if name.startswith("/") else name[2:]
    return name.rstrip("/")


def strip_components(members: Sequence[Member], n: int) -> tuple[Member, ...]:
    """What tar's --strip-components=N leaves."""
    out = []
    for m in members:
        parts = [p for p in normal(m.name).split("/") if p]
        if len(parts) > n:
            out.append(Member(m.kind, m.size, "/".join(parts[n:])))
    return tuple(out)


def read_local(base_dir: Path, src: str) -> LocalArchive:
    path = src_path(base_dir, src)
    try:
        st = path.stat()
    except OSError:
        st = None
    if st is None:
        read_src(base_dir, src, "unarchive")  # says why, as copy does
        raise ModuleArgsError(f"unarchive: cannot read src {path}")
    return _read_cached(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=2)
def _read_cached(path: str, mtime_ns: int, size: int) -> LocalArchive:
    """One read per archive and run, however many hosts unpack it."""
    data = read_src(Path("/"), path, "unarchive", limit=MAX_ARCHIVE)
    if zipfile.is_zipfile(io.BytesIO(data)):
        return LocalArchive(data, "zip", "", _zip_members(data, path))
    flag = next((f for magic, f in COMPRESSION if data.startswith(magic)), "")
    return LocalArchive(data, "tar", flag, _tar_members(data, path))


def _too_many(path: str) -> ModuleArgsError:
    return ModuleArgsError(
        f"unarchive: {path} has more than {MAX_MEMBERS} members, too many to check: give"
        " `creates` (a path the archive makes) to judge by"
    )


def _tar_members(data: bytes, path: str) -> tuple[Member, ...]:
    out: list[Member] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
            for m in tf:
                if len(out) >= MAX_MEMBERS:
                    raise _too_many(path)
                kind = (
                    "d" if m.isdir() else "l" if m.issym() else "h" if m.islnk()
                    else "-" if m.isreg() else "c"
                )  # fmt: skip
                out.append(Member(kind, m.size if kind == "-" else 0, m.name))
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ModuleArgsError(
            f"unarchive: {path} is not a tar (.tar, .tar.gz, .tar.bz2, .tar.xz) or zip"
            f" archive: {exc}"
        ) from None
    return tuple(out)


def _zip_members(data: bytes, path: str) -> tuple[Member, ...]:
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModuleArgsError(f"unarchive: cannot read the zip archive {path}: {exc}") from None
    if len(infos) > MAX_MEMBERS:
        raise _too_many(path)
    out = []
    for i in infos:
        if i.is_dir():
            out.append(Member("d", 0, i.filename))
        elif stat.S_ISLNK(i.external_attr >> 16):
            out.append(Member("l", 0, i.filename))
        else:
            out.append(Member("-", i.file_size, i.filename))
    return tuple(out)


# --- sh ----------------------------------------------------------------------------


def heredoc(members: Sequence[Member]) -> str:
    """sh printing the members' lines, from a here-document of our own text."""
    lines = [f"{m.kind}\t{m.size}\t{m.name}" for m in members if "\n" not in m.name]
    end = "PROVISION_MEMBERS_" + secrets.token_hex(8)
    return "\n".join([f"cat <<'{end}'", *lines, end])


def remote_lister(fmt: Format, src: str, list_opts: Sequence[str], *, rc_to: int = 0) -> str:
    """sh listing the archive on the host as member lines; with `rc_to`, the lister's own
    exit code goes to that fd as `list_rc=N` (the pipeline's would be awk's)."""
    if fmt == "zip":
        lister, program = f"unzip -Z -- {q(src)}", ZIP_LINES
    else:
        opts = join(["--quoting-style=literal", "--show-transformed-names", *list_opts])
        lister, program = f"tar -tvf {q(src)} {opts}", TAR_LINES
    if rc_to:
        lister = f'{{ {lister}; echo "list_rc=$?" >&{rc_to}; }}'
    return f"{lister} | awk {q(program)}"


@dataclass(frozen=True)
class Wanted:
    """What the check compares beside existence and a file's size."""

    owner: str | None = None
    group: str | None = None
    mode: str | None = None  # as stat's %a prints it: 644, 4755
    list_files: bool = False


def checker(dest: str, exclude: Sequence[str], wanted: Wanted) -> list[str]:
    """sh reading member lines on stdin; prints `members=N` and `bad=N`, the first
    MAX_SHOWN differences as `diff=WHY NAME`, `toomany=1` past MAX_MEMBERS, and with
    list_files each name as `member=NAME`."""
    return [
        "n=0; bad=0",
        *_each_member(dest, exclude),
        "  n=$((n + 1))",
        f'  if [ "$n" -gt {MAX_MEMBERS} ]; then echo toomany=1; break; fi',
        *(["  printf 'member=%s\\n' \"$name\""] if wanted.list_files else []),
        "  p=$d/$name; why=",
        '  if [ "$kind" = l ]; then [ -L "$p" ] || why=missing',
        '  elif [ ! -e "$p" ]; then why=missing',
        '  elif [ "$kind" = - ] && [ "$(stat -c %s -- "$p")" != "$size" ]; then why=size',
        *_attr_checks(wanted),
        "  fi",
        '  if [ -n "$why" ]; then',
        "    bad=$((bad + 1))",
        f'    if [ "$bad" -le {MAX_SHOWN} ]; then',
        '      printf \'diff=%s %s\\n\' "$why" "$name"',
        "    fi",
        "  fi",
        "done",
        'echo "members=$n"; echo "bad=$bad"',
    ]


def _each_member(dest: str, exclude: Sequence[str]) -> list[str]:
    """The head of a loop over member lines on stdin: `$name` as it lands under `$d`,
    members tar would not write (`..`) and excluded ones skipped."""
    cases = [f"  case $name in $x{i}|$x{i}/*) continue ;; esac" for i in range(len(exclude))]
    return [
        f"d={q(dest.rstrip('/'))}; tab=$(printf '\\t')",
        *(f"x{i}={q(p)}" for i, p in enumerate(exclude)),
        'while IFS="$tab" read -r kind size name; do',
        "  while :; do case $name in",
        "    ./*) name=${name#./} ;; /*) name=${name#/} ;; */) name=${name%/} ;; *) break ;;",
        "  esac; done",
        '  case $name in ""|.) continue ;; esac',
        "  case /$name/ in */../*) continue ;; esac",
        *cases,
    ]


def _attr_checks(w: Wanted) -> list[str]:
    if w.owner is None and w.group is None and w.mode is None:
        return []
    tests = []
    if w.owner is not None:
        tests.append(f'{{ [ "$1" = {q(w.owner)} ] || [ "$3" = {q(w.owner)} ]; }} || why=owner')
    if w.group is not None:
        tests.append(f'{{ [ "$2" = {q(w.group)} ] || [ "$4" = {q(w.group)} ]; }} || why=group')
    if w.mode is not None:
        tests.append(f'[ "$kind" = l ] || [ "$5" = {w.mode} ] || why=mode')
    return [
        "  else",
        "    set -- $(stat -c '%U %G %u %g %a' -- \"$p\")",
        *(f"    {t}" for t in tests),
    ]


def attr_lines(
    dest: str, exclude: Sequence[str], owner: str | None, group: str | None, mode: str | None
) -> list[str]:
    """sh reading member lines on stdin and giving each extracted member these."""
    steps = []
    if owner is not None:
        steps.append(f'chown -h -- {q(owner)} "$p"')
    if group is not None:
        steps.append(f'chgrp -h -- {q(group)} "$p"')
    if mode is not None:
        steps.append(f'[ "$kind" = l ] || chmod {mode} -- "$p"')
    return [
        *_each_member(dest, exclude),
        "  p=$d/$name",
        '  [ -e "$p" ] || [ -L "$p" ] || continue',
        *(f"  {s}" for s in steps),
        "done",
    ]


def member_path(dest: str, name: str) -> str:
    return posixpath.join(dest, normal(name))
