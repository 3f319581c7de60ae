"""Every module on a fresh lab host: the dry run changes nothing and predicts the
apply, the apply leaves the state asked for, and a rerun changes nothing. This is
where the probes meet real rpm, dnf, systemctl, getent, stat and curl output."""

from __future__ import annotations

import hashlib
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import Run, provision, snapshot, statuses
from tests.lab.api import Host, Lab

pytestmark = pytest.mark.lab

PLAYBOOK = Path(__file__).parent / "data" / "every-module.yml"
WATCHED = "; echo '## srv'; ls -laR --time-style=+%s /srv; echo '## passwd'; cat /etc/passwd"


@dataclass
class Story:
    host: Host
    before: str
    after_dry_run: str
    dry: Run
    apply: Run
    rerun: Run


@pytest.fixture(scope="module")
def story(lab: Lab) -> Story:
    host = lab.hosts[0]
    lab.reset(host)
    with urllib.request.urlopen(f"{lab.repo_url}/linux/centos/gpg", timeout=10) as resp:
        sha = hashlib.sha256(resp.read()).hexdigest()
    args = ("-i", lab.inventory_path, PLAYBOOK, "--limit", host.name, "-e", f"gpg_sha256={sha}")

    def state() -> str:
        return snapshot(lab, host) + lab.ssh(host, WATCHED).stdout

    before = state()
    dry = provision("apply", *args, "--check", "-o", "json")
    after = state()
    apply = provision("apply", *args, "-o", "json")
    rerun = provision("apply", *args, "-o", "json")
    return Story(host, before, after, dry, apply, rerun)


def test_dry_run_changes_nothing(story: Story) -> None:
    assert story.dry.code == 0, story.dry.output
    assert story.after_dry_run == story.before


def test_dry_run_predicts_the_apply(story: Story) -> None:
    assert not statuses(story.dry.doc, "failed"), story.dry.output
    assert story.apply.code == 0, story.apply.output
    would = statuses(story.dry.doc, "changed")
    assert len(would) == 15  # every task but the shell one, whose `removes` file is absent
    assert would == statuses(story.apply.doc, "changed")


def test_rerun_changes_nothing(story: Story) -> None:
    assert story.rerun.code == 0, story.rerun.output
    assert statuses(story.rerun.doc, "changed") == set()
    assert story.rerun.doc["hosts"][story.host.name]["ok"] == 16


def test_the_host_is_as_asked(story: Story, lab: Lab) -> None:
    def sh(command: str) -> str:
        proc = lab.ssh(story.host, command)
        assert proc.returncode == 0, (command, proc.stderr)
        return proc.stdout

    base = "/srv/provtest"
    assert sh(f"stat -c '%a %U' {base} {base}/plain.txt") == "755 root\n640 root\n"
    assert sh(f"cat {base}/plain.txt {base}/settings.conf") == (
        "hello\n# BEGIN ANSIBLE MANAGED BLOCK\n# it's got 'quotes' & $(not a command) \\ ok\n"
        "size=large\n# END ANSIBLE MANAGED BLOCK\ncolour=blue\n"
    )
    assert sh(f"readlink {base}/link") == f"{base}/plain.txt\n"
    rendered = sh(f"cat {base}/rendered.conf")
    assert "motd = it's got 'quotes' & $(not a command); ok\n" in rendered
    assert f"rendered for {story.host.name} (login user {lab.user})" in rendered
    assert sh("getent group lab-team").startswith("lab-team:x:4242:lab-user")
    assert sh("getent passwd lab-user").rstrip().endswith(":/bin/sh")
    assert sh("lab-hello") == "lab-hello 1.0\n"  # the version asked for, not the newest
    assert sh("rpm -q lvm2").startswith("lvm2-")
    assert sh("systemctl is-active lab-sleep; systemctl is-enabled lab-sleep") == (
        "active\nenabled\n"
    )
    keys = sh("rpm -q gpg-pubkey --qf '%{SUMMARY}\\n'")
    assert "Docker" in keys or "docker" in keys.lower(), keys
    assert sh(f"test -e {base}/made-once && echo yes") == "yes\n"


def test_dry_run_fails_a_package_no_repository_has(tmp_path: Path, lab: Lab) -> None:
    book = tmp_path / "typo.yml"
    book.write_text(
        "- hosts: all\n  become: true\n  tasks:\n"
        "    - name: A typo\n      package: {name: [lvm2, docker-cee]}\n"
    )
    host = lab.hosts[0].name
    run = provision("apply", "-i", lab.inventory_path, book, "--limit", host, "--check")
    assert run.code == 2, run.output
    assert "package docker-cee in the enabled repositories not found" in run.output


# -- reboot: the host goes down and comes back; the run goes on over a fresh connection --

REBOOT_BOOK = """
- hosts: all
  become: true
  tasks:
    - name: Reboot
      reboot:
        reboot_timeout: "{{ rb_timeout | default(120) }}"
        test_command: "{{ rb_test | default('whoami') }}"
      when: inventory_hostname in targets.split(',')
    - name: After the reboot
      command: sh -c 'cat /proc/sys/kernel/random/boot_id; ls -d /run/provisioner.lock'
      register: after
      changed_when: false
    - name: Say the boot
      debug: {msg: "boot {{ after.stdout_lines[0] }}"}
      when: not ansible_check_mode
"""
BOOT_ID = "cat /proc/sys/kernel/random/boot_id"


