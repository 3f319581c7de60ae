"""What `python -m tests.lab record` captures, on which host, in which state; and what it
cannot capture, and why.

The unit tests of provisioner/modules feed the modules recorded outputs of real commands
(tests/unit/modules/recorded/). Each `Scene` resets one lab host (with a profile) and runs
its steps in order: a `Do` puts the host into a state (dnf, systemctl, usermod, ... as
root), a `Capture` runs one command as a module probe runs it and records its stdout.
Everything in recorded/ is either captured here or listed in `NOT_CAPTURED`; SOURCES.md
beside the files is rendered from both (record.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import CONTROLLER_IP, HTTP_PORT, REPO_BASE_URL
from .docker_repo import DOCKER_REPO_PATH
from .packages import VAULT_PATH


@dataclass(frozen=True)
class Do:
    """Change the host (sh, as root); it must exit 0."""

    script: str
    what: str = ""  # for SOURCES.md; a one-line script says itself

    @property
    def label(self) -> str:
        if self.what:
            return self.what
        if "\n" in self.script:
            raise ValueError(f"a multi-line Do needs a `what`: {self.script[:60]!r}")
        return f"`{self.script}`"


@dataclass(frozen=True)
class Capture:
    """Run `command` as a probe does; record its stdout in recorded/`path`."""

    path: str
    command: str
    rc: int = 0  # the exit code that says the host was in the intended state
    note: str = ""  # for SOURCES.md: where the capture differs from what the name says
    stderr_path: str = ""  # also record stderr there (when it says what stdout does not)


@dataclass(frozen=True)
class Scene:
    what: str  # the situation, in a few words (log, SOURCES.md)
    host: str
    profile: str | None
    steps: tuple[Do | Capture, ...]


@dataclass(frozen=True)
class NotCaptured:
    path: str
    kind: str  # "hand-written" or "copied"
    reason: str


# --- the commands, exactly as the module probes run them --------------------------------

QF = r"'%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n'"  # package.py's QF, quoted
GPG_PUBKEYS = r"rpm -q gpg-pubkey --qf '%{VERSION}-%{RELEASE}\n'"  # rpm_key.py


def rpm_q(name: str) -> str:
    return f"rpm -q --qf {QF} {name}"


def rpm_provides(name: str) -> str:
    return f"rpm -q --qf {QF} --whatprovides {name}"


def show(unit: str) -> str:
    return f"systemctl show -- {unit}"  # probes/systemd.py: every property


def getent(database: str, name: str) -> str:
    return f"getent {database} -- {name}"


def groups_of(user: str) -> str:
    return f"id -nG -- {user} 2>/dev/null"


def check_update(manager: str, *names: str) -> str:
    return f"{manager} -q check-update {' '.join(names)}"


# --- putting a host into a state --------------------------------------------------------

VAULT_EXTRAS = Do(
    f"""cat >> /etc/yum.repos.d/CentOS-Base.repo <<'EOF'

[extras]
name=CentOS-$releasever - Extras
baseurl={REPO_BASE_URL}/{VAULT_PATH}/extras/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7
EOF""",
    "the vault's extras added to CentOS-Base.repo",
)


def docker_repo(flavour: str) -> Do:
    """Docker's docker-ce.repo: its baseurl takes $releasever (7: the el7 builds, 9: el9)."""
    url = f"{REPO_BASE_URL}/linux/{flavour}/docker-ce.repo"
    return Do(
        f"curl -fsS -o /etc/yum.repos.d/docker-ce.repo {url}",
        f"Docker's linux/{flavour}/docker-ce.repo added",
    )


# Docker's el7 build on an el9 host: the only way the lab's repositories give an el9 host
# a docker-ce and containerd.io older than the ones its Docker repository offers.
EL7_BUILD_REPO = Do(
    f"""cat > /etc/yum.repos.d/docker-ce-el7.repo <<'EOF'
[docker-ce-el7]
name=Docker CE Stable - el7 builds
baseurl={REPO_BASE_URL}/{DOCKER_REPO_PATH}/
gpgcheck=1
gpgkey={REPO_BASE_URL}/linux/centos/gpg
EOF""",
    "a repository of Docker's el7 builds added",
)
# Docker's docs for EL9: podman, buildah and runc conflict with containerd.io.
NO_PODMAN = Do("dnf -y -q remove podman buildah runc")

