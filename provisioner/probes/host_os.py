"""Facts about the system: distribution, family, package and service manager, uname,
names. Values as Ansible reports them on the EL family (`distribution_version` '7.9'
on CentOS 7.9.2009, `pkg_mgr` yum on EL7 and dnf from EL8)."""

from __future__ import annotations

import re
import shlex
from typing import Any

from provisioner.probes.host_raw import Raw, paren, to_int

# os-release ID → the distribution names Ansible reports (playbooks compare against these).
DISTRIBUTIONS = {
    "centos": "CentOS",
    "rhel": "RedHat",
    "almalinux": "AlmaLinux",
    "rocky": "Rocky",
    "ol": "OracleLinux",
    "fedora": "Fedora",
    "amzn": "Amazon",
    "debian": "Debian",
    "ubuntu": "Ubuntu",
    "opensuse-leap": "openSUSE Leap",
    "sles": "SLES",
    "alpine": "Alpine",
}
FAMILIES = {
    "centos": "RedHat",
    "rhel": "RedHat",
    "almalinux": "RedHat",
    "rocky": "RedHat",
    "ol": "RedHat",
    "fedora": "RedHat",
    "amzn": "RedHat",
    "debian": "Debian",
    "ubuntu": "Debian",
    "opensuse-leap": "Suse",
    "sles": "Suse",
    "alpine": "Alpine",
}
PKG_MGRS = {"apt-get": "apt"}  # Ansible's name for it
# PID 1's name → Ansible's name of that service manager.
INIT_NAMES = {
    "procd": "openwrt_init",
    "runit-init": "runit",
    "svscan": "svc",
    "openrc-init": "openrc",
}
_RELEASE_VERSION = re.compile(r"release\s+(\d+(?:\.\d+)*)")


def os_release(raw: Raw) -> dict[str, str]:
    """os-release's variables, unquoted."""
    out: dict[str, str] = {}
    for key, values in raw.values.items():
        if key.startswith("os_") and values:
            out.setdefault(key[3:], _unquote(values[0]))
    return out


def _unquote(value: str) -> str:
    value = value.strip()
    if value[:1] in ("'", '"'):
        try:
            parts = shlex.split(value)
        except ValueError:
            return value.strip("'\"")
        return parts[0] if parts else ""
    return value


def precise_version(osr: dict[str, str], redhat_release: str) -> str:
    """os-release's VERSION_ID, or /etc/redhat-release's longer one of the same major
    ("7.9.2009" where os-release says "7")."""
    version = osr.get("VERSION_ID", "")
    found = _RELEASE_VERSION.search(redhat_release)
    if found and (not version or found.group(1).startswith(version.split(".")[0])):
        version = found.group(1)
    return version


def family_of(osr: dict[str, str]) -> str:
    os_id = osr.get("ID", "").lower()
    like = osr.get("ID_LIKE", "").lower().split()
    return FAMILIES.get(os_id) or next((FAMILIES[x] for x in like if x in FAMILIES), "")


def distribution_facts(raw: Raw, osr: dict[str, str]) -> dict[str, Any]:
    """distribution, its version, major version, release (codename) and the file read."""
    os_id = osr.get("ID", "").lower()
    redhat = raw.first("redhat_release")
    name = DISTRIBUTIONS.get(os_id) or _redhat_name(redhat) or os_id.capitalize() or "OtherLinux"
    version = osr.get("VERSION_ID", "") or precise_version(osr, redhat)
    if os_id == "centos":  # Ansible keeps major.minor of the precise version
        version = ".".join(precise_version(osr, redhat).split(".")[:2])
    debian = raw.first("debian_version")
    if os_id == "debian" and debian.startswith(version.split(".")[0] or "-"):
        version = debian
    release = (
        osr.get("VERSION_CODENAME")
        or osr.get("UBUNTU_CODENAME")
        or paren(osr.get("VERSION", ""))
        or paren(redhat)
        or "NA"
    )
    out: dict[str, Any] = {
        "distribution": name,
        "distribution_version": version or "NA",
        "distribution_major_version": version.split(".")[0] or "NA",
        "distribution_release": release,
    }
    family = family_of(osr) or _FAMILY_OF_NAME.get(name, "") or name
    out["os_family"] = family
    out.update(_dist_file(os_id, redhat, family))
    if "CentOS Stream" in redhat:
        out["distribution_release"] = "Stream"
    return out


