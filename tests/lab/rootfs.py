"""The shared, read-only root filesystem of every lab host (the overlay's lower dir).

Built in two cached steps:
1. `rootfs-<hash>.tar`: mmdebstrap's Debian 12 "essential" system plus sshd, systemd, sudo,
   rpm and dnf (no apt, as on an EL host);
2. `lower-<hash>/`: that tar unpacked and made to look and behave like EL (see `_make_el`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from . import cache, packages, rpms
from .config import DEBIAN_MIRROR, DEBIAN_SUITE, LOGIN_USER, TEACHER_PASSWORD, TEACHER_USER
from .system import run

RECIPE_VERSION = "rootfs-1"
PACKAGES = (
    "systemd,systemd-sysv,dbus,libpam-systemd,openssh-server,sudo,passwd,rpm,dnf,"
    "dnf-plugins-core,iproute2,procps,curl,iputils-ping,less,xz-utils"
)
PLATFORM_PYTHON = "/usr/libexec/platform-python"
# Debian plugins that EL does not enable by default (`local` would even fail on GPG).
DISABLED_DNF_PLUGINS = ("local", "show-leaves", "leaves", "versionlock", "post-transaction-actions")
# Python entry points that would put a Python on PATH.
PYTHON_ON_PATH = (
    "python3",
    "python3.11",
    "pdb3",
    "pdb3.11",
    "pydoc3",
    "pydoc3.11",
    "pygettext3",
    "pygettext3.11",
    "py3clean",
    "py3compile",
    "py3versions",
)

EL8_DNF_CONF = """[main]
gpgcheck=1
installonly_limit=3
clean_requirements_on_remove=True
best=True
skip_if_unavailable=False
"""

# Debian's rpm keeps its database in ~/.rpmdb and warns "use Alien instead!" on -i/-U/-F/-e.
RPM_MACROS = "%_dbpath /var/lib/rpm\n"
RPM_POPT = "".join(
    f"rpm alias {opt} {opt} --force-debian\n"
    for opt in ("-i", "--install", "-U", "--upgrade", "-F", "--freshen", "-e", "--erase")
)


def tar_key() -> str:
    return cache.recipe_hash(RECIPE_VERSION, DEBIAN_SUITE, PACKAGES)


def ensure_built() -> Path:
    """The lower dir for the current recipe; build (and cache) what is missing."""
    tar = cache.entry(f"rootfs-{tar_key()}.tar", _debootstrap)
    key = cache.recipe_hash(tar.name, _this_module_source(), packages, rpms)
    return cache.entry(f"lower-{key}", lambda dest: _unpack_and_make_el(tar, dest))


def _this_module_source() -> str:
    return Path(__file__).read_text()


def _debootstrap(dest: Path) -> None:
    run(
        [
            "mmdebstrap",
            "--mode=root",
            "--format=tar",
            "--variant=essential",
            f"--include={PACKAGES}",
            DEBIAN_SUITE,
            dest,
            DEBIAN_MIRROR,
        ],
        timeout=1200,
    )


def _unpack_and_make_el(tar: Path, root: Path) -> None:
    root.mkdir()
    run(["tar", "-C", root, "--numeric-owner", "-xpf", tar], timeout=600)
    with tempfile.TemporaryDirectory(prefix="provlab-preinstalled-") as tmp:
        for pkg in packages.PREINSTALLED:
            rpms.build(pkg, Path(tmp))
        _make_el(root, Path(tmp))


def _write(root: Path, path: str, text: str, mode: int = 0o644) -> None:
    dest = root / path.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_symlink():
        dest.unlink()
    dest.write_text(text)
    dest.chmod(mode)


def _make_el(root: Path, preinstalled: Path) -> None:
    _rpm_like_el(root, preinstalled)
    _dnf_like_el(root)
    _python_off_path(root)
    _systemd_like_el(root)
    _users(root)
    _network_files(root)
    # No shared ssh host keys: each host gets its own before its first boot.
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()


def _rpm_like_el(root: Path, preinstalled: Path) -> None:
    _write(root, "/etc/rpm/macros.dbpath", RPM_MACROS)
    _write(root, "/etc/popt", RPM_POPT)
    (root / "var/lib/rpm").mkdir(parents=True, exist_ok=True)
    rpm: list[str | Path] = ["rpm", "--root", root, "--dbpath", "/var/lib/rpm"]
    run([*rpm, "--initdb"])
    run([*rpm, "-i", "--force-debian", *sorted(preinstalled.glob("*.rpm"))])


def _dnf_like_el(root: Path) -> None:
    _write(root, "/etc/dnf/dnf.conf", EL8_DNF_CONF)
    for plugin in DISABLED_DNF_PLUGINS:
        _write(root, f"/etc/dnf/plugins/{plugin}.conf", "[main]\nenabled=0\n")


def _python_off_path(root: Path) -> None:
    """Python only for dnf, where EL8 keeps it: /usr/libexec/platform-python."""
    real = root / "usr/bin/python3.11"
    shutil.move(real, root / PLATFORM_PYTHON.lstrip("/"))
    for name in PYTHON_ON_PATH:
        path = root / "usr/bin" / name
        if path.exists() or path.is_symlink():
            path.unlink()
    for directory in ("usr/bin", "usr/sbin", "usr/libexec"):
        for path in (root / directory).iterdir():
            if path.is_symlink() or not path.is_file():
                continue
            with open(path, "rb") as f:
                first = f.readline()
            if first.startswith(b"#!") and b"python3" in first:
                body = path.read_bytes().split(b"\n", 1)[1]
                path.write_bytes(f"#!{PLATFORM_PYTHON}\n".encode() + body)


def _systemd_like_el(root: Path) -> None:
    # EL's presets end in "disable *": a newly installed service stays disabled.
    _write(root, "/etc/systemd/system-preset/99-default-disable.preset", "disable *\n")
    _write(
        root,
        "/etc/systemd/journald.conf.d/50-lab.conf",
        "[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\n",
    )
    for unit in ("timers.target.wants/dpkg-db-backup.timer", "timers.target.wants/fstrim.timer"):
        link = root / "etc/systemd/system" / unit
        if link.is_symlink():
            link.unlink()
    # Empty: each host writes its own at boot, so no boot is a "first boot".
    _write(root, "/etc/machine-id", "", 0o444)


def _users(root: Path) -> None:
    run(["groupadd", "--root", root, "--system", "wheel"])
    run(["useradd", "--root", root, "-m", "-s", "/bin/bash", "-U", LOGIN_USER])
    run(["useradd", "--root", root, "-m", "-s", "/bin/bash", "-U", "-G", "wheel", TEACHER_USER])
    run(["chpasswd", "--root", root, "-c", "SHA512"], input=f"{TEACHER_USER}:{TEACHER_PASSWORD}\n")
    _write(root, "/etc/sudoers.d/10-wheel", "%wheel ALL=(ALL) ALL\n", 0o440)
    _write(
        root, f"/etc/sudoers.d/90-{LOGIN_USER}", f"{LOGIN_USER} ALL=(ALL) NOPASSWD: ALL\n", 0o440
    )
    for home in ("root", f"home/{LOGIN_USER}", f"home/{TEACHER_USER}"):
        ssh_dir = root / home / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        owner = (root / home).stat()
        os.chown(ssh_dir, owner.st_uid, owner.st_gid)


def _network_files(root: Path) -> None:
    _write(root, "/etc/resolv.conf", "")
    _write(root, "/etc/hosts", "127.0.0.1   localhost\n::1         localhost\n")
    hostname = root / "etc/hostname"
    if hostname.exists():
        hostname.unlink()
