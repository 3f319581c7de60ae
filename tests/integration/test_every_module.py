"""Every module on a fresh lab host: the dry run changes nothing and predicts the
apply, the apply leaves the state asked for, and a rerun changes nothing. This is
where the probes meet real rpm, dnf, systemctl, getent, stat and curl output."""

from __future__ import annotations

import hashlib
import urllib.request
from dataclasses import dataclass
from pathlib import Path

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
