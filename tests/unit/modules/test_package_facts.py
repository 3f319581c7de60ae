"""package_facts: `rpm -qa` (hand-written in rpm's query format) in, Ansible's
`ansible_facts.packages` out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules import lookup
from provisioner.modules.base import CONVERGED
from provisioner.modules.package_facts import MAX_PACKAGES, PackageFactsModule
from provisioner.probes.rpm import QF
from tests.unit.modules.host import FakeHost, syntax_ok

EL7 = (
    "bash\t(none)\t4.2.46\t35.el7_9\tx86_64\n"
    "kernel\t(none)\t3.10.0\t1160.el7\tx86_64\n"
    "docker-ce\t3\t26.1.4\t1.el7\tx86_64\n"
    "kernel\t(none)\t3.10.0\t1160.119.1.el7\tx86_64\n"
    "gpg-pubkey\t(none)\tf4a80eb5\t53a7ff4b\t(none)\n"
)


def P(name: str, version: str, release: str, epoch: int | None, arch: str | None) -> Any:
    return {
        "name": name,
        "version": version,
        "release": release,
        "epoch": epoch,
        "arch": arch,
        "source": "rpm",
    }


@dataclass(frozen=True)
class Case:
    id: str
    args: dict[str, Any]
    rpm: str
    packages: dict[str, list[dict[str, Any]]]


CASES = [
    Case(
        "EL7: epochs, two kernels, a key without arch",
        {},
        EL7,
        {
            "bash": [P("bash", "4.2.46", "35.el7_9", None, "x86_64")],
            "kernel": [
                P("kernel", "3.10.0", "1160.el7", None, "x86_64"),
                P("kernel", "3.10.0", "1160.119.1.el7", None, "x86_64"),
            ],
            "docker-ce": [P("docker-ce", "26.1.4", "1.el7", 3, "x86_64")],
            "gpg-pubkey": [P("gpg-pubkey", "f4a80eb5", "53a7ff4b", None, None)],
        },
    ),
    Case(
        "manager rpm, as a string",
        {"manager": "rpm"},
        "glibc\t(none)\t2.34\t100.el9\ti686\nglibc\t(none)\t2.34\t100.el9\tx86_64\n",
        {
            "glibc": [
                P("glibc", "2.34", "100.el9", None, "i686"),
                P("glibc", "2.34", "100.el9", None, "x86_64"),
            ]
        },
    ),
    Case("manager as Ansible's pkg_mgr fact", {"manager": ["dnf"]}, "", {}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_packages(host: FakeHost, case: Case) -> None:
    host.on("rpm", "-qa*", case.rpm)
    module = PackageFactsModule.from_dict(case.args)
    assert syntax_ok(module.probe())
    state = module.parse(host.run(module.probe()).stdout)
    assert module.plan(state) is CONVERGED
    assert module.fields(state) == {"ansible_facts": {"packages": case.packages}}
    assert host.calls("rpm") == [["rpm", "-qa", "--qf", QF]]


def test_a_host_without_rpm(host: FakeHost) -> None:
    module = PackageFactsModule.from_dict({})
    r = host.run(module.probe().replace("command -v rpm", "command -v no-such-rpm"))
    with pytest.raises(ProbeError, match="rpm not found on the host"):
        module.parse(r.stdout)


@pytest.mark.parametrize(
    ("out", "rc", "error"),
    [
        ("", 1, r"rpm -qa failed \(exit 1\)"),
        ("bash 4.2\n", 0, "cannot understand rpm output 'bash 4.2'"),
        ("bash\tx\t1\t2\tx86_64\n", 0, "cannot understand"),
        ("bash\t(none)\t1\t2\tx86_64\n" * (MAX_PACKAGES + 1), 0, f"more than {MAX_PACKAGES}"),
    ],
)
def test_odd_rpm_output_is_a_clear_error(host: FakeHost, out: str, rc: int, error: str) -> None:
    host.on("rpm", "-qa*", out, rc=rc)
    module = PackageFactsModule.from_dict({})
    with pytest.raises(ProbeError, match=error):
        module.parse(host.run(module.probe()).stdout)


def test_odd_names_are_only_data(host: FakeHost) -> None:
    host.on("rpm", "-qa*", "$(touch pwned)\t(none)\t1\t`id`\tpkg_rc=9\n")
    module = PackageFactsModule.from_dict({})
    state = module.parse(host.run(module.probe()).stdout)
    assert module.fields(state)["ansible_facts"]["packages"] == {
        "$(touch pwned)": [P("$(touch pwned)", "1", "`id`", None, "pkg_rc=9")]
    }
    assert not (host.root / "pwned").exists()


@pytest.mark.parametrize("manager", ["apt", ["rpm", "pacman"]])
def test_other_managers_are_refused(manager: Any) -> None:
    with pytest.raises(ModuleArgsError, match="is not supported: only rpm hosts"):
        PackageFactsModule.from_dict({"manager": manager})


def test_answers_to_its_full_name() -> None:
    assert lookup("ansible.builtin.package_facts") is PackageFactsModule
