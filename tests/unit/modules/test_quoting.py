"""Odd values never change what a command means.

Spaces, quotes, `;`, `$(…)`, backticks, globs and newlines in paths, names,
lines and argv words: file modules are run for real and must create exactly
the odd-named file and nothing else; for package/user/service names the stub
programs must receive each value as one argument.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.modules.base import CONVERGED, Change, Module
from provisioner.modules.command import CommandModule, GuardProbe, ShellModule
from provisioner.modules.copy import CopyModule
from provisioner.modules.file import FileModule
from provisioner.modules.lineinfile import LineinfileModule
from provisioner.modules.package import PackageModule
from provisioner.modules.service import ServiceModule
from provisioner.modules.user import UserModule
from tests.unit.modules.host import FakeHost, converge, sh, state_of, syntax_ok

NASTY = " '\"\\;$()`|&<>*?!#~{}[]=%,:@^\n\t-"
odd = st.text(alphabet=st.sampled_from(NASTY) | st.sampled_from("ab.x"), min_size=1, max_size=16)
file_names = odd.filter(lambda s: s not in (".", ".."))
SETTINGS = settings(max_examples=40, deadline=None)


@contextmanager
def workdir() -> Iterator[tuple[Path, Path]]:
    """(an empty dir the module works in, a dir for the runner's upload files)."""
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "t").mkdir()
        (root / "up").mkdir()
        yield root / "t", root / "up"


def scripts_parse(module: Module[Any, Any, Any]) -> None:
    assert syntax_ok(module.probe())


@SETTINGS
@given(name=file_names, content=st.text(max_size=50))
def test_copy_creates_exactly_that_file(name: str, content: str) -> None:
    with workdir() as (t, up):
        module = CopyModule.from_dict({"dest": str(t / name), "content": content, "mode": "0640"})
        first, again = converge(module, up)
        assert isinstance(first, Change) and again is CONVERGED
        assert os.listdir(t) == [name]
        assert (t / name).read_bytes() == content.encode()


@SETTINGS
@given(name=file_names, state=st.sampled_from(["touch", "directory"]))
def test_file_creates_exactly_that_path(name: str, state: str) -> None:
    with workdir() as (t, up):
        first, again = converge(FileModule.from_dict({"path": str(t / name), "state": state}), up)
        assert isinstance(first, Change) and again is CONVERGED
        assert os.listdir(t) == [name]
        assert (t / name).is_dir() == (state == "directory")
        first, again = converge(
            FileModule.from_dict({"path": str(t / name), "state": "absent"}), up
        )
        assert isinstance(first, Change) and again is CONVERGED and os.listdir(t) == []


@SETTINGS
@given(name=file_names, target=odd)
def test_link_to_an_odd_target(name: str, target: str) -> None:
    with workdir() as (t, up):
        first, again = converge(
            FileModule.from_dict({"path": str(t / name), "state": "link", "src": target}), up
        )
        assert isinstance(first, Change) and again is CONVERGED
        assert os.listdir(t) == [name] and os.readlink(t / name) == target


@SETTINGS
@given(name=file_names, line=odd.filter(lambda s: "\n" not in s))
def test_lineinfile_line_lands_verbatim(name: str, line: str) -> None:
    with workdir() as (t, up):
        module = LineinfileModule.from_dict({"path": str(t / name), "line": line, "create": True})
        first, again = converge(module, up)
        assert isinstance(first, Change) and again is CONVERGED
        assert os.listdir(t) == [name] and (t / name).read_text() == line + "\n"


@SETTINGS
@given(words=st.lists(odd, min_size=1, max_size=5))
def test_command_words_arrive_intact(words: list[str]) -> None:
    with workdir() as (t, _):
        recorder = t / "rec"
        recorder.write_text("#!/bin/sh\nprintf '%s\\0' \"$@\"\n")
        recorder.chmod(0o755)
        for args in (
            {"argv": [str(recorder), *words]},
            {"cmd": shlex.join([str(recorder), *words])},
        ):
            module = CommandModule.from_dict(args)
            # No guards: the one probe asks nothing and prints nothing.
            change = module.plan(state_of(module, {GuardProbe(None, None, None): ("", 0)}))
            assert isinstance(change, Change)
            (op,) = module.commands(change)
            r = sh(op.script)
            assert r.rc == 0, r.stderr
            assert r.stdout.split("\0")[:-1] == words
            assert os.listdir(t) == ["rec"]  # nothing ran but the recorder


