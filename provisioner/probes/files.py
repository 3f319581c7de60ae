"""One path on the host: its content (digest, and the bytes when small) or its kind.

Content probes follow symlinks like Ansible's lineinfile does: the real path
comes back (`readlink -f`) and a write lands there, so /etc/sysconfig/selinux
(a link) stays a link. `PathInfo` describes the path itself, link or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from provisioner.errors import ProbeError
from provisioner.probes.base import Probe
from provisioner.probes.footprint import ACCOUNTS, Footprint, paths
from provisioner.shell import b64_of, facts, parse_queries, q, query, subshell, unb64

DIFF_LIMIT = 64 * 1024
"""Files up to this size travel back (base64) in the probe, for the diff."""

STAT_FMT = "'%a|%u|%g|%U|%G|%s'"


@dataclass(frozen=True)
class Attrs:
    mode: int
    uid: int
    gid: int
    user: str
    group: str
    size: int

    @property
    def mode_str(self) -> str:
        return f"{self.mode:04o}"


def parse_stat(line: str, what: str) -> Attrs:
    """`stat -c '%a|%u|%g|%U|%G|%s'` output → Attrs."""
    parts = line.split("|")
    if len(parts) != 6:
        raise ProbeError(f"{what}: cannot read stat output {line!r}")
    try:
        return Attrs(
            int(parts[0], 8), int(parts[1]), int(parts[2]), parts[3], parts[4], int(parts[5])
        )
    except ValueError:
        raise ProbeError(f"{what}: cannot read stat output {line!r}") from None


Kind = Literal["absent", "file", "directory", "other", "noparent"]
KINDS: dict[str, Kind] = {k: k for k in get_args(Kind)}


@dataclass(frozen=True)
class ContentState:
    """A file as a content module sees it (symlinks followed)."""

    path: str
    real: str
    kind: Kind
    attrs: Attrs | None = None
    digest: str | None = None
    content: bytes | None = None


@dataclass(frozen=True)
class FileContent(Probe[ContentState]):
    """The file at `path` (resolved), its `algo` digest, and its bytes when at most
    `limit` (None: never) and their digest is not `unless` (the content a task wants:
    when the file holds it already, its bytes need not travel)."""

    path: str
    algo: str = "sha256"
    limit: int | None = DIFF_LIMIT
    unless: str | None = None

    def command(self) -> str:
        # Few processes: every fork costs the host about a millisecond, on every run.
        wanted = "" if self.unless is None else f' && [ "${{h%% *}}" != {q(self.unless)} ]'
        content = (
            []
            if self.limit is None
            else [
                f'    if [ -n "$s" ] && [ "${{s##*|}}" -le {self.limit} ]{wanted}; then',
                "      " + query("content", 'base64 < "$r"').replace("\n", "\n      "),
                "    fi",
            ]
        )
        return subshell(
            f"p={q(self.path)}",
            # `&& echo x` keeps a trailing newline of the name through $(…).
            'r=$(readlink -f -- "$p" && echo x) || r=',
            "r=${r%x}; r=${r%?}",
            'if [ -z "$r" ]; then echo kind=noparent',
            "else",
            '  [ "$r" = "$p" ] || { printf real=; ' + b64_of('"$r"').rstrip() + "; }",
            '  if [ -d "$r" ]; then echo kind=directory',
            '  elif [ -f "$r" ]; then',
            "    echo kind=file",
            f'    s=$(stat -c {STAT_FMT} -- "$r") && echo "stat=$s"',
            f'    h=$({self.algo}sum < "$r") && echo "sum=${{h%% *}}"',
            *content,
            '  elif [ -e "$r" ] || [ -L "$r" ]; then echo kind=other',
            "  else echo kind=absent",
            "  fi",
            "fi",
        )

    def parse(self, stdout: str, exit_code: int) -> ContentState:
        queries = parse_queries(stdout)
        f = facts(queries[""].lines)
        kind = KINDS.get(f.get("kind", ""))
        if kind is None:
            raise ProbeError(f"cannot understand the probe of {self.path}: {stdout[:200]!r}")
        real = unb64(f["real"], self.path).decode("utf-8", "surrogateescape") if "real" in f else ""
        if kind != "noparent" and not real:
            real = self.path  # it resolves to itself: the probe said nothing more
        attrs = digest = content = None
        if kind == "file":
            if "stat" not in f or not f.get("sum"):
                raise ProbeError(f"cannot read {self.path} (permission denied? try become)")
            attrs = parse_stat(f["stat"], self.path)
            digest = f["sum"]
            cq = queries.get("content")
            if cq is not None:
                if cq.rc != 0:
                    raise ProbeError(f"cannot read {self.path} (permission denied? try become)")
                content = unb64("".join(cq.lines), self.path)
        return ContentState(self.path, real, kind, attrs, digest, content)

    def reads(self, stdout: str) -> Footprint:
        if "\nkind=noparent" in "\n" + stdout:
            return None  # a missing directory on the way: no telling where it leads
        return resolved(stdout, self.path)


def leads(var: str) -> str:
    """sh printing `real=` and where the path in $`var` resolves to (links followed, a
    missing end too), when that differs from it: see `resolved`."""
    real = b64_of('"$r"').rstrip()
    return (
        f'r=$(readlink -m -- "${var}" 2>/dev/null); '
        f'[ "$r" = "${var}" ] || {{ printf real=; {real}; }}'
    )


def resolved(stdout: str, *names: str) -> Footprint:
    """A path probe's footprint: its paths, where they resolved to (its `real=`
    lines), and the accounts (owners show as names); None when one did not resolve."""
    reals = []
    for line in stdout.splitlines():
        if line.startswith("@@"):  # the content's frame: the facts came before it
            break
        if line.startswith("real="):
            try:
                reals.append(unb64(line[5:], names[0]).decode("utf-8", "surrogateescape"))
            except ProbeError:
                return None
    if any(not r for r in reals):
        return None
    found = paths(*names, *reals)
    return None if found is None else found | {ACCOUNTS}


PathKind = Literal["absent", "file", "directory", "other"]
PATH_KINDS: dict[str, PathKind] = {k: k for k in get_args(PathKind)}


@dataclass(frozen=True)
class PathState:
    is_link: bool
    kind: PathKind  # what the path is, symlinks followed ("absent" for a dangling link)
    attrs: Attrs | None  # of the followed target
    link_attrs: Attrs | None  # of the link itself
    target: str | None  # readlink
    parent_exists: bool


def parent_of(path: str) -> str:
    import posixpath

    return posixpath.dirname(path.rstrip("/")) or "/"


@dataclass(frozen=True)
class PathInfo(Probe[PathState]):
    """What `path` is (link or not, what it points to), its attributes, its parent."""

    path: str

    def command(self) -> str:
        return subshell(
            f"p={q(self.path)}",
            'if [ -L "$p" ]; then',
            "  echo link=yes",
            f'  stat -c {STAT_FMT} -- "$p" | sed "s/^/lstat=/"',
            # readlink's newline is part of the base64; parse drops it.
            '  printf target=; readlink -- "$p" | base64 | tr -d "\\n"; echo',
            "else echo link=no",
            "fi",
            'if [ -d "$p" ]; then echo kind=directory',
            'elif [ -f "$p" ]; then echo kind=file',
            'elif [ -e "$p" ]; then echo kind=other',
            "else echo kind=absent",
            "fi",
            f'if [ -e "$p" ]; then stat -L -c {STAT_FMT} -- "$p" | sed "s/^/stat=/"; fi',
            f"if [ -d {q(parent_of(self.path))} ]; then echo parent=yes; else echo parent=no; fi",
            leads("p"),  # where it leads, when that is elsewhere (a link on the way)
        )

    def parse(self, stdout: str, exit_code: int) -> PathState:
        f = facts(parse_queries(stdout)[""].lines)
        kind = PATH_KINDS.get(f.get("kind", ""))
        if kind is None or f.get("link") not in ("yes", "no"):
            raise ProbeError(f"cannot understand the probe of {self.path}: {stdout[:200]!r}")
        target = None
        if "target" in f:
            raw = unb64(f["target"], self.path).decode("utf-8", "surrogateescape")
            target = raw[:-1] if raw.endswith("\n") else raw
        return PathState(
            is_link=f["link"] == "yes",
            kind=kind,
            attrs=parse_stat(f["stat"], self.path) if "stat" in f else None,
            link_attrs=parse_stat(f["lstat"], self.path) if "lstat" in f else None,
            target=target,
            parent_exists=f.get("parent") == "yes",
        )

    def reads(self, stdout: str) -> Footprint:
        if "\nlink=yes" in "\n" + stdout:
            return None  # what it says of the target depends on where the link leads
        return resolved(stdout, self.path)


TREE_LIMIT = 1000
"""Distinct (kind, mode, owner, group) combinations a tree probe brings back."""


@dataclass(frozen=True)
class TreeEntry:
    """Paths under a directory that share a kind (find's %y: f, d, l, ...), mode and
    owner: how many there are, never their names."""

    kind: str
    mode: int
    uid: int
    gid: int
    user: str
    group: str
    count: int


@dataclass(frozen=True)
class TreeAttrs(Probe[tuple[TreeEntry, ...]]):
    """What is under directory `path` (not following links), grouped by attributes, so
    its size does not grow with the number of files (`file` with `recurse`)."""

    path: str

    def command(self) -> str:
        fmt = q("%y %m %U %G %u %g\\n")
        # POSIX has no pipefail: find's exit code travels out on fd 3.
        listing = (
            f'{{ {{ find {q(self.path)} -mindepth 1 -printf {fmt} 2>/dev/null; echo "rc=$?" >&3; }}'
            f" | sort | uniq -c | head -n {TREE_LIMIT + 1}; }} 3>&1"
        )
        return f"if [ -d {q(self.path)} ]; then {listing}; fi"

    def parse(self, stdout: str, exit_code: int) -> tuple[TreeEntry, ...]:
        found: list[TreeEntry] = []
        rc = "0"
        for line in stdout.splitlines():
            words = line.split()
            if len(words) == 1 and words[0].startswith("rc="):
                rc = words[0][3:]
            elif len(words) == 7 and words[0].isdigit() and words[2].isdigit():
                count, kind, mode, uid, gid, user, group = words
                if not (uid.isdigit() and gid.isdigit()):
                    raise ProbeError(f"cannot understand find's output under {self.path}: {line!r}")
                found.append(
                    TreeEntry(kind, int(mode, 8), int(uid), int(gid), user, group, int(count))
                )
            elif line.strip():
                raise ProbeError(f"cannot understand find's output under {self.path}: {line!r}")
        if rc != "0":
            raise ProbeError(f"cannot read everything under {self.path} (permission denied?)")
        if len(found) > TREE_LIMIT:
            raise ProbeError(
                f"{self.path}: more than {TREE_LIMIT} distinct modes and owners under it"
            )
        return tuple(found)
