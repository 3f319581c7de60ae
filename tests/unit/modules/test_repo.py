"""yum_repository: exact rendering, section edits, real runs with the repo dir in a temp dir."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError
from provisioner.modules import repo
from provisioner.modules.base import CONVERGED, Change
from provisioner.modules.repo import RepoArgs, RepoModule, render
from tests.unit.modules.host import converge, observe, rec

STABLE = {
    "name": "docker-ce-stable",
    "description": "Docker CE Stable - $basearch",
    "baseurl": "https://download.docker.com/linux/centos/$releasever/$basearch/stable",
    "gpgcheck": True,
    "gpgkey": "https://download.docker.com/linux/centos/gpg",
    "file": "docker-ce",
}
STABLE_TEXT = (
    "[docker-ce-stable]\n"
    "name=Docker CE Stable - $basearch\n"
    "baseurl=https://download.docker.com/linux/centos/$releasever/$basearch/stable\n"
    "enabled=1\n"
    "gpgcheck=1\n"
    "gpgkey=https://download.docker.com/linux/centos/gpg\n"
)


@pytest.fixture
def repo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "yum.repos.d"
    d.mkdir()
    monkeypatch.setattr(repo, "REPO_DIR", str(d))
    return d


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (STABLE, STABLE_TEXT),
        (
            {
                "name": "epel",
                "mirrorlist": "https://mirrors.fedoraproject.org/metalink?repo=epel-7&arch=$basearch",
                "enabled": False,
            },
            "[epel]\nname=epel\nmirrorlist=https://mirrors.fedoraproject.org/metalink?repo=epel-7&arch=$basearch\nenabled=0\n",
        ),
        (
            {
                "name": "local",
                "baseurl": ["http://a/el9", "http://b/el9"],
                "gpgkey": ["file:///k1", "file:///k2"],
                "gpgcheck": False,
            },
            "[local]\nname=local\nbaseurl=http://a/el9\n    http://b/el9\n"
            "enabled=1\ngpgcheck=0\ngpgkey=file:///k1\n    file:///k2\n",
        ),
    ],
)
def test_render(args: dict[str, Any], text: str) -> None:
    assert render(RepoArgs.model_validate(args)) == text


def test_new_repo_file(repo_dir: Path, tmp_path: Path) -> None:
    module = RepoModule.from_dict(STABLE)
    first, again = converge(module, tmp_path)
    path = repo_dir / "docker-ce.repo"
    assert isinstance(first, Change) and first.summary == (f"+ {path}",)
    assert first.diff is not None and first.diff.startswith(f"--- /dev/null\n+++ b{path}\n")
    assert again is CONVERGED
    assert path.read_text() == STABLE_TEXT
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_file_docker_ships_is_already_converged(repo_dir: Path) -> None:
    (repo_dir / "docker-ce.repo").write_text(rec("repo/docker-ce.repo"))
    module = RepoModule.from_dict(STABLE)
    assert module.plan(observe(module)) is CONVERGED


def test_only_our_section_changes(repo_dir: Path, tmp_path: Path) -> None:
    path = repo_dir / "docker-ce.repo"
    path.write_text(rec("repo/docker-ce.repo"))
    mirror = {**STABLE, "baseurl": "https://mirror.example/docker-ce/$releasever/$basearch/stable"}
    first, again = converge(RepoModule.from_dict(mirror), tmp_path)
    assert isinstance(first, Change) and first.summary == (f"~ {path}",)
    assert first.diff is not None
    assert [
        ln for ln in first.diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")
    ] == [
        "-baseurl=https://download.docker.com/linux/centos/$releasever/$basearch/stable",
        "+baseurl=https://mirror.example/docker-ce/$releasever/$basearch/stable",
    ]
    assert again is CONVERGED
    assert path.read_text() == rec("repo/docker-ce.repo").replace(
        "https://download.docker.com/linux/centos/$releasever/$basearch/stable",
        "https://mirror.example/docker-ce/$releasever/$basearch/stable",
    )


def test_section_appended_to_a_shared_file(repo_dir: Path, tmp_path: Path) -> None:
    path = repo_dir / "docker-ce.repo"
    path.write_text(STABLE_TEXT)
    test_repo = {
        **STABLE,
        "name": "docker-ce-test",
        "description": "Docker CE Test",
        "enabled": False,
    }
    first, again = converge(RepoModule.from_dict(test_repo), tmp_path)
    assert isinstance(first, Change) and again is CONVERGED
    assert path.read_text() == STABLE_TEXT + "\n" + render(RepoArgs.model_validate(test_repo))


def test_absent_section_and_file(repo_dir: Path, tmp_path: Path) -> None:
    path = repo_dir / "docker-ce.repo"
    path.write_text(rec("repo/docker-ce.repo"))
    gone = {"name": "docker-ce-stable-source", "file": "docker-ce", "state": "absent"}
    first, again = converge(RepoModule.from_dict(gone), tmp_path)
    assert isinstance(first, Change) and first.summary == (f"~ {path}",) and again is CONVERGED
    assert "[docker-ce-stable-source]" not in path.read_text()
    assert path.read_text().startswith(STABLE_TEXT + "\n[docker-ce-stable-debuginfo]")

    path.write_text(STABLE_TEXT)
    first, again = converge(RepoModule.from_dict({**gone, "name": "docker-ce-stable"}), tmp_path)
    assert isinstance(first, Change) and first.summary == (f"- {path}",) and again is CONVERGED
    assert not path.exists()


def test_absent_missing_file(repo_dir: Path) -> None:
    module = RepoModule.from_dict({"name": "epel", "state": "absent"})
    assert module.plan(observe(module)) is CONVERGED


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"name": "x"}, "needs 'baseurl'"),
        ({"name": "x", "baseurl": "http://a", "description": "a\ngpgcheck=0"}, "newline"),
        ({"name": "x", "baseurl": ["http://a", "http://b\nenabled=0"]}, "newline"),
        ({"name": "x]", "baseurl": "http://a"}, "may hold only"),
        ({"name": "x", "file": "../x", "baseurl": "http://a"}, "may hold only"),
        ({"name": "x", "baseurl": "http://a", "priority": 1}, "unknown argument 'priority'"),
    ],
)
def test_bad_args(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        RepoModule.from_dict(raw)


VAULT = "https://vault.centos.org/7.9.2009"


VAULT_SECTIONS = [
    ("base", "os", True),
    ("updates", "updates", True),
    ("extras", "extras", True),
    ("centosplus", "centosplus", False),
]


def _vault_task(ident: str, sub: str, enabled: bool) -> RepoModule:
    module = RepoModule.from_dict(
        {
            "name": ident,
            "file": "CentOS-Base",
            "description": f"CentOS-$releasever - {ident}",
            "baseurl": f"{VAULT}/{sub}/$basearch/",
            "gpgcheck": True,
            "gpgkey": "file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7",
            "enabled": enabled,
        }
    )
    assert isinstance(module, RepoModule)
    return module


def test_centos7_base_repointed_at_the_vault(repo_dir: Path, tmp_path: Path) -> None:
    """el7-vault.yml's four tasks on CentOS 7's stock file: the mirrorlists go, the comments
    that introduce each section stay, and a second pass changes nothing."""
    path = repo_dir / "CentOS-Base.repo"
    path.write_text(rec("repo/CentOS-Base.repo"))
    for section in VAULT_SECTIONS:
        first, again = converge(_vault_task(*section), tmp_path)
        assert isinstance(first, Change) and first.summary == (f"~ {path}",)
        assert again is CONVERGED
    assert all(t.plan(observe(t)) is CONVERGED for t in (_vault_task(*s) for s in VAULT_SECTIONS))
    text = path.read_text()
    assert "mirrorlist=" not in text.replace("# If the mirrorlist= does not", "")
    assert text.count("baseurl=https://vault.centos.org/7.9.2009/") == 4
    for comment in ("#released updates", "#additional packages that may be useful"):
        assert f"\n\n{comment}\n[" in text
    assert text.startswith("# CentOS-Base.repo\n")
    assert "enabled=0\n" in text.split("[centosplus]")[1]