@SETTINGS
@given(text=odd)
def test_shell_text_is_passed_whole(text: str) -> None:
    module = ShellModule.from_dict(
        {"cmd": f"printf %s {shlex.quote(text)}", "creates": f"/nonexistent/{text}"}
    )
    assert syntax_ok(module.probe())
    change = module.plan(module.parse(sh(module.probe()).stdout, 0))
    assert isinstance(change, Change)
    (op,) = module.commands(change)
    assert sh(op.script).stdout == text


package_names = odd.filter(
    lambda s: (
        not any(c in s for c in " \t\r\n,<>=*?[")
        and not s.startswith(("-", "@"))
        and "://" not in s
        and not s.endswith(".rpm")
    )
)


@SETTINGS
@given(name=package_names)
def test_package_name_is_one_argument(name: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        host = FakeHost(Path(d))
        host.on("rpm", "*", "package x is not installed\n", 1).on("dnf", "*")
        module = PackageModule.from_dict({"name": [name, "git"]})
        scripts_parse(module)
        out = host.run(module.probe())
        assert out.rc == 0, out.stderr
        # No digits in the alphabet, so no version split: every rpm query ends in a whole name.
        assert {c[-1] for c in host.calls("rpm")} == {name, "git"}
        change = module.plan(module.parse(out.stdout, out.rc))
        assert isinstance(change, Change)
        host.clear()
        (op,) = module.commands(change)
        assert host.run(op.script).rc == 0
        assert host.calls("dnf") == [["dnf", "-y", "install", name, "git"]]
        assert shlex.split(op.script.strip().splitlines()[-2]) == [
            "dnf",
            "-y",
            "install",
            name,
            "git",
        ]


@SETTINGS
@given(
    name=odd.filter(lambda s: ":" not in s and "\n" not in s and not s.startswith("-")),
    group=st.sampled_from(["docker", "wheel"]),
)
def test_user_name_is_one_argument(name: str, group: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        host = FakeHost(Path(d))
        host.on("getent", '"passwd -- "*', "", 2)
        host.on("getent", f'"group -- {group}"', f"{group}:x:991:\n")
        host.on("getent", '"group -- "*', "", 2)  # no group named like the new user
        host.on("useradd")
        module = UserModule.from_dict({"name": name, "groups": [group], "shell": "/bin/sh; reboot"})
        scripts_parse(module)
        out = host.run(module.probe())
        assert host.calls("getent")[0] == ["getent", "passwd", "--", name]
        change = module.plan(module.parse(out.stdout, out.rc))
        assert isinstance(change, Change)
        (op,) = module.commands(change)
        assert host.run(op.script).rc == 0
        assert host.calls("useradd") == [
            ["useradd", "-m", "-s", "/bin/sh; reboot", "-G", group, "--", name]
        ]


@SETTINGS
@given(name=odd.filter(lambda s: not any(c in s for c in "/ \t\n") and not s.startswith("-")))
def test_unit_name_is_one_argument(name: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        host = FakeHost(Path(d))
        host.on(
            "systemctl",
            '"show "*',
            "LoadState=loaded\nActiveState=inactive\nUnitFileState=disabled\n",
        )
        host.on("systemctl")
        module = ServiceModule.from_dict({"name": name, "state": "started"})
        scripts_parse(module)
        out = host.run(module.probe())
        change = module.plan(module.parse(out.stdout, out.rc))
        assert isinstance(change, Change)
        (op,) = module.commands(change)
        assert host.run(op.script).rc == 0
        unit = name if name.endswith(".service") else f"{name}.service"
        assert host.calls("systemctl")[-1] == ["systemctl", "start", "--", unit]
