"""The inventory as the rest of the program sees it: hosts, groups, selection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from provisioner.errors import Location
from provisioner.inventory.connection import resolve_connection
from provisioner.inventory.layers import Layer
from provisioner.inventory.patterns import match_hosts
from provisioner.inventory.spec import ConnectionSpec

__all__ = ["Group", "Host", "Inventory", "localhost_inventory"]


@dataclass
class Host:
    """One host. `vars` are merged (groups, then host) and keep every name as
    written, connection vars included; `connection` is what they resolve to.

    `groups` lists every group the host is in, ancestors included, in the
    order their vars were applied (`all` first). An implicit host (the local
    host of a `localhost` pattern without inventory) is in no group, so `all`
    does not select it. Without `connection`, the host is reached over SSH at
    its name ('localhost': locally).
    """

    name: str
    vars: dict[str, Any] = field(default_factory=dict, repr=False)  # may hold secrets
    groups: tuple[str, ...] = ("all",)
    connection: ConnectionSpec = field(default_factory=lambda: ConnectionSpec(address=""))
    loc: Location | None = None
    implicit: bool = False
    # The variable layers `vars` was merged from, lowest first: where each was written.
    layers: tuple[Layer, ...] = field(default=(), repr=False, compare=False)

    def var_loc(self, name: str) -> Location | None:
        """Where the value of variable `name` that the host has was written."""
        for layer in reversed(self.layers):
            if name in layer.values:
                return layer.loc(name, self.loc)
        return None

    def __post_init__(self) -> None:
        if not self.connection.address:
            # Built without a connection: reach the host by its name.
            kind = "local" if self.name == "localhost" else self.connection.connection
            self.connection = replace(self.connection, address=self.name, connection=kind)

    @property
    def group_names(self) -> list[str]:
        """Ansible's `group_names`: the groups, without `all` and `ungrouped`."""
        return sorted(g for g in self.groups if g not in ("all", "ungrouped"))


@dataclass
class Group:
    """A group as written: direct hosts and children only (not descendants)."""

    name: str
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict, repr=False)  # may hold secrets
    loc: Location | None = None


@dataclass
class Inventory:
    hosts: dict[str, Host] = field(default_factory=dict)  # file order
    groups: dict[str, Group] = field(default_factory=dict)
    source: Path | None = None

    def select(
        self,
        pattern: str | Sequence[str],
        *,
        implicit_localhost: bool = True,
        where: Location | None = None,
    ) -> list[Host]:
        """Hosts matching an Ansible host pattern, in inventory order.

        Matching nothing gives []; the caller decides whether to warn. With
        `implicit_localhost`, `localhost` selects a local host even when the
        inventory has none. `where` is put on pattern errors (bad regex).
        """
        explicit = [name for name, host in self.hosts.items() if not host.implicit]
        members = self.members()
        names = match_hosts(
            pattern, explicit, members, implicit_localhost=implicit_localhost, where=where
        )
        return [self._host_or_implicit(name) for name in names]

    def members(self) -> dict[str, list[str]]:
        """Ansible's `groups`: each group's hosts, its descendants' included, in
        inventory order."""
        members: dict[str, list[str]] = {name: [] for name in self.groups}
        for name, host in self.hosts.items():
            if host.implicit:
                continue
            for group in host.groups:
                members.setdefault(group, []).append(name)
        return members

    def _host_or_implicit(self, name: str) -> Host:
        host = self.hosts.get(name)
        if host is not None:
            return host
        # Ansible's implicit localhost: local connection, vars of `all` only.
        all_vars = dict(self.groups["all"].vars) if "all" in self.groups else {}
        layers = [Layer.plain(all_vars), Layer.plain({"connection": "local"})]
        base = self.source.parent.absolute() if self.source else None
        spec = resolve_connection(name, layers, base)
        return Host(
            name=name,
            vars={**all_vars, "connection": "local"},
            groups=(),
            connection=replace(spec, address=name, connection="local"),
            implicit=True,
        )


def localhost_inventory() -> Inventory:
    """The inventory when none is given: only the implicit local host.

    As in Ansible, `localhost` selects it and `all` does not, so a playbook
    meant for remote hosts never runs on the controller by accident.
    """
    inv = Inventory(
        groups={
            "all": Group("all", children=["ungrouped"]),
            "ungrouped": Group("ungrouped"),
        }
    )
    inv.hosts["localhost"] = inv._host_or_implicit("localhost")
    return inv
