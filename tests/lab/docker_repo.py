"""Docker's package repositories as download.docker.com lays them out, with stand-ins.

Served under linux/ (see repos.py), for `docker_repo_url: http://10.66.0.1:8080/linux`:
  {centos,rhel}/docker-ce.repo   Docker's file of nine sections, pointing at the lab
  {centos,rhel}/gpg              the lab's Docker key (one key for both, as Docker's)
  centos/{7,8,9}/, rhel/{8,9}/   per `$releasever`, each with
    x86_64/stable/               that release's builds (el7, el8, el9): `PACKAGES`
    x86_64/{test,nightly}/, debug-x86_64/{stable,test,nightly}/, source/{stable,test,nightly}/
                                 empty repositories: the file's other sections, so enabling
                                 one (yum-config-manager --enable docker-ce-test) works
The same build of a release is in centos/N and rhel/N, as Docker's are. Names, epochs and
versions are Docker's; el7's are its last (26.1.4, June 2024).
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import REPO_BASE_URL
from .packages import script
from .rpms import File, Package
from .standin import source

ARCH = "x86_64"
CHANNELS = ("stable", "test", "nightly")
# download.docker.com/linux/<flavour>/<releasever>/ -> the build it serves
RELEASES: dict[str, dict[str, str]] = {
    "centos": {"7": "el7", "8": "el8", "9": "el9"},
    "rhel": {"8": "el8", "9": "el9"},
}
DOCKER_REPO_PATH = f"linux/centos/7/{ARCH}/stable"  # the el7 builds


@dataclass(frozen=True)
class Versions:
    docker: str  # docker-ce, docker-ce-cli, docker-ce-rootless-extras
    containerd: str
    buildx: str
    compose: str


VERSIONS = {
    "el7": Versions("26.1.4", "1.6.33", "0.14.1", "2.27.1"),
    "el8": Versions("27.3.1", "1.7.22", "0.17.1", "2.29.7"),
    "el9": Versions("27.3.1", "1.7.22", "0.17.1", "2.29.7"),
}

# --- the layout --------------------------------------------------------------------------


def stable_dirs(dist: str) -> list[str]:
    """The stable repositories (paths under the served root) that serve `dist`'s builds."""
    return [
        f"linux/{flavour}/{release}/{ARCH}/stable"
        for flavour, releases in RELEASES.items()
        for release, built in releases.items()
        if built == dist
    ]


def empty_dirs() -> list[str]:
    """Every repository of the layout but the stable ones: they hold no package."""
    kinds = (ARCH, f"debug-{ARCH}", "source")
    return [
        f"linux/{flavour}/{release}/{kind}/{channel}"
        for flavour, releases in RELEASES.items()
        for release in releases
        for kind in kinds
        for channel in CHANNELS
        if (kind, channel) != (ARCH, "stable")
    ]


def repo_file(flavour: str) -> str:
    """linux/<flavour>/docker-ce.repo: Docker's sections, only docker-ce-stable enabled."""
    root = f"{REPO_BASE_URL}/linux/{flavour}"
    sections = []
    for channel in CHANNELS:
        title = f"Docker CE {channel.capitalize()}"
        for suffix, name, kind in (
            ("", f"{title} - $basearch", "$basearch"),
            ("-debuginfo", f"{title} - Debuginfo $basearch", "debug-$basearch"),
            ("-source", f"{title} - Sources", "source"),
        ):
            enabled = 1 if (channel, suffix) == ("stable", "") else 0
            sections.append(
                f"[docker-ce-{channel}{suffix}]\nname={name}\n"
                f"baseurl={root}/$releasever/{kind}/{channel}\n"
                f"enabled={enabled}\ngpgcheck=1\ngpgkey={root}/gpg\n"
            )
    return "\n".join(sections)


# --- what the packages contain -----------------------------------------------------------

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

PLUGIN_DIR = "/usr/libexec/docker/cli-plugins"

# A CLI plugin as the docker CLI runs it: `docker compose version` execs
# `docker-compose compose version`; `docker-cli-plugin-metadata` is how the CLI lists it.
PLUGIN = """#!/bin/sh
# Stand-in Docker CLI plugin of the provisioner lab: it knows its version, nothing more.
if [ "$1" = docker-cli-plugin-metadata ]; then
  echo '{{"SchemaVersion":"0.1.0","Vendor":"Docker Inc.","Version":"v{version}",\
"ShortDescription":"{summary}"}}'
  exit 0
fi
[ "$1" = {command} ] && shift
case "$1" in
  version|--version|-v) echo "{version_line}" ;;
  *) echo "docker {command} $1: not in the provisioner lab's stand-in" >&2; exit 1 ;;
esac
"""

