"""Rules of the house that code review alone would let slip.

Knowledge of a module lives in its own file: no other part of the tool names a
module. The runner, the loader and the report read what a module declares
(`free_form`, `unprobeable`, `runs_on_controller`, `changes_login_groups`, `waits`,
`provides`), never its name.
"""

from __future__ import annotations

import ast
from pathlib import Path

from provisioner.modules import BUILTIN, registry

PACKAGE = Path(__file__).resolve().parents[2] / "provisioner"

# Words that are module names but mean something else where they stand.
NOT_A_MODULE: dict[str, set[str]] = {
    "errors.py": {"file"},  # Location's slot
    "inventory": {"user", "group"},  # inventory vocabulary: a connection's user, a group
    "inventory.py": {"user", "group"},
    "probes/files.py": {"file", "stat"},  # what kind of path it is; what stat(1) printed
    "probes/sshkeys.py": {"file", "stat"},
    "probes/accounts.py": {"group", "getent"},  # getent's database; the program
    "playbook/entries.py": {"file"},  # include_tasks' own argument
    "playbook/json_schema.py": {"file"},
    "jinja": {"file", "template"},  # the lookups and the test of those names
    "compat": {"file", "template", "hostname"},  # those lookups and test; the fact
    "playbook/roles.py": {"meta"},  # a role's meta/ folder
    "probes/host.py": {"hostname"},  # the fact
    "probes/rpm.py": {"dnf", "yum"},  # the package manager programs
    "probes/host_os.py": {"dnf", "yum", "systemd", "service", "hostname"},  # fact values
    "transport/sshconfig.py": {"user", "hostname"},  # ssh_config's User and HostName
    "vagrant/generate.py": {"user"},
    "vagrant/ssh_config.py": {"user", "hostname"},
    "report_card/verdicts.py": {"fail"},  # the verdict, as JUnit and graders say it
}


# Words that are module names but mean something else wherever they stand.
EVERYWHERE = {"replace"}  # bytes.decode(errors="replace")


def _outside_modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if p.parent.name != "modules"]


def _allowed(path: Path) -> set[str]:
    rel = path.relative_to(PACKAGE).as_posix()
    return EVERYWHERE | NOT_A_MODULE.get(rel, set()) | NOT_A_MODULE.get(rel.split("/")[0], set())


def test_no_module_name_is_written_outside_modules() -> None:
    names = {*registry(), *(n for ns in BUILTIN.values() for n in ns)}
    found = []
    for path in _outside_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                if node.value not in _allowed(path):
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value!r}")
    assert found == []


def _names_module(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "module") or (
        isinstance(node, ast.Name) and node.id == "module"
    )


def _has_text(node: ast.AST) -> bool:
    """A string, or a literal collection or mapping holding one."""
    return any(isinstance(n, ast.Constant) and isinstance(n.value, str) for n in ast.walk(node))


def test_nothing_outside_modules_compares_a_module_by_name() -> None:
    """`task.module == "user"` or `module in ("command", "shell")`, with any names."""
    found = []
    for path in _outside_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Compare):
                continue
            sides = (node.left, *node.comparators)
            if any(_names_module(s) for s in sides) and any(_has_text(s) for s in sides):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []


def test_the_registry_table_matches_what_the_modules_declare() -> None:
    for file, names in BUILTIN.items():
        classes = {cls for name, cls in registry().items() if name in names}
        declared = {n for cls in classes for n in (cls.name, *cls.aliases)}
        assert declared == set(names), file
        assert all(cls.__module__ == f"provisioner.modules.{file}" for cls in classes), file
