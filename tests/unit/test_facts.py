"""Facts: the probe's output parsed into what plays branch on, and when plays gather them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ConnectError
from provisioner.events import Status
from provisioner.inventory import Host, load_inventory
from provisioner.playbook.load import load_playbook
from provisioner.playbook.variables import needs_facts, play_gathers, uses_facts
from provisioner.probes import host as facts
from provisioner.probes.host_raw import MAX_VALUE
from provisioner.runner import Runner, RunOptions
from provisioner.secrets import MASK
from provisioner.transport.base import Result
from provisioner.transport.fake import FakeConnection
from provisioner.validate import validate

DATA = Path(__file__).parent / "data" / "facts"


def recorded(name: str) -> facts.Facts:
    found = facts.parse((DATA / name).read_text())
    assert found is not None
    return found


def test_centos7() -> None:
    f = recorded("centos7.txt")
    assert (f.distribution, f.distribution_version, f.major_version) == ("CentOS", "7.9.2009", "7")
    assert (f.os_family, f.pkg_mgr, f.service_mgr) == ("RedHat", "yum", "systemd")
    assert (f.architecture, f.selinux, f.hostname) == ("x86_64", "enforcing", "docker01")


def test_almalinux9() -> None:
    f = recorded("almalinux9.txt")
    assert (f.distribution, f.distribution_version, f.major_version) == ("AlmaLinux", "9.4", "9")
    assert (f.os_family, f.pkg_mgr, f.selinux) == ("RedHat", "dnf", "permissive")


def test_rocky8_without_selinux() -> None:
    f = recorded("rocky8.txt")
    assert (f.distribution, f.major_version, f.architecture) == ("Rocky", "8", "aarch64")
    assert f.selinux == "absent"


def test_variables_have_ansible_names() -> None:
    v = recorded("centos7.txt").variables()
    assert v["facts"]["major_version"] == "7"
    assert v["ansible_distribution"] == "CentOS"
    assert v["ansible_distribution_major_version"] == "7"
    assert v["ansible_os_family"] == "RedHat"
    assert v["ansible_pkg_mgr"] == "yum"
    assert v["ansible_selinux"]["status"] == "enabled"
    assert v["ansible_selinux"]["mode"] == "enforcing"
    assert v["ansible_facts"]["distribution"] == "CentOS"
    assert set(v) <= facts.FACT_NAMES


def test_unknown_system_and_foreign_output() -> None:
    f = facts.parse("@@facts@@\narch=riscv64\n")
    assert f is not None
    assert (f.distribution, f.major_version, f.pkg_mgr) == ("unknown", "unknown", "unknown")
    assert facts.parse("sh: 1: syntax error") is None


# --- Ansible's names and shapes: probe outputs → facts --------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    output: str  # what the probe printed
    expected: dict[str, Any]  # ansible_facts names → values
    env: dict[str, str] = field(default_factory=dict)  # entries ansible_env must hold
    absent: tuple[str, ...] = ()  # names the host could not tell


def _hostile() -> str:
    """EL9's output with odd values and lines a host might print after it."""
    lines = [
        "env0=OPTS=a=b=c",
        "env0=MULTI=line one\x01selinux_enforce=0\x01line three",
        "env0=HUGE=" + "x" * (MAX_VALUE + 10),
        "env0=EDGE=" + "y" * (MAX_VALUE - len("EDGE=")),
        "selinux_enforce=0",  # after the first: the first one counts
        "date=garbage",
        "garbage without an equals sign",
        "bad key=1",
        "=no key",
        "@@facts@@",
        "addr=not an address",
        "addr=9: eth9    inet 999.1.1.1/24 scope global eth9",
        "iface=/////",
        "mount=short",
        *(f"iface=1500/1/up/02:00:00:00:00:01/veth{i}" for i in range(3000)),
    ]
    return (DATA / "el9.txt").read_text() + "\n".join(lines) + "\n"


