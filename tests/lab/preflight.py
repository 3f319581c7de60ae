"""What `up` checks before it changes anything, each with a message that says what to do."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from . import cgroups, network, pypi
from .system import LabError, require_tools

TOOLS = (
    "mmdebstrap",
    "systemd-nspawn",
    "rpmbuild",
    "rpmsign",
    "rpmkeys",
    "createrepo_c",
    "gpg",
    "gpgconf",
    "ssh",
    "ssh-keygen",
    "ip",
    "nsenter",
    "mount",
    "umount",
    "tar",
    "useradd",
    "groupadd",
    "chpasswd",
)


def check() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, mounts, systemd-nspawn)")
    require_tools(TOOLS)
    if "overlay" not in Path("/proc/filesystems").read_text():
        raise LabError("the kernel has no overlayfs (try: modprobe overlay)")
    if not glob.glob(pypi.PIP_WHEEL):
        raise LabError(
            f"the hosts' pip is the controller's {pypi.PIP_WHEEL}: none found"
            " (apt-get install python3-pip-whl; python3-venv brings it)"
        )
    cgroups.hierarchies()
    network.check_subnet_free()
