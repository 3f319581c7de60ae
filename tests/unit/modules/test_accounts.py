"""user and group: recorded getent / id output in, plan and useradd/usermod argv out."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules.base import CONVERGED, Blocked, Change, Converged, Kind, Module, Provision
from provisioner.modules.group import GroupModule
from provisioner.modules.user import UserModule
from provisioner.probes.accounts import GroupEntry, PasswdEntry, ShadowDigest, UserGroups
from tests.unit.modules.host import FakeHost, rec, run_op, state_of, syntax_ok

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


# Our own hashes, shaped as crypt(3) writes them (sha512-crypt).
HASH = "$6$Yw9yTk1cQf$" + "Q" * 40 + "2/vd" * 11 + "v."
OLD_HASH = "$6$oldsaltxx$" + "r" * 86


def shadow(name: str, hash_field: str) -> Reply:
    """getent shadow -- NAME: the line as /etc/shadow holds it."""
    return ("getent", f'"shadow -- {name}"', f"{name}:{hash_field}:19800:0:99999:7:::\n", 0)


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
        "new user with a password: useradd, then chpasswd reads the hash from the upload",
        "user",
        {"name": "deploy", "password": HASH, "shell": "/bin/bash"},
        (passwd("deploy", None),),
        ("+ user deploy", "password: set"),
        (("useradd", "-m", "-s", "/bin/bash", "--", "deploy"), ("chpasswd", "-e")),
    ),
    Case(
        "another password: only chpasswd",
        "user",
        {"user": "student", "password": HASH},
        (passwd("student", "passwd-student"), shadow("student", OLD_HASH)),
        ("password: changed",),
        (("chpasswd", "-e"),),
    ),
    Case(
        "the same password",
        "user",
        {"name": "student", "password": HASH, "update_password": "always"},
        (passwd("student", "passwd-student"), shadow("student", HASH)),
        CONVERGED,
    ),
    Case(
        "on_create: an existing user's password is left alone (and not read)",
        "user",
        {"name": "student", "password": HASH, "update_password": "on_create"},
        (passwd("student", "passwd-student"), shadow("student", OLD_HASH)),
        CONVERGED,
    ),
    Case(
        "on_create: a new user gets it",
        "user",
        {"name": "deploy", "password": HASH, "update_password": "on_create"},
        (passwd("deploy", None),),
        ("+ user deploy", "password: set"),
        (("useradd", "-m", "--", "deploy"), ("chpasswd", "-e")),
    ),
    Case(
        "shell and password: usermod, then chpasswd",
        "user",
        {"name": "student", "password": HASH, "shell": "/bin/zsh"},
        (passwd("student", "passwd-student"), shadow("student", OLD_HASH)),
        ("shell: /bin/bash → /bin/zsh", "password: changed"),
        (("usermod", "-s", "/bin/zsh", "--", "student"), ("chpasswd", "-e")),
    ),
    Case(
        "lock an account that has no shadow entry yet",
        "user",
        {"name": "student", "password": "!"},
        (passwd("student", "passwd-student"),),
        ("password: changed",),
        (("chpasswd", "-e"),),
    ),
    Case(
        "createhome and user: are create_home and name",
        "user",
        {"user": "svc", "createhome": "no"},
        (passwd("svc", None),),
        ("+ user svc",),
        (("useradd", "-M", "--", "svc"),),
    ),
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
TOOLS = ("useradd", "usermod", "userdel", "groupadd", "groupmod", "groupdel", "chpasswd")


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
        assert run_op(op, host.run, host.root).rc == 0
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
        ("user", {"name": "x", "password": "s3cret-Plain"}, "already crypted hash"),
        ("user", {"name": "x", "password": ""}, "already crypted hash"),
        ("user", {"name": "x", "password": HASH + ":0"}, "must not contain ':'"),
        ("user", {"name": "x", "password": HASH, "update_password": "never"}, "update_password"),
        ("user", {"name": "x", "user": "y"}, "'name' and 'user' are the same argument"),
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


# --- the password hash is a secret ------------------------------------------------


def test_the_hash_reaches_chpasswd_through_the_upload_only(host: FakeHost) -> None:
    host.on(*passwd("student", "passwd-student")).on(*shadow("student", OLD_HASH))
    host.on("getent", "*", "", 2)
    got = host.root / "chpasswd-stdin"
    host.on("chpasswd", "*")
    module = UserModule.from_dict({"name": "student", "password": HASH})
    change = module.plan(module.parse(host.run(module.probe()).stdout, 0))
    assert isinstance(change, Change)
    (op,) = module.commands(change)
    assert op.upload == f"student:{HASH}\n".encode()
    # What chpasswd reads is the uploaded line.
    script = op.script.replace("chpasswd -e", f"cat > '{got}'")
    assert run_op(type(op)(script, op.upload), host.run, host.root).rc == 0
    assert got.read_text() == f"student:{HASH}\n"


@pytest.mark.parametrize(
    ("args", "replies"),
    [
        ({"name": "deploy", "password": HASH}, (passwd("deploy", None),)),
        (
            {"name": "student", "password": HASH, "groups": "wheel"},
            (passwd("student", "passwd-student"), ids("student", "student-wheel"), WHEEL),
        ),
    ],
    ids=["new user", "existing user"],
)
def test_the_hash_appears_nowhere_but_the_upload(
    host: FakeHost, args: dict[str, Any], replies: tuple[Reply, ...]
) -> None:
    """Not in the probes, the summary, the diff, the scripts, the registered fields, the
    arguments' repr, nor in what the probe brings back from the host."""
    for reply in (*replies, shadow("student", HASH + "x")):
        host.on(*reply)
    host.on("getent", "*", "", 2).on("id", "*", "", 1)
    module = UserModule.from_dict(args)
    out = host.run(module.probe())
    state = module.parse(out.stdout, out.rc)
    change = module.plan(state)
    assert isinstance(change, Change)
    assert change.summary[-1] in ("password: set", "password: changed")
    ops = module.commands(change)
    shown = [
        module.probe(),
        out.stdout,
        repr(state),
        repr(change),
        str(change.diff),
        *(op.script for op in ops),
        repr(module.fields(state)),
        repr(module.args),
        str(module.args),
    ]
    salt = HASH.split("$")[2]
    for text in shown:
        assert HASH not in text and salt not in text
    assert [op.upload for op in ops if op.upload] == [f"{args['name']}:{HASH}\n".encode()]


