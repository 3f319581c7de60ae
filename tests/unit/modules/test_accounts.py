"""user and group: recorded getent / id output in, plan and useradd/usermod argv out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules.base import CONVERGED, Blocked, Change, Converged, Kind, Module, Provision
from provisioner.modules.group import GroupModule
from provisioner.modules.user import UserModule
from provisioner.probes.accounts import GroupEntry, PasswdEntry, UserGroups
from tests.unit.modules.host import FakeHost, rec, state_of, syntax_ok

Reply = tuple[str, str, str, int]
NO_GROUP: Reply = ("getent", '"group -- docker"', "", 2)
DOCKER: Reply = ("getent", '"group -- docker"', rec("getent/group-docker.txt"), 0)
WHEEL: Reply = ("getent", '"group -- wheel"', rec("getent/group-wheel.txt"), 0)
STUDENT_GROUP: Reply = ("getent", '"group -- student"', "student:x:1000:\n", 0)
SVC_GROUP: Reply = ("getent", '"group -- svc"', "svc:x:990:\n", 0)


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
    replies: tuple[Reply, ...]  # an account no reply names does not exist
    summary: tuple[str, ...] | Converged | Blocked  # Blocked: the plan, exactly
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
        CONVERGED,
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
        CONVERGED,
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
        CONVERGED,
    ),
    Case(
        "new user whose own-named group exists gets it as primary group",
        "user",
        {"name": "svc"},
        (passwd("svc", None), SVC_GROUP),
        ("+ user svc",),
        (("useradd", "-m", "-g", "svc", "--", "svc"),),
    ),
    Case(
        "new user with a primary group",
        "user",
        {"name": "student", "group": "docker"},
        (passwd("student", None), DOCKER),
        ("+ user student", "group: docker"),
        (("useradd", "-m", "-g", "docker", "--", "student"),),
    ),
    Case(
        "existing user's primary group differs",
        "user",
        {"name": "student", "group": "docker"},
        (passwd("student", "passwd-student"), ids("student", "student-wheel"), DOCKER),
        ("group: student → docker",),
        (("usermod", "-g", "docker", "--", "student"),),
    ),
    Case(
        "primary group that does not exist",
        "user",
        {"name": "student", "group": "docker"},
        (passwd("student", "passwd-student"), ids("student", "student-wheel"), NO_GROUP),
        Blocked(Provision(Kind.GROUP, "docker"), "group docker"),
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
    Case("group exists", "group", {"name": "docker", "gid": 996}, (DOCKER,), CONVERGED),
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
    Case(
        "group absent already",
        "group",
        {"name": "docker", "state": "absent"},
        (NO_GROUP,),
        CONVERGED,
    ),
]
MODULES: dict[str, type[Module[Any, Any, Any]]] = {"user": UserModule, "group": GroupModule}
TOOLS = ("useradd", "usermod", "userdel", "groupadd", "groupmod", "groupdel")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_plan_and_commands(host: FakeHost, case: Case) -> None:
    for prog, pattern, reply, rc in case.replies:
        host.on(prog, pattern, reply, rc)
    # What the case does not name does not exist (and the controller's own accounts,
    # which a real `id` would read, never leak in).
    host.on("getent", "*", "", 2).on("id", "*", "id: no such user\n", 1)
    for tool in TOOLS:
        host.on(tool)
    module = MODULES[case.module].from_dict(case.args)
    assert syntax_ok(module.probe())
    out = host.run(module.probe())
    assert out.rc == 0, out.stderr
    change = module.plan(module.parse(out.stdout, out.rc))
    if not isinstance(case.summary, tuple):
        assert change == case.summary
        return
    assert isinstance(change, Change) and change.summary == case.summary
    host.clear()
    for op in module.commands(change):
        assert syntax_ok(op.script)
        assert host.run(op.script).rc == 0
    assert [tuple(c) for c in host.calls() if c[0] in TOOLS] == list(case.calls)


def test_missing_primary_group_is_a_dependency(host: FakeHost) -> None:
    host.on(*passwd("student", "passwd-student")).on(*ids("student", "student-wheel"))
    host.on(*NO_GROUP).on(*STUDENT_GROUP)
    module = UserModule.from_dict({"name": "student", "group": "docker"})
    blocked = module.plan(module.parse(host.run(module.probe()).stdout, 0))
    assert isinstance(blocked, Blocked) and blocked.message == "group docker not found"


def test_missing_group_is_a_dependency(host: FakeHost) -> None:
    host.on(*passwd("student", "passwd-student")).on(*ids("student", "student-wheel")).on(*NO_GROUP)
    host.on(*STUDENT_GROUP)
    module = UserModule.from_dict({"name": "student", "groups": ["docker"], "append": True})
    state = module.parse(host.run(module.probe()).stdout, 0)
    blocked = module.plan(state)
    assert isinstance(blocked, Blocked)
    assert blocked.what == "group docker"


def test_missing_group_for_a_new_user_too(host: FakeHost) -> None:
    host.on(*passwd("student", None)).on(*NO_GROUP).on("getent", '"group -- student"', "", 2)
    module = UserModule.from_dict({"name": "student", "groups": ["docker"]})
    blocked = module.plan(module.parse(host.run(module.probe()).stdout, 0))
    assert isinstance(blocked, Blocked) and re.search("group docker", blocked.message)


@pytest.mark.parametrize(
    ("stdout", "rc"),
    [
        ("", 1),
        ("student:x:1000\n", 0),
        ("other:x:1001:1001::/home/other:/bin/bash\n", 0),
    ],
)
def test_unreadable_passwd(stdout: str, rc: int) -> None:
    module = UserModule.from_dict({"name": "student"})
    answers = {PasswdEntry("student"): (stdout, rc), GroupEntry("student"): ("", 2)}
    with pytest.raises(ProbeError):
        state_of(module, answers)


def test_unreadable_group() -> None:
    module = GroupModule.from_dict({"name": "docker"})
    with pytest.raises(ProbeError):
        state_of(module, {GroupEntry("docker"): ("docker:x\n", 0)})


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


def test_unreadable_group_of_a_user_is_a_probe_error_not_a_missing_group() -> None:
    # getent could not say (rc 1: NSS down); "group docker not found" would be untrue.
    module = UserModule.from_dict({"name": "student", "groups": ["docker"]})
    answers = {
        PasswdEntry("student"): (rec("getent/passwd-student.txt"), 0),
        UserGroups("student"): (rec("id/student-wheel.txt"), 0),
        GroupEntry("docker"): ("", 1),
        GroupEntry("student"): ("student:x:1000:\n", 0),
    }
    with pytest.raises(ProbeError, match=r"getent group docker failed \(exit 1\)"):
        state_of(module, answers)
