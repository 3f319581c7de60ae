"""docs/ansible-compatibility.md is what `provisioner.compat` renders from the code's
registries: every registered name is there as supported or partial, no note outlives
its name, and what a "not" row says happens is what the loader and the templates do."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioner import jinja
from provisioner.compat import NOT, PARTIAL, REGENERATE, SUPPORTED, Kind, kinds, notes, render
from provisioner.errors import PlaybookErrors, TemplateError
from provisioner.inventory import Host
from provisioner.modules import BUILTIN, PREFIXES
from provisioner.modules.unsupported import UnsupportedArgs, is_ansible_module, unsupported
from provisioner.playbook.compile import compile_host, default_login_user
from provisioner.playbook.entries import INCLUDE_KEYWORDS, ROLE_KEYS, ROLE_KEYWORDS, ROLE_OPTIONS
from provisioner.playbook.entries import TASK_FILE_KEYS as TASK_FILE_ENTRIES
from provisioner.playbook.load import IMPORT_PLAYBOOK, load_playbook
from provisioner.playbook.schema import (
    BLOCK_KEYWORDS,
    PLAY_KEYWORDS,
    TASK_KEYWORDS,
    RoleInfo,
    walk,
)
from provisioner.playbook.task import WITH_KEYS, module_class
from provisioner.playbook.variables import (
    HOST_MAGIC,
    MAGIC_VARIABLES,
    PLAY_MAGIC,
    ROLE_MAGIC,
    role_magic,
)
from provisioner.probes.host import ANSIBLE_NAMES
from provisioner.templating import Templar

DOC = Path(__file__).resolve().parents[2] / "docs" / "ansible-compatibility.md"
ROW = re.compile(r"^\| `(?P<name>.+?)` \| (?P<status>\w+) \| (?P<notes>.*) \|$")

# Every registry, read here on its own (not through provisioner.compat), by kind.
REGISTRIES: dict[str, tuple[str, ...]] = {
    "play": PLAY_KEYWORDS,
    "task": (*TASK_KEYWORDS, *WITH_KEYS),
    "block": BLOCK_KEYWORDS,
    "role": ROLE_KEYWORDS,
    "include": INCLUDE_KEYWORDS,
    "role_option": ROLE_OPTIONS,
    "module": (
        *(n for ns in BUILTIN.values() for n in ns),
        *TASK_FILE_ENTRIES,
        *ROLE_KEYS,
        IMPORT_PLAYBOOK,
    ),
    "filter": jinja.FILTERS,
    "test": jinja.TESTS,
    "lookup": jinja.LOOKUPS,
    "magic": MAGIC_VARIABLES,
    "fact": ANSIBLE_NAMES,
}


def _kinds() -> dict[str, Kind]:
    return {kind.key: kind for kind in kinds()}


def _doc_tables() -> dict[str, dict[str, tuple[str, str]]]:
    """The committed page's tables: section title → name → (status, notes)."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    section: dict[str, tuple[str, str]] | None = None
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            section = out.setdefault(line[3:], {})
        elif section is not None and (m := ROW.match(line)):
            section[m["name"]] = (m["status"], m["notes"])
    return out


def _rows(key: str) -> dict[str, tuple[str, str]]:
    return _doc_tables()[_kinds()[key].title]


def test_the_committed_page_is_what_the_registries_render() -> None:
    assert DOC.read_text() == render(), (
        f"docs/ansible-compatibility.md is out of date; regenerate it: {REGENERATE}"
    )


def test_the_page_lists_each_kind_once_with_every_row() -> None:
    tables = _doc_tables()
    assert list(tables) == [kind.title for kind in kinds()]
    for kind in kinds():
        assert {r.name for r in kind.rows} == set(tables[kind.title]), kind.key
        assert all(r.status in (SUPPORTED, PARTIAL, NOT) for r in kind.rows)


@pytest.mark.parametrize("key", sorted(REGISTRIES))
def test_every_registered_name_is_supported_or_partial(key: str) -> None:
    rows = _rows(key)
    for name in REGISTRIES[key]:
        if key == "module" and "." in name:  # `ansible.posix.sysctl`: the row of `sysctl`
            short = name.rsplit(".", 1)[-1]
            assert rows[short][0] in (SUPPORTED, PARTIAL), name
            assert name.startswith(PREFIXES) or f"`{name}`" in rows[short][1], name
            continue
        assert name in rows, f"{key} {name!r} is registered but not on the page"
        assert rows[name][0] in (SUPPORTED, PARTIAL), name


