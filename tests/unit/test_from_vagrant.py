"""`provision inventory from-vagrant`, with recorded Vagrant outputs (tests/unit/data/vagrant/).

Parsers first, then the known_hosts forgetting, then `plan`/`write` with an
in-process fake runner, then the CLI end to end with a fake `vagrant`
executable first on PATH. Last, the host key policy an inventory names, all
the way to the SSH transport's settings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioner.connect import ssh_settings
from provisioner.errors import InventoryError, ProvisionError
from provisioner.inventory import Host, load_inventory
from provisioner.transport.hostkeys import hostnames_match
from provisioner.vagrant import Options, VagrantError, plan, write
from provisioner.vagrant.addresses import ProbeTarget, parse_addresses, pick_address
from provisioner.vagrant.known_hosts import forget_names
from provisioner.vagrant.run import Completed
from provisioner.vagrant.ssh_config import parse_ssh_config
from provisioner.vagrant.status import parse_status
from tests.unit.run_cli import provision

DATA = Path(__file__).parent / "data" / "vagrant"
ROOT = Path(__file__).resolve().parents[2]
KEY_A = "AAAAC3NzaC1lZDI1NTE5AAAAIOldKeyOfTheFirstBuildAAAAAAAAAAAAAAAAAAAA"
KEY_B = "AAAAC3NzaC1lZDI1NTE5AAAAIOtherHostKeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def recorded(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def hashed(name: str, salt: bytes = b"0123456789abcdefghij") -> str:
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


# --- vagrant status --machine-readable ------------------------------------------------


def test_status_of_mixed_machines() -> None:
    machines = parse_status(recorded("status-virtualbox-mixed.txt"))
    assert [(m.name, m.state, m.provider) for m in machines] == [
        ("docker01", "running", "virtualbox"),
        ("docker-02", "running", "virtualbox"),
        ("docker03", "running", "virtualbox"),
        ("docker04", "poweroff", "virtualbox"),
        ("docker05", "not_created", "virtualbox"),
        ("docker06", "saved", "virtualbox"),
    ]
    assert [m.running for m in machines] == [True, True, True, False, False, False]


def test_status_of_libvirt_and_single() -> None:
    libvirt = parse_status(recorded("status-libvirt.txt"))
    assert [(m.name, m.state, m.provider) for m in libvirt][-1] == (
        "docker03",
        "shutoff",
        "libvirt",
    )
    (single,) = parse_status(recorded("status-single.txt"))
    assert (single.name, single.state) == ("default", "running")


def test_status_skips_lines_that_are_not_records() -> None:
    text = "lab-plan: docker01 192.168.56.11 centos/7 1024 1\n" + recorded("status-single.txt")
    assert [m.name for m in parse_status(text)] == ["default"]


def test_status_unescapes_commas_in_data() -> None:
    text = "1,m1,state,run%!(VAGRANT_COMMA)ning\n1,m1,provider-name,x\n"
    (m,) = parse_status(text)
    assert (m.state, m.provider) == ("run,ning", "x")


def test_status_without_machines_is_an_error() -> None:
    with pytest.raises(VagrantError, match="listed no machine; it printed: 'hello'"):
        parse_status("hello\n1,,ui,info,nothing\n")


# --- vagrant ssh-config -----------------------------------------------------------------


def test_ssh_config_single_centos7() -> None:
    (host,) = parse_ssh_config(recorded("ssh-config-centos7-single.txt"))
    assert (host.name, host.hostname, host.port, host.user) == (
        "default",
        "127.0.0.1",
        2222,
        "vagrant",
    )
    assert host.identity_files == (
        "/home/t/centos7/.vagrant/machines/default/virtualbox/private_key",
    )
    assert host.identities_only is True
    assert host.strict_host_key_checking == "no"
    assert host.user_known_hosts_files == ("/dev/null",)
    assert host.password_authentication == "no"
    assert host.proxy_command is None
    assert host.options["loglevel"] == ("FATAL",)


def test_ssh_config_multi_machine() -> None:
    hosts = parse_ssh_config(recorded("ssh-config-virtualbox-multi.txt"))
    assert [(h.name, h.hostname, h.port) for h in hosts] == [
        ("docker01", "127.0.0.1", 2222),
        ("docker-02", "127.0.0.1", 2200),
        ("docker03", "127.0.0.1", 2201),
    ]
    assert hosts[1].identity_files == (
        "/home/t/lab/.vagrant/machines/docker-02/virtualbox/private_key",
    )
    assert [h.line for h in hosts] == [1, 12, 23]


def test_ssh_config_libvirt() -> None:
    hosts = parse_ssh_config(recorded("ssh-config-libvirt.txt"))
    assert [(h.name, h.hostname, h.port) for h in hosts] == [
        ("docker01", "192.168.121.37", 22),
        ("docker02", "192.168.121.154", 22),
    ]


def test_ssh_config_quoted_path_with_spaces() -> None:
    (host,) = parse_ssh_config(recorded("ssh-config-spaces.txt"))
    assert host.identity_files == (
        "/home/t/my lab/.vagrant/machines/docker01/virtualbox/private_key",
    )


def test_ssh_config_proxy_command_and_several_keys() -> None:
    (host,) = parse_ssh_config(recorded("ssh-config-proxycommand.txt"))
    assert host.identity_files == (
        "/home/t/app/.vagrant/machines/web/docker/private_key",
        "/home/t/.vagrant.d/insecure_private_key",
    )
    assert host.proxy_command is not None
    assert host.proxy_command.startswith("ssh -q -i /home/t/.vagrant.d/insecure_private_key")
    assert host.proxy_command.endswith("nc %h %p")
    assert host.options["forwardagent"] == ("yes",)


def test_ssh_config_keywords_are_case_insensitive_and_take_equals() -> None:
    text = (
        "A Vagrantfile's own output\n"
        "==> vagrant: A new version of Vagrant is available\n"
        "host m1\n  HOSTNAME=10.0.0.1\n  port = 2022\n  user bob\n"
        "  identityfile '/k/a b'\n"
    )
    (host,) = parse_ssh_config(text)
    assert (host.hostname, host.port, host.user, host.identity_files) == (
        "10.0.0.1",
        2022,
        "bob",
        ("/k/a b",),
    )


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("Host m1\n  HostName 127.0.0.1\n  Port abc\n", 3, "Port must be a number"),
        ("Host m1\n  HostName 127.0.0.1\n  Port 99999\n", 3, "Port must be a number"),
        ('Host m1\n  HostName 127.0.0.1\n  IdentityFile "/a b\n', 3, "unclosed quote"),
        ("Host m1\n  HostName 127.0.0.1\n  IdentityFile /my lab/key\n", 3, "must be quoted"),
        ("Host m1\n  HostName 127.0.0.1\n  !!garbage!!\n", 3, "not an ssh_config option line"),
        ("Host m1\n  Port 2222\n", 1, "Host m1 has no HostName"),
        ("Host m1 m2\n  HostName x\n", 1, "one machine name"),
        ("\n\nThe machine is not ready for SSH.\n", 3, "no 'Host NAME' block"),
        ("Host m1\n  HostName\n", 2, "not an ssh_config option line"),
    ],
)
def test_ssh_config_garbage_names_the_line(text: str, line: int, problem: str) -> None:
    with pytest.raises(VagrantError) as exc:
        parse_ssh_config(text)
    assert str(exc.value).startswith(f"vagrant ssh-config output:{line}: "), str(exc.value)
    assert problem in str(exc.value)


# --- private-network addresses ------------------------------------------------------------


def test_addresses_from_ip_and_hostname() -> None:
    found = parse_addresses(recorded("ip-addr-virtualbox.txt"))
    assert found == [
        IPv4Address("127.0.0.1"),
        IPv4Address("10.0.2.15"),
        IPv4Address("192.168.56.12"),
    ]
    # the broadcast address (brd 192.168.56.255) is not an address of the machine
    assert pick_address(found, IPv4Network("192.168.56.0/21")) == IPv4Address("192.168.56.12")
    assert parse_addresses("10.0.2.15 192.168.56.11 fe80::1 \n") == [
        IPv4Address("10.0.2.15"),
        IPv4Address("192.168.56.11"),
    ]
    assert pick_address(found, IPv4Network("172.16.0.0/12")) is None


# --- forgetting host keys ---------------------------------------------------------------


def test_forget_removes_plain_bracketed_hashed_and_one_of_a_list() -> None:
    text = (
        "# lab keys\n"
        f"[127.0.0.1]:2222 ssh-ed25519 {KEY_A}\n"
        f"[127.0.0.1]:2200 ssh-ed25519 {KEY_B}\n"
        f"{hashed('[127.0.0.1]:2222')} ecdsa-sha2-nistp256 {KEY_A}\n"
        f"github.com,[127.0.0.1]:2222 ssh-ed25519 {KEY_B}\n"
        f"[127.0.0.1]:* ssh-ed25519 {KEY_B}\n"
        f"@revoked [127.0.0.1]:2222 ssh-ed25519 {KEY_B}\n"
        f"127.0.0.1 ssh-ed25519 {KEY_B}"  # no newline at the end
    )
    out, changed = forget_names(text, ["[127.0.0.1]:2222"])
    assert changed == [2, 4, 5]
    assert out == (
        "# lab keys\n"
        f"[127.0.0.1]:2200 ssh-ed25519 {KEY_B}\n"
        f"github.com ssh-ed25519 {KEY_B}\n"
        f"[127.0.0.1]:* ssh-ed25519 {KEY_B}\n"
        f"@revoked [127.0.0.1]:2222 ssh-ed25519 {KEY_B}\n"
        f"127.0.0.1 ssh-ed25519 {KEY_B}"
    )
    assert forget_names(text, []) == (text, [])


def test_hashed_helper_matches_what_the_transport_reads() -> None:
    assert hostnames_match(hashed("[127.0.0.1]:2201"), "[127.0.0.1]:2201")
    assert not hostnames_match(hashed("[127.0.0.1]:2201"), "[127.0.0.1]:2202")


# --- plan and write, with a fake runner -------------------------------------------------


class FakeVagrant:
    """Answers `vagrant status` and `vagrant ssh-config NAME...` from recorded outputs."""

    def __init__(self, status: str, ssh_config: str) -> None:
        self.status = recorded(status)
        self.blocks = _blocks(recorded(ssh_config))
        self.calls: list[list[str]] = []
        self.cwds: list[Path] = []

    def __call__(self, argv: Sequence[str], cwd: Path) -> Completed:
        self.calls.append(list(argv))
        self.cwds.append(cwd)
        if list(argv[:3]) == ["vagrant", "status", "--machine-readable"]:
            return Completed(0, self.status, "")
        if list(argv[:2]) == ["vagrant", "ssh-config"]:
            return Completed(0, "".join(self.blocks[name] for name in argv[2:]), "")
        return Completed(1, "", f"unknown command {argv}")


def _blocks(text: str) -> dict[str, str]:
    """Vagrant prints one block per asked machine: split a recording into them."""
    out: dict[str, str] = {}
    for block in text.split("\n\n"):
        if block.strip():
            name = block.split("\n", 1)[0].split()[1]
            out[name] = block.strip("\n") + "\n\n"
    return out


def lab_dir(
    tmp_path: Path, ids: dict[str, str] | None = None, provider: str = "virtualbox"
) -> Path:
    lab = tmp_path / "lab"
    lab.mkdir(exist_ok=True)
    (lab / "Vagrantfile").write_text("Vagrant.configure('2') {}\n")
    for name, machine_id in (ids or {}).items():
        folder = lab / ".vagrant" / "machines" / name / provider
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "id").write_text(machine_id + "\n")
    return lab


MIXED_IDS = {"docker01": "id-01", "docker-02": "id-02", "docker03": "id-03"}


def mixed(tmp_path: Path) -> tuple[FakeVagrant, Options]:
    fake = FakeVagrant("status-virtualbox-mixed.txt", "ssh-config-virtualbox-multi.txt")
    options = Options(
        directory=lab_dir(tmp_path, MIXED_IDS), output=tmp_path / "inv" / "vagrant.yml"
    )
    return fake, options


def no_probe(target: ProbeTarget) -> str:
    raise AssertionError(f"no machine should be asked: {target}")


def test_plan_and_write_mixed_states(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # hints are commands to paste from here
    fake, options = mixed(tmp_path)
    outcome = plan(options, run=fake, probe=no_probe)
    # running machines only are asked for their ssh-config
    assert fake.calls == [
        ["vagrant", "status", "--machine-readable"],
        ["vagrant", "ssh-config", "docker01", "docker-02", "docker03"],
    ]
    assert fake.cwds == [options.directory, options.directory]
    assert [str(x) for x in outcome.left_out] == [
        "docker04 is poweroff: left out; start it: (cd lab && vagrant up docker04)",
        "docker05 is not_created: left out; start it: (cd lab && vagrant up docker05)",
        "docker06 is saved: left out; start it: (cd lab && vagrant up docker06)",
    ]
    assert outcome.summary() == (
        f"wrote {options.output}: 3 hosts (docker01, docker-02, docker03); "
        "docker04 is poweroff: left out; start it: (cd lab && vagrant up docker04); "
        "docker05 is not_created: left out; start it: (cd lab && vagrant up docker05); "
        "docker06 is saved: left out; start it: (cd lab && vagrant up docker06)"
    )
    assert options.output is not None and not options.output.exists()  # plan writes nothing
    write(outcome)
    text = options.output.read_text()
    assert (
        "# Left out:\n"
        "#   docker04 is poweroff: left out; start it: (cd lab && vagrant up docker04)\n" in text
    )
    doc = yaml.safe_load(text)
    lab = doc["all"]["children"]["lab"]
    assert lab["vars"] == {"host_key_checking": "accept-new", "known_hosts": "vagrant.known_hosts"}
    assert lab["hosts"]["docker-02"] == {
        "host": "127.0.0.1",
        "port": 2200,
        "user": "vagrant",
        "ssh_key": "/home/t/lab/.vagrant/machines/docker-02/virtualbox/private_key",
        "vagrant_machine_id": "id-02",
        "vagrant_provider": "virtualbox",
    }
    inv = load_inventory(options.output)
    assert list(inv.hosts) == ["docker01", "docker-02", "docker03"]
    spec = inv.hosts["docker-02"].connection
    assert (spec.address, spec.port, spec.user) == ("127.0.0.1", 2200, "vagrant")
    assert spec.host_key_policy == "accept-new"
    assert spec.known_hosts == str(options.output.parent.absolute() / "vagrant.known_hosts")
    assert [h.name for h in inv.select("lab:&docker-0*")] == ["docker-02"]
    assert ssh_settings(inv.hosts["docker01"]).host_key_policy == "accept-new"


def test_limit_is_applied_before_asking_for_ssh_config(tmp_path: Path) -> None:
    fake, options = mixed(tmp_path)
    outcome = plan(replace(options, limit="docker0[13]:docker04"), run=fake)
    assert fake.calls[1] == ["vagrant", "ssh-config", "docker01", "docker03"]
    assert [h.name for h in outcome.hosts] == ["docker01", "docker03"]
    assert [x.name for x in outcome.left_out] == ["docker04"]


def test_limit_matching_no_machine(tmp_path: Path) -> None:
    fake, options = mixed(tmp_path)
    with pytest.raises(VagrantError, match="--limit 'web' matches no Vagrant machine"):
        plan(replace(options, limit="web"), run=fake)
    assert len(fake.calls) == 1


def test_single_machine_to_stdout_keeps_known_hosts_in_dot_vagrant(tmp_path: Path) -> None:
    fake = FakeVagrant("status-single.txt", "ssh-config-centos7-single.txt")
    lab = lab_dir(tmp_path, {"default": "f00d"})
    outcome = plan(Options(directory=lab, output=None), run=fake)
    assert outcome.known_hosts == lab / ".vagrant" / "provisioner.known_hosts"
    doc = yaml.safe_load(outcome.inventory)
    lab_vars = doc["all"]["children"]["lab"]["vars"]
    assert lab_vars["known_hosts"] == str((lab / ".vagrant" / "provisioner.known_hosts").absolute())
    assert doc["all"]["children"]["lab"]["hosts"]["default"]["port"] == 2222
    assert outcome.summary() == "wrote the inventory to stdout: 1 host (default)"


def test_key_path_with_spaces_survives_yaml(tmp_path: Path) -> None:
    fake = FakeVagrant("status-single.txt", "ssh-config-spaces.txt")
    fake.status = fake.status.replace("default", "docker01")
    options = Options(directory=lab_dir(tmp_path), output=tmp_path / "v.yml")
    write(plan(options, run=fake))
    spec = load_inventory(tmp_path / "v.yml").hosts["docker01"].connection
    assert spec.ssh_key == "/home/t/my lab/.vagrant/machines/docker01/virtualbox/private_key"


def test_proxy_command_machines_are_left_out(tmp_path: Path) -> None:
    fake = FakeVagrant("status-single.txt", "ssh-config-proxycommand.txt")
    fake.status = fake.status.replace("default", "web")
    with pytest.raises(VagrantError, match="web is reached through a ProxyCommand"):
        plan(Options(directory=lab_dir(tmp_path), output=tmp_path / "v.yml"), run=fake)


def test_first_existing_key_is_chosen(tmp_path: Path) -> None:
    fake = FakeVagrant("status-single.txt", "ssh-config-proxycommand.txt")
    fake.status = fake.status.replace("default", "web")
    key = tmp_path / "second key"
    key.write_text("k")
    fake.blocks["web"] = (
        fake.blocks["web"]
        .replace("/home/t/.vagrant.d/insecure_private_key", f'"{key}"', 1)
        .replace("  ProxyCommand", "  #ProxyCommand")
    )
    outcome = plan(Options(directory=lab_dir(tmp_path), output=tmp_path / "v.yml"), run=fake)
    assert outcome.hosts[0].ssh_key == str(key)


# --- private network ----------------------------------------------------------------------


def test_private_network_asks_virtualbox_machines(tmp_path: Path) -> None:
    fake, options = mixed(tmp_path)
    asked: list[ProbeTarget] = []
    answers = {2222: "192.168.56.11", 2200: "192.168.56.12", 2201: "192.168.56.13"}

    def probe(target: ProbeTarget) -> str:
        asked.append(target)
        return recorded("ip-addr-virtualbox.txt").replace("192.168.56.12", answers[target.port])

    options = replace(options, via="private-network")
    outcome = plan(options, run=fake, probe=probe)
    assert [(t.machine, t.hostname, t.port, t.user) for t in asked] == [
        ("docker01", "127.0.0.1", 2222, "vagrant"),
        ("docker-02", "127.0.0.1", 2200, "vagrant"),
        ("docker03", "127.0.0.1", 2201, "vagrant"),
    ]
    assert asked[1].ssh_key == "/home/t/lab/.vagrant/machines/docker-02/virtualbox/private_key"
    assert [(h.address, h.port) for h in outcome.hosts] == [
        ("192.168.56.11", 22),
        ("192.168.56.12", 22),
        ("192.168.56.13", 22),
    ]


def test_private_network_uses_libvirt_addresses_without_asking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fake = FakeVagrant("status-libvirt.txt", "ssh-config-libvirt.txt")
    options = Options(
        directory=lab_dir(tmp_path),
        output=tmp_path / "v.yml",
        via="private-network",
        network=IPv4Network("192.168.121.0/24"),
    )
    outcome = plan(options, run=fake, probe=no_probe)
    assert [(h.name, h.address, h.port, h.provider) for h in outcome.hosts] == [
        ("docker01", "192.168.121.37", 22, "libvirt"),
        ("docker02", "192.168.121.154", 22, "libvirt"),
    ]
    assert [str(x) for x in outcome.left_out] == [
        "docker03 is shutoff: left out; start it: (cd lab && vagrant up docker03)"
    ]


def test_forwarded_port_on_libvirt_is_the_guest_address(tmp_path: Path) -> None:
    fake = FakeVagrant("status-libvirt.txt", "ssh-config-libvirt.txt")
    outcome = plan(Options(directory=lab_dir(tmp_path), output=tmp_path / "v.yml"), run=fake)
    assert outcome.hosts[0].known_hosts_name == "192.168.121.37"


def test_private_network_without_an_address_in_range(tmp_path: Path) -> None:
    fake = FakeVagrant("status-libvirt.txt", "ssh-config-libvirt.txt")
    options = Options(directory=lab_dir(tmp_path), output=tmp_path / "v.yml", via="private-network")
    with pytest.raises(VagrantError) as exc:
        plan(options, run=fake, probe=lambda t: "10.0.0.5 192.168.121.37\n")
    assert "docker01 has no address in 192.168.56.0/21" in str(exc.value)
    assert "10.0.0.5, 192.168.121.37" in str(exc.value)
    assert not (tmp_path / "v.yml").exists()


def test_private_network_unreachable_machine(tmp_path: Path) -> None:
    fake, options = mixed(tmp_path)

    def probe(target: ProbeTarget) -> str:
        raise ProvisionError(f"{target.machine}: connection refused")

    with pytest.raises(VagrantError, match="docker01: cannot ask it for its address"):
        plan(replace(options, via="private-network"), run=fake, probe=probe)


# --- rebuilt machines ---------------------------------------------------------------------


def first_inventory(tmp_path: Path) -> tuple[FakeVagrant, Options, Path]:
    fake, options = mixed(tmp_path)
    write(plan(options, run=fake))
    assert options.output is not None
    known = options.output.with_suffix(".known_hosts")
    known.write_text(
        f"[127.0.0.1]:2222 ssh-ed25519 {KEY_A}\n"
        f"[127.0.0.1]:2200 ssh-ed25519 {KEY_A}\n"
        f"{hashed('[127.0.0.1]:2201')} ssh-ed25519 {KEY_A}\n"
        f"192.0.2.7 ssh-ed25519 {KEY_B}\n"
    )
    return fake, options, known


def test_rebuilt_machine_loses_its_old_key_and_only_it(tmp_path: Path) -> None:
    fake, options, known = first_inventory(tmp_path)
    lab_dir(tmp_path, {"docker01": "id-01-rebuilt"})
    outcome = plan(options, run=fake)
    assert [str(f) for f in outcome.forgotten] == [
        "forgot the old host key of docker01 ([127.0.0.1]:2222, line 1): "
        "the machine was rebuilt (its Vagrant machine id changed)"
    ]
    write(outcome)
    assert known.read_text() == (
        f"[127.0.0.1]:2200 ssh-ed25519 {KEY_A}\n"
        f"{hashed('[127.0.0.1]:2201')} ssh-ed25519 {KEY_A}\n"
        f"192.0.2.7 ssh-ed25519 {KEY_B}\n"
    )
    assert os.stat(known).st_mode & 0o777 == 0o600
    assert "vagrant_machine_id: id-01-rebuilt" in (options.output or Path()).read_text()
    # and once recorded, the next run forgets nothing
    assert plan(options, run=fake).forgotten == []


def test_hashed_line_of_a_rebuilt_machine_is_removed(tmp_path: Path) -> None:
    fake, options, known = first_inventory(tmp_path)
    lab_dir(tmp_path, {"docker03": "id-03-rebuilt"})
    write(plan(options, run=fake))
    assert hashed("[127.0.0.1]:2201") not in known.read_text()
    assert known.read_text().count("\n") == 3


def test_address_now_used_by_another_machine_is_forgotten(tmp_path: Path) -> None:
    fake, options, known = first_inventory(tmp_path)
    # docker01 destroyed; VirtualBox gives its port to docker-02, docker03 takes 2200
    fake.blocks["docker-02"] = fake.blocks["docker-02"].replace("Port 2200", "Port 2222")
    fake.blocks["docker03"] = fake.blocks["docker03"].replace("Port 2201", "Port 2200")
    fake.blocks.pop("docker01")
    fake.status = fake.status.replace("docker01,state,running", "docker01,state,not_created")
    outcome = plan(options, run=fake)
    assert [(f.host, f.name, f.reason) for f in outcome.forgotten] == [
        ("docker-02", "[127.0.0.1]:2222", "that address was docker01's in the previous inventory"),
        ("docker03", "[127.0.0.1]:2200", "that address was docker-02's in the previous inventory"),
    ]
    write(outcome)
    assert known.read_text() == (
        f"{hashed('[127.0.0.1]:2201')} ssh-ed25519 {KEY_A}\n192.0.2.7 ssh-ed25519 {KEY_B}\n"
    )


def test_without_a_machine_id_the_key_is_forgotten(tmp_path: Path) -> None:
    fake, options, known = first_inventory(tmp_path)
    (options.directory / ".vagrant" / "machines" / "docker-02" / "virtualbox" / "id").unlink()
    outcome = plan(options, run=fake)
    assert [(f.host, f.lines) for f in outcome.forgotten] == [("docker-02", (2,))]
    assert "machine id is unknown" in outcome.forgotten[0].reason


def test_without_a_previous_inventory_known_keys_are_forgotten(tmp_path: Path) -> None:
    fake, options, known = first_inventory(tmp_path)
    assert options.output is not None
    options.output.unlink()
    outcome = plan(options, run=fake)
    assert [f.host for f in outcome.forgotten] == ["docker01", "docker-02", "docker03"]
    assert outcome.known_hosts_text == f"192.0.2.7 ssh-ed25519 {KEY_B}\n"


def test_nothing_changes_when_a_later_step_fails(tmp_path: Path) -> None:
    fake, options, known = first_inventory(tmp_path)
    assert options.output is not None
    before = (options.output.read_text(), known.read_text())
    lab_dir(tmp_path, {"docker01": "id-01-rebuilt"})
    fake.blocks["docker03"] = fake.blocks["docker03"].replace("Port 2201", "Port x")
    with pytest.raises(VagrantError, match="Port must be a number"):
        plan(options, run=fake)
    assert (options.output.read_text(), known.read_text()) == before


# --- errors -----------------------------------------------------------------------------


def test_hand_written_inventory_is_never_overwritten(tmp_path: Path) -> None:
    fake, options = mixed(tmp_path)
    assert options.output is not None
    options.output.parent.mkdir()
    options.output.write_text("all:\n  hosts:\n    mine:\n")
    with pytest.raises(VagrantError, match="was not written by `provision inventory from-vagrant`"):
        plan(options, run=fake)
    assert fake.calls == []


def test_not_a_vagrant_directory(tmp_path: Path) -> None:
    (tmp_path / "vagrant").mkdir()
    (tmp_path / "vagrant" / "Vagrantfile").write_text("")
    with pytest.raises(VagrantError, match="has no Vagrantfile.*did you mean --dir"):
        plan(
            Options(directory=tmp_path),
            run=FakeVagrant("status-single.txt", "ssh-config-spaces.txt"),
        )
    with pytest.raises(VagrantError, match="is not a directory"):
        plan(Options(directory=tmp_path / "nope"))


def test_vagrant_not_installed(tmp_path: Path) -> None:
    def missing(argv: Sequence[str], cwd: Path) -> Completed:
        raise FileNotFoundError(argv[0])

    with pytest.raises(VagrantError, match="vagrant is not installed"):
        plan(Options(directory=lab_dir(tmp_path)), run=missing)


def test_vagrant_failing_shows_what_it_said(tmp_path: Path) -> None:
    def failing(argv: Sequence[str], cwd: Path) -> Completed:
        out = "1,,error-exit,Vagrant::Errors::VBoxManageError,"
        out += "VBoxManage failed%!(VAGRANT_COMMA) sorry\n"
        return Completed(1, out, "There was an error while executing `VBoxManage`\n")

    with pytest.raises(VagrantError) as exc:
        plan(Options(directory=lab_dir(tmp_path)), run=failing)
    message = str(exc.value)
    assert "`vagrant status --machine-readable` failed (exit 1)" in message
    assert "VBoxManage failed, sorry" in message
    assert "There was an error while executing `VBoxManage`" in message


def test_vagrant_without_a_provider_real_capture(tmp_path: Path) -> None:
    def no_provider(argv: Sequence[str], cwd: Path) -> Completed:
        return Completed(1, recorded("status-no-provider.txt"), "")

    lab = lab_dir(tmp_path)
    with pytest.raises(VagrantError) as exc:
        plan(Options(directory=lab), run=no_provider)
    lines = str(exc.value).splitlines()
    assert lines[0] == f"`vagrant status --machine-readable` failed (exit 1) in {lab.absolute()}:"
    assert lines[1] == "No usable default provider could be found for your system."
    assert "Examples are VirtualBox, VMware, Hyper-V." in str(exc.value)  # commas unescaped
    assert str(exc.value).count("No usable default provider") == 1  # error-exit only


def test_no_running_machine_is_an_error(tmp_path: Path) -> None:
    fake = FakeVagrant("status-single.txt", "ssh-config-centos7-single.txt")
    fake.status = fake.status.replace("state,running", "state,poweroff")
    with pytest.raises(VagrantError, match="no running machine.*default is poweroff"):
        plan(Options(directory=lab_dir(tmp_path), output=tmp_path / "v.yml"), run=fake)
    assert len(fake.calls) == 1  # ssh-config is not asked


def test_ssh_config_without_an_asked_machine(tmp_path: Path) -> None:
    fake, options = mixed(tmp_path)
    fake.blocks["docker03"] = ""
    with pytest.raises(VagrantError, match="printed no 'Host docker03' block"):
        plan(options, run=fake)


def test_machine_named_like_the_group(tmp_path: Path) -> None:
    fake = FakeVagrant("status-single.txt", "ssh-config-centos7-single.txt")
    fake.status = fake.status.replace("default", "lab")
    fake.blocks["lab"] = fake.blocks.pop("default").replace("Host default", "Host lab")
    with pytest.raises(VagrantError, match="'lab' has the name of an inventory group"):
        plan(Options(directory=lab_dir(tmp_path), output=tmp_path / "v.yml"), run=fake)


def test_vagrant_error_is_an_inventory_error() -> None:
    assert issubclass(VagrantError, InventoryError)


# --- the CLI, with a fake `vagrant` first on PATH -----------------------------------------

FAKE_VAGRANT = """\
#!{python}
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
with open(os.environ["FAKE_VAGRANT_LOG"], "a") as log:
    log.write(json.dumps({{"argv": args, "cwd": os.getcwd()}}) + "\\n")
