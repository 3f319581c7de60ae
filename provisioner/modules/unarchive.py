"""unarchive: unpack a tar (.tar, .tar.gz/.tgz, .tar.bz2, .tar.xz) or zip archive into an
existing directory, from the controller (uploaded) or, with `remote_src`, from the host.

Converged when `creates` exists, or when every member of the archive is under dest:
a file with the same size, a directory, a symlink (and with owner/group/mode, those
too). Ansible compares more (timestamps, contents); we do not read the files. A
controller archive's members are read here when the task is compiled; a host's are
listed there (`tar -tv`, `unzip -Z`), in the same probe that checks them. Files in
dest that are not in the archive are left alone, as Ansible does.

`extra_opts` go to tar or unzip as they are. For a host's tar archive the listing
gets the ones that change names (--strip-components, --transform, --exclude, ...),
so the check looks where tar writes; for a controller archive only
--strip-components can be followed, so the others need `creates`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, field_validator, model_validator

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules import register
from provisioner.modules._archive import (
    MAX_MEMBERS,
    Format,
    LocalArchive,
    Member,
    Wanted,
    attr_lines,
    checker,
    heredoc,
    member_path,
    normal,
    read_local,
    remote_lister,
    strip_components,
)
from provisioner.modules._files import (
    AbsPath,
    Account,
    Accounts,
    Mode,
    account_probes,
    accounts_seen,
    missing_account,
    path_provisions,
)
from provisioner.modules.base import (
    CONVERGED,
    Args,
    Blocked,
    Change,
    Failed,
    Kind,
    Module,
    ModuleContext,
    Op,
    Plan,
    Provision,
)
from provisioner.probes.base import Probe, Seen
from provisioner.shell import comma_list, facts, join, op_script, q, subshell

# tar options that change where members land, and take their value as the next word.
NAMING = ("--strip-components", "--transform", "--xform", "--exclude")
SEPARATE_VALUE = NAMING
# tar options that follow names in a listing (so the check looks where tar writes).
FOLLOWED = (*NAMING, "--wildcards", "--no-wildcards", "--anchored", "--no-anchored",
            "--ignore-case", "--no-ignore-case", "--wildcards-match-slash",
            "--no-wildcards-match-slash")  # fmt: skip
# Never: dest is the argument, and member lists from files cannot be followed.
REFUSED = ("-C", "--directory", "-T", "--files-from", "-X", "--exclude-from", "-d", "-x")
ZIP_NAMING = ("-j",)
ZIP_RENAMES = "unarchive: extra_opts -j changes where a zip's members land: give `creates`"


def _zip_renames(args: UnarchiveArgs) -> bool:
    return not args.creates and any(_opt_name(o) in ZIP_NAMING for o in _words(args.extra_opts))


def _words(opts: list[str]) -> list[list[str]]:
    """extra_opts as options with their values: ["--transform", "s/a/b/"] is one."""
    out: list[list[str]] = []
    for word in opts:
        if out and out[-1][0] in SEPARATE_VALUE and len(out[-1]) == 1:
            out[-1].append(word)
        else:
            out.append([word])
    return out


def _opt_name(option: list[str]) -> str:
    return option[0].split("=", 1)[0]


def _directory(value: str) -> str:
    if not value.startswith("/") or "\0" in value:
        raise ValueError(f"dest {value!r} must be an absolute path")
    return value


class UnarchiveArgs(Args):
    src: str
    dest: Annotated[str, AfterValidator(_directory)]
    remote_src: bool = False
    creates: AbsPath | None = None
    extra_opts: list[str] = []
    exclude: list[str] = []
    list_files: bool = False
    owner: Account = None
    group: Account = None
    mode: Mode = None

    @field_validator("src")
    @classmethod
    def _src(cls, value: str) -> str:
        if "://" in value:
            raise ValueError(
                "URLs are not supported yet: download with get_url, then unarchive with"
                " remote_src: true"
            )
        if not value.strip() or "\0" in value:
            raise ValueError("src must name an archive")
        return value

    @field_validator("extra_opts", mode="before")
    @classmethod
    def _one_string(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("exclude", mode="before")
    @classmethod
    def _listed(cls, value: object) -> object:
        return comma_list(value)

    @field_validator("extra_opts")
    @classmethod
    def _opts(cls, value: list[str]) -> list[str]:
        for option in _words(value):
            if _opt_name(option) in REFUSED:
                raise ValueError(
                    f"extra_opts {option[0]!r} is not supported (use dest and exclude)"
                )
        return value

    @model_validator(mode="after")
    def _remote_src_is_absolute(self) -> UnarchiveArgs:
        if self.remote_src and not self.src.startswith("/"):
            raise ValueError(f"src {self.src!r} on the host must be an absolute path")
        return self

    def list_opts(self) -> list[str]:
        """The extra_opts a listing of a host's tar archive takes too."""
        return [w for o in _words(self.extra_opts) if _opt_name(o) in FOLLOWED for w in o]

    def wanted(self) -> Wanted:
        mode = None if self.mode is None else f"{int(self.mode, 8):o}"
        return Wanted(self.owner, self.group, mode, self.list_files)


