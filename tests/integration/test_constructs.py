"""Every construct of the language in roles of our own (tests/integration/data/roles/
lab.constructs, which depends on lab.base), run by data/constructs.yml on an el7 and an
el9 host: roles with meta dependencies, defaults, vars, include_vars of a first_found,
import_tasks, include_tasks by a fact, block/rescue/always, handlers by `listen`,
meta: flush_handlers, with_dict, loop_control, until, environment, check_mode: false,
set_fact, no_log, blockinfile, ini_file, replace, template and copy from the role's
folders, serial, max_fail_percentage, any_errors_fatal, run_once and delegate_to:
localhost. The dry run changes nothing and fails nothing, apply does what it said,
the rerun changes nothing, and the hosts are as asked."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.helpers import REPO, Run, provision, reset_all, snapshot, statuses
from tests.lab.api import Lab

pytestmark = pytest.mark.lab

DATA = REPO / "tests" / "integration" / "data"
HOSTS = {"lab01": "el7", "lab02": "el9"}
RELEASE = {"lab01": "centos", "lab02": "almalinux"}
WATCHED = "; echo '## srv'; ls -laR /srv /etc/constructs 2>&1; getent passwd ada grace"


@dataclass
class Story:
    before: dict[str, str]
    after_dry_run: dict[str, str]
    log_after_dry_run: bool
    dry: Run
    apply: Run
    rerun: Run
    log: Path


@pytest.fixture(scope="module")
def story(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    for name, profile in HOSTS.items():
        lab.reset(name, profile=profile)
    log = tmp_path_factory.mktemp("constructs") / "controller.log"
    args = (
        *("apply", "-i", lab.inventory_path, DATA / "constructs.yml"),
        *("-r", DATA / "roles", "--limit", ",".join(HOSTS), "-e", f"controller_log={log}"),
        *("--output", "json"),
    )
    hosts = [h for h in lab.hosts if h.name in HOSTS]

    def state() -> dict[str, str]:
        return {h.name: snapshot(lab, h) + lab.ssh(h, WATCHED).stdout for h in hosts}

    before = state()
    dry = provision(*args, "--check")
    after, logged = state(), log.exists()
    applied = provision(*args)
    rerun = provision(*args)
    yield Story(before, after, logged, dry, applied, rerun, log)
    reset_all(lab, hosts)  # the other tests expect the default profile


def undecided(run: Run) -> set[tuple[str, str, str]]:
    return {(r["host"], r["task"], r["item"] or "") for r in run.doc["results"] if r["undecided"]}


def test_the_dry_run_changes_nothing_and_fails_nothing(story: Story) -> None:
    assert story.dry.code == 0, story.dry.output[-3000:]
    assert story.after_dry_run == story.before
    assert not story.log_after_dry_run, "the delegated task wrote on the controller"
    # The role's own refusal is a failure its rescue handles, in the dry run too.
    failed = [r for r in story.dry.doc["results"] if r["status"] == "failed"]
    assert all(r["rescued"] for r in failed), failed
    assert {r["host"] for r in failed} == set(HOSTS)


def test_apply_does_what_the_dry_run_said(story: Story) -> None:
    assert story.apply.code == 0, story.apply.output[-3000:]
    changed = statuses(story.apply.doc, "changed")
    would = statuses(story.dry.doc, "changed")
    assert changed - would == set(), sorted(changed - would)
    # What the dry run said and apply did not do, it said was decided at apply.
    assert would - changed <= undecided(story.dry), sorted(would - changed)
    for host in HOSTS:
        assert (host, "Write it from the role's template", "") in changed
        assert (host, "Log that the motd changed", "") in changed  # the handler, by listen
    assert story.apply.doc["stopped"] == []


def test_the_rerun_changes_nothing(story: Story) -> None:
    assert story.rerun.code == 0, story.rerun.output[-3000:]
    assert not statuses(story.rerun.doc, "changed")
    assert all(r["rescued"] for r in story.rerun.doc["results"] if r["status"] == "failed")


def test_the_secret_never_shows(story: Story) -> None:
    for run in (story.dry, story.apply, story.rerun):
        assert "s3cr3t-constructs-7f1d" not in run.stdout + run.stderr


def test_the_controller_noted_each_host_once(story: Story) -> None:
    assert sorted(story.log.read_text().split()) == sorted(HOSTS)


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_the_host_is_as_asked(story: Story, lab: Lab, host: str) -> None:
    def cat(path: str) -> str:
        ran = lab.ssh(host, f"cat {path}")
        assert ran.returncode == 0, ran.stderr
        return ran.stdout

    root = "/srv/constructs"
    assert cat("/etc/constructs/base.conf") == "[main]\nname = base\n"  # lab.base's files/
    motd = cat(f"{root}/motd").splitlines()
    assert motd[0] == f"hello from {host}" and motd[1].startswith("an EL host (")
    assert cat(f"{root}/refused") == "refused: no extras on RedHat\n"
    assert cat(f"{root}/settings.ini") == f"[main]\ngreeting = hello from {host}\n"
    assert cat(f"{root}/greeting") == f"hi from {host}\n"  # shell, then replace
    assert f"release={RELEASE[host]}\nfamily=RedHat\n" in cat(f"{root}/facts.txt")
    assert cat(f"{root}/users.txt") == "ada:/bin/bash\ngrace:/bin/sh\n"
    assert cat(f"{root}/handled") == "motd\n"
    assert cat(f"{root}/class") == "lab01,lab02\n"  # run_once's set_fact, on every host
    dirs = lab.ssh(host, f"ls -d {root}/*-*").stdout.split()
    assert dirs == [f"{root}/0-data", f"{root}/1-logs"]
    groups = lab.ssh(host, "id -nG ada; id -nG grace").stdout.split("\n")
    assert all("constructs" in line.split() for line in groups[:2])
