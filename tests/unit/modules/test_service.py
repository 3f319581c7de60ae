"""service: recorded `systemctl show` output in, plan and systemctl argv out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules import registry
from provisioner.modules.base import CONVERGED, Blocked, Change, Converged
from provisioner.modules.service import ServiceModule
from provisioner.probes.base import Answers
from provisioner.probes.systemd import SHOW_LIMIT, DropIns, UnitShow, UnitState
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
    Case(
        "YAML's spellings: enabled 'yes', the unit as 'unit', daemon-reload with a dash",
        {"unit": "docker", "state": "started", "enabled": "yes", "daemon-reload": "true"},
        "el9-docker-installed",
        ("state: inactive → active", "enabled: no → yes"),
        (("systemctl", "start", "--", U), ("systemctl", "enable", "--", U)),
    ),
    Case(
        "a templated enabled that rendered to 'False', service: as the name",
        {"service": "docker", "enabled": "False"},
        "el9-docker-running",
        ("enabled: yes → no",),
        (("systemctl", "disable", "--", U),),
    ),
    Case(
        "only a name: nothing to change (its properties are registered)",
        {"name": "docker"},
        "el9-docker-running",
        CONVERGED,
    ),
    Case(
        "only a name of a unit that is not there: still nothing to change",
        {"name": "docker"},
        "el7-not-found",
        CONVERGED,
    ),
    Case(
        "mask a running unit: stop first, mask last",
        {"name": "docker", "state": "stopped", "masked": True},
        "el9-docker-running",
        ("state: active → inactive", "masked: no → yes"),
        (("systemctl", "stop", "--", U), ("systemctl", "mask", "--", U)),
    ),
    Case(
        "disable before masking",
        {"name": "docker", "enabled": False, "masked": True},
        "el9-docker-running",
        ("enabled: yes → no", "masked: no → yes"),
        (("systemctl", "disable", "--", U), ("systemctl", "mask", "--", U)),
    ),
    Case(
        "mask a unit no package installed (systemctl mask can)",
        {"name": "docker", "masked": True},
        "el7-not-found",
        ("masked: no → yes",),
        (("systemctl", "mask", "--", U),),
    ),
    Case(
        "masked already",
        {"name": "firewalld", "masked": "yes"},
        "el9-firewalld-masked",
        CONVERGED,
    ),
    Case(
        "unmask, then start",
        {"name": "firewalld", "masked": False, "state": "started"},
        "el9-firewalld-masked",
        ("masked: yes → no", "state: inactive → active"),
        (
            ("systemctl", "unmask", "--", "firewalld.service"),
            ("systemctl", "start", "--", "firewalld.service"),
        ),
    ),
    Case(
        "unmask and enable: what the unit file says once unmasked is unknown, enable anyway",
        {"name": "firewalld", "masked": False, "enabled": True},
        "el9-firewalld-masked",
        ("masked: yes → no", "enabled: masked → yes"),
        (
            ("systemctl", "unmask", "--", "firewalld.service"),
            ("systemctl", "enable", "--", "firewalld.service"),
        ),
    ),
    Case(
        "not masked and not asked to be",
        {"name": "docker", "masked": False},
        "el9-docker-running",
        CONVERGED,
    ),
]


@pytest.fixture(autouse=True)
def _no_drop_ins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """daemon_reload's drop-in listing looks in an empty tmp dir, not this machine's."""
    monkeypatch.setattr(ServiceModule, "unit_dirs", (str(tmp_path / "units"),))


def _host(host: FakeHost, show: str) -> FakeHost:
    host.on("systemctl", '"show -p DropInPaths "*', "DropInPaths=\n")
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
    # One `systemctl show` of every property: what plan() reads and `status` registers.
    (show,) = [c for c in host.calls("systemctl") if c[:3] == ["systemctl", "show", "--"]]
    assert len(show) == 4
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
        ({}, "give 'name'"),
        ({"daemon_reload": False}, "give 'name'"),
        ({"state": "started"}, "'state' needs 'name'"),
        ({"masked": True, "daemon_reload": True}, "'masked' needs 'name'"),
        ({"name": "docker", "enabled": "maybe"}, "enabled"),
        ({"name": "docker", "scope": "user"}, "scope 'user' is not supported"),
        ({"name": "docker", "scope": "global"}, "scope 'global' is not supported"),
        ({"name": "docker", "scope": "machine"}, "scope"),
        ({"name": "docker", "unit": "docker"}, "'name' and 'unit' are the same argument"),
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
    for name in ("systemd", "systemd_service", "ansible.builtin.systemd_service"):
        assert registry()[name] is ServiceModule


def test_scope_system_is_the_default_and_accepted() -> None:
    module = ServiceModule.from_dict({"name": "docker", "state": "started", "scope": "system"})
    assert module.args.scope == "system"


def test_daemon_reload_alone_runs_every_time() -> None:
    """No unit to ask NeedDaemonReload of: nothing to probe, an action on every run."""
    module = ServiceModule.from_dict({"daemon_reload": True})
    assert module.probes() == ()
    change = module.plan(module.state(Answers({})))
    assert isinstance(change, Change) and change.summary == ("daemon-reload",)
    assert change.actions_only  # the re-probe after apply counts it converged
    assert [op.script for op in module.commands(change)] == [
        "(\nset -e\nsystemctl daemon-reload\n)"
    ]
    assert module.fields(None) == {}


FULL_SHOW = """\
Type=notify
Restart=always
MainPID=1234
ExecStart={ path=/usr/bin/dockerd ; argv[]=/usr/bin/dockerd -H fd:// ; ignore_errors=no }
ExecReload={ path=/bin/kill ; argv[]=/bin/kill -s HUP $MAINPID
 ; ignore_errors=no }
Id=docker.service
Description=Docker Application Container Engine
LoadState=loaded
ActiveState=active
SubState=running
FragmentPath=/usr/lib/systemd/system/docker.service
DropInPaths=/etc/systemd/system/docker.service.d/http-proxy.conf
UnitFileState=enabled
NeedDaemonReload=no
Environment=
not a property line
"""


def test_status_holds_every_property(host: FakeHost) -> None:
    """What a role reads off a registered result: `r.status.FragmentPath`, `ActiveState`."""
    host.on("systemctl", '"show "*', FULL_SHOW)
    module = ServiceModule.from_dict({"name": "docker"})
    out = host.run(module.probe())
    state = module.parse(out.stdout, out.rc)
    assert module.plan(state) is CONVERGED
    fields = module.fields(state)
    assert fields["name"] == U
    status = fields["status"]
    assert status["FragmentPath"] == "/usr/lib/systemd/system/docker.service"
    assert status["ActiveState"] == "active" and status["UnitFileState"] == "enabled"
    assert status["MainPID"] == "1234" and status["Environment"] == ""
    assert status["ExecStart"].endswith("ignore_errors=no }")
    # A value printed over two lines is one value; a stray line is no property.
    assert status["ExecReload"] == (
        "{ path=/bin/kill ; argv[]=/bin/kill -s HUP $MAINPID\n ; ignore_errors=no }"
    )
    assert "not a property line" not in " ".join(status)
    assert len(status) == 15  # every Key=Value line, the two-line one once


def test_recorded_show_is_read_too() -> None:
    state = _shown("el9-docker-running")
    assert ServiceModule.from_dict({"name": "docker"}).fields(state)["status"]["LoadState"] == (
        "loaded"
    )


def test_an_unclosed_exec_value_ends_at_the_next_property() -> None:
    text = "ExecStart={ path=/x ; argv[]=/x\nLoadState=loaded\nActiveState=active\n"
    state = UnitShow(U).parse(text, 0)
    assert state.load == "loaded" and state.props["ExecStart"] == "{ path=/x ; argv[]=/x"


def test_show_output_is_bounded(host: FakeHost) -> None:
    huge = "LoadState=loaded\nActiveState=active\n" + "".join(
        f"X{i}={'v' * 100}\n" for i in range(SHOW_LIMIT // 50)
    )
    host.on("systemctl", '"show "*', huge)
    module = ServiceModule.from_dict({"name": "docker"})
    out = host.run(module.probe())
    assert out.rc == 0 and len(out.stdout) < SHOW_LIMIT + 1024  # head cut it on the host
    state = module.parse(out.stdout, out.rc)
    assert state is not None and state.active == "active"
    assert all(len(v) == 100 for k, v in state.props.items() if k.startswith("X"))


def test_show_failure_keeps_its_exit_code(host: FakeHost) -> None:
    host.on("systemctl", "*", "", 1, err="Failed to connect to bus: No such file or directory\n")
    module = ServiceModule.from_dict({"name": "docker", "state": "started"})
    out = host.run(module.probe())
    with pytest.raises(ProbeError, match=r"systemctl show docker.service failed \(exit 1\)"):
        module.parse(out.stdout, out.rc)


def test_masked_runtime_cannot_be_unmasked_for_good() -> None:
    module = ServiceModule.from_dict({"name": "docker", "masked": False})
    state = UnitState("masked", "inactive", "masked-runtime", False)
    with pytest.raises(ProbeError, match="unmask --runtime"):
        module.plan(state)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ({"name": "firewalld", "masked": True, "state": "started"}, "is masked"),
        ({"name": "firewalld", "masked": True, "enabled": True}, "cannot be enabled"),
        ({"name": "firewalld", "enabled": True}, "cannot be enabled: it is masked"),
    ],
)
def test_masked_and_running_cannot_both_be(args: dict[str, Any], match: str) -> None:
    module = ServiceModule.from_dict(args)
    with pytest.raises(ProbeError, match=match):
        module.plan(
            UnitShow("firewalld.service").parse(rec("systemctl/el9-firewalld-masked.txt"), 0)
        )


# What the lab showed (systemd 252, el7 and el9 profiles): a unit started and enabled
# (`systemctl enable` reloads systemd), then a drop-in written in a new NAME.d directory.
# NeedDaemonReload stays "no" and DropInPaths empty: systemd looks for drop-ins only in
# the directories it knew at its last reload.
DROPIN = "/etc/systemd/system/docker.service.d/http-proxy.conf"
DROPIN_UNSEEN = f"disk={DROPIN}\n"  # `systemctl show -p DropInPaths` said "DropInPaths="
DROPIN_LOADED = f"disk={DROPIN}\nloaded={DROPIN}\n"  # after `systemctl daemon-reload`


@pytest.mark.parametrize(
    ("dropins", "summary"),
    [(DROPIN_UNSEEN, ("daemon-reload",)), (DROPIN_LOADED, CONVERGED)],
    ids=["a drop-in systemd has not seen", "the drop-in loaded"],
)
def test_daemon_reload_sees_a_drop_in_in_a_new_directory(
    dropins: str, summary: tuple[str, ...] | Converged
) -> None:
    module = ServiceModule.from_dict({"name": "docker", "state": "started", "daemon_reload": True})
    running = rec("systemctl/el9-docker-running.txt")
    assert "NeedDaemonReload=no" in running
    probe = DropIns(U, ServiceModule.unit_dirs)
    state = state_of(module, {UnitShow(U): (running, 0), probe: (dropins, 0)})
    plan = module.plan(state)
    if isinstance(summary, Converged):
        assert plan is CONVERGED
        return
    assert isinstance(plan, Change) and plan.summary == summary and plan.actions_only
    assert [op.script for op in module.commands(plan)] == ["(\nset -e\nsystemctl daemon-reload\n)"]


def test_without_daemon_reload_the_drop_ins_are_not_asked() -> None:
    module = ServiceModule.from_dict({"name": "docker", "state": "started"})
    assert module.probes() == (UnitShow(U),)


def test_drop_ins_probe_on_disk_and_as_loaded(host: FakeHost, tmp_path: Path) -> None:
    etc, lib = tmp_path / "etc", tmp_path / "lib"
    (etc / f"{U}.d").mkdir(parents=True)
    (etc / f"{U}.d" / "http-proxy.conf").write_text("[Service]\nEnvironment=A=1\n")
    (etc / f"{U}.d" / "notes.txt").write_text("not a drop-in\n")
    (lib / f"{U}.d").mkdir(parents=True)
    (lib / f"{U}.d" / "10-timeout.conf").write_text("[Service]\nTimeoutSec=5\n")
    probe = DropIns(U, (str(etc), str(tmp_path / "run"), str(lib)))
    conf = str(etc / f"{U}.d" / "http-proxy.conf")
    host.on("systemctl", f'"show -p DropInPaths -- {U}"', f"DropInPaths={conf}\n")
    out = host.run(probe.command())
    assert out.rc == 0, out.stderr
    state = probe.parse(out.stdout, out.rc)
    assert state.on_disk == {conf, str(lib / f"{U}.d" / "10-timeout.conf")}
    assert state.loaded == frozenset({conf}) and state.unseen
    assert host.calls("systemctl") == [["systemctl", "show", "-p", "DropInPaths", "--", U]]


def test_drop_ins_probe_when_systemctl_does_not_say(host: FakeHost, tmp_path: Path) -> None:
    host.on("systemctl", "*", "")
    probe = DropIns(U, (str(tmp_path),))
    out = host.run(probe.command())
    state = probe.parse(out.stdout, out.rc)
    assert state.loaded is None and not state.unseen
