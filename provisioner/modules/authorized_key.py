"""authorized_key: SSH public keys in (or out of) a user's authorized_keys file.

As Ansible's: a key is matched by its blob; a present key whose type, options
(`key_options`) or comment (`comment`, else the key's own) differ is rewritten;
`exclusive` leaves only the given keys. Unlike Ansible, lines that stay keep
their place and bytes, and a changed key keeps its place. The file is written
0600 and owned by the user; with `manage_dir` the directory is made (0700, the
user's) and the directory and file attributes are kept so. A user that does not
exist yet blocks the task: a dry run after a planned `user` task would change.
The dry run shows each key as type, SHA256 fingerprint and comment.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import field_validator, model_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules._files import AbsPath, Attrs, WritePlan, install_lines, parent_of
from provisioner.modules._sshkey import SshKey, display, parse_key
from provisioner.modules.base import (
    CONVERGED,
    Args,
    Blocked,
    Change,
    Kind,
    Module,
    Op,
    Plan,
    Provision,
)
from provisioner.modules.lineinfile import split_lines
from provisioner.probes.accounts import NOT_FOUND
from provisioner.probes.base import Probe, Seen
from provisioner.probes.sshkeys import Account, AuthorizedKeysFile, KeysFile
from provisioner.shell import op_script, q, valid_name

URL_PREFIXES = ("http://", "https://", "file:")
SELINUX_RESTORE = (
    "if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then restorecon -- {}; fi"
)


def wanted_keys(text: str) -> list[SshKey]:
    """The keys in `key`: one a line; blank lines and `#` comments skipped."""
    keys: dict[str, SshKey] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key = parse_key(line)
        if key is None:
            shown = line.strip()
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise ValueError(
                f"invalid key specified: {shown!r} (not `[options] type base64 [comment]`)"
            )
        keys.setdefault(key.blob, key)
    return list(keys.values())


class AuthorizedKeyArgs(Args):
    user: str
    key: str
    path: AbsPath | None = None
    manage_dir: bool = True
    state: Literal["present", "absent"] = "present"
    key_options: str | None = None
    exclusive: bool = False
    comment: str | None = None
    follow: bool = False

    @field_validator("user")
    @classmethod
    def _user(cls, value: str) -> str:
        return valid_name(value, "user", forbid=":/\n")

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if value.strip().lower().startswith(URL_PREFIXES):
            raise ValueError(
                "key from a URL or file is not supported: give the key itself, e.g. "
                "\"{{ lookup('file', 'alice.pub') }}\""
            )
        wanted_keys(value)
        return value

    @field_validator("key_options", "comment")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and ("\n" in value or "\r" in value):
            raise ValueError("must be a single line")
        return value

    @model_validator(mode="after")
    def _some_key(self) -> AuthorizedKeyArgs:
        if not wanted_keys(self.key) and not (self.exclusive and self.state == "present"):
            raise ValueError("key holds no key (only 'exclusive: true' may empty the file)")
        return self


@dataclass(frozen=True)
class KeysPlan:
    uid: int
    gid: int
    directory: str
    make_dir: bool
    fix_dir: bool
    path: str
    content: bytes | None  # None: the keys are right, only attributes change
    keep: Attrs | None  # of the file replaced
    fix_file: bool


def edit(text: str, wanted: list[SshKey], a: AuthorizedKeyArgs) -> tuple[str, list[str]]:
    """The file's new text, and a line per key added, changed or removed."""
    lines: list[str | None] = list(split_lines(text))
    found = [parse_key(line or "") for line in lines]
    notes: list[str] = []
    if a.state == "absent":
        gone = {w.blob for w in wanted}
        for i, key in enumerate(found):
            if key is not None and key.blob in gone:
                lines[i] = None
                notes.append(f"- key {key.label()}")
        return "".join(x for x in lines if x is not None), notes
    added: list[str] = []
    for w in wanted:
        at = [i for i, key in enumerate(found) if key is not None and key.blob == w.blob]
        if not at:
            added.append(w.line())
            notes.append(f"+ key {w.label()}")
            continue
        first, *copies = at
        there = found[first]
        assert there is not None
        changes = there.differences(w)
        if changes:
            lines[first] = w.line()
            notes.append(f"~ key {w.type} {w.fingerprint}: " + "; ".join(changes))
        for i in copies:
            lines[i] = None
            notes.append(f"- key {w.type} {w.fingerprint} (a second copy)")
    if a.exclusive:
        notes += _exclusive(lines, found, {w.blob for w in wanted})
    kept = [x for x in lines if x is not None]
    if added and kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    return "".join(kept + added), notes


def _exclusive(lines: list[str | None], found: list[SshKey | None], keep: set[str]) -> list[str]:
    """Drop every line but the wanted keys' (comments too, as Ansible does)."""
    notes, others = [], 0
    for i, key in enumerate(found):
        if lines[i] is None:
            continue
        if key is None:
            others += 1
            lines[i] = None
        elif key.blob not in keep:
            lines[i] = None
            notes.append(f"- key {key.label()}")
    if others:
        notes.append(f"- {others} other line{'s' if others != 1 else ''} (exclusive)")
    return notes


def key_diff(path: str, old: str | None, new: str) -> str | None:
    """A unified diff of the file with keys shown as their labels."""
    before = [] if old is None else [display(x) for x in split_lines(old)]
    after = [display(x) for x in split_lines(new)]
    label = path if path.startswith("/") else "/" + path
    out = difflib.unified_diff(
        before, after, "/dev/null" if old is None else f"a{label}", f"b{label}"
    )
    return "".join(out) or None


