"""`provision schema`: the JSON Schemas an editor checks YAML with.

Every playbook, tasks file (a role's tasks/ and handlers/) and inventory of the
repository validates against them, found by walking the tree, so a new fixture is
covered the day it is added; so does every YAML example of the docs. Where a case
is decided both ways here, the loader decides it the same way: the schema marks
red what `provision validate` refuses, and nothing it takes.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema
import pytest
import yaml

from provisioner.errors import InventoryError, PlaybookErrors
from provisioner.inventory import load_inventory
from provisioner.inventory.json_schema import inventory_schema
from provisioner.modules import BUILTIN, PREFIXES
from provisioner.modules.unsupported import KNOWN
from provisioner.playbook.entries import INCLUDE_KEYWORDS
from provisioner.playbook.json_schema import playbook_schema, tasks_schema
from provisioner.playbook.load import load_playbook
from provisioner.playbook.schema import BLOCK_KEYWORDS, PLAY_KEYWORDS, TASK_KEYWORDS
from provisioner.playbook.task import WITH_KEYS
from provisioner.yamlmarks import load_yaml, to_plain
from tests.unit.run_cli import provision
from tests.unit.test_docs_examples import examples

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"}

# Fixtures that are wrong on purpose (tests of bad input): not validated, each with why.
# None are files today; bad input is written inline by the tests that use it.
INVALID: dict[str, str] = {}

# YAML files that are none of the three kinds, each with what it is.
NOT_OURS = {
    "vagrant/lab.yml": "the classroom lab's settings, read by vagrant/Vagrantfile",
}

# Parts of a role that are variables or metadata, not tasks.
ROLE_DATA = ("defaults", "vars", "meta", "files", "templates")


@cache
def schema_of(kind: str) -> dict[str, Any]:
    build = {"playbook": playbook_schema, "tasks": tasks_schema, "inventory": inventory_schema}
    return build[kind]()


@cache
def validator(kind: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(schema_of(kind))


def yaml_files() -> list[Path]:
    """The repository's YAML files: git's (tracked, or new and not ignored, so the lab's
    generated inventory and caches are not), else every one under the tree."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            text=True,
        ).stdout.split("\0")
        paths = [ROOT / name for name in listed if name]
    except (OSError, subprocess.CalledProcessError):
        paths = [p for p in ROOT.rglob("*") if not SKIP_DIRS & set(p.relative_to(ROOT).parts)]
    return sorted(p for p in set(paths) if p.suffix in (".yml", ".yaml") and p.is_file())


def kind_of(path: Path) -> str | None:
    """Which schema a YAML file of the repository is checked with; None: none applies."""
    parts = path.relative_to(ROOT).parts
    if "roles" in parts:
        part = parts[parts.index("roles") + 2] if len(parts) > parts.index("roles") + 2 else ""
        return "tasks" if part in ("tasks", "handlers") else None if part in ROLE_DATA else "?"
    if "group_vars" in parts or "host_vars" in parts:
        return None  # variables of an inventory's groups and hosts
    if {"inventory", "inventories"} & set(parts[:-1]):
        return "inventory"
    data = yaml.safe_load(path.read_text())
    if isinstance(data, list) and all(
        isinstance(p, dict) and ("hosts" in p or "import_playbook" in p) for p in data
    ):
        return "playbook"
    return "?"


def fixtures() -> list[tuple[str, str]]:
    out = []
    for path in yaml_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel in INVALID or rel in NOT_OURS:
            continue
        kind = kind_of(path)
        if kind is not None:
            out.append((kind, rel))
    return out


def errors(kind: str, data: Any) -> list[str]:
    found = sorted(validator(kind).iter_errors(data), key=lambda e: list(e.absolute_path))
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in found]


FIXTURES = fixtures()
KNOWN_FIXTURES = [(kind, rel) for kind, rel in FIXTURES if kind != "?"]


def test_every_fixture_of_the_repository_is_of_a_kind_or_listed() -> None:
    unknown = [rel for kind, rel in FIXTURES if kind == "?"]
    assert unknown == [], "add a kind to kind_of, or the file to NOT_OURS or INVALID"
    assert {kind for kind, _ in FIXTURES} == {"playbook", "tasks", "inventory"}
    assert len(FIXTURES) > 0


