"""Every YAML example in the docs loads and validates: docs that work when pasted.

A block that is a list of plays is a playbook, compiled for a host; a list of tasks
(docs/modules.md) is loaded inside a play; a mapping is an inventory. Playbooks that
import others find them next to the real playbooks, as from playbooks/.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from provisioner.inventory import load_inventory, localhost_inventory
from provisioner.playbook.load import load_playbook
from provisioner.validate import validate

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def examples() -> list[tuple[str, str]]:
    """Every YAML block of the docs that is ours: a playbook, tasks, an inventory."""
    out = []
    for doc in DOCS:
        text = doc.read_text()
        for m in re.finditer(r"^```ya?ml\n(.*?)^```", text, flags=re.S | re.M):
            line = text[: m.start()].count("\n") + 1
            where = f"{doc.relative_to(ROOT)}:{line}"
            if not foreign(where, yaml.safe_load(m.group(1))):
                out.append((where, m.group(1)))
    return out


def foreign(where: str, data: object) -> bool:
    """docs/fleet.md's Kubernetes objects and CI workflow: other tools' YAML, which
    tests/unit/test_fleet_doc.py checks."""
    if not where.startswith("docs/fleet.md:") or not isinstance(data, dict):
        return False
    return {"apiVersion", "kind"} <= data.keys() or "jobs" in data


@pytest.mark.parametrize(("where", "text"), examples(), ids=[w for w, _ in examples()])
def test_example_loads_and_validates(where: str, text: str, tmp_path: Path) -> None:
    data = yaml.safe_load(text)
    for name in ("el7-vault.yml", "docker-ce.yml"):
        shutil.copy(ROOT / "playbooks" / name, tmp_path / name)
    if isinstance(data, dict):
        path = tmp_path / "hosts.yml"
        path.write_text(text)
        assert load_inventory(path).hosts, f"{where}: an inventory without hosts"
        return
    assert isinstance(data, list) and data, f"{where}: neither playbook nor inventory"
    playbook = any(isinstance(p, dict) and ("hosts" in p or "import_playbook" in p) for p in data)
    if not playbook:
        indented = "".join(f"    {ln}\n" for ln in text.splitlines())
        text = f"- hosts: localhost\n  tasks:\n{indented}"
    path = tmp_path / "example.yml"
    path.write_text(text)
    book = load_playbook(path)
    # A whole playbook is compiled for a host too (every variable it uses is defined in it);
    # a task snippet may use variables and files of a play around it that the page implies.
    inventory = localhost_inventory() if playbook else None
    assert validate(book, inventory, {}, limit="localhost" if playbook else None) == [], where
