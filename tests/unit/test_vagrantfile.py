"""The classroom Vagrantfile (vagrant/Vagrantfile, settings in vagrant/lab.yml).

Two layers: pure-Python checks of lab.yml and of the files and variables the
Vagrantfile names (no vagrant needed), then `vagrant validate --ignore-provider`
on a copy of vagrant/, which needs neither a box nor VirtualBox. With
LAB_PRINT_PLAN=1 the Vagrantfile prints the machines it computed, so the address
rules are also checked against what Vagrant itself computed.

vagrant missing: skipped, except when CI=true or PROVISIONER_LAB_REQUIRED=1 (failed).
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

VAGRANT_DIR = Path(__file__).resolve().parents[2] / "vagrant"
VAGRANTFILE = VAGRANT_DIR / "Vagrantfile"
LAB_YML = VAGRANT_DIR / "lab.yml"

# VirtualBox 6.1.28+ allows host-only networks only here (without /etc/vbox/networks.conf).
ALLOWED_NET = ipaddress.ip_network("192.168.56.0/21")
# In each /24: network, host, VirtualBox's default DHCP server, broadcast.
RESERVED_LAST_OCTETS = {0, 1, 100, 255}
VALIDATED = "Vagrantfile validated successfully."
# vagrant takes 1 to 3 s per call here; a loaded CI runner can be far slower.
VAGRANT_TIMEOUT = 180

# lab.yml key for each LAB_* override the Vagrantfile reads (mirrors its lab_keys table).
ENV_TO_KEY = {
    "LAB_VMS": "vms",
    "LAB_BOX": "box",
    "LAB_BOX_URL": "box_url",
    "LAB_BOX_VERSION": "box_version",
    "LAB_MEMORY": "memory",
    "LAB_CPUS": "cpus",
    "LAB_NAME_PREFIX": "name_prefix",
    "LAB_FIRST_IP": "first_ip",
}
INT_KEYS = {"vms", "memory", "cpus"}


@dataclass(frozen=True)
class Machine:
    name: str
    ip: ipaddress.IPv4Address
    box: str
    memory: int
    cpus: int


def lab_settings(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """lab.yml with the LAB_* overrides in `env` applied, as the Vagrantfile does."""
    settings: dict[str, Any] = yaml.safe_load(LAB_YML.read_text(encoding="utf-8"))
    for name, value in (env or {}).items():
        if name in ENV_TO_KEY:
            key = ENV_TO_KEY[name]
            settings[key] = int(value) if key in INT_KEYS else value
    return settings


def plan(settings: Mapping[str, Any]) -> list[Machine]:
    """The Vagrantfile's rule: VM n (1-based) is name_prefix + n on at least two digits,
    at first_ip + (n - 1)."""
    vms = int(settings["vms"])
    width = max(2, len(str(vms)))
    first = ipaddress.IPv4Address(settings["first_ip"])
    return [
        Machine(
            name=f"{settings['name_prefix']}{n:0{width}d}",
            ip=first + (n - 1),
            box=str(settings["box"]),
            memory=int(settings["memory"]),
            cpus=int(settings["cpus"]),
        )
        for n in range(1, vms + 1)
    ]


def address_problems(machines: list[Machine]) -> list[str]:
    """Every address in the first one's /24, inside 192.168.56.0/21, not reserved, distinct."""
    problems = []
    first_net = ipaddress.ip_network(f"{machines[0].ip}/24", strict=False)
    for m in machines:
        if m.ip not in ALLOWED_NET:
            problems.append(f"{m.name} {m.ip} is outside {ALLOWED_NET}")
        if m.ip not in first_net:
            problems.append(f"{m.name} {m.ip} leaves {first_net}")
        if int(m.ip) & 0xFF in RESERVED_LAST_OCTETS:
            problems.append(f"{m.name} {m.ip} is reserved")
    if len({m.ip for m in machines}) != len(machines):
        problems.append("addresses are not distinct")
    if len({m.name for m in machines}) != len(machines):
        problems.append("names are not distinct")
    return problems


