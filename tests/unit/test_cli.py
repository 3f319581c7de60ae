"""The `provision` command as a user runs it: exit codes, JSON on stdout, errors
that name the file. Runs the console entry point in a subprocess, against the
local connection only (`hosts: localhost`, harmless commands)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from provisioner.probes.host import DISTRIBUTIONS
from tests.unit.run_cli import ENTRY, ENV, provision


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


def test_json_output_doc_gives_the_usage_error_exit_code(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "json-output.md").read_text()
    said = re.search(r"`--forks 0`\) exits with (\d)", doc)
    assert said is not None, "docs/json-output.md: the usage error caveat is gone"
    proc = provision("apply", "--forks", "0", "p.yml", cwd=tmp_path)
    assert proc.returncode == int(said.group(1)) and proc.stdout == ""


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


def signal_during_second_task(tmp_path: Path, sig: int) -> tuple[int, str, str]:
    """Run a three-task play, send `sig` while the second task's command runs:
    (exit code, stdout, all of stderr)."""
    book = tmp_path / "p.yml"
    book.write_text(
        "- hosts: localhost\n  tasks:\n"
        "    - name: first\n      command: 'true'\n"
        "    - name: second\n      command: sleep 30\n"
        "    - name: third\n      command: touch never\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", ENTRY, "apply", str(book), "-v", "-o", "json"],
        cwd=tmp_path,
        env=ENV,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # -v announces each task as it starts
        seen.append(line)
        if "localhost: second" in line:
            break
    for _ in range(200):  # until the command itself runs
        if sleepers_in(tmp_path):
            break
        time.sleep(0.05)
    assert sleepers_in(tmp_path), "the second task's command never started"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    return proc.returncode, out, "".join(seen) + err


def test_interrupt_says_which_task_may_be_half_applied(tmp_path: Path) -> None:
    code, out, text = signal_during_second_task(tmp_path, signal.SIGINT)
    assert code == 130, text
    assert "INTERRUPTED" in text
    assert "second: was running and may be half-applied" in text
    assert "first: was running" not in text
    assert not (tmp_path / "never").exists()
    assert out == ""  # no JSON document for a run that did not finish
    assert sleepers_in(tmp_path) == [], "the interrupted command was left running"


def sleepers_in(cwd: Path) -> list[int]:
    """PIDs of `sleep 30` processes working in `cwd` (ours, not anyone else's)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (proc / "cmdline").read_bytes() == b"sleep\x0030\x00" and (
                proc / "cwd"
            ).resolve() == cwd.resolve():
                found.append(int(proc.name))
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return found


