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
    "command": ("command", "shell"),
    "copy": ("copy",),
    "debug": ("debug",),
    "file": ("file",),
    "firewalld": ("firewalld", "ansible.posix.firewalld"),
    "get_url": ("get_url",),
    "group": ("group",),
    "lineinfile": ("lineinfile",),
    "package": ("package", "yum", "dnf"),
    "package_facts": ("package_facts", "ansible.builtin.package_facts"),
    "pip": ("pip", "ansible.builtin.pip"),
    "repo": ("yum_repository",),
    "rpm_key": ("rpm_key",),
    "service": ("service", "systemd"),
    "service_facts": ("service_facts", "ansible.builtin.service_facts"),
    "stat": ("stat",),
    "template": ("template",),
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


def lookup(name: str) -> type[AnyModule] | None:
    """The class for a task's module name (imports its file the first time)."""
    if name not in _REGISTRY and name in _FILE_OF:
        import_module(f"provisioner.modules.{_FILE_OF[name]}")
    return _REGISTRY.get(name)


def registry() -> dict[str, type[AnyModule]]:
    """All modules by name and alias (imports every built-in one)."""
    for file in BUILTIN:
        import_module(f"provisioner.modules.{file}")
    return dict(_REGISTRY)
