"""package: recorded rpm/dnf/yum output in, plan and transaction argv out.

The probe runs for real in sh; rpm, dnf and yum are stubs that answer with
outputs recorded on EL7/EL9 and log how they were called.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules import registry
from provisioner.modules.base import CONVERGED, Blocked, Change, Converged, Kind, Provision
from provisioner.modules.package import (
    PackageArgs,
    PackageModule,
    PackageState,
    Spec,
    lock_wait,
    parse_check_update,
    rpmvercmp,
    split_spec,
)
from provisioner.probes.base import Probe
from provisioner.probes.rpm import PackageManager, RepoListing, RpmQuery
from tests.unit.modules.host import FakeHost, rec, sh, state_of, syntax_ok

Reply = tuple[str, str, str, int]


def label(name: str, out: str, rc: int = 0) -> Reply:
    """rpm -q --qf FMT NAME"""
    return ("rpm", f'"-q --qf "*" {name}"', out, rc)


def provides(name: str, out: str, rc: int = 0) -> Reply:
    """rpm -q --qf FMT --whatprovides NAME"""
    return ("rpm", f'*"--whatprovides {name}"', out, rc)


def missing(name: str) -> tuple[Reply, Reply]:
    return (
        label(name, f"package {name} is not installed\n", 1),
        provides(name, f"no package provides {name}\n", 1),
    )


def check_update(pm: str, out: str, rc: int) -> Reply:
    return (pm, '"-q "*"check-update "*', out, rc)


@dataclass(frozen=True)
class Case:
    id: str
    args: dict[str, Any]
    pm: str
    replies: tuple[Reply, ...]
    summary: tuple[str, ...] | Converged
    runs: tuple[tuple[str, ...], ...] = ()  # argv of each dnf/yum transaction
    probed: tuple[tuple[str, ...], ...] | None = None  # argv of the probe's dnf/yum calls


D = "docker-ce"
CASES = [
    Case(
        "el9 install missing",
        {"name": D},
        "dnf",
        missing(D),
        ("+ docker-ce",),
        (("dnf", "-y", "install", D),),
    ),
    Case(
        "el9 already installed",
        {"name": D},
        "dnf",
        (label(D, rec("rpm/el9-docker-ce-27.3.1.txt")),),
        CONVERGED,
    ),
    Case(
        "el7 list, one transaction for what is missing",
        {"name": [D, "containerd.io", "device-mapper-persistent-data"], "state": "installed"},
        "yum",
        (
            *missing(D),
            label("containerd.io", rec("rpm/el9-containerd.io.txt")),
            label(
                "device-mapper-persistent-data", rec("rpm/el7-device-mapper-persistent-data.txt")
            ),
        ),
        ("+ docker-ce",),
        (("yum", "-y", "install", D),),
    ),
    Case(
        "el9 comma-separated names",
        {"name": "docker-ce, podman"},
        "dnf",
        (*missing(D), *missing("podman")),
        ("+ docker-ce", "+ podman"),
        (("dnf", "-y", "install", D, "podman"),),
    ),
    Case(
        "el9 pinned version upgrades",
        {"name": "docker-ce-27.3.1"},
        "dnf",
        (*missing("docker-ce-27.3.1"), label(D, rec("rpm/el9-docker-ce-26.1.4-1.el7.txt"))),
        ("docker-ce 26.1.4 → 27.3.1",),
        (("dnf", "-y", "install", "docker-ce-27.3.1"),),
    ),
    Case(
        "el9 pinned version, not installed at all",
        {"name": "docker-ce-26.1.4"},
        "dnf",
        (*missing("docker-ce-26.1.4"), label(D, rec("rpm/not-installed-docker-ce.txt"), 1)),
        ("+ docker-ce 26.1.4",),
        (("dnf", "-y", "install", "docker-ce-26.1.4"),),
    ),
    Case(
        "el9 pinned version already there (rpm matches the N-V label)",
        {"name": "docker-ce-27.3.1"},
        "dnf",
        (
            label("docker-ce-27.3.1", rec("rpm/el9-docker-ce-27.3.1.txt")),
            label(D, rec("rpm/el9-docker-ce-27.3.1.txt")),
        ),
        CONVERGED,
    ),
    Case(
        "el7 epoch:version-release satisfied by our own EVR match",
        {"name": "docker-ce-3:26.1.4-1.el7"},
        "yum",
        (*missing("docker-ce-3:26.1.4-1.el7"), label(D, rec("rpm/el7-docker-ce-26.1.4.txt"))),
        CONVERGED,
    ),
    Case(
        "el7 older pin with allow_downgrade is a yum downgrade",
        {"name": "docker-ce-26.1.3", "allow_downgrade": "yes"},
        "yum",
        (*missing("docker-ce-26.1.3"), label(D, rec("rpm/el7-docker-ce-26.1.4.txt"))),
        ("docker-ce 26.1.4 → 26.1.3 (downgrade)",),
        (("yum", "-y", "downgrade", "docker-ce-26.1.3"),),
    ),
    Case(
        "el9 older pin with allow_downgrade is a dnf downgrade",
        {"name": "docker-ce-26.1.3", "allow_downgrade": True},
        "dnf",
        (*missing("docker-ce-26.1.3"), label(D, rec("rpm/el9-docker-ce-27.3.1.txt"))),
        ("docker-ce 27.3.1 → 26.1.3 (downgrade)",),
        (("dnf", "-y", "downgrade", "docker-ce-26.1.3"),),
    ),
    Case(
        "el7 an older kernel is installed beside the newer ones, not a downgrade",
        {"name": "kernel-3.10.0-1062.el7"},
        "yum",
        (*missing("kernel-3.10.0-1062.el7"), label("kernel", rec("rpm/el7-kernel-two.txt"))),
        ("kernel 3.10.0-1160.119.1.el7 → 3.10.0-1062.el7",),
        (("yum", "-y", "install", "kernel-3.10.0-1062.el7"),),
    ),
    Case(
        "el9 enablerepo and disablerepo reach the listing and the transaction",
        {"name": D, "enablerepo": "docker-ce-test", "disablerepo": "docker-ce-stable, nightly"},
        "dnf",
        missing(D),
        ("+ docker-ce",),
        (
            (
                "dnf",
                "-y",
                "--disablerepo=docker-ce-stable",
                "--disablerepo=nightly",
                "--enablerepo=docker-ce-test",
                "install",
                D,
            ),
        ),
        (
            (
                "dnf",
                "-q",
                "--disablerepo=docker-ce-stable",
                "--disablerepo=nightly",
                "--enablerepo=docker-ce-test",
                "list",
                "available",
                "--showduplicates",
                "--setopt=errorlevel=3",
                D,
            ),
        ),
    ),
    Case(
        "el7 update_cache refreshes before the listing (pkg: is name)",
        {"pkg": D, "update_cache": True, "state": "installed"},
        "yum",
        missing(D),
        ("+ docker-ce",),
        (("yum", "-y", "install", D),),
        (
            ("yum", "-q", "makecache", "fast"),
            ("yum", "-q", "list", "available", "--showduplicates", "--setopt=errorlevel=3", D),
        ),
    ),
    Case(
        "el9 update_cache and an installed package: no repository is asked",
        {"name": D, "update_cache": True},
        "dnf",
        (label(D, rec("rpm/el9-docker-ce-27.3.1.txt")),),
        CONVERGED,
        probed=(),
    ),
    Case(
        "el9 update_cache alone is an action",
        {"update_cache": "yes"},
        "dnf",
        (),
        ("makecache",),
        (("dnf", "-y", "makecache"),),
        (),
    ),
    Case(
        "el7 expire-cache alone, a repository enabled",
        {"expire-cache": True, "enablerepo": ["epel"]},
        "yum",
        (),
        ("makecache",),
        (("yum", "-y", "--enablerepo=epel", "makecache", "fast"),),
    ),
    Case(
        "el9 latest with update_cache and enablerepo: check-update sees them",
        {"name": D, "state": "latest", "update_cache": True, "enablerepo": "docker-ce-test"},
        "dnf",
        (
            label(D, rec("rpm/el9-docker-ce-26.1.4-1.el7.txt")),
            check_update("dnf", rec("dnf/el9-check-update-docker.txt"), 100),
        ),
        ("docker-ce 26.1.4 → 27.3.1",),
        (("dnf", "-y", "--enablerepo=docker-ce-test", "upgrade", D),),
        (
            ("dnf", "-q", "--enablerepo=docker-ce-test", "makecache"),
            (
                "dnf",
                "-q",
                "--enablerepo=docker-ce-test",
                "check-update",
                "--setopt=errorlevel=3",
                D,
            ),
        ),
    ),
    Case(
        "el9 same version, other release",
        {"name": "docker-ce-27.3.1-2.el9"},
        "dnf",
        (*missing("docker-ce-27.3.1-2.el9"), label(D, rec("rpm/el9-docker-ce-27.3.1.txt"))),
        ("docker-ce 27.3.1-1.el9 → 27.3.1-2.el9",),
        (("dnf", "-y", "install", "docker-ce-27.3.1-2.el9"),),
    ),
    Case(
        "el9 a capability: containerd is provided by containerd.io",
        {"name": "containerd"},
        "dnf",
        (
            provides("containerd", rec("rpm/el9-whatprovides-containerd.txt")),
            label("containerd", "package containerd is not installed\n", 1),
        ),
        CONVERGED,
    ),
    Case(
        "el7 a kernel among several",
        {"name": "kernel-3.10.0-1160.119.1.el7"},
        "yum",
        (
            label(
                "kernel-3.10.0-1160.119.1.el7", rec("rpm/el7-kernel-two.txt").splitlines()[1] + "\n"
            ),
            label("kernel", rec("rpm/el7-kernel-two.txt")),
        ),
        CONVERGED,
    ),
    Case(
        "el9 multilib glibc counts once",
        {"name": "glibc"},
        "dnf",
        (label("glibc", rec("rpm/el9-glibc-multilib.txt")),),
        CONVERGED,
    ),
    Case(
        "el9 absent removes",
        {"name": ["podman", D], "state": "absent"},
        "dnf",
        (
            label("podman", rec("rpm/el9-podman.txt")),
            label(D, rec("rpm/not-installed-docker-ce.txt"), 1),
        ),
        ("- podman",),
        (("dnf", "-y", "remove", "podman"),),
    ),
    Case(
        "el9 absent, nothing installed",
        {"name": "podman", "state": "removed"},
        "dnf",
        (label("podman", rec("rpm/not-installed-podman.txt"), 1),),
        CONVERGED,
    ),
    Case(
        "el9 absent pinned: other version stays",
        {"name": "docker-ce-26.1.3", "state": "absent"},
        "dnf",
        (
            label("docker-ce-26.1.3", "package docker-ce-26.1.3 is not installed\n", 1),
            label(D, rec("rpm/el9-docker-ce-27.3.1.txt")),
        ),
        CONVERGED,
    ),
    Case(
        "el9 latest upgrades what check-update lists",
        {"name": [D, "containerd.io"], "state": "latest"},
        "dnf",
        (
            label(D, rec("rpm/el9-docker-ce-26.1.4-1.el7.txt")),
            label("containerd.io", rec("rpm/el9-containerd.io-1.6.33-3.1.el7.txt")),
            check_update("dnf", rec("dnf/el9-check-update-docker.txt"), 100),
        ),
        ("docker-ce 26.1.4 → 27.3.1", "containerd.io 1.6.33 → 1.7.22"),
        (("dnf", "-y", "upgrade", D, "containerd.io"),),
    ),
    Case(
        "el7 latest: install the missing, update the rest (wrapped yum output)",
        {"name": ["git", "docker-ce-rootless-extras"], "state": "latest"},
        "yum",
        (
            label("git", "git\t(none)\t1.8.3.1\t24.el7_9\tx86_64\n"),
            *missing("docker-ce-rootless-extras"),
            check_update("yum", rec("yum/el7-check-update-wrapped.txt"), 100),
        ),
        ("git 1.8.3.1-24.el7_9 → 1.8.3.1-25.el7_9", "+ docker-ce-rootless-extras"),
        (("yum", "-y", "install", "docker-ce-rootless-extras"), ("yum", "-y", "update", "git")),
    ),
    Case(
        "el9 latest and up to date",
        {"name": D, "state": "latest"},
        "dnf",
        (label(D, rec("rpm/el9-docker-ce-27.3.1.txt")), check_update("dnf", "", 0)),
        CONVERGED,
    ),
]


def setup(host: FakeHost, case: Case) -> None:
    # --whatprovides globs first: the label glob would match them too.
    for prog, pattern, out, rc in sorted(case.replies, key=lambda r: "--whatprovides" not in r[1]):
        host.on(prog, pattern, out, rc)
    host.on(case.pm, '"-y "*')
    host.on(case.pm, '"-q "*makecache*')
    # What is not installed is in a repository (cases of the opposite are below).
    host.on(case.pm, '"-q "*"list available --showduplicates "*')


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_plan_and_commands(host: FakeHost, case: Case) -> None:
    setup(host, case)
    module = PackageModule.from_dict(case.args)
    assert syntax_ok(module.probe())
    probe = host.run(module.probe())
    assert probe.rc == 0, probe.stderr
    if case.probed is not None:
        assert [tuple(c) for c in host.calls(case.pm)] == list(case.probed)
    change = module.plan(module.parse(probe.stdout, probe.rc))
    if case.summary is CONVERGED:
        assert change is CONVERGED
        return
    assert isinstance(change, Change)
    assert change.summary == case.summary
    host.clear()
    for op in module.commands(change):
        assert syntax_ok(op.script)
        result = host.run(op.script)
        assert result.rc == 0, result.stderr
    assert [tuple(c) for c in host.calls(case.pm)] == list(case.runs)


def test_probe_of_latest_runs_check_update_once(host: FakeHost) -> None:
    case = next(c for c in CASES if c.id == "el9 latest upgrades what check-update lists")
    setup(host, case)
    module = PackageModule.from_dict(case.args)
    host.run(module.probe())
    assert host.calls("dnf") == [
        ["dnf", "-q", "check-update", "--setopt=errorlevel=3", D, "containerd.io"]
    ]


def test_probe_picks_yum_without_dnf(host: FakeHost) -> None:
    host.on("rpm", "*", rec("rpm/el7-git.txt"))
    module = PackageModule.from_dict({"name": "git"})
    out = host.run(module.probe())
    assert module.parse(out.stdout, out.rc).manager == "yum"


def test_check_update_failure_is_a_probe_error(host: FakeHost) -> None:
    host.on("rpm", "*", rec("rpm/el9-docker-ce-27.3.1.txt"))
    host.on("dnf", "*", rec("dnf/el9-check-update-offline.txt"), 1)
    module = PackageModule.from_dict({"name": D, "state": "latest"})
    out = host.run(module.probe())
    with pytest.raises(ProbeError, match="check-update failed"):
        module.parse(out.stdout, out.rc)


def test_latest_with_an_unreadable_repository_is_blocked_with_dnfs_words(host: FakeHost) -> None:
    """dnf says why check-update failed on stderr only (as the lab's capture shows)."""
    host.on("rpm", "*", rec("rpm/el9-docker-ce-27.3.1.txt"))
    offline = rec("dnf/el9-check-update-offline.stderr.txt")
    host.on("dnf", "*", rec("dnf/el9-check-update-offline.txt"), 1, err=offline)
    module = PackageModule.from_dict({"name": D, "state": "latest"})
    out = host.run(module.probe())
    blocked = module.plan(module.parse(out.stdout, out.rc))
    assert isinstance(blocked, Blocked) and blocked.need == Provision(Kind.REPO)
    assert blocked.message.startswith(f"repository metadata for {D} not found: dnf: Error:")
    assert "Failed to download metadata for repo 'docker-ce-stable'" in blocked.message


def test_check_update_failure_names_what_dnf_said(host: FakeHost) -> None:
    host.on("rpm", "*", rec("rpm/el9-docker-ce-27.3.1.txt"))
    host.on("dnf", "*", "", 1, err="Error: rpmdb open failed\n")
    module = PackageModule.from_dict({"name": D, "state": "latest"})
    out = host.run(module.probe())
    with pytest.raises(ProbeError, match="dnf check-update failed \\(exit 1\\): Error: rpmdb open"):
        module.parse(out.stdout, out.rc)


# What the probes of {"name": D} answer on an EL9 host with docker-ce installed.
MANAGER, HAVE = PackageManager(), RpmQuery(D, provides=True)
SANE: dict[Probe[Any], tuple[str, int]] = {
    MANAGER: ("pm=dnf\n", 0),
    HAVE: (rec("rpm/el9-docker-ce-27.3.1.txt"), 0),
    RepoListing(D, 300): ("pm=dnf\n", 0),
}


def test_sane_probe_output_is_read() -> None:
    module = PackageModule.from_dict({"name": D})
    assert module.plan(state_of(module, SANE)) is CONVERGED


@pytest.mark.parametrize(
    ("probe", "stdout", "rc"),
    [
        (MANAGER, "pm=yum\nnorpm=1\n", 0),
        (MANAGER, "garbage\n", 0),
        (HAVE, "error: rpmdb: BDB0113 Thread/process 2270/140 failed\n", 1),
        (HAVE, "", 1),
        (HAVE, "docker-ce\tX\t26.1.4\t1.el9\tx86_64\n", 0),
    ],
)
def test_unreadable_probe_output(probe: Probe[Any], stdout: str, rc: int) -> None:
    module = PackageModule.from_dict({"name": D})
    with pytest.raises(ProbeError):
        state_of(module, {**SANE, probe: (stdout, rc)})


def test_probe_output_cut_short() -> None:
    # The manager's line, then nothing: rpm's answer never came.
    with pytest.raises(ProbeError):
        PackageModule.from_dict({"name": D}).parse("pm=dnf\n", 0)


@pytest.mark.parametrize(
    ("raw", "spec"),
    [
        ("docker-ce", Spec("docker-ce", "docker-ce")),
        ("containerd.io", Spec("containerd.io", "containerd.io")),
        (
            "device-mapper-persistent-data",
            Spec("device-mapper-persistent-data", "device-mapper-persistent-data"),
        ),
        ("java-11-openjdk", Spec("java-11-openjdk", "java-11-openjdk")),
        ("docker-ce-26.1.4", Spec("docker-ce-26.1.4", "docker-ce", None, "26.1.4")),
        (
            "docker-ce-3:26.1.4-1.el7",
            Spec("docker-ce-3:26.1.4-1.el7", "docker-ce", "3", "26.1.4", "1.el7"),
        ),
        (
            "java-1.8.0-openjdk-1.8.0.412.b08-1.el7_9",
            Spec(
                "java-1.8.0-openjdk-1.8.0.412.b08-1.el7_9",
                "java-1.8.0-openjdk",
                None,
                "1.8.0.412.b08",
                "1.el7_9",
            ),
        ),
        (
            "kernel-3.10.0-1160.el7",
            Spec("kernel-3.10.0-1160.el7", "kernel", None, "3.10.0", "1160.el7"),
        ),
        # Ambiguous by shape; the probe's whole-text query settles it (see module doc).
        ("compat-libstdc++-33", Spec("compat-libstdc++-33", "compat-libstdc++", None, "33")),
    ],
)
def test_split_spec(raw: str, spec: Spec) -> None:
    assert split_spec(raw) == spec


def test_whole_name_that_looks_versioned_counts_as_installed(host: FakeHost) -> None:
    line = "compat-libstdc++-33\t(none)\t3.2.3\t72.el7\tx86_64\n"
    host.on("rpm", '"-q --qf "*" compat-libstdc++-33"', line)
    host.on(
        "rpm", '"-q --qf "*" compat-libstdc++"', "package compat-libstdc++ is not installed\n", 1
    )
    module = PackageModule.from_dict({"name": "compat-libstdc++-33"})
    out = host.run(module.probe())
    assert module.plan(module.parse(out.stdout, out.rc)) is CONVERGED


# rpm's own test table (rpmvercmp.at)
@pytest.mark.parametrize(
    ("a", "b", "want"),
    [
        ("1.0", "1.0", 0),
        ("1.0", "2.0", -1),
        ("2.0.1", "2.0", 1),
        ("2.0.1a", "2.0.1", 1),
        ("5.5p1", "5.5p2", -1),
        ("5.5p10", "5.5p1", 1),
        ("10xyz", "10.1xyz", -1),
        ("xyz10", "xyz10.1", -1),
        ("1.0a", "1.0aa", -1),
        ("10.0001", "10.1", 0),
        ("10.0001", "10.0039", -1),
        ("4.999.9", "5.0", -1),
        ("20101121", "20101122", -1),
        ("2.0", "2_0", 0),
        ("a+", "a_", 0),
        ("+", "_", 0),
        ("1.0~rc1", "1.0", -1),
        ("1.0~rc1", "1.0~rc2", -1),
        ("1.0~rc1~git123", "1.0~rc1", -1),
        ("1.0^", "1.0", 1),
        ("1.0^git1", "1.0^git2", -1),
        ("1.0^git1", "1.01", -1),
        ("1.0^20160101", "1.0.1", -1),
        ("1.0~rc1^git1", "1.0~rc1", 1),
        ("1.0^git1~pre", "1.0^git1", -1),
        ("26.1.3", "26.1.4", -1),
    ],
)
def test_rpmvercmp(a: str, b: str, want: int) -> None:
    assert rpmvercmp(a, b) == want
    assert rpmvercmp(b, a) == -want


def test_check_update_parsing() -> None:
    lines = tuple(rec("yum/el7-check-update-wrapped.txt").splitlines())
    assert parse_check_update(lines) == {
        "docker-ce": "3:26.1.4-1.el7",
        "docker-ce-rootless-extras": "26.1.4-1.el7",
        "git": "1.8.3.1-25.el7_9",
    }


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"name": []}, "at least one"),
        ({"name": "docker ce"}, "must not contain"),
        ({"name": "-y"}, "must not start with '-'"),
        ({"name": "@Development Tools"}, "groups, globs"),
        ({"name": "docker-*"}, "groups, globs"),
        ({"name": "https://example.com/x.rpm"}, "groups, globs"),
        ({"name": "docker-ce >= 26"}, "must not contain"),
        ({"name": "docker-ce-26.1.4", "state": "latest"}, "pinned version"),
        ({"name": "git", "state": "newest"}, "state"),
        ({"name": "git", "lock_timeout": -1}, "lock_timeout"),
        ({}, "missing required argument .name."),
        ({"name": [], "state": "absent"}, "at least one package \\(or give update_cache alone\\)"),
        ({"name": "git", "enablerepo": "epel testing"}, "repository id"),
        ({"name": "git", "disablerepo": ["-x"]}, "must not start with '-'"),
        ({"name": "git", "pkg": "vim"}, "'name' and 'pkg' are the same argument"),
        ({"name": "git", "allow_downgrade": "sometimes"}, "allow_downgrade"),
        ({"name": "git", "enable_repo": "x"}, "unknown argument 'enable_repo'"),
    ],
)
def test_bad_args(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        PackageModule.from_dict(raw)


@pytest.mark.parametrize(
    ("pm", "installed", "shown"),
    [
        ("dnf", "rpm/el9-docker-ce-27.3.1.txt", "27.3.1"),
        ("yum", "rpm/el7-docker-ce-26.1.4.txt", "26.1.4"),
    ],
)
def test_older_pin_without_allow_downgrade_fails(
    host: FakeHost, pm: str, installed: str, shown: str
) -> None:
    """Ansible leaves the newer version and says ok; we say why nothing matches the pin."""
    case = Case(
        "",
        {"name": "docker-ce-26.1.3"},
        pm,
        (*missing("docker-ce-26.1.3"), label(D, rec(installed))),
        CONVERGED,
    )
    setup(host, case)
    module = PackageModule.from_dict(case.args)
    out = host.run(module.probe())
    with pytest.raises(
        ProbeError,
        match=rf"package docker-ce: {shown} is installed, newer than the 26.1.3 asked for;"
        " set allow_downgrade: true",
    ):
        module.plan(module.parse(out.stdout, out.rc))


def test_state_defaults_to_present() -> None:
    assert PackageModule.from_dict({"name": "git"}).args.state == "present"


def test_aliases() -> None:
    assert registry()["yum"] is PackageModule
    assert registry()["dnf"] is PackageModule
    assert registry()["package"] is PackageModule
    with pytest.raises(ValidationError):
        PackageArgs.model_validate({"name": "git", "state": "wrong"})


# --- lock waiting, for real -------------------------------------------------


def _sleeper(tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    """A live process whose /proc/PID/comm is `name`."""
    exe = tmp_path / name
    exe.symlink_to("/bin/sleep")
    return subprocess.Popen([str(exe), "30"])


def test_lock_wait_passes_when_free(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "var/run").mkdir(parents=True)
    (root / "var/run/yum.pid").write_text("999999999\n")  # stale: no such process
    script = "\n".join(["(", "set -e", *lock_wait(5, str(root)), "echo free", ")"])
    assert syntax_ok(script)
    assert sh(script).stdout == "free\n"


@pytest.mark.parametrize("pidfile", ["var/run/yum.pid", "var/cache/dnf/rpmdb_lock.pid"])
def test_lock_wait_gives_up_naming_the_holder(tmp_path: Path, pidfile: str) -> None:
    holder = _sleeper(tmp_path, "yum-cron")
    try:
        root = tmp_path / "root"
        (root / pidfile).parent.mkdir(parents=True)
        (root / pidfile).write_text(f"{holder.pid}\n")
        r = sh("\n".join(["(", "set -e", *lock_wait(1, str(root)), "echo ran", ")"]))
        assert r.rc == 1 and "ran" not in r.stdout
        assert f"lock still held after 1s by yum-cron (pid {holder.pid}: " in r.stderr
        assert r.stderr.rstrip().endswith("/yum-cron 30)"), r.stderr
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("with_fuser", [True, False], ids=["fuser", "proc-scan"])
def test_lock_wait_sees_rpm_lock_holder(tmp_path: Path, with_fuser: bool) -> None:
    root = tmp_path / "root"
    lock = root / "var/lib/rpm/.rpm.lock"
    lock.parent.mkdir(parents=True)
    lock.touch()
    holder = subprocess.Popen(["sh", "-c", f"exec 3<'{lock}'; exec sleep 30"])
    try:
        for _ in range(100):  # wait until the exec'd sleep holds the fd
            if Path(f"/proc/{holder.pid}/comm").read_text().strip() == "sleep":
                break
            time.sleep(0.02)
        env = None
        if not with_fuser:
            # PATH without fuser: the script falls back to scanning /proc.
            bin_dir = tmp_path / "bin"
            bin_dir.mkdir()
            for tool in ("sh", "cat", "find", "sed", "head", "grep", "tr", "sleep"):
                real = subprocess.run(
                    ["sh", "-c", f"command -v {tool}"], capture_output=True, text=True
                )
                (bin_dir / tool).symlink_to(real.stdout.strip())
            env = {"PATH": str(bin_dir)}
        r = sh("\n".join(["(", "set -e", *lock_wait(0, str(root)), "echo ran", ")"]), env=env)
        assert r.rc == 1, r.stdout + r.stderr
        assert f"by sleep (pid {holder.pid}: sleep 30)" in r.stderr
    finally:
        holder.kill()
        holder.wait()


def test_commands_quote_every_name() -> None:
    names = ["docker-ce", "a;b", "$(reboot)", "`id`", "it's"]
    module = PackageModule.from_dict({"name": names})
    state = PackageState("dnf", tuple(() for _ in names), tuple(() for _ in names))
    change = module.plan(state)
    assert isinstance(change, Change)
    (op,) = module.commands(change)
    last = op.script.strip().splitlines()[-2]
    assert shlex.split(last) == ["dnf", "-y", "install", *names]


def test_package_in_no_repository_is_a_missing_dependency_carrying_the_plan(
    host: FakeHost,
) -> None:
    host.on("rpm", "*", rec("rpm/not-installed-docker-ce.txt"), 1)
    host.on("dnf", '"-q list available "*', "Error: No matching Packages to list\n", 1)
    module = PackageModule.from_dict({"name": D})
    out = host.run(module.probe())
    blocked = module.plan(module.parse(out.stdout, out.rc))
    assert isinstance(blocked, Blocked)
    assert blocked.what == "package docker-ce in the enabled repositories"
    change = blocked.change
    assert isinstance(change, Change) and change.summary == ("+ docker-ce",)


def test_unreadable_repository_is_a_missing_dependency_with_yums_words(host: FakeHost) -> None:
    # CentOS 7's dead mirrors: an earlier task may repoint the repositories (a dry run says
    # so); without one, apply fails with yum's own message.
    host.on("rpm", "*", rec("rpm/not-installed-docker-ce.txt"), 1)
    dead = "Cannot find a valid baseurl for repo: base/7/x86_64\n"
    host.on("yum", '"-q list available "*', dead, 1)
    module = PackageModule.from_dict({"name": "lvm2"})
    out = host.run(module.probe())
    state = module.parse(out.stdout, out.rc)
    blocked = module.plan(state)
    assert isinstance(blocked, Blocked)
    assert blocked.what == "repository metadata for lvm2"
    assert blocked.message == (
        "repository metadata for lvm2 not found: "
        "yum: Cannot find a valid baseurl for repo: base/7/x86_64"
    )
    change = blocked.change
    assert isinstance(change, Change) and change.summary == ("+ lvm2",)


def test_other_listing_failures_stay_probe_errors(host: FakeHost) -> None:
    host.on("rpm", "*", rec("rpm/not-installed-docker-ce.txt"), 1)
    host.on("yum", '"-q list available "*', "Segmentation fault\n", 139)
    module = PackageModule.from_dict({"name": "lvm2"})
    out = host.run(module.probe())
    with pytest.raises(ProbeError, match="yum cannot list 'lvm2' \\(exit 139\\): Segmentation"):
        module.parse(out.stdout, out.rc)


def test_probe_gives_up_on_a_held_lock_naming_the_holder(host: FakeHost, tmp_path: Path) -> None:
    # dnf would wait forever for the lock; the probe waits lock_timeout, then says who holds it.
    holder = _sleeper(tmp_path, "yum-cron")
    try:
        host.on("rpm", "*", rec("rpm/el9-docker-ce-26.1.4-1.el7.txt"))
        host.on("dnf", "*", "", 0)
        module = PackageModule.from_dict({"name": D, "state": "latest", "lock_timeout": 0})
        pidfile = tmp_path / "yum.pid"
        pidfile.write_text(f"{holder.pid}\n")
        script = module.probe().replace("/var/run/yum.pid", str(pidfile))
        assert str(pidfile) in script
        out = host.run(script)
        with pytest.raises(
            ProbeError, match=rf"lock still held after 0s by yum-cron \(pid {holder.pid}"
        ):
            module.parse(out.stdout, out.rc)
        assert host.calls("dnf") == []
    finally:
        holder.kill()
        holder.wait()
