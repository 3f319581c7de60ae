"""package (aliases yum, dnf): RPM packages present, absent or latest.

Names may carry a version: `docker-ce-26.1.4`, `docker-ce-3:26.1.4-1.el7`.
The version is split off at the first '-' followed by something shaped like
[epoch:]version[-release] with digits leading; `containerd.io` or
`java-11-openjdk` stay whole names. Because `compat-libstdc++-33` is also
shaped like that, the probe asks rpm about the whole text too: whatever rpm
itself finds installed for it (as a name, a name-version label or a
capability) counts as present.

`latest` asks `dnf/yum -q check-update` in the probe (read-only; it may
refresh the metadata cache). One step per task; a pin older than what is
installed fails unless `allow_downgrade` (then a `downgrade` transaction: yum
cannot downgrade with `install`). Several versions side by side (kernels) are
not a downgrade: another one is installed beside them. `enablerepo` and
`disablerepo` go to every yum/dnf call, probes included; `update_cache`
refreshes the metadata before the probes ask the repositories, or alone is a
`makecache` action.
Before the transaction the command waits up to `lock_timeout` seconds for a
yum/dnf/rpm lock held by another process, then fails naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cmp_to_key
from typing import Any, Literal

from pydantic import AliasChoices, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from provisioner.errors import ProbeError
from provisioner.modules import register
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
from provisioner.probes.base import Probe, Seen
from provisioner.probes.rpm import (
    Availability,
    CheckUpdate,
    Installed,
    Manager,
    PackageManager,
    RepoListing,
    RpmQuery,
    lock_wait,
    parse_check_update,
    repo_options,
)
from provisioner.shell import comma_list, join, op_script, valid_name

__all__ = ["PackageArgs", "PackageModule", "Spec", "lock_wait", "parse_check_update", "split_spec"]

EVR_RE = re.compile(r"(?:(\d+):)?(\d[\w.+~^]*)(?:-(\d[\w.+~^]*))?")
STATES = {"installed": "present", "removed": "absent"}  # Ansible spellings
BROUGHT_BY_PACKAGES = (
    Kind.PACKAGE,
    Kind.INSTALLED,
    Kind.UNIT,
    Kind.GROUP,
    Kind.USER,
    Kind.PATH,
)


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
    # Before `name`: whether `name` may be left out depends on it.
    update_cache: bool = Field(
        default=False, validation_alias=AliasChoices("update_cache", "expire-cache")
    )
    # None (not given) is checked too: required unless update_cache.
    name: list[str] = Field(
        default=None, validation_alias=AliasChoices("name", "pkg"), validate_default=True
    )
    # Ansible's other spellings of a state are valid input too (the JSON Schema says so).
    state: Literal["present", "absent", "latest"] = Field(
        default="present", json_schema_extra={"enum": ["present", "absent", "latest", *STATES]}
    )
    allow_downgrade: bool = False
    enablerepo: list[str] = []
    disablerepo: list[str] = []
    lock_timeout: int = Field(default=300, ge=0)

    @field_validator("name", mode="before")
    @classmethod
    def _given(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            if info.data.get("update_cache"):
                return []
            raise PydanticCustomError("missing", "Field required")
        return comma_list(value)

    @field_validator("enablerepo", "disablerepo", mode="before")
    @classmethod
    def _names(cls, value: object) -> object:
        return comma_list(value)

    @field_validator("name")
    @classmethod
    def _check(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if not value and not info.data.get("update_cache"):
            raise ValueError("name must list at least one package (or give update_cache alone)")
        for n in value:
            if n.startswith("@") or any(c in n for c in "*?[") or "://" in n or n.endswith(".rpm"):
                raise ValueError(
                    f"package {n!r}: groups, globs, URLs and .rpm files are not supported"
                )
            # rpm names never hold whitespace, ',' or comparison operators.
            valid_name(n, "package name", forbid=" \t\r\n,<>=")
        return list(dict.fromkeys(value))

    @field_validator("enablerepo", "disablerepo")
    @classmethod
    def _repo_ids(cls, value: list[str]) -> list[str]:
        # Globs are yum/dnf's own (`--disablerepo='*'`); the words are quoted.
        return [valid_name(r, "repository id", forbid=" \t\r\n,=") for r in value]

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

    @property
    def repo_options(self) -> tuple[str, ...]:
        return repo_options(tuple(self.enablerepo), tuple(self.disablerepo))


@dataclass(frozen=True)
class PackageState:
    manager: Manager
    have: tuple[tuple[Installed, ...], ...]  # per spec: what rpm finds for the text
    named: tuple[tuple[Installed, ...], ...]  # per spec: the split-off name's packages
    updates: tuple[tuple[str, str], ...] = ()  # (name, available [E:]V-R), latest only
    unavailable: tuple[str, ...] = ()  # specs neither installed nor in an enabled repo
    unreadable: str = ""  # yum/dnf's error when an enabled repository could not be read
    stale: bool = False  # `latest`: the updates could not be read (see unreadable)


@dataclass(frozen=True)
class PackagePlan:
    manager: Manager
    refresh: bool = False  # update_cache alone: makecache
    install: tuple[str, ...] = ()
    downgrade: tuple[str, ...] = ()
    upgrade: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@register
class PackageModule(Module[PackageArgs, PackageState, PackagePlan]):
    name = "package"
    aliases = ("yum", "dnf")
    differs = (
        "RPM packages only, with dnf or yum, whichever the host has (the alias chooses "
        "nothing); no groups, globs, URLs or .rpm files; an installed version newer than a "
        "pinned one fails unless allow_downgrade (Ansible: ok)"
    )
    args_model = PackageArgs

    @property
    def specs(self) -> list[Spec]:
        return [split_spec(n) for n in self.args.name]

    def _have(self, s: Spec) -> RpmQuery:
        # A capability (vim → vim-enhanced, /usr/bin/vim) also satisfies a request.
        return RpmQuery(s.raw, provides=self.args.state != "absent")

    def _listing(self, s: Spec) -> RepoListing | None:
        """Only for what is not installed: can a repo provide it? Reruns skip this."""
        if self.args.state == "absent" or re.search(r"[/()]", s.raw):
            return None
        a = self.args
        return RepoListing(s.raw, a.lock_timeout, a.repo_options, a.update_cache)

    def _check_update(self) -> CheckUpdate:
        a = self.args
        return CheckUpdate(tuple(a.name), a.lock_timeout, a.repo_options, a.update_cache)

    def probes(self) -> tuple[Probe[Any], ...]:
        probes: list[Probe[Any]] = [PackageManager()]
        for s in self.specs:
            probes.append(self._have(s))
            if s.version:
                probes.append(RpmQuery(s.name))
            listing = self._listing(s)
            if listing is not None:
                probes.append(listing)
        if self.args.state == "latest":
            probes.append(self._check_update())
        return tuple(dict.fromkeys(probes))

    def state(self, seen: Seen) -> PackageState:
        pm = seen(PackageManager())
        have, named, unavailable = [], [], []
        unreadable = ""
        for s in self.specs:
            have.append(seen(self._have(s)))
            named.append(seen(RpmQuery(s.name)) if s.version else ())
            listing = self._listing(s)
            found = seen(listing) if listing is not None else Availability(True)
            if not found.available:
                unreadable = unreadable or found.unreadable
                unavailable.append(s.raw)
        updates: tuple[tuple[str, str], ...] = ()
        stale = False  # `latest` could not learn the updates
        if self.args.state == "latest":
            checked = seen(self._check_update())
            updates, stale = checked.found, bool(checked.unreadable)
            unreadable = unreadable or checked.unreadable
        return PackageState(
            pm, tuple(have), tuple(named), updates, tuple(unavailable), unreadable, stale
        )

    def plan(self, current: PackageState) -> Plan[PackagePlan]:
        if not self.args.name:
            # update_cache alone: nothing a probe could see changes, so an action.
            return Change(("makecache",), PackagePlan(current.manager, True), actions_only=True)
        if current.stale:
            # Which updates exist is unknown: an earlier task that repairs the
            # repositories may tell (a dry run); apply fails with yum/dnf's words.
            return Blocked(
                Provision(Kind.REPO),
                f"repository metadata for {', '.join(self.args.name)}",
                f"{current.manager}: {current.unreadable}",
            )
        lines: list[str] = []
        todo = PackagePlan(current.manager)
        for s, have, named in zip(self.specs, current.have, current.named, strict=True):
            todo = self._plan_one(current, s, have, named, lines, todo)
        if not lines:
            return CONVERGED
        change = Change(tuple(lines), todo)
        missing = [raw for raw in (*todo.install, *todo.downgrade) if raw in current.unavailable]
        if missing and current.unreadable:
            return Blocked(
                Provision(Kind.REPO),
                f"repository metadata for {', '.join(missing)}",
                f"{current.manager}: {current.unreadable}",
                change,
            )
        if missing:
            # A dry run may see an earlier planned repo provide it; apply fails here, clearly.
            what = f"package {', '.join(missing)} in the enabled repositories"
            # An earlier install may bring it as a dependency: then decided at apply.
            need = Provision(Kind.PACKAGE, missing[0])
            return Blocked(need, what, change=change, uncertain_if=Provision(Kind.INSTALLED))
        return change

    def _plan_one(
        self,
        current: PackageState,
        s: Spec,
        have: tuple[Installed, ...],
        named: tuple[Installed, ...],
        lines: list[str],
        todo: PackagePlan,
    ) -> PackagePlan:
        """One requested package: its summary lines, and what the transaction gains."""
        state = self.args.state
        hit = [x for x in named if matches(s, x)]
        if state == "absent":
            if have or hit:
                lines.append(f"- {s.label}")
                return replace(todo, remove=(*todo.remove, s.raw))
            return todo
        if have or hit:
            updates = dict(current.updates)
            for x in have if state == "latest" else ():
                if x.name in updates and x.name not in todo.upgrade:
                    _, version, release = _evr(updates[x.name])
                    lines.append(_arrow(x.name, x.version, x.release, version, release))
                    todo = replace(todo, upgrade=(*todo.upgrade, x.name))
            return todo
        same = [x for x in named if x.name == s.name]
        if not same:
            lines.append(f"+ {s.label}")
            return replace(todo, install=(*todo.install, s.raw))
        # The newest by rpm's order (a plain max of the strings would say 1160.el7 is newer
        # than 1160.119.1.el7).
        cur = max(same, key=cmp_to_key(_newer))
        want = (int(s.epoch) if s.epoch else cur.epoch, s.version or "", s.release)
        show_cur = (
            f"{cur.version}-{cur.release}" if s.release or cur.version == s.version else cur.version
        )
        line = f"{s.name} {show_cur} → {s.evr}"
        # Several versions side by side (kernel): another one is installed beside them.
        beside = len({_key(x) for x in same}) > 1
        if evr_cmp(want, _key(cur)) < 0 and not beside:
            if not self.args.allow_downgrade:
                raise ProbeError(
                    f"package {s.name}: {show_cur} is installed, newer than the {s.evr} asked"
                    " for; set allow_downgrade: true to downgrade it"
                )
            lines.append(line + " (downgrade)")
            return replace(todo, downgrade=(*todo.downgrade, s.raw))
        lines.append(line)
        return replace(todo, install=(*todo.install, s.raw))

    def commands(self, change: Change[PackagePlan]) -> list[Op]:
        p, opts = change.payload, self.args.repo_options
        if p.refresh:
            refresh = ["makecache", *(["fast"] if p.manager == "yum" else [])]
            run = join([p.manager, "-y", *opts, *refresh])
            return [Op(op_script(*lock_wait(self.args.lock_timeout), run))]
        steps = [
            (p.install, "install"),
            (p.downgrade, "downgrade"),
            (p.upgrade, "upgrade" if p.manager == "dnf" else "update"),
            (p.remove, "remove"),
        ]
        runs = [join([p.manager, "-y", *opts, verb, *names]) for names, verb in steps if names]
        return [Op(op_script(*lock_wait(self.args.lock_timeout), *runs))]

    def judged_by(self, change: Change[PackagePlan]) -> frozenset[Provision]:
        p = change.payload
        # What the repositories offer decided it: another repository may offer otherwise.
        changes = p.install or p.downgrade or p.upgrade
        judged = {Provision(Kind.REPO)} if changes else set()
        if p.install:  # an earlier install may bring it (a dependency, a weak one)
            judged.add(Provision(Kind.INSTALLED))
        return frozenset(judged)

    def provides(self, change: Change[PackagePlan]) -> frozenset[Provision]:
        p = change.payload
        if not (p.install or p.downgrade or p.upgrade):
            return frozenset()
        # A package may bring any unit, account, file or repository (epel-release);
        # which, only its payload knows.
        return frozenset(Provision(k) for k in BROUGHT_BY_PACKAGES)


def _key(x: Installed) -> tuple[int, str, str | None]:
    return (x.epoch, x.version, x.release)


def _newer(x: Installed, y: Installed) -> int:
    return evr_cmp(_key(x), _key(y))


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