@register
class AuthorizedKeyModule(Module[AuthorizedKeyArgs, KeysFile, KeysPlan]):
    name = "authorized_key"
    aliases = ("ansible.posix.authorized_key",)
    differs = "the key's text only: a URL or file: key is refused"
    args_model = AuthorizedKeyArgs

    def __init__(self, args: AuthorizedKeyArgs) -> None:
        super().__init__(args)
        self.wanted = [self._as_wanted(k) for k in wanted_keys(args.key)]

    def _as_wanted(self, key: SshKey) -> SshKey:
        a = self.args
        return SshKey(
            key.type,
            key.blob,
            key.options if a.key_options is None else a.key_options.strip(),
            key.comment if a.comment is None else a.comment.strip(),
        )

    def _probe(self) -> AuthorizedKeysFile:
        a = self.args
        return AuthorizedKeysFile(a.user, a.path, a.follow)

    def probes(self) -> tuple[Probe[Any], ...]:
        return (self._probe(),)

    def state(self, seen: Seen) -> KeysFile:
        return seen(self._probe())

    def plan(self, current: KeysFile) -> Plan[KeysPlan]:
        a = self.args
        if current.account is None:
            if current.rc != NOT_FOUND:
                raise ProbeError(f"getent passwd {a.user} failed (exit {current.rc})")
            return Blocked(Provision(Kind.USER, a.user), f"user {a.user}", change=self._preview())
        if current.kind != "file" and current.kind != "absent":
            raise ProbeError(f"{current.path} exists and is not a regular file")
        if current.dir_kind == "other":
            raise ProbeError(f"{current.directory} exists and is not a directory")
        old = (current.content or b"").decode("utf-8", "surrogateescape")
        new, notes = edit(old, self.wanted, a)
        content = new.encode("utf-8", "surrogateescape") if new != old else None
        if current.dir_kind == "absent":
            if content is None:
                return CONVERGED  # nothing to write: no directory to make either
            if not (a.manage_dir and current.dir_parent):
                missing = parent_of(current.directory) if a.manage_dir else current.directory
                return Blocked(Provision(Kind.PATH, missing), f"directory {missing}")
        return self._change(current, current.account, content, notes, old)

    def _change(
        self,
        current: KeysFile,
        account: Account,
        content: bytes | None,
        notes: list[str],
        old: str,
    ) -> Plan[KeysPlan]:
        a = self.args
        lines: list[str] = []
        make_dir = current.dir_kind == "absent"
        if make_dir:
            lines.append(f"+ {current.directory}/ (0700, {a.user})")
        dir_fixes = (
            _attr_lines(current.directory, current.dir_attrs, 0o700, account, a.user)
            if a.manage_dir and current.dir_attrs is not None
            else []
        )
        file_fixes = (
            _attr_lines(current.path, current.attrs, 0o600, account, a.user)
            if a.manage_dir and current.attrs is not None and content is None
            else []
        )
        if content is not None:
            lines.append(("~ " if current.kind == "file" else "+ ") + current.path)
        lines += notes if content is not None else []
        lines += dir_fixes + file_fixes
        if not lines:
            return CONVERGED
        plan = KeysPlan(
            account.uid,
            account.gid,
            current.directory,
            make_dir,
            bool(dir_fixes),
            current.path,
            content,
            current.attrs,
            bool(file_fixes),
        )
        diff = None
        if content is not None:
            new = content.decode("utf-8", "replace")
            diff = key_diff(current.path, old if current.kind == "file" else None, new)
        return Change(tuple(lines), plan, diff)

    def _preview(self) -> Change[None]:
        """What the task would do for a user who is not there yet (a dry run shows it;
        `Blocked.change` is never applied, so it needs no payload)."""
        a = self.args
        path = a.path or f"~{a.user}/.ssh/authorized_keys"
        new, notes = edit("", self.wanted, a)
        return Change((f"+ {path}", *notes), None, key_diff(path, None, new) if new else None)

    def commands(self, change: Change[KeysPlan]) -> list[Op]:
        p = change.payload
        owner = f"{p.uid}:{p.gid}"
        lines = [f"d={q(p.directory)}"]
        if p.make_dir:
            lines += ['mkdir -m 700 -- "$d"', SELINUX_RESTORE.format('"$d"')]
        if p.make_dir or p.fix_dir:
            lines += [f'chown -- {owner} "$d"', 'chmod 700 -- "$d"']
        if p.content is None:
            if p.fix_file:
                lines += [f"chown -- {owner} {q(p.path)}", f"chmod 600 -- {q(p.path)}"]
            return [Op(op_script(*lines))]
        write = WritePlan(p.path, p.content, "0600", str(p.uid), str(p.gid), p.keep)
        lines += install_lines(write, ['cat -- "$PROVISION_SRC" > "$tmp"'])
        if p.keep is None:
            lines.append(SELINUX_RESTORE.format('"$dest"'))
        return [Op(op_script(*lines), upload=p.content)]

    def provides(self, change: Change[KeysPlan]) -> frozenset[Provision]:
        p: object = change.payload  # a preview (a Blocked's change) has none
        return frozenset({Provision(Kind.PATH, p.path)}) if isinstance(p, KeysPlan) else frozenset()

    def fields(self, current: KeysFile) -> Mapping[str, Any]:
        return {"keyfile": current.path} if current.path else {}


def _attr_lines(
    path: str, attrs: Attrs | None, mode: int, account: Account, user: str
) -> list[str]:
    if attrs is None:
        return []
    lines = []
    if attrs.mode != mode:
        lines.append(f"{path}: mode {attrs.mode_str} → {mode:04o}")
    if attrs.uid != account.uid:
        lines.append(f"{path}: owner {attrs.user} → {user}")
    if attrs.gid != account.gid:
        lines.append(f"{path}: group {attrs.group} → {account.gid}")
    return lines