@pytest.mark.parametrize(("kind", "rel"), KNOWN_FIXTURES, ids=[r for _, r in KNOWN_FIXTURES])
def test_every_fixture_validates(kind: str, rel: str) -> None:
    data = to_plain(load_yaml(ROOT / rel))  # read as the loader reads it (YAML 1.1)
    assert errors(kind, data) == []


def test_the_lists_of_exceptions_name_files_that_are_there() -> None:
    for rel in [*INVALID, *NOT_OURS]:
        assert (ROOT / rel).is_file(), rel


DOC_EXAMPLES = examples()


@pytest.mark.parametrize(("where", "text"), DOC_EXAMPLES, ids=[w for w, _ in DOC_EXAMPLES])
def test_every_yaml_example_of_the_docs_validates(where: str, text: str) -> None:
    data = yaml.safe_load(text)
    assert errors(_kind_of_example(data), data) == [], where


def _kind_of_example(data: Any) -> str:
    if isinstance(data, dict):
        return "inventory"
    if any(isinstance(p, dict) and ("hosts" in p or "import_playbook" in p) for p in data):
        return "playbook"
    return "tasks"


def test_the_editors_doc_maps_each_schema_to_files_of_its_kind() -> None:
    """docs/editors.md's commands write the schemas its VS Code settings name; its
    patterns take the repository's files of their kind and no other; each example's
    first line names the schema of its kind."""
    doc = (ROOT / "docs" / "editors.md").read_text()
    written = dict(re.findall(r"^provision schema (\w+) +> (\S+)$", doc, flags=re.M))
    assert set(written) == {"playbook", "tasks", "inventory"}
    (block,) = re.findall(r"^```json\n(.*?)^```", doc, flags=re.S | re.M)
    settings: dict[str, list[str]] = json.loads(block)["yaml.schemas"]
    assert sorted(settings) == sorted(f"./{path}" for path in written.values())
    kind_of = {f"./{path}": kind for kind, path in written.items()}
    matched = set()
    for kind, rel in KNOWN_FIXTURES:
        for schema, patterns in settings.items():
            # yaml-language-server puts **/ before each pattern: it matches a path's end.
            if any(PurePosixPath(rel).match(p) for p in patterns):
                assert kind_of[schema] == kind, (rel, schema)
                matched.add(kind)
    assert matched == {"playbook", "tasks", "inventory"}
    firsts = 0
    for where, text in DOC_EXAMPLES:
        line = re.match(r"# yaml-language-server: \$schema=\S*/(\w+)\.schema\.json\n", text)
        if line and where.startswith("docs/editors.md"):
            firsts += 1
            assert line.group(1) == _kind_of_example(yaml.safe_load(text)), where
    assert firsts == 3


@pytest.mark.parametrize("kind", ["playbook", "tasks", "inventory"])
def test_the_schema_is_a_draft_07_schema_without_later_keywords(kind: str) -> None:
    schema = schema_of(kind)
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    later = {"$defs", "prefixItems", "dependentSchemas", "dependentRequired", "$anchor"}

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            yield node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    for node in walk(schema):
        assert not later & set(node), node
        # Draft-07 ignores what stands beside a $ref.
        assert "$ref" not in node or len(node) == 1, node
        if "$ref" in node:
            assert node["$ref"].removeprefix("#/definitions/") in schema["definitions"], node


def test_the_keywords_are_the_loaders() -> None:
    defs = schema_of("tasks")["definitions"]
    task = set(defs["task"]["properties"])
    assert {*TASK_KEYWORDS, *WITH_KEYS} <= task
    assert set(defs["block"]["properties"]) == set(BLOCK_KEYWORDS)
    assert set(defs["include_tasks"]["properties"]) == {"include_tasks", *INCLUDE_KEYWORDS}
    assert set(defs["play"]["properties"]) == set(PLAY_KEYWORDS)


def test_every_module_is_a_task_key_under_each_of_its_names() -> None:
    task = schema_of("tasks")["definitions"]["task"]["properties"]
    for name in (n for names in BUILTIN.values() for n in names):  # not the tests' own
        assert name in task
        if "." not in name:
            assert all(prefix + name in task for prefix in PREFIXES), name
    assert KNOWN <= set(task)


