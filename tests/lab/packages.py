"""What the stand-in rpm packages contain (Docker's own are in docker_repo.py).

Three are preinstalled in every host's rpm database (`PREINSTALLED`); the others are served
from the lab's repositories: `BASE_REPO` (the lab's own "base"), `VAULT_REPOS` (CentOS 7's
vault: os, updates, extras), `ALMA_REPOS` (AlmaLinux 9's BaseOS and AppStream).
"""

from __future__ import annotations

from .config import REPO_BASE_URL
from .pypi import PIP_WHEEL
from .rpms import File, Package
from .standin import source

BASE_KEY_URL = f"{REPO_BASE_URL}/base/RPM-GPG-KEY-lab"

# --- preinstalled ------------------------------------------------------------------------

DEBIAN_PROVIDES = (
    "/bin/sh",
    "/bin/bash",
    "/usr/bin/sh",
    "/usr/bin/bash",
    "/usr/bin/systemctl",
    "/usr/sbin/groupadd",
    "/usr/sbin/useradd",
    "/sbin/ldconfig",
    "bash",
    "basesystem",
    "filesystem",
    "setup",
    "glibc",
    "coreutils",
    "grep",
    "sed",
    "tar",
    "xz",
    "gzip",
    "util-linux",
    "shadow-utils",
    "passwd",
    "sudo",
    "procps-ng",
    "iproute",
    "curl",
    "openssh",
    "openssh-server",
    "openssh-clients",
    "systemd = 252",
    "systemd-sysv",
    "dbus",
    "rpm = 4.18.0",
    "dnf = 4.14.0",
    "dnf-plugins-core",
)

LAB_BASE = Package(
    name="lab-debian-base",
    version="12",
    release="1.lab",
    summary="What the Debian 12 userland under this lab host provides",
    provides=DEBIAN_PROVIDES,
    description="Files-less: tells rpm and dnf about the Debian system underneath.",
)

OS_RELEASE = """NAME="CentOS Linux"
VERSION="7 (Core)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="7"
PRETTY_NAME="CentOS Linux 7 (Core)"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:centos:centos:7"
HOME_URL="https://www.centos.org/"
BUG_REPORT_URL="https://bugs.centos.org/"
VARIANT="provisioner lab (Debian 12 userland)"
VARIANT_ID="provlab"
"""

CENTOS_BASE_REPO = f"""# CentOS-Base.repo of the provisioner lab: served by the controller.
[base]
name=CentOS-$releasever - Base
baseurl={REPO_BASE_URL}/base/
gpgcheck=1
gpgkey={BASE_KEY_URL}
"""

CENTOS_RELEASE = Package(
    name="centos-release",
    version="7",
    release="9.2009.1.el7.centos",
    arch="x86_64",
    summary="CentOS Linux release file (provisioner lab)",
    provides=(
        "system-release(releasever) = 7",
        "system-release = 7-9.2009.1.el7.centos",
        "redhat-release = 7.9-1",
        "centos-release(upstream) = 7.9",
    ),
    files=(
        File("/etc/centos-release", "CentOS Linux release 7.9.2009 (Core)\n"),
        File("/etc/redhat-release", target="centos-release"),
        File("/etc/system-release", target="centos-release"),
        File("/etc/system-release-cpe", "cpe:/o:centos:centos:7\n"),
        File("/etc/os-release", OS_RELEASE),
        File("/etc/yum.repos.d/CentOS-Base.repo", CENTOS_BASE_REPO, config=True),
    ),
)

YUM = Package(
    name="yum",
    version="4.14.0",
    release="1.lab",
    summary="yum is dnf: the EL8 compatibility package",
    requires=("dnf",),
    files=(
        File("/usr/bin/yum", target="dnf-3"),
        File("/etc/yum.conf", target="dnf/dnf.conf"),
    ),
)

PREINSTALLED = (LAB_BASE, CENTOS_RELEASE, YUM)

# --- base repository ---------------------------------------------------------------------


def script(text: str) -> str:
    return "#!/bin/sh\n" + text.strip() + "\n"


YUM_UTILS = Package(
    name="yum-utils",
    version="1.1.31",
    release="54.el7_8",
    summary="Utilities based around the yum package manager (yum-config-manager)",
    requires=("yum", "dnf-plugins-core"),
    files=(
        File("/usr/bin/yum-config-manager", script('exec dnf config-manager "$@"'), 0o755),
        File("/usr/bin/package-cleanup", script('exec dnf repoquery --unneeded "$@"'), 0o755),
    ),
)

DMPD = Package(
    name="device-mapper-persistent-data",
    version="0.8.5",
    release="3.el7_9.2",
    arch="x86_64",
    summary="Device-mapper Persistent Data Tools (stand-in)",
    files=(
        File(
            "/usr/sbin/pdata_tools",
            script('echo "0.8.5 (provisioner lab stand-in)"'),
            0o755,
        ),
        File("/usr/sbin/thin_check", target="pdata_tools"),
        File("/usr/sbin/cache_check", target="pdata_tools"),
    ),
)

LVM2 = Package(
    name="lvm2",
    version="2.02.187",
    release="6.el7_9.5",
    epoch=7,
    arch="x86_64",
    summary="Userland logical volume management tools (stand-in)",
    requires=("device-mapper-persistent-data >= 0.7.0",),
    files=(
        File(
            "/usr/sbin/lvm",
            script(
                """
echo "  LVM version:     2.02.187(2)-RHEL7 (2020-03-24)"
echo "  Library version: 1.02.170-RHEL7 (2020-03-24)"
echo "  (provisioner lab stand-in: no volumes here)"
"""
            ),
            0o755,
        ),
        *(File(f"/usr/sbin/{tool}", target="lvm") for tool in ("pvcreate", "vgcreate", "lvs")),
    ),
)


