"""The seed tutorial as a playbook, on every lab host at once, from fresh hosts:
dry run (changes nothing, predicts the apply), apply, the user's own check,
rerun (changes nothing), dry run on converged hosts (predicts nothing)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.integration.helpers import (
    DOCKER_PLAYBOOK,
    Run,
    provision,
    reset_all,
    snapshot,
    statuses,
)
from tests.lab.api import Lab

pytestmark = pytest.mark.lab

TASKS_THAT_CHANGE = {
    "Install prerequisites",
    "Add the Docker CE repository",
    "Install Docker CE",
    "Start Docker now and at boot",
    "Let the users run docker without sudo",
}
CHECK_TASKS = {
    "Check the client talks to the daemon (docker version)",
    "Check a container runs (docker run hello-world)",
}


@dataclass
class Story:
    before: dict[str, str]  # host → snapshot on the fresh host
    after_dry_run: dict[str, str]
    dry: Run
    apply: Run
    rerun: Run
    dry_converged: Run


@pytest.fixture(scope="module")
def story(lab: Lab) -> Story:
    reset_all(lab)
    inv = lab.inventory_path
    before = {h.name: snapshot(lab, h) for h in lab.hosts}
    dry = provision("apply", "-i", inv, DOCKER_PLAYBOOK, "--check", "-o", "json")
    after = {h.name: snapshot(lab, h) for h in lab.hosts}
    apply = provision("apply", "-i", inv, DOCKER_PLAYBOOK, "-o", "json")
    rerun = provision("apply", "-i", inv, DOCKER_PLAYBOOK, "-o", "json")
    dry_converged = provision("apply", "-i", inv, DOCKER_PLAYBOOK, "--check", "-o", "json")
    return Story(before, after, dry, apply, rerun, dry_converged)


def test_dry_run_on_fresh_hosts_changes_nothing(story: Story) -> None:
    assert story.dry.code == 0, story.dry.stderr
    for host, snap in story.before.items():
        assert story.after_dry_run[host] == snap, f"the dry run changed {host}"


def test_dry_run_on_fresh_hosts_lists_every_task_as_would_change(story: Story, lab: Lab) -> None:
    doc = story.dry.doc
    assert doc["check"] is True
    assert not statuses(doc, "failed")
    for host in lab.hosts:
        would = {task for (h, task, _) in statuses(doc, "changed") if h == host.name}
        assert would == TASKS_THAT_CHANGE, host.name
        # The checks change nothing, so a dry run does not run them.
        skipped = {task for (h, task, _) in statuses(doc, "skipped") if h == host.name}
        assert skipped == CHECK_TASKS


def test_dry_run_explains_what_only_an_earlier_change_provides(story: Story) -> None:
    reasons = {
        r["task"]: r["msg"]
        for r in story.dry.doc["results"]
        if r["host"] == "lab01" and r["status"] == "changed" and r["msg"]
    }
    assert "unit docker.service is not there yet" in reasons["Start Docker now and at boot"]
    assert "(Install Docker CE)" in reasons["Start Docker now and at boot"]
    assert "group docker is not there yet" in reasons["Let the users run docker without sudo"]
    # The packages are in no repository yet: the repo task before provides them.
    install = reasons["Install Docker CE"]
    assert "package docker-ce, docker-ce-cli, containerd.io in the enabled repositories" in install
    assert "(Add the Docker CE repository)" in install
    [result] = [
        r
        for r in story.dry.doc["results"]
        if r["host"] == "lab01" and r["task"] == "Install Docker CE"
    ]
    assert result["changes"][:3] == ["+ docker-ce", "+ docker-ce-cli", "+ containerd.io"]


def test_apply_converges_all_hosts_in_parallel(story: Story, lab: Lab) -> None:
    assert story.apply.code == 0, story.apply.stderr
    hosts = story.apply.doc["hosts"]
    assert set(hosts) == {h.name for h in lab.hosts}
    for name, stats in hosts.items():
        assert stats == {
            "ok": 2,
            "changed": 5,
            "failed": 0,
            "skipped": 0,
            "ignored": 0,
            "unreachable": False,
        }, name


def test_dry_run_listed_exactly_what_apply_changed(story: Story) -> None:
    assert statuses(story.dry.doc, "changed") == statuses(story.apply.doc, "changed")


def test_hosts_are_in_the_state_the_tutorial_leaves(story: Story, lab: Lab) -> None:
    for host in lab.hosts:
        state = lab.ssh(
            host,
            "rpm -q --qf '%{NAME} %{EPOCH}:%{VERSION}-%{RELEASE}\\n' docker-ce containerd.io"
            " && systemctl is-active docker && systemctl is-enabled docker && id -nG student",
        )
        assert state.returncode == 0, state.stdout + state.stderr
        lines = state.stdout.split("\n")
        assert lines[0] == "docker-ce 3:26.1.4-1.el7"
        assert lines[1] == "containerd.io (none):1.6.33-3.1.el7"
        assert lines[2:4] == ["active", "enabled"]
        assert "docker" in lines[4].split()


def test_student_runs_hello_world_in_a_new_login(story: Story, lab: Lab) -> None:
    for host in lab.hosts:
        proc = lab.ssh(host, "docker run hello-world", user=lab.user)
        assert proc.returncode == 0, proc.stderr
        assert "Hello from Docker!" in proc.stdout


def test_rerun_changes_nothing(story: Story, lab: Lab) -> None:
    assert story.rerun.code == 0, story.rerun.stderr
    for name, stats in story.rerun.doc["hosts"].items():
        assert stats["changed"] == 0, name
        assert stats["ok"] == len(TASKS_THAT_CHANGE) + len(CHECK_TASKS), name
    assert "changed=0" not in story.rerun.stderr  # the recap is a table, not Ansible's line


def test_dry_run_on_converged_hosts_lists_nothing(story: Story) -> None:
    assert story.dry_converged.code == 0
    assert statuses(story.dry_converged.doc, "changed") == set()
    assert statuses(story.dry_converged.doc, "failed") == set()


def test_json_output_is_one_document_and_text_goes_to_stderr(story: Story) -> None:
    # .doc parses the whole of stdout: one document, nothing before or after it.
    assert story.apply.doc["results"]
    assert "RECAP" in story.apply.stderr
    assert "RECAP" not in story.apply.stdout


def test_no_python_on_the_hosts_path(story: Story, lab: Lab) -> None:
    # The tool ran all of the above; the hosts have no python a login could find.
    for host in lab.hosts:
        for user in ("root", lab.user):
            proc = lab.ssh(host, "command -v python3 python python2", user=user)
            assert proc.returncode != 0 and proc.stdout == "", (host.name, user, proc.stdout)


def test_no_upload_is_left_behind(story: Story, lab: Lab) -> None:
    for host in lab.hosts:
        proc = lab.ssh(host, "ls -A /tmp /var/tmp")
        assert ".provisioner-" not in proc.stdout, host.name
