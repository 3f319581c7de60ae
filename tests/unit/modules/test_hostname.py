"""hostname: uname, hostname and hostnamectl stubs that keep a name; files in a temp dir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError
from provisioner.modules import registry
from provisioner.modules.base import CONVERGED, Change, Converged, Failed
from provisioner.modules.hostname import HostnameModule, HostState, Paths
from provisioner.probes.files import ContentState
from provisioner.probes.hostname import NodeName
from tests.unit.modules.host import FakeHost, converge, observe, syntax_ok

# The kernel's name lives in $NODE/name; hostnamectl (when $NODE/systemd exists) sets it
# and the static name in $ETC_HOSTNAME, as systemd-hostnamed does.
STUBS = {
    "uname": '[ "$1" = -n ] && cat "$NODE/name"',
    "hostname": 'printf \'%s\\n\' "$1" > "$NODE/name"',
    "hostnamectl": (
        '[ -f "$NODE/systemd" ] || { echo "Failed to connect to bus" >&2; exit 1; }\n'
        'case "$1" in status) echo "Static hostname: x" ;;\n'
        '  set-hostname) printf \'%s\\n\' "$2" > "$NODE/name"; printf \'%s\\n\' "$2" > '
        '"$ETC_HOSTNAME" ;;\n'
        "  *) exit 2 ;; esac"
    ),
}
EL7_NETWORK = "# Created by anaconda\nNETWORKING=yes\nHOSTNAME=localhost.localdomain\n"


@dataclass(frozen=True)
class Case:
    id: str
    args: dict[str, Any]
    systemd: bool
    now: str  # the kernel's name before
    file: str | None  # /etc/hostname (use: redhat: /etc/sysconfig/network); None: absent
    summary: tuple[str, ...] | Converged  # {f}: that file
    calls: tuple[tuple[str, ...], ...] = ()
    after: str | None = None


CASES = [
    Case(
        "systemd: hostnamectl sets both",
        {"name": "web01.lab.example"},
        True,
        "localhost",
        "localhost\n",
        (
            "hostname: localhost → web01.lab.example",
            "static hostname ({f}): localhost → web01.lab.example",
        ),
        (("hostnamectl", "set-hostname", "web01.lab.example"),),
        "web01.lab.example\n",
    ),
    Case(
        "systemd: already so",
        {"name": "web01", "use": "systemd"},
        True,
        "web01",
        "web01\n",
        CONVERGED,
    ),
    Case(
        "systemd before 249 lowercases the static name: still the same name",
        {"name": "Web01"},
        True,
        "web01",
        "web01\n",
        CONVERGED,
    ),
    Case(
        "only the kernel's name differs",
        {"name": "web01"},
        True,
        "localhost",
        "# static\nweb01\n",
        ("hostname: localhost → web01",),
        (("hostnamectl", "set-hostname", "web01"),),
        "web01\n",
    ),
    Case(
        "no hostnamectl answering: /etc/hostname and hostname(1)",
        {"name": "web01"},
        False,
        "buildkitsandbox",
        None,
        ("hostname: buildkitsandbox → web01", "static hostname ({f}): (none) → web01"),
        (("hostname", "web01"),),
        "web01\n",
    ),
    Case(
        "use: redhat keeps HOSTNAME in /etc/sysconfig/network",
        {"name": "web01", "use": "redhat"},
        False,
        "localhost.localdomain",
        EL7_NETWORK,
        (
            "hostname: localhost.localdomain → web01",
            "static hostname ({f}): localhost.localdomain → web01",
        ),
        (("hostname", "web01"),),
        "# Created by anaconda\nNETWORKING=yes\nHOSTNAME=web01\n",
    ),
    Case(
        "use: redhat, no HOSTNAME line yet",
        {"name": "web01", "use": "redhat"},
        False,
        "web01",
        "NETWORKING=yes",
        ("static hostname ({f}): (none) → web01",),
        (),
        "NETWORKING=yes\nHOSTNAME=web01\n",
    ),
]


def _host(host: FakeHost, tmp: Path, systemd: bool, now: str) -> Any:
    """Stubs in the FakeHost's bin, logging as its own stubs do (host.calls reads them)."""
    node = tmp / "node"
    node.mkdir()
    (node / "name").write_text(now + "\n")
    if systemd:
        (node / "systemd").touch()
    host.bin.mkdir(parents=True, exist_ok=True)
    for prog, body in STUBS.items():
        log = f"{{ printf '%s\\0' {prog} \"$@\"; printf '\\001'; }} >> '{host.log}'"
        (host.bin / prog).write_text(f"#!/bin/sh\n{log}\n{body}\n")
        (host.bin / prog).chmod(0o755)
    env = {"NODE": str(node), "ETC_HOSTNAME": str(tmp / "etc/hostname")}
    return lambda script, e=None: host.run(script, {**env, **(e or {})})


def _module(tmp: Path, args: dict[str, Any]) -> HostnameModule:
    class InTmp(HostnameModule):
        paths = Paths(str(tmp / "etc/hostname"), str(tmp / "etc/sysconfig/network"))

    return InTmp.from_dict(args)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_plan_commands_and_convergence(host: FakeHost, tmp_path: Path, case: Case) -> None:
    (tmp_path / "etc/sysconfig").mkdir(parents=True)
    module = _module(tmp_path, case.args)
    f = Path(module.paths.network if case.args.get("use") == "redhat" else module.paths.hostname)
    if case.file is not None:
        f.write_text(case.file)
    run = _host(host, tmp_path, case.systemd, case.now)
    assert syntax_ok(module.probe())
    first, again = converge(module, tmp_path, run)
    sets = [tuple(c) for c in host.calls() if c[0] != "uname" and c[1:2] != ["status"]]
    if isinstance(case.summary, Converged):
        assert first is CONVERGED and sets == []
        return
    assert isinstance(first, Change)
    assert first.summary == tuple(s.replace("{f}", str(f)) for s in case.summary)
    assert sets == list(case.calls)
    assert again is CONVERGED
    assert f.read_text() == case.after
    assert (tmp_path / "node/name").read_text() == case.args["name"] + "\n"


def test_use_systemd_without_hostnamectl_fails(host: FakeHost, tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    module = _module(tmp_path, {"name": "web01", "use": "systemd"})
    failed = module.plan(observe(module, _host(host, tmp_path, False, "other")))
    assert isinstance(failed, Failed) and "needs hostnamectl" in failed.msg


def test_the_facts_ansible_returns() -> None:
    module = HostnameModule.from_dict({"name": "web01.lab.example"})
    facts = module.fields(
        HostState(NodeName("old", True), ContentState("/etc/hostname", "", "absent"))
    )
    assert facts == {
        "ansible_facts": {"ansible_hostname": "web01", "ansible_nodename": "web01.lab.example"}
    }


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("web_01", "not a host name"),
        ("-web", "not a host name"),
        ("web-", "not a host name"),
        ("web..lab", "not a host name"),
        ("web01.", "not a host name"),
        ("web 01", "not a host name"),
        ("web01; reboot", "not a host name"),
        ("a" * 64 + ".b", "1 to 64 characters"),
        ("", "1 to 64 characters"),
    ],
)
def test_bad_names(name: str, match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        HostnameModule.from_dict({"name": name})


def test_bad_use() -> None:
    with pytest.raises(ModuleArgsError, match="use"):
        HostnameModule.from_dict({"name": "a", "use": "alpine"})


def test_names() -> None:
    assert registry()["ansible.builtin.hostname"] is HostnameModule