def test_facts_of_a_reachable_and_an_unreachable_host(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.ini"
    # port 1 on loopback: nothing listens, the connection is refused at once
    inv.write_text("here ansible_connection=local\nnowhere ansible_host=127.0.0.1 ansible_port=1\n")
    proc = provision("facts", "-i", inv, cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr
    assert "unreachable nowhere" in proc.stderr
    machine = subprocess.check_output(["uname", "-m"], text=True).strip()
    [row] = [ln.split() for ln in proc.stdout.splitlines() if ln.startswith("here")]
    os_id = next(
        ln.split("=", 1)[1].strip().strip('"')
        for ln in Path("/etc/os-release").read_text().splitlines()
        if ln.startswith("ID=")
    )
    assert row[1] == DISTRIBUTIONS.get(os_id, row[1]) and machine in row
    doc = json.loads(provision("facts", "-i", inv, "-l", "here", "-o", "json", cwd=tmp_path).stdout)
    assert doc["here"]["architecture"] == machine
    assert set(doc) == {"here"}


def test_undefined_name_in_a_template_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    # Templates are rendered when the play is compiled, before any host is touched: the
    # error stops the run at once (exit 1, "nothing was changed"), naming the file.
    (tmp_path / "motd.j2").write_text("Welcome to {{ clasroom }}\n")
    book = tmp_path / "p.yml"
    book.write_text(
        "- hosts: localhost\n  tasks:\n"
        f"    - template: {{src: motd.j2, dest: {tmp_path / 'motd'}}}\n"
        "    - name: after\n      command: 'true'\n"
    )
    proc = provision("apply", book, "--check", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "template motd.j2:1: 'clasroom' is undefined" in proc.stdout + proc.stderr
    assert "nothing was changed" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "motd").exists()


def _selection_setup(tmp_path: Path) -> tuple[Path, Path]:
    book = tmp_path / "p.yml"
    book.write_text(
        "- hosts: all\n  tasks:\n"
        "    - name: tagged\n      command: 'true'\n      tags: [web, db]\n"
        "    - name: plain\n      command: 'true'\n"
    )
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    web1: {host: 192.0.2.1}\n")
    return book, inv


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--limit", ""), "--limit '' is an empty pattern"),
        (("--limit", "  "), "--limit '  ' is an empty pattern"),
        (("--limit", "db*"), "--limit 'db*' matches no host"),
        (("--start-at-task", "Plain"), "--start-at-task 'Plain' names no task in the playbook"),
        (("--tags", "wbe"), "--tags wbe matches no task; the playbook's tags: db, web"),
    ],
)
def test_a_selection_that_selects_nothing_is_bad_input(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    book, inv = _selection_setup(tmp_path)
    for check in ((), ("--check",)):
        proc = provision("apply", "-i", inv, book, *args, *check, cwd=tmp_path)
        assert proc.returncode == 1, proc.stderr
        assert message in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("command", [("inventory", "--list"), ("facts",)])
def test_limit_of_other_commands_selects_something(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    _, inv = _selection_setup(tmp_path)
    for limit, message in (("", "is an empty pattern"), ("nope", "matches no host")):
        proc = provision(*command, "-i", inv, "--limit", limit, cwd=tmp_path)
        assert proc.returncode == 1, proc.stderr
        assert message in proc.stderr


NO_LOG_PLAY = """\
- hosts: localhost
  vars:
    token: Tok3n-7f3a-SECRET
  tasks:
    - name: use the token
      command: echo {{ token }}
      no_log: true
      register: said
    - name: a file with it
      copy: {content: "{{ token }}\\n", dest: "{{ out }}/token"}
      no_log: true
    - name: one per secret
      command: echo {{ item }}
      loop: ["{{ token }}-a"]
      no_log: true
    - name: print what the hidden task registered
      debug: {msg: "it said {{ said.stdout | default('nothing yet') }}"}
    - name: print it another way
      debug: {var: said}
"""


@pytest.mark.parametrize("check", [(), ("--check",)], ids=["apply", "dry run"])
@pytest.mark.parametrize("verbose", [(), ("-v",), ("-vv",), ("-vvv",)], ids=lambda v: v or "-")
def test_no_log_hides_everything_of_the_task(
    tmp_path: Path, check: tuple[str, ...], verbose: tuple[str, ...]
) -> None:
    book = tmp_path / "p.yml"
    book.write_text(NO_LOG_PLAY)
    args: tuple[str | Path, ...] = (
        "apply",
        book,
        "-e",
        f"out={tmp_path}",
        "--diff",
        *check,
        *verbose,
    )
    for output in ("text", "json"):
        proc = provision(*args, "-o", output, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert "Tok3n" not in proc.stdout + proc.stderr
        assert "(output hidden: no_log)" in proc.stdout + proc.stderr
    if not check:
        assert (tmp_path / "token").read_text() == "Tok3n-7f3a-SECRET\n"  # it did run


def test_validate_renders_template_files_for_each_host(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "motd.j2").write_text("Hello\n\n{{ site }} and {{ foo }}\n")
    (tmp_path / "templates" / "bad.j2").write_text("a\n{% if %}\n")
    book = tmp_path / "p.yml"
    book.write_text(
        "- hosts: all\n  vars: {site: lab}\n  tasks:\n"
        "    - template: {src: templates/motd.j2, dest: /etc/motd}\n"
        "    - template: {src: templates/bad.j2, dest: /etc/bad}\n"
    )
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    web1: {host: 192.0.2.1}\n    web2: {host: 192.0.2.2}\n")
    proc = provision("validate", book, "-i", inv, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert (
        "template templates/motd.j2:3: 'foo' is undefined in '{{ site }} and {{ foo }}'"
        " (hosts web1, web2)" in proc.stderr
    )
    assert "template templates/bad.j2:2: template syntax error" in proc.stderr
    assert "Hello" not in proc.stderr  # only the line at fault is quoted
