"""Facts: what plays branch on, from one read-only POSIX sh probe per host.

No Python on the target: the probe reads /etc/os-release (and /etc/redhat-release,
whose "7.9.2009" is more precise than os-release's "7"), `uname`, which package
manager and init system are there, and SELinux's state. Variables exposed:
`facts.<name>` and, so Ansible playbooks keep working, `ansible_<name>` for the
names Ansible uses (`ansible_distribution`, `ansible_distribution_major_version`,
`ansible_os_family`, `ansible_pkg_mgr`, …) plus `ansible_facts`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import asdict, dataclass
from typing import Any

from provisioner.errors import ProbeError
from provisioner.probes.base import Probe

MARK = "@@facts@@"

# Read-only; every line is `key=value` after the mark, values single-line.
SCRIPT = f"""LC_ALL=C; export LC_ALL
echo '{MARK}'
for f in /etc/os-release /usr/lib/os-release; do
  if [ -r "$f" ]; then sed -n 's/^\\([A-Z_]*\\)=/os_\\1=/p' "$f"; break; fi
done
if [ -r /etc/redhat-release ]; then
  printf 'redhat_release=%s\\n' "$(head -n 1 /etc/redhat-release)"
fi
printf 'arch=%s\\n' "$(uname -m)"
printf 'kernel=%s\\n' "$(uname -r)"
printf 'hostname=%s\\n' "$(uname -n)"
for pm in dnf yum apt-get zypper apk; do
  if command -v "$pm" >/dev/null 2>&1; then printf 'pkg_mgr=%s\\n' "$pm"; break; fi
done
printf 'init=%s\\n' "$(cat /proc/1/comm 2>/dev/null)"
if [ -r /sys/fs/selinux/enforce ]; then
  printf 'selinux_enforce=%s\\n' "$(cat /sys/fs/selinux/enforce)"
fi
if [ -r /etc/selinux/config ]; then
  sed -n 's/^SELINUX=\\(.*\\)/selinux_config=\\1/p' /etc/selinux/config
fi
"""

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
_RELEASE_VERSION = re.compile(r"release\s+(\d+(?:\.\d+)*)")


@dataclass(frozen=True)
class Facts:
    distribution: str
    distribution_version: str
    major_version: str
    os_family: str
    architecture: str
    pkg_mgr: str
    service_mgr: str
    selinux: str  # enforcing | permissive | disabled (not running) | absent (no SELinux)
    hostname: str
    kernel: str

    def variables(self) -> dict[str, Any]:
        """`facts` plus Ansible's names for the same values."""
        mine = asdict(self)
        ansible = {
            "distribution": self.distribution,
            "distribution_version": self.distribution_version,
            "distribution_major_version": self.major_version,
            "os_family": self.os_family,
            "architecture": self.architecture,
            "pkg_mgr": self.pkg_mgr,
            "service_mgr": self.service_mgr,
            "hostname": self.hostname,
            "kernel": self.kernel,
            "selinux": _ansible_selinux(self.selinux),
        }
        out: dict[str, Any] = {"facts": mine, "ansible_facts": ansible}
        out.update({f"ansible_{k}": v for k, v in ansible.items()})
        return out


def _ansible_selinux(state: str) -> dict[str, str]:
    if state in ("enforcing", "permissive"):
        return {"status": "enabled", "mode": state}
    return {"status": "disabled"}  # also where SELinux is absent altogether


def _unquote(value: str) -> str:
    value = value.strip()
    if value[:1] in ("'", '"'):
        try:
            parts = shlex.split(value)
        except ValueError:
            return value.strip("'\"")
        return parts[0] if parts else ""
    return value


def parse(stdout: str) -> Facts | None:
    """The facts in the probe's output; None when the output is not the probe's."""
    head, mark, body = stdout.partition(MARK)
    if not mark:
        return None
    raw: dict[str, str] = {}
    for line in body.splitlines():
        key, eq, value = line.partition("=")
        if eq and key and key not in raw:
            raw[key] = _unquote(value) if key.startswith("os_") else value.strip()
    os_id = raw.get("os_ID", "").lower()
    version = raw.get("os_VERSION_ID", "")
    found = _RELEASE_VERSION.search(raw.get("redhat_release", ""))
    if found and (not version or found.group(1).startswith(version.split(".")[0])):
        version = found.group(1)  # "7.9.2009" where os-release says "7"
    like = raw.get("os_ID_LIKE", "").split()
    family = FAMILIES.get(os_id) or next((FAMILIES[x] for x in like if x in FAMILIES), "")
    pkg = raw.get("pkg_mgr", "unknown")
    return Facts(
        distribution=DISTRIBUTIONS.get(os_id) or raw.get("os_NAME", "") or "unknown",
        distribution_version=version or "unknown",
        major_version=version.split(".")[0] if version else "unknown",
        os_family=family or raw.get("os_NAME", "") or "unknown",
        architecture=raw.get("arch", "unknown"),
        pkg_mgr=PKG_MGRS.get(pkg, pkg),
        service_mgr=raw.get("init") or "unknown",
        selinux=_selinux(raw),
        hostname=raw.get("hostname", ""),
        kernel=raw.get("kernel", ""),
    )


def _selinux(raw: dict[str, str]) -> str:
    enforce = raw.get("selinux_enforce")
    if enforce == "1":
        return "enforcing"
    if enforce == "0":
        return "permissive"
    if "selinux_config" in raw:
        return "disabled"
    return "absent"


FACT_NAMES = frozenset(
    {"facts", "ansible_facts"}
    | {
        f"ansible_{n}"
        for n in (
            "distribution",
            "distribution_version",
            "distribution_major_version",
            "os_family",
            "architecture",
            "pkg_mgr",
            "service_mgr",
            "hostname",
            "kernel",
            "selinux",
        )
    }
)


@dataclass(frozen=True)
class HostFacts(Probe[Facts]):
    """The facts probe; the runner runs it on its own, once per host and run."""

    def command(self) -> str:
        return SCRIPT

    def parse(self, stdout: str, exit_code: int) -> Facts:
        found = parse(stdout) if exit_code == 0 else None
        if found is None:
            detail = stdout.strip()[-500:] or "no output"
            raise ProbeError(f"could not gather facts (exit {exit_code}): {detail}")
        return found
