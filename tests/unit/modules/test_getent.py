"""getent: recorded getent output in, ansible_facts (in Ansible's shape) and the outcome out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError
from provisioner.modules import registry
from provisioner.modules.base import CONVERGED, Blocked, Failed
from provisioner.modules.getent import GetentModule
from tests.unit.modules.host import FakeHost, rec, sh, syntax_ok

# Hand-written from getent's formats on EL (hosts: address, then names; services: tab
# and spaces between name, port/protocol and aliases).
HOSTS = "127.0.0.1       localhost localhost.localdomain\n::1             localhost6\n"
SERVICES = "http                  80/tcp www www-http\nhttp                  80/udp www\n"
GROUPS = rec("getent/group-docker.txt") + rec("getent/group-wheel.txt")


@dataclass(frozen=True)
class Case:
    id: str
    args: dict[str, Any]
    out: str
    rc: int
    facts: dict[str, Any] | None  # the registered ansible_facts; None: none
    failed: str | None = None  # the task's failure message
    argv: tuple[str, ...] = ()


CASES = [
    Case(
        "a group, split on ':' as for passwd/group/shadow/gshadow",
        {"database": "group", "key": "docker"},
        rec("getent/group-docker.txt"),
        0,
        {"getent_group": {"docker": ["x", "996", ""]}},
        argv=("getent", "group", "--", "docker"),
    ),
    Case(
        "a user: the fields after the name",
        {"database": "passwd", "key": "student"},
        rec("getent/passwd-student.txt"),
        0,
        {"getent_passwd": {"student": ["x", "1000", "1000", "", "/home/student", "/bin/bash"]}},
    ),
    Case(
        "the whole database",
        {"database": "group"},
        GROUPS,
        0,
        {
            "getent_group": {
                "docker": ["x", "996", ""],
                "wheel": ["x", "997", "teacher,student"],
            }
        },
        argv=("getent", "group"),
    ),
    Case(
        "other databases split on whitespace",
        {"database": "hosts"},
        HOSTS,
        0,
        {
            "getent_hosts": {
                "127.0.0.1": ["localhost", "localhost.localdomain"],
                "::1": ["localhost6"],
            }
        },
    ),
    Case(
        "a key on several lines holds a list of lists",
        {"database": "services", "key": "http"},
        SERVICES,
        0,
        {"getent_services": {"http": [["80/tcp", "www", "www-http"], ["80/udp", "www"]]}},
    ),
    Case(
        "split given",
        {"database": "passwd", "key": "student", "split": "/"},
        rec("getent/passwd-student.txt"),
        0,
        {"getent_passwd": {"student:x:1000:1000::": ["home", "student:", "bin", "bash"]}},
    ),
    Case(
        "a missing key fails, with Ansible's message",
        {"database": "group", "key": "nope"},
        "",
        2,
        None,
        "One or more supplied key could not be found in the database.",
    ),
    Case(
        "fail_key false: the key holds None",
        {"database": "group", "key": "nope", "fail_key": False},
        "",
        2,
        {"getent_group": {"nope": None}},
    ),
    Case(
        "an unknown database",
        {"database": "nodb"},
        "",
        1,
        None,
        "Missing arguments, or database unknown.",
    ),
    Case(
        "a database that cannot be enumerated",
        {"database": "netgroup", "service": "files"},
        "",
        3,
        None,
        "Enumeration not supported on this database.",
        argv=("getent", "-s", "files", "netgroup"),
    ),
    Case("no getent", {"database": "group"}, "", 127, None, "getent is not installed on the host."),
    Case(
        "a key YAML read as a number",
        {"database": "passwd", "key": 0},
        "root:x:0:0:root:/root:/bin/bash\n",
        0,
        {"getent_passwd": {"root": ["x", "0", "0", "root", "/root", "/bin/bash"]}},
        argv=("getent", "passwd", "--", "0"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_facts_and_outcome(host: FakeHost, case: Case) -> None:
    host.on("getent", "*", case.out, case.rc if case.rc != 127 else 0)
    module = GetentModule.from_dict(case.args)
    assert syntax_ok(module.probe())
    if case.rc == 127:
        only_sh = host.root / "only-sh"
        only_sh.mkdir()
        (only_sh / "sh").symlink_to("/bin/sh")
        out = sh(module.probe(), env={"PATH": str(only_sh)})
    else:
        out = host.run(module.probe())
        if case.argv:
            assert tuple(host.calls("getent")[0]) == case.argv
    plan_state = module.parse(out.stdout)
    plan = module.plan(plan_state)
    if case.failed is None:
        assert plan is CONVERGED
    elif isinstance(plan, Blocked):  # a group or user an earlier change may make
        assert plan.failure == case.failed and plan.need.name == case.args.get("key")
    else:
        assert plan == Failed(case.failed)
    facts = module.fields(plan_state).get("ansible_facts")
    assert facts == case.facts


def test_this_machines_root(host: FakeHost) -> None:
    """The probe as a real getent answers it."""
    module = GetentModule.from_dict({"database": "passwd", "key": "root"})
    state = module.parse(sh(module.probe()).stdout)
    assert module.plan(state) is CONVERGED
    root = module.fields(state)["ansible_facts"]["getent_passwd"]["root"]
    assert root[1:3] == ["0", "0"]


def test_a_hostile_key_is_one_argument(host: FakeHost) -> None:
    key = "x'; rm -rf / ; echo `id` $(reboot)"
    host.on("getent", "*", "", 2)
    module = GetentModule.from_dict({"database": "passwd", "key": key, "fail_key": False})
    host.run(module.probe())
    assert host.calls("getent") == [["getent", "passwd", "--", key]]
    facts = module.fields(module.parse(host.run(module.probe()).stdout))
    assert facts == {
        "ansible_facts": {"getent_passwd": {key: None}},
        "msg": "One or more supplied key could not be found in the database.",
    }


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({}, "missing required argument 'database'"),
        ({"database": "-s"}, "not a database"),
        ({"database": "pass wd"}, "not a database"),
        ({"database": "passwd", "service": "files; reboot"}, "not a database or service"),
        ({"database": "passwd", "key": ""}, "one non-empty line"),
        ({"database": "passwd", "key": "a\nb"}, "one non-empty line"),
        ({"database": "passwd", "split": ""}, "must not be empty"),
        ({"database": "passwd", "fail_key": "maybe"}, "fail_key"),
    ],
)
def test_bad_args(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        GetentModule.from_dict(raw)


def test_names() -> None:
    assert registry()["ansible.builtin.getent"] is GetentModule
