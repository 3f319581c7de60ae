"""firewalld: firewall-cmd's answers (stubbed: `yes`/`no` and exit 0/1, as firewalld
0.6 to 1.x give them) in, plan and firewall-cmd argv out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules import lookup
from provisioner.modules.base import CONVERGED, Blocked, Change, Converged, Kind, Provision
from provisioner.modules.firewalld import FirewalldModule
from tests.unit.modules.host import FakeHost, syntax_ok

YES, NO = ("yes\n", 0), ("no\n", 1)


@dataclass(frozen=True)
class Case:
    id: str
    args: dict[str, Any]
    runtime: tuple[str, int] | None  # what the runtime query answers (None: not asked)
    permanent: tuple[str, int] | None
    summary: tuple[str, ...] | Converged
    calls: tuple[tuple[str, ...], ...] = ()
    query: str = "--query-service=https"


CASES = [
    Case(
        "a service in the runtime configuration (the default)",
        {"service": "https", "state": "enabled"},
        NO,
        None,
        ("+ service https (zone public, runtime)",),
        (("firewall-cmd", "--zone=public", "--add-service=https"),),
    ),
    Case("already enabled", {"service": "https", "state": "enabled"}, YES, None, CONVERGED),
    Case(
        "permanent only: the runtime configuration is not asked",
        {"service": "https", "state": "enabled", "permanent": True},
        None,
        NO,
        ("+ service https (zone public, permanent)",),
        (("firewall-cmd", "--permanent", "--zone=public", "--add-service=https"),),
    ),
    Case(
        "permanent and immediate: only what differs",
        {"service": "https", "state": "enabled", "permanent": True, "immediate": True},
        YES,
        NO,
        ("+ service https (zone public, permanent)",),
        (("firewall-cmd", "--permanent", "--zone=public", "--add-service=https"),),
    ),
    Case(
        "both differ",
        {
            "port": "8080/tcp",
            "zone": "dmz",
            "state": "enabled",
            "permanent": True,
            "immediate": True,
        },
        NO,
        NO,
        ("+ port 8080/tcp (zone dmz, runtime)", "+ port 8080/tcp (zone dmz, permanent)"),
        (
            ("firewall-cmd", "--zone=dmz", "--add-port=8080/tcp"),
            ("firewall-cmd", "--permanent", "--zone=dmz", "--add-port=8080/tcp"),
        ),
        "--query-port=8080/tcp",
    ),  # fmt: skip
    Case(
        "a port range disabled",
        {"port": "6000-6010/udp", "state": "disabled", "permanent": True},
        None,
        YES,
        ("- port 6000-6010/udp (zone public, permanent)",),
        (("firewall-cmd", "--permanent", "--zone=public", "--remove-port=6000-6010/udp"),),
        "--query-port=6000-6010/udp",
    ),
    Case(
        "already disabled",
        {"port": "23/tcp", "state": "disabled"},
        NO,
        None,
        CONVERGED,
        query="--query-port=23/tcp",
    ),  # fmt: skip
    Case(
        "a source moves into the zone",
        {"source": "10.0.0.0/8", "zone": "internal", "state": "enabled"},
        NO,
        None,
        ("+ source 10.0.0.0/8 (zone internal, runtime)",),
        (("firewall-cmd", "--zone=internal", "--change-source=10.0.0.0/8"),),
        "--query-source=10.0.0.0/8",
    ),
    Case(
        "an interface leaves the zone",
        {"interface": "eth1", "zone": "trusted", "state": "disabled"},
        YES,
        None,
        ("- interface eth1 (zone trusted, runtime)",),
        (("firewall-cmd", "--zone=trusted", "--remove-interface=eth1"),),
        "--query-interface=eth1",
    ),
]


def _host(host: FakeHost, case: Case) -> FakeHost:
    zone = case.args.get("zone", "public")
    host.on("firewall-cmd", "--state", "running\n").on(
        "firewall-cmd", "--get-default-zone", "public\n"
    )
    if case.permanent is not None:
        out, rc = case.permanent
        host.on("firewall-cmd", f'"--permanent --zone={zone} {case.query}"', out, rc)
    if case.runtime is not None:
        out, rc = case.runtime
        host.on("firewall-cmd", f'"--zone={zone} {case.query}"', out, rc)
    return host.on("firewall-cmd", "*", "success\n")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_plan_and_commands(host: FakeHost, case: Case) -> None:
    module = FirewalldModule.from_dict(case.args)
    assert syntax_ok(module.probe())
    state = module.parse(_host(host, case).run(module.probe()).stdout)
    queries = [c for c in host.calls("firewall-cmd") if any("--query-" in w for w in c)]
    assert len(queries) == (case.runtime is not None) + (case.permanent is not None)
    default_asked = ["firewall-cmd", "--get-default-zone"] in host.calls("firewall-cmd")
    assert default_asked == ("zone" not in case.args)
    plan = module.plan(state)
    if case.summary is CONVERGED:
        assert plan is CONVERGED
        return
    assert isinstance(plan, Change) and plan.summary == case.summary
    host.clear()
    for op in module.commands(plan):
        assert syntax_ok(op.script)
        assert host.run(op.script).rc == 0
    assert [tuple(c) for c in host.calls("firewall-cmd")] == list(case.calls)


def test_converged_after_apply(host: FakeHost) -> None:
    """What apply changed, the re-probe sees (the stub now answers yes)."""
    module = FirewalldModule.from_dict({"service": "http", "state": "enabled"})
    host.on("firewall-cmd", "--state").on("firewall-cmd", "--get-default-zone", "public\n")
    host.on("firewall-cmd", '"--zone=public --query-service=http"', "yes\n")
    assert module.parse(host.run(module.probe()).stdout).enabled == (("runtime", True),)


def test_stopped_firewalld_is_a_missing_unit(host: FakeHost) -> None:
    host.on("firewall-cmd", "--state", "not running\n", rc=252)
    module = FirewalldModule.from_dict({"service": "https", "state": "enabled"})
    blocked = module.plan(module.parse(host.run(module.probe()).stdout))
    assert isinstance(blocked, Blocked)
    assert blocked.need == Provision(Kind.UNIT, "firewalld.service")
    assert blocked.message == (
        "a running firewalld not found: firewall-cmd --state says not running;"
        " start firewalld.service first"
    )
    assert [c[1:] for c in host.calls("firewall-cmd")] == [["--state"]]


def test_no_firewall_cmd_is_a_missing_package(host: FakeHost) -> None:
    module = FirewalldModule.from_dict({"port": "80/tcp", "state": "enabled"})
    r = host.run(module.probe().replace("command -v firewall-cmd", "command -v no-firewall-cmd"))
    blocked = module.plan(module.parse(r.stdout))
    assert isinstance(blocked, Blocked) and blocked.need == Provision(Kind.PACKAGE, "firewalld")
    assert blocked.message == "firewall-cmd (package firewalld) not found"


def test_an_unknown_service_is_a_clear_error(host: FakeHost) -> None:
    host.on("firewall-cmd", "--state").on("firewall-cmd", "--get-default-zone", "public\n")
    host.on("firewall-cmd", '"--zone=public --query-service=htps"', "", 101,
            "Error: INVALID_SERVICE: 'htps' not among existing services\n")  # fmt: skip
    module = FirewalldModule.from_dict({"service": "htps", "state": "enabled"})
    with pytest.raises(ProbeError) as err:
        module.parse(host.run(module.probe()).stdout)
    assert str(err.value) == (
        "firewalld: cannot query service htps in zone public (runtime):"
        " Error: INVALID_SERVICE: 'htps' not among existing services"
    )


def test_hostile_values_stay_one_argument(host: FakeHost) -> None:
    odd = "x;$(touch${IFS}pwned)`id`'\""
    host.on("firewall-cmd", "--state").on("firewall-cmd", "--get-default-zone", "$(touch z)\n")
    host.on("firewall-cmd", "*", "no\n", 1)
    module = FirewalldModule.from_dict({"service": odd, "state": "enabled", "permanent": True})
    plan = module.plan(module.parse(host.run(module.probe()).stdout))
    assert isinstance(plan, Change)
    (op,) = module.commands(plan)
    host.run(op.script)
    calls = host.calls("firewall-cmd")
    assert calls[-2] == [
        "firewall-cmd",
        "--permanent",
        "--zone=$(touch z)",
        f"--query-service={odd}",
    ]
    assert calls[-1] == ["firewall-cmd", "--permanent", "--zone=$(touch z)", f"--add-service={odd}"]
    assert not (host.root / "pwned").exists() and not (host.root / "z").exists()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"state": "enabled"}, "exactly one of service, port, source, interface"),
        ({"service": "a", "port": "1/tcp", "state": "enabled"}, "exactly one of"),
        ({"port": "8080", "state": "enabled"}, "PORT/PROTOCOL"),
        ({"port": "99999/tcp", "state": "enabled"}, "PORT/PROTOCOL"),
        ({"port": "80/icmp", "state": "enabled"}, "PORT/PROTOCOL"),
        ({"service": "a b", "state": "enabled"}, "must be one word"),
        ({"service": "a", "state": "present"}, "for zones, which are not supported"),
        ({"service": "a", "state": "on"}, "state"),
        ({"service": "a"}, "missing required argument 'state'"),
        ({"service": "a", "state": "enabled", "rich_rule": "x"}, "unknown argument 'rich_rule'"),
    ],
)
def test_bad_arguments(args: dict[str, Any], error: str) -> None:
    with pytest.raises(ModuleArgsError, match=error):
        FirewalldModule.from_dict(args)


def test_answers_to_its_collection_name() -> None:
    assert lookup("ansible.posix.firewalld") is FirewalldModule