def _hello(version: str) -> Package:
    return Package(
        name="lab-hello",
        version=version,
        release="1.el7",
        summary="Prints its own version (for package upgrade tests)",
        files=(File("/usr/bin/lab-hello", script(f'echo "lab-hello {version}"'), 0o755),),
    )


FIREWALLD_SERVICE = """[Unit]
Description=firewalld - dynamic firewall daemon (provisioner lab stand-in: no packet filter)
Before=network-pre.target
Wants=network-pre.target

[Service]
ExecStartPre=/usr/sbin/firewalld --load
ExecStart=/usr/sbin/firewalld --nofork --nopid

[Install]
WantedBy=multi-user.target
"""


def _firewalld(version: str, release: str) -> Package:
    """firewalld's firewall-cmd and its unit; the program keeps the zones' configuration
    in files and filters nothing (standin/firewall_cmd.py says what it answers)."""
    program = source("firewall_cmd").replace('VERSION = "1.3.4"', f'VERSION = "{version}"')
    return Package(
        name="firewalld",
        version=version,
        release=release,
        summary="A firewall daemon with D-Bus interface (stand-in: configuration only)",
        files=(
            File("/usr/bin/firewall-cmd", program, 0o755),
            File("/usr/sbin/firewalld", target="../bin/firewall-cmd"),
            File("/usr/lib/systemd/system/firewalld.service", FIREWALLD_SERVICE),
            File("/etc/firewalld/firewalld.conf", "DefaultZone=public\n", config=True),
        ),
    )


FIREWALLD_EL7 = _firewalld("0.6.3", "13.el7_9")

PIP_WRAPPER = script(
    """
# The lab's pip: Debian's own pip wheel (python3-pip-whl on the controller), run by the
# platform Python. EL's Python is not "externally managed"; the Debian one underneath is
# (PEP 668), which the variable tells pip to let be, as EL's pip never asks.
PIP_BREAK_SYSTEM_PACKAGES=1 exec /usr/libexec/platform-python /usr/share/lab-pip/pip.whl/pip "$@"
"""
)
PYTHON3_PIP = Package(
    name="python3-pip",
    version="23.0.1",
    release="1.lab",
    summary="A tool for installing and managing Python3 packages (Debian 12's pip)",
    files=(
        File("/usr/share/lab-pip/pip.whl", copy_from=PIP_WHEEL),
        File("/usr/bin/pip3", PIP_WRAPPER, 0o755),
        File("/usr/bin/pip-3", target="pip3"),
    ),
)
BASE_REPO = (YUM_UTILS, DMPD, LVM2, _hello("1.0"), _hello("1.1"), FIREWALLD_EL7, PYTHON3_PIP)


def _container_selinux(version: str, release: str, epoch: int) -> Package:
    return Package(
        name="container-selinux",
        version=version,
        release=release,
        epoch=epoch,
        summary="SELinux policies for container runtimes (stand-in: no policy)",
        files=(File("/usr/share/container-selinux/README", "provisioner lab stand-in\n"),),
    )


def _tool(
    name: str,
    version: str,
    release: str,
    epoch: int | None = None,
    requires: tuple[str, ...] = (),
) -> Package:
    """A distribution's package of one program that only prints its version."""
    return Package(
        name=name,
        version=version,
        release=release,
        epoch=epoch,
        arch="x86_64",
        summary=f"{name} (stand-in)",
        requires=requires,
        files=(File(f"/usr/bin/{name}", script(f'echo "{name} version {version}"'), 0o755),),
    )


# --- CentOS 7's vault (vault.centos.org/7.9.2009/{os,updates,extras}/x86_64/) ------------

VAULT_PATH = "centos-vault/7.9.2009"
VAULT_REPOS = {
    "os": (YUM_UTILS, DMPD, LVM2, _hello("1.0"), FIREWALLD_EL7, PYTHON3_PIP),
    "updates": (_hello("1.1"),),
    # Docker's docker-ce needs container-selinux, its rootless-extras the other two.
    "extras": (
        _container_selinux("2.119.2", "1.911c772.el7_8", 2),
        _tool("slirp4netns", "0.4.3", "4.el7_8"),
        _tool("fuse-overlayfs", "0.7.2", "6.el7_8"),
    ),
}

# --- AlmaLinux 9 (repo.almalinux.org/almalinux/9/{BaseOS,AppStream}/x86_64/os/) ---------

RUNC_EL9 = _tool("runc", "1.1.12", "4.el9_4", 4)
PODMAN_EL9 = _tool("podman", "4.9.4", "16.el9_4", 5, ("runc",))
BUILDAH_EL9 = _tool("buildah", "1.33.8", "4.el9_4", 2, ("runc",))
ALMA_PATH = "almalinux/9"
ALMA_REPOS = {
    "BaseOS": (YUM_UTILS, DMPD, LVM2, _firewalld("1.3.4", "1.el9")),
    "AppStream": (
        PYTHON3_PIP,
        _container_selinux("2.229.0", "1.el9", 3),
        RUNC_EL9,
        PODMAN_EL9,
        BUILDAH_EL9,
        _tool("slirp4netns", "1.2.3", "1.el9"),
        _tool("fuse-overlayfs", "1.13", "1.el9"),
    ),
}
# What an AlmaLinux 9 host of the lab has installed, as a "Server" install has.
EL9_PREINSTALLED = (RUNC_EL9, PODMAN_EL9, BUILDAH_EL9)