def ruby_code(text: str) -> str:
    """The Vagrantfile without its comment lines."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


# --- without vagrant -------------------------------------------------------------------


def test_lab_yml_defaults_give_docker01_to_03_from_dot_11() -> None:
    settings = lab_settings()
    assert set(settings) == set(ENV_TO_KEY.values())
    machines = plan(settings)
    assert [m.name for m in machines] == ["docker01", "docker02", "docker03"]
    assert [str(m.ip) for m in machines] == ["192.168.56.11", "192.168.56.12", "192.168.56.13"]
    assert settings["box"] == "centos/7"
    assert settings["memory"] >= 512 and settings["cpus"] >= 1
    assert address_problems(machines) == []


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"LAB_VMS": "95"}, "192.168.56.100 is reserved"),
        ({"LAB_FIRST_IP": "192.168.56.250", "LAB_VMS": "6"}, "192.168.56.255 is reserved"),
        ({"LAB_FIRST_IP": "192.168.64.11"}, "outside 192.168.56.0/21"),
    ],
)
def test_address_rule_catches_bad_settings(env: dict[str, str], problem: str) -> None:
    assert any(problem in p for p in address_problems(plan(lab_settings(env))))


def test_files_named_by_the_vagrantfile_exist() -> None:
    code = ruby_code(VAGRANTFILE.read_text(encoding="utf-8"))
    literals = set(re.findall(r'"([^"\\#{}]*)"', code))
    # Relative paths: any literal with a file extension, plus require_relative targets.
    paths = {s for s in literals if re.fullmatch(r"[\w.-]+(/[\w.-]+)*\.(ya?ml|sh|rb|json|ps1)", s)}
    paths |= set(re.findall(r'require_relative\s+"([^"]+)"', code))
    assert "lab.yml" in paths  # the regex still finds what it is meant to
    for path in sorted(paths):
        assert not path.startswith("/"), path
        assert (VAGRANT_DIR / path).is_file(), f"Vagrantfile names {path}, missing in vagrant/"


def test_every_lab_variable_is_documented_in_lab_yml() -> None:
    used = set(re.findall(r'"(LAB_[A-Z_]+)"', VAGRANTFILE.read_text(encoding="utf-8")))
    assert used == set(ENV_TO_KEY) | {"LAB_PRINT_PLAN"}
    documented = LAB_YML.read_text(encoding="utf-8")
    assert [name for name in sorted(used) if name not in documented] == []


def test_no_provisioner_and_default_ssh_key_insertion() -> None:
    # Provisioning is `provision apply`, in parallel, after `vagrant up --no-provision`;
    # every VM keeps its own inserted key.
    code = ruby_code(VAGRANTFILE.read_text(encoding="utf-8"))
    assert ".vm.provision" not in code
    assert "insert_key" not in code
    assert re.search(r'synced_folder\s+"\.",\s*"/vagrant",\s*disabled:\s*true', code)


# --- with vagrant ----------------------------------------------------------------------


@dataclass(frozen=True)
class Validation:
    returncode: int
    output: str  # stdout then stderr
    seconds: float

    def plan(self) -> list[Machine]:
        machines = []
        for line in self.output.splitlines():
            if line.startswith("lab-plan: "):
                name, ip, box, memory, cpus = line.split()[1:]
                machines.append(
                    Machine(name, ipaddress.IPv4Address(ip), box, int(memory), int(cpus))
                )
        return machines


# One `vagrant validate` per case, run concurrently: each takes seconds.
CASES: dict[str, dict[str, str]] = {
    "defaults": {"LAB_PRINT_PLAN": "1"},
    "override": {"LAB_PRINT_PLAN": "1", "LAB_VMS": "5", "LAB_BOX": "almalinux/9"},
    "reaches_dot_100": {"LAB_VMS": "95"},
    "leaves_slash_21": {"LAB_FIRST_IP": "192.168.64.11"},
}


def validate(vagrant: str, workdir: Path, overrides: Mapping[str, str]) -> Validation:
    # A copy, since vagrant writes .vagrant/ next to the Vagrantfile.
    project = workdir / "vagrant"
    shutil.copytree(VAGRANT_DIR, project, ignore=shutil.ignore_patterns(".vagrant"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAGRANT_", "LAB_"))}
    env.update(
        VAGRANT_HOME=str(workdir / "vagrant-home"),  # no boxes, no plugins, nothing of the user's
        VAGRANT_CHECKPOINT_DISABLE="1",  # no version check over the network (upstream builds)
        **overrides,
    )
    start = time.monotonic()
    proc = subprocess.run(
        [vagrant, "validate", "--ignore-provider", "--no-color"],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=VAGRANT_TIMEOUT,
    )
    return Validation(proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start)


@pytest.fixture(scope="module")
def validations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Validation]:
    vagrant = shutil.which("vagrant")
    if vagrant is None:
        reason = "vagrant is not installed (`make deps` installs it)"
        if os.environ.get("CI") == "true" or os.environ.get("PROVISIONER_LAB_REQUIRED") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    with ThreadPoolExecutor(max_workers=len(CASES)) as pool:
        futures = {
            case: pool.submit(validate, vagrant, tmp_path_factory.mktemp(case), overrides)
            for case, overrides in CASES.items()
        }
        return {case: future.result() for case, future in futures.items()}


@pytest.mark.parametrize("case", ["defaults", "override"])
def test_vagrant_validates_and_computes_the_same_plan(
    validations: dict[str, Validation], case: str
) -> None:
    result = validations[case]
    assert result.returncode == 0, result.output
    assert VALIDATED in result.output
    expected = plan(lab_settings(CASES[case]))
    assert result.plan() == expected
    assert address_problems(result.plan()) == []
    if case == "override":
        assert [m.name for m in expected][-1] == "docker05"
        assert {m.box for m in expected} == {"almalinux/9"}


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("reaches_dot_100", "LAB_VMS=95 with first_ip"),
        ("reaches_dot_100", "the address 192.168.56.100, which is taken by VirtualBox's default"),
        ("leaves_slash_21", "LAB_FIRST_IP=192.168.64.11: must be an IPv4 address in 192.168"),
    ],
)
def test_vagrant_refuses_bad_addresses(
    validations: dict[str, Validation], case: str, message: str
) -> None:
    result = validations[case]
    assert result.returncode != 0
    assert VALIDATED not in result.output
    assert message in result.output
