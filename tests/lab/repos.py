"""The lab's package repositories: built once (cached), served over HTTP by the controller.

Layout of the served tree (http://10.66.0.1:8080/):
  base/                                   CentOS "base": yum-utils, lvm2, … (base key)
  base/RPM-GPG-KEY-lab                    the base repository's signing key
  linux/{centos,rhel}/docker-ce.repo      like download.docker.com's (nine sections)
  linux/{centos,rhel}/gpg                 the Docker repositories' signing key
  linux/centos/7/x86_64/stable/           containerd.io, docker-ce, docker-ce-cli,
                                          docker-ce-rootless-extras, docker-buildx-plugin,
                                          docker-compose-plugin (el7 builds)
  linux/centos/{8,9}/x86_64/stable/, linux/rhel/{8,9}/x86_64/stable/   the same, el8 and
                                          el9 builds; test, nightly, debug and source
                                          repositories beside them, empty (docker_repo.py)
  centos-vault/7.9.2009/{os,updates,extras}/x86_64/   CentOS 7's vault (base key)
  almalinux/9/{BaseOS,AppStream}/x86_64/os/           AlmaLinux 9 (base key)
  pypi/simple/, pypi/packages/            a Python package index (pypi.py)
Beside www/: docker-key.fingerprint, the Docker key's fingerprint (playbooks check it).
"""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

from . import cache, cgroups, docker_repo, packages, pypi, rpms, standin
from .config import CONTROLLER_IP, HTTP_LOG, HTTP_PORT
from .standin import docker_cli, dockerd, firewall_cmd
from .system import LabError, pid_alive, run, spawn_detached

RECIPE_VERSION = "repos-3"
WWW_DIR = "www"
DOCKER_FINGERPRINT = "docker-key.fingerprint"
BASE_KEY = "base/RPM-GPG-KEY-lab"
DOCKER_KEY = "linux/centos/gpg"  # linux/rhel/gpg is the same key

Tree = tuple[Path, tuple[rpms.Package, ...]]


def key() -> str:
    this = sys.modules[__name__]  # the layout is this module's too
    parts = (packages, docker_repo, pypi, rpms, standin, dockerd, docker_cli, firewall_cmd, this)
    return cache.recipe_hash(RECIPE_VERSION, *parts)


def ensure_built() -> Path:
    """The cache entry whose `www/` is served; build it if missing."""
    return cache.entry(f"repos-{key()}", _build)


def _build(dest: Path) -> None:
    www = dest / WWW_DIR
    base_trees: list[Tree] = [(www / "base", packages.BASE_REPO)]
    for name, pkgs in packages.VAULT_REPOS.items():
        base_trees.append((www / packages.VAULT_PATH / name / "x86_64", pkgs))
    for name, pkgs in packages.ALMA_REPOS.items():
        base_trees.append((www / packages.ALMA_PATH / name / "x86_64" / "os", pkgs))
    # each build once, into its first stable dir; copied to the others once signed
    docker_trees: list[Tree] = [
        (www / docker_repo.stable_dirs(dist)[0], pkgs)
        for dist, pkgs in docker_repo.PACKAGES.items()
    ]
    with tempfile.TemporaryDirectory(prefix="provlab-gnupg-") as home:
        gnupg = Path(home)
        try:
            base_key = _make_key(gnupg, "Provisioner Lab Base <base@lab.invalid>")
            docker_key = _make_key(gnupg, "Provisioner Lab Docker <docker@lab.invalid>")
            _export(gnupg, base_key, www / BASE_KEY)
            for flavour in docker_repo.RELEASES:
                _export(gnupg, docker_key, www / "linux" / flavour / "gpg")
            (dest / DOCKER_FINGERPRINT).write_text(docker_key + "\n")
            _build_signed(base_trees, gnupg, base_key, www / BASE_KEY)
            _build_signed(docker_trees, gnupg, docker_key, www / DOCKER_KEY)
        finally:
            run(["gpgconf", "--homedir", gnupg, "--kill", "all"], check=False)
    pypi.build(www)
    repos = [repo for repo, _ in base_trees] + _docker_layout(www)
    for repo in repos:
        run(["createrepo_c", "--quiet", "--general-compress-type", "gz", repo])


def _build_signed(trees: list[Tree], gnupg: Path, key_id: str, key_file: Path) -> None:
    for repo, pkgs in trees:
        built = [rpms.build(p, repo / "Packages") for p in pkgs]
        rpms.sign(built, gnupg, key_id, key_file)


def _docker_layout(www: Path) -> list[Path]:
    """Copy each build to its other stable dirs, make the empty repositories and write
    docker-ce.repo; return every Docker repository dir (for createrepo_c)."""
    repos: list[Path] = []
    for dist in docker_repo.PACKAGES:
        first, *others = (www / d for d in docker_repo.stable_dirs(dist))
        for other in others:
            shutil.copytree(first / "Packages", other / "Packages")
        repos += [first, *others]
    for empty in docker_repo.empty_dirs():
        (www / empty).mkdir(parents=True)
        repos.append(www / empty)
    for flavour in docker_repo.RELEASES:
        (www / "linux" / flavour / "docker-ce.repo").write_text(docker_repo.repo_file(flavour))
    return repos


def docker_fingerprint(repos_dir: Path) -> str:
    return (repos_dir / DOCKER_FINGERPRINT).read_text().strip()


def _make_key(gnupg: Path, uid: str) -> str:
    run(
        [
            "gpg",
            "--batch",
            "--homedir",
            gnupg,
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-gen-key",
            uid,
            "rsa2048",
            "sign",
            "never",
        ]
    )
    listing = run(["gpg", "--homedir", gnupg, "--with-colons", "--list-keys", uid]).stdout
    fingerprints = [ln.split(":")[9] for ln in listing.splitlines() if ln.startswith("fpr:")]
    if not fingerprints:
        raise LabError(f"gpg made no key for {uid}")
    return fingerprints[0]


def _export(gnupg: Path, key_id: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(run(["gpg", "--homedir", gnupg, "--armor", "--export", key_id]).stdout)


# --- the HTTP server ---------------------------------------------------------------------


def start_server(www: Path) -> tuple[int, list[str]]:
    """Serve `www` at http://10.66.0.1:8080 with the controller's Python.

    Returns (pid, cgroup dirs): the server runs in its own lab cgroup, so `down` can always
    find it.
    """
    dirs = cgroups.create("http")
    argv = [sys.executable, "-m", "http.server", "--bind", CONTROLLER_IP]
    argv += ["--directory", str(www), str(HTTP_PORT)]
    pid = spawn_detached(argv, dirs, HTTP_LOG)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection((CONTROLLER_IP, HTTP_PORT), timeout=1):
                return pid, dirs
        except OSError:
            if not pid_alive(pid) or time.monotonic() > deadline:
                raise LabError(f"the repository server did not start; see {HTTP_LOG}") from None
            time.sleep(0.05)
