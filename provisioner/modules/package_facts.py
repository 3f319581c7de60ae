"""package_facts: every installed RPM as Ansible's `ansible_facts.packages` has it.

Read-only, so it runs the same in a dry run. One `rpm -qa` with a tab-separated
query format; a name installed more than once (kernel, gpg-pubkey) lists every
instance, in rpm's order. rpm's `(none)` (no epoch; gpg-pubkey's arch) is null.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import field_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules._listing import bounded, listing
from provisioner.modules.base import CONVERGED, Args, Change, Converged, Module, Op
from provisioner.probes.base import Probe, Seen
from provisioner.probes.rpm import QF
from provisioner.shell import comma_list, q, subshell

MAX_PACKAGES = 50_000
# Ansible's names that mean rpm here (auto picks the first manager the host has).
RPM_NAMES = ("auto", "rpm", "yum", "dnf", "dnf5")


class PackageFactsArgs(Args):
    manager: list[str] = ["auto"]
    strategy: Literal["first", "all"] = "first"

    @field_validator("manager", mode="before")
    @classmethod
    def _listed(cls, value: object) -> object:
        return comma_list(value)

    @field_validator("manager")
    @classmethod
    def _rpm_only(cls, value: list[str]) -> list[str]:
        other = [m for m in value if m not in RPM_NAMES]
        if other:
            raise ValueError(
                f"manager {other[0]!r} is not supported: only rpm hosts ({', '.join(RPM_NAMES)})"
            )
        return value


@dataclass(frozen=True)
class Rpm:
    name: str
    epoch: int | None
    version: str
    release: str
    arch: str | None

    def as_fact(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "release": self.release,
            "epoch": self.epoch,
            "arch": self.arch,
            "source": "rpm",
        }


@dataclass(frozen=True)
class AllRpms(Probe[tuple[Rpm, ...]]):
    def command(self) -> str:
        return subshell(
            "if ! command -v rpm >/dev/null 2>&1; then echo norpm=1; exit 0; fi",
            bounded("pkg", f"rpm -qa --qf {q(QF)}", MAX_PACKAGES),
        )

    def parse(self, stdout: str, exit_code: int) -> tuple[Rpm, ...]:
        if "norpm=1" in stdout.splitlines():
            raise ProbeError("package_facts: rpm not found on the host (only rpm is supported)")
        got = listing(stdout, "pkg", "package_facts")
        if got.rc != 0:
            raise ProbeError(f"package_facts: rpm -qa failed (exit {got.rc})")
        if got.truncated:
            raise ProbeError(f"package_facts: rpm lists more than {MAX_PACKAGES} packages")
        return tuple(_rpm(line) for line in got.lines if line.strip())


def _rpm(line: str) -> Rpm:
    parts = line.split("\t")
    if len(parts) != 5 or not parts[0] or not (parts[1] == "(none)" or parts[1].isdigit()):
        raise ProbeError(f"package_facts: cannot understand rpm output {line[:200]!r}")
    name, epoch, version, release, arch = parts
    return Rpm(
        name,
        None if epoch == "(none)" else int(epoch),
        version,
        release,
        None if arch == "(none)" else arch,
    )


@register
class PackageFactsModule(Module[PackageFactsArgs, tuple[Rpm, ...], None]):
    name = "package_facts"
    reads_only = True
    aliases = ("ansible.builtin.package_facts",)
    differs = "RPM only (manager auto or rpm; yum, dnf and dnf5 mean rpm)"
    args_model = PackageFactsArgs
    sets_facts = True

    def probes(self) -> tuple[Probe[Any], ...]:
        return (AllRpms(),)

    def state(self, seen: Seen) -> tuple[Rpm, ...]:
        return seen(AllRpms())

    def plan(self, current: tuple[Rpm, ...]) -> Converged:
        return CONVERGED

    def commands(self, change: Change[None]) -> list[Op]:
        return []

    def fields(self, current: tuple[Rpm, ...]) -> Mapping[str, Any]:
        packages: dict[str, list[dict[str, Any]]] = {}
        for rpm in current:
            packages.setdefault(rpm.name, []).append(rpm.as_fact())
        return {"ansible_facts": {"packages": packages}}
