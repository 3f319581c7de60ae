"""command and shell: guards probed for real, commands run for real."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError
from provisioner.modules import registry
from provisioner.modules.base import CONVERGED, Blocked, Change, Converged, Module
from provisioner.modules.command import CommandModule, ShellModule
from tests.unit.modules.host import observe, sh, syntax_ok


def run(module: Module[Any, Any, Any]) -> tuple[Change[Any] | Converged, str]:
    """Plan, then run the commands; their stdout."""
    change = module.plan(observe(module))
    if change is CONVERGED:
        return CONVERGED, ""
    assert isinstance(change, Change)
    (op,) = module.commands(change)
    assert syntax_ok(op.script)
    r = sh(op.script)
    assert r.rc == 0, r.stderr
    return change, r.stdout


def test_runs_without_guards() -> None:
    change, out = run(CommandModule.from_dict({"cmd": "echo hi"}))
    assert isinstance(change, Change) and change.summary == ("run: echo hi",) and out == "hi\n"


def test_command_has_no_shell() -> None:
    _, out = run(CommandModule.from_dict({"cmd": "echo $HOME '*' ;ls `id` $(id)"}))
    assert out == "$HOME * ;ls `id` $(id)\n"


def test_argv_form() -> None:
    change, out = run(CommandModule.from_dict({"argv": ["printf", "%s|", "a b", "c'd", "$x"]}))
    assert isinstance(change, Change) and change.summary == (
        "run: printf '%s|' 'a b' 'c'\"'\"'d' '$x'",
    )
    assert out == "a b|c'd|$x|"


def test_first_word_is_never_an_assignment_or_keyword() -> None:
    for cmd in ("A=b", "if"):
        change = CommandModule.from_dict({"cmd": cmd}).plan(
            observe(CommandModule.from_dict({"cmd": cmd}))
        )
        assert isinstance(change, Change)
        (op,) = CommandModule.from_dict({"cmd": cmd}).commands(change)
        assert sh(op.script).rc == 127  # "not found", not a silent assignment


def test_shell_runs_sh_c() -> None:
    _, out = run(ShellModule.from_dict({"cmd": "echo $((1 + 2)) | tr 3 x"}))
    assert out == "x\n"


def test_multiline_shell_summary() -> None:
    change, out = run(ShellModule.from_dict({"cmd": "echo one\necho two"}))
    assert (
        isinstance(change, Change)
        and change.summary == ("run: echo one …",)
        and out == "one\ntwo\n"
    )


@pytest.mark.parametrize(
    ("files", "args", "runs"),
    [
        ([], {"creates": "done"}, True),
        (["done"], {"creates": "done"}, False),
        ([], {"removes": "lock"}, False),
        (["lock"], {"removes": "lock"}, True),
        (["done", "lock"], {"creates": "done", "removes": "lock"}, False),
    ],
)
def test_guards_relative_to_chdir(
    tmp_path: Path, files: list[str], args: dict[str, Any], runs: bool
) -> None:
    for f in files:
        (tmp_path / f).touch()
    module = ShellModule.from_dict(
        {"cmd": "pwd; touch done; rm -f lock", "chdir": str(tmp_path), **args}
    )
    change, out = run(module)
    assert isinstance(change, Change) == runs
    if runs:
        assert out == f"{tmp_path}\n"
        assert module.plan(observe(module)) is CONVERGED  # the guard now holds


@pytest.mark.parametrize(
    ("chdir", "env"),
    [("-", {}), ("sub", {"CDPATH": "elsewhere"}), ("./sub", {"CDPATH": "elsewhere"})],
    ids=["dash-not-OLDPWD", "not-CDPATH", "dot-slash"],
)
def test_relative_chdir_is_that_directory(tmp_path: Path, chdir: str, env: dict[str, str]) -> None:
    here = tmp_path / "here"
    for folder in (here / chdir, here / "elsewhere" / chdir, tmp_path / chdir):
        folder.mkdir(parents=True, exist_ok=True)
    (here / chdir / "done").touch()  # only there: a guard that holds only there

    def in_here(script: str, e: Any = None) -> Any:
        # `cd` into `here` from its parent: $OLDPWD is then the parent.
        return sh(f"cd {tmp_path} && cd here && {script}", env={**env, **(e or {})})

    guarded = ShellModule.from_dict({"cmd": "pwd", "chdir": chdir, "creates": "done"})
    assert guarded.plan(observe(guarded, in_here)) is CONVERGED
    module = ShellModule.from_dict({"cmd": "pwd", "chdir": chdir})
    change = module.plan(observe(module, in_here))
    assert isinstance(change, Change)
    (op,) = module.commands(change)
    assert in_here(op.script).stdout == f"{(here / chdir).resolve()}\n"


@pytest.mark.parametrize("chdir", ["", "  "])
def test_chdir_must_name_a_directory(chdir: str) -> None:
    with pytest.raises(ModuleArgsError, match="chdir must name a directory"):
        CommandModule.from_dict({"cmd": "make", "chdir": chdir})


def test_missing_chdir_is_a_dependency(tmp_path: Path) -> None:
    module = CommandModule.from_dict({"cmd": "make", "chdir": str(tmp_path / "src")})
    blocked = module.plan(observe(module))
    assert isinstance(blocked, Blocked) and re.search(f"directory {tmp_path}/src", blocked.message)


def test_failure_is_reported() -> None:
    module = ShellModule.from_dict({"cmd": "echo oops >&2; exit 3"})
    change = module.plan(observe(module))
    assert isinstance(change, Change)
    (op,) = module.commands(change)
    r = sh(op.script)
    assert r.rc == 3 and r.stderr == "oops\n"


def test_not_reprobed() -> None:
    # `unprobeable`: the runner does not probe a command again after it ran.
    assert CommandModule.unprobeable is True
    assert ShellModule.unprobeable is True
    assert registry()["command"] is CommandModule and registry()["shell"] is ShellModule


@pytest.mark.parametrize(
    ("module", "raw", "match"),
    [
        ("command", {}, "exactly one of 'cmd' or 'argv'"),
        ("command", {"cmd": "a", "argv": ["a"]}, "exactly one"),
        ("command", {"cmd": "echo 'unbalanced"}, "cannot split"),
        ("command", {"argv": []}, "empty"),
        ("shell", {"cmd": "  "}, "must not be empty"),
        ("shell", {"argv": ["a"]}, "unknown argument 'argv'"),
        ("shell", {"cmd": "a", "executable": "/bin/bash"}, "unknown argument 'executable'"),
    ],
)
def test_bad_args(module: str, raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        registry()[module].from_dict(raw)
