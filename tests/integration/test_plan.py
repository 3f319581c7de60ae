"""A plan you review, then apply exactly: `provision plan`, then `provision apply --plan`,
with the docker playbook on the lab's three (default, CentOS 7 like) hosts.

- fresh hosts: the apply changes exactly the tasks the plan said would change, no drift;
- a host changed by hand after the plan (a package the plan would install, lab01; the
  repository file a task manages, lab02): it stops at the drifted task with exit code 3,
  what is after it not done; lab03 converges;
- a plan made against converged hosts applies nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import DOCKER_PLAYBOOK, provision, reset_all, statuses
from tests.lab.api import Lab

pytestmark = pytest.mark.lab

PREREQUISITES = "Install prerequisites"
REPOSITORY = "Add the Docker CE repository"
INSTALL = "Install Docker CE"
REPO_FILE = """\
[docker-ce-stable]
name=Docker CE Stable - $basearch
baseurl=http://10.66.0.1:8080/linux/centos/$releasever/$basearch/stable
enabled=1
gpgcheck=1
gpgkey=http://10.66.0.1:8080/linux/centos/gpg
"""


def make_plan(lab: Lab, path: Path) -> dict[str, Any]:
    run = provision("plan", "-i", lab.inventory_path, DOCKER_PLAYBOOK, "-o", path)
    assert run.code == 0, run.output
    assert "would change" in run.stdout or "ok" in run.stdout
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def planned(plan: dict[str, Any], status: str) -> set[tuple[str, str, str]]:
    return {
        (host, t["task"], t["item"] or "")
        for host, h in plan["hosts"].items()
        for t in h["tasks"]
        if t["status"] == status
    }


def rpm_has(lab: Lab, host: str, package: str) -> bool:
    return lab.ssh(host, f"rpm -q {package}").returncode == 0


def test_a_plan_on_fresh_hosts_applies_exactly_then_a_converged_plan_applies_nothing(
    lab: Lab, tmp_path: Path
) -> None:
    reset_all(lab)
    plan = make_plan(lab, tmp_path / "fresh.plan")
    assert sorted(plan["hosts"]) == ["lab01", "lab02", "lab03"] and not plan["left_out"]
    would = planned(plan, "changed")
    assert {t for _, t, _ in would} >= {PREREQUISITES, REPOSITORY, INSTALL}
    applied = provision("apply", "--plan", tmp_path / "fresh.plan", "-o", "json")
    assert applied.code == 0, applied.output
    assert statuses(applied.doc, "stale") == set()
    assert statuses(applied.doc, "failed") == set()
    assert statuses(applied.doc, "changed") == would, "the changes are exactly the plan's"
    for host in ("lab01", "lab02", "lab03"):
        assert rpm_has(lab, host, "docker-ce")

    again = make_plan(lab, tmp_path / "converged.plan")
    assert planned(again, "changed") == set()
    rerun = provision("apply", "--plan", tmp_path / "converged.plan", "-o", "json")
    assert rerun.code == 0, rerun.output
    assert statuses(rerun.doc, "changed") == set()
    assert statuses(rerun.doc, "stale") == set()


def test_a_host_changed_by_hand_after_the_plan_stops_at_the_drifted_task(
    lab: Lab, tmp_path: Path
) -> None:
    reset_all(lab)
    make_plan(lab, tmp_path / "change.plan")
    # After the review, before the apply, someone changes two hosts by hand.
    assert lab.ssh("lab01", "yum install -y yum-utils").returncode == 0
    assert rpm_has(lab, "lab01", "yum-utils")
    # The repository file the plan would write, written by hand with another name line.
    repo = REPO_FILE.replace("name=Docker CE Stable - $basearch", "name=mine")
    assert lab.ssh("lab02", "cat > /etc/yum.repos.d/docker-ce.repo", input=repo).returncode == 0
    run = provision("apply", "--plan", tmp_path / "change.plan", "-o", "json")
    assert run.code == 3, run.output
    assert statuses(run.doc, "stale") == {("lab01", PREREQUISITES, ""), ("lab02", REPOSITORY, "")}
    assert statuses(run.doc, "failed") == set()
    hosts = run.doc["hosts"]
    assert hosts["lab01"].get("stale") and hosts["lab02"].get("stale")
    assert "stale" not in hosts["lab03"]
    stale_msg = {r["host"]: r["msg"] for r in run.doc["results"] if r["status"] == "stale"}
    assert "the plan expected would change: + yum-utils" in stale_msg["lab01"]
    assert "plan is stale for lab01 at 'Install prerequisites'" in run.stderr
    assert "not run on lab02: Install Docker CE" in run.stderr
    # What came before the drifted task was applied (the vault play, the key on lab02);
    # nothing after it; the other host converged.
    assert "centos-vault" in lab.ssh("lab01", "cat /etc/yum.repos.d/CentOS-Base.repo").stdout
    assert ("lab02", "Install prerequisites", "") in statuses(run.doc, "changed")
    assert not rpm_has(lab, "lab01", "lvm2")
    assert not rpm_has(lab, "lab02", "docker-ce")
    assert "name=mine" in lab.ssh("lab02", "cat /etc/yum.repos.d/docker-ce.repo").stdout
    assert rpm_has(lab, "lab03", "docker-ce")
    assert ("lab03", INSTALL, "") in statuses(run.doc, "changed")
