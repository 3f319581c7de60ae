"""The registry, and rules every module's shell follows."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.modules import registry
from provisioner.modules.base import Module
from provisioner.shell import parse_queries, query
from tests.unit.modules.host import sh, syntax_ok

SAMPLES: dict[str, dict[str, Any]] = {
    "package": {"name": ["docker-ce", "containerd.io"], "state": "latest"},
    "yum_repository": {"name": "docker-ce-stable", "baseurl": "https://download.docker.com/x"},
    "get_url": {"url": "https://example.com/f", "dest": "/usr/local/bin/f", "force": True},
    "rpm_key": {"key": "https://download.docker.com/linux/centos/gpg"},
    "service": {"name": "docker", "state": "started", "enabled": True},
    "user": {"name": "student", "groups": ["docker"]},
    "group": {"name": "docker"},
    "file": {"path": "/etc/docker", "state": "directory", "owner": "root"},
    "copy": {"dest": "/etc/docker/daemon.json", "content": "{}\n", "group": "docker"},
    "lineinfile": {
        "path": "/etc/selinux/config",
        "regexp": "^SELINUX=",
        "line": "SELINUX=permissive",
    },
    "blockinfile": {
        "path": "/etc/ssh/sshd_config",
        "block": "Match User student\n  PasswordAuthentication no\n",
        "insertbefore": "^Match ",
    },
    "command": {"cmd": "docker info", "creates": "/x", "chdir": "/"},
    "shell": {"cmd": "docker info | head", "removes": "/x"},
    "sysctl": {"name": "vm.swappiness", "value": "10", "sysctl_set": True},
    "authorized_key": {
        "user": "student",
        "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB a",
    },
    "cron": {"name": "backup", "user": "student", "job": "/usr/local/bin/backup"},
    "timezone": {"name": "Europe/Paris", "hwclock": "UTC"},
    "hostname": {"name": "web01"},
    "getent": {"database": "group", "key": "docker"},
    "wait_for": {"port": 8080, "timeout": 1},
    "unarchive": {"src": "/tmp/app.tgz", "dest": "/opt", "remote_src": True, "mode": "0755"},
    "pip": {"name": ["flask", "requests"], "state": "latest"},
    "firewalld": {"service": "https", "state": "enabled", "permanent": True, "immediate": True},
    "service_facts": {},
    "package_facts": {},
    "reboot": {"reboot_timeout": 60, "test_command": "uptime"},
}


def test_every_module_is_registered() -> None:
    # A subset: other tests may register fakes of their own.
    assert {*SAMPLES, "template", "yum", "dnf", "systemd"} <= set(registry())
    assert all(registry()[n].__module__.startswith("provisioner.modules.") for n in SAMPLES)


def _probe(name: str) -> str:
    """The probe script of the sample task of a module that works on the host."""
    module = registry()[name].from_dict(SAMPLES[name])
    assert isinstance(module, Module)
    return module.probe()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_probe_is_a_contained_read_only_snippet(name: str) -> None:
    probe = _probe(name)
    assert syntax_ok(probe)
    # A subshell: no `exit`, `set` or function of one probe leaks into the batch.
    assert probe.startswith("(\n") and probe.endswith("\n)")
    assert "$PROVISION_SRC" not in probe


def test_probes_batch_without_interfering() -> None:
    """Concatenated like the runner does, each probe runs and the batch goes on."""
    probes = [_probe(n) for n in ("file", "command", "lineinfile", "cron", "authorized_key")]
    r = sh("\n".join([*probes, "echo END"]))
    assert r.rc == 0 and r.stdout.endswith("END\n")


def test_queries_round_trip() -> None:
    script = "\n".join([query("a", "printf 'x\\ny\\n'"), "echo k=v", query("b", "false")])
    qs = parse_queries(sh(script).stdout)
    assert qs["a"].lines == ("x", "y") and qs["a"].rc == 0
    assert qs["b"].lines == () and qs["b"].rc == 1
    assert qs[""].lines == ("k=v",)


def test_unfinished_query_has_no_rc() -> None:
    qs = parse_queries("@@ a\nline\n")
    assert qs["a"].lines == ("line",) and qs["a"].rc is None
