"""The teacher's guide, run as written: the `sh flow` block of docs/classroom.md, line by
line from the repository root, against the lab's hosts playing three Vagrant machines
(docker01 and docker02: CentOS 7 as it is since its end of life; docker03: AlmaLinux 9).
`vagrant` is a stand-in (no VirtualBox here) that answers like Vagrant's libvirt
provider; everything else is real: ssh-config parsing, accept-new host keys into the
lab's own known_hosts, facts, the vault, the dnf branch, Docker for the student.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.integration.helpers import PROVISION, REPO, reset_all
from tests.lab.api import Lab

pytestmark = pytest.mark.lab

GUIDES = [REPO / "docs" / "classroom.md", REPO / "docs" / "classroom.ko.md", REPO / "README.md"]
MACHINES = {
    "docker01": ("lab01", "el7"),
    "docker02": ("lab02", "el7"),
    "docker03": ("lab03", "el9"),
}
INVENTORY = REPO / "inventories" / "vagrant.yml"
# The guide's place for course variables; here the lab's mirrors, as a school sets its own.
COURSE_VARS = REPO / "inventories" / "group_vars" / "lab.yml"
LAB_VARS = ("docker_mirror", "docker_gpg_fingerprint", "el7_vault_mirror")
KNOWN_HOSTS = REPO / "inventories" / "vagrant.known_hosts"
STANDIN = Path(__file__).with_name("standin_vagrant.py")


def blocks(path: Path, info: str) -> list[list[str]]:
    """The command lines of every fenced block whose info string is `info`."""
    text = path.read_text()
    found = re.findall(rf"^```{re.escape(info)}\n(.*?)^```", text, flags=re.S | re.M)
    return [
        [ln.strip() for ln in body.splitlines() if ln.strip() and not ln.strip().startswith("#")]
        for body in found
    ]


@dataclass
class Step:
    line: str
    code: int
    output: str


class Classroom:
    """Runs guide lines the way a teacher pastes them, with the stand-in vagrant on PATH."""

    def __init__(self, lab: Lab, tmp: Path) -> None:
        self.lab = lab
        self.config = tmp / "machines.json"
        self.bin = tmp / "bin"
        self.bin.mkdir()
        vagrant = self.bin / "vagrant"
        vagrant.write_text(f'#!/bin/sh\nexec {sys.executable} {STANDIN} "$@"\n')
        vagrant.chmod(0o755)
        self.configure()

    def configure(self, stopped: tuple[str, ...] = ()) -> None:
        ips = {h.name: h.ip for h in self.lab.hosts}
        machines = {name: ips[host] for name, (host, _) in MACHINES.items()}
        cfg = {
            "machines": machines,
            "key": str(self.lab.ssh_key),
            "known_hosts": str(self.lab.known_hosts),
            "user": self.lab.user,
            "stopped": list(stopped),
        }
        self.config.write_text(json.dumps(cfg))

    def vagrant_calls(self) -> list[list[str]]:
        log = self.config.with_suffix(".log")
        return [json.loads(ln)["argv"] for ln in log.read_text().splitlines()]

    def run(self, line: str) -> Step:
        env = {
            **os.environ,
            "PATH": f"{self.bin}:{PROVISION.parent}:{os.environ['PATH']}",
            "PROVLAB_VAGRANT_MACHINES": str(self.config),
        }
        proc = subprocess.run(
            ["bash", "-c", line],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
            start_new_session=True,
        )
        return Step(line, proc.returncode, proc.stdout + proc.stderr)


def _clean() -> None:
    for path in (INVENTORY, KNOWN_HOSTS, COURSE_VARS):
        path.unlink(missing_ok=True)
    if COURSE_VARS.parent.is_dir() and not any(COURSE_VARS.parent.iterdir()):
        COURSE_VARS.parent.rmdir()


def _course_vars(lab: Lab) -> None:
    """The lab's mirrors and key, where the guide tells a teacher to put the school's."""
    lab_vars = yaml.safe_load(lab.inventory_path.read_text())["all"]["vars"]
    COURSE_VARS.parent.mkdir(exist_ok=True)
    COURSE_VARS.write_text(yaml.safe_dump({k: lab_vars[k] for k in LAB_VARS}))


@pytest.fixture(scope="module")
def classroom(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Classroom]:
    assert len(lab.hosts) >= 3
    assert not COURSE_VARS.exists(), f"{COURSE_VARS} exists: this test would overwrite it"
    _clean()
    _course_vars(lab)
    for host, profile in MACHINES.values():
        lab.reset(host, profile=profile)
    yield Classroom(lab, tmp_path_factory.mktemp("classroom"))
    _clean()
    reset_all(lab)  # the other tests expect the default profile and the lab's host keys


@pytest.fixture(scope="module")
def flow(classroom: Classroom) -> list[Step]:
    [lines] = blocks(GUIDES[0], "sh flow")
    steps = []
    for line in lines:
        steps.append(classroom.run(line))
        assert steps[-1].code == 0, f"{line}\n{steps[-1].output}"
    return steps


def test_every_guide_shows_the_same_flow() -> None:
    flows = [blocks(path, "sh flow") for path in GUIDES]
    assert all(len(f) == 1 for f in flows), "one `sh flow` block in each guide"
    assert flows[0] == flows[1] == flows[2]
    assert blocks(GUIDES[0], "sh rerun") == blocks(GUIDES[1], "sh rerun")


def test_a_machine_that_is_off_is_left_out_with_a_note(classroom: Classroom) -> None:
    [lines] = blocks(GUIDES[0], "sh flow")
    [generate] = [ln for ln in lines if "from-vagrant" in ln]
    classroom.configure(stopped=("docker03",))
    try:
        step = classroom.run(generate)
    finally:
        classroom.configure()
    assert step.code == 0, step.output
    assert "docker03" in step.output and "shutoff" in step.output
    text = INVENTORY.read_text()
    assert "docker01" in text and "docker02" in text and "docker03:" not in text
    # Vagrant was asked for the ssh-config of the running machines only.
    asked = [c for c in classroom.vagrant_calls() if c[:1] == ["ssh-config"]]
    assert asked and "docker03" not in asked[-1]


def test_the_flow_runs_as_written(flow: list[Step]) -> None:
    assert [s.code for s in flow] == [0] * len(flow)


def test_the_inventory_accepts_new_host_keys_into_the_labs_own_file(
    flow: list[Step], lab: Lab
) -> None:
    text = INVENTORY.read_text()
    assert "accept-new" in text and str(KNOWN_HOSTS.name) in text
    learned = {ln.split()[0] for ln in KNOWN_HOSTS.read_text().splitlines() if ln.strip()}
    assert learned == {h.ip for h in lab.hosts[:3]}
    # what was accepted is the hosts' real keys: the lab's own file lists the same ones
    lab_keys = set(lab.known_hosts.read_text().split())
    for line in KNOWN_HOSTS.read_text().splitlines():
        if line.strip() and not line.startswith("|"):
            assert line.split()[2] in lab_keys


def test_facts_tell_the_releases_apart(flow: list[Step]) -> None:
    [facts] = [s for s in flow if s.line.startswith("provision facts")]
    assert "CentOS" in facts.output and "7.9.2009" in facts.output
    assert "AlmaLinux" in facts.output and "9.4" in facts.output


def test_the_dry_run_shows_the_vault_diff_and_changes_nothing(flow: list[Step]) -> None:
    [dry] = [s for s in flow if s.line.endswith("--check")]
    assert "-mirrorlist=http://mirrorlist.centos.org/" in dry.output
    assert "+baseurl=http://10.66.0.1:8080/centos-vault/7.9.2009/os/$basearch/" in dry.output
    assert "failed" not in dry.output.split("RECAP")[0]


def test_apply_converges_every_machine_and_the_student_runs_hello_world(
    flow: list[Step], lab: Lab
) -> None:
    [apply] = [s for s in flow if s.line.startswith("provision apply") and "--check" not in s.line]
    recap = apply.output.split("RECAP")[1]
    for name in MACHINES:
        assert re.search(rf"^{name}\s+\d+\s+\d+\s+0\s+", recap, re.M), recap
    assert "Hello from Docker!" in flow[-1].output
    for name, (host, _) in MACHINES.items():
        proc = lab.ssh(host, "docker run hello-world", user=lab.user)
        assert "Hello from Docker!" in proc.stdout, name


def test_a_half_provisioned_machine_converges_on_rerun(
    flow: list[Step], classroom: Classroom, lab: Lab
) -> None:
    # As if the run had stopped after installing Docker on docker02.
    lab.ssh("lab02", "systemctl disable --now docker docker.socket && gpasswd -d student docker")
    [[rerun]] = blocks(GUIDES[0], "sh rerun")
    step = classroom.run(rerun)
    assert step.code == 0, step.output
    assert re.search(r"changed\s+docker02\s+Start Docker now and at boot", step.output)
    assert re.search(r"changed\s+docker02\s+Let the users run docker without sudo", step.output)
    assert "docker01" not in step.output.split("RECAP")[1]
    proc = lab.ssh("lab02", "docker run hello-world", user=lab.user)
    assert "Hello from Docker!" in proc.stdout


def test_a_rebuilt_machine_is_refused_until_the_inventory_is_written_again(
    flow: list[Step], classroom: Classroom, lab: Lab
) -> None:
    # `vagrant destroy -f docker02 && vagrant up docker02`: same address, new host keys.
    lab.nsenter(
        "lab02",
        ["sh", "-c", "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A && systemctl restart ssh"],
    )
    [lines] = blocks(GUIDES[0], "sh flow")
    [apply] = [ln for ln in lines if ln.startswith("provision apply") and "--check" not in ln]
    refused = classroom.run(apply + " --limit docker02")
    assert refused.code == 4, refused.output
    assert "host key" in refused.output.lower()
    [generate] = [ln for ln in lines if "from-vagrant" in ln]
    assert classroom.run(generate).code == 0
    again = classroom.run(apply + " --limit docker02")
    assert again.code == 0, again.output