@dataclass
class RebootStory:
    el7: Host
    el9: Host
    boots: dict[str, list[str]]  # host → its boot id before, after the dry run, the applies
    dry: Run
    applies: list[Run]  # rebooting el7 alone, then el9 alone
    seconds: list[float]  # how long each apply took


@pytest.fixture(scope="module")
def reboot_story(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> RebootStory:
    el7, el9 = lab.hosts[0], lab.hosts[1]
    lab.reset(el7, profile="el7")
    lab.reset(el9, profile="el9")
    book = tmp_path_factory.mktemp("reboot") / "reboot.yml"
    book.write_text(REBOOT_BOOK)
    both = f"{el7.name},{el9.name}"
    args = ("apply", "-i", lab.inventory_path, book, "--limit", both, "-o", "json")
    boots: dict[str, list[str]] = {el7.name: [], el9.name: []}

    def read_boots() -> None:
        for host in (el7, el9):
            boots[host.name].append(lab.ssh(host, BOOT_ID).stdout.strip())

    read_boots()
    dry = provision(*args, "--check", "-e", f"targets={both}")
    read_boots()
    applies, seconds = [], []
    for target in (el7, el9):
        started = time.monotonic()
        applies.append(provision(*args, "-e", f"targets={target.name}"))
        seconds.append(time.monotonic() - started)
        read_boots()
    return RebootStory(el7, el9, boots, dry, applies, seconds)


def _results(run: Run, task: str) -> dict[str, dict[str, Any]]:
    return {r["host"]: r for r in run.doc["results"] if r["task"] == task}


def test_reboot_dry_run_would_reboot_and_does_not(reboot_story: RebootStory) -> None:
    story = reboot_story
    assert story.dry.code == 0, story.dry.output
    reboots = _results(story.dry, "Reboot")
    assert {h: r["status"] for h, r in reboots.items()} == {
        story.el7.name: "changed",
        story.el9.name: "changed",
    }
    assert "then wait up to 120s for it to come back" in " ".join(
        reboots[story.el7.name]["changes"]
    )
    for boots in story.boots.values():
        assert boots[0] and boots[1] == boots[0], "a dry run rebooted a host"


def test_reboot_applies_reboot_the_targeted_host_only(reboot_story: RebootStory) -> None:
    story = reboot_story
    el7, el9 = story.el7.name, story.el9.name
    for run in story.applies:
        assert run.code == 0, run.output
    first, second = (_results(run, "Reboot") for run in story.applies)
    assert (first[el7]["status"], first[el9]["status"]) == ("changed", "skipped")
    assert (second[el7]["status"], second[el9]["status"]) == ("skipped", "changed")
    # before, after the dry run, after rebooting el7, after rebooting el9
    b7, b9 = story.boots[el7], story.boots[el9]
    assert b7[2] != b7[1] and b7[3] == b7[2], b7
    assert b9[2] == b9[1] and b9[3] != b9[2], b9


def test_the_task_after_a_reboot_runs_on_the_new_boot_holding_the_lock(
    reboot_story: RebootStory,
) -> None:
    """`After the reboot` ran on a connection to the new boot, and this run took its lock
    again (the reboot emptied /run)."""
    story = reboot_story
    el7, el9 = story.el7.name, story.el9.name
    for run in story.applies:
        after = _results(run, "After the reboot")  # it failed if the lock was not there
        assert {after[el7]["status"], after[el9]["status"]} == {"ok"}, run.output
    assert _results(story.applies[0], "Say the boot")[el7]["msg"] == f"boot {story.boots[el7][2]}"
    assert _results(story.applies[1], "Say the boot")[el9]["msg"] == f"boot {story.boots[el9][3]}"
    print(f"reboot applies took {', '.join(f'{s:.1f}s' for s in story.seconds)}")


def test_a_reboot_whose_test_never_passes_fails_naming_host_and_timeout(
    tmp_path: Path, lab: Lab
) -> None:
    host = lab.hosts[0]
    book = tmp_path / "reboot.yml"
    book.write_text(REBOOT_BOOK)
    before = lab.ssh(host, BOOT_ID).stdout.strip()
    # A run that waited far past reboot_timeout would hit this bound (a hang guard, not a
    # measurement: the message below says which timeout it obeyed).
    run = provision(
        "apply", "-i", lab.inventory_path, book, "--limit", host.name,
        "-e", f"targets={host.name}", "-e", "rb_timeout=6", "-e", "rb_test=false", "-o", "json",
        timeout=120,
    )  # fmt: skip
    assert run.code == 2, run.output
    [failed] = [r for r in run.doc["results"] if r["status"] == "failed"]
    assert failed["task"] == "Reboot"
    assert failed["msg"].startswith(
        f"{host.name} did not come back within reboot_timeout (6s): test_command 'false' exited 1"
    ), failed["msg"]
    assert not _results(run, "After the reboot"), "the host went on after a failed reboot"
    assert lab.ssh(host, BOOT_ID).stdout.strip() != before  # it did reboot, though
