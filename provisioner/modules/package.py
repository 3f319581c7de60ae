"""package (aliases yum, dnf): RPM packages present, absent or latest.

Names may carry a version: `docker-ce-26.1.4`, `docker-ce-3:26.1.4-1.el7`.
The version is split off at the first '-' followed by something shaped like
[epoch:]version[-release] with digits leading; `containerd.io` or
`java-11-openjdk` stay whole names. Because `compat-libstdc++-33` is also
shaped like that, the probe asks rpm about the whole text too: whatever rpm
itself finds installed for it (as a name, a name-version label or a
capability) counts as present.

`latest` asks `dnf/yum -q check-update` in the probe (read-only; it may
refresh the metadata cache). One transaction per task; yum cannot downgrade
with `install`, so a yum downgrade is a second `yum downgrade` command.
Before the transaction the command waits up to `lock_timeout` seconds for a
yum/dnf/rpm lock held by another process, then fails naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator, model_validator

from provisioner.errors import MissingDependency, ProbeError
from provisioner.modules import register
from provisioner.modules._sh import (
    Query,
    comma_list,
    facts,
    join,
    need,
    op_script,
    parse_queries,
    q,
    query,
    subshell,
    valid_name,
)
from provisioner.modules.base import Args, Change, Module, Op

QF = r"%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n"
EVR_RE = re.compile(r"(?:(\d+):)?(\d[\w.+~^]*)(?:-(\d[\w.+~^]*))?")
# yum/dnf could not read a repository (dead mirror, no DNS, 403): an earlier task that
# repoints the repositories may cure that, so it is a missing dependency, not a bad probe.
REPO_UNREADABLE = re.compile(
    r"Failed to download metadata|Cannot find a valid baseurl|Could not resolve host"
    r"|Cannot retrieve repository metadata|Cannot prepare internal mirrorlist|Errno 14"
)
NOT_INSTALLED = re.compile(
    r"package .* is not installed|no package provides .*|file .* is not owned by any package"
)
Manager = Literal["dnf", "yum"]
MANAGERS: dict[str, Manager] = {"dnf": "dnf", "yum": "yum"}
STATES = {"installed": "present", "removed": "absent"}  # Ansible spellings


@dataclass(frozen=True)
class Spec:
    """One requested package: the text as written and its name/version parts."""

    raw: str
    name: str
    epoch: str | None = None
    version: str | None = None
    release: str | None = None

    @property
    def evr(self) -> str:
        """The requested version as written ('' when unversioned)."""
        return self.raw[len(self.name) + 1 :] if self.version else ""

    @property
    def label(self) -> str:
        return f"{self.name} {self.evr}" if self.version else self.name


def split_spec(raw: str) -> Spec:
    for m in re.finditer(r"-(?=\d)", raw):
        evr = EVR_RE.fullmatch(raw[m.end() :])
        if m.start() > 0 and evr:
            return Spec(raw, raw[: m.start()], evr.group(1), evr.group(2), evr.group(3))
    return Spec(raw, raw)


@dataclass(frozen=True)
class Installed:
    name: str
    epoch: int
    version: str
    release: str
    arch: str


# --- rpm version comparison (rpmvercmp), for telling a downgrade -------------


def _segments(s: str) -> list[str]:
    return re.findall(r"~|\^|[0-9]+|[a-zA-Z]+", s)


def rpmvercmp(a: str, b: str) -> int:
    """-1, 0, 1 like rpm's rpmvercmp ('~' sorts before everything, '^' after)."""
    if a == b:
        return 0
    sa, sb = _segments(a), _segments(b)
    while sa or sb:
        x = sa.pop(0) if sa else None
        y = sb.pop(0) if sb else None
        if x == "~" or y == "~":
            if x != y:
                return -1 if x == "~" else 1
            continue
        if x == "^" or y == "^":
            if x is None:
                return -1
            if y is None:
                return 1
            if x != y:  # a caret sorts after the end, but before anything else
                return -1 if x == "^" else 1
            continue
        if x is None or y is None:
            return -1 if x is None else 1
        if x.isdigit() != y.isdigit():
            return 1 if x.isdigit() else -1
        if x.isdigit():
            xi, yi = int(x), int(y)
            if xi != yi:
                return 1 if xi > yi else -1
        elif x != y:
            return 1 if x > y else -1
    return 0


def evr_cmp(a: tuple[int, str, str | None], b: tuple[int, str, str | None]) -> int:
    """Compare (epoch, version, release); a None release matches any."""
    if a[0] != b[0]:
        return 1 if a[0] > b[0] else -1
    c = rpmvercmp(a[1], b[1])
    if c or a[2] is None or b[2] is None:
        return c
    return rpmvercmp(a[2], b[2])


