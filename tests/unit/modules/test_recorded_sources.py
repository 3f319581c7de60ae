"""recorded/SOURCES.md: every recorded file says where it came from, and only those."""

from __future__ import annotations

import re

from tests.lab import record
from tests.unit.modules.host import RECORDED

SOURCES = RECORDED / "SOURCES.md"
NOT_RECORDINGS = {"README.md", "SOURCES.md"}
SOURCE_KINDS = {record.CAPTURED_BY, "hand-written", "copied"}


def entries() -> dict[str, str]:
    """{path: source} of the manifest's table rows."""
    out: dict[str, str] = {}
    for line in SOURCES.read_text().splitlines():
        m = re.match(r"\| `([^`]+)` \| ([^|]+) \|", line)
        if m:
            assert m.group(1) not in out, f"{m.group(1)} is listed twice"
            out[m.group(1)] = m.group(2).strip()
    return out


def recorded_files() -> set[str]:
    return {
        p.relative_to(RECORDED).as_posix()
        for p in RECORDED.rglob("*")
        if p.is_file() and p.relative_to(RECORDED).as_posix() not in NOT_RECORDINGS
    }


def test_every_recorded_file_is_in_the_manifest() -> None:
    missing = recorded_files() - set(entries())
    assert not missing, f"not in SOURCES.md (add them to tests/lab/recordings.py): {missing}"


def test_every_manifest_entry_exists() -> None:
    gone = set(entries()) - recorded_files()
    assert not gone, f"in SOURCES.md but not in recorded/: {gone}"


def test_every_entry_says_how_it_came_to_be() -> None:
    assert entries() and set(entries().values()) <= SOURCE_KINDS


def test_manifest_is_the_one_the_recipe_renders() -> None:
    # SOURCES.md is written by `python -m tests.lab record` from tests/lab/recordings.py.
    assert SOURCES.read_text() == record.render_sources()
