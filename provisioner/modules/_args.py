"""Argument helpers shared by modules: Ansible's argument aliases, and scalars YAML
types on its own (`minute: 0`, `value: 1`) taken as the text Ansible would see."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import BeforeValidator


def resolve_aliases(raw: object, aliases: Mapping[str, str]) -> object:
    """A model's before-validator: `{"key": x}` → `{"name": x}` for alias → name.
    Both at once is an error, as it is ambiguous which one the task meant."""
    if not isinstance(raw, Mapping):
        return raw
    out = dict(raw)
    for alias, name in aliases.items():
        if alias in out:
            if name in out:
                raise ValueError(f"'{alias}' is an alias of '{name}': give only one of them")
            out[name] = out.pop(alias)
    return out


def _scalar_text(value: object) -> object:
    """An int or float is its decimal text (YAML reads `0` and `1.5` as numbers).
    A bool stays a bool, for the field's own validator to refuse or read."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


Text = Annotated[str, BeforeValidator(_scalar_text)]
"""A string field that also takes a number written without quotes."""
