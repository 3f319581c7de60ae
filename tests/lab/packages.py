"""What the stand-in rpm packages contain.

Three are preinstalled in every host's rpm database (`PREINSTALLED`); the others are served
from the lab's repositories: `BASE_REPO` (the lab's own "base"), `VAULT_REPOS` (CentOS 7's
vault: os, updates, extras), `ALMA_REPOS` (AlmaLinux 9's BaseOS and AppStream), and Docker's
el7 and rhel/9 repositories (`DOCKER_REPO`, `DOCKER_RHEL_REPO`, with the real names, epochs
and versions).
"""

from __future__ import annotations

from .config import REPO_BASE_URL
from .rpms import File, Package
from .standin import source

BASE_KEY_URL = f"{REPO_BASE_URL}/base/RPM-GPG-KEY-lab"
DOCKER_KEY_URL = f"{REPO_BASE_URL}/linux/centos/gpg"
DOCKER_REPO_PATH = "linux/centos/7/x86_64/stable"  # Docker's layout: linux/centos/$releasever/…

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


def _script(text: str) -> str:
    return "#!/bin/sh\n" + text.strip() + "\n"


YUM_UTILS = Package(
    name="yum-utils",
    version="1.1.31",
    release="54.el7_8",
    summary="Utilities based around the yum package manager (yum-config-manager)",
    requires=("yum", "dnf-plugins-core"),
    files=(
        File("/usr/bin/yum-config-manager", _script('exec dnf config-manager "$@"'), 0o755),
        File("/usr/bin/package-cleanup", _script('exec dnf repoquery --unneeded "$@"'), 0o755),
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
            _script('echo "0.8.5 (provisioner lab stand-in)"'),
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
            _script(
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
        files=(File("/usr/bin/lab-hello", _script(f'echo "lab-hello {version}"'), 0o755),),
    )


BASE_REPO = (YUM_UTILS, DMPD, LVM2, _hello("1.0"), _hello("1.1"))

# --- Docker's repository -----------------------------------------------------------------

PRESET_ON_INSTALL = """
if [ $1 -eq 1 ]; then
  systemctl preset {units} >/dev/null 2>&1 || :
fi
"""
DISABLE_ON_ERASE = """
if [ $1 -eq 0 ]; then
  systemctl --no-reload disable --now {units} >/dev/null 2>&1 || :
fi
"""
RELOAD_ON_ERASE = "systemctl daemon-reload >/dev/null 2>&1 || :"

DOCKER_SERVICE = """[Unit]
Description=Docker Application Container Engine
Documentation=https://docs.docker.com
After=network-online.target docker.socket firewalld.service containerd.service time-set.target
Wants=network-online.target containerd.service
Requires=docker.socket

[Service]
Type=notify
ExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock
ExecReload=/bin/kill -s HUP $MAINPID
TimeoutStartSec=0
RestartSec=2
Restart=always
StartLimitBurst=3
StartLimitInterval=60s
Delegate=yes
KillMode=process

[Install]
WantedBy=multi-user.target
"""

DOCKER_SOCKET = """[Unit]
Description=Docker Socket for the API

[Socket]
ListenStream=/run/docker.sock
SocketMode=0660
SocketUser=root
SocketGroup=docker

[Install]
WantedBy=sockets.target
"""

CONTAINERD_SERVICE = """[Unit]
Description=containerd container runtime
Documentation=https://containerd.io
After=network.target local-fs.target

[Service]
ExecStart=/usr/bin/containerd
Type=simple
Delegate=yes
KillMode=process
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
"""

CONTAINERD_BIN = (
    "#!/bin/bash\nmkdir -p /run/containerd\nexec -a /usr/bin/containerd sleep infinity\n"
)


def docker_packages(dist: str) -> tuple[Package, ...]:
    """containerd.io, docker-ce-cli and docker-ce as Docker builds them for `dist` (el7, el9)."""
    el9 = dist == "el9"
    docker_release = f"1.{dist}"
    docker_version = "27.3.1" if el9 else "26.1.4"  # Docker's last el7 build is 26.1.4
    containerd = Package(
        name="containerd.io",
        version="1.7.22" if el9 else "1.6.33",
        release=f"3.1.{dist}",
        arch="x86_64",
        summary="An industry-standard container runtime (stand-in)",
        provides=("containerd",) if el9 else ("containerd", "runc"),
        # Docker's el8/el9 containerd.io brings its own runc and conflicts with EL's: the
        # reason podman, buildah and runc must go first on EL8/EL9.
        conflicts=("runc",) if el9 else (),
        files=(
            File(
                "/usr/bin/containerd",
                CONTAINERD_BIN,
                0o755,
            ),
            File(
                "/usr/bin/runc",
                _script('echo "runc version 1.1.12"; echo "commit: v1.1.12-0-g51d5e94"'),
                0o755,
            ),
            File("/usr/lib/systemd/system/containerd.service", CONTAINERD_SERVICE),
            File("/etc/containerd/config.toml", 'disabled_plugins = ["cri"]\n', config=True),
        ),
        post=PRESET_ON_INSTALL.format(units="containerd.service"),
        preun=DISABLE_ON_ERASE.format(units="containerd.service"),
        postun=RELOAD_ON_ERASE,
    )
    cli = Package(
        name="docker-ce-cli",
        version=docker_version,
        release=docker_release,
        epoch=1,
        arch="x86_64",
        summary="The open-source application container engine (stand-in client)",
        provides=("docker-client",),
        files=(File("/usr/bin/docker", source("docker_cli"), 0o755),),
    )
    daemon = Package(
        name="docker-ce",
        version=docker_version,
        release=docker_release,
        epoch=3,
        arch="x86_64",
        summary="The open-source application container engine (stand-in daemon)",
        # container-selinux is in CentOS 7's extras (EL9: AppStream), not in base.
        requires=("docker-ce-cli", "containerd.io >= 1.6.24", "container-selinux >= 2:2.74"),
        files=(
            File("/usr/bin/dockerd", source("dockerd"), 0o755),
            File("/usr/lib/systemd/system/docker.service", DOCKER_SERVICE),
            File("/usr/lib/systemd/system/docker.socket", DOCKER_SOCKET),
        ),
        pre="getent group docker >/dev/null || groupadd -r docker",
        post=PRESET_ON_INSTALL.format(units="docker.service docker.socket"),
        preun=DISABLE_ON_ERASE.format(units="docker.service docker.socket"),
        postun=RELOAD_ON_ERASE,
    )
    return (containerd, cli, daemon)


DOCKER_REPO = docker_packages("el7")
DOCKER_RHEL_REPO = docker_packages("el9")
DOCKER_RHEL_REPO_PATH = "linux/rhel/9/x86_64/stable"  # for Alma and Rocky: linux/rhel/…


def _container_selinux(version: str, release: str, epoch: int) -> Package:
    return Package(
        name="container-selinux",
        version=version,
        release=release,
        epoch=epoch,
        summary="SELinux policies for container runtimes (stand-in: no policy)",
        files=(File("/usr/share/container-selinux/README", "provisioner lab stand-in\n"),),
    )


# --- CentOS 7's vault (vault.centos.org/7.9.2009/{os,updates,extras}/x86_64/) ------------

VAULT_PATH = "centos-vault/7.9.2009"
VAULT_REPOS = {
    "os": (YUM_UTILS, DMPD, LVM2, _hello("1.0")),
    "updates": (_hello("1.1"),),
    "extras": (_container_selinux("2.119.2", "1.911c772.el7_8", 2),),
}

# --- AlmaLinux 9 (repo.almalinux.org/almalinux/9/{BaseOS,AppStream}/x86_64/os/) ---------


def _el9_tool(
    name: str, version: str, release: str, epoch: int, requires: tuple[str, ...]
) -> Package:
    return Package(
        name=name,
        version=version,
        release=release,
        epoch=epoch,
        arch="x86_64",
        summary=f"{name} (stand-in)",
        requires=requires,
        files=(File(f"/usr/bin/{name}", _script(f'echo "{name} version {version}"'), 0o755),),
    )


RUNC_EL9 = _el9_tool("runc", "1.1.12", "4.el9_4", 4, ())
PODMAN_EL9 = _el9_tool("podman", "4.9.4", "16.el9_4", 5, ("runc",))
BUILDAH_EL9 = _el9_tool("buildah", "1.33.8", "4.el9_4", 2, ("runc",))
ALMA_PATH = "almalinux/9"
ALMA_REPOS = {
    "BaseOS": (YUM_UTILS, DMPD, LVM2),
    "AppStream": (
        _container_selinux("2.229.0", "1.el9", 3),
        RUNC_EL9,
        PODMAN_EL9,
        BUILDAH_EL9,
    ),
}
# What an AlmaLinux 9 host of the lab has installed, as a "Server" install has.
EL9_PREINSTALLED = (RUNC_EL9, PODMAN_EL9, BUILDAH_EL9)


def docker_repo_file(flavour: str) -> str:
    """download.docker.com/linux/{centos,rhel}/docker-ce.repo, pointing at the lab."""
    key = f"{REPO_BASE_URL}/linux/{flavour}/gpg"
    base = f"{REPO_BASE_URL}/linux/{flavour}/$releasever/$basearch"
    return f"""[docker-ce-stable]
name=Docker CE Stable - $basearch
baseurl={base}/stable
enabled=1
gpgcheck=1
gpgkey={key}

[docker-ce-test]
name=Docker CE Test - $basearch
baseurl={base}/test
enabled=0
gpgcheck=1
gpgkey={key}
"""
