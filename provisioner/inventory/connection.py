"""A host's connection variables → its `ConnectionSpec`.

Each setting of `CONNECTION_VARS` may be written under any of its names; the
layers are applied in precedence order, so the last layer that sets a setting
decides it. Errors name the host, the variable as written and where its value
is; a secret's value is never shown.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from provisioner.errors import InventoryError, Location
from provisioner.inventory.describe import kind, short
from provisioner.inventory.layers import Layer
from provisioner.inventory.spec import (
    CONNECTION_VARS,
    HOST_KEY_POLICIES,
    SECRET_FIELDS,
    ConnectionSpec,
    HostKeyPolicy,
)

__all__ = ["resolve_connection"]

_CONNECTION_TYPES: dict[str, Literal["ssh", "local"]] = {
    "ssh": "ssh",
    "local": "local",
    # Ansible's other names for an SSH connection.
    "paramiko": "ssh",
    "paramiko_ssh": "ssh",
    "smart": "ssh",
}
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
# Secrets must be strings: YAML reads `password: 0123` as the number 83.
_QUOTE_HINT = " (quote it in YAML)"


@dataclass(frozen=True)
class Setting:
    """The value chosen for one setting, the variable name it was written as, and where."""

    value: Any
    key: str
    where: Location | None


class HostVars:
    """The connection settings chosen for one host, read with errors that name them."""

    def __init__(self, host: str, chosen: dict[str, Setting], base: Path | None) -> None:
        self.host = host
        self.chosen = chosen
        self.base = base

    def get(self, fld: str) -> Any:
        setting = self.chosen.get(fld)
        return None if setting is None else setting.value

    def error(self, fld: str, expected: str) -> InventoryError:
        setting = self.chosen[fld]
        shown = "" if fld in SECRET_FIELDS else f" {short(setting.value)!r}"
        return InventoryError(
            f"host {self.host!r}: {setting.key} must be {expected}, not {kind(setting.value)}"
            f"{shown}",
            setting.where,
        )

    def text(self, fld: str, hint: str = "") -> str | None:
        value = self.get(fld)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise self.error(fld, "a non-empty string" + hint)
        return str(value)

    def path(self, fld: str) -> str | None:
        value = self.text(fld)
        return None if value is None else self.resolve_path(value)

    def resolve_path(self, value: str) -> str:
        """`~` expanded; a relative path is relative to the inventory file's directory."""
        expanded = Path(os.path.expanduser(value))
        if not expanded.is_absolute() and self.base is not None:
            expanded = self.base / expanded
        return str(expanded)


def resolve_connection(
    name: str,
    layers: Sequence[Layer],
    base: Path | None,
    host_loc: Location | None = None,
) -> ConnectionSpec:
    """The ConnectionSpec of host `name`; `base` is the inventory file's directory."""
    hv = HostVars(name, choose(layers, host_loc), base)
    # Checked in this order, so the first problem reported stays the same.
    port = _port(hv)
    policy = _host_key_policy(hv)
    address = hv.text("address")
    connection = _connection_type(hv, address)
    return ConnectionSpec(
        address=address or name,
        port=port,
        user=hv.text("user"),
        ssh_key=hv.path("ssh_key"),
        password=hv.text("password", _QUOTE_HINT),
        become_password=hv.text("become_password", _QUOTE_HINT),
        known_hosts=hv.path("known_hosts"),
        host_key_policy=policy,
        connection=connection,
    )


def choose(layers: Sequence[Layer], host_loc: Location | None) -> dict[str, Setting]:
    """The last layer's value of each setting; one layer may not set it twice."""
    chosen: dict[str, Setting] = {}
    for layer in layers:
        for fld, names in CONNECTION_VARS.items():
            present = [n for n in names if n in layer.values]
            if len(present) > 1:
                raise InventoryError(
                    f"{layer.owner or 'vars'} sets both {present[0]!r} and {present[1]!r}; "
                    "keep one",
                    layer.loc(present[1], host_loc),
                )
            if present:
                key = present[0]
                chosen[fld] = Setting(layer.values[key], key, layer.loc(key, host_loc))
    return chosen


def _port(hv: HostVars) -> int:
    value = hv.get("port")
    if value is None:
        return 22
    text = value.strip() if isinstance(value, str) else ""
    if text.isascii() and text.isdecimal():  # "22" from a quoted value or INI
        port = int(text)
    elif isinstance(value, int) and not isinstance(value, bool):
        port = value
    else:
        raise hv.error("port", "an integer 1..65535")
    if not 1 <= port <= 65535:
        raise hv.error("port", "an integer 1..65535")
    return port


def _host_key_policy(hv: HostVars) -> HostKeyPolicy | None:
    """Ansible's boolean, or one of the transport's policies by name."""
    value = hv.get("host_key_checking")
    text = value.strip().lower() if isinstance(value, str) else None
    if value is None or value is True or text in _TRUE:
        return None
    if value is False or text in _FALSE:
        return "off"
    for policy in HOST_KEY_POLICIES:
        if text == policy:
            return policy
    raise hv.error("host_key_checking", "true, false, 'strict', 'accept-new' or 'off'")


def _connection_type(hv: HostVars, address: str | None) -> Literal["ssh", "local"]:
    value = hv.get("connection")
    if value is None:
        # `localhost` without an address is the controller itself, as in Ansible.
        return "local" if hv.host == "localhost" and address is None else "ssh"
    if isinstance(value, str) and value in _CONNECTION_TYPES:
        return _CONNECTION_TYPES[value]
    raise hv.error("connection", "'ssh' or 'local'")