EL7_IPV4 = {
    "address": "10.0.2.15",
    "alias": "eth0",
    "broadcast": "10.0.2.255",
    "gateway": "10.0.2.2",
    "interface": "eth0",
    "macaddress": "52:54:00:4d:77:d3",
    "mtu": 1500,
    "netmask": "255.255.255.0",
    "network": "10.0.2.0",
    "prefix": "24",
    "type": "ether",
}
EL9_SELINUX = {
    "status": "enabled",
    "mode": "enforcing",
    "config_mode": "enforcing",
    "type": "targeted",
    "policyvers": 33,
}
NETWORK = ("default_ipv4", "default_ipv6", "all_ipv4_addresses", "interfaces")
CASES = [
    Case(
        "CentOS 7.9.2009: yum, SELinux disabled, VirtualBox",
        (DATA / "el7.txt").read_text(),
        {
            "distribution": "CentOS",
            "distribution_version": "7.9",
            "distribution_major_version": "7",
            "distribution_release": "Core",
            "distribution_file_variety": "RedHat",
            "os_family": "RedHat",
            "pkg_mgr": "yum",
            "service_mgr": "systemd",
            "system": "Linux",
            "kernel": "3.10.0-1160.el7.x86_64",
            "kernel_version": "#1 SMP Mon Oct 19 16:18:59 UTC 2020",
            "machine": "x86_64",
            "architecture": "x86_64",
            "userspace_architecture": "x86_64",
            "userspace_bits": "64",
            "hostname": "docker01",
            "nodename": "docker01",
            "fqdn": "docker01.lab.example",
            "domain": "lab.example",
            "processor_count": 1,
            "processor_cores": 2,
            "processor_threads_per_core": 1,
            "processor_vcpus": 2,
            "memtotal_mb": 1837,
            "memfree_mb": 1233,
            "swaptotal_mb": 2047,
            "default_ipv4": EL7_IPV4,
            "default_ipv6": {},
            "all_ipv4_addresses": ["10.0.2.15", "192.168.56.11", "192.168.56.111"],
            "interfaces": ["eth0", "eth1", "lo", "eth1_1"],
            "selinux": {"status": "disabled"},
            "virtualization_type": "virtualbox",
            "virtualization_role": "guest",
            "user_id": "vagrant",
            "user_uid": 1000,
            "user_gid": 1000,
            "user_dir": "/home/vagrant",
            "user_shell": "/bin/bash",
            "machine_id": "5e1f3c2a9b8d4e6f8a7b6c5d4e3f2a1b",
            "dns": {
                "nameservers": ["10.0.2.3"],
                "search": ["lab.example"],
                "options": {"timeout": "2", "rotate": True},
            },
        },
        env={"HOME": "/home/vagrant", "SSH_CONNECTION": "10.0.2.2 51234 10.0.2.15 22"},
    ),
    Case(
        "AlmaLinux 9.4: dnf, SELinux enforcing, two sockets, IPv6",
        (DATA / "el9.txt").read_text(),
        {
            "distribution": "AlmaLinux",
            "distribution_version": "9.4",
            "distribution_major_version": "9",
            "distribution_release": "Seafoam Ocelot",
            "os_family": "RedHat",
            "pkg_mgr": "dnf",
            "service_mgr": "systemd",
            "hostname": "docker02",
            "nodename": "docker02.lab.example",
            "fqdn": "docker02.lab.example",
            "domain": "lab.example",
            "processor_count": 2,
            "processor_cores": 2,
            "processor_vcpus": 4,
            "processor_nproc": 4,
            "memtotal_mb": 3649,
            "swaptotal_mb": 0,
            "selinux": EL9_SELINUX,
            "all_ipv4_addresses": ["10.66.0.12", "172.17.0.1"],
            "all_ipv6_addresses": ["2001:db8:66::12", "fe80::5054:ff:fe12:3456"],
            "interfaces": ["lo", "eth0", "docker0"],
            "virtualization_type": "kvm",
            "user_id": "student",
            "user_gecos": "Student,,,",
        },
        env={"HOME": "/home/student", "LC_ALL": "C"},
    ),
    Case(
        "a busybox container: no ip, no meminfo, no env -0, no %N",
        (DATA / "minimal.txt").read_text(),
        {
            "distribution": "Alpine",
            "distribution_version": "3.19.1",
            "distribution_major_version": "3",
            "os_family": "Alpine",
            "pkg_mgr": "apk",
            "service_mgr": "service",
            "architecture": "aarch64",
            "selinux": {"status": "disabled"},
            "user_dir": "/home/builder",
            "user_shell": "/bin/ash",
        },
        env={"GREETING": "first line\nsecond line", "HOME": "/home/builder"},
        absent=(
            *NETWORK,
            *("memtotal_mb", "memory_mb", "processor_vcpus", "virtualization_type"),
            *("userspace_bits", "real_user_id", "machine_id", "distribution_file_variety"),
        ),
    ),
    Case(
        "hostile values: `=` in a value, a newline, a huge value, forged lines",
        _hostile(),
        {"selinux": EL9_SELINUX, "memtotal_mb": 3649, "distribution": "AlmaLinux"},
        env={
            "OPTS": "a=b=c",
            "MULTI": "line one\nselinux_enforce=0\nline three",
            "EDGE": "y" * (MAX_VALUE - len("EDGE=")),
        },
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_ansible_facts(case: Case) -> None:
    found = facts.parse(case.output)
    assert found is not None
    got = found.variables()["ansible_facts"]
    assert {k: got.get(k) for k in case.expected} == case.expected
    assert {k: got["env"].get(k) for k in case.env} == case.env
    assert [k for k in case.absent if k in got] == []
    assert set(found.variables()) <= facts.FACT_NAMES


def test_dates_are_strings_as_in_ansible() -> None:
    el7, minimal = (recorded(n).ansible["date_time"] for n in ("el7.txt", "minimal.txt"))
    assert el7 == {
        **dict(year="2024", month="06", day="14", hour="09", minute="30", second="05"),
        **dict(epoch="1718350205", epoch_int="1718350205", date="2024-06-14", time="09:30:05"),
        **dict(weekday="Friday", weekday_number="5", weeknumber="24"),
        "iso8601": "2024-06-14T07:30:05Z",
        "iso8601_micro": "2024-06-14T07:30:05.123456Z",
        "iso8601_basic": "20240614T093005123456",
        "iso8601_basic_short": "20240614T093005",
        **dict(tz="CEST", tz_dst="CEST", tz_offset="+0200"),
    }
    assert minimal["iso8601_micro"] == "2024-06-14T07:31:10.000000Z"
    assert minimal["tz_dst"] == minimal["tz"] == "UTC"


def test_mounts_cmdline_and_memory_shapes() -> None:
    el7 = recorded("el7.txt").ansible
    assert [(m["mount"], m["device"]) for m in el7["mounts"]] == [
        ("/", "/dev/mapper/centos-root"),
        ("/boot", "/dev/sda1"),
        ("/srv/shared data", "/dev/sdb1"),
    ]
    assert el7["cmdline"]["rd.lvm.lv"] == "centos/swap" and el7["cmdline"]["ro"] is True
    assert el7["proc_cmdline"]["rd.lvm.lv"] == ["centos/root", "centos/swap"]
    assert el7["memory_mb"]["real"] == {"total": 1837, "used": 604, "free": 1233}
    el9 = recorded("el9.txt").ansible
    assert el9["mounts"][-1]["device"] == "10.66.0.1:/export/home"
    assert el9["default_ipv6"]["address"] == "2001:db8:66::12"
    assert el9["default_ipv6"]["gateway"] == "fe80::1"


def test_every_ansible_name_is_a_fact_name_and_each_one_is_gathered() -> None:
    names = {n for f in ("el7.txt", "el9.txt") for n in recorded(f).ansible}
    assert names == set(facts.ANSIBLE_NAMES)


def test_a_flood_of_lines_is_bounded() -> None:
    found = facts.parse(_hostile())
    assert found is not None
    assert len(found.ansible["interfaces"]) == 512
    assert "HUGE" not in found.ansible["env"]


def test_facts_keep_their_own_values_next_to_ansibles() -> None:
    v = recorded("el7.txt").variables()
    assert v["facts"]["distribution_version"] == "7.9.2009"
    assert v["ansible_distribution_version"] == "7.9"
    assert v["facts"]["selinux"] == "disabled" and v["facts"]["memtotal_mb"] == 1837
    assert v["ansible_default_ipv4"]["address"] == "10.0.2.15"


def test_the_json_listing_masks_secret_looking_variables() -> None:
    text = (DATA / "el9.txt").read_text() + "env0=GITHUB_TOKEN=ghp_s3cr3t\n"
    found = facts.parse(text)
    assert found is not None
    shown = found.shown()
    assert shown["ansible_facts"]["env"]["GITHUB_TOKEN"] == MASK
    assert shown["distribution_version"] == "9.4"
    assert "ghp_s3cr3t" not in json.dumps(shown)
    assert found.variables()["ansible_env"]["GITHUB_TOKEN"] == "ghp_s3cr3t"


def _run_script(env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", "-c", facts.SCRIPT], capture_output=True, text=True, env=env, timeout=60
    )


def test_probe_runs_in_a_real_sh() -> None:
    """The script itself (quoting, sed, grep) on this machine, read like a host's."""
    out = _run_script()
    assert (out.returncode, out.stderr) == (0, "")
    found = facts.parse(out.stdout)
    assert found is not None
    a = found.ansible
    uname = os.uname()
    assert found.architecture == a["machine"] == uname.machine
    assert found.distribution != "unknown"
    assert (a["kernel"], a["nodename"]) == (uname.release, uname.nodename)
    assert a["hostname"] == uname.nodename.split(".")[0]
    assert isinstance(a["memtotal_mb"], int) and a["memtotal_mb"] > 0
    assert isinstance(a["processor_vcpus"], int) and a["processor_vcpus"] >= 1
    assert (a["user_uid"], a["effective_user_id"]) == (os.getuid(), os.geteuid())
    assert a["env"]["PATH"] == os.environ["PATH"]
    assert abs(int(a["date_time"]["epoch"]) - time.time()) < 60
    assert all(isinstance(v, str) for v in a["date_time"].values())
    assert a["selinux"]["status"] in ("enabled", "disabled")
    if shutil.which("ip"):
        assert "lo" in a["interfaces"]
        assert isinstance(a["all_ipv4_addresses"], list)
        assert not any(x.startswith("127.") for x in a["all_ipv4_addresses"])
        assert isinstance(a["default_ipv4"], dict)
    assert set(found.variables()) <= facts.FACT_NAMES


def test_probe_without_any_tool_still_gathers() -> None:
    """PATH leads nowhere: only the shell's builtins work, and the gathering does not fail."""
    out = _run_script(env={"PATH": "/nonexistent"})
    assert out.returncode == 0
    found = facts.parse(out.stdout)
    assert found is not None
    assert (found.distribution, found.pkg_mgr) == ("unknown", "unknown")
    assert "memtotal_mb" not in found.ansible and "interfaces" not in found.ansible


@pytest.mark.parametrize(
    ("text", "uses"),
    [
        ("facts.major_version == '7'", True),
        ("{{ ansible_distribution }}", True),
        ("ansible_facts['os_family'] == 'RedHat'", True),
        ("{{ ansible_default_ipv4.address }}", True),
        ("ansible_memtotal_mb >= 2048", True),
        ("{{ ansible_env.HOME }}/bin", True),
        ("docker-ce", False),
        ("inventory_hostname == 'a'", False),
        ("Start Docker now and at boot", False),
    ],
)
def test_uses_facts(text: str, uses: bool) -> None:
    assert uses_facts([{"x": text}]) is uses


def _setup(tmp_path: Path, body: str) -> tuple[Path, Path]:
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    h1: {host: 10.0.0.1}\n    h2: {host: 10.0.0.2}\n")
    book = tmp_path / "play.yml"
    book.write_text(body)
    return inv, book


BRANCHING = """
- hosts: all
  tasks:
    - name: on EL7
      debug: {msg: "seven {{ facts.distribution_version }}"}
      when: ansible_distribution_major_version == '7'
    - name: elsewhere
      debug: {msg: "not seven"}
      when: facts.major_version != '7'
- hosts: all
  tasks:
    - debug: {msg: "{{ facts.pkg_mgr }}"}
"""


def test_plays_branch_on_facts_gathered_once_per_host(tmp_path: Path) -> None:
    inv, book = _setup(tmp_path, BRANCHING)
    answers = {"h1": "centos7.txt", "h2": "almalinux9.txt"}
    conns = {
        name: FakeConnection(rules=[("@@facts@@", Result(0, (DATA / file).read_text(), ""))])
        for name, file in answers.items()
    }

    def connect(host: Host) -> FakeConnection:
        return conns[host.name]

    summary = Runner(load_playbook(book), load_inventory(inv), connect, RunOptions()).run()
    msgs = {(r.host, r.task, r.status.value, r.msg) for r in summary.results}
    assert ("h1", "on EL7", "ok", "seven 7.9.2009") in msgs
    assert ("h1", "elsewhere", "skipped", "when: facts.major_version != '7' was false") in msgs
    assert (
        "h2",
        "on EL7",
        "skipped",
        "when: ansible_distribution_major_version == '7' was false",
    ) in msgs
    assert ("h2", "debug", "ok", "dnf") in msgs
    assert [len(c.calls) for c in conns.values()] == [1, 1], "one gathering per host and run"


NESTED = """
- hosts: all
  tasks:
    - name: nested
      debug:
        msg: >-
          {{ ansible_default_ipv4.address }} {{ ansible_facts.selinux.mode }}
          {{ ansible_env.HOME }}
      when: ansible_memtotal_mb > 1024 and ansible_pkg_mgr == 'dnf'
    - name: date
      debug: {msg: "{{ ansible_date_time.date }} {{ facts.processor_vcpus + 1 }}"}
"""


def test_plays_read_nested_facts(tmp_path: Path) -> None:
    inv, book = _setup(tmp_path, NESTED)
    conn = FakeConnection(rules=[("@@facts@@", Result(0, (DATA / "el9.txt").read_text(), ""))])
    options = RunOptions(limit="h1")
    summary = Runner(load_playbook(book), load_inventory(inv), lambda h: conn, options).run()
    msgs = {(r.task, r.status.value, r.msg) for r in summary.results}
    assert msgs == {
        ("nested", "ok", "10.66.0.12 enforcing /home/student"),
        ("date", "ok", "2024-06-14 5"),
    }


def test_play_that_names_no_fact_gathers_none(tmp_path: Path) -> None:
    inv, book = _setup(tmp_path, "- hosts: all\n  tasks:\n    - debug: {msg: hi}\n")
    conn = FakeConnection(rules=[])  # any call would raise UnexpectedCall
    summary = Runner(load_playbook(book), load_inventory(inv), lambda h: conn, RunOptions()).run()
    assert summary.exit_code == 0
    assert conn.calls == []


def test_gather_facts_false_leaves_facts_undefined(tmp_path: Path) -> None:
    body = (
        "- hosts: h1\n  gather_facts: false\n  tasks:\n    - debug: {msg: '{{ facts.pkg_mgr }}'}\n"
    )
    inv, book = _setup(tmp_path, body)
    conn = FakeConnection(rules=[])
    summary = Runner(load_playbook(book), load_inventory(inv), lambda h: conn, RunOptions()).run()
    [res] = summary.results
    assert res.status is Status.FAILED and "'facts' is undefined" in res.msg


def test_unreachable_while_gathering(tmp_path: Path) -> None:
    inv, book = _setup(tmp_path, BRANCHING)
    conn = FakeConnection(fail=ConnectError("h1", "Connection refused"))
    summary = Runner(load_playbook(book), load_inventory(inv), lambda h: conn, RunOptions()).run()
    assert {(r.host, r.task, r.status) for r in summary.results} == {
        ("h1", "Gathering facts", Status.UNREACHABLE),
        ("h2", "Gathering facts", Status.UNREACHABLE),
    }
    assert summary.exit_code == 4


def test_garbage_from_the_probe_fails_the_host(tmp_path: Path) -> None:
    inv, book = _setup(tmp_path, BRANCHING)
    conn = FakeConnection(rules=[("@@facts@@", Result(127, "", "sh: sed: not found"))])
    summary = Runner(
        load_playbook(book), load_inventory(inv), lambda h: conn, RunOptions(limit="h1")
    ).run()
    [res] = summary.results
    assert res.status is Status.FAILED
    assert "could not gather facts (exit 127): sh: sed: not found" in res.msg


def test_validate_accepts_facts_it_cannot_know(tmp_path: Path) -> None:
    inv, book = _setup(tmp_path, BRANCHING)
    assert validate(load_playbook(book), load_inventory(inv), {}) == []


@pytest.mark.parametrize(
    ("files", "task"),
    [
        (
            {"motd.j2": "Welcome to {{ facts.distribution }}\n"},
            "template: {src: motd.j2, dest: /x}",
        ),
        ({"os.yml": "pm: '{{ ansible_pkg_mgr }}'\n"}, "debug: {msg: '{{ pm }}'}"),
    ],
    ids=["template-file", "vars-file"],
)
def test_a_fact_named_only_in_a_file_is_gathered(
    tmp_path: Path, files: dict[str, str], task: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    vars_files = "  vars_files: [os.yml]\n" if "os.yml" in files else ""
    book = tmp_path / "play.yml"
    book.write_text(f"- hosts: all\n{vars_files}  tasks:\n    - {task}\n")
    assert needs_facts(load_playbook(book).plays[0])
    (tmp_path / "plain.j2").write_text("Welcome\n")
    book.write_text("- hosts: all\n  tasks:\n    - template: {src: plain.j2, dest: /x}\n")
    assert not needs_facts(load_playbook(book).plays[0])


@pytest.mark.parametrize(
    "tasks",
    [
        # an include inside a block: its file may name any fact
        "    - block:\n        - include_tasks: '{{ which }}.yml'\n",
        # names a fact only in until / environment / loop_control's label
        "    - command: 'true'\n      until: ansible_facts.os_family == 'RedHat'\n",
        "    - command: 'true'\n      environment: {OS: '{{ ansible_facts.os_family }}'}\n",
    ],
)
def test_a_play_gathers_for_facts_named_anywhere(tmp_path: Path, tasks: str) -> None:
    (tmp_path / "x.yml").write_text("- debug: {msg: hi}\n")
    path = tmp_path / "site.yml"
    path.write_text("- hosts: all\n  tasks:\n    - debug: {msg: hi}\n")
    [plain] = load_playbook(path).plays
    assert play_gathers(plain) is None  # names no fact: up to the hosts' variables
    path.write_text(f"- hosts: all\n  vars: {{which: x}}\n  tasks:\n{tasks}")
    [loaded] = load_playbook(path).plays
    assert play_gathers(loaded) is True
