"""Generated playbooks and inventories, fed to `validate` and `inventory --list`: the
exit code is 0 or 1, a 1 says why on an `error:` line, and nothing escapes as a
traceback, hangs or grows past a memory cap.

Most examples run in-process, for speed: the command's function itself
(`cli.check.validate`, `cli.hosts.show_inventory`), which is what `provision
validate` and `provision inventory --list` call once typer has read the command
line (typer alone costs 25 ms a run), its output captured. A smaller number go
through `CliServer`: the whole entry point, each run in a child with a time
limit and a capped address space.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from provisioner.cli import check
from provisioner.cli.hosts import show_inventory
from tests.unit.run_cli import CliServer

# Words the loaders give meaning to, so generated data reaches past the first check.
PLAY_WORDS = ["hosts", "tasks", "vars", "vars_files", "handlers", "become", "name", "tags"]
TASK_WORDS = ["name", "when", "loop", "with_items", "register", "notify", "args", "vars"]
MODULES = ["command", "shell", "package", "yum", "service", "copy", "file", "debug", "user"]
INVENTORY_WORDS = ["all", "hosts", "children", "vars", "web[1:3]", "ansible_host", "port"]
CONNECTION = ["ansible_port", "host", "user", "password", "ansible_ssh_common_args"]
ODD = ["{{ x }}", "{{", "~web[", "-oProxyCommand=x", "a;b", "name='x", "&a", "*a", "[0:99]"]

_words = st.sampled_from(
    PLAY_WORDS + TASK_WORDS + MODULES + INVENTORY_WORDS + CONNECTION + ODD + ["all", "x"]
)
_text = st.text(max_size=12) | _words
_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | _text
_data = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_words | _text, inner, max_size=4),
    max_leaves=25,
)


def _task() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"name": _text},
        optional={
            **{word: _data for word in TASK_WORDS if word != "name"},
            **{module: _data for module in MODULES[:4]},
        },
    )


_playbook = st.lists(
    st.fixed_dictionaries(
        {"hosts": _text | st.just("all")},
        optional={"tasks": st.lists(_task(), max_size=3), "vars": _data, "become": _data},
    ),
    max_size=3,
)
_inventory = st.dictionaries(
    _words,
    st.fixed_dictionaries(
        {},
        optional={
            "hosts": st.dictionaries(_words | _text, st.none() | _data, max_size=3),
            "children": _data,
            "vars": st.dictionaries(st.sampled_from(CONNECTION) | _text, _data, max_size=3),
        },
    ),
    max_size=3,
)
# YAML text in the shapes above, or torn apart: YAML-ish tokens, any text, any bytes.
_fragments = st.lists(
    st.sampled_from(["[", "]", "{", "}", ": ", "- ", "\n", "  ", "'", '"', "&a ", "*a", "<<: "])
    | _words,
    max_size=40,
).map("".join)


# Known ways to hurt a loader, cheap enough to try in-process once fixed (each fails
# fast without its fix: a RecursionError, a ValueError, a few MB at most).
def _deep_flow(n: int) -> str:
    return "- hosts: all\n  vars: {x: " + "[" * n + "]" * n + "}\n"


def _deep_block(n: int) -> str:
    return "all:\n" + "".join(f"{'  ' * i}  k{i}:\n" for i in range(n))


def _laughs(levels: int) -> str:
    lines = [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return (
        "all:\n  vars:\n    a0: &a0 ["
        + ", ".join(["lol"] * 9)
        + "]\n"
        + "".join(f"    {line}\n" for line in lines)
    )


def _range(n: int) -> str:
    return f"all:\n  hosts:\n    web[0:{n}]:\n"


RECURSIVE = "all:\n  vars: {x: &a {y: *a}}\n"
UNCLOSED = '- hosts: all\n  tasks:\n    - yum: "name=\'git state=present"\n'

# Known ways to hurt a loader, cheap enough to try in-process once fixed (each fails
# fast without its fix: a RecursionError, a ValueError, a few MB at most).
_hostile = st.one_of(
    st.integers(90, 1200).map(_deep_flow),
    st.integers(90, 900).map(_deep_block),
    st.sampled_from(
        [
            RECURSIVE,
            UNCLOSED,
            "- hosts: all\n  vars: {x: &a [1, *a]}\n  tasks: []\n",
            "[web]\nweb1 a='x\n",
            "all:\n  hosts:\n    web1: {ansible_host: -oProxyCommand=x}\n",
            "- hosts: '~web['\n  tasks: []\n",
        ]
    ),
    st.integers(0, 99_999).map(_range),
)
# And those that would take the machine down without their fix: only in a child.
_bombs = st.integers(1, 9).map(_laughs) | st.integers(0, 10**9).map(_range)


def _dumped(data: st.SearchStrategy[Any]) -> st.SearchStrategy[str | bytes]:
    return data.map(lambda d: yaml.safe_dump(d, allow_unicode=True))


def _files(structured: st.SearchStrategy[Any]) -> st.SearchStrategy[str | bytes]:
    return (
        _dumped(structured)
        | _dumped(_data)
        | _fragments
        | st.text(max_size=60)
        | st.binary(max_size=60)
        | _hostile
    )


_ini = st.lists(
    st.sampled_from(["[web]", "[web:vars]", "[all:children]", "web1", "web[1:3]", "a=1"])
    | st.text(max_size=20),
    max_size=6,
).map("\n".join)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _in_process(command: Callable[[], int]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = command()
    return code, out.getvalue(), err.getvalue()


def _check(code: int, stdout: str, stderr: str, listing: bool) -> None:
    assert "Traceback" not in stderr
    assert code in (0, 1), stderr
    if code == 1:
        assert stdout == "" and stderr.startswith("error: "), stderr
    elif listing:
        assert "hosts" in json.loads(stdout)


@settings(
    max_examples=100,
    deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(book=_files(_playbook), hosts=_files(_inventory), with_inventory=st.booleans())
@example(book=_deep_flow(1000), hosts="", with_inventory=False)
@example(book=UNCLOSED, hosts="", with_inventory=False)
@example(book=_deep_flow(1), hosts=RECURSIVE, with_inventory=True)
def test_validate_any_playbook(
    folder: Path, book: str | bytes, hosts: str | bytes, with_inventory: bool
) -> None:
    site = _write(folder / "site.yml", book)
    inventory = _write(folder / "hosts.yml", hosts) if with_inventory else None
    _check(*_in_process(lambda: check.validate(site, inventory, None)), listing=False)


@settings(
    max_examples=100,
    deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(hosts=_files(_inventory) | _ini, name=st.sampled_from(["hosts.yml", "hosts.ini", "hosts"]))
@example(hosts=RECURSIVE, name="hosts.yml")
@example(hosts=_deep_block(800), name="hosts")
def test_list_any_inventory(folder: Path, hosts: str | bytes, name: str) -> None:
    inventory = _write(folder / name, hosts)
    _check(*_in_process(lambda: show_inventory(inventory, None)), listing=True)


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[CliServer]:
    cli = CliServer(folder)
    yield cli
    cli.close()


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(book=_files(_playbook) | _bombs, hosts=_files(_inventory) | _ini | _bombs)
@example(book=_laughs(9), hosts=_range(10**8))
def test_in_a_child_with_limits(
    server: CliServer, folder: Path, book: str | bytes, hosts: str | bytes
) -> None:
    """The same, in a child: killed past 10 s, its address space capped at 1 GiB."""
    _write(folder / "site.yml", book)
    _write(folder / "hosts", hosts)
    for args, listing in (
        (("validate", "site.yml", "-i", "hosts"), False),
        (("inventory", "-i", "hosts", "--list"), True),
    ):
        ran = server.run(*args, cwd=folder, timeout=10.0, memory=1 << 30)
        assert not ran.timed_out
        _check(ran.rc, ran.stdout, ran.stderr, listing)