def test_a_name_is_partial_exactly_when_a_note_says_how_it_differs() -> None:
    for kind in kinds():
        for row in kind.rows:
            if row.status == NOT:
                assert row.name not in kind.ours and row.notes, row
            else:
                assert row.name in kind.ours, row


def test_no_note_is_left_for_a_name_no_registry_has() -> None:
    known = _kinds()
    for table in (notes.partial(), notes.remarks()):
        for key, named in table.items():
            assert key in known, key
            stale = sorted(set(named) - known[key].ours)
            assert stale == [], f"notes for {key} names no registry has: {stale}"
    assert set(notes.MISSING) | {"module"} == set(known)


KNOWN_NOT = [
    ("module", "apt"),
    ("module", "win_service"),
    ("task", "delegate_facts"),
    ("task", "with_sequence"),
    ("play", "vars_prompt"),
    ("block", "module_defaults"),
    ("role", "module_defaults"),
    ("include", "register"),
    ("role_option", "allow_duplicates"),
    ("filter", "to_datetime"),
    ("test", "reachable"),
    ("lookup", "sequence"),
    ("magic", "ansible_limit"),
    ("fact", "bios_date"),
]
KNOWN_SUPPORTED = [
    ("module", "copy"),
    ("module", "include_tasks"),
    ("task", "when"),
    ("task", "with_items"),
    ("play", "hosts"),
    ("filter", "combine"),
    ("filter", "default"),
    ("test", "version"),
    ("lookup", "file"),
    ("magic", "inventory_hostname"),
    ("fact", "distribution"),
]


@pytest.mark.parametrize(("key", "name"), KNOWN_NOT)
def test_what_we_know_we_lack_is_not(key: str, name: str) -> None:
    rows = _rows(key)
    if key == "module" and name.startswith("win_"):  # not in the table, and still loads
        assert name not in rows and is_ansible_module(name)
        return
    assert rows[name][0] == NOT


@pytest.mark.parametrize(("key", "name"), KNOWN_SUPPORTED)
def test_what_we_know_we_have_is_supported_or_partial(key: str, name: str) -> None:
    assert _rows(key)[name][0] in (SUPPORTED, PARTIAL)


def test_ours_only_names_are_marked() -> None:
    row = _rows("magic")["login_user"]
    assert row[0] == SUPPORTED and "ours only" in row[1]


# --- what a "not" row says happens is what happens -----------------------------------


def _lacking(key: str) -> list[str]:
    return [r.name for r in _kinds()[key].rows if r.status == NOT]


def _load_errors(tmp_path: Path, playbook: list[dict[str, Any]]) -> str:
    path = tmp_path / "site.yml"
    path.write_text(yaml.safe_dump(playbook))
    with pytest.raises(PlaybookErrors) as exc:
        load_playbook(path)
    return str(exc.value)


def _note(key: str, name: str) -> str:
    """The row's text before its parenthesis (the message itself)."""
    return _rows(key)[name][1].removeprefix("a load error: ").split(" (")[0]


def test_lacking_keywords_are_the_load_errors_the_page_says(tmp_path: Path) -> None:
    (tmp_path / "t.yml").write_text("- debug: {msg: hi}\n")
    unknown = {
        "play": {name: None for name in _lacking("play")},
        "task": {name: None for name in _lacking("task")},
        "block": {name: None for name in _lacking("block")},
        "include": {name: None for name in _lacking("include")},
    }
    play = {
        "hosts": "all",
        **unknown["play"],
        "tasks": [
            {"debug": {"msg": "hi"}, **unknown["task"]},
            {"block": [{"debug": {"msg": "hi"}}], **unknown["block"]},
            {"include_tasks": "t.yml", **unknown["include"]},
        ],
    }
    errors = _load_errors(tmp_path, [play])
    for key, names_ in unknown.items():
        assert names_, key
        for name in names_:
            assert _note(key, name) in errors, (key, name)


@pytest.mark.parametrize("option", ["allow_duplicates", "rolespec_validate"])
def test_lacking_role_options_are_load_errors(tmp_path: Path, option: str) -> None:
    assert option in _lacking("role_option")
    (tmp_path / "roles" / "r" / "tasks").mkdir(parents=True)
    (tmp_path / "roles" / "r" / "tasks" / "main.yml").write_text("- debug: {msg: hi}\n")
    task = {"include_role": {"name": "r", option: True}}
    errors = _load_errors(tmp_path, [{"hosts": "all", "tasks": [task]}])
    assert _note("role_option", option) in errors


