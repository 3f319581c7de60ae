"""user and group: recorded getent / id output in, plan and useradd/usermod argv out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from provisioner.errors import MissingDependency, ModuleArgsError, ProbeError
from provisioner.modules.base import Module
from provisioner.modules.group import GroupModule
from provisioner.modules.user import UserModule
from tests.unit.modules.host import FakeHost, rec, syntax_ok

Reply = tuple[str, str, str, int]
NO_GROUP: Reply = ("getent", '"group -- docker"', "", 2)
DOCKER: Reply = ("getent", '"group -- docker"', rec("getent/group-docker.txt"), 0)
WHEEL: Reply = ("getent", '"group -- wheel"', rec("getent/group-wheel.txt"), 0)
STUDENT_GROUP: Reply = ("getent", '"group -- student"', "student:x:1000:\n", 0)


def passwd(name: str, file: str | None) -> Reply:
    return (
        "getent",
        f'"passwd -- {name}"',
        rec(f"getent/{file}.txt") if file else "",
        0 if file else 2,
    )


def ids(name: str, file: str) -> Reply:
    return ("id", f'"-nG -- {name}"', rec(f"id/{file}.txt"), 0)


@dataclass(frozen=True)
class Case:
    id: str
    module: str
    args: dict[str, Any]
    replies: tuple[Reply, ...]
    summary: tuple[str, ...] | None
    calls: tuple[tuple[str, ...], ...] = ()


CASES = [
    Case(
        "new user in docker",
        "user",
        {"name": "student", "groups": ["docker"]},
        (passwd("student", None), DOCKER),
        ("+ user student", "groups: +docker"),
        (("useradd", "-m", "-G", "docker", "--", "student"),),
    ),
    Case(
        "new system user without home",
        "user",
        {"name": "svc", "system": True, "create_home": False, "shell": "/sbin/nologin"},
        (passwd("svc", None),),
        ("+ user svc",),
        (("useradd", "-r", "-M", "-s", "/sbin/nologin", "--", "svc"),),
    ),
    Case(
        "append docker to student's groups",
        "user",
        {"name": "student", "groups": "docker", "append": True},
        (passwd("student", "passwd-student"), ids("student", "student-wheel"), DOCKER),
        ("groups: +docker",),
        (("usermod", "-a", "-G", "docker", "--", "student"),),
    ),
    Case(
        "already in docker",
        "user",
        {"name": "student", "groups": ["docker"], "append": True},
        (passwd("student", "passwd-student"), ids("student", "student-wheel-docker"), DOCKER),
        None,
    ),
    Case(
        "exact groups: add docker, drop wheel",
        "user",
        {"name": "student", "groups": ["docker"]},
        (passwd("student", "passwd-student"), ids("student", "student-wheel"), DOCKER),
        ("groups: +docker -wheel",),
        (("usermod", "-G", "docker", "--", "student"),),
    ),
    Case(
        "exact empty groups drop all supplementary ones",
        "user",
        {"name": "student", "groups": []},
        (passwd("student", "passwd-student"), ids("student", "student-wheel")),
        ("groups: -wheel",),
        (("usermod", "-G", "", "--", "student"),),
    ),
    Case(
        "the primary group is not a supplementary one",
        "user",
        {"name": "student", "groups": ["student", "wheel"]},
        (
            passwd("student", "passwd-student"),
            ids("student", "student-wheel"),
            STUDENT_GROUP,
            WHEEL,
        ),
        None,
    ),
    Case(
        "shell and home",
        "user",
        {"name": "deploy", "shell": "/bin/bash", "home": "/home/deploy"},
        (passwd("deploy", "passwd-deploy"),),
        ("shell: /bin/sh → /bin/bash", "home: /srv/deploy → /home/deploy"),
        (("usermod", "-s", "/bin/bash", "-d", "/home/deploy", "--", "deploy"),),
    ),
    Case(
        "remove a user and its home",
        "user",
        {"name": "student", "state": "absent", "remove": True},
        (passwd("student", "passwd-student"),),
        ("- user student",),
        (("userdel", "-r", "--", "student"),),
    ),
    Case(
        "absent already",
        "user",
        {"name": "student", "state": "absent", "groups": ["docker"]},
        (passwd("student", None),),
        None,
    ),
    Case(
        "new group",
        "group",
        {"name": "docker"},
        (NO_GROUP,),
        ("+ group docker",),
        (("groupadd", "--", "docker"),),
    ),
    Case(
        "new system group with gid",
        "group",
        {"name": "docker", "system": True, "gid": 991},
        (NO_GROUP,),
        ("+ group docker (gid 991)",),
        (("groupadd", "-r", "-g", "991", "--", "docker"),),
    ),
    Case("group exists", "group", {"name": "docker", "gid": 996}, (DOCKER,), None),
    Case(
        "group gid differs",
        "group",
        {"name": "docker", "gid": 1500},
        (DOCKER,),
        ("gid: 996 → 1500",),
        (("groupmod", "-g", "1500", "--", "docker"),),
    ),
    Case(
        "group removed",
        "group",
        {"name": "docker", "state": "absent"},
        (DOCKER,),
        ("- group docker",),
        (("groupdel", "--", "docker"),),
    ),
    Case("group absent already", "group", {"name": "docker", "state": "absent"}, (NO_GROUP,), None),
]
MODULES: dict[str, type[Module[Any, Any]]] = {"user": UserModule, "group": GroupModule}
TOOLS = ("useradd", "usermod", "userdel", "groupadd", "groupmod", "groupdel")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_plan_and_commands(host: FakeHost, case: Case) -> None:
    for prog, pattern, reply, rc in case.replies:
        host.on(prog, pattern, reply, rc)
    for tool in TOOLS:
        host.on(tool)
    module = MODULES[case.module].from_dict(case.args)
    assert syntax_ok(module.probe())
    out = host.run(module.probe())
    assert out.rc == 0, out.stderr
    change = module.plan(module.parse(out.stdout, out.rc))
    if case.summary is None:
        assert change is None
        return
    assert change is not None and change.summary == case.summary
    host.clear()
    for op in module.commands(change):
        assert syntax_ok(op.script)
        assert host.run(op.script).rc == 0
    assert [tuple(c) for c in host.calls() if c[0] in TOOLS] == list(case.calls)


def test_missing_group_is_a_dependency(host: FakeHost) -> None:
    host.on(*passwd("student", "passwd-student")).on(*ids("student", "student-wheel")).on(*NO_GROUP)
    module = UserModule.from_dict({"name": "student", "groups": ["docker"], "append": True})
    state = module.parse(host.run(module.probe()).stdout, 0)
    with pytest.raises(MissingDependency) as exc:
        module.plan(state)
    assert exc.value.what == "group docker"


def test_missing_group_for_a_new_user_too(host: FakeHost) -> None:
    host.on(*passwd("student", None)).on(*NO_GROUP)
    module = UserModule.from_dict({"name": "student", "groups": ["docker"]})
    with pytest.raises(MissingDependency, match="group docker"):
        module.plan(module.parse(host.run(module.probe()).stdout, 0))


@pytest.mark.parametrize(
    "stdout",
    [
        "@@ passwd\n@@ rc 1\n",
        "@@ passwd\nstudent:x:1000\n@@ rc 0\n",
        "@@ passwd\nother:x:1001:1001::/home/other:/bin/bash\n@@ rc 0\n",
    ],
)
def test_unreadable_passwd(stdout: str) -> None:
    with pytest.raises(ProbeError):
        UserModule.from_dict({"name": "student"}).parse(stdout, 0)


def test_unreadable_group() -> None:
    with pytest.raises(ProbeError):
        GroupModule.from_dict({"name": "docker"}).parse("@@ group\ndocker:x\n@@ rc 0\n", 0)


@pytest.mark.parametrize(
    ("module", "raw", "match"),
    [
        ("user", {"name": "a:b"}, "must not contain"),
        ("user", {"name": "-r"}, "must not start"),
        ("user", {"name": "x", "groups": ["do cker"]}, "must not contain"),
        ("user", {"name": "x", "home": "home/x"}, "absolute"),
        ("user", {"name": "x", "password": "secret"}, "unknown argument 'password'"),
        ("group", {"name": "docker", "gid": -1}, "gid"),
        ("group", {"name": "a,b"}, "must not contain"),
    ],
)
def test_bad_args(module: str, raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        MODULES[module].from_dict(raw)
