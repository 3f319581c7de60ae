"""From the tree as written to the `Inventory`: membership and precedence.

Variable precedence, lowest first: `all`, then the other groups by depth
(deeper wins), then `ansible_group_priority` (higher wins), then name
(alphabetical: later wins), then the host's own vars. This is Ansible's order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provisioner.errors import InventoryError, Location
from provisioner.inventory.connection import choose, resolve_connection
from provisioner.inventory.describe import kind
from provisioner.inventory.hostnames import check_address
from provisioner.inventory.layers import Layer, merge
from provisioner.inventory.model import Group, Host, Inventory
from provisioner.inventory.tree import GroupData, HostData, Tree
from provisioner.limits import MAX_HOST_VARIABLES

__all__ = ["build_inventory"]


def build_inventory(tree: Tree) -> Inventory:
    _adopt_orphans(tree)
    _check_cycles(tree)
    _reconcile_ungrouped(tree)
    precedence = _Precedence(tree)
    base = tree.source.parent.absolute()
    inv = Inventory(source=tree.source)
    for name, gd in tree.groups.items():
        inv.groups[name] = Group(
            name=name,
            hosts=list(gd.hosts),
            children=list(gd.children),
            vars=merge(gd.layers),
            loc=gd.loc,
        )
    warned: set[str] = set()  # an ignored ssh option is logged once per place written
    given = 0  # variables the hosts get, counted before any is copied
    for name, h in tree.hosts.items():
        order = precedence.order(h.groups)
        layers = [layer for g in order for layer in tree.groups[g].layers] + h.layers
        given += sum(len(layer.values) for layer in layers)
        if given > MAX_HOST_VARIABLES:
            raise InventoryError(
                f"the hosts get more than {MAX_HOST_VARIABLES} variables in all (the limit; "
                "each host gets a copy of its groups' variables)",
                h.loc,
            )
        inv.hosts[name] = _host(name, h, order, layers, base, warned)
    return inv


def _host(
    name: str,
    h: HostData,
    order: list[str],
    layers: list[Layer],
    base: Path,
    warned: set[str],
) -> Host:
    variables = merge(layers)
    groups = [g for g in order if g not in ("all", "ungrouped")]
    connection = resolve_connection(
        name, layers, base, h.loc, warned=warned, variables=variables, groups=groups
    )
    if connection.connection == "ssh":  # the address as rendered, when it was a template
        setting = choose(layers, h.loc).get("address")
        if setting is None:
            check_address(name, name, None, h.loc)
        else:
            check_address(name, connection.address, setting.key, setting.where)
    return Host(
        name=name,
        vars=variables,
        groups=tuple(order),
        connection=connection,
        loc=h.loc,
        layers=tuple(layers),
    )


def _adopt_orphans(tree: Tree) -> None:
    # As Ansible: a group nobody claims as a child belongs under `all`.
    for name, group in tree.groups.items():
        if name != "all" and not group.parents:
            tree.link("all", name, group.loc or tree.file)


def _reconcile_ungrouped(tree: Tree) -> None:
    # Ansible's reconcile: a host in no group but `all` is in `ungrouped`,
    # and one listed under `ungrouped` and elsewhere is not.
    ungrouped = tree.groups["ungrouped"]
    for name, host in tree.hosts.items():
        others = [g for g in host.groups if g not in ("all", "ungrouped")]
        if others and "ungrouped" in host.groups:
            host.groups.remove("ungrouped")
            ungrouped.hosts.remove(name)
        elif not others and "ungrouped" not in host.groups:
            host.groups.append("ungrouped")
            ungrouped.hosts.append(name)


def _check_cycles(tree: Tree) -> None:
    # Nesting cycles are caught while reading; this catches cycles made
    # across separate definitions (a: {children: {b:}} and b: {children: {a:}}).
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in done:
            return
        for child in tree.groups[name].children:
            if child in path:
                chain = " → ".join((*path[path.index(child) :], child))
                raise InventoryError(
                    f"group {child!r} is its own ancestor: {chain}",
                    tree.groups[name].child_locs.get(child, tree.file),
                )
            visit(child, [*path, child])
        done.add(name)

    for name in tree.groups:
        visit(name, [name])


class _Precedence:
    """The order in which a host's groups apply their vars."""

    def __init__(self, tree: Tree) -> None:
        self.groups = tree.groups
        self.depth: dict[str, int] = {}
        self.ancestors: dict[str, set[str]] = {}
        self.priority = {name: _priority(g, tree.file) for name, g in tree.groups.items()}

    def order(self, direct: list[str]) -> list[str]:
        """Every group a host in `direct` is in, lowest precedence first."""
        member_of: set[str] = {"all"}
        for g in direct:
            member_of |= self.ancestors_of(g)
        return sorted(member_of, key=lambda g: (self.depth_of(g), self.priority[g], g))

    def depth_of(self, name: str) -> int:
        # Longest path from `all`: a group reachable at several depths
        # counts as the deepest (Ansible does the same).
        if name not in self.depth:
            parents = self.groups[name].parents
            self.depth[name] = 1 + max((self.depth_of(p) for p in parents), default=-1)
        return self.depth[name]

    def ancestors_of(self, name: str) -> set[str]:
        if name not in self.ancestors:
            found = {name}
            for parent in self.groups[name].parents:
                found |= self.ancestors_of(parent)
            self.ancestors[name] = found
        return self.ancestors[name]


def _priority(group: GroupData, file: Location) -> int:
    value: Any = 1
    where: Location | None = group.loc
    for layer in group.layers:
        if "ansible_group_priority" in layer.values:
            value = layer.values["ansible_group_priority"]
            where = layer.loc("ansible_group_priority", where)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdecimal():
        value = int(value)  # INI [group:vars] values are strings
    if isinstance(value, bool) or not isinstance(value, int):
        raise InventoryError(
            f"ansible_group_priority of group {group.name!r} must be an integer, not {kind(value)}",
            where or file,
        )
    return value