@dataclass(frozen=True)
class Unpacked:
    creates: bool = False
    dest: bool = True  # dest is a directory
    src: bool = True  # the host's archive is there (remote_src)
    tool: str = ""  # the program the host lacks (tar, unzip)
    format: Format = "tar"
    members: int = 0
    bad: int = 0
    differ: tuple[str, ...] = ()  # "missing a/b", "size c"
    toomany: bool = False
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArchiveCheck(Probe[Unpacked]):
    """creates, dest, the archive (remote) and the tool; then each member under dest."""

    dest: str
    creates: str | None
    remote_src: str | None
    format: Format | None  # a controller archive's; None: find out on the host
    members: str  # sh printing member lines (a controller archive's)
    list_opts: tuple[str, ...]
    exclude: tuple[str, ...]
    wanted: Wanted

    def command(self) -> str:
        lines = []
        if self.creates is not None:
            lines.append(f"if [ -e {q(self.creates)} ]; then echo creates=yes; exit 0; fi")
        lines.append(f"if [ ! -d {q(self.dest)} ]; then echo dest=missing; exit 0; fi")
        if self.remote_src is not None:
            src = q(self.remote_src)
            lines += [
                f"if [ ! -f {src} ]; then echo src=missing; exit 0; fi",
                f"case $(head -c 2 -- {src} | tr -d '\\0') in PK) fmt=zip ;; *) fmt=tar ;; esac",
            ]
        else:
            lines.append(f"fmt={self.format}")
        lines += [
            'echo "format=$fmt"',
            'tool=tar; [ "$fmt" = tar ] || tool=unzip',
            'if ! command -v "$tool" >/dev/null 2>&1; then echo "missing=$tool"; exit 0; fi',
            "{ {",
            *self._lister(),
            "} | {",
            *checker(self.dest, self.exclude, self.wanted),
            "}; } 3>&1",
        ]
        return subshell(*lines)

    def _lister(self) -> list[str]:
        if self.remote_src is None:
            return [self.members, "echo list_rc=0 >&3"]
        opts = list(self.list_opts)
        return [
            'if [ "$fmt" = zip ]; then',
            f"  {remote_lister('zip', self.remote_src, opts, rc_to=3)}",
            "else",
            f"  {remote_lister('tar', self.remote_src, opts, rc_to=3)}",
            "fi",
        ]

    def parse(self, stdout: str, exit_code: int) -> Unpacked:
        lines = stdout.splitlines()
        f = facts(lines)
        if f.get("creates") == "yes":
            return Unpacked(creates=True)
        if f.get("dest") == "missing":
            return Unpacked(dest=False)
        if f.get("src") == "missing":
            return Unpacked(src=False)
        fmt: Format = "zip" if f.get("format") == "zip" else "tar"
        if "missing" in f:
            return Unpacked(tool=f["missing"], format=fmt)
        rc, members, bad = f.get("list_rc", ""), f.get("members", ""), f.get("bad", "")
        if not (rc.isdigit() and members.isdigit() and bad.isdigit()):
            raise ProbeError(f"unarchive: cannot understand the probe output: {stdout[-200:]!r}")
        if rc != "0":
            raise ProbeError(
                f"unarchive: cannot list {self.remote_src} ({'unzip' if fmt == 'zip' else 'tar'}"
                f" exit {rc}): is it a tar or zip archive?"
            )
        differ = tuple(_said(ln[len("diff=") :]) for ln in lines if ln.startswith("diff="))
        files = tuple(ln[len("member=") :] for ln in lines if ln.startswith("member="))
        return Unpacked(
            format=fmt,
            members=int(members),
            bad=int(bad),
            differ=differ,
            toomany=f.get("toomany") == "1",
            files=files,
        )


