"""pip: Python packages present (at a version, if given), absent, or at the latest version,
with the host's own pip (pip3, else pip, unless `executable` says which).

No Python of ours runs on the host: the probe asks pip itself, `pip list
--format=freeze` (and for `latest`, `pip list --outdated --format=json`, which asks
the package index). Names compare as pip does (case-insensitive, `-`, `_` and `.`
alike); versions compare with trailing `.0`s ignored (1.0 is 1.0.0). A host without
pip is a missing dependency: a dry run after a planned install of python3-pip says
would change.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import field_validator, model_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules._listing import bounded, listing
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
from provisioner.shell import comma_list, facts, join, op_script, q, q_always, subshell

MAX_PACKAGES = 10_000
DEFAULT_PIPS = ("pip3", "pip")
NO_CHECK = "--disable-pip-version-check"
SPEC = re.compile(
    r"(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)"
    r"(?P<extras>\[[A-Za-z0-9._,-]+\])?"
    r"(?:\s*==\s*(?P<version>[A-Za-z0-9.+!_-]+))?"
)


def canonical(name: str) -> str:
    """A project name as pip compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def same_version(a: str, b: str) -> bool:
    """1.0 is 1.0.0; 2.0RC1 is 2.0rc1."""

    def key(v: str) -> tuple[tuple[int, ...], str]:
        m = re.match(r"(\d+(?:\.\d+)*)(.*)", v.lower())
        if not m:
            return (), v.lower()
        release = [int(p) for p in m.group(1).split(".")]
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        return tuple(release), m.group(2)

    return key(a) == key(b)


@dataclass(frozen=True)
class Spec:
    raw: str  # what goes to pip install
    name: str
    version: str | None


def parse_spec(text: str) -> Spec:
    m = SPEC.fullmatch(text.strip())
    if not m:
        raise ValueError(
            f"name {text!r}: give NAME or NAME==VERSION (other specifiers, URLs and paths"
            " are not supported)"
        )
    version = m.group("version")
    raw = m.group("name") + (m.group("extras") or "") + (f"=={version}" if version else "")
    return Spec(raw, m.group("name"), version)


class PipArgs(Args):
    name: list[str]
    version: str | None = None
    state: Literal["present", "absent", "latest", "forcereinstall"] = "present"
    executable: str | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _listed(cls, value: object) -> object:
        return comma_list(value)

    @field_validator("name")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("give at least one name")
        for text in value:
            parse_spec(text)
        return value

    @field_validator("executable")
    @classmethod
    def _executable(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or value.startswith("-") or "\0" in value):
            raise ValueError(f"executable {value!r} must name a pip program")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PipArgs:
        if self.state == "forcereinstall":
            raise ValueError("state forcereinstall is not supported")
        if self.version is not None:
            if len(self.name) != 1 or parse_spec(self.name[0]).version is not None:
                raise ValueError("version goes with one name that has no version of its own")
        versioned = self.version or any(parse_spec(n).version for n in self.name)
        if self.state == "latest" and versioned:
            raise ValueError("state latest cannot be combined with a version")
        return self

    def specs(self) -> list[Spec]:
        specs = [parse_spec(n) for n in self.name]
        if self.version is not None:
            only = specs[0]
            specs = [Spec(f"{only.raw}=={self.version}", only.name, self.version)]
        return list({canonical(s.name): s for s in specs}.values())


@dataclass(frozen=True)
class PipState:
    pip: str | None  # the pip program found; None: none
    installed: tuple[tuple[str, str], ...] = ()  # (canonical name, version)
    latest: tuple[tuple[str, str], ...] = ()  # (canonical name, newer version): latest only


