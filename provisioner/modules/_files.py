"""Shared pieces of the modules that manage one file's content or attributes.

Content modules (copy, template, lineinfile, yum_repository, get_url) follow
symlinks like Ansible's lineinfile does: the probe resolves the real path with
`readlink -f` and the write lands there, so /etc/sysconfig/selinux (a link)
stays a link.
"""

from __future__ import annotations

import difflib
import hashlib
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, TypeVar, get_args

from pydantic import AfterValidator, BeforeValidator

from provisioner.errors import MissingDependency, ModuleArgsError, ProbeError
from provisioner.modules._sh import (
    Query,
    b64_of,
    facts,
    op_script,
    parse_queries,
    q,
    query,
    subshell,
    unb64,
    valid_name,
)
from provisioner.modules.base import Change, Op

DIFF_LIMIT = 64 * 1024
"""Files up to this size travel back (base64) in the probe, for the diff."""

DEFAULT_MODE = "0644"
"""Mode of a new file when the task gives none (what umask 022 would give)."""

HASHES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")


# --- argument types ----------------------------------------------------------


def _mode(value: object) -> str | None:
    """Octal mode → 4-digit string. YAML 1.1 reads `0644` as the int 420, so an
    int is taken as the number itself; a string is read as octal."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("mode must be an octal string like '0644'")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"(0o?)?[0-7]{1,4}", value.strip()):
        text = value.strip()
        number = int(text[2:] if text.startswith("0o") else text, 8)
    else:
        raise ValueError(
            f"mode {value!r} is not an octal mode like '0644' (symbolic modes are not supported)"
        )
    if not 0 <= number <= 0o7777:
        raise ValueError(f"mode {value!r} is out of range")
    return f"{number:04o}"


def _abs_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"path {value!r} must be absolute")
    if "\0" in value:
        raise ValueError("path must not contain a NUL byte")
    if value.rstrip("/") == "":
        raise ValueError("path must not be '/'")
    return value


def _account(value: str | None) -> str | None:
    # chown would read "a:b" as owner a, group b; ',' is never valid either.
    return None if value is None else valid_name(value, "owner/group", forbid=":,\n")


Mode = Annotated[str | None, BeforeValidator(_mode)]
AbsPath = Annotated[str, AfterValidator(_abs_path)]
Account = Annotated[str | None, AfterValidator(_account)]


def parent_of(path: str) -> str:
    return posixpath.dirname(path.rstrip("/")) or "/"


def diff_label(side: str, path: str) -> str:
    return f"{side}{path}" if path.startswith("/") else f"{side}/{path}"


# --- probe and state ---------------------------------------------------------


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


STAT_FMT = "'%a|%u|%g|%U|%G|%s'"

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
    owner_exists: bool | None = None
    group_exists: bool | None = None


def account_probe(owner: str | None, group: str | None) -> list[str]:
    """Does the owner/group exist? (A later task may create it: dry runs say so.)"""
    lines = []
    if owner is not None and not owner.isdigit():
        lines.append(f'getent passwd -- {q(owner)} >/dev/null 2>&1; echo "owner_rc=$?"')
    if group is not None and not group.isdigit():
        lines.append(f'getent group -- {q(group)} >/dev/null 2>&1; echo "group_rc=$?"')
    return lines


def content_probe(
    path: str,
    *,
    algo: str = "sha256",
    limit: int | None = DIFF_LIMIT,
    owner: str | None = None,
    group: str | None = None,
    extra: tuple[str, ...] = (),
) -> str:
    """Read-only sh describing the file at `path` (resolved), its digest, and its
    content when at most `limit` bytes (None: never)."""
    content = (
        []
        if limit is None
        else [
            f'    if [ "$(stat -c %s -- "$r")" -le {limit} ]; then',
            "      " + query("content", 'base64 < "$r"').replace("\n", "\n      "),
            "    fi",
        ]
    )
    return subshell(
        f"p={q(path)}",
        # `&& echo x` keeps a trailing newline of the name through $(…).
        'r=$(readlink -f -- "$p" && echo x) || r=',
        "r=${r%x}; r=${r%?}",
        'if [ -z "$r" ]; then echo kind=noparent',
        "else",
        "  printf real=; " + b64_of('"$r"'),
        '  if [ -d "$r" ]; then echo kind=directory',
        '  elif [ -f "$r" ]; then',
        "    echo kind=file",
        f'    stat -c {STAT_FMT} -- "$r" | sed "s/^/stat=/"',
        f'    echo "sum=$({algo}sum < "$r" | cut -d " " -f 1)"',
        *content,
        '  elif [ -e "$r" ] || [ -L "$r" ]; then echo kind=other',
        "  else echo kind=absent",
        "  fi",
        "fi",
        *account_probe(owner, group),
        *extra,
    )


def parse_content(stdout: str, path: str, what: str) -> tuple[ContentState, dict[str, Query]]:
    """Parse `content_probe` output; also returns all queries for extra facts."""
    queries = parse_queries(stdout)
    f = facts(queries[""].lines)
    kind = KINDS.get(f.get("kind", ""))
    if kind is None:
        raise ProbeError(f"{what}: cannot understand probe output for {path}: {stdout[:200]!r}")
    real = unb64(f["real"], what).decode("utf-8", "surrogateescape") if "real" in f else ""
    attrs = digest = content = None
    if kind == "file":
        if "stat" not in f or not f.get("sum"):
            raise ProbeError(f"{what}: cannot read {path} (permission denied? try become)")
        attrs = parse_stat(f["stat"], what)
        digest = f["sum"]
        cq = queries.get("content")
        if cq is not None:
            if cq.rc != 0:
                raise ProbeError(f"{what}: cannot read {path} (permission denied? try become)")
            content = unb64("".join(cq.lines), what)
    return (
        ContentState(
            path=path,
            real=real,
            kind=kind,
            attrs=attrs,
            digest=digest,
            content=content,
            owner_exists=_rc_exists(f.get("owner_rc")),
            group_exists=_rc_exists(f.get("group_rc")),
        ),
        queries,
    )


def _rc_exists(rc: str | None) -> bool | None:
    # getent: 0 found, 2 not found; anything else (no getent?) is "unknown".
    return {"0": True, "2": False}.get(rc or "")


def require_accounts(state: ContentState, owner: str | None, group: str | None) -> None:
    if state.owner_exists is False and owner is not None:
        raise MissingDependency(f"user {owner}")
    if state.group_exists is False and group is not None:
        raise MissingDependency(f"group {group}")


def require_writable(state: ContentState) -> None:
    """A content module writes a regular file into an existing directory."""
    if state.kind == "noparent":
        raise MissingDependency(f"directory {parent_of(state.path)}")
    if state.kind == "directory":
        raise ProbeError(f"{state.path} is a directory, not a file")
    if state.kind == "other":
        raise ProbeError(f"{state.path} exists and is not a regular file")


# --- planning ----------------------------------------------------------------


def attr_changes(
    attrs: Attrs, mode: str | None, owner: str | None, group: str | None
) -> tuple[list[str], str | None, str | None, str | None]:
    """Summary lines and the (mode, owner, group) that must still be set."""
    lines: list[str] = []
    set_mode = set_owner = set_group = None
    if mode is not None and int(mode, 8) != attrs.mode:
        lines.append(f"mode: {attrs.mode_str} → {mode}")
        set_mode = mode
    if owner is not None and owner not in (attrs.user, str(attrs.uid)):
        lines.append(f"owner: {attrs.user} → {owner}")
        set_owner = owner
    if group is not None and group not in (attrs.group, str(attrs.gid)):
        lines.append(f"group: {attrs.group} → {group}")
        set_group = group
    return lines, set_mode, set_owner, set_group


def is_text(data: bytes) -> bool:
    if b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def text_diff(path: str, old: bytes | None, new: bytes) -> str | None:
    """Unified diff a/PATH → b/PATH (from /dev/null for a new file), or None
    when either side is binary."""
    if (old is not None and not is_text(old)) or not is_text(new):
        return None
    a = [] if old is None else old.decode().splitlines(keepends=True)
    b = new.decode().splitlines(keepends=True)
    out = []
    for line in difflib.unified_diff(
        a, b, "/dev/null" if old is None else diff_label("a", path), diff_label("b", path)
    ):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out) or None


@dataclass(frozen=True)
class WritePlan:
    """What apply does to one file: new content (None: only attributes)."""

    path: str
    content: bytes | None
    mode: str | None
    owner: str | None
    group: str | None
    keep: Attrs | None = None  # attributes of the file being replaced
    backup: bool = False


def plan_write(
    state: ContentState,
    new: bytes,
    *,
    mode: str | None,
    owner: str | None,
    group: str | None,
    backup: bool = False,
) -> Change | None:
    """Change that makes the file hold `new` with these attributes, or None."""
    require_writable(state)
    require_accounts(state, owner, group)
    target = state.real or state.path
    if state.kind == "absent" or state.attrs is None:
        return Change(
            summary=(f"+ {state.path}",),
            diff=text_diff(state.path, None, new),
            payload=WritePlan(target, new, mode or DEFAULT_MODE, owner, group, None, backup),
        )
    lines, set_mode, set_owner, set_group = attr_changes(state.attrs, mode, owner, group)
    if state.digest == hashlib.sha256(new).hexdigest():
        if not lines:
            return None
        return Change(
            summary=tuple(lines),
            payload=WritePlan(target, None, set_mode, set_owner, set_group),
        )
    diff = text_diff(state.path, state.content, new) if state.content is not None else None
    head = f"~ {state.path}"
    if diff is None:
        head += " (binary content differs)" if not is_text(new) else " (content differs)"
    return Change(
        summary=(head, *lines),
        diff=diff,
        payload=WritePlan(target, new, mode, owner, group, state.attrs, backup),
    )


# --- commands ----------------------------------------------------------------


def chown_lines(
    target: str, owner: str | None, group: str | None, *, link: bool = False
) -> list[str]:
    h = "-h " if link else ""
    lines = []
    if owner is not None:
        lines.append(f"chown {h}-- {q(owner)} {target}")
    if group is not None:
        lines.append(f"chgrp {h}-- {q(group)} {target}")
    return lines


def attrs_op(
    path: str, mode: str | None, owner: str | None, group: str | None, *, link: bool = False
) -> Op:
    lines = [] if mode is None or link else [f"chmod {mode} -- {q(path)}"]
    return Op(op_script(*lines, *chown_lines(q(path), owner, group, link=link)))


def install_lines(p: WritePlan, fill: list[str]) -> list[str]:
    """Atomic replace: a temp file in the target's directory, filled by `fill`
    (which writes "$tmp"), given its mode/owner, then `mv -f` over the target."""
    mode = p.mode or (p.keep.mode_str if p.keep else DEFAULT_MODE)
    lines = [
        f"dest={q(p.path)}",
        f"tmp=$(mktemp {q(parent_of(p.path) + '/.provision.XXXXXX')})",
        "trap 'rm -f -- \"$tmp\"' EXIT",
        *fill,
        f'chmod {mode} -- "$tmp"',
    ]
    if p.keep:
        # A replaced file keeps its owner and group unless the task sets them.
        lines += chown_lines('"$tmp"', p.owner or str(p.keep.uid), p.group or str(p.keep.gid))
    else:
        lines += chown_lines('"$tmp"', p.owner, p.group)
    if p.keep:
        lines.append(
            "if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then "
            'chcon --reference="$dest" -- "$tmp"; fi'
        )
        if p.backup:
            lines.append('cp -p -- "$dest" "$dest.$(date +%Y-%m-%d@%H:%M:%S)~"')
    lines += ['mv -f -- "$tmp" "$dest"', "trap - EXIT"]
    return lines


def write_ops(p: WritePlan) -> list[Op]:
    if p.content is None:
        return [attrs_op(p.path, p.mode, p.owner, p.group)]
    return [
        Op(op_script(*install_lines(p, ['cat -- "$PROVISION_SRC" > "$tmp"'])), upload=p.content)
    ]


# --- controller side ---------------------------------------------------------


def read_src(base_dir: Path, src: str, module: str) -> bytes:
    """Bytes of a controller file; a missing one is the user's error, not a traceback."""
    path = Path(src).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ModuleArgsError(f"{module}: src file {path} not found") from None
    except IsADirectoryError:
        raise ModuleArgsError(f"{module}: src {path} is a directory, not a file") from None
    except OSError as exc:
        raise ModuleArgsError(f"{module}: cannot read src {path}: {exc.strerror}") from None


T = TypeVar("T")


def payload_of(change: Change, kind: type[T]) -> T:
    """The change's payload, checked: a Change from another module is a bug."""
    if not isinstance(change.payload, kind):
        raise TypeError(f"expected a {kind.__name__} payload, got {type(change.payload).__name__}")
    return change.payload