if os.environ.get("FAKE_VAGRANT_FAIL"):
    sys.stderr.write(os.environ["FAKE_VAGRANT_FAIL"] + "\\n")
    sys.exit(1)
data = Path(os.environ["FAKE_VAGRANT_DATA"])
if args == ["status", "--machine-readable"]:
    sys.stdout.write((data / os.environ["FAKE_VAGRANT_STATUS"]).read_text())
elif args[:1] == ["ssh-config"]:
    text = (data / os.environ["FAKE_VAGRANT_SSH_CONFIG"]).read_text()
    blocks = {{b.split()[1]: b.strip("\\n") + "\\n\\n" for b in text.split("\\n\\n") if b.strip()}}
    for name in args[1:]:
        if name not in blocks:
            sys.stderr.write("The machine with the name '" + name + "' was not found\\n")
            sys.exit(1)
        sys.stdout.write(blocks[name])
else:
    sys.exit(2)
"""


@pytest.fixture
def fake_env(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "vagrant"
    script.write_text(FAKE_VAGRANT.format(python=sys.executable))
    script.chmod(0o755)
    lab_dir(tmp_path, MIXED_IDS)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "FAKE_VAGRANT_LOG": str(tmp_path / "vagrant.log"),
        "FAKE_VAGRANT_DATA": str(DATA),
        "FAKE_VAGRANT_STATUS": "status-virtualbox-mixed.txt",
        "FAKE_VAGRANT_SSH_CONFIG": "ssh-config-virtualbox-multi.txt",
    }


def calls(tmp_path: Path) -> list[dict[str, Any]]:
    log = tmp_path / "vagrant.log"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_cli_writes_the_inventory(tmp_path: Path, fake_env: dict[str, str]) -> None:
    proc = provision(
        "inventory", "from-vagrant", "--dir", "lab", "-o", "inventories/vagrant.yml",
        cwd=tmp_path, env=fake_env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.strip() == (
        "wrote inventories/vagrant.yml: 3 hosts (docker01, docker-02, docker03); "
        "docker04 is poweroff: left out; start it: (cd lab && vagrant up docker04); "
        "docker05 is not_created: left out; start it: (cd lab && vagrant up docker05); "
        "docker06 is saved: left out; start it: (cd lab && vagrant up docker06)"
    )
    assert [c["argv"] for c in calls(tmp_path)] == [
        ["status", "--machine-readable"],
        ["ssh-config", "docker01", "docker-02", "docker03"],
    ]
    assert {c["cwd"] for c in calls(tmp_path)} == {str(tmp_path / "lab")}
    inv = load_inventory(tmp_path / "inventories" / "vagrant.yml")
    assert inv.hosts["docker03"].connection.port == 2201
    # and the written inventory is what `provision inventory --list` shows
    shown = provision(
        "inventory", "-i", "inventories/vagrant.yml", "--list", cwd=tmp_path, env=fake_env
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["hosts"]["docker-02"]["vagrant_machine_id"] == "id-02"


def test_cli_limit_reaches_ssh_config_only_for_matches(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    proc = provision(
        "inventory", "from-vagrant", "--dir", "lab", "--limit", "docker-*,docker04", "-o", "-",
        cwd=tmp_path, env=fake_env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert [c["argv"] for c in calls(tmp_path)][1] == ["ssh-config", "docker-02"]
    doc = yaml.safe_load(proc.stdout)
    assert list(doc["all"]["children"]["lab"]["hosts"]) == ["docker-02"]
    assert (
        "#   docker04 is poweroff: left out; start it: (cd lab && vagrant up docker04)"
        in proc.stdout
    )
    assert "wrote the inventory to stdout: 1 host (docker-02); docker04 is poweroff" in proc.stderr
    assert not (tmp_path / "inventories").exists()


def test_cli_forgets_a_rebuilt_machines_key(tmp_path: Path, fake_env: dict[str, str]) -> None:
    args = ("inventory", "from-vagrant", "--dir", "lab", "-o", "inv/v.yml")
    assert provision(*args, cwd=tmp_path, env=fake_env).returncode == 0
    known = tmp_path / "inv" / "v.known_hosts"
    known.write_text(
        f"[127.0.0.1]:2222 ssh-ed25519 {KEY_A}\n[127.0.0.1]:2200 ssh-ed25519 {KEY_A}\n"
    )
    lab_dir(tmp_path, {"docker01": "rebuilt"})
    proc = provision(*args, cwd=tmp_path, env=fake_env)
    assert proc.returncode == 0, proc.stderr
    assert (
        "inv/v.known_hosts: forgot the old host key of docker01 ([127.0.0.1]:2222, line 1)"
        in proc.stderr
    )
    assert known.read_text() == f"[127.0.0.1]:2200 ssh-ed25519 {KEY_A}\n"


@pytest.mark.parametrize(
    ("setup", "args", "problem"),
    [
        ("no-vagrant", (), "vagrant is not installed"),
        ("", ("--dir", "."), "is not a Vagrant directory: it has no Vagrantfile"),
        ("fail", (), "failed (exit 1)"),
        (
            "garbage",
            (),
            "vagrant ssh-config output:4: Host docker01: Port must be a number 1..65535",
        ),
        ("", ("--via", "bus"), "--via must be forwarded-port or private-network"),
        ("", ("--network", "300.1.1.0/24", "--via", "private-network"), "--network"),
        ("", ("--limit", "nothing*"), "matches no Vagrant machine"),
    ],
)
def test_cli_errors_exit_1_and_write_nothing(
    tmp_path: Path, fake_env: dict[str, str], setup: str, args: tuple[str, ...], problem: str
) -> None:
    env = dict(fake_env)
    if setup == "no-vagrant":
        empty = tmp_path / "empty"
        empty.mkdir()
        env["PATH"] = str(empty)
    elif setup == "fail":
        env["FAKE_VAGRANT_FAIL"] = "VirtualBox is complaining that the kernel module is not loaded"
    elif setup == "garbage":
        bad = tmp_path / "bad-ssh-config.txt"
        bad.write_text(
            recorded("ssh-config-virtualbox-multi.txt").replace("Port 2222", "Port lots")
        )
        env["FAKE_VAGRANT_DATA"] = str(tmp_path)
        (tmp_path / "status.txt").write_text(recorded("status-virtualbox-mixed.txt"))
        env["FAKE_VAGRANT_STATUS"] = "status.txt"
        env["FAKE_VAGRANT_SSH_CONFIG"] = bad.name
    proc = provision(
        "inventory", "from-vagrant", "--dir", "lab", "-o", "out/v.yml", *args,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert problem in proc.stderr, proc.stderr
    assert proc.stderr.startswith("error: ")
    if setup == "fail":
        assert "VirtualBox is complaining" in proc.stderr
    assert not (tmp_path / "out").exists()


# --- host key policy from the inventory to the transport ------------------------------------


@pytest.mark.parametrize(
    ("value", "policy", "with_flag"),
    [
        (None, "strict", "accept-new"),
        ("true", "strict", "accept-new"),
        ("'yes'", "strict", "accept-new"),
        ("strict", "strict", "strict"),
        ("Accept-New", "accept-new", "accept-new"),
        ("accept-new", "accept-new", "accept-new"),
        ("false", "off", "off"),
        ("'off'", "off", "off"),
        ("'no'", "off", "off"),
    ],
)
def test_host_key_policy_reaches_the_transport(
    tmp_path: Path, value: str | None, policy: str, with_flag: str
) -> None:
    line = "" if value is None else f"host_key_checking: {value}"
    path = tmp_path / "hosts.yml"
    path.write_text(f"all:\n  vars: {{{line}}}\n  hosts:\n    h1: {{host: 10.0.0.1}}\n")
    host = load_inventory(path).hosts["h1"]
    assert host.connection.host_key_checking is (policy != "off")
    assert ssh_settings(host).host_key_policy == policy
    assert ssh_settings(host, accept_new_host_keys=True).host_key_policy == with_flag


@pytest.mark.parametrize("name", ["host_key_policy", "ansible_host_key_checking"])
def test_policy_under_other_names_and_in_ini(tmp_path: Path, name: str) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text(f"[lab]\nh1\n[lab:vars]\n{name}=accept-new\n")
    host = load_inventory(path).hosts["h1"]
    assert ssh_settings(host).host_key_policy == "accept-new"


def test_bad_policy_names_the_choices(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text("all:\n  hosts:\n    h1: {host_key_checking: ask}\n")
    with pytest.raises(InventoryError) as exc:
        load_inventory(path)
    assert str(exc.value).startswith(f"{path}:3:29: ")
    assert "'strict', 'accept-new' or 'off'" in str(exc.value)


def test_host_default_spec_keeps_the_default_policy() -> None:
    assert Host("h").connection.host_key_policy is None
    assert ssh_settings(Host("h")).host_key_policy == "strict"


def test_an_accept_new_inventory_with_its_own_file_reads_only_that_file(tmp_path: Path) -> None:
    from provisioner.connect import ssh_settings
    from provisioner.inventory import load_inventory

    inv = tmp_path / "v.yml"
    inv.write_text(
        "lab:\n  vars: {host_key_checking: accept-new, known_hosts: v.known_hosts}\n"
        "  hosts:\n    docker01: {host: 127.0.0.1, port: 2222}\n"
        "other:\n  hosts:\n    web: {host: 10.0.0.5, known_hosts: k}\n"
    )
    hosts = load_inventory(inv).hosts
    assert ssh_settings(hosts["docker01"]).known_hosts_only is True
    assert ssh_settings(hosts["web"], accept_new_host_keys=True).known_hosts_only is False
