"""Module registry: the name a task uses → the module class.

A built-in module's file is imported when a playbook first names it, so a
command pays only for the modules it uses. Adding a module is one line below
(its file and the names it answers to) and the file itself, whose classes
register on import.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from provisioner.modules.base import AnyModule

# file in provisioner/modules → the names its modules answer to (name, then aliases)
BUILTIN: dict[str, tuple[str, ...]] = {
    "assertion": ("assert",),
    "authorized_key": ("authorized_key", "ansible.posix.authorized_key"),
    "blockinfile": ("blockinfile", "ansible.builtin.blockinfile"),
    "command": ("command", "shell"),
    "copy": ("copy",),
    "cron": ("cron", "ansible.builtin.cron"),
    "debug": ("debug",),
    "fail": ("fail",),
    "include_vars": ("include_vars",),
    "ini_file": ("ini_file", "community.general.ini_file"),
    "meta": ("meta",),
    "set_fact": ("set_fact",),
    "file": ("file",),
    "firewalld": ("firewalld", "ansible.posix.firewalld"),
    "get_url": ("get_url",),
    "getent": ("getent", "ansible.builtin.getent"),
    "group": ("group",),
    "hostname": ("hostname", "ansible.builtin.hostname"),
    "lineinfile": ("lineinfile",),
    "package": ("package", "yum", "dnf"),
    "package_facts": ("package_facts", "ansible.builtin.package_facts"),
    "pip": ("pip", "ansible.builtin.pip"),
    "reboot": ("reboot", "ansible.builtin.reboot"),
    "repo": ("yum_repository",),
    "replace": ("replace",),
    "rpm_key": ("rpm_key",),
    "service": ("service", "systemd", "systemd_service", "ansible.builtin.systemd_service"),
    "service_facts": ("service_facts", "ansible.builtin.service_facts"),
    "stat": ("stat",),
    "sysctl": ("sysctl", "ansible.posix.sysctl"),
    "template": ("template",),
    "timezone": ("timezone", "community.general.timezone"),
    "unarchive": ("unarchive", "ansible.builtin.unarchive"),
    "user": ("user",),
    "wait_for": ("wait_for", "ansible.builtin.wait_for"),
}
_FILE_OF = {name: file for file, names in BUILTIN.items() for name in names}
_REGISTRY: dict[str, type[AnyModule]] = {}


def register(cls: type[Any]) -> type[Any]:
    """Class decorator: the module answers to its `name` and `aliases`."""
    for key in (cls.name, *cls.aliases):
        _REGISTRY[key] = cls
    return cls


def names() -> list[str]:
    """Every module name and alias, without importing a module."""
    return sorted({*_FILE_OF, *_REGISTRY})


# Ansible's own namespaces: `ansible.builtin.copy` is `copy`.
PREFIXES = ("ansible.builtin.", "ansible.legacy.")


def canonical(name: str) -> str:
    """The registry's name for a task's module name (Ansible's prefixes removed)."""
    for prefix in PREFIXES:
        if name.startswith(prefix) and name not in _FILE_OF:
            return name[len(prefix) :]
    return name


def lookup(name: str) -> type[AnyModule] | None:
    """The class for a task's module name (imports its file the first time)."""
    name = canonical(name)
    if name not in _REGISTRY and name in _FILE_OF:
        import_module(f"provisioner.modules.{_FILE_OF[name]}")
    return _REGISTRY.get(name)


def registry() -> dict[str, type[AnyModule]]:
    """All modules by name and alias (imports every built-in one)."""
    for file in BUILTIN:
        import_module(f"provisioner.modules.{file}")
    return dict(_REGISTRY)