_FAMILY_OF_NAME = {name: FAMILIES[os_id] for os_id, name in DISTRIBUTIONS.items()}


def _redhat_name(redhat_release: str) -> str:
    if not redhat_release:
        return ""
    return "RedHat" if "Red Hat" in redhat_release else redhat_release.split()[0]


def _dist_file(os_id: str, redhat_release: str, family: str) -> dict[str, Any]:
    if os_id == "ol":
        path, variety = "/etc/oracle-release", "OracleLinux"
    elif "CentOS Stream" in redhat_release:
        path, variety = "/etc/centos-release", "CentOS"
    elif redhat_release and family == "RedHat":
        path, variety = "/etc/redhat-release", "RedHat"
    elif family == "Debian":
        path, variety = "/etc/os-release", "Debian"
    else:
        return {}
    return {
        "distribution_file_path": path,
        "distribution_file_variety": variety,
        "distribution_file_parsed": True,
    }


def pkg_mgr_facts(raw: Raw, dist: dict[str, Any]) -> str:
    """Ansible's pkg_mgr: on the RedHat family dnf where it is installed, yum before EL8
    (and Fedora 23, Amazon 2022) wherever yum is."""
    first = raw.first("pkg_mgr")
    if dist["os_family"] == "Debian":
        return "apt"
    if dist["os_family"] != "RedHat":
        return PKG_MGRS.get(first, first) or "unknown"
    if raw.exists("/run/ostree-booted"):
        return "atomic_container"
    name = "unknown"
    for path in ("/usr/bin/dnf", "/usr/bin/microdnf"):
        if _there(raw, path):
            dnf5 = path == "/usr/bin/dnf" and raw.first("dnf_target") == "/usr/bin/dnf5"
            name = "dnf5" if dnf5 else "dnf"
            break
    major = to_int(dist["distribution_major_version"])
    if major is None:
        return name
    old = {"Fedora": 23, "Amazon": 2022}.get(dist["distribution"], 8)
    return "yum" if major < old and _there(raw, "/usr/bin/yum") else name


def _there(raw: Raw, path: str) -> bool:
    # Or the first package manager on PATH has its name (the first script's output).
    return raw.exists(path) or raw.first("pkg_mgr") == path.rsplit("/", 1)[-1]


def service_mgr(raw: Raw) -> str:
    """Ansible's service_mgr: PID 1's name, else what the files say."""
    proc_1 = raw.first("init") or raw.first("sbin_init").rsplit("/", 1)[-1]
    if proc_1 and proc_1 != "init" and not proc_1.endswith("sh"):
        return INIT_NAMES.get(proc_1, proc_1)
    if raw.exists("/run/systemd/system"):
        return "systemd"
    if raw.exists("/sbin/openrc"):
        return "openrc"
    if raw.first("sbin_init").endswith("systemd"):
        return "systemd"
    return "sysvinit" if raw.exists("/etc/init.d") else "service"


def platform_facts(raw: Raw) -> dict[str, Any]:
    """uname's answers, the bits of user space, and the host's names."""
    machine = raw.first("arch")
    uname = ("system", "kernel", "kernel_version")
    out: dict[str, Any] = {k: raw.first(k) for k in uname if raw.has(k)}
    if machine:
        out["machine"] = machine
        x86 = machine == "x86_64" or re.fullmatch(r"i[3-6]86|i86pc", machine)
        out["architecture"] = "i386" if x86 and machine != "x86_64" else machine
        bits = raw.first("long_bit")
        if bits in ("32", "64"):
            out["userspace_bits"] = bits
            if x86:
                out["userspace_architecture"] = "x86_64" if bits == "64" else "i386"
    nodename = raw.first("hostname")
    if nodename:
        fqdn = _fqdn(nodename, raw.all("etc_hosts"))
        out.update(nodename=nodename, hostname=nodename.split(".")[0], fqdn=fqdn)
        out["domain"] = ".".join(fqdn.split(".")[1:])
    return out


def _fqdn(nodename: str, hosts_lines: list[str]) -> str:
    """The name /etc/hosts gives the host: the first with a dot on the line naming it."""
    for line in hosts_lines:
        names = line.split("#", 1)[0].split()[1:]
        if nodename in names:
            return next((n for n in names if "." in n), names[0])
    return nodename
