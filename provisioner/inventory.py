"""Inventory: which hosts exist, how to reach them, and their variables.

Reads Ansible's YAML inventory shape so existing inventories work::

    all:
      vars: {user: student}
      hosts:
        web1: {host: 10.0.0.5}
      children:
        lab:
          hosts:
            lab[01:03]:        # Ansible host ranges expand to lab01..lab03
          children: {...}

Top-level keys other than `all` are groups under `all`. `group_vars/` and
`host_vars/` directories next to the inventory file are read too, as Ansible
does (a file there wins over the inventory file's own vars for that group/host).

Ansible's INI inventories are read as well (`inventory_ini`): they are turned
into the same mapping the YAML loader reads, so both formats give the same
Inventory. `load_inventory` tells them apart: a `.ini` file is INI, a
`.yml`/`.yaml`/`.json` file is YAML; any other file (Vagrant writes
`vagrant_ansible_inventory`, without extension) is INI when its first
meaningful line is an INI `[section]` or `host [key=value ...]` (never true
of a YAML inventory, whose first line is `name:`), else YAML.

Variable precedence, lowest first: `all`, then the other groups by depth
(deeper wins), then `ansible_group_priority` (higher wins), then name
(alphabetical: later wins), then the host's own vars. This is Ansible's order.

Nothing here knows about SSH: `ConnectionSpec` is plain data for the transport.
"""

from __future__ import annotations

import difflib
import os
import re
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from provisioner.errors import InventoryError, Location
from provisioner.inventory_ini import looks_like_ini, parse_ini
from provisioner.patterns import match_hosts
from provisioner.yamlmarks import MarkedDict, load_yaml, load_yaml_text, loc_of

__all__ = [
    "CONNECTION_VARS",
    "HOST_KEY_POLICIES",
    "SECRET_VARS",
    "ConnectionSpec",
    "Group",
    "Host",
    "HostKeyPolicy",
    "Inventory",
    "load_inventory",
    "localhost_inventory",
]

_GROUP_KEYS = ("hosts", "children", "vars")

# Connection settings and every variable name that sets them; the first name is
# ours, the rest are Ansible's (so existing inventories keep working).
CONNECTION_VARS: dict[str, tuple[str, ...]] = {
    "address": ("host", "ansible_host", "ansible_ssh_host"),
    "port": ("port", "ansible_port", "ansible_ssh_port"),
    "user": ("user", "ansible_user", "ansible_ssh_user"),
    "ssh_key": ("ssh_key", "ansible_ssh_private_key_file", "ansible_private_key_file"),
    "password": ("password", "ansible_password", "ansible_ssh_pass", "ansible_ssh_password"),
    "become_password": (
        "become_password",
        "ansible_become_password",
        "ansible_become_pass",
        "ansible_sudo_pass",
    ),
    "known_hosts": ("known_hosts",),
    "host_key_checking": (
        "host_key_checking",
        "host_key_policy",
        "ansible_host_key_checking",
        "ansible_ssh_host_key_checking",
    ),
    "connection": ("connection", "ansible_connection"),
}
_SECRET_FIELDS = frozenset({"password", "become_password"})
# Variable names whose values are secrets: hide them in any output.
SECRET_VARS: frozenset[str] = frozenset(
    CONNECTION_VARS["password"] + CONNECTION_VARS["become_password"]
)
_CONNECTION_TYPES: dict[str, Literal["ssh", "local"]] = {
    "ssh": "ssh",
    "local": "local",
    # Ansible's other names for an SSH connection.
    "paramiko": "ssh",
    "paramiko_ssh": "ssh",
    "smart": "ssh",
}
_VARS_EXTS = (".yml", ".yaml", ".json")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})

# How a host's key is checked: the same three policies as the SSH transport.
HostKeyPolicy = Literal["strict", "accept-new", "off"]
HOST_KEY_POLICIES: tuple[HostKeyPolicy, ...] = ("strict", "accept-new", "off")


