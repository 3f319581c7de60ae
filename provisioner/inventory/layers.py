"""Variables as layers: one source each (a group's vars, a vars file, a host),
applied in precedence order, each value remembering where it was written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner.errors import InventoryError, Location
from provisioner.inventory.describe import key_loc, kind, value_loc

__all__ = ["Layer", "merge", "read_layer"]


@dataclass
class Layer:
    """One source of variables (a group's inline vars, a vars file, a host)."""

    values: dict[str, Any] = field(default_factory=dict)
    locs: dict[str, Location] = field(default_factory=dict)
    owner: str = ""

    @classmethod
    def plain(cls, values: Mapping[str, Any]) -> Layer:
        return cls(dict(values))

    def loc(self, key: str, fallback: Location | None) -> Location | None:
        return self.locs.get(key, fallback)


def read_layer(value: Any, where: Location, owner: str, layer: Layer | None = None) -> Layer:
    """Check a vars mapping and add it to `layer` (a new one for `owner` by default)."""
    layer = layer if layer is not None else Layer(owner=owner)
    if value is None:
        return layer
    if not isinstance(value, dict):
        raise InventoryError(f"vars of {owner} must be a mapping, not {kind(value)}", where)
    for key, val in value.items():
        key_where = key_loc(value, key, where)
        if not isinstance(key, str):
            raise InventoryError(
                f"variable names must be strings, not {kind(key)} ({owner})", key_where
            )
        layer.values[str(key)] = val
        layer.locs[str(key)] = value_loc(value, key, key_where)
    return layer


def merge(layers: Sequence[Layer]) -> dict[str, Any]:
    # Ansible's default `hash_behaviour=replace`: a later layer replaces a
    # whole top-level value, it does not deep-merge dicts.
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer.values)
    return merged
