"""The report card: a run's results read as pass/fail/error/skipped per host and task,
and its JUnit XML, HTML page and JSON part; `provision verify` and `apply --junit/--html`
on three local "hosts" (directories), as a teacher runs them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from provisioner.events import HostStats, RunSummary, Status, TaskResult
from provisioner.report_card.document import to_json
from provisioner.report_card.junit import to_junit
from provisioner.report_card.page import to_html
from provisioner.report_card.verdicts import Card, Verdict, card, judge
from tests.card_dom import read_page
from tests.unit.run_cli import provision

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "output-schema.json").read_text()
)


def result(host: str, task: str, status: Status, **kw: object) -> TaskResult:
    fields: dict[str, object] = {"check": True, **kw}
    return TaskResult(host, "Docker", task, "package", status, **fields)  # type: ignore[arg-type]


def summary(*results: TaskResult, check: bool = True, unreachable: str = "") -> RunSummary:
    run = RunSummary(check=check)
    for r in results:
        stats = run.hosts.setdefault(r.host, HostStats())
        stats.count(r)
    if unreachable:
        run.hosts[unreachable].unreachable = True
    run.results = list(results)
    return run


DIFF = "--- /etc/motd\n+++ /etc/motd\n-old\n+<b>new</b> & \x1b[31mred\n"


def classroom() -> Card:
    """s1 converged, s2 half (a package to add, its check blocked), s3 unreachable."""
    return card(
        summary(
            result("s1", "Install", Status.OK),
            result("s1", "Write motd", Status.OK),
            result("s1", "Check", Status.OK, check=False, would_run=True),
            result("s2", "Install", Status.CHANGED, summary=("+ docker-ce",)),
            result("s2", "Write motd", Status.CHANGED, summary=("~ /etc/motd",), diff=DIFF),
            result(
                "s2",
                "Check",
                Status.OK,
                check=False,
                undecided=True,
                blocked_by="Write motd",
                msg="decided at apply: blocked by … (the latest: Write motd); now: exit 127",
            ),
            result("s3", "Install", Status.UNREACHABLE, msg="connection refused"),
            unreachable="s3",
        ),
        "provision verify docker.yml",
    )


def test_a_dry_run_read_as_a_test() -> None:
    report = classroom()
    assert [c.task for c in report.columns] == ["Install", "Write motd", "Check"]
    rows = {h.host: [(c.verdict.value, c.word) for c in h.cells] for h in report.hosts}
    assert rows == {
        "s1": [("pass", "ok")] * 3,
        "s2": [("fail", "would change"), ("fail", "would change"), ("fail", "blocked")],
        "s3": [("error", "unreachable"), ("skipped", "not run"), ("skipped", "not run")],
    }
    assert [h.verdict for h in report.hosts] == [Verdict.PASS, Verdict.FAIL, Verdict.ERROR]
    assert report.headline == "1 of 3 hosts pass"
    assert report.exit_code == 6  # a host fails (2), one was unreachable (4)
    s3 = report.hosts[2]
    assert s3.cells[1].message == "the host stopped at 'Install'"


@pytest.mark.parametrize(
    ("status", "kw", "dry", "expected"),
    [
        (Status.OK, {}, True, ("pass", "ok")),
        (Status.CHANGED, {}, True, ("fail", "would change")),
        (Status.CHANGED, {"would_run": True}, True, ("fail", "would run")),
        (Status.CHANGED, {}, False, ("pass", "changed")),
        (Status.FAILED, {"msg": "no such package"}, True, ("fail", "failed")),
        (Status.FAILED, {"ignored": True}, True, ("skipped", "failed (ignored)")),
        (Status.OK, {"undecided": True, "msg": "decided at apply: x"}, True, ("error", "at apply")),
        (Status.OK, {"blocked_by": "Install"}, True, ("fail", "blocked")),
        (Status.SKIPPED, {"msg": "when: false"}, True, ("skipped", "skipped")),
        (Status.UNREACHABLE, {}, False, ("error", "unreachable")),
    ],
)
def test_each_result_has_its_verdict(
    status: Status, kw: dict[str, object], dry: bool, expected: tuple[str, str]
) -> None:
    cell = judge(result("h", "t", status, **kw), dry)
    assert (cell.verdict.value, cell.word) == expected


def test_a_loop_is_one_task_with_its_worst_item() -> None:
    run = summary(
        result("h", "Users", Status.OK, item="alice"),
        result("h", "Users", Status.CHANGED, item="bob", summary=("groups: +docker",)),
        result("h", "Users", Status.CHANGED, item="carol", summary=("groups: +docker",)),
    )
    [cell] = card(run).hosts[0].cells
    assert (cell.verdict, cell.word) == (Verdict.FAIL, "would change")
    assert cell.message == "[bob]\n[carol]"
    assert cell.detail == "[bob]\ngroups: +docker\n\n[carol]\ngroups: +docker"


def test_junit_has_a_suite_per_host_and_a_case_per_task() -> None:
    root = ET.fromstring(to_junit(classroom()))  # well-formed, control characters too
    assert root.tag == "testsuites"
    totals = {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")}
    assert totals == {"tests": "9", "failures": "3", "errors": "1", "skipped": "2"}
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == ["s1", "s2", "s3"]
    counts = {
        n: (s.get("tests"), s.get("failures"), s.get("errors"), s.get("skipped"))
        for n, s in suites.items()
    }
    assert counts == {
        "s1": ("3", "0", "0", "0"),
        "s2": ("3", "3", "0", "0"),
        "s3": ("3", "0", "1", "2"),
    }
    cases = suites["s2"].findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("Docker", "Install"),
        ("Docker", "Write motd"),
        ("Docker", "Check"),
    ]
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("type") == "would change"
    assert "+<b>new</b> & \\x1b[31mred" in (failure.text or "")  # the diff, as text
    assert "blocked" in (cases[2].find("failure").get("message") or "")  # type: ignore[union-attr]
    error = suites["s3"].find("testcase/error")
    assert error is not None and "connection refused" in (error.get("message") or "")
    assert all(c.find("*") is None for c in suites["s1"].findall("testcase"))


def test_the_page_is_one_file_with_the_grid_and_escaped_text() -> None:
    page = to_html(classroom())
    seen = read_page(page)
    assert seen.summary == "1 of 3 hosts pass"
    assert seen.hosts == {"s1": "pass", "s2": "fail", "s3": "error"}
    assert seen.cells[("s1", "Install")].verdict == "pass"
    assert seen.cells[("s2", "Write motd")].verdict == "fail"
    assert seen.cells[("s3", "Install")].verdict == "error"
    assert "+<b>new</b> & \\x1b[31mred" in seen.cells[("s2", "Write motd")].in_details
    assert "<b>new</b>" not in page and "&lt;b&gt;new&lt;/b&gt; &amp;" in page
    assert "src=" not in page and "href=" not in page and "url(" not in page
    assert not {"link", "img", "script", "iframe"} & seen.tags


def test_the_json_part_validates_against_the_schema() -> None:
    report = classroom()
    part = to_json(report)
    doc = {"check": True, "hosts": {}, "results": [], "stopped": [], "verify": part}
    jsonschema.validate(doc, SCHEMA)
    assert (part["summary"], part["passed"], part["failed"], part["errors"]) == (
        "1 of 3 hosts pass",
        1,
        1,
        1,
    )
    assert part["hosts"]["s2"]["tasks"][2]["status"] == "blocked"


INVENTORY = """\
all:
  hosts:
    s1: {connection: local, home: "{{ base }}/s1"}
    s2: {connection: local, home: "{{ base }}/s2"}
    s3: {connection: local, home: "{{ base }}/s3"}
