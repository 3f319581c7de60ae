"""A host's connection variables → its `ConnectionSpec`.

Each setting of `CONNECTION_VARS` may be written under any of its names; the
layers are applied in precedence order, so the last layer that sets a setting
decides it. Errors name the host, the variable as written and where its value
is; a secret's value is never shown.

`ssh_common_args`/`ssh_extra_args` (`sshargs.py`) may set the port, the host
key policy, the known_hosts file and a jump chain or proxy command. An option
that disagrees with the variable for the same setting is an error naming both.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from provisioner.errors import InventoryError, Location, TemplateError
from provisioner.inventory.describe import kind, short
from provisioner.inventory.layers import Layer
from provisioner.inventory.spec import (
    CONNECTION_VARS,
    HOST_KEY_POLICIES,
    SECRET_FIELDS,
    ConnectionSpec,
    HostKeyPolicy,
)
from provisioner.inventory.sshargs import Option, SSHOptions, read_ssh_args
from provisioner.templating import Templar, as_data, is_template

__all__ = ["resolve_connection"]

log = logging.getLogger(__name__)

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
    """The connection settings chosen for one host, read with errors that name them.

    A setting written as a template (`become_password: "{{ vault_pw }}"`) is rendered
    with the host's inventory variables, as Ansible renders connection variables."""

    def __init__(
        self,
        host: str,
        chosen: dict[str, Setting],
        base: Path | None,
        scope: Templar | None = None,
    ) -> None:
        self.host = host
        self.chosen = chosen
        self.base = base
        self.scope = scope
        self._rendered: dict[str, Any] = {}

    def get(self, fld: str) -> Any:
        setting = self.chosen.get(fld)
        if setting is None:
            return None
        if fld not in self._rendered:
            self._rendered[fld] = self._render(setting)
        return self._rendered[fld]

    def _render(self, setting: Setting) -> Any:
        value = setting.value
        if self.scope is None or not isinstance(value, str) or not is_template(value):
            return value
        try:
            return self.scope.render(value)
        except TemplateError as exc:
            msg = f"host {self.host!r}: {setting.key}: {exc.message}"
            raise InventoryError(msg, setting.where) from None

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
    *,
    warned: set[str] | None = None,
    variables: Mapping[str, Any] | None = None,
    groups: Sequence[str] = (),
) -> ConnectionSpec:
    """The ConnectionSpec of host `name`; `base` is the inventory file's directory;
    templated settings are rendered with `variables` (the host's merged ones).

    An ignored ssh option is logged once per place it is written, not once per
    host: `warned` remembers the places across the hosts of one load.
    """
    scope = None
    if variables is not None:
        magic = {"inventory_hostname": name, "group_names": sorted(groups)}
        scope = Templar({**variables, **as_data(magic)})
    hv = HostVars(name, choose(layers, host_loc), base, scope)
    spec = _from_variables(hv)
    options = _ssh_options(hv)
    if options is None:
        return spec
    if spec.connection == "ssh":  # a local host ignores every ssh option anyway
        _warn_ignored(name, options.ignored, warned)
    return _with_ssh_options(spec, hv, options)


def _from_variables(hv: HostVars) -> ConnectionSpec:
    # Checked in this order, so the first problem reported stays the same.
    port = _port(hv)
    policy = _host_key_policy(hv)
    address = hv.text("address")
    connection = _connection_type(hv, address)
    return ConnectionSpec(
        address=address or hv.host,
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


# -- ssh_common_args / ssh_extra_args ----------------------------------------------


def _ssh_options(hv: HostVars) -> SSHOptions | None:
    values: list[tuple[str, str, Location | None]] = []
    for fld in ("ssh_common_args", "ssh_extra_args"):  # Ansible's order: common first
        setting = hv.chosen.get(fld)
        if setting is None or setting.value is None:
            continue
        if not isinstance(setting.value, str):
            raise hv.error(fld, "a string of ssh options (such as '-o ProxyJump=bastion')")
        values.append((setting.value, setting.key, setting.where))
    return read_ssh_args(hv.host, values) if values else None


def _with_ssh_options(spec: ConnectionSpec, hv: HostVars, options: SSHOptions) -> ConnectionSpec:
    policy = _ssh_policy(spec, hv, options)
    return replace(
        spec,
        port=_ssh_port(spec, hv, options),
        host_key_policy=policy,
        known_hosts=_ssh_known_hosts(spec, hv, options, policy),
        proxy_jump=None if options.proxy_jump is None else options.proxy_jump.value,
        proxy_command=None if options.proxy_command is None else options.proxy_command.value,
    )


def _ssh_port(spec: ConnectionSpec, hv: HostVars, options: SSHOptions) -> int:
    given = options.port
    if given is None:
        return spec.port
    if hv.get("port") is not None and spec.port != given.value:
        raise _disagree(hv, "port", given.option)
    return given.value


def _ssh_policy(spec: ConnectionSpec, hv: HostVars, options: SSHOptions) -> HostKeyPolicy | None:
    given = options.policy
    if given is None:
        return spec.host_key_policy
    if hv.get("host_key_checking") is not None:
        # `true` (None here) means "checking on", as in Ansible: yes or accept-new.
        ours = spec.host_key_policy
        if ours != given.value and not (ours is None and given.value != "off"):
            raise _disagree(hv, "host_key_checking", given.option)
    return given.value


def _ssh_known_hosts(
    spec: ConnectionSpec, hv: HostVars, options: SSHOptions, policy: HostKeyPolicy | None
) -> str | None:
    given = options.known_hosts
    if given is None:
        return spec.known_hosts
    path = None if given.value is None else hv.resolve_path(given.value)
    if spec.known_hosts is not None and spec.known_hosts != path:
        raise _disagree(hv, "known_hosts", given.option)
    if path is None and policy != "off":
        # /dev/null: no key is remembered, so none could ever be checked.
        raise given.option.error(
            hv.host,
            "keeps no host keys, so no host key could be checked; add "
            "-o StrictHostKeyChecking=no (or host_key_checking: false) to turn checking off",
        )
    return path


def _disagree(hv: HostVars, fld: str, option: Option) -> InventoryError:
    setting = hv.chosen[fld]
    return option.error(
        hv.host,
        f"disagrees with {setting.key} {short(setting.value)!r} (at {setting.where}); keep one",
    )


def _warn_ignored(host: str, ignored: Sequence[Option], warned: set[str] | None) -> None:
    for option in ignored:
        key = f"{option.where}\0{option.var}\0{option.text}"
        if warned is not None:
            if key in warned:
                continue
            warned.add(key)
        log.warning(
            "%s: %s option %r ignored: it tunes OpenSSH's own connection sharing or "
            "keepalives, and provision keeps one connection per host for the whole run",
            option.where or f"host {host!r}",
            option.var,
            option.text,
        )
