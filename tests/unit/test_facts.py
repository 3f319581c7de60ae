"""Facts: the probe's output parsed into what plays branch on, and when plays gather them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from provisioner.errors import ConnectError
from provisioner.events import Status
from provisioner.inventory import Host, load_inventory
from provisioner.playbook.load import load_playbook
from provisioner.playbook.variables import needs_facts, uses_facts
from provisioner.probes import host as facts
from provisioner.runner import Runner, RunOptions
from provisioner.transport.base import Result
from provisioner.transport.fake import FakeConnection
from provisioner.validate import validate

DATA = Path(__file__).parent / "data" / "facts"


def recorded(name: str) -> facts.Facts:
    found = facts.parse((DATA / name).read_text())
    assert found is not None
    return found


def test_centos7() -> None:
    f = recorded("centos7.txt")
    assert (f.distribution, f.distribution_version, f.major_version) == ("CentOS", "7.9.2009", "7")
    assert (f.os_family, f.pkg_mgr, f.service_mgr) == ("RedHat", "yum", "systemd")
    assert (f.architecture, f.selinux, f.hostname) == ("x86_64", "enforcing", "docker01")


def test_almalinux9() -> None:
    f = recorded("almalinux9.txt")
    assert (f.distribution, f.distribution_version, f.major_version) == ("AlmaLinux", "9.4", "9")
    assert (f.os_family, f.pkg_mgr, f.selinux) == ("RedHat", "dnf", "permissive")


def test_rocky8_without_selinux() -> None:
    f = recorded("rocky8.txt")
    assert (f.distribution, f.major_version, f.architecture) == ("Rocky", "8", "aarch64")
    assert f.selinux == "absent"


def test_variables_have_ansible_names() -> None:
    v = recorded("centos7.txt").variables()
    assert v["facts"]["major_version"] == "7"
    assert v["ansible_distribution"] == "CentOS"
    assert v["ansible_distribution_major_version"] == "7"
    assert v["ansible_os_family"] == "RedHat"
    assert v["ansible_pkg_mgr"] == "yum"
    assert v["ansible_selinux"] == {"status": "enabled", "mode": "enforcing"}
    assert v["ansible_facts"]["distribution"] == "CentOS"
    assert set(v) <= facts.FACT_NAMES


def test_unknown_system_and_foreign_output() -> None:
    f = facts.parse("@@facts@@\narch=riscv64\n")
    assert f is not None
    assert (f.distribution, f.major_version, f.pkg_mgr) == ("unknown", "unknown", "unknown")
    assert facts.parse("sh: 1: syntax error") is None


def test_probe_runs_in_a_real_sh() -> None:
    """The script itself (quoting, sed) on this machine: whatever it is, it parses."""
    out = subprocess.run(["sh", "-c", facts.SCRIPT], capture_output=True, text=True, check=True)
    f = facts.parse(out.stdout)
    assert f is not None
    assert f.architecture == subprocess.check_output(["uname", "-m"], text=True).strip()
    assert f.distribution != "unknown"


@pytest.mark.parametrize(
    ("text", "uses"),
    [
        ("facts.major_version == '7'", True),
        ("{{ ansible_distribution }}", True),
        ("ansible_facts['os_family'] == 'RedHat'", True),
        ("docker-ce", False),
        ("inventory_hostname == 'a'", False),
        ("Start Docker now and at boot", False),
    ],
)
def test_uses_facts(text: str, uses: bool) -> None:
    assert uses_facts([{"x": text}]) is uses


def _setup(tmp_path: Path, body: str) -> tuple[Path, Path]:
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    h1: {host: 10.0.0.1}\n    h2: {host: 10.0.0.2}\n")
    book = tmp_path / "play.yml"
    book.write_text(body)
    return inv, book


BRANCHING = """
- hosts: all
  tasks:
    - name: on EL7
      debug: {msg: "seven {{ facts.distribution_version }}"}
      when: ansible_distribution_major_version == '7'
    - name: elsewhere
      debug: {msg: "not seven"}
      when: facts.major_version != '7'
- hosts: all
  tasks:
    - debug: {msg: "{{ facts.pkg_mgr }}"}
