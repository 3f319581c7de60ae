"""`--shard K/N`: which hosts a shard takes, and how the command line refuses bad input.

A host's shard depends on its name alone: the same in every process (a fleet's
shards run in different processes, often on different machines), and adding a host
to the inventory moves no other host.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from provisioner.errors import InputError
from provisioner.inventory import load_inventory
from provisioner.inventory.shard import Shard, parse_shard, shard_of
from provisioner.playbook.compile import select_hosts
from provisioner.playbook.load import load_playbook
from provisioner.validate import compile_run
from tests.unit.run_cli import ENV, provision

# name → (shard of 4, shard of 10). Pinned: a change of hash moves every fleet's hosts
# between shards that may already be running, so it must be a decision, not an accident.
EXPECTED = {
    "web1": (3, 7),
    "web2": (2, 8),
    "db1": (4, 4),
    "localhost": (1, 5),
    "lab01": (2, 2),
    "h07": (4, 10),
    "서버1": (4, 6),
}


def test_the_shard_of_a_name_is_pinned() -> None:
    assert {n: (shard_of(n, 4), shard_of(n, 10)) for n in EXPECTED} == EXPECTED


def test_the_shard_of_a_name_is_the_same_in_another_process() -> None:
    # Another hash seed: Python's own hash() of a str would differ here.
    code = (
        "import json, sys; from provisioner.inventory.shard import shard_of; "
        "names = json.loads(sys.argv[1]); "
        "print(json.dumps({n: [shard_of(n, 4), shard_of(n, 10)] for n in names}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(list(EXPECTED), ensure_ascii=False)],
        capture_output=True,
        text=True,
        check=True,
        env={**ENV, "PYTHONHASHSEED": "12345"},
    ).stdout
    assert {n: tuple(v) for n, v in json.loads(out).items()} == EXPECTED


NAMES = [f"node{i:03d}" for i in range(200)]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 16])
def test_every_host_is_in_exactly_one_shard(count: int) -> None:
    shards = [Shard(k, count) for k in range(1, count + 1)]
    for name in NAMES:
        assert sum(s.keeps(name) for s in shards) == 1, name
    taken = [n for s in shards for n in NAMES if s.keeps(n)]
    assert sorted(taken) == sorted(NAMES)
    if count > 1:  # a hash, not a round robin: still no shard is left empty here
        assert all(any(s.keeps(n) for n in NAMES) for s in shards)


def test_adding_a_host_moves_only_that_host() -> None:
    before = {n: shard_of(n, 4) for n in NAMES}
    after = {n: shard_of(n, 4) for n in [*NAMES[:50], "newcomer", *NAMES[50:]]}
    assert {n: s for n, s in after.items() if n != "newcomer"} == before


@pytest.mark.parametrize(
    ("text", "shard"), [("1/4", Shard(1, 4)), ("4/4", Shard(4, 4)), (" 1/1 ", Shard(1, 1))]
)
def test_parse_shard(text: str, shard: Shard) -> None:
    assert parse_shard(text) == shard and str(shard) == text.strip()


@pytest.mark.parametrize(
    "text", ["0/4", "5/4", "x", "1/0", "", "1/", "/4", "-1/4", "1.0/4", "1/4/2", "1 / 4"]
)
def test_parse_shard_refuses(text: str) -> None:
    with pytest.raises(InputError):
        parse_shard(text)


INVENTORY = """\
all:
  children:
    web:
      hosts:
        web[01:12]:
    db:
      hosts:
        db[1:4]:
"""


def test_the_shard_is_taken_after_limit(tmp_path: Path) -> None:
    inv_path = tmp_path / "hosts.yml"
    inv_path.write_text(INVENTORY)
    inv = load_inventory(inv_path)
    book_path = tmp_path / "p.yml"
    book_path.write_text("- hosts: all\n  tasks:\n    - command: 'true'\n")
    [play] = load_playbook(book_path).plays
    limited = [h.name for h in select_hosts(inv, play, "web")]
    union: list[str] = []
    for k in (1, 2, 3):
        mine = [h.name for h in select_hosts(inv, play, "web", Shard(k, 3))]
        assert mine == [n for n in limited if shard_of(n, 3) == k]  # inventory order kept
        union += mine
    assert sorted(union) == limited


def test_a_shard_without_a_host_of_a_play_is_an_empty_play(tmp_path: Path) -> None:
    inv_path = tmp_path / "hosts.yml"
    inv_path.write_text(INVENTORY)
    inv = load_inventory(inv_path)
    book_path = tmp_path / "p.yml"
    book_path.write_text(
        "- hosts: db1\n  tasks:\n    - command: 'true'\n"
        "- hosts: nosuchgroup\n  tasks:\n    - command: 'true'\n"
    )
    book = load_playbook(book_path)
    other = Shard(shard_of("db1", 4) % 4 + 1, 4)
    compiled = compile_run(book, inv, {}, shard=other)
    assert compiled.plans == {}
    # The play of db1 is empty in this shard; the play that matches no host at all is
    # the error it is without --shard, in every shard.
    [problem] = compiled.problems
    assert "'nosuchgroup' matches no host" in problem


def run_apply(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    local = INVENTORY.replace("web[01:12]:", "web1: {connection: local}")
    (tmp_path / "hosts.yml").write_text(local)
    marker = tmp_path / "touched"
    (tmp_path / "p.yml").write_text(
        f"- hosts: all\n  gather_facts: false\n  tasks:\n    - command: touch {marker}\n"
    )
    return provision("apply", "-i", "hosts.yml", "p.yml", *args, cwd=tmp_path)


@pytest.mark.parametrize("text", ["0/4", "5/4", "x", "1/0"])
def test_the_cli_refuses_a_bad_shard_and_runs_nothing(tmp_path: Path, text: str) -> None:
    proc = run_apply(tmp_path, "--shard", text, "-o", "json")
    assert proc.returncode == 1, proc.stderr
    assert f"--shard {text!r}" in proc.stderr
    assert proc.stdout == "" and not (tmp_path / "touched").exists()


def test_an_empty_shard_says_so_and_exits_as_an_empty_run(tmp_path: Path) -> None:
    # web1 alone is local; the db hosts are unreachable names, left out by --limit.
    empty = Shard(shard_of("web1", 2) % 2 + 1, 2)
    proc = run_apply(tmp_path, "--limit", "web1", "--shard", str(empty), "-o", "json")
    assert proc.returncode == 0, proc.stderr
    assert f"shard {empty}: none of the 1 selected host(s)" in proc.stderr
    assert "no hosts matched" in proc.stderr
    assert json.loads(proc.stdout) == {"check": False, "hosts": {}, "results": [], "stopped": []}
    assert not (tmp_path / "touched").exists()
    mine = Shard(shard_of("web1", 2), 2)
    proc = run_apply(tmp_path, "--limit", "web1", "--shard", str(mine), "-o", "json")
    assert proc.returncode == 0, proc.stderr
    assert f"shard {mine}: 1 of the 1 selected host(s)" in proc.stderr
    assert list(json.loads(proc.stdout)["hosts"]) == ["web1"] and (tmp_path / "touched").exists()


def test_limit_is_checked_before_the_shard(tmp_path: Path) -> None:
    proc = run_apply(tmp_path, "--limit", "nosuch", "--shard", "1/2")
    assert proc.returncode == 1 and "--limit 'nosuch' matches no host" in proc.stderr
