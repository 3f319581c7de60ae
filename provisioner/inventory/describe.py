"""What error messages say about a value, and where they say it was written."""

from __future__ import annotations

from typing import Any

from provisioner.errors import Location
from provisioner.yamlmarks import MarkedDict, loc_of

__all__ = ["key_loc", "kind", "short", "value_loc"]


def kind(value: object) -> str:
    """'a string', 'a number', ...: the YAML type a user wrote."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def short(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def key_loc(mapping: object, key: Any, fallback: Location) -> Location:
    if isinstance(mapping, MarkedDict):
        return mapping.key_loc(key)
    return loc_of(key, fallback)


def value_loc(mapping: object, key: Any, fallback: Location) -> Location:
    if isinstance(mapping, MarkedDict):
        return mapping.value_loc(key)
    return fallback
