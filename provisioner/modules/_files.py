"""Shared pieces of the modules that manage one file's content or attributes.

Content modules (copy, template, lineinfile, yum_repository, get_url) follow
symlinks (see `probes.files.FileContent`): the write lands on the real path.
"""

from __future__ import annotations

import difflib
import hashlib
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from provisioner.errors import InputError, ModuleArgsError, ProbeError
from provisioner.limits import READS, mib, read_text
from provisioner.modules.base import CONVERGED, Blocked, Change, Kind, Op, Plan, Provision
from provisioner.probes.accounts import GroupEntry, PasswdEntry
from provisioner.probes.base import Probe, Seen
from provisioner.probes.files import DIFF_LIMIT, Attrs, ContentState, parent_of
from provisioner.shell import op_script, q, valid_name

__all__ = ["DIFF_LIMIT", "Attrs", "ContentState", "parent_of"]

DEFAULT_MODE = "0644"
"""Mode of a new file when the task gives none (what umask 022 would give)."""

HASHES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")

# Where a written file brings a unit or a repository (a dry run reads this).
UNIT_DIRS = ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")
REPO_DIR = "/etc/yum.repos.d"


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


# --- symbolic modes (file): `u=rwX,g=rX,o=`, `a-w`, `+x` ------------------------

UMASK = 0o022
"""The umask a who-less clause (`+x`) and a new path's mode assume: EL's default."""
SYMBOLIC = re.compile(r"[ugoa]*(?:[-+=](?:[ugo]|[rwxXst]*))+")
CLASS_BITS = {"u": 0o4700, "g": 0o2070, "o": 0o1007}  # rwx and the special bit of each
SHIFT = {"u": 6, "g": 3, "o": 0}


def _mode_or_symbolic(value: object) -> str | None:
    """An octal mode (as `Mode`), or a symbolic one kept as written: what it comes to
    depends on the path's current mode (`symbolic_mode`)."""
    if not isinstance(value, str) or value.strip()[:1].isdigit():
        return _mode(value)
    text = value.strip()
    if not text or not all(SYMBOLIC.fullmatch(clause) for clause in text.split(",")):
        raise ValueError(f"mode {value!r} is neither octal ('0644') nor symbolic ('u=rw,go=r')")
    return text


FileMode = Annotated[str | None, BeforeValidator(_mode_or_symbolic)]


def is_symbolic(mode: str) -> bool:
    return not mode.isdigit()


def _perm_bits(who: str, perms: str, mode: int, is_dir: bool) -> int:
    """The bits `perms` ('rwX', or a class letter to copy) stand for in class `who`."""
    if perms in SHIFT:  # g=u: the bits of another class
        return ((mode >> SHIFT[perms]) & 0o7) << SHIFT[who]
    bits = 0
    for p in perms:
        if p in "rwx" or (p == "X" and (is_dir or mode & 0o111)):
            bits |= {"r": 4, "w": 2, "x": 1, "X": 1}[p] << SHIFT[who]
        elif p == "s" and who in "ug":
            bits |= 0o4000 if who == "u" else 0o2000
        elif p == "t" and who == "o":
            bits |= 0o1000
    return bits


def symbolic_mode(spec: str, current: int, is_dir: bool, umask: int = UMASK) -> int:
    """The mode chmod's symbolic `spec` makes of `current`, clause by clause, as chmod(1)
    and Ansible compute it: `X` is x for a directory or where some x is set already, `=`
    clears the class (with its setuid/setgid/sticky bit) first, no class letter means
    all of them less the umask."""
    mode = current & 0o7777
    for clause in spec.split(","):
        m = re.match(r"[ugoa]*", clause)
        who = m.group(0) if m else ""
        masked = who == ""
        classes = "ugo" if who in ("", "a") or "a" in who else who
        for op, perms in re.findall(r"([-+=])([ugo]|[rwxXst]*)", clause[len(who) :]):
            bits = sum(_perm_bits(c, perms, mode, is_dir) for c in dict.fromkeys(classes))
            if masked:
                bits &= ~umask
            if op == "=":
                cleared = sum(CLASS_BITS[c] for c in dict.fromkeys(classes))
                mode = (mode & ~cleared) | bits
            elif op == "+":
                mode |= bits
            else:
                mode &= ~bits
    return mode


def resolve_mode(mode: str | None, current: int | None, is_dir: bool) -> str | None:
    """A task's mode as a 4-digit octal for this path (its current mode, or None for a
    path about to be made: what the umask would give it)."""
    if mode is None or not is_symbolic(mode):
        return mode
    base = current if current is not None else (0o777 if is_dir else 0o666) & ~UMASK
    return f"{symbolic_mode(mode, base, is_dir):04o}"


def chmod_word(mode: str) -> str:
    """chmod's word for exactly this octal mode: GNU chmod keeps a directory's setuid and
    setgid bits for a 4-digit mode, and clears them only with one more leading zero."""
    return f"0{mode}"


AbsPath = Annotated[str, AfterValidator(_abs_path)]
Account = Annotated[str | None, AfterValidator(_account)]


def diff_label(side: str, path: str) -> str:
    return f"{side}{path}" if path.startswith("/") else f"{side}/{path}"


# --- owner and group: do they exist? -------------------------------------------


