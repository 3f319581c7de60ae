"""The seed tutorial as a playbook, on three lab hosts at once, from fresh hosts:
lab01 is CentOS 7 as it is since its end of life (dead mirrorlist: the "el7" profile),
lab02 is AlmaLinux 9 with podman installed ("el9-podman"), lab03 the lab's default CentOS 7.
Dry run (changes nothing, predicts the apply), apply, the user's own check, rerun
(changes nothing), dry run on converged hosts (predicts nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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

PROFILES = {"lab01": "el7", "lab02": "el9-podman", "lab03": None}
VAULT_TASK = "Point the CentOS 7 repositories at the vault"
VAULT_HANDLER = "Forget what yum cached from the old mirrors"
VAULT_CHANGES = {(VAULT_TASK, repo) for repo in ("base", "updates", "extras", "centosplus")}
VAULT_CHANGES.add((VAULT_HANDLER, ""))
DOCKER_CHANGES = {
    ("Import Docker's GPG key after checking its fingerprint", ""),
    ("Add the Docker CE repository", ""),
    ("Install Docker CE", ""),
    ("Start Docker now and at boot", ""),
    ("Let the users run docker without sudo", "student"),
}
EL7_CHANGES = VAULT_CHANGES | DOCKER_CHANGES | {("Install prerequisites", "")}
REMOVE_CONFLICTS = "Remove podman, buildah and runc (they conflict with containerd.io)"
EL9_CHANGES = DOCKER_CHANGES | {(REMOVE_CONFLICTS, "")}
WOULD_CHANGE = {"lab01": EL7_CHANGES, "lab02": EL9_CHANGES, "lab03": EL7_CHANGES}
CHECK_TASKS = {
    "Check the client talks to the daemon (docker version)",
    "Check a container runs (docker run hello-world)",
}
MIRROR_TASKS = {
    "Make /etc/docker for daemon.json",
    "Use registry mirrors (/etc/docker/daemon.json)",
}
PACKAGES = {
    "lab01": ["docker-ce 3:26.1.4-1.el7", "containerd.io (none):1.6.33-3.1.el7"],
    "lab02": ["docker-ce 3:27.3.1-1.el9", "containerd.io (none):1.7.22-3.1.el9"],
    "lab03": ["docker-ce 3:26.1.4-1.el7", "containerd.io (none):1.6.33-3.1.el7"],
}


@dataclass
class Story:
    tutorial_yum: str  # what the tutorial's first command says on the fresh el7 host
    before: dict[str, str]  # host → snapshot on the fresh host
    after_dry_run: dict[str, str]
    dry: Run
    apply: Run
    rerun: Run
    dry_converged: Run


def reset_profiles(lab: Lab) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda h: lab.reset(h, profile=PROFILES.get(h.name)), lab.hosts))


@pytest.fixture(scope="module")
def story(lab: Lab) -> Iterator[Story]:
    assert [h.name for h in lab.hosts][:3] == list(PROFILES)
    reset_profiles(lab)
    inv = lab.inventory_path
    tutorial = lab.ssh("lab01", "yum install -y yum-utils 2>&1")
    before = {h.name: snapshot(lab, h) for h in lab.hosts}
    dry = provision("apply", "-i", inv, DOCKER_PLAYBOOK, "--check", "-o", "json")
    after = {h.name: snapshot(lab, h) for h in lab.hosts}
    apply = provision("apply", "-i", inv, DOCKER_PLAYBOOK, "-o", "json")
    rerun = provision("apply", "-i", inv, DOCKER_PLAYBOOK, "-o", "json")
    dry_converged = provision("apply", "-i", inv, DOCKER_PLAYBOOK, "--check", "-o", "json")
    yield Story(tutorial.stdout, before, after, dry, apply, rerun, dry_converged)
    reset_all(lab)  # the other tests expect the default profile


def changed(run: Run, host: str) -> set[tuple[str, str]]:
    return {(task, item) for (h, task, item) in statuses(run.doc, "changed") if h == host}


def test_the_tutorials_first_command_fails_on_centos7_as_it_is_now(story: Story) -> None:
    assert "Could not resolve host: mirrorlist.centos.org" in story.tutorial_yum


def test_dry_run_on_fresh_hosts_changes_nothing(story: Story) -> None:
    assert story.dry.code == 0, story.dry.stderr
    for host, snap in story.before.items():
        assert story.after_dry_run[host] == snap, f"the dry run changed {host}"


def test_dry_run_on_fresh_hosts_lists_what_each_release_needs(story: Story, lab: Lab) -> None:
    doc = story.dry.doc
    assert doc["check"] is True
    assert not statuses(doc, "failed")
    for host in lab.hosts:
        assert changed(story.dry, host.name) == WOULD_CHANGE[host.name], host.name
        skipped = {task for (h, task, _) in statuses(doc, "skipped") if h == host.name}
        expected = set(MIRROR_TASKS)  # no mirrors were asked for
        expected |= {VAULT_TASK} if host.name == "lab02" else {REMOVE_CONFLICTS}
        assert skipped == expected, host.name
        # The checks run in a dry run too; Docker is not there yet: they wait for apply.
        checks = {r["task"]: r for r in doc["results"] if r["host"] == host.name}
        for task in CHECK_TASKS:
            check = checks[task]
            assert (check["status"], check["undecided"]) == ("ok", True), check
            assert check["blocked_by"] == "Let the users run docker without sudo", check
            assert check["msg"].startswith("decided at apply: blocked by"), check


def test_dry_run_shows_the_repo_file_diff_on_el7(story: Story) -> None:
    [base] = [
        r
        for r in story.dry.doc["results"]
        if (r["host"], r["task"], r["item"]) == ("lab01", VAULT_TASK, "base")
    ]
    diff = base["diff"]
    assert "-mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch" in diff
    assert "+baseurl=http://10.66.0.1:8080/centos-vault/7.9.2009/os/$basearch/" in diff


def test_dry_run_explains_what_only_an_earlier_change_provides(story: Story) -> None:
    reasons = {
        r["task"]: r["msg"]
        for r in story.dry.doc["results"]
        if r["host"] == "lab01" and r["status"] == "changed" and r["msg"]
    }
    assert "unit docker.service is not there yet" in reasons["Start Docker now and at boot"]
    assert "(Install Docker CE)" in reasons["Start Docker now and at boot"]
    assert "group docker is not there yet" in reasons["Let the users run docker without sudo"]
    # On the el7 host no repository answers until the vault play's change: the dry run
    # names that change instead of failing like the tutorial's yum.
    prereq = reasons["Install prerequisites"]
    assert "repository metadata for yum-utils" in prereq
    assert f"({VAULT_TASK})" in prereq
    install = reasons["Install Docker CE"]
    assert "docker-ce-26.1.4-1.el7" in install and "(Add the Docker CE repository)" in install
    [result] = [
        r
        for r in story.dry.doc["results"]
        if r["host"] == "lab01" and r["task"] == "Install Docker CE"
    ]
    assert result["changes"][:3] == [
        "+ docker-ce 26.1.4-1.el7",
        "+ docker-ce-cli 26.1.4-1.el7",
        "+ containerd.io 1.6.33-3.1.el7",
    ]


def test_apply_converges_all_hosts_in_parallel(story: Story, lab: Lab) -> None:
    assert story.apply.code == 0, story.apply.stderr
    hosts = story.apply.doc["hosts"]
    assert set(hosts) == {h.name for h in lab.hosts}
    for name, stats in hosts.items():
        assert stats["changed"] == len(WOULD_CHANGE[name]), name
        assert (stats["failed"], stats["unreachable"]) == (0, False), name


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
        assert lines[:2] == PACKAGES[host.name]
        assert lines[2:4] == ["active", "enabled"]
        assert "docker" in lines[4].split()


def test_el7_uses_the_vault_and_extras(story: Story, lab: Lab) -> None:
    for host in ("lab01", "lab03"):
        repo = lab.ssh(host, "cat /etc/yum.repos.d/CentOS-Base.repo").stdout
        assert "mirrorlist=http" not in repo and repo.count("/centos-vault/7.9.2009/") == 4
        # docker-ce needs container-selinux, which only the vault's extras has
        origin = lab.ssh(host, "yum -q list installed container-selinux").stdout
        assert "@extras" in origin, origin


def test_el9_lost_the_conflicting_packages(story: Story, lab: Lab) -> None:
    proc = lab.ssh("lab02", "rpm -q podman buildah runc")
    assert proc.stdout.split("\n")[:3] == [
        f"package {name} is not installed" for name in ("podman", "buildah", "runc")
    ]


def test_student_runs_hello_world_in_a_new_login(story: Story, lab: Lab) -> None:
    for host in lab.hosts:
        proc = lab.ssh(host, "docker run hello-world", user=lab.user)
        assert proc.returncode == 0, proc.stderr
        assert "Hello from Docker!" in proc.stdout


def test_rerun_changes_nothing(story: Story, lab: Lab) -> None:
    assert story.rerun.code == 0, story.rerun.stderr
    for name, stats in story.rerun.doc["hosts"].items():
        assert stats["changed"] == 0, name
        # every task that changed is ok now (handlers do not run), and the checks passed
        tasks = {t for t in WOULD_CHANGE[name] if t[0] != VAULT_HANDLER}
        if name == "lab02":
            tasks.add(("Install prerequisites", ""))  # dnf-plugins-core was there already
        assert stats["ok"] == len(tasks) + len(CHECK_TASKS), name
    assert "changed=0" not in story.rerun.stderr  # the recap is a table, not Ansible's line


def test_a_wrong_fingerprint_fails_in_the_dry_run(story: Story, lab: Lab) -> None:
    """A wrong fingerprint fails the key task in the dry run already; nothing is imported."""
    bad = "0000 0000 0000 0000 0000 0000 0000 0000 0000 0000"
    run = provision(
        "apply", "-i", lab.inventory_path, DOCKER_PLAYBOOK, "--check", "--limit", "lab03",
        "-e", f"docker_gpg_fingerprint={bad}",
    )  # fmt: skip
    assert run.code == 2, run.output
    assert "fingerprint" in run.output and "Import Docker's GPG key" in run.output


def test_registry_mirrors_write_daemon_json_and_restart_docker(story: Story, lab: Lab) -> None:
    mirrors = '{"docker_registry_mirrors": ["https://registry-mirror.lab.invalid"]}'
    args = ("apply", "-i", lab.inventory_path, DOCKER_PLAYBOOK, "--limit", "lab03", "-e", mirrors)
    first = provision(*args, "-o", "json")
    assert first.code == 0, first.output
    assert changed(first, "lab03") == {(t, "") for t in MIRROR_TASKS} | {("Restart Docker", "")}
    text = lab.ssh("lab03", "cat /etc/docker/daemon.json").stdout
    assert (
        text
        == '{\n    "registry-mirrors": [\n        "https://registry-mirror.lab.invalid"\n    ]\n}\n'
    )
    again = provision(*args, "-o", "json")
    assert again.code == 0 and changed(again, "lab03") == set(), again.output


def test_dry_run_on_converged_hosts_lists_nothing(story: Story) -> None:
    assert story.dry_converged.code == 0
    assert statuses(story.dry_converged.doc, "changed") == set()
    assert statuses(story.dry_converged.doc, "failed") == set()
    checks = [r for r in story.dry_converged.doc["results"] if r["task"] in CHECK_TASKS]
    assert len(checks) == 2 * len(PROFILES)  # they ran, and passed
    assert all(r["status"] == "ok" and not r["blocked_by"] for r in checks), checks


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