# ExecStart cannot run (203/EXEC): systemd restarts docker until its start limit (3), then
# leaves it failed, also once the binary is back.
DOCKER_FAILS = Do(
    """systemctl enable -q docker.service
chmod -x /usr/bin/dockerd
systemctl start docker.service 2>/dev/null
for i in $(seq 150); do
  [ "$(systemctl show -p ActiveState --value docker.service)" = failed ] &&
    [ "$(systemctl show -p NRestarts --value docker.service)" -ge 3 ] && break
  sleep 0.2
done
chmod +x /usr/bin/dockerd
[ "$(systemctl show -p ActiveState --value docker.service)" = failed ]""",
    "docker enabled and started with dockerd not executable until its start limit, dockerd "
    "restored",
)
# Docker's docs on an HTTP proxy: a drop-in, before `systemctl daemon-reload`.
PROXY_DROP_IN = Do(
    f"""mkdir -p /etc/systemd/system/docker.service.d
printf '[Service]\\nEnvironment="HTTPS_PROXY=http://{CONTROLLER_IP}:3128"\\n' \\
  > /etc/systemd/system/docker.service.d/http-proxy.conf""",
    "a drop-in docker.service.d/http-proxy.conf written (no daemon-reload)",
)
# Nothing listens on the controller's port 9: connection refused, as with the server down.
DOCKER_REPO_DOWN = Do(
    f"""sed -i 's|{CONTROLLER_IP}:{HTTP_PORT}/|{CONTROLLER_IP}:9/|' /etc/yum.repos.d/docker-ce.repo
dnf clean all -q""",
    "Docker's repository pointed at a closed port, `dnf clean all`",
)

EL7_SYSTEMD = "systemd 252 underneath (CentOS 7 has 219)"
ONE_EL9_BUILD = (
    "the lab's el9 repository has one build of each (docker-ce 27.3.1, containerd.io 1.7.22): "
    "an older one on an el9 host can only be Docker's el7 build"
)

# --- the scenes: lab01 and lab02 run two each, one after the other ----------------------

EL7_FRESH = Scene(
    "CentOS 7's files, nothing installed",
    "lab01",
    None,
    (
        Capture("rpm/not-installed-docker-ce.txt", rpm_q("docker-ce"), 1),
        Capture("rpm/not-installed-podman.txt", rpm_q("podman"), 1),
        Capture("rpm/not-installed-gpg-pubkey.txt", GPG_PUBKEYS, 1),
        Capture("systemctl/el7-not-found.txt", show("docker.service"), note=EL7_SYSTEMD),
        Capture(
            "systemctl/el7-static.txt", show("systemd-tmpfiles-clean.service"), note=EL7_SYSTEMD
        ),
        Capture("getent/passwd-student.txt", getent("passwd", "student")),
        Do("systemctl disable -q ssh.service"),
        Capture(
            "systemctl/el7-sshd-running-disabled.txt",
            show("ssh.service"),
            note="OpenSSH's unit is Debian's ssh.service here: the sshd.service alias goes "
            f"with `systemctl disable`; {EL7_SYSTEMD}",
        ),
        Do("yum -y -q install device-mapper-persistent-data"),
        Capture(
            "rpm/el7-device-mapper-persistent-data.txt", rpm_q("device-mapper-persistent-data")
        ),
    ),
)

EL7_DOCKER = Scene(
    "CentOS 7's files, Docker from Docker's el7 repository",
    "lab02",
    None,
    (
        VAULT_EXTRAS,
        docker_repo("centos"),
        Do("yum -y -q install docker-ce"),
        Capture("rpm/el7-docker-ce-26.1.4.txt", rpm_q("docker-ce")),
        Capture("getent/group-docker.txt", getent("group", "docker")),
        Do("usermod -G wheel student"),
        Capture("getent/group-wheel.txt", getent("group", "wheel")),
        Capture("id/student-wheel.txt", groups_of("student")),
        Do("usermod -G wheel,docker student"),
        Capture("id/student-wheel-docker.txt", groups_of("student")),
        Do("useradd -m -c 'Deploy user' -d /srv/deploy -s /bin/sh deploy"),
        Capture("getent/passwd-deploy.txt", getent("passwd", "deploy")),
        Capture("id/deploy.txt", groups_of("deploy")),
        DOCKER_FAILS,
        Capture("systemctl/el7-docker-failed.txt", show("docker.service"), note=EL7_SYSTEMD),
    ),
)

EL7_EOL = Scene(
    "CentOS 7 since its end of life",
    "lab02",
    "el7",
    (
        Capture(
            "repo/CentOS-Base.repo",
            "cat /etc/yum.repos.d/CentOS-Base.repo",
            note="the profile writes CentOS 7.9.2009's stock file (tests/lab/profiles.py)",
        ),
    ),
)

