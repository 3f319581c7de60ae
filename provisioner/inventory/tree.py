"""Reading the group/host tree of an inventory mapping (from YAML or INI).

The result is a `Tree`: every group with its direct hosts, children, parents
and variable layers, every host with its groups and layers, all with the
places they were written. Precedence is applied later (`build.py`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.errors import InventoryError, Location
from provisioner.inventory.describe import key_loc, kind, value_loc
from provisioner.inventory.hostnames import check_host_name
from provisioner.inventory.layers import Layer, read_layer
from provisioner.inventory.ranges import expand_range
from provisioner.limits import MAX_INVENTORY_HOSTS
from provisioner.yamlmarks import loc_of

__all__ = ["GROUP_KEYS", "GroupData", "HostData", "Tree", "read_tree"]

GROUP_KEYS = ("hosts", "children", "vars")


@dataclass
class GroupData:
    name: str
    loc: Location | None  # None: implicit (`all`, `ungrouped`) and not written
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    child_locs: dict[str, Location] = field(default_factory=dict)
    layers: list[Layer] = field(default_factory=list)


@dataclass
class HostData:
    name: str
    loc: Location
    groups: list[str] = field(default_factory=list)
    layers: list[Layer] = field(default_factory=list)


@dataclass
class Tree:
    source: Path
    groups: dict[str, GroupData] = field(default_factory=dict)
    hosts: dict[str, HostData] = field(default_factory=dict)

    @property
    def file(self) -> Location:
        return Location(str(self.source))

    def link(self, parent: str, child: str, where: Location) -> None:
        parent_data = self.groups[parent]
        if child not in parent_data.children:
            parent_data.children.append(child)
            parent_data.child_locs[child] = where
            self.groups[child].parents.append(parent)


def read_tree(data: Any, source: Path) -> Tree:
    """The tree of an inventory mapping; `all` and `ungrouped` always exist."""
    reader = _Reader(Tree(source))
    reader.group("all", None, None, parent=None, stack=())
    if data is not None:
        reader.top_level(data)
    reader.group("ungrouped", None, None, parent=None, stack=())
    return reader.tree


def _name(raw: Any, what: str, where: Location) -> str:
    # YAML makes `10:` or `1.5:` numbers; names are text.
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or not raw.strip():
        raise InventoryError(f"{what} name must be a non-empty string, not {kind(raw)}", where)
    return str(raw)


def _unknown_key(key: Any, group: str) -> str:
    msg = f"unknown key {str(key)!r} in group {group!r}"
    close = difflib.get_close_matches(str(key), GROUP_KEYS, n=1, cutoff=0.6)
    if close:
        return f"{msg}; did you mean {close[0]!r}?"
    return f"{msg}; a group has only hosts, children and vars (hosts go under 'hosts:')"


class _Reader:
    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.groups = tree.groups
        self.hosts = tree.hosts
        self.file = tree.file

    def top_level(self, data: Any) -> None:
        if not isinstance(data, dict):
            raise InventoryError(
                f"an inventory is a mapping of groups (starting with `all:`), not {kind(data)}",
                loc_of(data, self.file),
            )
        for raw_name, body in data.items():
            where = key_loc(data, raw_name, self.file)
            name = _name(raw_name, "group", where)
            if name in GROUP_KEYS:
                raise InventoryError(
                    f"top-level {name!r} must be inside a group, e.g. under `all:`", where
                )
            # Not yet a child of `all`: it may have other parents (see build.py).
            self.group(name, body, where, parent=None, stack=())

    # -- groups ---------------------------------------------------------------

    def group(
        self,
        name: str,
        body: Any,
        where: Location | None,
        *,
        parent: str | None,
        stack: tuple[str, ...],
    ) -> None:
        """Read one group definition; `where` is None for implicit groups."""
        at = where or self.file
        self._check_group_name(name, at, parent, stack)
        group = self.groups.get(name)
        if group is None:
            group = self.groups[name] = GroupData(name, where)
        elif group.loc is None:
            group.loc = where
        if parent is not None:
            if name == "all":
                raise InventoryError("'all' contains every group; it cannot be a child", at)
            self.tree.link(parent, name, at)
        if body is None:
            return
        if not isinstance(body, dict):
            raise InventoryError(
                f"group {name!r} must be a mapping with hosts/children/vars, not {kind(body)}",
                loc_of(body, at),
            )
        self._group_body(group, body, at, stack)

    def _check_group_name(
        self, name: str, at: Location, parent: str | None, stack: tuple[str, ...]
    ) -> None:
        if name in GROUP_KEYS and parent is not None:
            raise InventoryError(
                f"group named {name!r} under {parent!r}: is {name + ':'!r} indented too far?", at
            )
        if name in stack:
            chain = " → ".join((*stack[stack.index(name) :], name))
            raise InventoryError(f"group {name!r} is its own ancestor: {chain}", at)
        if name in self.hosts:
            raise InventoryError(
                f"{name!r} is used both as a host (at {self.hosts[name].loc}) and as a group",
                at,
            )

    def _group_body(
        self, group: GroupData, body: dict[Any, Any], at: Location, stack: tuple[str, ...]
    ) -> None:
        name = group.name
        for key, value in body.items():
            key_where = key_loc(body, key, at)
            value_where = value_loc(body, key, key_where)
            if key == "vars":
                self._group_vars(group, value, value_where)
            elif key == "hosts":
                for host, entry, host_where in self._entries(value, value_where, "hosts", name):
                    self._host(host, entry, host_where, name)
            elif key == "children":
                for child, child_body, child_where in self._entries(
                    value, value_where, "children", name
                ):
                    self.group(
                        _name(child, "group", child_where),
                        child_body,
                        child_where,
                        parent=name,
                        stack=(*stack, name),
                    )
            else:
                raise InventoryError(_unknown_key(key, name), key_where)

    def _group_vars(self, group: GroupData, value: Any, where: Location) -> None:
        # A group's repeated definitions share one layer.
        owner = f"group {group.name!r}"
        layers = group.layers
        layer = layers.pop() if layers and layers[-1].owner == owner else None
        layers.append(read_layer(value, where, owner, layer))

    def _entries(
        self, value: Any, where: Location, section: str, group: str
    ) -> Iterator[tuple[Any, Any, Location]]:
        """(name, body, location) of each entry of a group's hosts/children."""
        if value is None:
            return
        if isinstance(value, str):  # Ansible accepts a single name
            yield value, None, loc_of(value, where)
            return
        if not isinstance(value, dict):
            hint = " (write each name as a key: `name:` on its own line)"
            raise InventoryError(
                f"{section} of group {group!r} must be a mapping, not {kind(value)}"
                + (hint if isinstance(value, list) else ""),
                where,
            )
        for name, body in value.items():
            yield name, body, key_loc(value, name, where)

    # -- hosts ----------------------------------------------------------------

    def _host(self, raw: Any, entry: Any, where: Location, group: str) -> None:
        pattern = _name(raw, "host", where)
        check_host_name(pattern, where)
        layer = self._host_vars(pattern, entry, where, group)
        for name in expand_range(pattern, where):
            if name in self.groups:
                group_loc = self.groups[name].loc or self.file
                raise InventoryError(
                    f"{name!r} is used both as a group (at {group_loc}) and as a host", where
                )
            self._add_host(name, where, group, layer)

    def _host_vars(self, pattern: str, entry: Any, where: Location, group: str) -> Layer | None:
        if pattern in GROUP_KEYS:
            raise InventoryError(
                f"host named {pattern!r} under group {group!r}: is {pattern + ':'!r} indented "
                "too far?",
                where,
            )
        if entry is None:
            return None
        if not isinstance(entry, dict):
            raise InventoryError(
                f"host {pattern!r} must map to its variables (e.g. `{pattern}: "
                f"{{host: 10.0.0.5}}`), not {kind(entry)}",
                loc_of(entry, where),
            )
        if "vars" in entry:
            raise InventoryError(
                f"host {pattern!r}: host variables go directly under the host, without 'vars:'",
                key_loc(entry, "vars", where),
            )
        return read_layer(entry, where, f"host {pattern!r}")

    def _add_host(self, name: str, where: Location, group: str, layer: Layer | None) -> None:
        host = self.hosts.get(name)
        if host is None:
            if len(self.hosts) == MAX_INVENTORY_HOSTS:
                raise InventoryError(
                    f"more than {MAX_INVENTORY_HOSTS} hosts (the limit for one inventory)", where
                )
            host = self.hosts[name] = HostData(name, where)
        if group not in host.groups:
            host.groups.append(group)
            self.groups[group].hosts.append(name)
        if layer is not None:
            # A host listed in several groups: its vars from every listing
            # are merged, later listings winning (as Ansible does).
            if not host.layers:
                host.layers.append(Layer(owner=f"host {name!r}"))
            host.layers[0].values.update(layer.values)
            host.layers[0].locs.update(layer.locs)
