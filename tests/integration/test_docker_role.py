"""A Docker role of our own (tests/integration/data/roles/classroom.docker), written
with the constructs the most-downloaded Galaxy Docker role uses, on an el7 host (after
el7-vault.yml) and an el9 host: the dry run changes nothing and fails nothing, apply
converges, the rerun changes nothing, and the user runs a container."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.helpers import REPO, Run, provision, snapshot, statuses
from tests.lab.api import Lab

pytestmark = pytest.mark.lab

ROLES = REPO / "tests" / "integration" / "data" / "roles"
HOSTS = {"lab01": "el7", "lab02": "el9"}


@dataclass
class Story:
    before: dict[str, str]
    after_dry_run: dict[str, str]
    dry: Run
    apply: Run
    rerun: Run


def site(lab: Lab, tmp: Path) -> Path:
    path = tmp / "site.yml"
    path.write_text(
        f"- import_playbook: {REPO / 'playbooks' / 'el7-vault.yml'}\n"
        "- hosts: lab01:lab02\n  become: true\n  roles:\n"
        "    - role: classroom.docker\n"
        f"      docker_mirror_url: {lab.repo_url}/linux\n"
        "      docker_group_users: [student]\n"
    )
    return path


@pytest.fixture(scope="module")
def story(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    for name, profile in HOSTS.items():
        lab.reset(name, profile=profile)
    book = site(lab, tmp_path_factory.mktemp("role"))
    args = ("apply", "-i", lab.inventory_path, book, "-r", ROLES, "--output", "json")
    hosts = [h for h in lab.hosts if h.name in HOSTS]
    before = {h.name: snapshot(lab, h) for h in hosts}
    dry = provision(*args, "--check")
    after = {h.name: snapshot(lab, h) for h in hosts}
    applied = provision(*args)
    rerun = provision(*args)
    yield Story(before, after, dry, applied, rerun)


def test_the_dry_run_changes_nothing_and_fails_nothing(story: Story) -> None:
    assert story.dry.code == 0, story.dry.output[-3000:]
    assert story.after_dry_run == story.before
    assert not statuses(story.dry.doc, "failed")


def test_what_apply_changes_the_dry_run_said_would_change(story: Story) -> None:
    assert story.apply.code == 0, story.apply.output[-3000:]
    changed = statuses(story.apply.doc, "changed")
    would = statuses(story.dry.doc, "changed")
    assert changed, "apply changed something"
    # What the dry run said it would include, decided at apply (it reads what getent
    # finds of a group the packages make), is the rest.
    included = {(h, "Put the users in the docker group", "student") for h in HOSTS}
    assert changed - would == included, sorted(changed - would)
    undecided = {(r["host"], r["task"]) for r in story.dry.doc["results"] if r["undecided"]}
    assert {(h, "include_tasks users.yml") for h in HOSTS} <= undecided
    # What apply did not change the dry run said it would: none but the decided-at-apply.
    assert {(h, t) for h, t, _ in would - changed} <= undecided, sorted(would - changed)


def test_the_rerun_changes_nothing(story: Story) -> None:
    assert story.rerun.code == 0, story.rerun.output[-3000:]
    assert not statuses(story.rerun.doc, "changed")
    assert not statuses(story.rerun.doc, "failed")


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_the_student_runs_a_container_and_has_the_plugins(
    story: Story, lab: Lab, host: str
) -> None:
    ran = lab.ssh(host, "docker run hello-world && docker compose version", user="student")
    assert ran.returncode == 0, ran.stderr
    assert "Hello from Docker!" in ran.stdout
    assert "Docker Compose version" in ran.stdout
