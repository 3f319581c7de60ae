"""copy and template: run for real in a temp dir, diffs, attributes, refusals."""

from __future__ import annotations

import grp
import os
import pwd
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules._files import DIFF_LIMIT
from provisioner.modules.base import CONVERGED, Blocked, Change, ModuleContext
from provisioner.modules.copy import CopyModule
from provisioner.modules.template import TemplateModule
from tests.unit.modules.host import FakeHost, converge, observe

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_new_file(tmp_path: Path) -> None:
    dest = tmp_path / "motd"
    module = CopyModule.from_dict({"dest": str(dest), "content": "hello\nworld\n", "mode": "0600"})
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change) and first.summary == (f"+ {dest}",)
    assert first.diff == (f"--- /dev/null\n+++ b{dest}\n@@ -0,0 +1,2 @@\n+hello\n+world\n")
    assert again is CONVERGED
    assert dest.read_text() == "hello\nworld\n" and _mode(dest) == 0o600
    assert sorted(p.name for p in dest.parent.iterdir()) == ["motd", "provision-src"]


def test_new_file_default_mode(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    converge(CopyModule.from_dict({"dest": str(dest), "content": "x"}), tmp_path)
    assert _mode(dest) == 0o644


def test_changed_content_keeps_mode_and_shows_diff(tmp_path: Path) -> None:
    dest = tmp_path / "sshd_config"
    dest.write_text("Port 22\nPermitRootLogin yes\n")
    dest.chmod(0o600)
    module = CopyModule.from_dict({"dest": str(dest), "content": "Port 22\nPermitRootLogin no\n"})
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change) and first.summary == (f"~ {dest}",)
    assert first.diff == (
        f"--- a{dest}\n+++ b{dest}\n@@ -1,2 +1,2 @@\n"
        " Port 22\n-PermitRootLogin yes\n+PermitRootLogin no\n"
    )
    assert again is CONVERGED
    assert _mode(dest) == 0o600
    assert dest.read_text() == "Port 22\nPermitRootLogin no\n"


def test_missing_final_newline_is_marked(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    dest.write_text("a\nb")
    change = (m := CopyModule.from_dict({"dest": str(dest), "content": "a\nb\n"})).plan(observe(m))
    assert isinstance(change, Change) and change.diff is not None
    assert "-b\n\\ No newline at end of file\n+b\n" in change.diff


def test_binary_and_large_files_have_no_diff(tmp_path: Path) -> None:
    dest = tmp_path / "blob"
    dest.write_bytes(b"\x00\x01\x02")
    with pytest.raises(ModuleArgsError, match="copy: src file .*src.bin not found"):
        CopyModule.from_dict({"dest": str(dest), "src": str(tmp_path / "src.bin")})
    (tmp_path / "src.bin").write_bytes(b"\xff\xfe")
    module = CopyModule.from_dict({"dest": str(dest), "src": str(tmp_path / "src.bin")})
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change) and first.summary == (f"~ {dest} (binary content differs)",)
    assert first.diff is None and again is CONVERGED
    big = tmp_path / "big"
    big.write_text("x\n" * DIFF_LIMIT)
    module = CopyModule.from_dict({"dest": str(big), "content": "y\n"})
    change = module.plan(observe(module))
    assert isinstance(change, Change) and change.summary == (f"~ {big} (content differs)",)


@needs_root
def test_attributes_only(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    dest.write_text("same\n")
    dest.chmod(0o644)
    # The overflow ids' names differ by distribution (group nogroup on Debian, nobody on EL).
    nobody, nogroup = pwd.getpwuid(65534).pw_name, grp.getgrgid(65534).gr_name
    module = CopyModule.from_dict(
        {"dest": str(dest), "content": "same\n", "mode": "0640", "owner": nobody, "group": nogroup}
    )
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change)
    assert first.summary == (
        "mode: 0644 → 0640",
        f"owner: root → {nobody}",
        f"group: root → {nogroup}",
    )
    assert first.diff is None and again is CONVERGED
    assert dest.owner() == nobody and dest.group() == nogroup and _mode(dest) == 0o640


