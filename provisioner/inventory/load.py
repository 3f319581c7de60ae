"""`load_inventory`: a YAML or INI inventory file → `Inventory`.

Both formats become the same mapping (`ini.parse_ini` builds what YAML would
give), read by `tree.read_tree`, completed by `group_vars/`/`host_vars/`
(`varsdirs`) and resolved by `build.build_inventory`.

Telling the formats apart: a `.ini` file is INI, a `.yml`/`.yaml`/`.json` file
is YAML; any other file (Vagrant writes `vagrant_ansible_inventory`, without
extension) is INI when its first meaningful line is an INI `[section]` or
`host [key=value ...]` (never true of a YAML inventory, whose first line is
`name:`), else YAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provisioner.errors import InventoryError
from provisioner.inventory.build import build_inventory
from provisioner.inventory.ini import looks_like_ini, parse_ini
from provisioner.inventory.model import Inventory
from provisioner.inventory.spec import SECRET_VARS
from provisioner.inventory.tree import read_tree
from provisioner.inventory.varsdirs import VARS_EXTS, read_vars_dirs
from provisioner.limits import read_text
from provisioner.yamlmarks import MarkedDict, load_yaml, load_yaml_text

__all__ = ["load_inventory", "read_names"]


def load_inventory(path: Path) -> Inventory:
    """Read a YAML or INI inventory; every problem is an InventoryError at file:line:col."""
    source = Path(path)
    return _from_mapping(_read_mapping(source), source)


def read_names(path: Path) -> tuple[list[str], list[str]]:
    """The host and the group names of an inventory as written (ranges expanded), in
    file order: the file read and its tree made, nothing rendered (a connection
    variable's `lookup('pipe', ...)` never runs) and nothing logged. For completion."""
    source = Path(path)
    tree = read_tree(_read_mapping(source), source)
    return list(tree.hosts), list(tree.groups)


def _read_mapping(source: Path) -> Any:
    suffix = source.suffix.lower()
    if suffix == ".ini":
        return _parse_ini(_read_inventory_text(source), source)
    if suffix in VARS_EXTS:
        return load_yaml(source, error=InventoryError)
    text = _read_inventory_text(source)
    if looks_like_ini(text):
        return _parse_ini(text, source)
    return load_yaml_text(text, str(source), error=InventoryError)


def _from_mapping(data: Any, source: Path) -> Inventory:
    tree = read_tree(data, source)
    read_vars_dirs(tree)
    return build_inventory(tree)


def _parse_ini(text: str, source: Path) -> MarkedDict:
    # Secrets stay text on INI host lines: a password `0123` is not the number 123.
    return parse_ini(text, str(source), text_vars=SECRET_VARS)


def _read_inventory_text(source: Path) -> str:
    return read_text(source, error=InventoryError)