def test_an_invalid_hash_is_not_quoted_in_the_error() -> None:
    bad = "$6$salt$" + "x" * 20 + "\n"
    with pytest.raises(ModuleArgsError) as err:
        UserModule.from_dict({"name": "x", "password": bad})
    assert "x" * 20 not in str(err.value)


def test_reading_the_hash_needs_root() -> None:
    module = UserModule.from_dict({"name": "student", "password": HASH})
    answers = {
        PasswdEntry("student"): (rec("getent/passwd-student.txt"), 0),
        GroupEntry("student"): ("student:x:1000:\n", 0),
        ShadowDigest("student"): ("unreadable=yes\n", 0),
    }
    with pytest.raises(ProbeError, match="password hash in /etc/shadow.*become: true"):
        module.plan(state_of(module, answers))


def test_shadow_probe_for_real_on_this_host(host: FakeHost) -> None:
    """The real getent and test: root reads /etc/shadow; root's hash comes back hashed."""
    r = host.run(ShadowDigest("root").command())
    shadow_state = ShadowDigest("root").parse(r.stdout, r.rc)
    readable = os.access("/etc/shadow", os.R_OK)
    assert shadow_state.found is (True if readable else None)
    if readable:
        assert len(shadow_state.digest) == 64 and "$" not in r.stdout


@pytest.mark.parametrize("value", ["!", "!!", "*", "!" + HASH, "abcdefghijklm", "$y$j9T$a$b"])
def test_crypted_and_locked_forms(value: str) -> None:
    assert UserModule.from_dict({"name": "x", "password": value}).args.password == value


def test_on_create_never_reads_the_shadow_file() -> None:
    module = UserModule.from_dict({"name": "x", "password": HASH, "update_password": "on_create"})
    assert ShadowDigest("x") not in module.probes()
    assert ShadowDigest("x") in UserModule.from_dict({"name": "x", "password": HASH}).probes()
