"""Names, addresses and paths of the lab: one place to read them all."""

from __future__ import annotations

import os
from pathlib import Path

# Where things live on the controller.
REPO_ROOT = Path(__file__).resolve().parents[2]
LAB_DIR = REPO_ROOT / ".lab"  # gitignored; everything a running lab owns
STATE_FILE = LAB_DIR / "state.json"
SSH_KEY = LAB_DIR / "id_ed25519"
KNOWN_HOSTS = LAB_DIR / "known_hosts"
HOSTS_DIR = LAB_DIR / "hosts"  # per host: upper/ work/ merged/ boot.sh console.log
HTTP_LOG = LAB_DIR / "http.log"
INVENTORY = REPO_ROOT / "inventories" / "lab.yml"
CACHE_DIR = Path(os.environ.get("PROVISIONER_LAB_CACHE", "/var/cache/provisioner-lab"))
DEBIAN_MIRROR = os.environ.get("PROVISIONER_LAB_MIRROR", "http://deb.debian.org/debian")
DEBIAN_SUITE = "bookworm"

# The lab's own network: one bridge, no default route, no forwarding.
SUBNET = "10.66.0.0/24"
PREFIX_LEN = 24
CONTROLLER_IP = "10.66.0.1"
FIRST_HOST_OCTET = 11
MAX_HOSTS = 40
BRIDGE = "provlab0"
HTTP_PORT = 8080
REPO_BASE_URL = f"http://{CONTROLLER_IP}:{HTTP_PORT}"

# Names of what one host owns; all share the "provlab" prefix so a sweep can find them.
CGROUP_PARENT = "provlab"

# Users on every host (all accept the lab key).
LOGIN_USER = "student"  # passwordless sudo
TEACHER_USER = "teacher"  # in wheel, sudo asks for a password
TEACHER_PASSWORD = "teacher-pass"

# Timeouts, in seconds.
BOOT_TIMEOUT = 90.0
STOP_TIMEOUT = 10.0


def host_name(index: int) -> str:
    """lab01, lab02, ... for index 1, 2, ..."""
    return f"lab{index:02d}"


def host_ip(index: int) -> str:
    return f"10.66.0.{FIRST_HOST_OCTET + index - 1}"


def netns_name(host: str) -> str:
    return f"provlab-{host}"


def veth_name(host: str) -> str:
    """The controller end of the host's link (at most 15 characters)."""
    return f"pl-{host}"
