"""The lab's Docker repositories: what download.docker.com serves, where it serves it.

A role such as geerlingguy.docker, given only `docker_repo_url: <lab>/linux`, fetches
`centos/docker-ce.repo` and `centos/gpg`, may enable or disable any section, and installs
Docker's six packages: these tests check the tables, the .repo file against the layout,
and (when rpmbuild, createrepo_c and gpg are here) one real build of the tree.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.lab import docker_repo, packages, repos
from tests.lab.config import REPO_BASE_URL
from tests.lab.rpms import Package
from tests.lab.standin import HERE as STANDIN_DIR

# What geerlingguy.docker installs (docker_packages + docker_compose_package).
ROLE_PACKAGES = {
    "docker-ce",
    "docker-ce-cli",
    "docker-ce-rootless-extras",
    "containerd.io",
    "docker-buildx-plugin",
    "docker-compose-plugin",
}


@dataclass(frozen=True)
class Case:
    dist: str
    name: str
    evr: str  # as `rpm -q --qf '%{EPOCH}:%{VERSION}-%{RELEASE}'` would say, epoch if any


CASES = [
    Case("el7", "docker-ce", "3:26.1.4-1.el7"),
    Case("el7", "docker-ce-cli", "1:26.1.4-1.el7"),
    Case("el7", "containerd.io", "1.6.33-3.1.el7"),
    Case("el7", "docker-ce-rootless-extras", "0:26.1.4-1.el7"),
    Case("el7", "docker-buildx-plugin", "0:0.14.1-1.el7"),
    Case("el7", "docker-compose-plugin", "0:2.27.1-1.el7"),
    Case("el9", "docker-ce", "3:27.3.1-1.el9"),
    Case("el9", "docker-ce-cli", "1:27.3.1-1.el9"),
    Case("el9", "containerd.io", "1.7.22-3.1.el9"),
    Case("el9", "docker-ce-rootless-extras", "0:27.3.1-1.el9"),
    Case("el9", "docker-buildx-plugin", "0:0.17.1-1.el9"),
    Case("el9", "docker-compose-plugin", "0:2.29.7-1.el9"),
    Case("el8", "docker-ce", "3:27.3.1-1.el8"),
    Case("el8", "containerd.io", "1.7.22-3.1.el8"),
]

# Where each build's other dependencies come from: the distribution's own repositories.
DISTRO_REPOS: dict[str, tuple[Package, ...]] = {
    "el7": tuple(p for pkgs in packages.VAULT_REPOS.values() for p in pkgs),
    "el9": tuple(p for pkgs in packages.ALMA_REPOS.values() for p in pkgs),
}


def by_name(dist: str) -> dict[str, Package]:
    return {p.name: p for p in docker_repo.PACKAGES[dist]}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.dist}-{c.name}")
def test_each_package_has_dockers_name_epoch_and_version(case: Case) -> None:
    assert by_name(case.dist)[case.name].evr == case.evr


@pytest.mark.parametrize("dist", ["el7", "el8", "el9"])
def test_every_build_has_the_packages_the_role_installs(dist: str) -> None:
    assert set(by_name(dist)) == ROLE_PACKAGES


@pytest.mark.parametrize("dist", ["el7", "el9"])
def test_docker_ce_needs_its_client_and_containerd(dist: str) -> None:
    pkgs = by_name(dist)
    needs = {r.split()[0] for r in pkgs["docker-ce"].requires}
    assert {"docker-ce-cli", "containerd.io", "container-selinux"} <= needs
    assert "docker-ce" in pkgs["docker-ce-rootless-extras"].requires


def test_el9_recommends_the_extras_el7_names_none() -> None:
    # yum 3 on CentOS 7 never installs weak dependencies; the lab's yum (dnf) would.
    el9, el7 = by_name("el9"), by_name("el7")
    assert el9["docker-ce"].recommends == ("docker-ce-rootless-extras",)
    assert set(el9["docker-ce-cli"].recommends) == {"docker-buildx-plugin", "docker-compose-plugin"}
    assert all(p.recommends == () for p in el7.values())


@pytest.mark.parametrize("dist", ["el7", "el9"])
def test_every_dependency_is_found_in_the_lab(dist: str) -> None:
    """Each Requires and Recommends names a package (or a provide) the host can get: the
    Docker build itself, its distribution's repositories, or what every host has."""
    found = set(packages.DEBIAN_PROVIDES) | {p.split()[0] for p in packages.DEBIAN_PROVIDES}
    for pkg in (*docker_repo.PACKAGES[dist], *DISTRO_REPOS[dist], *packages.PREINSTALLED):
        found |= {pkg.name, *(p.split()[0] for p in pkg.provides)}
    for pkg in docker_repo.PACKAGES[dist]:
        missing = {d.split()[0] for d in (*pkg.requires, *pkg.recommends)} - found
        assert not missing, f"{pkg.name}: nothing provides {missing}"


