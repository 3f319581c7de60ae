"""Facts: what plays branch on, from one read-only POSIX sh probe per host.

No Python on the target: the script (`host_script`) reads os-release and the release
files, `uname`, /proc and /sys, `ip`, `id`, `env` and `date`. Variables exposed:
`ansible_facts` and `ansible_<name>` with Ansible's names and value shapes (as the
setup module reports them on EL7 and EL9), and `facts.<name>`: the same plus this
tool's own ten (`facts.distribution_version` is '7.9.2009' where Ansible says '7.9',
`facts.selinux` a word where Ansible has a mapping).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from provisioner.errors import ProbeError
from provisioner.probes.base import Probe
from provisioner.probes.host_hardware import (
    cpu_facts,
    memory_facts,
    mount_facts,
    uptime_load_facts,
    virtualization_facts,
)
from provisioner.probes.host_network import network_facts
from provisioner.probes.host_os import (
    DISTRIBUTIONS,
    PKG_MGRS,
    distribution_facts,
    family_of,
    os_release,
    pkg_mgr_facts,
    platform_facts,
    precise_version,
    service_mgr,
)
from provisioner.probes.host_raw import Raw
from provisioner.probes.host_script import MARK, SCRIPT
from provisioner.probes.host_system import (
    cmdline_facts,
    date_time,
    environment,
    machine_id,
    security_facts,
    selinux_state,
    user_facts,
)
from provisioner.secrets import masked

__all__ = ["DISTRIBUTIONS", "FACT_NAMES", "MARK", "SCRIPT", "Facts", "HostFacts", "parse"]

# Every name `ansible_facts` can hold: each is also the variable `ansible_<name>`.
ANSIBLE_NAMES = (
    "distribution", "distribution_version", "distribution_major_version",
    "distribution_release", "distribution_file_path", "distribution_file_variety",
    "distribution_file_parsed", "os_family", "pkg_mgr", "service_mgr",
    "system", "kernel", "kernel_version", "machine", "architecture",
    "userspace_bits", "userspace_architecture",
    "nodename", "hostname", "fqdn", "domain", "machine_id",
    "processor", "processor_count", "processor_cores", "processor_threads_per_core",
    "processor_vcpus", "processor_nproc",
    "memtotal_mb", "memfree_mb", "swaptotal_mb", "swapfree_mb", "memory_mb",
    "mounts", "virtualization_type", "virtualization_role", "uptime_seconds", "loadavg",
    "interfaces", "default_ipv4", "default_ipv6", "all_ipv4_addresses", "all_ipv6_addresses",
    "dns", "selinux", "apparmor", "fips",
    "user_id", "user_uid", "user_gid", "user_gecos", "user_dir", "user_shell",
    "real_user_id", "effective_user_id", "real_group_id", "effective_group_id",
    "env", "date_time", "cmdline", "proc_cmdline",
)  # fmt: skip
FACT_NAMES = frozenset({"facts", "ansible_facts"} | {f"ansible_{n}" for n in ANSIBLE_NAMES})


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
    ansible: dict[str, Any] = field(default_factory=dict, repr=False)  # Ansible's names

    def own(self) -> dict[str, str]:
        """This tool's ten facts."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "ansible"}

    def variables(self) -> dict[str, Any]:
        """`facts`, `ansible_facts` and each of Ansible's names as `ansible_<name>`."""
        out: dict[str, Any] = {
            "facts": {**self.ansible, **self.own()},
            "ansible_facts": dict(self.ansible),
        }
        out.update({f"ansible_{k}": v for k, v in self.ansible.items()})
        return out

    def shown(self) -> dict[str, Any]:
        """What `provision facts -o json` prints: secret-looking names' values masked
        (an `env` holding a token, say)."""
        return {**self.own(), "ansible_facts": masked(self.ansible, set())}


def parse(stdout: str) -> Facts | None:
    """The facts in the probe's output; None when the output is not the probe's."""
    _head, mark, body = stdout.partition(MARK)
    if not mark:
        return None
    raw = Raw(body)
    osr = os_release(raw)
    version = precise_version(osr, raw.first("redhat_release"))
    pkg = raw.first("pkg_mgr") or "unknown"
    return Facts(
        distribution=DISTRIBUTIONS.get(osr.get("ID", "").lower()) or osr.get("NAME") or "unknown",
        distribution_version=version or "unknown",
        major_version=version.split(".")[0] if version else "unknown",
        os_family=family_of(osr) or osr.get("NAME") or "unknown",
        architecture=raw.first("arch") or "unknown",
        pkg_mgr=PKG_MGRS.get(pkg, pkg),
        service_mgr=raw.first("init") or "unknown",
        selinux=selinux_state(raw),
        hostname=raw.first("hostname"),
        kernel=raw.first("kernel"),
        ansible=ansible_facts(raw, osr),
    )


def ansible_facts(raw: Raw, osr: dict[str, str]) -> dict[str, Any]:
    """The facts by Ansible's names; one a host cannot tell is left out."""
    dist = distribution_facts(raw, osr)
    out: dict[str, Any] = dist | {"pkg_mgr": pkg_mgr_facts(raw, dist)}
    out["service_mgr"] = service_mgr(raw)
    out |= platform_facts(raw)
    out |= cpu_facts(raw, out.get("architecture", ""))
    out |= memory_facts(raw) | mount_facts(raw) | virtualization_facts(raw)
    out |= uptime_load_facts(raw) | network_facts(raw) | security_facts(raw)
    env = environment(raw)
    out |= user_facts(raw, env or {}) | cmdline_facts(raw) | machine_id(raw)
    if env is not None:
        out["env"] = env
    when = date_time(raw)
    if when is not None:
        out["date_time"] = when
    return out


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