ROOTLESS_TOOL = script(
    'echo "$(basename "$0"): rootless mode is not in the provisioner lab\'s stand-in" >&2\nexit 1'
)


def _weak(dist: str, *names: str) -> tuple[str, ...]:
    """Docker's Recommends. The el7 builds get none: yum 3 ignores weak dependencies, and
    the lab's yum is dnf, which would install them."""
    return () if dist == "el7" else names


def _containerd(dist: str, version: str) -> Package:
    el7 = dist == "el7"
    return Package(
        name="containerd.io",
        version=version,
        release=f"3.1.{dist}",
        arch=ARCH,
        summary="An industry-standard container runtime (stand-in)",
        provides=("containerd", "runc") if el7 else ("containerd",),
        # Docker's el8/el9 containerd.io brings its own runc and conflicts with EL's: the
        # reason podman, buildah and runc must go first on EL8/EL9.
        conflicts=() if el7 else ("runc",),
        files=(
            File("/usr/bin/containerd", CONTAINERD_BIN, 0o755),
            File(
                "/usr/bin/runc",
                script('echo "runc version 1.1.12"; echo "commit: v1.1.12-0-g51d5e94"'),
                0o755,
            ),
            File("/usr/lib/systemd/system/containerd.service", CONTAINERD_SERVICE),
            File("/etc/containerd/config.toml", 'disabled_plugins = ["cri"]\n', config=True),
        ),
        post=PRESET_ON_INSTALL.format(units="containerd.service"),
        preun=DISABLE_ON_ERASE.format(units="containerd.service"),
        postun=RELOAD_ON_ERASE,
    )


def _engine(dist: str, version: str) -> tuple[Package, Package, Package]:
    """docker-ce-cli, docker-ce and docker-ce-rootless-extras (one version, one release)."""
    cli = Package(
        name="docker-ce-cli",
        version=version,
        release=f"1.{dist}",
        epoch=1,
        arch=ARCH,
        summary="The open-source application container engine (stand-in client)",
        provides=("docker-client",),
        recommends=_weak(dist, "docker-buildx-plugin", "docker-compose-plugin"),
        files=(File("/usr/bin/docker", source("docker_cli"), 0o755),),
    )
    daemon = Package(
        name="docker-ce",
        version=version,
        release=f"1.{dist}",
        epoch=3,
        arch=ARCH,
        summary="The open-source application container engine (stand-in daemon)",
        # container-selinux is in CentOS 7's extras (EL9: AppStream), not in base.
        requires=("docker-ce-cli", "containerd.io >= 1.6.24", "container-selinux >= 2:2.74"),
        recommends=_weak(dist, "docker-ce-rootless-extras"),
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
    rootless = Package(
        name="docker-ce-rootless-extras",
        version=version,
        release=f"1.{dist}",
        epoch=0,
        arch=ARCH,
        summary="Rootless support for Docker (stand-in)",
        # slirp4netns and fuse-overlayfs: CentOS 7's extras, AlmaLinux 9's AppStream
        requires=("docker-ce", "slirp4netns >= 0.4", "fuse-overlayfs >= 0.7"),
        conflicts=("rootlesskit",),
        files=tuple(
            File(f"/usr/bin/{tool}", ROOTLESS_TOOL, 0o755)
            for tool in ("dockerd-rootless.sh", "dockerd-rootless-setuptool.sh", "rootlesskit")
        ),
    )
    return cli, daemon, rootless


def _plugin(dist: str, command: str, version: str, summary: str, line: str) -> Package:
    text = PLUGIN.format(version=version, summary=summary, command=command, version_line=line)
    return Package(
        name=f"docker-{command}-plugin",
        version=version,
        release=f"1.{dist}",
        epoch=0,
        arch=ARCH,
        summary=f"{summary} plugin for the Docker CLI (stand-in)",
        files=(File(f"{PLUGIN_DIR}/docker-{command}", text, 0o755),),
    )


def docker_packages(dist: str) -> tuple[Package, ...]:
    """Docker's packages as Docker builds them for `dist` (el7, el8, el9)."""
    v = VERSIONS[dist]
    return (
        _containerd(dist, v.containerd),
        *_engine(dist, v.docker),
        _plugin(dist, "buildx", v.buildx, "Docker Buildx", f"github.com/docker/buildx v{v.buildx}"),
        _plugin(
            dist, "compose", v.compose, "Docker Compose", f"Docker Compose version v{v.compose}"
        ),
    )


PACKAGES = {dist: docker_packages(dist) for dist in VERSIONS}