@dataclass(frozen=True)
class ConnectionSpec:
    """How to reach one host. Secrets are left out of repr()."""

    address: str
    port: int = 22
    user: str | None = None
    ssh_key: str | None = None
    password: str | None = field(default=None, repr=False)
    become_password: str | None = field(default=None, repr=False)
    known_hosts: str | None = None
    # None: the default, "strict" (or "accept-new" when the command line asks
    # for it); an explicit policy from the inventory is used as written.
    host_key_policy: HostKeyPolicy | None = None
    connection: Literal["ssh", "local"] = "ssh"

    @property
    def host_key_checking(self) -> bool:
        """Ansible's boolean: False only when checking is off."""
        return self.host_key_policy != "off"


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
        members: dict[str, list[str]] = {name: [] for name in self.groups}
        for name in explicit:
            for group in self.hosts[name].groups:
                members.setdefault(group, []).append(name)
        names = match_hosts(
            pattern, explicit, members, implicit_localhost=implicit_localhost, where=where
        )
        return [self._host_or_implicit(name) for name in names]

    def _host_or_implicit(self, name: str) -> Host:
        host = self.hosts.get(name)
        if host is not None:
            return host
        # Ansible's implicit localhost: local connection, vars of `all` only.
        all_vars = dict(self.groups["all"].vars) if "all" in self.groups else {}
        layers = [_Layer.plain(all_vars), _Layer.plain({"connection": "local"})]
        base = self.source.parent.absolute() if self.source else None
        spec = _resolve_connection(name, layers, base)
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


# ---------------------------------------------------------------------------
# Loading


@dataclass
class _Layer:
    """One source of variables (a group's inline vars, a vars file, a host)."""

    values: dict[str, Any] = field(default_factory=dict)
    locs: dict[str, Location] = field(default_factory=dict)
    owner: str = ""

    @classmethod
    def plain(cls, values: Mapping[str, Any]) -> _Layer:
        return cls(dict(values))

    def loc(self, key: str, fallback: Location | None) -> Location | None:
        return self.locs.get(key, fallback)


@dataclass
class _GroupData:
    name: str
    loc: Location | None
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    child_locs: dict[str, Location] = field(default_factory=dict)
    layers: list[_Layer] = field(default_factory=list)


@dataclass
class _HostData:
    name: str
    loc: Location
    groups: list[str] = field(default_factory=list)
    layers: list[_Layer] = field(default_factory=list)


_RANGE = re.compile(r"\[([0-9]*|[a-zA-Z]):([0-9]+|[a-zA-Z])(?::([0-9]+))?\]")


def _expand_range(name: str, where: Location) -> list[str]:
    """Expand Ansible host ranges: `web[01:03]` → web01 web02 web03, `[a:c]`, `[0:9:2]`."""
    m = _RANGE.search(name)
    if m is None:
        return [name]
    head, tail = name[: m.start()], name[m.end() :]
    beg, end, step_text = m.group(1) or "0", m.group(2), m.group(3)
    step = int(step_text) if step_text else 1
    if step < 1:
        raise InventoryError(f"host range {m.group(0)!r}: step must be at least 1", where)
    seq: list[str]
    if beg.isdigit() != end.isdigit():
        raise InventoryError(f"host range {m.group(0)!r} mixes letters and numbers", where)
    if beg.isdigit():
        width = len(beg) if beg.startswith("0") and len(beg) > 1 else 0
        if width and len(end) != width:
            raise InventoryError(
                f"host range {m.group(0)!r}: zero-padded bounds must have the same length", where
            )
        if int(beg) > int(end):
            raise InventoryError(f"host range {m.group(0)!r}: start is after end", where)
        seq = [str(i).zfill(width) for i in range(int(beg), int(end) + 1, step)]
    else:
        letters = string.ascii_letters
        i, j = letters.index(beg), letters.index(end)
        if i > j:
            raise InventoryError(f"host range {m.group(0)!r}: start is after end", where)
        seq = list(letters[i : j + 1 : step])
    return [out for part in seq for out in _expand_range(head + part + tail, where)]


