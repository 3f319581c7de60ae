"""The `provision` command as a user runs it: exit codes, JSON on stdout, errors
that name the file. Runs the console entry point in a subprocess, against the
local connection only (`hosts: localhost`, harmless commands)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ENTRY = "from provisioner.cli import main; main()"
ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}  # this tree's code, not an installed copy


def provision(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=60,
        env=ENV,
    )


def test_failed_task_exits_2_and_json_is_the_only_stdout(tmp_path: Path) -> None:
    book = tmp_path / "p.yml"
    book.write_text(
        "- hosts: localhost\n  tasks:\n"
        "    - name: fine\n      command: 'true'\n      changed_when: false\n"
        "    - name: fails\n      command: 'false'\n"
    )
    proc = provision("apply", book, "-o", "json", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["hosts"]["localhost"]["failed"] == 1
    assert [r["status"] for r in doc["results"]] == ["ok", "failed"]
    assert "RECAP" in proc.stderr


def test_all_ok_exits_0(tmp_path: Path) -> None:
    book = tmp_path / "p.yml"
    book.write_text("- hosts: localhost\n  tasks:\n    - command: 'true'\n")
    proc = provision("apply", book, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_usage_error_exits_1_not_2(tmp_path: Path) -> None:
    proc = provision("apply", "--forks", "0", "p.yml", cwd=tmp_path)
    assert proc.returncode == 1
    assert "--forks" in proc.stderr


def test_bad_playbook_exits_1_naming_file_and_line(tmp_path: Path) -> None:
    book = tmp_path / "bad.yml"
    book.write_text("- hosts: localhost\n  tasks:\n    - name: x\n      comand: ls\n")
    for verb in ("apply", "validate"):
        proc = provision(verb, book, cwd=tmp_path)
        assert proc.returncode == 1, proc.stderr
        assert f"{book}:4" in proc.stderr
        assert "command" in proc.stderr  # did you mean
        assert proc.stdout == ""


def test_limit_that_matches_nothing_is_bad_input(tmp_path: Path) -> None:
    book = tmp_path / "p.yml"
    book.write_text("- hosts: all\n  tasks:\n    - command: 'true'\n")
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    web1: {host: 192.0.2.1}\n")
    proc = provision("apply", "-i", inv, book, "--limit", "web2", cwd=tmp_path)
    assert proc.returncode == 1
    assert "--limit 'web2' matches no host" in proc.stderr


def test_error_text_with_brackets_is_printed_as_is(tmp_path: Path) -> None:
    book = tmp_path / "[red]x.yml"
    book.write_text("- hosts: localhost\n  tasks:\n    - name: x\n      comand: ls\n")
    proc = provision("validate", book, cwd=tmp_path)
    assert proc.returncode == 1
    assert f"{book}:4:7" in proc.stderr  # rich would have eaten "[red]" as markup