def _loader_says(tmp_path: Path, kind: str, text: str) -> bool:
    """Whether the loader takes it (a tasks file is loaded inside a play)."""
    if kind == "inventory":
        path = tmp_path / "hosts.yml"
        path.write_text(text)
        try:
            load_inventory(path)
        except InventoryError:
            return False
        return True
    if kind == "tasks":
        indented = "".join(f"    {line}\n" for line in text.splitlines())
        text = f"- hosts: localhost\n  tasks:\n{indented}"
    path = tmp_path / "site.yml"
    path.write_text(text)
    try:
        load_playbook(path)
    except PlaybookErrors:
        return False
    return True


REFUSED = {
    "an unknown task keyword": "- command: ls\n  whn: x\n",
    "a typo in a module argument": "- copy: {dset: /x, content: a}\n",
    "a word that is no boolean": "- command: ls\n  become: maybe\n",
    "two modules in one task": "- command: ls\n  copy: {dest: /x, content: a}\n",
    "one module under two names": "- copy: {dest: /x, content: a}\n"
    "  ansible.builtin.copy: {dest: /y, content: a}\n",
    "no module": "- name: nothing to do\n",
    "an unknown module": "- cpoy: {dest: /x, content: a}\n",
    "loop and with_items": "- command: ls\n  loop: [1]\n  with_items: [1]\n",
    "a missing required argument": "- copy: {content: a}\n",
    "two spellings of one argument": "- file: {path: /x, dest: /y}\n",
    "a value not in the choices": "- file: {path: /x, state: folder}\n",
    "a free-form value not in the choices": "- meta: frobnicate\n",
    "a list for a module's arguments": "- command: [ls]\n",
    "a string for a mapping": "- command: ls\n  vars: x\n",
    "a block with an unknown keyword": "- block: [{command: ls}]\n  retries: 3\n",
    "rescue without block": "- rescue: [{command: ls}]\n",
    "import_tasks of a template": "- import_tasks: '{{ x }}.yml'\n",
    "import_role with a loop": "- import_role: {name: x}\n  loop: [1]\n",
    "an unknown option of include_role": "- include_role: {name: x, tasks: y}\n",
    "a register that is no name": "- command: ls\n  register: my-result\n",
    "a become that is a template (a task's become is decided at load)": (
        "- command: ls\n  become: '{{ flag }}'\n"
    ),
}
TAKEN = {
    "an argument's other name (file's dest)": "- file: {dest: /x, state: directory}\n",
    "changed_when on a copy (Ansible judges any module)": (
        "- copy: {dest: /x, content: a}\n  changed_when: false\n"
    ),
    "another spelling of a package and its state": "- yum: {pkg: git, state: installed}\n",
    "cron's day of month as dom": "- cron: {name: x, job: ls, dom: 1}\n",
    "sysctl's key and val": "- sysctl: {key: vm.swappiness, val: 10}\n",
    "a boolean sysctl value": "- sysctl: {name: net.ipv4.ip_forward, value: true}\n",
    "a module by its ansible.builtin name": "- ansible.builtin.copy: {dest: /x, content: a}\n",
    "a module by its ansible.legacy name": "- ansible.legacy.command: ls\n",
    "a collection's name of a module": "- ansible.posix.sysctl: {name: vm.swappiness, value: 1}\n",
    "an Ansible module provision does not run": "- apt: {name: git, update_cache: yes}\n",
    "an unknown collection's module": "- community.docker.docker_container: {name: x}\n",
    "a Windows module": "- win_copy: {src: a, dest: b}\n",
    "ignore_errors as a template": "- command: ls\n  ignore_errors: '{{ ansible_check_mode }}'\n",
    "a boolean argument as a template": "- copy: {dest: /x, content: a, backup: '{{ keep }}'}\n",
    "a list argument as a template": "- user: {name: x, groups: '{{ groups_of_x }}'}\n",
    "a boolean as a word": "- command: ls\n  become: yes\n  no_log: 'on'\n",
    "a mode as an octal number": "- file: {path: /x, state: directory, mode: 0755}\n",
    "a mode as text": "- file: {path: /x, state: directory, mode: '0755'}\n",
    "a symbolic mode": "- file: {path: /x, state: directory, mode: 'u=rwx,go=rx'}\n",
    "a number for text": "- user: {name: x, group: 1000}\n",
    "one item for a list": "- user: {name: x, groups: wheel}\n  tags: setup\n  when: x\n",
    "key=value arguments": "- yum: name=git state=present\n",
    "arguments under args": "- copy:\n  args: {dest: /x, content: a}\n",
    "a command with changed_when": "- shell: ls\n  changed_when: false\n  failed_when: rc != 0\n",
    "a loop with its control": "- debug: {msg: x}\n  loop: [1]\n  loop_control: {loop_var: pkg}\n",
    "a with_dict loop": "- debug: {msg: x}\n  with_dict: {a: 1}\n",
    "set_fact of any name": "- set_fact: {anything: 1, cacheable: true}\n",
    "a block with rescue and always": "- block: [{command: ls}]\n  rescue:\n"
    "    - debug: msg=x\n  always:\n  when: x\n  become: true\n",
    "an empty tasks file": "",
}
PLAYS = {
    "a play become as a template": ("- hosts: all\n  become: '{{ flag }}'\n  tasks: []\n", False),
    "a play without hosts": ("- tasks: [{command: ls}]\n", False),
    "an unknown play keyword": ("- hosts: all\n  task: []\n", False),
    "handlers that are blocks": (
        "- hosts: all\n  handlers:\n    - block: [{command: ls}]\n",
        False,
    ),
    "hosts as a list": ("- hosts: [web, db]\n  gather_facts: no\n  tasks: []\n", True),
}
INVENTORIES = {
    "a typo of hosts": ("all:\n  hostz: {a: }\n", False),
    "hosts at the top": ("hosts: {a: }\n", False),
    "a host's vars under vars:": ("all:\n  hosts:\n    a: {vars: {x: 1}}\n", False),
    "a port that is a word": ("all:\n  hosts:\n    a: {port: ssh}\n", False),
    "a port too high": ("all:\n  hosts:\n    a: {port: 70000}\n", False),
    "host_key_checking maybe": ("all:\n  hosts:\n    a: {host_key_checking: maybe}\n", False),
    "two names of the address": ("all:\n  hosts:\n    a: {host: x, ansible_host: y}\n", False),
    "a list of hosts": ("all:\n  hosts: [a, b]\n", False),
    "a password YAML reads as a number": (
        "all:\n  hosts:\n    a: {ansible_password: 1234}\n",
        False,
    ),
    "a port as text": ("all:\n  hosts:\n    a: {port: '2222'}\n", True),
    "a port as a template": ("all:\n  vars: {p: 22}\n  hosts:\n    a: {port: '{{ p }}'}\n", True),
    "a host key policy": ("all:\n  hosts:\n    a: {host_key_checking: accept-new}\n", True),
    "one host by name": ("all:\n  hosts: a\n", True),
    "a host range": ("all:\n  hosts:\n    lab[01:03]:\n", True),
    "the local connection": ("all:\n  hosts:\n    localhost: {ansible_connection: local}\n", True),
}
CASES = [
    *(("tasks", name, text, False) for name, text in REFUSED.items()),
    *(("tasks", name, text, True) for name, text in TAKEN.items()),
    *(("playbook", name, text, ok) for name, (text, ok) in PLAYS.items()),
    *(("inventory", name, text, ok) for name, (text, ok) in INVENTORIES.items()),
]