def _kind(value: object) -> str:
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


def _short(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key_loc(mapping: object, key: Any, fallback: Location) -> Location:
    if isinstance(mapping, MarkedDict):
        return mapping.key_loc(key)
    return loc_of(key, fallback)


def _value_loc(mapping: object, key: Any, fallback: Location) -> Location:
    if isinstance(mapping, MarkedDict):
        return mapping.value_loc(key)
    return fallback


class _Loader:
    def __init__(self, source: Path) -> None:
        self.source = source
        self.file = Location(str(source))
        self.groups: dict[str, _GroupData] = {}
        self.hosts: dict[str, _HostData] = {}

    # -- structure ---------------------------------------------------------

    def load(self, data: Any) -> Inventory:
        self._group("all", None, None, parent=None, stack=())
        if data is not None:
            if not isinstance(data, dict):
                raise InventoryError(
                    f"an inventory is a mapping of groups (starting with `all:`), "
                    f"not {_kind(data)}",
                    loc_of(data, self.file),
                )
            for raw_name, body in data.items():
                where = _key_loc(data, raw_name, self.file)
                name = self._name(raw_name, "group", where)
                if name in _GROUP_KEYS:
                    raise InventoryError(
                        f"top-level {name!r} must be inside a group, e.g. under `all:`", where
                    )
                # Not yet a child of `all`: it may have other parents (see _build).
                self._group(name, body, where, parent=None, stack=())
        self._group("ungrouped", None, None, parent=None, stack=())
        self._read_vars_dirs()
        return self._build()

    def _name(self, raw: Any, what: str, where: Location) -> str:
        # YAML makes `10:` or `1.5:` numbers; names are text.
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str) or not raw.strip():
            raise InventoryError(f"{what} name must be a non-empty string, not {_kind(raw)}", where)
        return str(raw)

    def _group(
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
        if name in _GROUP_KEYS and parent is not None:
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
        group = self.groups.get(name)
        if group is None:
            group = self.groups[name] = _GroupData(name, where)
        elif group.loc is None:
            group.loc = where
        if parent is not None:
            if name == "all":
                raise InventoryError("'all' contains every group; it cannot be a child", at)
            self._link(parent, name, at)
        if body is None:
            return
        if not isinstance(body, dict):
            raise InventoryError(
                f"group {name!r} must be a mapping with hosts/children/vars, not {_kind(body)}",
                loc_of(body, at),
            )
        for key, value in body.items():
            key_where = _key_loc(body, key, at)
            value_where = _value_loc(body, key, key_where)
            if key == "vars":
                group.layers.append(self._vars(value, value_where, f"group {name!r}", group.layers))
            elif key == "hosts":
                for host, entry, host_where in self._entries(value, value_where, "hosts", name):
                    self._host(host, entry, host_where, name)
            elif key == "children":
                for child, child_body, child_where in self._entries(
                    value, value_where, "children", name
                ):
                    self._group(
                        self._name(child, "group", child_where),
                        child_body,
                        child_where,
                        parent=name,
                        stack=(*stack, name),
                    )
            else:
                raise InventoryError(self._unknown_key(key, name), key_where)

    def _link(self, parent: str, child: str, where: Location) -> None:
        parent_data = self.groups[parent]
        if child not in parent_data.children:
            parent_data.children.append(child)
            parent_data.child_locs[child] = where
            self.groups[child].parents.append(parent)

    @staticmethod
    def _unknown_key(key: Any, group: str) -> str:
        msg = f"unknown key {str(key)!r} in group {group!r}"
        close = difflib.get_close_matches(str(key), _GROUP_KEYS, n=1, cutoff=0.6)
        if close:
            return f"{msg}; did you mean {close[0]!r}?"
        return f"{msg}; a group has only hosts, children and vars (hosts go under 'hosts:')"

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
                f"{section} of group {group!r} must be a mapping, not {_kind(value)}"
                + (hint if isinstance(value, list) else ""),
                where,
            )
        for name, body in value.items():
            yield name, body, _key_loc(value, name, where)

    def _host(self, raw: Any, entry: Any, where: Location, group: str) -> None:
        pattern = self._name(raw, "host", where)
        if pattern in _GROUP_KEYS:
            raise InventoryError(
                f"host named {pattern!r} under group {group!r}: is {pattern + ':'!r} indented "
                "too far?",
                where,
            )
        if entry is not None and not isinstance(entry, dict):
            raise InventoryError(
                f"host {pattern!r} must map to its variables (e.g. `{pattern}: "
                f"{{host: 10.0.0.5}}`), not {_kind(entry)}",
                loc_of(entry, where),
            )
        layer = None
        if entry is not None:
            if "vars" in entry:
                raise InventoryError(
                    f"host {pattern!r}: host variables go directly under the host, without 'vars:'",
                    _key_loc(entry, "vars", where),
                )
            layer = self._vars(entry, where, f"host {pattern!r}", [])
        for name in _expand_range(pattern, where):
            if name in self.groups:
                group_loc = self.groups[name].loc or self.file
                raise InventoryError(
                    f"{name!r} is used both as a group (at {group_loc}) and as a host", where
                )
            host = self.hosts.get(name)
            if host is None:
                host = self.hosts[name] = _HostData(name, where)
            if group not in host.groups:
                host.groups.append(group)
                self.groups[group].hosts.append(name)
            if layer is not None:
                # A host listed in several groups: its vars from every listing
                # are merged, later listings winning (as Ansible does).
                if not host.layers:
                    host.layers.append(_Layer(owner=f"host {name!r}"))
                host.layers[0].values.update(layer.values)
                host.layers[0].locs.update(layer.locs)

    def _vars(self, value: Any, where: Location, owner: str, existing: list[_Layer]) -> _Layer:
        """Check a vars mapping; a group's repeated definitions share one layer."""
        if existing and existing[-1].owner == owner:
            layer = existing.pop()
        else:
            layer = _Layer(owner=owner)
        if value is None:
            return layer
        if not isinstance(value, dict):
            raise InventoryError(f"vars of {owner} must be a mapping, not {_kind(value)}", where)
        for key, val in value.items():
            key_where = _key_loc(value, key, where)
            if not isinstance(key, str):
                raise InventoryError(
                    f"variable names must be strings, not {_kind(key)} ({owner})", key_where
                )
            layer.values[str(key)] = val
            layer.locs[str(key)] = _value_loc(value, key, key_where)
        return layer

    # -- group_vars/ and host_vars/ -------------------------------------------

    def _read_vars_dirs(self) -> None:
        base = self.source.parent
        for name, group in self.groups.items():
            group.layers.extend(self._vars_files(base / "group_vars", name, f"group {name!r}"))
        for name, host in self.hosts.items():
            host.layers.extend(self._vars_files(base / "host_vars", name, f"host {name!r}"))

    def _vars_files(self, folder: Path, name: str, owner: str) -> list[_Layer]:
        if not folder.is_dir() or name.startswith(".") or "/" in name or os.sep in name:
            return []
        files: list[Path] = []
        for candidate in (folder / name, *(folder / f"{name}{ext}" for ext in _VARS_EXTS)):
            if candidate.is_file():
                files.append(candidate)
        single = folder / name
        if single.is_dir():
            # Ansible reads a directory of vars files recursively, in name order.
            files.extend(
                p
                for p in sorted(single.rglob("*"))
                if p.is_file() and p.suffix in _VARS_EXTS and not p.name.startswith(".")
            )
        layers = []
        for path in files:
            text = _read_text(path)
            if text.startswith("$ANSIBLE_VAULT"):
                raise InventoryError(
                    "Ansible Vault files are not supported; keep secrets elsewhere",
                    Location(str(path), 1, 1),
                )
            data = load_yaml_text(text, str(path), error=InventoryError)
            layers.append(self._vars(data, Location(str(path), 1, 1), f"{owner} ({path})", []))
        return layers

    # -- resolution -------------------------------------------------------------

    def _build(self) -> Inventory:
        # As Ansible: a group nobody claims as a child belongs under `all`.
        for name, group in self.groups.items():
            if name != "all" and not group.parents:
                self._link("all", name, group.loc or self.file)
        self._check_cycles()
        # Ansible's reconcile: a host in no group but `all` is in `ungrouped`,
        # and one listed under `ungrouped` and elsewhere is not.
        ungrouped = self.groups["ungrouped"]
        for name, host in self.hosts.items():
            others = [g for g in host.groups if g not in ("all", "ungrouped")]
            if others and "ungrouped" in host.groups:
                host.groups.remove("ungrouped")
                ungrouped.hosts.remove(name)
            elif not others and "ungrouped" not in host.groups:
                host.groups.append("ungrouped")
                ungrouped.hosts.append(name)

        depth: dict[str, int] = {}

        def depth_of(name: str) -> int:
            # Longest path from `all`: a group reachable at several depths
            # counts as the deepest (Ansible does the same).
            if name not in depth:
                parents = self.groups[name].parents
                depth[name] = 1 + max((depth_of(p) for p in parents), default=-1)
            return depth[name]

        ancestors: dict[str, set[str]] = {}

        def ancestors_of(name: str) -> set[str]:
            if name not in ancestors:
                found = {name}
                for parent in self.groups[name].parents:
                    found |= ancestors_of(parent)
                ancestors[name] = found
            return ancestors[name]

        priority = {name: self._priority(g) for name, g in self.groups.items()}
        base = self.source.parent.absolute()
        inv = Inventory(source=self.source)
        for name, gd in self.groups.items():
            inv.groups[name] = Group(
                name=name,
                hosts=list(gd.hosts),
                children=list(gd.children),
                vars=_merge(gd.layers),
                loc=gd.loc,
            )
        for name, h in self.hosts.items():
            member_of: set[str] = {"all"}
            for g in h.groups:
                member_of |= ancestors_of(g)
            order = sorted(member_of, key=lambda g: (depth_of(g), priority[g], g))
            layers = [layer for g in order for layer in self.groups[g].layers] + h.layers
            inv.hosts[name] = Host(
                name=name,
                vars=_merge(layers),
                groups=tuple(order),
                connection=_resolve_connection(name, layers, base, h.loc),
                loc=h.loc,
            )
        return inv

    def _check_cycles(self) -> None:
        # Nesting cycles are caught while reading; this catches cycles made
        # across separate definitions (a: {children: {b:}} and b: {children: {a:}}).
        done: set[str] = set()

        def visit(name: str, path: list[str]) -> None:
            if name in done:
                return
            for child in self.groups[name].children:
                if child in path:
                    chain = " → ".join((*path[path.index(child) :], child))
                    raise InventoryError(
                        f"group {child!r} is its own ancestor: {chain}",
                        self.groups[name].child_locs.get(child, self.file),
                    )
                visit(child, [*path, child])
            done.add(name)

        for name in self.groups:
            visit(name, [name])

    def _priority(self, group: _GroupData) -> int:
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
                f"ansible_group_priority of group {group.name!r} must be an integer, "
                f"not {_kind(value)}",
                where or self.file,
            )
        return value


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InventoryError(f"cannot read vars file: {err}", Location(str(path))) from None


