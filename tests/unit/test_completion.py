"""Shell completion: the candidates for --limit (the `-i` inventory's host and group
names, read without rendering anything), and typer's protocol as bash, zsh and fish
use it: the command asked on each TAB through `_PROVISION_COMPLETE`, and bash itself
running the installed script. Nothing here reads the controller's own home."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioner.cli.complete import limit_candidates, limit_values
from tests.unit.run_cli import ENTRY, ENV

INVENTORY = """\
all:
  children:
    web:
      hosts:
        web[1:3]: {connection: local}
    db:
      hosts:
        db1: {ansible_host: "{{ lookup('pipe', 'touch ran-a-command') }}"}
"""
NAMES = ["all", "web", "db", "ungrouped", "web1", "web2", "web3", "db1"]


@dataclass(frozen=True)
class Case:
    id: str
    incomplete: str
    expected: tuple[str, ...]
    files: tuple[str, ...] = ()


CASES = [
    Case("nothing typed: every name", "", tuple(NAMES)),
    Case("a prefix", "we", ("web", "web1", "web2", "web3")),
    Case("a full name completes to itself", "db1", ("db1",)),
    Case("no match", "x", ()),
    Case("after a comma, the earlier terms kept", "web1,d", ("web1,db", "web1,db1")),
    Case("a name already given is not offered", "web1,web", ("web1,web", "web1,web2", "web1,web3")),
    Case("an exclusion keeps its !", "web,!web", ("web,!web1", "web,!web2", "web,!web3")),
    Case("an intersection keeps its &", "all,&d", ("all,&db", "all,&db1")),
    Case("the retry file", "@", ("@.provision/last-failed",), ("@.provision/last-failed",)),
    Case(
        "the retry file left out",
        "web,!@",
        ("web,!@.provision/last-failed",),
        ("@.provision/last-failed",),
    ),
    Case("a file is not intersected", "web,&@", (), ("@.provision/last-failed",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_limit_candidates(case: Case) -> None:
    assert tuple(limit_candidates(case.incomplete, NAMES, case.files)) == case.expected


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hosts.yml").write_text(INVENTORY)
    (tmp_path / "hosts.ini").write_text("[app]\napp[01:02]\n[app:children]\nweb\n[web]\nw1\n")
    return tmp_path


def test_limit_values_read_the_inventory_on_the_line_and_run_nothing(folder: Path) -> None:
    assert limit_values({"inventory": Path("hosts.yml")}, "") == NAMES
    assert limit_values({"inventory": Path("hosts.ini")}, "app") == ["app", "app01", "app02"]
    assert not (folder / "ran-a-command").exists()  # the lookup was never rendered


@pytest.mark.parametrize(
    "inventory", [None, "", "missing.yml", ".", "/dev/zero", "broken.yml"], ids=repr
)
def test_no_readable_inventory_completes_no_name(folder: Path, inventory: str | None) -> None:
    (folder / "broken.yml").write_text("all: [\n")
    assert limit_values({"inventory": None if inventory is None else Path(inventory)}, "") == []


def test_the_retry_file_is_offered_when_there_is_one(folder: Path) -> None:
    assert limit_values({}, "@") == []
    (folder / ".provision").mkdir()
    (folder / ".provision" / "last-failed").write_text("web1\n")
    assert limit_values({}, "") == ["@.provision/last-failed"]
    assert limit_values({"inventory": Path("hosts.yml")}, "web1,@") == [
        "web1,@.provision/last-failed"
    ]


# -- the protocol, as the shells use it ----------------------------------------------


def ask(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """One TAB: this tree's `provision` asked as typer's scripts ask it."""
    return subprocess.run(
        [sys.executable, "-c", ENTRY],
        capture_output=True,
        text=True,
        cwd=folder,
        stdin=subprocess.DEVNULL,
        timeout=60,
        env={**ENV, "HOME": str(folder), **env},
    )


def bash_tab(folder: Path, line: str) -> list[str]:
    """What bash's TAB at the end of `line` offers (a trailing blank: a new word)."""
    words = line.split(" ")
    env = {"_PROVISION_COMPLETE": "complete_bash", "COMP_WORDS": line}
    proc = ask(folder, {**env, "COMP_CWORD": str(len(words) - 1)})
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return proc.stdout.split()


@pytest.mark.parametrize(
    ("line", "offered"),
    [
        (
            "provision ",
            [
                "apply",
                "verify",
                "plan",
                "show",
                "validate",
                "facts",
                "schema",
                "inventory",
                "report",
            ],
        ),
        ("provision inventory ", ["from-vagrant"]),
        ("provision apply --li", ["--limit"]),
        ("provision apply -i hosts.yml --limit web", ["web", "web1", "web2", "web3"]),
        (
            "provision apply -i hosts.yml site.yml -l web1,!w",
            ["web1,!web", "web1,!web2", "web1,!web3"],
        ),
        ("provision facts -i hosts.ini --limit app0", ["app01", "app02"]),
        ("provision inventory -i hosts.yml --limit d", ["db", "db1"]),
        ("provision apply --limit web -i hosts.yml", []),  # -i after: not read yet
        ("provision apply -o j", ["json"]),
        ("provision schema ", ["playbook", "tasks", "inventory"]),
        ("provision apply ", []),  # the playbook: the shell's own file completion
        ("provision apply -i ", []),
    ],
)
def test_bash_asks_the_command(folder: Path, line: str, offered: list[str]) -> None:
    assert bash_tab(folder, line) == offered


