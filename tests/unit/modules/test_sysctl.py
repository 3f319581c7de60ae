"""sysctl: a sysctl file and a fake kernel in, plan, sysctl argv and the file out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules import registry
from provisioner.modules.base import CONVERGED, Blocked, Change, Converged, Failed
from provisioner.modules.sysctl import SysctlModule
from tests.unit.modules.host import converge, observe, syntax_ok
from tests.unit.modules.sysctl_stub import FakeKernel

EL9_CONF = "# sysctl settings are defined through files in\n# /usr/lib/sysctl.d/\n"


@dataclass(frozen=True)
class Case:
    id: str
    args: dict[str, Any]
    file: str | None  # the sysctl file before; None: there is none
    live: dict[str, str]  # the kernel's keys and values before
    summary: tuple[str, ...] | Converged  # {f}: the sysctl file's path
    calls: tuple[tuple[str, ...], ...] = ()  # sysctl's writing calls ({f} too)
    after: str | None = None  # the file after (None: as before)
    live_after: tuple[str, str] | None = None


CASES = [
    Case(
        "a new key: the file gets it and sysctl -p applies it",
        {"name": "vm.swappiness", "value": "10"},
        EL9_CONF,
        {"vm.swappiness": "60"},
        ("+ vm.swappiness = 10 ({f})", "live vm.swappiness: 60 → 10 (sysctl -p {f})"),
        (("sysctl", "-p", "{f}"),),
        EL9_CONF + "vm.swappiness=10\n",
        ("vm.swappiness", "10"),
    ),
    Case(
        "the file and the kernel agree",
        {"name": "vm.swappiness", "value": 10},
        "vm.swappiness = 10\n",
        {"vm.swappiness": "10"},
        CONVERGED,
    ),
    Case(
        "a changed value replaces the key's first line and drops its others",
        {"key": "net.ipv4.ip_forward", "val": True},
        "a.b = 2\nnet.ipv4.ip_forward = 0\n# keep me\nnet.ipv4.ip_forward=0\n",
        {"net.ipv4.ip_forward": "0", "a.b": "2"},
        (
            "~ net.ipv4.ip_forward: 0 → 1 ({f})",
            "live net.ipv4.ip_forward: 0 → 1 (sysctl -p {f})",
        ),
        (("sysctl", "-p", "{f}"),),
        "a.b = 2\nnet.ipv4.ip_forward=1\n# keep me\n",
        ("net.ipv4.ip_forward", "1"),
    ),
    Case(
        "the file is right, the kernel is not: reload",
        {"name": "vm.swappiness", "value": "10"},
        "vm.swappiness=10\n",
        {"vm.swappiness": "60"},
        ("live vm.swappiness: 60 → 10 (sysctl -p {f})",),
        (("sysctl", "-p", "{f}"),),
        None,
        ("vm.swappiness", "10"),
    ),
    Case(
        "the kernel is right, the file is missing it: write and reload",
        {"name": "vm.swappiness", "value": "10"},
        None,
        {"vm.swappiness": "10"},
        ("+ vm.swappiness = 10 ({f})", "reload: sysctl -p {f}"),
        (("sysctl", "-p", "{f}"),),
        "vm.swappiness=10\n",
    ),
    Case(
        "live values compare with whitespace normalized (the kernel prints a tab)",
        {"name": "net.ipv4.ip_local_port_range", "value": "1024  65000"},
        "net.ipv4.ip_local_port_range = 1024  65000\n",
        {"net.ipv4.ip_local_port_range": "1024\t65000"},
        CONVERGED,
    ),
    Case(
        "file values compare as written, as Ansible's do",
        {"name": "net.ipv4.ip_local_port_range", "value": "1024 65000"},
        "net.ipv4.ip_local_port_range = 1024  65000\n",
        {"net.ipv4.ip_local_port_range": "1024\t65000"},
        ("~ net.ipv4.ip_local_port_range: 1024  65000 → 1024 65000 ({f})", "reload: sysctl -p {f}"),
        (("sysctl", "-p", "{f}"),),
        "net.ipv4.ip_local_port_range=1024 65000\n",
    ),
    Case(
        "reload false: only the file",
        {"name": "vm.swappiness", "value": "10", "reload": False},
        "",
        {"vm.swappiness": "60"},
        ("+ vm.swappiness = 10 ({f})",),
        (),
        "vm.swappiness=10\n",
        ("vm.swappiness", "60"),
    ),
    Case(
        "sysctl_set without reload: sysctl -w",
        {"name": "vm.swappiness", "value": "10", "reload": False, "sysctl_set": True},
        "vm.swappiness=10\n",
        {"vm.swappiness": "60"},
        ("live vm.swappiness: 60 → 10 (sysctl -w)",),
        (("sysctl", "-w", "vm.swappiness=10"),),
        None,
        ("vm.swappiness", "10"),
    ),
    Case(
        "sysctl_set and reload, ignoreerrors: -e on both",
        {"name": "vm.swappiness", "value": "10", "sysctl_set": True, "ignoreerrors": True},
        "",
        {"vm.swappiness": "60"},
        ("+ vm.swappiness = 10 ({f})", "live vm.swappiness: 60 → 10 (sysctl -w)"),
        (("sysctl", "-e", "-w", "vm.swappiness=10"), ("sysctl", "-e", "-p", "{f}")),
        "vm.swappiness=10\n",
        ("vm.swappiness", "10"),
    ),
    Case(
        "absent removes the key's lines; the live value stays",
        {"name": "vm.swappiness", "state": "absent"},
        "kernel.panic=3\nvm.swappiness=10\n",
        {"vm.swappiness": "10", "kernel.panic": "3"},
        ("- vm.swappiness ({f})", "reload: sysctl -p {f}"),
        (("sysctl", "-p", "{f}"),),
        "kernel.panic=3\n",
        ("vm.swappiness", "10"),
    ),
    Case(
        "absent and not there",
        {"name": "vm.swappiness", "state": "absent"},
        None,
        {},
        CONVERGED,
    ),
    Case(
        "an unknown key with ignoreerrors: the file only",
        {"name": "net.bridge.bridge-nf-call-iptables", "value": "1", "ignoreerrors": True},
        "x=1",
        {},
        ("+ net.bridge.bridge-nf-call-iptables = 1 ({f})", "reload: sysctl -p {f}"),
        (("sysctl", "-e", "-p", "{f}"),),
        "x=1\nnet.bridge.bridge-nf-call-iptables=1\n",
    ),
]


def _f(text: str, path: Path) -> str:
    return text.replace("{f}", str(path))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_plan_commands_and_convergence(tmp_path: Path, case: Case) -> None:
    conf = tmp_path / "sysctl.conf"
    if case.file is not None:
        conf.write_text(case.file)
    kernel = FakeKernel(tmp_path / "k")
    for name, value in case.live.items():
        kernel.set(name, value)
    module = SysctlModule.from_dict({**case.args, "sysctl_file": str(conf)})
    assert syntax_ok(module.probe())
    first, again = converge(module, tmp_path, kernel.run)
    writes = [c for c in kernel.calls() if c[1] != "-n"]
    if isinstance(case.summary, Converged):
        assert first is CONVERGED and writes == []
        return
    assert isinstance(first, Change)
    assert first.summary == tuple(_f(s, conf) for s in case.summary)
    assert writes == [tuple(_f(w, conf) for w in call) for call in case.calls]
    assert again is CONVERGED
    expected = case.after if case.after is not None else case.file
    assert (conf.read_text() if conf.exists() else None) == expected
    if case.live_after is not None:
        assert kernel.get(case.live_after[0]) == case.live_after[1]


def test_the_dry_run_shows_the_file_diff(tmp_path: Path) -> None:
    conf = tmp_path / "99-app.conf"
    conf.write_text("vm.swappiness=60\n")
    kernel = FakeKernel(tmp_path / "k").set("vm.swappiness", "60")
    module = SysctlModule.from_dict(
        {"name": "vm.swappiness", "value": "10", "sysctl_file": str(conf)}
    )
    plan = module.plan(observe(module, kernel.run))
    assert isinstance(plan, Change) and plan.diff is not None
    assert "-vm.swappiness=60\n+vm.swappiness=10\n" in plan.diff
    assert kernel.calls() == [("sysctl", "-n", "vm.swappiness")]  # the probe only reads


def test_the_live_value_is_asked_only_when_it_matters() -> None:
    quiet = SysctlModule.from_dict({"name": "vm.swappiness", "value": "1", "reload": False})
    gone = SysctlModule.from_dict({"name": "vm.swappiness", "state": "absent"})
    assert "sysctl -n" not in quiet.probe() and "sysctl -n" not in gone.probe()
    assert "sysctl -n" in SysctlModule.from_dict({"name": "a.b", "value": "1"}).probe()


def test_an_unknown_key_fails_with_a_reason(tmp_path: Path) -> None:
    kernel = FakeKernel(tmp_path / "k")
    module = SysctlModule.from_dict(
        {
            "name": "net.bridge.bridge-nf-call-iptables",
            "value": "1",
            "sysctl_file": str(tmp_path / "f"),
        }
    )
    failed = module.plan(observe(module, kernel.run))
    assert isinstance(failed, Failed)
    assert "no key net.bridge.bridge-nf-call-iptables" in failed.msg
    assert "kernel module loaded" in failed.msg and "ignoreerrors" in failed.msg


def test_a_missing_directory_is_a_dependency(tmp_path: Path) -> None:
    kernel = FakeKernel(tmp_path / "k").set("vm.swappiness", "60")
    module = SysctlModule.from_dict(
        {"name": "vm.swappiness", "value": "1", "sysctl_file": str(tmp_path / "no" / "x.conf")}
    )
    blocked = module.plan(observe(module, kernel.run))
    assert isinstance(blocked, Blocked) and blocked.what == f"directory {tmp_path}/no"


def test_an_unreadable_key_is_an_error(tmp_path: Path) -> None:
    kernel = FakeKernel(tmp_path / "k")
    stub = tmp_path / "k" / "bin" / "sysctl"
    stub.write_text(
        "#!/bin/sh\necho \"sysctl: permission denied on key 'kernel.x'\" >&2\nexit 255\n"
    )
    module = SysctlModule.from_dict(
        {"name": "kernel.x", "value": "1", "sysctl_file": str(tmp_path / "f")}
    )
    with pytest.raises(ProbeError, match="permission denied"):
        module.plan(observe(module, kernel.run))


def test_a_refused_value_fails_the_reload(tmp_path: Path) -> None:
    """procps can exit 0 when the kernel refused a value: its words fail the step."""
    conf = tmp_path / "f"
    kernel = FakeKernel(tmp_path / "k").set("vm.swappiness", "60")
    module = SysctlModule.from_dict(
        {"name": "vm.swappiness", "value": "x", "sysctl_file": str(conf)}
    )
    plan = module.plan(observe(module, kernel.run))
    assert isinstance(plan, Change)
    stub = tmp_path / "k" / "bin" / "sysctl"
    stub.write_text(
        "#!/bin/sh\necho 'sysctl: setting key \"vm.swappiness\": Invalid argument' >&2\nexit 0\n"
    )
    reload = module.commands(plan)[-1]
    r = kernel.run(reload.script)
    assert r.rc == 1 and "Invalid argument" in r.stderr


def test_hostile_values_stay_one_word(tmp_path: Path) -> None:
    conf = tmp_path / "it's; rm -rf ~.conf"
    kernel = FakeKernel(tmp_path / "k").set("kernel.core_pattern", "core")
    value = "|/bin/sh -c 'touch $HOME/pwned' `id` ; echo"
    module = SysctlModule.from_dict(
        {
            "name": "kernel.core_pattern",
            "value": value,
            "sysctl_file": str(conf),
            "sysctl_set": True,
        }
    )
    first, again = converge(module, tmp_path, kernel.run)
    assert isinstance(first, Change) and again is CONVERGED
    assert ("sysctl", "-w", f"kernel.core_pattern={value}") in kernel.calls()
    assert conf.read_text() == f"kernel.core_pattern={value}\n"
    assert kernel.get("kernel.core_pattern") == value


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"name": "vm.swappiness"}, "needs a non-empty 'value'"),
        ({"name": "vm.swappiness", "value": "  "}, "needs a non-empty 'value'"),
        ({"name": "vm.swappiness=1", "value": "1"}, "must not contain '='"),
        ({"name": "vm swappiness", "value": "1"}, "must not contain"),
        ({"name": "-a", "value": "1"}, "must not start with '-'"),
        ({"name": "a.b", "value": "1\n2"}, "single line"),
        ({"name": "a.b", "key": "a.b", "value": "1"}, "'key' is an alias of 'name'"),
        ({"name": "a.b", "value": "1", "sysctl_file": "sysctl.conf"}, "must be absolute"),
        ({"name": "a.b", "value": "1", "reload": "sometimes"}, "reload"),
        ({"name": "a.b", "value": "1", "sysctl_reload": True}, "unknown argument 'sysctl_reload'"),
    ],
)
def test_bad_args(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        SysctlModule.from_dict(raw)


@pytest.mark.parametrize(
    ("value", "stored"),
    [(True, "1"), ("yes", "1"), ("off", "0"), (0, "0"), (1.5, "1.5"), (" 7 ", "7")],
)
def test_values_as_ansible_reads_them(value: object, stored: str) -> None:
    assert SysctlModule.from_dict({"name": "a.b", "value": value}).args.value == stored


def test_names() -> None:
    assert registry()["ansible.posix.sysctl"] is SysctlModule is registry()["sysctl"]
