"""The files a running lab hands to provisioner: inventories/lab.yml and .lab/known_hosts."""

from __future__ import annotations

from collections.abc import Iterable

from .config import INVENTORY, KNOWN_HOSTS, LOGIN_USER, REPO_BASE_URL, SSH_KEY
from .state import HostState


def render(hosts: Iterable[HostState], docker_fingerprint: str) -> str:
    lines = [
        "all:",
        "  vars:",
        f"    user: {LOGIN_USER}",
        f"    ssh_key: {SSH_KEY}",
        f"    known_hosts: {KNOWN_HOSTS}",
        f"    docker_mirror: {REPO_BASE_URL}  # the lab serves Docker's repo layout itself",
        f"    docker_gpg_fingerprint: {docker_fingerprint}  # the lab's own Docker key",
        f"    el7_vault_mirror: {REPO_BASE_URL}/centos-vault  # and CentOS 7's vault",
        "  children:",
        "    lab:",
        "      hosts:",
    ]
    lines += [f"        {h.name}: {{host: {h.ip}}}" for h in hosts]
    return "\n".join(lines) + "\n"


def write(hosts: Iterable[HostState], docker_fingerprint: str) -> None:
    INVENTORY.parent.mkdir(parents=True, exist_ok=True)
    tmp = INVENTORY.with_suffix(".tmp")
    tmp.write_text(render(hosts, docker_fingerprint))
    tmp.replace(INVENTORY)


def write_known_hosts(lines: Iterable[str]) -> None:
    KNOWN_HOSTS.parent.mkdir(parents=True, exist_ok=True)
    KNOWN_HOSTS.write_text("".join(f"{line}\n" for line in lines))


def remove() -> None:
    for path in (INVENTORY, KNOWN_HOSTS):
        path.unlink(missing_ok=True)