"""
PLAYBOOK = """\
- name: Lesson
  hosts: all
  gather_facts: false
  tasks:
    - name: Make the folder
      file: {path: "{{ home }}", state: directory}
    - name: Write the motd
      copy: {dest: "{{ home }}/motd", content: "hello <class>\\n"}
    - name: Check the motd
      command: grep -q hello {{ home }}/motd
      changed_when: false
      check_mode: false
    - name: Check it runs
      command: test -e {{ home }}/running
      changed_when: false
      check_mode: false
"""


TASKS = ("Make the folder", "Write the motd", "Check the motd", "Check it runs")


@pytest.fixture()
def lesson(tmp_path: Path) -> Path:
    (tmp_path / "hosts.yml").write_text(INVENTORY.replace("{{ base }}", str(tmp_path)))
    (tmp_path / "lesson.yml").write_text(PLAYBOOK)
    (tmp_path / "s1").mkdir()
    (tmp_path / "s1" / "motd").write_text("hello <class>\n")  # converged
    (tmp_path / "s1" / "running").write_text("")
    (tmp_path / "s2").mkdir()  # half: the folder, no motd yet
    (tmp_path / "s3").mkdir()
    (tmp_path / "s3" / "motd").write_text("hello <class>\n")  # right, but it does not run
    return tmp_path


def test_verify_says_which_hosts_are_right(lesson: Path) -> None:
    before = sorted(p.name for p in lesson.rglob("*"))
    proc = provision(
        "verify",
        "-i",
        "hosts.yml",
        "lesson.yml",
        "--junit",
        "card.xml",
        "--html",
        "card.html",
        "-o",
        "json",
        cwd=lesson,
    )
    assert proc.returncode == 2, proc.stderr
    assert "VERIFY: 1 of 3 hosts pass" in proc.stderr
    assert "s2: fail: Write the motd (would change); Check the motd (blocked);" in proc.stderr
    assert "s3: fail: Check it runs (failed)" in proc.stderr
    doc = json.loads(proc.stdout)
    jsonschema.validate(doc, SCHEMA)
    hosts = doc["verify"]["hosts"]
    verdicts = {h: [(t["task"], t["status"]) for t in v["tasks"]] for h, v in hosts.items()}
    assert verdicts == {
        "s1": [(task, "ok") for task in TASKS],
        "s2": [
            (TASKS[0], "ok"),
            (TASKS[1], "would change"),
            (TASKS[2], "blocked"),
            (TASKS[3], "blocked"),
        ],
        "s3": [(TASKS[0], "ok"), (TASKS[1], "ok"), (TASKS[2], "ok"), (TASKS[3], "failed")],
    }
    assert "+hello <class>" in hosts["s2"]["tasks"][1]["detail"]
    suites = {
        s.get("name"): s.get("failures") for s in ET.parse(lesson / "card.xml").iter("testsuite")
    }
    assert suites == {"s1": "0", "s2": "3", "s3": "1"}
    assert "+hello &lt;class&gt;" in (lesson / "card.html").read_text()
    after = sorted(p.name for p in lesson.rglob("*"))
    assert after == sorted([*before, "card.xml", "card.html"])  # a dry run: nothing changed


def test_verify_passes_once_apply_converged_and_apply_writes_the_card_too(lesson: Path) -> None:
    for host in ("s2", "s3"):
        (lesson / host / "running").write_text("")  # what the lesson's check looks for
    proc = provision("apply", "-i", "hosts.yml", "lesson.yml", "--junit", "apply.xml", cwd=lesson)
    assert proc.returncode == 0, proc.stderr
    suites = ET.parse(lesson / "apply.xml").getroot()
    assert (suites.get("tests"), suites.get("failures"), suites.get("errors")) == ("12", "0", "0")
    proc = provision("verify", "-i", "hosts.yml", "lesson.yml", "--html", "ok.html", cwd=lesson)
    assert proc.returncode == 0, proc.stderr
    assert "VERIFY: 3 of 3 hosts pass" in proc.stdout  # after the recap, on its stream
    assert 'id="summary">3 of 3 hosts pass<' in (lesson / "ok.html").read_text()


def test_a_report_file_in_no_directory_is_bad_input(lesson: Path) -> None:
    proc = provision(
        "verify", "-i", "hosts.yml", "lesson.yml", "--junit", "no/such.xml", cwd=lesson
    )
    assert proc.returncode == 1
    assert "no/such.xml: no such directory no for the report" in proc.stderr
    assert not (lesson / "s2" / "motd").exists()


def test_no_secret_reaches_the_report_files(lesson: Path) -> None:
    """A no_log task's values stay out of the card, as out of the terminal and the JSON."""
    (lesson / "secret.yml").write_text(
        "- hosts: s2\n  gather_facts: false\n  tasks:\n"
        "    - name: Write the key\n"
        '      copy: {dest: "{{ home }}/key", content: "{{ key }}"}\n'
        "      no_log: true\n"
        "    - name: Show a check's output\n"
        "      command: echo {{ key }}\n"
        "      changed_when: false\n      check_mode: false\n"
        "      failed_when: true\n"
        "      no_log: true\n"
    )
    proc = provision(
        "verify", "-i", "hosts.yml", "secret.yml", "-e", "key=TOPSECRET123",
        "--junit", "s.xml", "--html", "s.html", "-o", "json", cwd=lesson,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    for text in (proc.stdout, proc.stderr, *(p.read_text() for p in lesson.glob("s.*"))):
        assert "TOPSECRET123" not in text
    assert "(changes hidden: no_log)" in (lesson / "s.html").read_text()
