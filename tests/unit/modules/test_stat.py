"""stat: run for real in a temp dir; what `register` gets, and that it never changes a thing."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError
from provisioner.modules.base import CONVERGED
from provisioner.modules.stat import StatModule
from tests.unit.modules.host import observe

BODY = b"hello\n"


def a_file(t: Path) -> None:
    (t / "x").write_bytes(BODY)
    (t / "x").chmod(0o640)


def a_dir(t: Path) -> None:
    (t / "x").mkdir()
    (t / "x").chmod(0o750)


def a_link(t: Path) -> None:
    a_file(t)
    (t / "alias").symlink_to("x")


def a_dangling_link(t: Path) -> None:
    (t / "alias").symlink_to("gone")


@dataclass(frozen=True)
class Case:
    id: str
    setup: Callable[[Path], None]
    args: dict[str, Any]  # "path" relative to the temp dir
    stat: dict[str, Any]  # keys that must be there, with these values


CASES = [
    Case("nothing there", lambda t: None, {"path": "x"}, {"exists": False}),
    Case(
        "a file, sha1 by default",
        a_file,
        {"path": "x"},
        {
            "exists": True,
            "isreg": True,
            "isdir": False,
            "islnk": False,
            "mode": "0640",
            "size": len(BODY),
            "checksum": hashlib.sha1(BODY).hexdigest(),
        },
    ),
    Case(
        "another checksum",
        a_file,
        {"path": "x", "checksum_algorithm": "sha256"},
        {"checksum": hashlib.sha256(BODY).hexdigest()},
    ),
    Case("no checksum asked", a_file, {"path": "x", "get_checksum": False}, {"isreg": True}),
    Case(
        "a directory has no checksum",
        a_dir,
        {"path": "x"},
        {"exists": True, "isdir": True, "isreg": False, "mode": "0750"},
    ),
    Case(
        "a link itself, as Ansible's default",
        a_link,
        {"path": "alias"},
        {"exists": True, "islnk": True, "isreg": False, "lnk_target": "x"},
    ),
    Case(
        "a link followed",
        a_link,
        {"path": "alias", "follow": True},
        {"islnk": False, "isreg": True, "checksum": hashlib.sha1(BODY).hexdigest()},
    ),
    Case("a dangling link exists", a_dangling_link, {"path": "alias"}, {"exists": True}),
    Case(
        "a dangling link followed does not", a_dangling_link, {"path": "alias", "follow": True},
        {"exists": False},
    ),
    Case("dest: is path", a_file, {"dest": "x"}, {"exists": True, "isreg": True}),
    Case(
        "name: and checksum: (Ansible's other spellings)",
        a_file,
        {"name": "x", "checksum": "sha256"},
        {"checksum": hashlib.sha256(BODY).hexdigest()},
    ),
    Case(
        "checksum_algo: too, get_checksum as YAML's 'yes'",
        a_file,
        {"path": "x", "checksum_algo": "md5", "get_checksum": "yes"},
        {"checksum": hashlib.md5(BODY).hexdigest()},
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_what_register_gets(tmp_path: Path, case: Case) -> None:
    case.setup(tmp_path)
    key = next(k for k in ("path", "dest", "name") if k in case.args)
    path = str(tmp_path / case.args[key])
    module = StatModule.from_dict({**case.args, key: path})
    before = sorted(os.listdir(tmp_path))
    state = observe(module)
    assert module.plan(state) is CONVERGED  # it only looks
    stat = module.fields(state)["stat"]
    assert {k: stat.get(k) for k in case.stat} == case.stat
    if stat["exists"]:
        assert stat["path"] == path and stat["uid"] == os.getuid()
    if not stat.get("isreg"):
        assert "checksum" not in stat
    assert sorted(os.listdir(tmp_path)) == before


def test_checksum_absent_when_not_asked(tmp_path: Path) -> None:
    a_file(tmp_path)
    module = StatModule.from_dict({"path": str(tmp_path / "x"), "get_checksum": False})
    assert "checksum" not in module.fields(observe(module))["stat"]
    assert len(module.probes()) == 1  # and nothing is hashed


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"path": "x"}, "absolute"),
        ({"path": "/x", "checksum_algorithm": "crc32"}, "checksum_algorithm"),
        ({"path": "/x", "get_mime": True}, "unknown argument 'get_mime'"),
        ({"path": "/x", "name": "/y"}, "'path' and 'name' are the same argument"),
        (
            {"path": "/x", "checksum": "md5", "checksum_algo": "md5"},
            "'checksum' and 'checksum_algo' are the same argument",
        ),
    ],
)
def test_bad_args(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        StatModule.from_dict(raw)


def test_a_play_branches_on_what_stat_registered(tmp_path: Path) -> None:
    from provisioner.connect import Connector
    from provisioner.inventory import localhost_inventory
    from provisioner.playbook.load import load_playbook
    from provisioner.runner import Runner, RunOptions

    a_file(tmp_path)
    book = tmp_path / "p.yml"
    book.write_text(
        "- hosts: localhost\n  tasks:\n"
        f"    - stat: {{path: {tmp_path / 'x'}}}\n      register: st\n"
        "    - assert: {that: [st.stat.exists, st.stat.isreg, \"st.stat.mode == '0640'\"]}\n"
        f"    - stat: {{path: {tmp_path / 'nope'}}}\n      register: gone\n"
        "    - debug: {msg: absent}\n      when: not gone.stat.exists\n"
    )
    for check in (False, True):  # a dry run probes the same
        summary = Runner(
            load_playbook(book), localhost_inventory(), Connector(), RunOptions(check=check)
        ).run()
        assert [(r.status.value, r.msg) for r in summary.results][1:] == [
            ("ok", "all assertions passed"),
            ("ok", ""),
            ("ok", "absent"),
        ]
