"""from-vagrant the VirtualBox way, for real over SSH: each lab host behind its own forward
on 127.0.0.1 (as VirtualBox's NAT forwards 127.0.0.1:2222 to a VM), a stand-in `vagrant`
that reports those ports, and Vagrant's machine ids on disk. Shows the accept-new lab
known_hosts, a rebuilt machine's new key refused until the inventory is written again
(then only that machine's old key is forgotten), and --via private-network asking the
machines for their addresses through the forwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.forward import PortForward
from tests.integration.helpers import PROVISION, Run
from tests.lab.api import Lab

pytestmark = pytest.mark.lab

STANDIN = Path(__file__).with_name("standin_vagrant.py")
NAMES = ("docker01", "docker02", "docker03")


@dataclass
class VBox:
    lab: Lab
    dir: Path  # the "Vagrant project": Vagrantfile and .vagrant/machines/*/virtualbox/id
    env: dict[str, str]
    ports: dict[str, int]

    @property
    def inventory(self) -> Path:
        return self.dir / "inventories" / "vagrant.yml"

    @property
    def known_hosts(self) -> Path:
        return self.dir / "inventories" / "vagrant.known_hosts"

    def set_id(self, name: str, machine_id: str) -> None:
        folder = self.dir / ".vagrant" / "machines" / name / "virtualbox"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "id").write_text(machine_id)

    def provision(self, *args: str) -> Run:
        proc = subprocess.run(
            [str(PROVISION), *args],
            cwd=self.dir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def generate(self, *more: str) -> Run:
        return self.provision(
            "inventory", "from-vagrant", "--dir", ".", "-o", "inventories/vagrant.yml", *more
        )

    def key_lines(self) -> dict[str, str]:
        """[127.0.0.1]:port → the key line in the lab's known_hosts."""
        lines = self.known_hosts.read_text().splitlines()
        return {ln.split()[0]: ln for ln in lines if ln.strip()}


@pytest.fixture
def vbox(lab: Lab, tmp_path: Path) -> Iterator[VBox]:
    hosts = lab.hosts[:3]
    with ExitStack() as stack:
        forwards = [stack.enter_context(PortForward(h.ip)) for h in hosts]
        ports = {name: f.port for name, f in zip(NAMES, forwards, strict=True)}
        (tmp_path / "Vagrantfile").write_text("# machines: see machines.json\n")
        config = tmp_path / "machines.json"
        config.write_text(
            json.dumps(
                {
                    "machines": {n: ["127.0.0.1", p] for n, p in ports.items()},
                    "key": str(lab.ssh_key),
                    "known_hosts": str(lab.known_hosts),
                    "user": lab.user,
                    "provider": "virtualbox",
                }
            )
        )
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "vagrant").write_text(f'#!/bin/sh\nexec {sys.executable} {STANDIN} "$@"\n')
        (bin_dir / "vagrant").chmod(0o755)
        env = {
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "PROVLAB_VAGRANT_MACHINES": str(config),
            "HOME": str(tmp_path / "home"),  # no ~/.ssh of this machine's user gets a say
        }
        box = VBox(lab, tmp_path, env, ports)
        for name in NAMES:
            box.set_id(name, f"{name}-first")
        yield box
    lab.reset(hosts[1])  # its own host keys back


def test_forwarded_ports_with_accept_new_into_the_labs_file(vbox: VBox) -> None:
    made = vbox.generate()
    assert made.code == 0, made.output
    facts = vbox.provision("facts", "-i", "inventories/vagrant.yml", "-o", "json")
    assert facts.code == 0, facts.output
    assert set(json.loads(facts.stdout)) == set(NAMES)
    assert set(vbox.key_lines()) == {f"[127.0.0.1]:{p}" for p in vbox.ports.values()}


def test_a_rebuilt_machine_is_refused_then_forgotten_alone(vbox: VBox, lab: Lab) -> None:
    assert vbox.generate().code == 0
    assert vbox.provision("facts", "-i", "inventories/vagrant.yml").code == 0
    before = vbox.key_lines()
    # `vagrant destroy -f docker02 && vagrant up docker02`: same port, new host keys
    lab.nsenter(
        lab.hosts[1].name,
        ["sh", "-c", "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A && systemctl restart ssh"],
    )
    refused = vbox.provision("facts", "-i", "inventories/vagrant.yml")
    assert refused.code == 4, refused.output
    assert "docker02" in refused.stderr and "CHANGED" in refused.stderr
    assert "docker01" not in refused.stderr
    # Same machine id: the inventory written again still vouches for the old key.
    assert vbox.generate().code == 0
    assert vbox.provision("facts", "-i", "inventories/vagrant.yml").code == 4
    vbox.set_id("docker02", "docker02-rebuilt")
    rebuilt = vbox.generate()
    assert rebuilt.code == 0, rebuilt.output
    assert "docker02" in rebuilt.stderr and "forgot" in rebuilt.stderr
    after_forget = vbox.key_lines()
    docker02 = f"[127.0.0.1]:{vbox.ports['docker02']}"
    assert docker02 not in after_forget
    assert after_forget == {k: v for k, v in before.items() if k != docker02}
    again = vbox.provision("facts", "-i", "inventories/vagrant.yml")
    assert again.code == 0, again.output
    assert vbox.key_lines()[docker02] != before[docker02]


def test_via_private_network_asks_the_machines_for_their_addresses(vbox: VBox, lab: Lab) -> None:
    made = vbox.generate("--via", "private-network", "--network", "10.66.0.0/24")
    assert made.code == 0, made.output
    listed = vbox.provision("inventory", "-i", "inventories/vagrant.yml", "--list")
    hosts = json.loads(listed.stdout)["hosts"]
    expected = {name: h.ip for name, h in zip(NAMES, lab.hosts, strict=False)}
    assert {n: hosts[n]["host"] for n in NAMES} == expected
    assert all(hosts[n].get("port", 22) == 22 for n in NAMES)
    facts = vbox.provision("facts", "-i", "inventories/vagrant.yml")
    assert facts.code == 0, facts.output