def account_probes(owner: str | None, group: str | None) -> tuple[Probe[Any], ...]:
    """Does the owner/group exist? (A later task may create it: dry runs say so.)
    Numeric ids need no account."""
    probes: list[Probe[Any]] = []
    if owner is not None and not owner.isdigit():
        probes.append(PasswdEntry(owner))
    if group is not None and not group.isdigit():
        probes.append(GroupEntry(group))
    return tuple(probes)


@dataclass(frozen=True)
class Accounts:
    """Whether the task's owner and group exist (None: not asked, or unknown)."""

    owner: bool | None = None
    group: bool | None = None


def accounts_seen(seen: Seen, owner: str | None, group: str | None) -> Accounts:
    owner_found = seen(PasswdEntry(owner)).found if owner and not owner.isdigit() else None
    group_found = seen(GroupEntry(group)).found if group and not group.isdigit() else None
    return Accounts(owner_found, group_found)


def missing_account(accounts: Accounts, owner: str | None, group: str | None) -> Blocked | None:
    if accounts.owner is False and owner is not None:
        return Blocked(Provision(Kind.USER, owner), f"user {owner}")
    if accounts.group is False and group is not None:
        return Blocked(Provision(Kind.GROUP, group), f"group {group}")
    return None


def not_writable(state: ContentState) -> Blocked | None:
    """A content module writes a regular file into an existing directory."""
    if state.kind == "noparent":
        parent = parent_of(state.path)
        return Blocked(Provision(Kind.PATH, parent), f"directory {parent}")
    if state.kind == "directory":
        raise ProbeError(f"{state.path} is a directory, not a file")
    if state.kind == "other":
        raise ProbeError(f"{state.path} exists and is not a regular file")
    return None


def path_provisions(path: str) -> frozenset[Provision]:
    """What a file written at `path` brings: the path, and a unit or repositories by place."""
    found = {Provision(Kind.PATH, path)}
    parent, base = posixpath.split(path.rstrip("/"))
    if parent in UNIT_DIRS:
        found.add(Provision(Kind.UNIT, base))
    if parent == REPO_DIR and base.endswith(".repo"):
        found |= {Provision(Kind.REPO), Provision(Kind.PACKAGE)}
    return frozenset(found)


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


@dataclass(frozen=True)
class FileWish:
    """What a content module wants of its file."""

    content: bytes
    mode: str | None = None
    owner: str | None = None
    group: str | None = None
    backup: bool = False


def plan_write(state: ContentState, accounts: Accounts, wish: FileWish) -> Plan[WritePlan]:
    """The change that makes the file hold `wish.content` with these attributes."""
    blocked = not_writable(state) or missing_account(accounts, wish.owner, wish.group)
    if blocked is not None:
        return blocked
    new, target = wish.content, state.real or state.path
    if state.kind == "absent" or state.attrs is None:
        return Change(
            (f"+ {state.path}",),
            WritePlan(
                target, new, wish.mode or DEFAULT_MODE, wish.owner, wish.group, None, wish.backup
            ),
            text_diff(state.path, None, new),
        )
    lines, set_mode, set_owner, set_group = attr_changes(
        state.attrs, wish.mode, wish.owner, wish.group
    )
    if state.digest == hashlib.sha256(new).hexdigest():
        if not lines:
            return CONVERGED
        return Change(tuple(lines), WritePlan(target, None, set_mode, set_owner, set_group))
    diff = text_diff(state.path, state.content, new) if state.content is not None else None
    head = f"~ {state.path}"
    if diff is None:
        head += " (binary content differs)" if not is_text(new) else " (content differs)"
    return Change(
        (head, *lines),
        WritePlan(target, new, wish.mode, wish.owner, wish.group, state.attrs, wish.backup),
        diff,
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


def install_lines(p: WritePlan, fill: Sequence[str]) -> list[str]:
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


def src_path(base_dir: Path, src: str) -> Path:
    path = Path(src).expanduser()
    return path if path.is_absolute() else base_dir / path


def read_src(base_dir: Path, src: str, module: str, *, limit: int | None = None) -> bytes:
    """Bytes of a controller file; a missing one is the user's error, not a traceback.
    Only a regular file: /dev/zero or a FIFO would never end. `limit`: at most so many
    bytes (a template is text, rendered in memory)."""
    path = src_path(base_dir, src)
    try:
        if path.is_dir():
            raise ModuleArgsError(f"{module}: src {path} is a directory, not a file")
        if path.exists() and not path.is_file():
            raise ModuleArgsError(f"{module}: src {path} is not a regular file")
        READS.note(path)
        with open(path, "rb") as stream:
            data = stream.read() if limit is None else stream.read(limit + 1)
    except FileNotFoundError:
        raise ModuleArgsError(f"{module}: src file {path} not found") from None
    except OSError as exc:
        raise ModuleArgsError(f"{module}: cannot read src {path}: {exc.strerror}") from None
    if limit is not None and len(data) > limit:
        raise ModuleArgsError(f"{module}: src {path} is larger than {mib(limit)} (the limit)")
    return data


def src_text(base_dir: Path, src: str) -> str | None:
    """A template's text, for finding the names it uses; None when it cannot be read
    (building the task reports why)."""
    path = src_path(base_dir, src)
    try:
        return read_text(path) if path.is_file() else None
    except InputError:
        return None
