"""pip: the host's pip (stubbed: `list --format=freeze`, `list --outdated --format=json`
as pip 9 to 23 print them) in, plan and pip argv out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules import lookup
from provisioner.modules.base import CONVERGED, Blocked, Change, Converged, Kind, Provision
from provisioner.modules.pip import PipModule, PipState, same_version
from tests.unit.modules.host import FakeHost, syntax_ok

FREEZE = """\
docker==6.1.3
PyYAML==5.4.1
requests==2.25.0
zope.interface==5.4.0
"""
NO_CHECK = "--disable-pip-version-check"


@dataclass(frozen=True)
class Case:
    id: str
    args: dict[str, Any]
    summary: tuple[str, ...] | Converged
    calls: tuple[tuple[str, ...], ...] = ()
    outdated: list[dict[str, str]] | None = None
    pip: str = "pip3"


CASES = [
    Case("installed already", {"name": ["docker", "requests"]}, CONVERGED),
    Case(
        "names compare as pip compares them",
        {"name": "pyyaml, Zope_Interface, py-yaml"},
        ("+ py-yaml",),
        (("pip3", "install", NO_CHECK, "--", "py-yaml"),),
    ),
    Case(
        "one missing, one at another version",
        {"name": ["flask==2.0.1", "requests==2.31.0", "docker==6.1.3"]},
        ("+ flask 2.0.1", "~ requests 2.25.0 → 2.31.0"),
        (("pip3", "install", NO_CHECK, "--", "flask==2.0.1", "requests==2.31.0"),),
    ),
    Case("1.0 is 1.0.0", {"name": "PyYAML==5.4.1.0"}, CONVERGED),
    Case(
        "version as an argument, extras kept",
        {"name": "requests[socks]", "version": "2.25.1"},
        ("~ requests 2.25.0 → 2.25.1",),
        (("pip3", "install", NO_CHECK, "--", "requests[socks]==2.25.1"),),
    ),
    Case(
        "absent",
        {"name": ["docker", "flask"], "state": "absent"},
        ("- docker 6.1.3",),
        (("pip3", "uninstall", "-y", NO_CHECK, "--", "docker"),),
    ),
    Case("absent already", {"name": "flask", "state": "absent"}, CONVERGED),
    Case(
        "latest: an update, a missing one, one up to date",
        {"name": ["requests", "flask", "docker"], "state": "latest"},
        ("~ requests 2.25.0 → 2.31.0", "+ flask"),
        (
            ("pip3", "install", NO_CHECK, "--", "flask"),
            ("pip3", "install", "-U", NO_CHECK, "--", "requests"),
        ),
        [
            {
                "name": "requests",
                "version": "2.25.0",
                "latest_version": "2.31.0",
                "latest_filetype": "wheel",
            }
        ],
    ),  # fmt: skip
    Case(
        "latest and up to date",
        {"name": "docker", "state": "latest"},
        CONVERGED,
        outdated=[],
    ),
    Case(
        "the executable given",
        {"name": "flask", "executable": "/opt/venv/bin/pip"},
        ("+ flask",),
        (("/opt/venv/bin/pip", "install", NO_CHECK, "--", "flask"),),
        pip="/opt/venv/bin/pip",
    ),
]


def _host(host: FakeHost, case: Case) -> FakeHost:
    prog = case.pip.rsplit("/", 1)[-1]
    host.on(prog, '"list --format=freeze"*', FREEZE)
    if case.outdated is not None:
        host.on(prog, '"list --outdated --format=json"*', json.dumps(case.outdated) + "\n")
    return host.on(prog, "*")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_plan_and_commands(host: FakeHost, case: Case) -> None:
    module = PipModule.from_dict(case.args)
    probe = module.probe()
    if case.pip.startswith("/"):  # the stub stands for the path given
        probe = probe.replace(case.pip, str(host.bin / "pip"))
    assert syntax_ok(probe)
    _host(host, case)
    state = module.parse(host.run(probe).stdout)
    asked = [c[1:4] for c in host.calls()]
    assert ["list", "--outdated", "--format=json"] in asked or case.args.get("state") != "latest"
    plan = module.plan(state)
    if case.summary is CONVERGED:
        assert plan is CONVERGED
        return
    assert isinstance(plan, Change) and plan.summary == case.summary
    host.clear()
    for op in module.commands(plan):
        assert syntax_ok(op.script)
        assert host.run(op.script).rc == 0
    calls = [(case.pip, *c[1:]) for c in host.calls()]
    assert calls == list(case.calls)


def test_without_pip3_the_probe_takes_pip(host: FakeHost) -> None:
    host.on("pip", '"list --format=freeze"*', "flask==2.0.1\n")
    module = PipModule.from_dict({"name": "flask"})
    probe = module.probe().replace("pip3 pip", "pip3-absent pip")
    state = module.parse(host.run(probe).stdout)
    assert state.pip == "pip" and module.plan(state) is CONVERGED


@pytest.mark.parametrize(
    ("args", "what"),
    [
        ({"name": "flask"}, "pip3 or pip"),
        ({"name": "x", "executable": "pip3.99"}, "pip executable pip3.99"),
    ],
)
def test_no_pip_is_a_missing_package(host: FakeHost, args: dict[str, Any], what: str) -> None:
    module = PipModule.from_dict(args)
    probe = module.probe().replace("pip3 pip", "no-pip3 no-pip")
    blocked = module.plan(module.parse(host.run(probe).stdout))
    assert isinstance(blocked, Blocked)
    assert blocked.need == Provision(Kind.PACKAGE, "python3-pip")
    assert blocked.message == f"{what} not found: install python3-pip first"


def test_pip_failing_is_a_clear_error(host: FakeHost) -> None:
    host.on("pip3", "*", "", rc=2, err="Traceback ...\n")
    module = PipModule.from_dict({"name": "flask"})
    with pytest.raises(ProbeError, match=r"pip: pip3 list failed \(exit 2\)"):
        module.parse(host.run(module.probe()).stdout)


def test_unreadable_outdated_listing_is_a_clear_error(host: FakeHost) -> None:
    host.on("pip3", '"list --format=freeze"*', FREEZE).on("pip3", "*", "not json\n")
    module = PipModule.from_dict({"name": "docker", "state": "latest"})
    with pytest.raises(ProbeError, match="cannot read what pip3 list --outdated printed"):
        module.parse(host.run(module.probe()).stdout)


def test_hostile_executable_is_one_word(host: FakeHost) -> None:
    odd = "pip;touch pwned $(touch pwned2)"
    module = PipModule.from_dict({"name": "flask", "executable": odd})
    r = host.run(module.probe())
    blocked = module.plan(module.parse(r.stdout))
    assert isinstance(blocked, Blocked) and blocked.what == f"pip executable {odd}"
    assert not list(host.root.glob("pwned*"))
    plan = module.plan(PipState(odd))
    assert isinstance(plan, Change)
    (op,) = module.commands(plan)
    assert f"'{odd}' install {NO_CHECK} -- flask" in op.script


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("1.0", "1.0.0", True),
        ("2.0RC1", "2.0rc1", True),
        ("1.10", "1.1", False),
        ("1", "1.0.1", False),
    ],
)
def test_versions(a: str, b: str, same: bool) -> None:
    assert same_version(a, b) is same


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"name": "flask>=2"}, "give NAME or NAME==VERSION"),
        ({"name": "git+https://x/y.git"}, "give NAME or NAME==VERSION"),
        ({"name": "-e ."}, "give NAME or NAME==VERSION"),
        ({"name": "./pkg"}, "give NAME or NAME==VERSION"),
        ({"name": []}, "at least one name"),
        ({"name": "flask==2", "state": "latest"}, "latest cannot be combined"),
        ({"name": ["a", "b"], "version": "1"}, "version goes with one name"),
        ({"name": "a", "state": "forcereinstall"}, "forcereinstall is not supported"),
        ({"name": "a", "executable": "-x"}, "must name a pip program"),
        ({"name": "a", "virtualenv": "/v"}, "unknown argument 'virtualenv'"),
    ],
)
def test_bad_arguments(args: dict[str, Any], error: str) -> None:
    with pytest.raises(ModuleArgsError, match=error):
        PipModule.from_dict(args)


def test_answers_to_its_full_name() -> None:
    assert lookup("ansible.builtin.pip") is PipModule
