"""Footprints: which probe answers a change may have altered (probes.footprint), what
the probes say they read, and the runner asking again only those, on 'hosts' that
are temp directories driven by a real sh."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from provisioner.events import RunSummary
from provisioner.modules.command import GuardProbe
from provisioner.probes.accounts import GroupEntry
from provisioner.probes.base import Probe
from provisioner.probes.files import FileContent, PathInfo
from provisioner.probes.footprint import ACCOUNTS, PACKAGES, Footprint, overlaps, paths
from provisioner.probes.rpm import RpmQuery
from tests.unit.test_runner import ShHost, lab, play, run, statuses

__all__ = ["lab"]  # the fixture, used by name

CASES: list[tuple[str, Footprint, Footprint, bool]] = [
    ("the same path", paths("/etc/a"), paths("/etc/a"), True),
    ("a file under the written directory", paths("/srv/app/x"), paths("/srv/app"), True),
    ("the directory of the written file", paths("/srv/app"), paths("/srv/app/x"), True),
    ("a sibling", paths("/srv/app/y"), paths("/srv/app/x"), False),
    ("a name that only starts alike", paths("/srv/app2"), paths("/srv/app"), False),
    ("written as /a/./b", paths("/a/b"), paths("/a/./b"), True),
    ("the root", paths("/x"), paths("/"), True),
    ("accounts, by a write to /etc/passwd", frozenset({ACCOUNTS}), paths("/etc/passwd"), True),
    ("accounts, by a write to /etc", frozenset({ACCOUNTS}), paths("/etc"), True),
    ("accounts, by another file", frozenset({ACCOUNTS}), paths("/etc/hosts"), False),
    ("accounts, by an accounts change", frozenset({ACCOUNTS}), frozenset({ACCOUNTS}), True),
    ("packages, by an accounts change", frozenset({PACKAGES}), frozenset({ACCOUNTS}), False),
    ("packages, by rpm's macros", frozenset({PACKAGES}), paths("/root/.rpmmacros"), True),
    ("packages, by rpm's database", frozenset({PACKAGES}), paths("/var/lib/rpm/x"), True),
    ("a path, by an accounts change", paths("/srv/a"), frozenset({ACCOUNTS}), False),
    ("what may read anything", None, paths("/srv/a"), True),
    ("what may write anything", paths("/srv/a"), None, True),
    ("what reads nothing", frozenset(), paths("/"), False),
]


@pytest.mark.parametrize(
    ("read", "written", "meets"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_overlaps(read: Footprint, written: Footprint, meets: bool) -> None:
    assert overlaps(read, written) is meets


def test_a_relative_path_could_be_anywhere() -> None:
    assert paths("/a", "b") is None


def answer(probe: Probe[Any], cwd: Path) -> str:
    """What the probe prints here, through a real sh."""
    done = subprocess.run(
        ["sh", "-c", probe.command()], cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_a_file_read_through_a_link_names_where_it_leads(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_text("x\n")
    os.symlink(tmp_path / "real", tmp_path / "link")
    for probe in (FileContent(f"{tmp_path}/link/f"), PathInfo(f"{tmp_path}/link/f")):
        read = probe.reads(answer(probe, tmp_path))
        assert read == frozenset({f"{tmp_path}/link/f", f"{tmp_path}/real/f", ACCOUNTS}), probe


def test_a_plain_path_reads_itself_and_the_accounts(tmp_path: Path) -> None:
    probe = PathInfo(f"{tmp_path}/missing/deeper")
    assert probe.reads(answer(probe, tmp_path)) == frozenset(
        {f"{tmp_path}/missing/deeper", ACCOUNTS}
    )


def test_a_link_itself_may_depend_on_anything(tmp_path: Path) -> None:
    os.symlink("elsewhere", tmp_path / "l")
    probe = PathInfo(f"{tmp_path}/l")
    assert probe.reads(answer(probe, tmp_path)) is None


def test_guards_read_their_paths_and_relative_ones_anything(tmp_path: Path) -> None:
    absolute = GuardProbe(None, f"{tmp_path}/done", None)
    assert absolute.reads(answer(absolute, tmp_path)) == frozenset({f"{tmp_path}/done", ACCOUNTS})
    relative = GuardProbe(None, "done", None)
    assert relative.reads(answer(relative, tmp_path)) is None
    none = GuardProbe(None, None, None)
    assert none.reads(answer(none, tmp_path)) == frozenset()


def test_databases() -> None:
    assert GroupEntry("g").reads("") == frozenset({ACCOUNTS})
    assert RpmQuery("p").reads("") == frozenset({PACKAGES})


def sent(host: ShHost, text: str) -> int:
    """How many exchanges with the host carried `text`."""
    return sum(text in script for script in host.runs)


def result(summary: RunSummary, host: str = "h1") -> list[str]:
    return statuses(summary, host)


def on_h1(lab: dict[str, Any], tasks: str) -> RunSummary:
    """Run a play of these tasks (YAML, indented as a play's) on h1."""
    return run(lab, play(lab["dir"], "- hosts: h1\n  tasks:\n" + tasks))


def test_a_change_asks_again_only_what_it_may_have_altered(lab: dict[str, Any]) -> None:
    root = lab["dir"] / "h1"
    summary = on_h1(
        lab,
        f"""
    - name: a
      copy: {{dest: "{root}/a", content: "1\\n"}}
    - name: b
      copy: {{dest: "{root}/b", content: "2\\n"}}
    - name: c
      copy: {{dest: "{root}/b", content: "2\\n"}}
""",
    )
    assert result(summary) == ["a:changed", "b:changed", "c:ok"]
    host: ShHost = lab["hosts"]["h1"]
    # b's file: in the first batch and after b's change; a's change left it standing
    assert sent(host, f"p={root}/b\n") == 2
    assert sent(host, f"p={root}/a\n") == 2  # the first batch, and a's own check after
    assert (root / "b").read_text() == "2\n"


@pytest.mark.parametrize("first", ["real", "link"])
def test_a_change_through_a_link_is_seen_on_the_other_name(lab: dict[str, Any], first: str) -> None:
    """Writing real/f alters what link/f shows, and the other way round: the second
    task finds the file as the first left it (ok), not as the first batch read it."""
    root = lab["dir"] / "h1"
    (root / "real").mkdir()
    (root / "real" / "f").write_text("old\n")
    os.symlink(root / "real", root / "link")
    second = "link" if first == "real" else "real"
    body = f"""
    - name: first
      copy: {{dest: "{root}/{first}/f", content: "new\\n"}}
    - name: second
      copy: {{dest: "{root}/{second}/f", content: "new\\n"}}
    - name: a directory through the link
      file: {{path: "{root}/link/d", state: directory}}
    - name: the same directory by its own name
      file: {{path: "{root}/real/d", state: directory}}
"""
    summary = on_h1(lab, body)
    assert result(summary) == [
        "first:changed",
        "second:ok",
        "a directory through the link:changed",
        "the same directory by its own name:ok",
    ]


def test_a_command_may_alter_anything(lab: dict[str, Any]) -> None:
    root = lab["dir"] / "h1"
    body = f"""
    - name: a command writes the file
      command: sh -c 'echo new > {root}/f'
    - name: the file
      copy: {{dest: "{root}/f", content: "new\\n"}}
"""
    summary = on_h1(lab, body)
    assert result(summary) == ["a command writes the file:changed", "the file:ok"]


def test_a_file_holding_the_wanted_bytes_does_not_send_them(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"wanted\n")
    digest = hashlib.sha256(b"wanted\n").hexdigest()
    same = FileContent(str(target), unless=digest)
    other = FileContent(str(target), unless=hashlib.sha256(b"else\n").hexdigest())
    found = same.parse(answer(same, tmp_path), 0)
    assert (found.kind, found.digest, found.content, found.real) == (
        "file",
        digest,
        None,
        str(target),
    )
    assert other.parse(answer(other, tmp_path), 0).content == b"wanted\n"