def matches(spec: Spec, inst: Installed) -> bool:
    """Installed EVR satisfies a versioned request (epoch/release optional)."""
    return (
        inst.name == spec.name
        and inst.version == spec.version
        and (spec.release is None or inst.release == spec.release)
        and (spec.epoch is None or int(spec.epoch) == inst.epoch)
    )


# --- module ------------------------------------------------------------------


class PackageArgs(Args):
    name: list[str]
    state: Literal["present", "absent", "latest"] = "present"
    lock_timeout: int = Field(default=300, ge=0)

    @field_validator("name", mode="before")
    @classmethod
    def _names(cls, value: object) -> object:
        return comma_list(value)

    @field_validator("name")
    @classmethod
    def _check(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name must list at least one package")
        for n in value:
            if n.startswith("@") or any(c in n for c in "*?[") or "://" in n or n.endswith(".rpm"):
                raise ValueError(
                    f"package {n!r}: groups, globs, URLs and .rpm files are not supported"
                )
            # rpm names never hold whitespace, ',' or comparison operators.
            valid_name(n, "package name", forbid=" \t\r\n,<>=")
        return list(dict.fromkeys(value))

    @field_validator("state", mode="before")
    @classmethod
    def _state(cls, value: object) -> object:
        return STATES.get(value, value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _latest_unpinned(self) -> PackageArgs:
        pinned = [n for n in self.name if split_spec(n).version]
        if self.state == "latest" and pinned:
            raise ValueError(
                f"state 'latest' cannot be combined with a pinned version: {', '.join(pinned)}"
            )
        return self


@dataclass(frozen=True)
class PackageState:
    manager: Manager
    have: tuple[tuple[Installed, ...], ...]  # per spec: what rpm finds for the text
    named: tuple[tuple[Installed, ...], ...]  # per spec: the split-off name's packages
    updates: tuple[tuple[str, str], ...] = ()  # (name, available [E:]V-R), latest only
    unavailable: tuple[str, ...] = ()  # specs neither installed nor in an enabled repo
    unreadable: str = ""  # yum/dnf's error when an enabled repository could not be read


@dataclass(frozen=True)
class PackagePlan:
    manager: Manager
    install: tuple[str, ...] = ()
    downgrade: tuple[str, ...] = ()
    upgrade: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@register
class PackageModule(Module[PackageArgs, PackageState]):
    name = "package"
    aliases = ("yum", "dnf")
    args_model = PackageArgs

    @property
    def specs(self) -> list[Spec]:
        return [split_spec(n) for n in self.args.name]

    def probe(self) -> str:
        lines = [
            "if command -v dnf >/dev/null 2>&1; then pm=dnf; else pm=yum; fi",
            'echo "pm=$pm"',
            "command -v rpm >/dev/null 2>&1 || echo norpm=1",
            f"f={q(QF)}",
        ]
        # yum/dnf block forever on a held lock: wait as apply would, then give up naming it.
        locked = "\n".join(lock_wait(self.args.lock_timeout))
        for i, s in enumerate(self.specs):
            label = f'rpm -q --qf "$f" {q(s.raw)}'
            if self.args.state == "absent":
                lines.append(query(f"have {i}", label))
            else:
                # A capability (vim → vim-enhanced, /usr/bin/vim) also satisfies it.
                lines.append(
                    query(f"have {i}", f'{label} || rpm -q --qf "$f" --whatprovides {q(s.raw)}')
                )
            if s.version:
                lines.append(query(f"name {i}", f'rpm -q --qf "$f" {q(s.name)}'))
            if self.args.state != "absent" and not re.search(r"[/()]", s.raw):
                # Only for what is not installed: can a repo provide it? Reruns skip this.
                installed = f'{{ {label} || rpm -q --qf "$f" --whatprovides {q(s.raw)}; }}'
                listing = f'"$pm" -q list available --showduplicates {q(s.raw)}'
                lines.append(
                    query(
                        f"avail {i}",
                        f"{installed} >/dev/null 2>&1 || ( {locked}\n{listing} ) 2>&1",
                    )
                )
        if self.args.state == "latest":
            check = f'"$pm" -q check-update {join(self.args.name)}'
            # The lock message joins the output; check-update's own stderr does not.
            lines.append(query("updates", f"( ( {locked}\n) 2>&1 || exit 1\n{check} )"))
        return subshell(*lines)

    def parse(self, stdout: str, exit_code: int) -> PackageState:
        qs = parse_queries(stdout)
        f = facts(qs[""].lines)
        if f.get("norpm"):
            raise ProbeError("rpm is not installed on the host: is it an EL host?")
        pm = MANAGERS.get(f.get("pm", ""))
        if pm is None:
            raise ProbeError(f"package: cannot understand probe output: {stdout[:200]!r}")
        have, named, unavailable = [], [], []
        unreadable = ""
        for i, s in enumerate(self.specs):
            have.append(_rpm_lines(need(qs, f"have {i}", "package"), s.raw))
            named.append(_rpm_lines(need(qs, f"name {i}", "package"), s.name) if s.version else ())
            avail = qs.get(f"avail {i}")
            if avail is not None and avail.rc != 0:
                text = " ".join(avail.lines)
                if REPO_UNREADABLE.search(text):
                    unreadable = unreadable or text[:300]
                elif "No matching Packages" not in text:
                    raise ProbeError(f"{pm} cannot list {s.raw!r} (exit {avail.rc}): {text[:300]}")
                unavailable.append(s.raw)
        updates: tuple[tuple[str, str], ...] = ()
        if self.args.state == "latest":
            up = need(qs, "updates", "package")
            if up.rc not in (0, 100):
                detail = " ".join(up.lines)[:200]
                raise ProbeError(
                    f"{pm} check-update failed (exit {up.rc}){': ' + detail if detail else ''}"
                )
            updates = tuple(parse_check_update(up.lines).items()) if up.rc == 100 else ()
        return PackageState(pm, tuple(have), tuple(named), updates, tuple(unavailable), unreadable)

    def plan(self, current: PackageState) -> Change | None:
        lines: list[str] = []
        install: list[str] = []
        downgrade: list[str] = []
        upgrade: list[str] = []
        remove: list[str] = []
        state = self.args.state
        updates = dict(current.updates)
        for s, have, named in zip(self.specs, current.have, current.named, strict=True):
            hit = [x for x in named if matches(s, x)]
            if state == "absent":
                if have or hit:
                    lines.append(f"- {s.label}")
                    remove.append(s.raw)
                continue
            if have or hit:
                if state == "latest":
                    for x in have:
                        if x.name in updates and x.name not in upgrade:
                            _, version, release = _evr(updates[x.name])
                            lines.append(_arrow(x.name, x.version, x.release, version, release))
                            upgrade.append(x.name)
                continue
            same = [x for x in named if x.name == s.name]
            if not same:
                lines.append(f"+ {s.label}")
                install.append(s.raw)
                continue
            cur = max(same, key=lambda x: _key(x))
            want = (int(s.epoch) if s.epoch else cur.epoch, s.version or "", s.release)
            show_cur = (
                f"{cur.version}-{cur.release}"
                if s.release or cur.version == s.version
                else cur.version
            )
            line = f"{s.name} {show_cur} → {s.evr}"
            if current.manager == "yum" and evr_cmp(want, _key(cur)) < 0:
                lines.append(line + " (downgrade)")
                downgrade.append(s.raw)
            else:
                lines.append(line)
                install.append(s.raw)
        if not lines:
            return None
        change = Change(
            tuple(lines),
            payload=PackagePlan(
                current.manager, tuple(install), tuple(downgrade), tuple(upgrade), tuple(remove)
            ),
        )
        missing = [raw for raw in (*install, *downgrade) if raw in current.unavailable]
        if missing and current.unreadable:
            what = f"repository metadata for {', '.join(missing)}"
            raise MissingDependency(what, change, detail=f"{current.manager}: {current.unreadable}")
        if missing:
            # A dry run may see an earlier planned repo provide it; apply fails here, clearly.
            what = f"package {', '.join(missing)} in the enabled repositories"
            raise MissingDependency(what, change)
        return change

    def commands(self, change: Change) -> list[Op]:
        p = change.payload
        if not isinstance(p, PackagePlan):
            raise TypeError("package: foreign payload")
        steps = [
            (p.install, "install"),
            (p.downgrade, "downgrade"),
            (p.upgrade, "upgrade" if p.manager == "dnf" else "update"),
            (p.remove, "remove"),
        ]
        runs = [join([p.manager, "-y", verb, *names]) for names, verb in steps if names]
        return [Op(op_script(*lock_wait(self.args.lock_timeout), *runs))]


def _key(x: Installed) -> tuple[int, str, str | None]:
    return (x.epoch, x.version, x.release)


def _evr(text: str) -> tuple[int, str, str]:
    """'3:26.1.4-1.el9' → (3, '26.1.4', '1.el9')."""
    epoch, _, vr = text.rpartition(":")
    version, _, release = vr.partition("-")
    return (int(epoch) if epoch.isdigit() else 0, version, release)


def _arrow(name: str, v1: str, r1: str, v2: str, r2: str) -> str:
    """'docker-ce 26.1.3 → 26.1.4'; the releases too when the versions are equal."""
    if v1 == v2:
        return f"{name} {v1}-{r1} → {v2}-{r2}"
    return f"{name} {v1} → {v2}"


def _rpm_lines(qr: Query, asked: str) -> tuple[Installed, ...]:
    """`rpm -q --qf QF` output: installed packages; 'not installed' lines → none."""
    found: list[Installed] = []
    seen = False
    for line in qr.lines:
        parts = line.split("\t")
        if len(parts) == 5:
            name, epoch, version, release, arch = parts
            if epoch != "(none)" and not epoch.isdigit():
                raise ProbeError(f"rpm printed an odd epoch for {asked}: {line!r}")
            found.append(
                Installed(name, 0 if epoch == "(none)" else int(epoch), version, release, arch)
            )
        elif NOT_INSTALLED.fullmatch(line.strip()):
            seen = True
        elif line.strip():
            raise ProbeError(f"cannot understand rpm output for {asked}: {line!r}")
    if not found and not seen:
        raise ProbeError(f"rpm -q {asked} printed nothing (exit {qr.rc})")
    return tuple(found)


def parse_check_update(lines: tuple[str, ...]) -> dict[str, str]:
    """`yum/dnf -q check-update` lines → {name: available [E:]V-R}.

    yum wraps a long name onto its own line; the 'Obsoleting Packages' section
    (and anything not shaped name.arch EVR repo) is not an update."""
    out: dict[str, str] = {}
    pending: str | None = None
    for line in lines:
        if line.strip().lower().startswith("obsoleting"):
            break
        words = line.split()
        if pending is not None:
            words, pending = [pending, *words], None
        if len(words) == 1:
            pending = words[0]
        elif len(words) == 3 and "." in words[0]:
            out.setdefault(words[0].rpartition(".")[0], words[1])
    return out


# --- waiting for the package manager lock ------------------------------------

# Pid files of a running yum (EL7) or dnf (EL8/9), and rpm's transaction lock.
PID_FILES = ("/var/run/yum.pid", "/run/yum.pid", "/var/run/dnf.pid", "/run/dnf.pid")
PID_GLOBS = ("/var/lib/dnf/", "/var/cache/dnf/")
RPM_LOCK = "/var/lib/rpm/.rpm.lock"


def lock_wait(timeout: int, root: str = "") -> list[str]:
    """sh that waits until no other process holds the package manager lock,
    at most `timeout` seconds, then fails naming the holder from
    /proc/PID/comm. `root` prefixes the lock paths (tests only)."""
    files = " ".join(
        [*(q(root + f) for f in PID_FILES), *(q(root + d) + "*.pid" for d in PID_GLOBS)]
    )
    lock = q(root + RPM_LOCK)
    return [
        "provision_lock_holder() {",
        f"  for f in {files}; do",
        '    [ -f "$f" ] || continue',
        '    pid=$(cat -- "$f" 2>/dev/null) || continue',
        '    case $pid in ""|*[!0-9]*) continue ;; esac',
        '    if [ "$pid" != "$$" ] && [ -d "/proc/$pid" ]; then echo "$pid"; return 0; fi',
        "  done",
        f"  [ -e {lock} ] || return 0",
        "  if command -v fuser >/dev/null 2>&1; then",
        # psmisc fuser takes no "--"; the path is absolute anyway.
        f"    fuser {lock} 2>/dev/null | tr -cs 0-9 '\\n' | grep . | head -n 1",
        "  else",
        # No psmisc: look for the lock among every process's open files.
        f"    find /proc/[0-9]*/fd -lname {q(root + '*/rpm/.rpm.lock')} 2>/dev/null"
        " | sed -n 's|^/proc/\\([0-9]*\\)/.*|\\1|p' | head -n 1",
        "  fi",
        "}",
        "provision_waited=0",
        'while provision_holder=$(provision_lock_holder) && [ -n "$provision_holder" ]; do',
        f'  if [ "$provision_waited" -ge {timeout} ]; then',
        '    comm=$(cat "/proc/$provision_holder/comm" 2>/dev/null) || comm=unknown',
        # The command line too: yum-cron or PackageKit show in comm, a script in argv.
        "    args=$(tr '\\0' ' ' < \"/proc/$provision_holder/cmdline\" 2>/dev/null)",
        "    args=${args% }",
        f'    echo "package manager lock still held after {timeout}s by $comm'
        ' (pid $provision_holder: $args)" >&2',
        "    exit 1",
        "  fi",
        "  sleep 1",
        "  provision_waited=$((provision_waited + 1))",
        "done",
    ]
