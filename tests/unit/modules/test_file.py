"""file: run for real in a temp dir: probe → plan → commands → probe → converged."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules._files import symbolic_mode
from provisioner.modules.base import CONVERGED, Blocked, Change
from provisioner.modules.file import FileModule
from provisioner.probes.files import TreeAttrs
from tests.unit.modules.host import converge, observe, sh

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
ROOT_ONLY = {"file mode and owner", "numeric group", "recurse owner, links themselves too"}


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


def a_setgid_dir(t: Path) -> None:
    (t / "x").mkdir()
    (t / "x").chmod(0o2755)


def a_tree(t: Path) -> None:
    """x/ 0755 holding a 0644, b 0600, sub/ 0755 holding c 0644, and l -> a."""
    a_dir(t)
    (t / "x" / "inner").unlink()
    for name, mode in (("a", 0o644), ("b", 0o600)):
        (t / "x" / name).write_text(name)
        (t / "x" / name).chmod(mode)
    (t / "x" / "sub").mkdir()
    (t / "x" / "sub").chmod(0o755)
    (t / "x" / "sub" / "c").write_text("c")
    (t / "x" / "sub" / "c").chmod(0o644)
    (t / "x" / "l").symlink_to("a")


def _modes(t: Path) -> dict[str, int]:
    top = t / "x"
    return {
        str(p.relative_to(top)): _mode(p)
        for p in sorted([top, *top.rglob("*")])
        if not p.is_symlink()
    }


@dataclass(frozen=True)
class Case:
    id: str
    setup: Callable[[Path], None]
    args: dict[str, Any]  # "path" (or "dest", "name") relative to the temp dir
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
    Case(
        "dest: is path (YAML's 0600 is the number 384)",
        a_file,
        {"dest": "x", "mode": 0o600},
        ("mode: 0644 → 0600",),
        lambda t: _mode(t / "x") == 0o600,
    ),
    Case(
        "name: is path, and no state keeps a directory a directory",
        a_dir,
        {"name": "x", "mode": "0700"},
        ("mode: 0755 → 0700",),
        lambda t: (t / "x").is_dir() and _mode(t / "x") == 0o700,
    ),
    Case(
        "symbolic u+x,g-r",
        a_file,
        {"mode": "u+x,g-r"},
        ("mode: 0644 → 0704",),
        lambda t: _mode(t / "x") == 0o704,
    ),
    Case(
        "symbolic a-w",
        a_file,
        {"mode": "a-w"},
        ("mode: 0644 → 0444",),
        lambda t: _mode(t / "x") == 0o444,
    ),
    Case(
        "symbolic = with X on a directory",
        a_dir,
        {"state": "directory", "mode": "u=rwX,g=rX,o="},
        ("mode: 0755 → 0750",),
        lambda t: _mode(t / "x") == 0o750,
    ),
    Case(
        "symbolic u=rw,g=r,o=r on a file",
        a_file,
        {"mode": "u=rw,g=r,o=r"},
        (),
        lambda t: _mode(t / "x") == 0o644,
    ),
    Case(
        "a new directory with a symbolic mode",
        nothing,
        {"state": "directory", "mode": "u=rwx,go="},
        ("+ {p}/",),
        lambda t: _mode(t / "x") == 0o700,
    ),
    Case(
        "touch with +x: from what umask 022 gives a new file",
        nothing,
        {"state": "touch", "mode": "+x"},
        ("+ {p}",),
        lambda t: _mode(t / "x") == 0o755,
    ),
    Case(
        "0755 on a setgid directory clears setgid (GNU chmod keeps it for 4 digits)",
        a_setgid_dir,
        {"state": "directory", "mode": "0755"},
        ("mode: 2755 → 0755",),
        lambda t: _mode(t / "x") == 0o755,
    ),
    Case(
        "recurse a symbolic mode: each path from its own mode",
        a_tree,
        {"state": "directory", "recurse": True, "mode": "u=rwX,g=rX,o="},
        ("mode: 0755 → 0750", "recurse: 4 paths under {p} (mode)"),
        lambda t: _modes(t) == {".": 0o750, "a": 0o640, "b": 0o640, "sub": 0o750, "sub/c": 0o640},
    ),
    Case(
        "recurse an octal mode, no state: a directory",
        a_tree,
        {"recurse": "yes", "mode": "0700"},
        ("mode: 0755 → 0700", "recurse: 4 paths under {p} (mode)"),
        lambda t: set(_modes(t).values()) == {0o700},
    ),
    Case(
        "recurse makes a missing directory, nothing under it yet",
        nothing,
        {"recurse": True, "mode": "0750"},
        ("+ {p}/",),
        lambda t: _mode(t / "x") == 0o750,
    ),
    Case(
        "recurse owner, links themselves too",
        a_tree,
        {"state": "directory", "recurse": True, "owner": "nobody", "group": 65534},
        (
            "owner: root → nobody",
            "group: root → 65534",
            "recurse: 5 paths under {p} (owner, group)",
        ),
        lambda t: all(
            p.lstat().st_uid == 65534 and p.lstat().st_gid == 65534
            for p in [t / "x", *(t / "x").rglob("*")]
        ),
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
    key = next((k for k in ("dest", "name") if k in case.args), "path")
    path = str(t / case.args.get(key, "x"))
    module = FileModule.from_dict({**case.args, key: path})
    first, again = converge(module, tmp_path)
    if not case.summary:  # the mode asked for is the mode it has
        assert first is CONVERGED and case.check(t)
        return
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
        (a_dir, {"mode": "u=rwx,go=rx"}),
        (a_tree, {"recurse": True, "mode": "go-w", "owner": "root"}),
        (a_tree, {"recurse": True}),
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
        (a_dir, {"state": "file"}, "is a directory, not a file"),
        (a_file, {"recurse": True}, "is a regular file, not a directory"),
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
        ({"path": "/x", "mode": "u+q"}, "neither octal"),
        ({"path": "/x", "mode": "u+x;g"}, "neither octal"),
        ({"path": "/x", "mode": "rwx"}, "octal"),
        ({"path": "/x", "mode": "0888"}, "octal"),
        ({"path": "/x", "mode": 0o17777}, "out of range"),
        ({"path": "/x", "mode": True}, "octal"),
        ({"path": "/x", "owner": "a:b"}, "must not contain"),
        ({"path": "/x", "recurse": True, "state": "file"}, "'recurse' needs state 'directory'"),
        ({"path": "/x", "dest": "/y"}, "'path' and 'dest' are the same argument"),
        ({"dest": "/x", "name": "/y"}, "'dest' and 'name' are the same argument"),
        ({"path": "/x", "recurs": True}, "unknown argument 'recurs'"),
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


@pytest.mark.parametrize(
    ("spec", "current", "is_dir", "want"),
    [
        ("u+x", 0o644, False, 0o744),
        ("a-w", 0o755, False, 0o555),
        ("u=rw,g=r,o=r", 0o777, False, 0o644),
        ("u=rwX,go=rX", 0o600, False, 0o644),
        ("u=rwX,go=rX", 0o700, False, 0o755),
        ("u=rwX,go=rX", 0o600, True, 0o755),
        ("a+X", 0o644, False, 0o644),
        ("a+X", 0o744, False, 0o755),
        ("+x", 0o644, False, 0o755),
        ("+w", 0o444, False, 0o644),  # the umask (022) keeps group and other from w
        ("=r", 0o777, False, 0o444),
        ("g=u", 0o640, False, 0o660),
        ("o=g", 0o751, False, 0o755),
        ("u+s", 0o755, False, 0o4755),
        ("g-s", 0o2755, True, 0o755),
        ("o+t", 0o777, True, 0o1777),
        ("u=", 0o4755, False, 0o055),  # = clears the class's special bit too
        ("g=rx", 0o2775, True, 0o755),  # as Ansible: so it is on a directory too
        ("go-rwx", 0o755, False, 0o700),
        ("u=rw-x+X", 0o744, False, 0o644),  # X looks at the mode as it is by then
        ("u=rw-x+X", 0o755, False, 0o755),
        ("ug=rw,o-r", 0o755, False, 0o661),
    ],
)
def test_symbolic_modes(spec: str, current: int, is_dir: bool, want: int) -> None:
    assert symbolic_mode(spec, current, is_dir) == want


@pytest.mark.parametrize("spec", ["u+x", "a-w", "u=rwX,go=rX", "g=u", "o=g", "+x", "u=rw-x+X"])
@pytest.mark.parametrize("current", [0o644, 0o600, 0o755, 0o744, 0o640, 0o1777])
@pytest.mark.parametrize("kind", ["file", "directory"])
def test_symbolic_modes_agree_with_chmod(
    tmp_path: Path, spec: str, current: int, kind: str
) -> None:
    """GNU chmod computes the same (where it does not keep a directory's setuid and
    setgid bits, which Ansible's `=` clears)."""
    path = tmp_path / "p"
    path.mkdir() if kind == "directory" else path.touch()
    path.chmod(current)
    subprocess.run(["sh", "-c", f"umask 022; chmod {spec} {path}"], check=True)
    assert symbolic_mode(spec, current, kind == "directory") == _mode(path)


def test_a_big_tree_costs_a_few_lines(tmp_path: Path) -> None:
    top = tmp_path / "x"
    top.mkdir()
    for i in range(300):
        (top / f"f{i}").write_text("")
        (top / f"f{i}").chmod(0o600 if i % 2 else 0o644)
    module = FileModule.from_dict({"path": str(top), "recurse": True, "mode": "0640"})
    r = sh(module.probe())
    assert r.rc == 0 and len(r.stdout.splitlines()) < 20  # two groups, not 300 names
    change = module.plan(module.parse(r.stdout, r.rc))
    assert isinstance(change, Change) and change.summary[-1] == (
        f"recurse: 300 paths under {top} (mode)"
    )
    (op,) = module.commands(change)
    assert op.script.count("-exec chmod 00640") == 2  # one per group that differs


def test_unreadable_tree_is_a_probe_error() -> None:
    module = FileModule.from_dict({"path": "/x", "recurse": True})
    probe = TreeAttrs("/x")
    with pytest.raises(ProbeError, match="cannot read everything under /x"):
        probe.parse("      3 f 644 0 0 root root\nrc=1\n", 0)
    assert probe in module.probes()