EL9_DOCKER = Scene(
    "AlmaLinux 9, Docker from Docker's el9 repository",
    "lab03",
    "el9-podman",
    (
        Capture("rpm/el9-podman.txt", rpm_q("podman")),
        NO_PODMAN,
        docker_repo("rhel"),
        Do("dnf -y -q install docker-ce"),
        Capture("rpm/el9-docker-ce-27.3.1.txt", rpm_q("docker-ce")),
        Capture("rpm/el9-containerd.io.txt", rpm_q("containerd.io")),
        Capture("rpm/el9-whatprovides-containerd.txt", rpm_provides("containerd")),
        Capture("systemctl/el9-docker-installed.txt", show("docker.service")),
        Do("systemctl start docker.service && systemctl enable -q docker.service"),
        Capture("systemctl/el9-docker-running.txt", show("docker.service")),
        PROXY_DROP_IN,
        Capture("systemctl/el9-docker-unit-changed.txt", show("docker.service")),
        Do("systemctl mask -q firewalld.service"),
        Capture(
            "systemctl/el9-firewalld-masked.txt",
            show("firewalld.service"),
            note="the lab has no firewalld: masking its name is all `mask` needs",
        ),
        DOCKER_REPO_DOWN,
        Capture(
            "dnf/el9-check-update-offline.txt",
            check_update("dnf", "docker-ce"),
            1,
            note="dnf prints its error on stderr: stdout, what the probe reads, is empty",
            stderr_path="dnf/el9-check-update-offline.stderr.txt",
        ),
    ),
)

EL9_OLD_DOCKER = Scene(
    "AlmaLinux 9, Docker's el7 build: older than its el9 repository's",
    "lab01",
    "el9-podman",
    (
        NO_PODMAN,
        EL7_BUILD_REPO,
        Do("dnf -y -q install docker-ce-3:26.1.4-1.el7"),
        Do("rm /etc/yum.repos.d/docker-ce-el7.repo", "that repository removed"),
        docker_repo("rhel"),
        Capture("rpm/el9-docker-ce-26.1.4-1.el7.txt", rpm_q("docker-ce"), note=ONE_EL9_BUILD),
        Capture(
            "rpm/el9-containerd.io-1.6.33-3.1.el7.txt", rpm_q("containerd.io"), note=ONE_EL9_BUILD
        ),
        Capture(
            "dnf/el9-check-update-docker.txt",
            check_update("dnf", "docker-ce", "containerd.io"),
            100,
        ),
    ),
)

SCENES = (EL7_FRESH, EL9_OLD_DOCKER, EL7_DOCKER, EL7_EOL, EL9_DOCKER)

# --- what the lab cannot produce ---------------------------------------------------------

LAB_KEYS = (
    "the lab signs with keys it generates when it builds its repositories, so a capture's "
    "key ids would change with every rebuild"
)


def _hand(path: str, reason: str) -> NotCaptured:
    return NotCaptured(path, "hand-written", reason)


def _copied(path: str, reason: str) -> NotCaptured:
    return NotCaptured(path, "copied", reason)


NOT_CAPTURED = (
    _hand(
        "yum/el7-check-update-wrapped.txt",
        "CentOS 7's yum 3 (a long name wrapped onto a line of its own, an 'Obsoleting "
        "Packages' section); the lab's yum is dnf 4.14 under yum's name",
    ),
    _hand(
        "rpm/el7-git.txt",
        "the lab's repositories have no git (the test needs any installed package on a host "
        "without dnf)",
    ),
    _hand(
        "rpm/el7-kernel-two.txt",
        "two kernels side by side: the lab has no kernel packages, and none of its packages "
        "can be installed in two versions at once",
    ),
    _hand(
        "rpm/el9-glibc-multilib.txt",
        "glibc for i686 and x86_64: the lab has no multilib packages (its glibc is a "
        "capability of lab-debian-base)",
    ),
    _hand("rpm/el7-gpg-pubkeys.txt", f"CentOS 7's real key id (f4a80eb5); {LAB_KEYS}"),
    _hand("rpm/el9-rocky-gpg-pubkeys.txt", f"Rocky 9's real key id (350d275d); {LAB_KEYS}"),
    _hand(
        "rpm/el9-rocky-gpg-pubkeys-docker.txt",
        f"Rocky 9's and Docker's real key ids (the tests check Docker's real fingerprint, "
        f"621e9f35); {LAB_KEYS}",
    ),
    _hand(
        "repo/docker-ce.repo",
        "download.docker.com's file as `yum-config-manager --add-repo` leaves it (first three "
        "sections); the lab's copy points at 10.66.0.1 and has other sections",
    ),
    _copied("keys/debian-bookworm-stable.asc", "Debian's bookworm release key (ed25519)"),
    _copied("keys/debian-bullseye-stable.asc", "Debian's bullseye release key (RSA)"),
    _copied("keys/nodesource.gpg", "NodeSource's key, binary (RSA with a subkey)"),
    *(
        _copied(
            f"keys/{key}.gpg-colons",
            "the `fpr` line of `gpg --with-colons --import-options show-only --import` "
            "(gpg 2.2, on the development machine)",
        )
        for key in ("debian-bookworm-stable.asc", "debian-bullseye-stable.asc", "nodesource.gpg")
    ),
)
