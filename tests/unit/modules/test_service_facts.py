"""service_facts: systemctl's two listings (hand-written in systemd 219 and 252's
layouts) in, Ansible's `ansible_facts.services` out."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from provisioner.errors import ProbeError
from provisioner.modules import lookup
from provisioner.modules.base import CONVERGED
from provisioner.modules.service_facts import MAX_UNITS, ServiceFactsModule
from tests.unit.modules.host import FakeHost, syntax_ok

EL9_UNITS = """\
auditd.service                 loaded    active   running Security Auditing Service
docker.service                 loaded    failed   failed  Docker Application Container Engine
firewalld.service              masked    inactive dead    firewalld.service
ntpd.service                   not-found inactive dead    ntpd.service
sshd.service                   loaded    active   running OpenSSH server daemon
systemd-tmpfiles-setup.service loaded    active   exited  Create Volatile Files and Directories
docker.socket                  loaded    active   running Docker Socket for the API
"""
EL9_FILES = """\
auditd.service                 enabled   enabled
docker.service                 enabled   disabled
firewalld.service              masked    enabled
getty@.service                 enabled   enabled
rdisc.service                  disabled  disabled
sshd.service                   enabled   enabled
systemd-tmpfiles-setup.service static    -
"""
EL7_UNITS = """\
crond.service      loaded active   running Command Scheduler
kdump.service      loaded inactive dead    Crash recovery kernel arming
"""
EL7_FILES = """\
crond.service      enabled
kdump.service      disabled
tuned.service      enabled
"""


def S(name: str, state: str, status: str) -> tuple[str, dict[str, str]]:
    return name, {"name": name, "state": state, "status": status, "source": "systemd"}


@dataclass(frozen=True)
class Case:
    id: str
    units: str
    files: str
    services: dict[str, dict[str, str]]


CASES = [
    Case(
        "EL9: running, failed, masked, not found, exited, not loaded",
        EL9_UNITS,
        EL9_FILES,
        dict(
            [
                S("auditd.service", "running", "enabled"),
                S("docker.service", "stopped", "failed"),
                S("firewalld.service", "stopped", "masked"),
                S("ntpd.service", "stopped", "not-found"),
                S("sshd.service", "running", "enabled"),
                S("systemd-tmpfiles-setup.service", "stopped", "static"),
                S("getty@.service", "inactive", "enabled"),
                S("rdisc.service", "inactive", "disabled"),
            ]
        ),
    ),
    Case(
        "EL7: two columns of unit files",
        EL7_UNITS,
        EL7_FILES,
        dict(
            [
                S("crond.service", "running", "enabled"),
                S("kdump.service", "stopped", "disabled"),
                S("tuned.service", "inactive", "enabled"),
            ]
        ),
    ),
    Case(
        "a bullet before a unit that is not found",
        "● ntpd.service not-found inactive dead ntpd.service\n",
        "",
        dict([S("ntpd.service", "stopped", "not-found")]),
    ),
]


def _host(host: FakeHost, units: str, files: str) -> FakeHost:
    return host.on("systemctl", "list-units*", units).on("systemctl", "list-unit-files*", files)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_services(host: FakeHost, case: Case) -> None:
    module = ServiceFactsModule.from_dict({})
    assert syntax_ok(module.probe())
    state = module.parse(_host(host, case.units, case.files).run(module.probe()).stdout)
    assert module.plan(state) is CONVERGED
    assert module.fields(state) == {"ansible_facts": {"services": case.services}}
    assert [c[1:3] for c in host.calls("systemctl")] == [
        ["list-units", "--type=service"],
        ["list-unit-files", "--type=service"],
    ]


def test_a_host_without_systemd(host: FakeHost) -> None:
    module = ServiceFactsModule.from_dict({})
    r = host.run(module.probe().replace("command -v systemctl", "command -v no-such-systemctl"))
    with pytest.raises(ProbeError, match="only systemd hosts"):
        module.parse(r.stdout)


def test_systemctl_failing_is_an_error(host: FakeHost) -> None:
    host.on("systemctl", "list-units*", "", rc=1).on("systemctl", "list-unit-files*", "")
    module = ServiceFactsModule.from_dict({})
    with pytest.raises(ProbeError, match=r"list-units failed \(exit 1\)"):
        module.parse(host.run(module.probe()).stdout)


def test_what_it_parses_is_bounded(host: FakeHost) -> None:
    many = "".join(f"u{i}.service loaded active running x\n" for i in range(MAX_UNITS + 5))
    module = ServiceFactsModule.from_dict({})
    with pytest.raises(ProbeError, match=f"more than {MAX_UNITS} units"):
        module.parse(_host(host, many, "").run(module.probe()).stdout)


def test_odd_descriptions_are_only_data(host: FakeHost) -> None:
    units = "a.service loaded active running $(touch pwned) `id` units_rc=7 unit x\n"
    module = ServiceFactsModule.from_dict({})
    state = module.parse(_host(host, units, "").run(module.probe()).stdout)
    assert module.fields(state)["ansible_facts"]["services"] == dict(
        [S("a.service", "running", "active")]
    )
    assert not (host.root / "pwned").exists()


def test_takes_no_arguments_and_answers_to_its_full_name() -> None:
    assert lookup("ansible.builtin.service_facts") is ServiceFactsModule
    with pytest.raises(Exception, match="unknown argument 'name'"):
        ServiceFactsModule.from_dict({"name": "x"})
