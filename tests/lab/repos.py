"""The lab's package repositories: built once (cached), served over HTTP by the controller.

Layout of the served tree (http://10.66.0.1:8080/):
  base/                                   CentOS "base": yum-utils, lvm2, … (base key)
  base/RPM-GPG-KEY-lab                    the base repository's signing key
  linux/centos/docker-ce.repo             like download.docker.com's
  linux/centos/gpg                        the docker repository's signing key
  linux/centos/7/x86_64/stable/           docker-ce, docker-ce-cli, containerd.io (el7)
  linux/rhel/docker-ce.repo, linux/rhel/gpg, linux/rhel/9/x86_64/stable/   the same for el9
  centos-vault/7.9.2009/{os,updates,extras}/x86_64/   CentOS 7's vault (base key)
  almalinux/9/{BaseOS,AppStream}/x86_64/os/           AlmaLinux 9 (base key)
Beside www/: docker-key.fingerprint, the Docker key's fingerprint (playbooks check it).
"""

from __future__ import annotations

import socket
import sys
import tempfile
import time
from pathlib import Path

from . import cache, cgroups, packages, rpms, standin
from .config import CONTROLLER_IP, HTTP_LOG, HTTP_PORT
from .standin import docker_cli, dockerd
from .system import LabError, pid_alive, run, spawn_detached

RECIPE_VERSION = "repos-2"
WWW_DIR = "www"
DOCKER_FINGERPRINT = "docker-key.fingerprint"


def key() -> str:
    return cache.recipe_hash(RECIPE_VERSION, packages, rpms, standin, dockerd, docker_cli)


def ensure_built() -> Path:
    """The cache entry whose `www/` is served; build it if missing."""
    return cache.entry(f"repos-{key()}", _build)


def _build(dest: Path) -> None:
    www = dest / WWW_DIR
    base = www / "base"
    centos = www / "linux" / "centos"
    rhel = www / "linux" / "rhel"
    # (repository dir, packages, signed with the docker key?)
    trees: list[tuple[Path, tuple[rpms.Package, ...], bool]] = [
        (base, packages.BASE_REPO, False),
        (www / packages.DOCKER_REPO_PATH, packages.DOCKER_REPO, True),
        (www / packages.DOCKER_RHEL_REPO_PATH, packages.DOCKER_RHEL_REPO, True),
    ]
    for name, pkgs in packages.VAULT_REPOS.items():
        trees.append((www / packages.VAULT_PATH / name / "x86_64", pkgs, False))
    for name, pkgs in packages.ALMA_REPOS.items():
        trees.append((www / packages.ALMA_PATH / name / "x86_64" / "os", pkgs, False))
    with tempfile.TemporaryDirectory(prefix="provlab-gnupg-") as home:
        gnupg = Path(home)
        try:
            base_key = _make_key(gnupg, "Provisioner Lab Base <base@lab.invalid>")
            docker_key = _make_key(gnupg, "Provisioner Lab Docker <docker@lab.invalid>")
            for d in (base, centos, rhel):
                d.mkdir(parents=True, exist_ok=True)
            _export(gnupg, base_key, base / "RPM-GPG-KEY-lab")
            _export(gnupg, docker_key, centos / "gpg")
            _export(gnupg, docker_key, rhel / "gpg")
            (dest / DOCKER_FINGERPRINT).write_text(docker_key + "\n")
            for repo, pkgs, docker in trees:
                built = [rpms.build(p, repo / "Packages") for p in pkgs]
                key_file = centos / "gpg" if docker else base / "RPM-GPG-KEY-lab"
                rpms.sign(built, gnupg, docker_key if docker else base_key, key_file)
        finally:
            run(["gpgconf", "--homedir", gnupg, "--kill", "all"], check=False)
    for repo, _, _ in trees:
        run(["createrepo_c", "--quiet", "--general-compress-type", "gz", repo])
    (centos / "docker-ce.repo").write_text(packages.docker_repo_file("centos"))
    (rhel / "docker-ce.repo").write_text(packages.docker_repo_file("rhel"))


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