@pytest.mark.parametrize("inventory", ["missing.yml", "broken.yml", "/dev/zero", "list.yml"])
def test_a_bad_inventory_completes_nothing_and_says_nothing(folder: Path, inventory: str) -> None:
    (folder / "broken.yml").write_text("all:\n  hosts: [\n")
    (folder / "list.yml").write_text("all:\n  children:\n    - not a mapping\n")
    assert bash_tab(folder, f"provision apply -i {inventory} --limit ") == []  # stderr: ""


def test_zsh_and_fish_get_the_same_names(folder: Path) -> None:
    line = "provision apply -i hosts.yml --limit db"
    zsh = ask(folder, {"_PROVISION_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": line})
    assert zsh.returncode == 0 and zsh.stdout.strip() == """_arguments '*: :(("db"\n"db1"))'"""
    fish_env = {"_PROVISION_COMPLETE": "complete_fish", "_TYPER_COMPLETE_ARGS": line}
    fish = ask(folder, {**fish_env, "_TYPER_COMPLETE_FISH_ACTION": "get-args"})
    assert fish.returncode == 0 and fish.stdout.split() == ["db", "db1"]
    # No name to offer: zsh and fish fall back to completing files (a playbook's path).
    zsh = ask(
        folder, {"_PROVISION_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "provision apply "}
    )
    assert zsh.stdout.strip() == "_files"
    fish = ask(
        folder,
        {
            **fish_env,
            "_TYPER_COMPLETE_ARGS": "provision apply ",
            "_TYPER_COMPLETE_FISH_ACTION": "is-args",
        },
    )
    assert fish.returncode == 1  # fish: "not ours, complete files"


def test_a_failure_inside_completion_is_silent(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import provisioner.cli.complete as complete
    from provisioner.cli import _complete

    def broken(*args: object, **kwargs: object) -> list[str]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(complete, "limit_values", broken)
    monkeypatch.setenv("_PROVISION_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "provision apply -i hosts.yml --limit ")
    monkeypatch.setenv("COMP_CWORD", "5")
    with pytest.raises(SystemExit) as stopped:
        _complete()
    assert stopped.value.code == 1
    assert capsys.readouterr() == ("", "")


# -- installed, and run by bash ------------------------------------------------------


@pytest.fixture
def on_path(folder: Path) -> dict[str, str]:
    """`provision` on PATH as a user has it (this tree's), and a home of the test's."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    script = bin_dir / "provision"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} -c "{ENTRY}" "$@"\n')
    script.chmod(0o755)
    return {**ENV, "HOME": str(folder), "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_install_completion_for_bash_and_bash_runs_it(
    folder: Path, on_path: dict[str, str]
) -> None:
    # From a bash, as a user types it: typer finds the shell among the parent processes.
    installed = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", "provision --install-completion; true"],
        capture_output=True,
        text=True,
        cwd=folder,
        env=on_path,
        timeout=60,
    )
    assert "bash completion installed in" in installed.stdout, installed.stdout + installed.stderr
    script = folder / ".bash_completions" / "provision.sh"
    assert f"source '{script}'" in (folder / ".bashrc").read_text()
    tab = (
        f"source {script}\n"
        "COMP_WORDS=(provision apply -i hosts.yml --limit web1,w)\n"
        "COMP_CWORD=5\n"
        "_provision_completion provision web1,w --limit\n"  # as bash calls it
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
        "complete -p provision\n"
    )
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", tab],
        capture_output=True,
        text=True,
        cwd=folder,
        env=on_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    *offered, registered = proc.stdout.splitlines()
    assert offered == ["web1,web", "web1,web2", "web1,web3"]
    assert registered == "complete -o default -F _provision_completion provision"


@pytest.mark.parametrize(
    ("shell", "installed"),
    [("zsh", ".zfunc/_provision"), ("fish", ".config/fish/completions/provision.fish")],
)
def test_install_completion_for_zsh_and_fish(
    folder: Path, on_path: dict[str, str], shell: str, installed: str
) -> None:
    # zsh and fish are not on this machine: the shell is named, not detected (typer's own
    # switch for that), and the script is checked to call the command as bash's does.
    env = {**on_path, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    proc = subprocess.run(
        ["provision", "--install-completion", shell],
        capture_output=True,
        text=True,
        cwd=folder,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"_PROVISION_COMPLETE=complete_{shell}" in (folder / installed).read_text()
