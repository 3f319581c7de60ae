"""file: run for real in a temp dir: probe → plan → commands → probe → converged."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules.base import CONVERGED, Blocked, Change
from provisioner.modules.file import FileModule
from tests.unit.modules.host import converge, observe

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
ROOT_ONLY = {"file mode and owner", "numeric group"}


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def nothing(t: Path) -> None:
    pass


def a_file(t: Path) -> None:
    (t / "x").write_text("hello\n")
    (t / "x").chmod(0o644)


def a_dir(t: Path) -> None:
    (t / "x").mkdir()
    (t / "x").chmod(0o755)
    (t / "x" / "inner").write_text("data")


def a_link(t: Path) -> None:
    (t / "old").mkdir()
    (t / "x").symlink_to("old")


def a_dangling_link(t: Path) -> None:
    (t / "x").symlink_to("gone")


def link_to_file(t: Path) -> None:
    a_file(t)
    (t / "alias").symlink_to("x")


@dataclass(frozen=True)
class Case:
    id: str
    setup: Callable[[Path], None]
    args: dict[str, Any]  # "path" relative to the temp dir
    summary: tuple[str, ...]  # "{p}" stands for the absolute path
    check: Callable[[Path], bool]


CASES = [
    Case(
        "mkdir with mode",
        nothing,
        {"state": "directory", "mode": "0750"},
        ("+ {p}/",),
        lambda t: (t / "x").is_dir() and _mode(t / "x") == 0o750,
    ),
    Case(
        "mkdir with parents",
        nothing,
        {"path": "a/b/x", "state": "directory"},
        ("+ {p}/",),
        lambda t: (t / "a/b/x").is_dir(),
    ),
    Case(
        "directory mode",
        a_dir,
        {"state": "directory", "mode": "0700"},
        ("mode: 0755 → 0700",),
        lambda t: _mode(t / "x") == 0o700 and (t / "x/inner").exists(),
    ),
    Case(
        "touch creates",
        nothing,
        {"state": "touch", "mode": 0o600},
        ("+ {p}",),
        lambda t: (t / "x").read_bytes() == b"" and _mode(t / "x") == 0o600,
    ),
    Case(
        "file mode and owner",
        a_file,
        {"mode": "600", "owner": "nobody"},
        ("mode: 0644 → 0600", "owner: root → nobody"),
        lambda t: _mode(t / "x") == 0o600 and (t / "x").owner() == "nobody",
    ),
    Case(
        "file mode through a symlink changes the target",
        link_to_file,
        {"path": "alias", "mode": "0640"},
        ("mode: 0644 → 0640",),
        lambda t: _mode(t / "x") == 0o640 and (t / "alias").is_symlink(),
    ),
    Case(
        "numeric group",
        a_file,
        {"group": "65534"},
        ("group: root → 65534",),
        lambda t: (t / "x").stat().st_gid == 65534,
    ),
    Case(
        "new link",
        nothing,
        {"state": "link", "src": "/etc/hostname"},
        ("+ {p} -> /etc/hostname",),
        lambda t: os.readlink(t / "x") == "/etc/hostname",
    ),
    Case(
        "retarget a link to a directory (not into it)",
        a_link,
        {"state": "link", "src": "new"},
        ("link: {p} -> old → new",),
        lambda t: os.readlink(t / "x") == "new" and not (t / "old" / "new").exists(),
    ),
    Case(
        "remove a directory tree",
        a_dir,
        {"state": "absent"},
        ("- {p}",),
        lambda t: not (t / "x").exists(),
    ),
    Case(
        "remove a dangling link",
        a_dangling_link,
        {"state": "absent"},
        ("- {p}",),
        lambda t: not (t / "x").is_symlink(),
    ),
]


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.id, marks=[needs_root] if c.id in ROOT_ONLY else []) for c in CASES],
)
def test_converges_for_real(tmp_path: Path, case: Case) -> None:
    t = tmp_path / "t"
    t.mkdir()
    case.setup(t)
    path = str(t / case.args.get("path", "x"))
    module = FileModule.from_dict({**case.args, "path": path})
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change)
    assert first.summary == tuple(s.format(p=path) for s in case.summary)
    assert again is CONVERGED
    assert case.check(t)


@pytest.mark.parametrize(
    ("setup", "args"),
    [
        (a_file, {}),
        pytest.param(a_file, {"mode": "0644", "owner": "root", "group": "0"}, marks=needs_root),
        (a_file, {"state": "touch"}),  # no mtime bump: stays ok
        (a_dir, {"state": "directory", "mode": 0o755}),
        (a_dir, {"state": "touch"}),
        (nothing, {"state": "absent"}),
        (a_link, {"state": "link", "src": "old"}),
    ],
)
def test_already_converged(
    tmp_path: Path, setup: Callable[[Path], None], args: dict[str, Any]
) -> None:
    setup(tmp_path)
    module = FileModule.from_dict({**args, "path": str(tmp_path / "x")})
    assert module.plan(observe(module)) is CONVERGED


@pytest.mark.parametrize(
    ("setup", "args", "match"),
    [
        (nothing, {}, "file {t}/x not found"),
        (nothing, {"path": "no/dir/x", "state": "touch"}, "directory {t}/no/dir"),
        (nothing, {"path": "no/dir/x", "state": "link", "src": "y"}, "directory"),
        (a_file, {"owner": "no-such-user"}, "user no-such-user"),
        (a_file, {"group": "no-such-group"}, "group no-such-group"),
    ],
)
def test_missing_dependencies(
    tmp_path: Path, setup: Callable[[Path], None], args: dict[str, Any], match: str
) -> None:
    """What an earlier task may bring blocks the task instead of failing it."""
    setup(tmp_path)
    module = FileModule.from_dict({**args, "path": str(tmp_path / args.get("path", "x"))})
    blocked = module.plan(observe(module))
    assert isinstance(blocked, Blocked) and re.search(match.format(t=tmp_path), blocked.message)


@pytest.mark.parametrize(
    ("setup", "args", "match"),
    [
        (a_dir, {}, "is a directory, not a file"),
        (a_file, {"state": "directory"}, "is a regular file, not a directory"),
        (a_file, {"state": "link", "src": "y"}, "not a link"),
    ],
)
def test_refusals(
    tmp_path: Path, setup: Callable[[Path], None], args: dict[str, Any], match: str
) -> None:
    setup(tmp_path)
    module = FileModule.from_dict({**args, "path": str(tmp_path / args.get("path", "x"))})
    with pytest.raises(ProbeError, match=match.format(t=tmp_path)):
        module.plan(observe(module))


def test_missing_file_names_the_dependency(tmp_path: Path) -> None:
    module = FileModule.from_dict({"path": str(tmp_path / "x"), "mode": "0600"})
    blocked = module.plan(observe(module))
    assert isinstance(blocked, Blocked)
    assert blocked.what == f"file {tmp_path}/x"


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"path": "relative"}, "absolute"),
        ({"path": "/"}, "must not be '/'"),
        ({"path": "/x", "state": "link"}, "needs 'src'"),
        ({"path": "/x", "state": "link", "src": "/y", "mode": "0644"}, "no effect on a link"),
        ({"path": "/x", "src": "y"}, "only for state 'link'"),
        ({"path": "/x", "mode": "u+x"}, "symbolic modes are not supported"),
        ({"path": "/x", "mode": "0888"}, "octal"),
        ({"path": "/x", "mode": 0o17777}, "out of range"),
        ({"path": "/x", "mode": True}, "octal"),
        ({"path": "/x", "owner": "a:b"}, "must not contain"),
        ({"path": "/x", "recurse": True}, "unknown argument 'recurse'"),
    ],
)
def test_bad_args(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        FileModule.from_dict(raw)


@pytest.mark.parametrize(
    ("given", "mode"),
    [
        ("0644", "0644"),
        ("644", "0644"),
        (0o644, "0644"),
        (420, "0644"),
        ("0o755", "0755"),
        ("4755", "4755"),
    ],
)
def test_mode_forms(given: object, mode: str) -> None:
    module = FileModule.from_dict({"path": "/x", "mode": given})
    assert isinstance(module, FileModule) and module.args.mode == mode