"""


def test_plays_branch_on_facts_gathered_once_per_host(tmp_path: Path) -> None:
    inv, book = _setup(tmp_path, BRANCHING)
    answers = {"h1": "centos7.txt", "h2": "almalinux9.txt"}
    conns = {
        name: FakeConnection(rules=[("@@facts@@", Result(0, (DATA / file).read_text(), ""))])
        for name, file in answers.items()
    }

    def connect(host: Host) -> FakeConnection:
        return conns[host.name]

    summary = Runner(load_playbook(book), load_inventory(inv), connect, RunOptions()).run()
    msgs = {(r.host, r.task, r.status.value, r.msg) for r in summary.results}
    assert ("h1", "on EL7", "ok", "seven 7.9.2009") in msgs
    assert ("h1", "elsewhere", "skipped", "when: facts.major_version != '7' was false") in msgs
    assert (
        "h2",
        "on EL7",
        "skipped",
        "when: ansible_distribution_major_version == '7' was false",
    ) in msgs
    assert ("h2", "debug", "ok", "dnf") in msgs
    assert [len(c.calls) for c in conns.values()] == [1, 1], "one gathering per host and run"


def test_play_that_names_no_fact_gathers_none(tmp_path: Path) -> None:
    inv, book = _setup(tmp_path, "- hosts: all\n  tasks:\n    - debug: {msg: hi}\n")
    conn = FakeConnection(rules=[])  # any call would raise UnexpectedCall
    summary = Runner(load_playbook(book), load_inventory(inv), lambda h: conn, RunOptions()).run()
    assert summary.exit_code == 0
    assert conn.calls == []


def test_gather_facts_false_leaves_facts_undefined(tmp_path: Path) -> None:
    body = (
        "- hosts: h1\n  gather_facts: false\n  tasks:\n    - debug: {msg: '{{ facts.pkg_mgr }}'}\n"
    )
    inv, book = _setup(tmp_path, body)
    conn = FakeConnection(rules=[])
    summary = Runner(load_playbook(book), load_inventory(inv), lambda h: conn, RunOptions()).run()
    [res] = summary.results
    assert res.status is Status.FAILED and "'facts' is undefined" in res.msg


def test_unreachable_while_gathering(tmp_path: Path) -> None:
    inv, book = _setup(tmp_path, BRANCHING)
    conn = FakeConnection(fail=ConnectError("h1", "Connection refused"))
    summary = Runner(load_playbook(book), load_inventory(inv), lambda h: conn, RunOptions()).run()
    assert {(r.host, r.task, r.status) for r in summary.results} == {
        ("h1", "Gathering facts", Status.UNREACHABLE),
        ("h2", "Gathering facts", Status.UNREACHABLE),
    }
    assert summary.exit_code == 4


def test_garbage_from_the_probe_fails_the_host(tmp_path: Path) -> None:
    inv, book = _setup(tmp_path, BRANCHING)
    conn = FakeConnection(rules=[("@@facts@@", Result(127, "", "sh: sed: not found"))])
    summary = Runner(
        load_playbook(book), load_inventory(inv), lambda h: conn, RunOptions(limit="h1")
    ).run()
    [res] = summary.results
    assert res.status is Status.FAILED
    assert "could not gather facts (exit 127): sh: sed: not found" in res.msg


def test_validate_accepts_facts_it_cannot_know(tmp_path: Path) -> None:
    inv, book = _setup(tmp_path, BRANCHING)
    assert validate(load_playbook(book), load_inventory(inv), {}) == []


@pytest.mark.parametrize(
    ("files", "task"),
    [
        (
            {"motd.j2": "Welcome to {{ facts.distribution }}\n"},
            "template: {src: motd.j2, dest: /x}",
        ),
        ({"os.yml": "pm: '{{ ansible_pkg_mgr }}'\n"}, "debug: {msg: '{{ pm }}'}"),
    ],
    ids=["template-file", "vars-file"],
)
def test_a_fact_named_only_in_a_file_is_gathered(
    tmp_path: Path, files: dict[str, str], task: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    vars_files = "  vars_files: [os.yml]\n" if "os.yml" in files else ""
    book = tmp_path / "play.yml"
    book.write_text(f"- hosts: all\n{vars_files}  tasks:\n    - {task}\n")
    assert needs_facts(load_playbook(book).plays[0])
    (tmp_path / "plain.j2").write_text("Welcome\n")
    book.write_text("- hosts: all\n  tasks:\n    - template: {src: plain.j2, dest: /x}\n")
    assert not needs_facts(load_playbook(book).plays[0])