def _merge(layers: Sequence[_Layer]) -> dict[str, Any]:
    # Ansible's default `hash_behaviour=replace`: a later layer replaces a
    # whole top-level value, it does not deep-merge dicts.
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer.values)
    return merged


def _resolve_connection(
    name: str,
    layers: Sequence[_Layer],
    base: Path | None,
    host_loc: Location | None = None,
) -> ConnectionSpec:
    """Apply the connection vars of each layer in precedence order."""
    chosen: dict[str, tuple[Any, str, Location | None]] = {}
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
                chosen[fld] = (layer.values[key], key, layer.loc(key, host_loc))

    def err(fld: str, expected: str) -> InventoryError:
        value, key, where = chosen[fld]
        shown = "" if fld in _SECRET_FIELDS else f" {_short(value)!r}"
        return InventoryError(
            f"host {name!r}: {key} must be {expected}, not {_kind(value)}{shown}",
            where,
        )

    def get(fld: str) -> Any:
        return chosen[fld][0] if fld in chosen else None

    def text(fld: str, hint: str = "") -> str | None:
        value = get(fld)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise err(fld, "a non-empty string" + hint)
        return str(value)

    def path(fld: str) -> str | None:
        value = text(fld)
        if value is None:
            return None
        expanded = Path(os.path.expanduser(value))
        if not expanded.is_absolute() and base is not None:
            expanded = base / expanded
        return str(expanded)

    port_value = get("port")
    port_text = port_value.strip() if isinstance(port_value, str) else ""
    if port_value is None:
        port = 22
    elif port_text.isascii() and port_text.isdecimal():  # "22" from a quoted value
        port = int(port_text)
    elif isinstance(port_value, int) and not isinstance(port_value, bool):
        port = port_value
    else:
        raise err("port", "an integer 1..65535")
    if not 1 <= port <= 65535:
        raise err("port", "an integer 1..65535")

    # Ansible's boolean, or one of the transport's policies by name.
    checking_value = get("host_key_checking")
    policy: HostKeyPolicy | None
    checking_text = checking_value.strip().lower() if isinstance(checking_value, str) else None
    if checking_value is None or checking_value is True or checking_text in _TRUE:
        policy = None
    elif checking_value is False or checking_text in _FALSE:
        policy = "off"
    elif checking_text in HOST_KEY_POLICIES:
        policy = next(p for p in HOST_KEY_POLICIES if p == checking_text)
    else:
        raise err("host_key_checking", "true, false, 'strict', 'accept-new' or 'off'")

    conn_value = get("connection")
    address = text("address")
    connection: Literal["ssh", "local"]
    if conn_value is None:
        connection = "local" if name == "localhost" and address is None else "ssh"
    elif isinstance(conn_value, str) and conn_value in _CONNECTION_TYPES:
        connection = _CONNECTION_TYPES[conn_value]
    else:
        raise err("connection", "'ssh' or 'local'")

    # Secrets must be strings: YAML reads `password: 0123` as the number 83.
    quote_hint = " (quote it in YAML)"
    return ConnectionSpec(
        address=address or name,
        port=port,
        user=text("user"),
        ssh_key=path("ssh_key"),
        password=text("password", quote_hint),
        become_password=text("become_password", quote_hint),
        known_hosts=path("known_hosts"),
        host_key_policy=policy,
        connection=connection,
    )


def load_inventory(path: Path) -> Inventory:
    """Read a YAML or INI inventory; every problem is an InventoryError at file:line:col."""
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix == ".ini":
        return _Loader(source).load(_parse_ini(_read_inventory_text(source), source))
    if suffix in _VARS_EXTS:
        return _Loader(source).load(load_yaml(source, error=InventoryError))
    text = _read_inventory_text(source)
    if looks_like_ini(text):
        return _Loader(source).load(_parse_ini(text, source))
    return _Loader(source).load(load_yaml_text(text, str(source), error=InventoryError))


def _parse_ini(text: str, source: Path) -> MarkedDict:
    return parse_ini(text, str(source), text_vars=SECRET_VARS)


def _read_inventory_text(source: Path) -> str:
    try:
        return source.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InventoryError(
            f"not UTF-8 text: {err.reason} at byte {err.start}", Location(str(source))
        ) from None
    except OSError as err:
        raise InventoryError(
            f"cannot read file: {err.strerror or err}", Location(str(source))
        ) from None