@dataclass(frozen=True)
class PipList(Probe[PipState]):
    executable: str | None
    outdated: bool

    def command(self) -> str:
        if self.executable is not None:
            pick = f"pip={q(self.executable)}"
        else:
            pick = (
                f"pip=; for c in {join(DEFAULT_PIPS)}; do"
                ' if command -v "$c" >/dev/null 2>&1; then pip=$c; break; fi; done'
            )
        lines = [
            pick,
            'if [ -z "$pip" ] || ! command -v "$pip" >/dev/null 2>&1; then',
            "  echo nopip=1; exit 0",
            "fi",
            "printf 'pip=%s\\n' \"$pip\"",
            bounded("pkg", f'"$pip" list --format=freeze {NO_CHECK}', MAX_PACKAGES),
        ]
        if self.outdated:
            listing_cmd = f'"$pip" list --outdated --format=json {NO_CHECK}'
            lines.append(bounded("old", listing_cmd, 1000))
        return subshell(*lines)

    def parse(self, stdout: str, exit_code: int) -> PipState:
        f = facts(stdout.splitlines())
        if f.get("nopip") == "1":
            return PipState(None)
        pip = f.get("pip", "")
        got = listing(stdout, "pkg", "pip")
        if got.rc != 0 or got.truncated:
            why = f"exit {got.rc}" if got.rc else f"more than {MAX_PACKAGES} packages"
            raise ProbeError(f"pip: {pip} list failed ({why})")
        installed = []
        for line in got.lines:
            name, sep, version = line.strip().partition("==")
            if sep and name and not name.startswith("-"):
                installed.append((canonical(name), version))
        return PipState(pip, tuple(installed), self._latest(stdout, pip) if self.outdated else ())

    def _latest(self, stdout: str, pip: str) -> tuple[tuple[str, str], ...]:
        got = listing(stdout, "old", "pip")
        try:
            rows = json.loads("\n".join(got.lines) or "[]")
            out = tuple((canonical(r["name"]), str(r["latest_version"])) for r in rows)
        except (ValueError, TypeError, KeyError):
            raise ProbeError(
                f"pip: cannot read what {pip} list --outdated printed (exit {got.rc})"
            ) from None
        return out


@dataclass(frozen=True)
class PipPlan:
    pip: str
    install: tuple[str, ...] = ()
    upgrade: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@register
class PipModule(Module[PipArgs, PipState, PipPlan]):
    name = "pip"
    aliases = ("ansible.builtin.pip",)
    differs = "NAME, NAME[extras] or NAME==VERSION only: no other specifiers, URLs, paths or -e"
    args_model = PipArgs

    def _probe(self) -> PipList:
        return PipList(self.args.executable, self.args.state == "latest")

    def probes(self) -> tuple[Probe[Any], ...]:
        return (self._probe(),)

    def state(self, seen: Seen) -> PipState:
        return seen(self._probe())

    def plan(self, current: PipState) -> Plan[PipPlan]:
        if current.pip is None:
            exe = self.args.executable
            what = f"pip executable {exe}" if exe else " or ".join(DEFAULT_PIPS)
            return Blocked(
                Provision(Kind.PACKAGE, "python3-pip"), what, "install python3-pip first"
            )
        installed, latest = dict(current.installed), dict(current.latest)
        summary: list[str] = []
        install: list[str] = []
        upgrade: list[str] = []
        remove: list[str] = []
        for spec in self.args.specs():
            have = installed.get(canonical(spec.name))
            if self.args.state == "absent":
                if have is not None:
                    summary.append(f"- {spec.name} {have}")
                    remove.append(spec.name)
            elif have is None:
                summary.append(f"+ {spec.name}" + (f" {spec.version}" if spec.version else ""))
                install.append(spec.raw)
            elif spec.version is not None and not same_version(have, spec.version):
                summary.append(f"~ {spec.name} {have} → {spec.version}")
                install.append(spec.raw)
            elif self.args.state == "latest" and canonical(spec.name) in latest:
                summary.append(f"~ {spec.name} {have} → {latest[canonical(spec.name)]}")
                upgrade.append(spec.raw)
        if not summary:
            return CONVERGED
        payload = PipPlan(current.pip, tuple(install), tuple(upgrade), tuple(remove))
        return Change(tuple(summary), payload)

    def commands(self, change: Change[PipPlan]) -> list[Op]:
        p = change.payload
        pip = q_always(p.pip)
        lines = []
        if p.remove:
            lines.append(f"{pip} uninstall -y {NO_CHECK} -- {join(p.remove)}")
        if p.install:
            lines.append(f"{pip} install {NO_CHECK} -- {join(p.install)}")
        if p.upgrade:
            lines.append(f"{pip} install -U {NO_CHECK} -- {join(p.upgrade)}")
        return [Op(op_script(*lines))]
