"""become with a sudo password (and the password never shown), and the
selectors --limit, --tags and --skip-tags touching only what they name, and an
unreachable host not stopping the others."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import provision, statuses
from tests.lab import faults
from tests.lab.api import Host, Lab

pytestmark = pytest.mark.lab

BECOME_PLAYBOOK = """\
- name: Things only root may do
  hosts: all
  become: true
  tasks:
    - name: Write a root-owned file
      copy:
        dest: "{{ marker }}"
        content: "written for {{ login_user }}\\n"
        mode: "0600"
    - name: Who runs the commands
      command: id -un
      register: who
      changed_when: false
    - name: It is root
      assert:
        that: ["who.stdout == 'root'"]
"""


def teacher_inventory(tmp_path: Path, lab: Lab, host: Host, password: str | None) -> Path:
    """lab01 reached as `teacher`, whose sudo asks for a password."""
    lines = [
        "all:",
        "  vars:",
        f"    user: {lab.teacher_user}",
        f"    ssh_key: {lab.ssh_key}",
        f"    known_hosts: {lab.known_hosts}",
        "  hosts:",
        f"    {host.name}:",
        f"      host: {host.ip}",
    ]
    if password is not None:
        lines.append(f"      become_password: {password}")
    path = tmp_path / "teacher.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def marker(lab: Lab) -> Iterator[str]:
    path = f"/etc/provision-test-{uuid.uuid4().hex[:8]}"
    yield path
    for host in lab.hosts:
        lab.ssh(host, f"rm -f {path} {path}.a {path}.b")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "play.yml"
    path.write_text(text)
    return path


def owner_of(lab: Lab, host: Host, path: str) -> str:
    proc = lab.ssh(host, f"stat -c '%U %a' {path}")
    return proc.stdout.strip() if proc.returncode == 0 else "missing"


# --- become with a password ---------------------------------------------------------------


def test_become_password_from_inventory(tmp_path: Path, lab: Lab, marker: str) -> None:
    host = lab.hosts[0]
    inv = teacher_inventory(tmp_path, lab, host, lab.teacher_password)
    book = write(tmp_path, BECOME_PLAYBOOK)
    run = provision("apply", "-i", inv, book, "-e", f"marker={marker}", "-vv")
    assert run.code == 0, run.output
    assert owner_of(lab, host, marker) == "root 600"
    assert lab.ssh(host, f"cat {marker}").stdout == "written for teacher\n"
    assert lab.teacher_password not in run.output


def test_ask_become_pass_reads_it_once(tmp_path: Path, lab: Lab, marker: str) -> None:
    host = lab.hosts[0]
    inv = teacher_inventory(tmp_path, lab, host, None)
    book = write(tmp_path, BECOME_PLAYBOOK)
    run = provision(
        "apply", "-i", inv, book, "-e", f"marker={marker}", "-K", "-o", "json",
        input=lab.teacher_password + "\n",
    )  # fmt: skip
    assert run.code == 0, run.output
    assert owner_of(lab, host, marker) == "root 600"
    assert lab.teacher_password not in run.output


def test_missing_become_password_is_explained(tmp_path: Path, lab: Lab, marker: str) -> None:
    host = lab.hosts[0]
    inv = teacher_inventory(tmp_path, lab, host, None)
    run = provision("apply", "-i", inv, write(tmp_path, BECOME_PLAYBOOK), "-e", f"marker={marker}")
    assert run.code == 2, run.output
    assert "needs a password on this host" in run.output
    assert "-K/--ask-become-pass" in run.output
    assert owner_of(lab, host, marker) == "missing"


def test_wrong_become_password_is_refused_and_not_shown(
    tmp_path: Path, lab: Lab, marker: str
) -> None:
    host = lab.hosts[0]
    wrong = "not-the-Pa55word"
    inv = teacher_inventory(tmp_path, lab, host, wrong)
    run = provision(
        "apply", "-i", inv, write(tmp_path, BECOME_PLAYBOOK), "-e", f"marker={marker}", "-vv"
    )
    assert run.code == 2, run.output
    assert "the become password was rejected" in run.output
    assert wrong not in run.output
    assert owner_of(lab, host, marker) == "missing"


def test_inventory_list_hides_the_password(tmp_path: Path, lab: Lab) -> None:
    inv = teacher_inventory(tmp_path, lab, lab.hosts[0], lab.teacher_password)
    run = provision("inventory", "-i", inv, "--list")
    assert run.code == 0, run.output
    assert lab.teacher_password not in run.output
    assert "********" in run.stdout


# --- selecting hosts and tasks --------------------------------------------------------------

TWO_TASKS = """\
- hosts: all
  become: true
  tasks:
    - name: Task a
      file: {path: "{{ marker }}.a", state: touch}
      tags: [a]
    - name: Task b
      file: {path: "{{ marker }}.b", state: touch}
      tags: [b]
"""


def present(lab: Lab, marker: str) -> dict[str, set[str]]:
    """host → which of marker.a / marker.b exist."""
    out: dict[str, set[str]] = {}
    for host in lab.hosts:
        proc = lab.ssh(host, f"for s in a b; do test -e {marker}.$s && echo $s; done; true")
        out[host.name] = set(proc.stdout.split())
    return out


def test_limit_touches_only_the_named_host(tmp_path: Path, lab: Lab, marker: str) -> None:
    target = lab.hosts[1].name
    run = provision(
        "apply", "-i", lab.inventory_path, write(tmp_path, TWO_TASKS),
        "-e", f"marker={marker}", "--limit", target, "-o", "json",
    )  # fmt: skip
    assert run.code == 0, run.output
    assert set(run.doc["hosts"]) == {target}
    assert {h: s for h, s in present(lab, marker).items() if s} == {target: {"a", "b"}}


def test_tags_run_only_the_tagged_task(tmp_path: Path, lab: Lab, marker: str) -> None:
    run = provision(
        "apply", "-i", lab.inventory_path, write(tmp_path, TWO_TASKS),
        "-e", f"marker={marker}", "--tags", "a", "-o", "json",
    )  # fmt: skip
    assert run.code == 0, run.output
    assert {task for _, task, _ in statuses(run.doc, "changed")} == {"Task a"}
    assert all(s == {"a"} for s in present(lab, marker).values())


def test_skip_tags_leave_the_tagged_task_out(tmp_path: Path, lab: Lab, marker: str) -> None:
    run = provision(
        "apply", "-i", lab.inventory_path, write(tmp_path, TWO_TASKS),
        "-e", f"marker={marker}", "--skip-tags", "a", "-o", "json",
    )  # fmt: skip
    assert run.code == 0, run.output
    assert all(s == {"b"} for s in present(lab, marker).values())


def test_unreachable_host_does_not_stop_the_others(tmp_path: Path, lab: Lab, marker: str) -> None:
    down = lab.hosts[-1]
    with faults.link_down(lab, down):
        run = provision(
            "apply", "-i", lab.inventory_path, write(tmp_path, TWO_TASKS),
            "-e", f"marker={marker}", "-o", "json",
        )  # fmt: skip
    assert run.code == 4, run.output
    hosts = run.doc["hosts"]
    assert hosts[down.name]["unreachable"] is True
    assert down.name in run.stderr and "unreachable" in run.stderr.lower()
    for host in lab.hosts[:-1]:
        assert hosts[host.name]["changed"] == 2 and not hosts[host.name]["unreachable"]
    assert present(lab, marker)[down.name] == set()
