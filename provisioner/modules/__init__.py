"""Module registry: the name a task uses → the Module class."""

from __future__ import annotations

from typing import Any

from provisioner.modules.base import Module

_REGISTRY: dict[str, type[Module[Any, Any]]] = {}
_loaded = False


def register(cls: type[Module[Any, Any]]) -> type[Module[Any, Any]]:
    for key in (cls.name, *cls.aliases):
        _REGISTRY[key] = cls
    return cls


def registry() -> dict[str, type[Module[Any, Any]]]:
    """All modules by name and alias (imports the built-in ones once)."""
    global _loaded
    if not _loaded:
        _loaded = True
        from provisioner.modules import builtin  # noqa: F401  (registers on import)
    return _REGISTRY