@pytest.mark.parametrize(("kind", "name", "text", "valid"), CASES, ids=[c[1] for c in CASES])
def test_the_schema_decides_as_the_loader(
    kind: str, name: str, text: str, valid: bool, tmp_path: Path
) -> None:
    data = yaml.safe_load(text)
    assert (errors(kind, data) == []) is valid, errors(kind, data)
    assert _loader_says(tmp_path, kind, text) is valid, "the loader decides otherwise"


@pytest.mark.parametrize("kind", ["playbook", "tasks", "inventory"])
def test_the_command_prints_the_schema_as_json(kind: str, tmp_path: Path) -> None:
    proc = provision("schema", kind, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    jsonschema.Draft7Validator.check_schema(printed)
    # This process may know more modules: the ones other tests register.
    assert printed["title"] == schema_of(kind)["title"]
    assert set(printed["definitions"]) <= set(schema_of(kind)["definitions"])


def test_the_command_writes_a_playbook_schema_to_a_file_by_default(tmp_path: Path) -> None:
    out = tmp_path / ".provision" / "playbook.schema.json"
    out.parent.mkdir()
    proc = provision("schema", "--output", out, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert json.loads(out.read_text())["title"] == "provision playbook"
    proc = provision("schema", "tasks", "-o", tmp_path / "no" / "such" / "dir.json", cwd=tmp_path)
    assert proc.returncode == 1 and "cannot write" in proc.stderr
