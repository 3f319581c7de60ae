"""Profiles: make a fresh lab host look like a particular EL release, where tools look.

- (none): the lab's default, CentOS 7's files (its GPG key file too) with a working `[base]`
  served by the lab;
- "el7": CentOS 7 as it is since its end of life: the stock CentOS-Base.repo whose
  mirrorlist.centos.org no longer answers (here: no DNS at all, so "Could not resolve
  host"), its GPG key file, and yum without dnf;
- "el9": AlmaLinux 9 as a minimal install leaves it: os-release and release files,
  `$releasever` 9, BaseOS and AppStream served by the lab;
- "el9-podman": the same with podman, buildah and runc installed (container tools, as a
  server install may have them): they conflict with Docker's containerd.io.

Applied to the host's root from the controller after a reset, before it boots. What is
underneath stays the lab's Debian userland (rpm 4.18, dnf 4.14, systemd 252): a profile
changes what a tool reads, not the tools; yum on "el7" is dnf 4 under yum's name.
"""

from __future__ import annotations

from pathlib import Path

from . import packages
from .config import REPO_BASE_URL
from .system import LabError, run

PROFILES = ("el7", "el9", "el9-podman")
CENTOS_KEY = "/etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7"
ALMA_KEY = "/etc/pki/rpm-gpg/RPM-GPG-KEY-AlmaLinux-9"

# CentOS 7.9.2009's /etc/yum.repos.d/CentOS-Base.repo, as shipped.
CENTOS7_BASE_REPO = """# CentOS-Base.repo
#
# The mirror system uses the connecting IP address of the client and the
# update status of each mirror to pick mirrors that are updated to and
# geographically close to the client.  You should use this for CentOS updates
# unless you are manually picking other mirrors.
#
# If the mirrorlist= does not work for you, as a fall back you can try the
# remarked out baseurl= line instead.
#
#

[base]
name=CentOS-$releasever - Base
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=os&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/os/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7

#released updates
[updates]
name=CentOS-$releasever - Updates
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=updates&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/updates/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7

#additional packages that may be useful
[extras]
name=CentOS-$releasever - Extras
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=extras&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/extras/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7

#additional packages that extend functionality of existing packages
[centosplus]
name=CentOS-$releasever - Plus
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=centosplus&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/centosplus/$basearch/
gpgcheck=1
enabled=0
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7
"""

ALMA9_OS_RELEASE = """NAME="AlmaLinux"
VERSION="9.4 (Seafoam Ocelot)"
ID="almalinux"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="AlmaLinux 9.4 (Seafoam Ocelot)"
ANSI_COLOR="0;34"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:almalinux:almalinux:9::baseos"
HOME_URL="https://almalinux.org/"
DOCUMENTATION_URL="https://wiki.almalinux.org/"
BUG_REPORT_URL="https://bugs.almalinux.org/"
VARIANT="provisioner lab (Debian 12 userland)"
VARIANT_ID="provlab"
"""


def _alma_repo(repo_id: str, section: str) -> str:
    return f"""[{repo_id}]
name=AlmaLinux $releasever - {section}
# mirrorlist=https://mirrors.almalinux.org/mirrorlist/$releasever/{repo_id}
baseurl={REPO_BASE_URL}/{packages.ALMA_PATH}/{section}/$basearch/os/
enabled=1
gpgcheck=1
countme=1
gpgkey=file://{ALMA_KEY}
metadata_expire=86400
enabled_metadata=1
"""


def _put(root: Path, path: str, text: str) -> None:
    dest = root / path.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_symlink() or dest.exists():
        dest.unlink()
    dest.write_text(text)
    dest.chmod(0o644)


def _remove(root: Path, path: str) -> None:
    dest = root / path.lstrip("/")
    if dest.is_symlink() or dest.exists():
        dest.unlink()


def apply(root: Path, profile: str | None, www: Path) -> None:
    """Make the fresh host whose root is `root` look like `profile` (None: the default;
    www: the lab's repository tree)."""
    if profile is not None and profile not in PROFILES:
        raise LabError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    lab_key = (www / "base" / "RPM-GPG-KEY-lab").read_text()
    if profile is None:
        # centos-release's key file; the vault and base here are signed with the lab's key
        _put(root, CENTOS_KEY, lab_key)
        return
    if profile == "el7":
        _put(root, "/etc/yum.repos.d/CentOS-Base.repo", CENTOS7_BASE_REPO)
        _put(root, CENTOS_KEY, lab_key)  # the lab's vault is signed with the lab's key
        _remove(root, "/usr/bin/dnf")  # EL7 has yum only (here: dnf-3 under yum's name)
        return
    _remove(root, "/etc/yum.repos.d/CentOS-Base.repo")
    _remove(root, "/etc/centos-release")
    _put(root, "/etc/os-release", ALMA9_OS_RELEASE)
    release = "AlmaLinux release 9.4 (Seafoam Ocelot)\n"
    for name in ("almalinux-release", "redhat-release", "system-release"):
        _put(root, f"/etc/{name}", release)
    _put(root, "/etc/system-release-cpe", "cpe:/o:almalinux:almalinux:9::baseos\n")
    _put(root, "/etc/dnf/vars/releasever", "9\n")
    _put(root, ALMA_KEY, lab_key)
    _put(root, "/etc/yum.repos.d/almalinux-baseos.repo", _alma_repo("baseos", "BaseOS"))
    _put(root, "/etc/yum.repos.d/almalinux-appstream.repo", _alma_repo("appstream", "AppStream"))
    if profile != "el9-podman":
        return
    appstream = www / packages.ALMA_PATH / "AppStream" / "x86_64" / "os" / "Packages"
    rpms = [appstream / p.filename for p in packages.EL9_PREINSTALLED]
    run(["rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-i", "--force-debian", *rpms])