@needs_root
def test_replaced_file_keeps_its_owner(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    dest.write_text("old\n")
    os.chown(dest, 65534, 65534)
    first, again = converge(CopyModule.from_dict({"dest": str(dest), "content": "new\n"}), tmp_path)
    assert isinstance(first, Change) and again is CONVERGED
    assert (dest.stat().st_uid, dest.stat().st_gid) == (65534, 65534)


def test_backup(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    dest = tmp_path / "etc" / "hosts"
    dest.write_text("127.0.0.1 localhost\n")
    converge(
        CopyModule.from_dict({"dest": str(dest), "content": "::1 localhost\n", "backup": True}),
        tmp_path,
    )
    backups = [p for p in dest.parent.iterdir() if p.name != "hosts"]
    assert (
        len(backups) == 1 and backups[0].name.startswith("hosts.") and backups[0].name.endswith("~")
    )
    assert backups[0].read_text() == "127.0.0.1 localhost\n"


def test_writes_through_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "selinux").mkdir()
    real = tmp_path / "selinux" / "config"
    real.write_text("SELINUX=enforcing\n")
    link = tmp_path / "sysconfig-selinux"
    link.symlink_to("selinux/config")
    first, again = converge(
        CopyModule.from_dict({"dest": str(link), "content": "SELINUX=permissive\n"}), tmp_path
    )
    assert isinstance(first, Change) and first.summary == (f"~ {link}",) and again is CONVERGED
    assert link.is_symlink() and real.read_text() == "SELINUX=permissive\n"


@pytest.mark.parametrize(
    ("setup", "match"),
    [
        ("dir", "is a directory"),
        ("fifo", "not a regular file"),
    ],
)
def test_refusals(tmp_path: Path, setup: str, match: str) -> None:
    dest = tmp_path / "d"
    if setup == "dir":
        dest.mkdir()
    else:
        os.mkfifo(dest)
    module = CopyModule.from_dict({"dest": str(dest), "content": "x"})
    with pytest.raises(ProbeError, match=match):
        module.plan(observe(module))


def test_missing_directory_is_a_dependency(tmp_path: Path) -> None:
    # Not an error: an earlier task may make the directory.
    module = CopyModule.from_dict({"dest": str(tmp_path / "missing" / "f"), "content": "x"})
    blocked = module.plan(observe(module))
    assert isinstance(blocked, Blocked)
    assert re.search(f"directory {tmp_path}/missing", blocked.message)


def test_unknown_owner_is_a_dependency(tmp_path: Path, host: FakeHost) -> None:
    # The host says there is no user student, whatever accounts this machine has.
    host.on("getent", '"passwd -- student"', "", 2)
    module = CopyModule.from_dict({"dest": str(tmp_path / "f"), "content": "x", "owner": "student"})
    blocked = module.plan(observe(module, lambda s, e=None: host.run(s, e)))
    assert isinstance(blocked, Blocked)
    assert blocked.what == "user student"
    assert host.calls("getent") == [["getent", "passwd", "--", "student"]]


def test_src_relative_to_playbook_dir(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "daemon.json").write_text('{"log-driver": "journald"}\n')
    ctx = ModuleContext(base_dir=tmp_path)
    dest = tmp_path / "daemon.json"
    module = CopyModule.from_dict({"dest": str(dest), "src": "files/daemon.json"}, ctx)
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change) and again is CONVERGED
    assert dest.read_text() == '{"log-driver": "journald"}\n'


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"dest": "/x"}, "exactly one of 'content' or 'src'"),
        ({"dest": "/x", "content": "a", "src": "b"}, "exactly one"),
        ({"dest": "x", "content": "a"}, "absolute"),
        ({"dest": "/x", "content": "a", "force": True}, "unknown argument 'force'"),
    ],
)
def test_bad_args(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        CopyModule.from_dict(raw)


# --- template: the same module, content rendered on the controller -------------


def test_template_renders_then_copies(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "motd.j2").write_text("Welcome to {{ name }}\n")
    calls: list[tuple[str, str]] = []

    def render_file(text: str, name: str) -> str:
        calls.append((text, name))
        return text.replace("{{ name }}", "web1")

    ctx = ModuleContext(base_dir=tmp_path, render_file=render_file)
    dest = tmp_path / "motd"
    module = TemplateModule.from_dict(
        {"src": "templates/motd.j2", "dest": str(dest), "mode": "0644"}, ctx
    )
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change) and first.summary == (f"+ {dest}",)
    assert first.diff is not None and "+Welcome to web1\n" in first.diff
    assert again is CONVERGED and dest.read_text() == "Welcome to web1\n"
    # rendered once, under its own name, and reused by the re-probe
    assert calls == [("Welcome to {{ name }}\n", "templates/motd.j2")]


def test_template_missing_src_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ModuleArgsError, match=f"template: src file {tmp_path}/nope.j2 not found"):
        TemplateModule.from_dict(
            {"src": "nope.j2", "dest": "/etc/x"}, ModuleContext(base_dir=tmp_path)
        )


def test_template_needs_utf8(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_bytes(b"\xff\xfe")
    with pytest.raises(ModuleArgsError, match="not UTF-8"):
        TemplateModule.from_dict(
            {"src": "t.j2", "dest": "/etc/x"}, ModuleContext(base_dir=tmp_path)
        )


def test_template_has_no_content_arg() -> None:
    with pytest.raises(ModuleArgsError, match="unknown argument 'content'"):
        TemplateModule.from_dict({"src": "a", "dest": "/x", "content": "y"})
