"""service: recorded `systemctl show` output in, plan and systemctl argv out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules import registry
from provisioner.modules.base import CONVERGED, Blocked, Change, Converged
from provisioner.modules.service import ServiceModule
from provisioner.probes.systemd import UnitShow, UnitState
from tests.unit.modules.host import FakeHost, rec, state_of, syntax_ok


@dataclass(frozen=True)
class Case:
    id: str
    args: dict[str, Any]
    show: str  # recorded file under systemctl/
    summary: tuple[str, ...] | Converged
    calls: tuple[tuple[str, ...], ...] = ()


U = "docker.service"
CASES = [
    Case(
        "start and enable a fresh install (separate commands for systemd 219)",
        {"name": "docker", "state": "started", "enabled": True},
        "el9-docker-installed",
        ("state: inactive → active", "enabled: no → yes"),
        (("systemctl", "start", "--", U), ("systemctl", "enable", "--", U)),
    ),
    Case(
        "already running and enabled",
        {"name": "docker", "state": "started", "enabled": True},
        "el9-docker-running",
        CONVERGED,
    ),
    Case(
        "failed unit is started again",
        {"name": "docker.service", "state": "started"},
        "el7-docker-failed",
        ("state: failed → active",),
        (("systemctl", "start", "--", U),),
    ),
    Case(
        "stop and disable",
        {"name": "docker", "state": "stopped", "enabled": False},
        "el9-docker-running",
        ("state: active → inactive", "enabled: yes → no"),
        (("systemctl", "stop", "--", U), ("systemctl", "disable", "--", U)),
    ),
    Case(
        "only enable",
        {"name": "sshd", "enabled": True},
        "el7-sshd-running-disabled",
        ("enabled: no → yes",),
        (("systemctl", "enable", "--", "sshd.service"),),
    ),
    Case(
        "static units cannot be enabled: nothing to do",
        {"name": "systemd-tmpfiles-clean", "enabled": True},
        "el7-static",
        CONVERGED,
    ),
    Case(
        "static unit started",
        {"name": "systemd-tmpfiles-clean", "state": "started", "enabled": False},
        "el7-static",
        ("state: inactive → active",),
        (("systemctl", "start", "--", "systemd-tmpfiles-clean.service"),),
    ),
    Case(
        "restart is an action",
        {"name": "docker", "state": "restarted"},
        "el9-docker-running",
        ("restart",),
        (("systemctl", "restart", "--", U),),
    ),
    Case(
        "restarting a stopped unit starts it: a state change, not just an action",
        {"name": "docker", "state": "restarted"},
        "el9-docker-installed",
        ("state: inactive → active",),
        (("systemctl", "restart", "--", U),),
    ),
    Case(
        "reload a running unit",
        {"name": "docker", "state": "reloaded"},
        "el9-docker-running",
        ("reload",),
        (("systemctl", "reload", "--", U),),
    ),
    Case(
        "reloading a stopped unit starts it",
        {"name": "docker", "state": "reloaded"},
        "el9-docker-installed",
        ("state: inactive → active",),
        (("systemctl", "start", "--", U),),
    ),
    Case(
        "daemon-reload only when systemd says a unit file changed",
        {"name": "docker", "state": "restarted", "daemon_reload": True},
        "el9-docker-unit-changed",
        ("daemon-reload", "restart"),
        (("systemctl", "daemon-reload"), ("systemctl", "restart", "--", U)),
    ),
    Case(
        "daemon_reload alone, nothing changed",
        {"name": "docker", "daemon_reload": True},
        "el9-docker-running",
        CONVERGED,
    ),
    Case(
        "a socket keeps its suffix",
        {"name": "docker.socket", "state": "stopped"},
        "el9-docker-installed",
        CONVERGED,
    ),
    Case(
        "stopped on a masked unit is fine",
        {"name": "firewalld", "state": "stopped", "enabled": False},
        "el9-firewalld-masked",
        CONVERGED,
    ),
]


def _host(host: FakeHost, show: str) -> FakeHost:
    return host.on("systemctl", '"show "*', rec(f"systemctl/{show}.txt")).on("systemctl", "*")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_plan_and_commands(host: FakeHost, case: Case) -> None:
    _host(host, case.show)
    module = ServiceModule.from_dict(case.args)
    assert syntax_ok(module.probe())
    out = host.run(module.probe())
    change = module.plan(module.parse(out.stdout, out.rc))
    if case.summary is CONVERGED:
        assert change is CONVERGED
        return
    assert isinstance(change, Change) and change.summary == case.summary
    show = host.calls("systemctl")[0]
    assert show[:4] == [
        "systemctl",
        "show",
        "-p",
        "LoadState,ActiveState,UnitFileState,NeedDaemonReload",
    ]
    host.clear()
    for op in module.commands(change):
        assert syntax_ok(op.script)
        assert host.run(op.script).rc == 0
    assert [tuple(c) for c in host.calls("systemctl")] == list(case.calls)


def test_restart_converges_once_done(host: FakeHost) -> None:
    _host(host, "el9-docker-running")
    module = ServiceModule.from_dict({"name": "docker", "state": "restarted", "enabled": True})
    state = module.parse(host.run(module.probe()).stdout, 0)
    dry = module.plan(state)
    assert isinstance(dry, Change) and module.plan(state) == dry  # the dry run and apply agree
    module.commands(dry)
    # The runner's re-probe after apply: the restart is planned again, but as an action
    # only (the unit is running and enabled), which the runner counts as converged.
    again = module.plan(state)
    assert again == dry  # commands() leaves no trace in the module
    assert isinstance(again, Change) and again.actions_only


def test_restart_that_left_the_unit_failed_does_not_converge(host: FakeHost) -> None:
    module = ServiceModule.from_dict({"name": "docker", "state": "restarted"})
    change = module.plan(
        module.parse(_host(host, "el9-docker-running").run(module.probe()).stdout, 0)
    )
    assert isinstance(change, Change)
    module.commands(change)
    after = module.plan(_shown("el7-docker-failed"))
    # Not converged: a change that is more than an action.
    assert isinstance(after, Change) and not after.actions_only
    assert after.summary == ("state: failed → active",)


def _shown(show: str, rc: int = 0) -> UnitState:
    """`systemctl show` of docker.service as recorded."""
    return UnitShow(U).parse(rec(f"systemctl/{show}.txt"), rc)


def test_missing_unit_is_a_dependency() -> None:
    module = ServiceModule.from_dict({"name": "docker", "state": "started"})
    blocked = module.plan(_shown("el7-not-found"))
    assert isinstance(blocked, Blocked)
    assert re.search(r"unit docker\.service not found", blocked.message)
    assert blocked.what == "unit docker.service"


def test_masked_unit_cannot_start() -> None:
    module = ServiceModule.from_dict({"name": "firewalld", "state": "started"})
    with pytest.raises(ProbeError, match="masked"):
        module.plan(
            UnitShow("firewalld.service").parse(rec("systemctl/el9-firewalld-masked.txt"), 0)
        )


def test_not_systemd_probe_output_cut_short() -> None:
    # Nothing printed at all, not even the probe's frame.
    with pytest.raises(ProbeError):
        ServiceModule.from_dict({"name": "docker", "state": "started"}).parse("", 0)


@pytest.mark.parametrize(
    ("stdout", "rc"),
    [
        ("", 127),  # no systemctl at all
        ("Failed to connect to bus: No such file or directory\n", 1),
    ],
)
def test_not_systemd(stdout: str, rc: int) -> None:
    module = ServiceModule.from_dict({"name": "docker", "state": "started"})
    with pytest.raises(ProbeError):
        state_of(module, {UnitShow(U): (stdout, rc)})


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"name": "docker"}, "at least one"),
        ({"name": "docker", "state": "running"}, "state"),
        ({"name": "-docker", "state": "started"}, "must not start"),
        ({"name": "doc ker", "state": "started"}, "must not contain"),
        ({"name": "docker", "state": "started", "now": True}, "unknown argument 'now'"),
    ],
)
def test_bad_args(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        ServiceModule.from_dict(raw)


def test_alias() -> None:
    assert registry()["systemd"] is ServiceModule
