"""lineinfile: Ansible's edit rules as a table, then real runs in a temp dir."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError
from provisioner.modules.base import CONVERGED, Blocked, Change
from provisioner.modules.lineinfile import LineinfileArgs, LineinfileModule, edit
from tests.unit.modules.host import converge, observe

SELINUX = "SELINUX=enforcing\nSELINUXTYPE=targeted\n"
UNIT = (
    "[Unit]\nDescription=x\n[Service]\nExecStart=/usr/bin/x\n"
    "[Install]\nWantedBy=multi-user.target\n"
)


@pytest.mark.parametrize(
    ("text", "args", "new", "what"),
    [
        (
            SELINUX,
            {"regexp": "^SELINUX=", "line": "SELINUX=permissive"},
            "SELINUX=permissive\nSELINUXTYPE=targeted\n",
            "line replaced",
        ),
        (SELINUX, {"regexp": "^SELINUX=", "line": "SELINUX=enforcing"}, SELINUX, ""),
        ("a=1\nb=2\na=3\n", {"regexp": "^a=", "line": "a=9"}, "a=1\nb=2\na=9\n", "line replaced"),
        ("x\ny\n", {"regexp": "^z", "line": "y"}, "x\ny\n", ""),
        ("x\ny\n", {"regexp": "^z", "line": "z=1"}, "x\ny\nz=1\n", "line added"),
        ("x\ny", {"line": "z"}, "x\ny\nz\n", "line added"),
        ("", {"line": "z"}, "z\n", "line added"),
        ("x\nz\ny\n", {"line": "z"}, "x\nz\ny\n", ""),
        (
            UNIT,
            {"line": "Environment=A=1", "insertafter": r"^\[Service\]"},
            UNIT.replace("[Service]\n", "[Service]\nEnvironment=A=1\n"),
            "line added",
        ),
        ("x\n", {"line": "y", "insertafter": "^nomatch"}, "x\ny\n", "line added"),
        ("a=1\r\nb=2\r\n", {"regexp": "^a=", "line": "a=2"}, "a=2\r\nb=2\r\n", "line replaced"),
        ("a\n#b\nc\n#d\n", {"regexp": "^#", "state": "absent"}, "a\nc\n", "2 lines removed"),
        ("a\nb\na\n", {"line": "a", "state": "absent"}, "b\n", "2 lines removed"),
        ("a\nb\n", {"line": "b", "state": "absent"}, "a\n", "1 line removed"),
        ("a\nb\n", {"line": "c", "state": "absent"}, "a\nb\n", ""),
        # Ansible's other spellings: regex for regexp, value for line.
        (
            SELINUX,
            {"regex": "^SELINUX=", "value": "SELINUX=disabled"},
            "SELINUX=disabled\nSELINUXTYPE=targeted\n",
            "line replaced",
        ),
    ],
)
def test_edit_rules(text: str, args: dict[str, Any], new: str, what: str) -> None:
    assert edit(text, LineinfileArgs.model_validate({"path": "/f", **args})) == (new, what)


def test_replace_for_real_keeps_mode(tmp_path: Path) -> None:
    f = tmp_path / "sshd_config"
    f.write_text("Port 22\n#PermitRootLogin yes\nUsePAM yes\n")
    f.chmod(0o600)
    module = LineinfileModule.from_dict(
        {"path": str(f), "regexp": "^#?PermitRootLogin", "line": "PermitRootLogin no"}
    )
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change) and first.summary == (f"~ {f} (line replaced)",)
    assert first.diff == (
        f"--- a{f}\n+++ b{f}\n@@ -1,3 +1,3 @@\n"
        " Port 22\n-#PermitRootLogin yes\n+PermitRootLogin no\n UsePAM yes\n"
    )
    assert again is CONVERGED
    assert f.read_text() == "Port 22\nPermitRootLogin no\nUsePAM yes\n"
    assert stat.S_IMODE(f.stat().st_mode) == 0o600


def test_mode_change_alone(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("a\n")
    f.chmod(0o644)
    first, again = converge(
        LineinfileModule.from_dict({"path": str(f), "line": "a", "mode": "0600"}), tmp_path
    )
    assert isinstance(first, Change) and first.summary == ("mode: 0644 → 0600",)
    assert again is CONVERGED


def test_create(tmp_path: Path) -> None:
    f = tmp_path / "limits.conf"
    module = LineinfileModule.from_dict(
        {"path": str(f), "line": "* soft nofile 65536", "create": True}
    )
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change) and first.summary == (f"+ {f}",)
    assert again is CONVERGED and f.read_text() == "* soft nofile 65536\n"


def test_absent_removes_for_real(tmp_path: Path) -> None:
    f = tmp_path / "hosts"
    f.write_text("127.0.0.1 localhost\n10.0.0.5 old\n")
    module = LineinfileModule.from_dict({"path": str(f), "regexp": r"\sold$", "state": "absent"})
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change) and first.summary == (f"~ {f} (1 line removed)",)
    assert again is CONVERGED and f.read_text() == "127.0.0.1 localhost\n"


def test_missing_file(tmp_path: Path) -> None:
    module = LineinfileModule.from_dict({"path": str(tmp_path / "f"), "line": "x"})
    blocked = module.plan(observe(module))
    assert isinstance(blocked, Blocked) and re.search(f"file {tmp_path}/f", blocked.message)
    absent = LineinfileModule.from_dict(
        {"path": str(tmp_path / "f"), "line": "x", "state": "absent"}
    )
    assert absent.plan(observe(absent)) is CONVERGED


def test_bytes_that_are_not_utf8_survive(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"caf\xe9\n")
    converge(LineinfileModule.from_dict({"path": str(f), "line": "x"}), tmp_path)
    assert f.read_bytes() == b"caf\xe9\nx\n"


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"path": "/f"}, "needs 'line'"),
        ({"path": "/f", "state": "absent"}, "needs 'line' or 'regexp'"),
        ({"path": "/f", "line": "a\nb"}, "single line"),
        ({"path": "/f", "line": "a", "regexp": "("}, "invalid regular expression"),
        ({"path": "/f", "line": "a", "insertafter": "["}, "invalid regular expression"),
        ({"path": "/f", "line": "a", "backrefs": True}, "unknown argument 'backrefs'"),
        ({"path": "/f", "dest": "/g", "line": "a"}, "'path' and 'dest' are the same argument"),
        ({"path": "/f", "line": "a", "value": "b"}, "'line' and 'value' are the same argument"),
        ({"line": "a"}, "missing required argument 'path'"),
    ],
)
def test_bad_args(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        LineinfileModule.from_dict(raw)


@pytest.mark.parametrize("key", ["dest", "destfile", "name"])
def test_path_by_its_other_names(tmp_path: Path, key: str) -> None:
    f = tmp_path / "f"
    f.write_text("a\n")
    first, again = converge(LineinfileModule.from_dict({key: str(f), "line": "b"}), tmp_path)
    assert isinstance(first, Change) and first.summary == (f"~ {f} (line added)",)
    assert again is CONVERGED and f.read_text() == "a\nb\n"