def test_lacking_role_keywords_become_role_parameters(tmp_path: Path) -> None:
    (tmp_path / "roles" / "r" / "tasks").mkdir(parents=True)
    (tmp_path / "roles" / "r" / "tasks" / "main.yml").write_text("- debug: {msg: hi}\n")
    lacking = _lacking("role")
    path = tmp_path / "site.yml"
    ref = {"role": "r", **{name: 1 for name in lacking}}
    path.write_text(yaml.safe_dump([{"hosts": "all", "roles": [ref]}]))
    (play,) = load_playbook(path).plays
    assert set(play.roles[0].params) == set(lacking)


def test_lacking_modules_load_and_fail_where_they_run_or_are_load_errors(
    tmp_path: Path,
) -> None:
    lacking = _lacking("module")
    loads = [name for name in lacking if is_ansible_module(name)]
    refused = [name for name in lacking if not is_ansible_module(name)]
    for name in loads:
        assert "not supported yet" in _rows("module")[name][1]
        cls = unsupported(name)
        assert module_class(name) is cls
        verdict = cls(UnsupportedArgs()).evaluate(_Host())
        assert verdict.failed and f"module '{name}' is not supported yet" in verdict.msg
    tasks = [{name: None} for name in loads + refused]
    errors = _load_errors(tmp_path, [{"hosts": "all", "tasks": tasks}]) if refused else ""
    for name in refused:
        assert _note("module", name) in errors
    for name in loads:
        assert f"'{name}'" not in errors


def test_the_entries_work_by_their_ansible_builtin_names_too(tmp_path: Path) -> None:
    (tmp_path / "t.yml").write_text("- debug: {msg: hi}\n")
    (tmp_path / "roles" / "r" / "tasks").mkdir(parents=True)
    (tmp_path / "roles" / "r" / "tasks" / "main.yml").write_text("- debug: {msg: hi}\n")
    rows = _rows("module")
    for entry in (*TASK_FILE_ENTRIES, *ROLE_KEYS):
        assert rows[entry][0] == SUPPORTED
        target: Any = "t.yml" if entry in TASK_FILE_ENTRIES else {"name": "r"}
        path = tmp_path / "site.yml"
        path.write_text(
            yaml.safe_dump([{"hosts": "all", "tasks": [{f"ansible.builtin.{entry}": target}]}])
        )
        [play] = load_playbook(path).plays
        assert all(t.module == "debug" for t in walk(play.tasks)), entry
    path = tmp_path / "site.yml"
    path.write_text(yaml.safe_dump([{f"ansible.builtin.{IMPORT_PLAYBOOK}": "other.yml"}]))
    (tmp_path / "other.yml").write_text("- hosts: all\n  tasks: [{debug: {msg: hi}}]\n")
    assert len(load_playbook(path).plays) == 1


class _Host:
    def evaluate(self, expression: str | bool) -> Any:
        return "h1"

    def truthy(self, expression: str | bool) -> bool:
        return True


@pytest.mark.parametrize(
    ("key", "template", "message"),
    [
        ("filter", "{{ 1 | NAME }}", "No filter named 'NAME'"),
        ("test", "{{ 1 is NAME }}", "No test named 'NAME'"),
        ("lookup", "{{ query('NAME') }}", "unknown lookup 'NAME'"),
        ("magic", "{{ NAME }}", "'NAME' is undefined"),
        ("fact", "{{ ansible_NAME }}", "'ansible_NAME' is undefined"),
    ],
)
def test_lacking_template_names_are_the_errors_the_page_says(
    key: str, template: str, message: str
) -> None:
    lacking = [n for n in _lacking(key) if not n.startswith("<")]  # `<interface>`: a stand-in
    assert lacking
    for name in lacking:
        expected = message.replace("NAME", name)
        assert expected in _rows(key)[name][1], (key, name)
        with pytest.raises(TemplateError) as exc:
            Templar({}).render(template.replace("NAME", name))
        assert expected in str(exc.value), (key, name)


# --- the magic variables' registry is what the compiler sets ---------------------------


def test_the_magic_variables_are_those_the_compiler_sets(tmp_path: Path) -> None:
    path = tmp_path / "site.yml"
    path.write_text("- hosts: all\n  tasks: [{debug: {msg: hi}}]\n")
    (play,) = load_playbook(path).plays
    plan = compile_host(
        play,
        Host("web1.example"),
        {},
        login_user=default_login_user,
        check=False,
        registers=frozenset(),
    )
    assert set(plan.layers["magic"]) == {*HOST_MAGIC, *PLAY_MAGIC}
    assert set(role_magic(RoleInfo("r", tmp_path))) == set(ROLE_MAGIC)
    assert set(MAGIC_VARIABLES) >= {*HOST_MAGIC, *PLAY_MAGIC, *ROLE_MAGIC}
    assert len(MAGIC_VARIABLES) == len(set(MAGIC_VARIABLES))
