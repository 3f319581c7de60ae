"""The class's report card on three lab hosts: lab01 converged with the docker playbook,
lab02 half-provisioned (Docker installed, then the service disabled and the student out
of the docker group, as a run stopped half-way leaves it), lab03 converged and then
Docker stopped. `provision verify` says exactly that, in its exit code, its JSON, its
JUnit XML and its HTML page, and changes nothing."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.card_dom import PageSeen, read_page
from tests.integration.helpers import DOCKER_PLAYBOOK, Run, provision, reset_all, snapshot
from tests.lab.api import Lab

pytestmark = pytest.mark.lab

START = "Start Docker now and at boot"
USERS = "Let the users run docker without sudo"
CHECKS = (
    "Check the client talks to the daemon (docker version)",
    "Check a container runs (docker run hello-world)",
)
# host → the tasks that do not pass, and how (the terminal's words)
EXPECTED = {
    "lab01": {},
    "lab02": {START: "would change", USERS: "would change", CHECKS[0]: "blocked",
              CHECKS[1]: "blocked"},
    "lab03": {START: "would change", CHECKS[0]: "blocked", CHECKS[1]: "blocked"},
}  # fmt: skip


@dataclass
class Verified:
    run: Run
    junit: ET.Element
    page: PageSeen
    before: dict[str, str]
    after: dict[str, str]


@pytest.fixture(scope="module")
def verified(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Verified]:
    hosts = lab.hosts[:3]
    assert [h.name for h in hosts] == list(EXPECTED)
    reset_all(lab, hosts)
    inv = lab.inventory_path
    applied = provision("apply", "-i", inv, DOCKER_PLAYBOOK, "-o", "json")
    assert applied.code == 0, applied.output
    lab.ssh("lab02", "systemctl disable --now docker docker.socket && gpasswd -d student docker")
    # docker.socket too: a socket left listening would start Docker at the first check
    lab.ssh("lab03", "systemctl stop docker docker.socket")
    out = tmp_path_factory.mktemp("card")
    junit, html = out / "report.xml", out / "report.html"
    before = {h.name: snapshot(lab, h) for h in hosts}
    run = provision(
        "verify", "-i", inv, DOCKER_PLAYBOOK, "--junit", junit, "--html", html, "-o", "json"
    )
    after = {h.name: snapshot(lab, h) for h in hosts}
    yield Verified(run, ET.parse(junit).getroot(), read_page(html.read_text()), before, after)
    reset_all(lab, hosts)  # the other tests expect fresh hosts


def test_verify_fails_the_run_and_changes_nothing(verified: Verified) -> None:
    assert verified.run.code == 2, verified.run.output
    assert verified.after == verified.before
    assert "VERIFY: 1 of 3 hosts pass" in verified.run.stderr


def test_the_json_says_who_passes_and_where_the_others_fail(verified: Verified) -> None:
    card = verified.run.doc["verify"]
    assert (card["summary"], card["passed"], card["failed"], card["errors"]) == (
        "1 of 3 hosts pass", 1, 2, 0
    )  # fmt: skip
    for host, wrong in EXPECTED.items():
        row = card["hosts"][host]
        assert row["verdict"] == ("fail" if wrong else "pass"), host
        seen = {t["task"]: t["status"] for t in row["tasks"] if t["verdict"] == "fail"}
        assert seen == wrong, host
        assert not [t for t in row["tasks"] if t["verdict"] == "error"], host
    lab03 = {t["task"]: t for t in card["hosts"]["lab03"]["tasks"]}
    assert (
        "blocked by earlier planned changes (the latest: Start Docker"
        in (lab03[CHECKS[0]]["message"])
    )
    # In the dry run itself the checks were ok, decided at apply: no task failed.
    results = verified.run.doc["results"]
    assert not [r for r in results if r["status"] == "failed"]
    blocked = {(r["host"], r["task"]) for r in results if r["blocked_by"]}
    assert blocked == {(h, c) for h in ("lab02", "lab03") for c in CHECKS}


def test_the_junit_has_a_failure_exactly_where_a_host_is_not_right(verified: Verified) -> None:
    suites = {s.get("name"): s for s in verified.junit.iter("testsuite")}
    assert list(suites) == list(EXPECTED)
    for host, wrong in EXPECTED.items():
        suite = suites[host]
        failures = {
            c.get("name"): c.find("failure").get("type")  # type: ignore[union-attr]
            for c in suite.iter("testcase")
            if c.find("failure") is not None
        }
        assert failures == wrong, host
        assert (suite.get("failures"), suite.get("errors")) == (str(len(wrong)), "0"), host
        assert int(suite.get("tests") or 0) == len(suite.findall("testcase")) >= 10
    start = next(c for c in suites["lab03"].iter("testcase") if c.get("name") == START)
    assert start.get("classname") == "Install Docker CE"


def test_the_page_shows_the_same_grid(verified: Verified) -> None:
    page = verified.page
    assert page.summary == "1 of 3 hosts pass"
    assert page.hosts == {"lab01": "pass", "lab02": "fail", "lab03": "fail"}
    for host, wrong in EXPECTED.items():
        failing = {task for (h, task), cell in page.cells.items() if h == host
                   and cell.verdict == "fail"}  # fmt: skip
        assert failing == set(wrong), host
    start = page.cells[("lab03", START)]
    assert "would change" in start.in_details and "state: inactive → active" in start.in_details
