"""`group_vars/` and `host_vars/` next to the inventory file, read as Ansible does.

For a group or host NAME: `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json`, then
every such file under a directory `NAME/` (recursively, in name order). Each
file is one layer, after the inventory file's own vars for that group/host.
"""

from __future__ import annotations

import os
from pathlib import Path

from provisioner.errors import InventoryError, Location
from provisioner.inventory.layers import Layer, read_layer
from provisioner.inventory.tree import Tree
from provisioner.limits import read_text
from provisioner.yamlmarks import load_yaml_text

__all__ = ["VARS_EXTS", "read_vars_dirs"]

VARS_EXTS = (".yml", ".yaml", ".json")


def read_vars_dirs(tree: Tree) -> None:
    """Add the vars files' layers to every group and host of `tree`."""
    base = tree.source.parent
    for name, group in tree.groups.items():
        group.layers.extend(_layers(base / "group_vars", name, f"group {name!r}"))
    for name, host in tree.hosts.items():
        host.layers.extend(_layers(base / "host_vars", name, f"host {name!r}"))


def _layers(folder: Path, name: str, owner: str) -> list[Layer]:
    layers = []
    for path in _files(folder, name):
        text = read_text(path, error=InventoryError)
        if text.startswith("$ANSIBLE_VAULT"):
            raise InventoryError(
                "Ansible Vault files are not supported; keep secrets elsewhere",
                Location(str(path), 1, 1),
            )
        data = load_yaml_text(text, str(path), error=InventoryError)
        layers.append(read_layer(data, Location(str(path), 1, 1), f"{owner} ({path})"))
    return layers


def _files(folder: Path, name: str) -> list[Path]:
    # A name that is not a plain file name never reaches outside the folder.
    if not folder.is_dir() or name.startswith(".") or "/" in name or os.sep in name:
        return []
    files = [
        candidate
        for candidate in (folder / name, *(folder / f"{name}{ext}" for ext in VARS_EXTS))
        if candidate.is_file()
    ]
    single = folder / name
    if single.is_dir():
        # Ansible reads a directory of vars files recursively, in name order.
        files.extend(
            p
            for p in sorted(single.rglob("*"))
            if p.is_file() and p.suffix in VARS_EXTS and not p.name.startswith(".")
        )
    return files