WHY = {"missing": "missing", "size": "size differs", "owner": "owner differs",
       "group": "group differs", "mode": "mode differs"}  # fmt: skip


def _said(line: str) -> str:
    """`size a/b` (what the check printed) → `size differs: a/b`."""
    why, _, name = line.partition(" ")
    return f"{WHY.get(why, why)}: {name}"


@dataclass(frozen=True)
class UnpackPlan:
    format: Format


@register
class UnarchiveModule(Module[UnarchiveArgs, tuple[Unpacked, Accounts], UnpackPlan]):
    name = "unarchive"
    src_dir = "files"
    aliases = ("ansible.builtin.unarchive",)
    differs = (
        "src is a controller file or, with remote_src, a file on the host: no URLs (get_url first)"
    )
    args_model = UnarchiveArgs

    def __init__(self, args: UnarchiveArgs, local: LocalArchive | None = None) -> None:
        super().__init__(args)
        self.local = local
        self.members: tuple[Member, ...] = () if local is None else _landing(args, local)
        # Built once: its end word is random, and the probe must stay the same value.
        self.listed = "" if local is None else heredoc(self.members)

    @classmethod
    def build(cls, args: UnarchiveArgs, ctx: ModuleContext) -> UnarchiveModule:
        if args.remote_src:
            return cls(args)
        return cls(args, read_local(ctx.base_dir, args.src))

    def _check(self) -> ArchiveCheck:
        a = self.args
        return ArchiveCheck(
            a.dest,
            a.creates,
            a.src if a.remote_src else None,
            None if self.local is None else self.local.format,
            self.listed,
            tuple(a.list_opts()),
            tuple(a.exclude),
            a.wanted(),
        )

    def probes(self) -> tuple[Probe[Any], ...]:
        return (self._check(), *account_probes(self.args.owner, self.args.group))

    def state(self, seen: Seen) -> tuple[Unpacked, Accounts]:
        a = self.args
        return seen(self._check()), accounts_seen(seen, a.owner, a.group)

    def plan(self, current: tuple[Unpacked, Accounts]) -> Plan[UnpackPlan]:
        a = self.args
        found, accounts = current
        if found.creates:
            return CONVERGED
        if not found.dest:
            return Blocked(Provision(Kind.PATH, a.dest), f"directory {a.dest}")
        if not found.src:
            return Blocked(Provision(Kind.PATH, a.src), f"archive {a.src}")
        if found.tool:
            return Blocked(
                Provision(Kind.PACKAGE, found.tool),
                found.tool,
                f"{found.format} archives need it: install the {found.tool} package",
            )
        blocked = missing_account(accounts, a.owner, a.group)
        if blocked is not None:
            return blocked
        if found.toomany and a.creates is None:
            return Failed(
                f"unarchive: {a.src} has more than {MAX_MEMBERS} members, too many to check:"
                " give `creates` (a path the archive makes) to judge by"
            )
        if found.format == "zip" and _zip_renames(a):
            return Failed(ZIP_RENAMES)
        if found.bad == 0 and not found.toomany:
            return CONVERGED
        head = f"unpack {a.src} into {a.dest}"
        if found.toomany:
            return Change((f"{head} ({a.creates} is missing)",), UnpackPlan(found.format))
        head += f" ({found.bad} of {found.members} members missing or different)"
        more = found.bad - len(found.differ)
        tail = (f"… and {more} more",) if more > 0 else ()
        return Change((head, *found.differ, *tail), UnpackPlan(found.format))

    def commands(self, change: Change[UnpackPlan]) -> list[Op]:
        a = self.args
        archive = q(a.src) if a.remote_src else '"$PROVISION_SRC"'
        lines = [self._extract(change.payload.format, archive)]
        if a.owner is not None or a.group is not None or a.mode is not None:
            lines += [
                "{",
                *self._members_again(change.payload.format),
                "} | {",
                *attr_lines(a.dest, a.exclude, a.owner, a.group, a.mode),
                "}",
            ]
        upload = None if self.local is None else self.local.data
        return [Op(op_script(*lines), upload=upload)]

    def _extract(self, fmt: Format, archive: str) -> str:
        a = self.args
        extra = join(a.extra_opts)
        if fmt == "zip":
            excluded = f" -x {join(a.exclude)}" if a.exclude else ""
            # unzip exits 1 for warnings only: the files are there.
            return (
                f"unzip -o -q {extra} {archive} -d {q(a.dest)}{excluded}"
                ' || { rc=$?; [ "$rc" -eq 1 ] || exit "$rc"; }'
            )
        flag = self.local.compression if self.local is not None else ""
        excluded = join([f"--exclude={p}" for p in a.exclude])
        return " ".join(
            w for w in ("tar", "-x", flag, "-f", archive, "-C", q(a.dest), excluded, extra) if w
        )

    def _members_again(self, fmt: Format) -> list[str]:
        if self.local is not None:
            return [self.listed]
        return [remote_lister(fmt, self.args.src, self.args.list_opts())]

    def provides(self, change: Change[UnpackPlan]) -> frozenset[Provision]:
        a = self.args
        if self.local is None:  # which paths, only the host's archive knows
            return frozenset({Provision(Kind.PATH)})
        found = {Provision(Kind.PATH, a.dest)}
        for m in self.members:
            found |= path_provisions(member_path(a.dest, m.name))
        return frozenset(found)

    def fields(self, current: tuple[Unpacked, Accounts]) -> Mapping[str, Any]:
        out: dict[str, Any] = {"dest": self.args.dest, "src": self.args.src}
        if self.args.list_files:
            found = current[0]
            names = [normal(m.name) for m in self.members] if self.local else list(found.files)
            out["files"] = [n for n in names if n]
        return out


def _landing(args: UnarchiveArgs, local: LocalArchive) -> tuple[Member, ...]:
    """A controller archive's members where they will land (after --strip-components)."""
    members = local.members
    if local.format == "zip":
        if _zip_renames(args):
            raise ModuleArgsError(ZIP_RENAMES)
        return members
    for option in _words(args.extra_opts):
        name = _opt_name(option)
        if name == "--strip-components":
            text = option[0].split("=", 1)[1] if "=" in option[0] else "".join(option[1:2])
            if not text.isdigit():
                raise ModuleArgsError(f"unarchive: --strip-components needs a number: {text!r}")
            members = strip_components(members, int(text))
        elif name in NAMING and not args.creates:
            raise ModuleArgsError(
                f"unarchive: extra_opts {name} changes which members land where, which"
                " cannot be checked for a controller archive: give `creates`"
            )
    return members