def sections(flavour: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    parser.read_string(docker_repo.repo_file(flavour))
    return parser


@pytest.mark.parametrize("flavour", ["centos", "rhel"])
def test_repo_file_has_dockers_nine_sections_only_stable_enabled(flavour: str) -> None:
    parser = sections(flavour)
    names = [
        f"docker-ce-{c}{s}"
        for c in ("stable", "test", "nightly")
        for s in ("", "-debuginfo", "-source")
    ]
    assert parser.sections() == names
    assert [n for n in names if parser[n]["enabled"] == "1"] == ["docker-ce-stable"]
    assert {parser[n]["gpgkey"] for n in names} == {f"{REPO_BASE_URL}/linux/{flavour}/gpg"}
    assert all(parser[n]["gpgcheck"] == "1" for n in names)


@pytest.mark.parametrize("flavour", ["centos", "rhel"])
def test_every_section_points_at_a_repository_of_the_layout(flavour: str) -> None:
    """Whichever section a role enables, for each $releasever Docker serves, dnf finds a
    repository there (an empty one for test, nightly, debuginfo and source)."""
    layout = set(docker_repo.empty_dirs())
    layout |= {d for dist in docker_repo.PACKAGES for d in docker_repo.stable_dirs(dist)}
    parser = sections(flavour)
    for release in docker_repo.RELEASES[flavour]:
        for name in parser.sections():
            url = parser[name]["baseurl"].replace("$releasever", release)
            path = url.replace("$basearch", "x86_64").removeprefix(f"{REPO_BASE_URL}/")
            assert path in layout, f"{name} on {flavour} {release}: {url}"


def test_the_releases_docker_serves_get_their_builds() -> None:
    assert docker_repo.stable_dirs("el7") == ["linux/centos/7/x86_64/stable"]
    assert docker_repo.stable_dirs("el8") == [
        "linux/centos/8/x86_64/stable",
        "linux/rhel/8/x86_64/stable",
    ]
    assert docker_repo.stable_dirs("el9") == [
        "linux/centos/9/x86_64/stable",
        "linux/rhel/9/x86_64/stable",
    ]
    assert docker_repo.DOCKER_REPO_PATH == docker_repo.stable_dirs("el7")[0]


# --- the docker CLI stand-in runs the plugins ------------------------------------------


def plugin_home(tmp_path: Path, dist: str) -> dict[str, str]:
    """A HOME whose ~/.docker/cli-plugins holds `dist`'s plugin files, as rpm lays them."""
    plugins = tmp_path / ".docker" / "cli-plugins"
    plugins.mkdir(parents=True)
    for pkg in docker_repo.PACKAGES[dist]:
        for f in pkg.files:
            if f.path.startswith(docker_repo.PLUGIN_DIR + "/"):
                dest = plugins / Path(f.path).name
                dest.write_text(f.content or "")
                dest.chmod(f.mode)
    return {**os.environ, "HOME": str(tmp_path)}


def docker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(STANDIN_DIR / "docker_cli.py"), *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize(
    ("args", "out"),
    [
        (("compose", "version"), "Docker Compose version v2.29.7\n"),
        (("buildx", "version"), "github.com/docker/buildx v0.17.1\n"),
        (("compose", "--version"), "Docker Compose version v2.29.7\n"),
    ],
)
def test_docker_runs_the_plugin_of_that_name(
    tmp_path: Path, args: tuple[str, ...], out: str
) -> None:
    proc = docker(plugin_home(tmp_path, "el9"), *args)
    assert (proc.returncode, proc.stdout) == (0, out), proc.stderr


def test_the_plugin_gets_its_name_then_the_arguments(tmp_path: Path) -> None:
    env = plugin_home(tmp_path, "el9")
    echo = tmp_path / ".docker" / "cli-plugins" / "docker-hello"
    echo.write_text('#!/bin/sh\necho "$@"\n')
    echo.chmod(0o755)
    proc = docker(env, "hello", "a", "--b")
    assert (proc.returncode, proc.stdout) == (0, "hello a --b\n"), proc.stderr


def test_the_cli_lists_a_plugin_by_its_metadata(tmp_path: Path) -> None:
    env = plugin_home(tmp_path, "el7")
    plugin = tmp_path / ".docker" / "cli-plugins" / "docker-compose"
    proc = subprocess.run(
        [str(plugin), "docker-cli-plugin-metadata"], env=env, capture_output=True, text=True
    )
    assert '"Version":"v2.27.1"' in proc.stdout and '"Vendor":"Docker Inc."' in proc.stdout


@pytest.mark.parametrize("command", ["nosuch", "../../bin/true", "Compose"])
def test_a_command_without_a_plugin_is_not_a_docker_command(tmp_path: Path, command: str) -> None:
    proc = docker(plugin_home(tmp_path, "el9"), command)
    assert proc.returncode == 1
    assert f"docker: '{command}' is not a docker command." in proc.stderr


# --- one real build -------------------------------------------------------------------

TOOLS = ("rpmbuild", "rpmsign", "createrepo_c", "gpg", "gpgconf")


@pytest.mark.skipif(
    not all(shutil.which(t) for t in TOOLS), reason=f"needs {', '.join(TOOLS)} (make deps)"
)
def test_the_built_tree_serves_dockers_layout(tmp_path: Path) -> None:
    dest = tmp_path / "entry"
    repos._build(dest)  # ~7 s: every package of the lab, signed, and its metadata
    linux = dest / repos.WWW_DIR / "linux"
    for flavour in docker_repo.RELEASES:
        assert (linux / flavour / "docker-ce.repo").read_text() == docker_repo.repo_file(flavour)
    assert (linux / "centos" / "gpg").read_text() == (linux / "rhel" / "gpg").read_text()
    assert "BEGIN PGP PUBLIC KEY BLOCK" in (linux / "centos" / "gpg").read_text()
    www = dest / repos.WWW_DIR
    for dist, pkgs in docker_repo.PACKAGES.items():
        for d in docker_repo.stable_dirs(dist):
            assert (www / d / "repodata" / "repomd.xml").is_file(), d
            assert sorted(p.name for p in (www / d / "Packages").iterdir()) == sorted(
                p.filename for p in pkgs
            )
    for d in docker_repo.empty_dirs():
        assert (www / d / "repodata" / "repomd.xml").is_file(), d
        assert not (www / d / "Packages").exists()
    el9 = [
        www / d / "Packages" / "docker-ce-27.3.1-1.el9.x86_64.rpm"
        for d in docker_repo.stable_dirs("el9")
    ]
    assert el9[0].read_bytes() == el9[1].read_bytes()  # one signed build, twice
