"""lookup()/query() and the lookups roles use, against controller files in tmp_path:
a role (roles/web) and the playbook's folder (play), searched in that order."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import TemplateError
from provisioner.jinja.lookups import SCOPE_KEY
from provisioner.templating import Data, Templar
from tests.unit.test_runner import lab, play, run

__all__ = ["lab"]  # the fixture, shared with test_runner


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    """(role, play), with files in the places roles keep them."""
    role, play = tmp_path / "play" / "roles" / "web", tmp_path / "play"
    _write(role / "files" / "motd.txt", "Welcome to web\n\n")
    _write(role / "files" / "only-role.txt", "role file\n")
    _write(role / "beside.txt", "in the role's folder\n")
    _write(play / "files" / "motd.txt", "play motd\n")
    _write(play / "files" / "only-play.txt", "play file\n")
    _write(play / "files" / "braces.txt", "{{ secret }}\n")
    _write(
        role / "templates" / "motd.j2", "Host {{ inventory_hostname }} ({{ ports | join(',') }})\n"
    )
    _write(role / "templates" / "with-vars.j2", "{{ colour }}/{{ shape }}")
    _write(role / "templates" / "broken.j2", "line one\n{{ nope }}\n")
    _write(role / "templates" / "out.j2", "{{ r.stdout }}")
    _write(role / "vars" / "CentOS.yml", "x: 1\n")
    _write(role / "vars" / "main.yml", "x: 0\n")
    _write(play / "vars" / "Debian.yml", "x: 2\n")
    _write(role / "tasks" / "setup.yml", "- debug: {}\n")
    _write(play / "extra" / "site.yml", "x: 3\n")
    return role, play


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    expected: Any  # "{role}" and "{play}" stand for the folders
    vars: dict[str, Any] = field(default_factory=dict)


VARS = {
    "inventory_hostname": "web1",
    "ports": [80, 443],
    "ansible_facts": {"distribution": "CentOS", "os_family": "RedHat"},
    "name": "ports",
    "greeting": "hello {{ inventory_hostname }}",
    "secret": "s3cret",
    "colour": "red",
}
PARAMS = {"files": ["{{ansible_facts.distribution}}.yml", "main.yml"], "paths": ["vars"]}

CASES = [
    # file
    Case("file in the role's files/", "{{ lookup('file', 'motd.txt') }}", "Welcome to web"),
    Case(
        "file falls back to the playbook's files/",
        "{{ lookup('file', 'only-play.txt') }}",
        "play file",
    ),
    Case("file beside the role", "{{ lookup('file', 'beside.txt') }}", "in the role's folder"),
    Case("file named with files/", "{{ lookup('file', 'files/only-role.txt') }}", "role file"),
    Case("file absolute", "{{ lookup('file', play ~ '/files/only-play.txt') }}", "play file"),
    Case(
        "file keeps the end with rstrip=false",
        "{{ lookup('file', 'motd.txt', rstrip=false) }}",
        "Welcome to web\n\n",
    ),
    Case(
        "several files joined by commas",
        "{{ lookup('file', 'only-role.txt', 'only-play.txt') }}",
        "role file,play file",
    ),
    Case(
        "query gives a list",
        "{{ query('file', 'only-role.txt', 'only-play.txt') }}",
        ["role file", "play file"],
    ),
    Case("q is query", "{{ q('file', 'only-role.txt') }}", ["role file"]),
    Case("wantlist", "{{ lookup('file', 'only-role.txt', wantlist=True) }}", ["role file"]),
    Case("a file's braces are not rendered", "{{ lookup('file', 'braces.txt') }}", "{{ secret }}"),
    Case(
        "ansible.builtin names",
        "{{ lookup('ansible.builtin.file', 'only-role.txt') }}",
        "role file",
    ),
    # template
    Case(
        "template with the variables", "{{ lookup('template', 'motd.j2') }}", "Host web1 (80,443)\n"
    ),
    Case(
        "template_vars",
        "{{ lookup('template', 'with-vars.j2', template_vars={'shape': 'square'}) }}",
        "red/square",
    ),
    Case(
        "template_vars win",
        "{{ lookup('template', 'with-vars.j2', template_vars={'shape': 1, 'colour': 'blue'}) }}",
        "blue/1",
    ),
    Case(
        "host data in a template stays data",
        "{{ lookup('template', 'out.j2') }}",
        "{{ secret }}",
        {"r": Data({"stdout": "{{ secret }}"})},
    ),
    # first_found
    Case(
        "first_found a list",
        "{{ lookup('first_found', ['nope.txt', 'only-play.txt']) }}",
        "{play}/files/only-play.txt",
    ),
    Case(
        "first_found terms",
        "{{ lookup('first_found', 'nope.txt', 'motd.txt') }}",
        "{role}/files/motd.txt",
    ),
    Case(
        "first_found vars/ without paths",
        "{{ lookup('first_found', 'Debian.yml') }}",
        "{play}/vars/Debian.yml",
    ),
    Case(
        "first_found tasks/ without paths",
        "{{ lookup('first_found', 'setup.yml') }}",
        "{role}/tasks/setup.yml",
    ),
    Case(
        "first_found files+paths as roles write it",
        "{{ lookup('first_found', params) }}",
        "{role}/vars/CentOS.yml",
        {"params": PARAMS},
    ),
    Case(
        "first_found falls to the next file",
        "{{ lookup('first_found', params) }}",
        "{role}/vars/main.yml",
        {"params": PARAMS, "ansible_facts": {"distribution": "Ubuntu"}},
    ),
    Case(
        "first_found a file's order wins over the folders'",
        "{{ lookup('first_found', ['only-play.txt', 'only-role.txt']) }}",
        "{play}/files/only-play.txt",
    ),
    Case(
        "first_found keyword files and paths",
        "{{ lookup('first_found', files=['site.yml'], paths=['extra']) }}",
        "{play}/extra/site.yml",
    ),
    Case(
        "first_found paths split on :",
        "{{ lookup('first_found', {'files': 'site.yml', 'paths': 'nope:extra'}) }}",
        "{play}/extra/site.yml",
    ),
    Case(
        "first_found files split on ,",
        "{{ lookup('first_found', {'files': 'x.yml,Debian.yml', 'paths': ['vars']}) }}",
        "{play}/vars/Debian.yml",
    ),
    Case(
        "first_found an absolute path",
        "{{ lookup('first_found', [play ~ '/extra/site.yml']) }}",
        "{play}/extra/site.yml",
    ),
    Case("first_found query", "{{ query('first_found', 'motd.txt') }}", ["{role}/files/motd.txt"]),
    Case(
        "first_found skip: lookup gives ''",
        "{{ lookup('first_found', {'files': ['x'], 'skip': true}) }}",
        "",
    ),
    Case("first_found skip: query gives []", "{{ query('first_found', ['x'], skip=true) }}", []),
    Case("first_found errors=ignore", "{{ lookup('first_found', ['x'], errors='ignore') }}", ""),
    # env, vars
    Case("env", "{{ lookup('env', 'PROVISION_TEST_VALUE') }}", "from env"),
    Case("env unset is ''", "{{ lookup('env', 'PROVISION_TEST_UNSET') }}", ""),
    Case("env default", "{{ lookup('env', 'PROVISION_TEST_UNSET', default='dflt') }}", "dflt"),
    Case(
        "env several",
        "{{ query('env', 'PROVISION_TEST_VALUE', 'PROVISION_TEST_UNSET') }}",
        ["from env", ""],
    ),
    Case("vars by a computed name", "{{ lookup('vars', 'po' ~ 'rts') }}", [80, 443]),
    Case("vars by a variable's value", "{{ lookup('vars', name) }}", [80, 443]),
    Case("vars renders the value", "{{ lookup('vars', 'greeting') }}", "hello web1"),
    Case("vars default", "{{ lookup('vars', 'nope', default='d') }}", "d"),
    Case("vars of host data", "{{ lookup('vars', 'r').rc }}", 0, {"r": Data({"rc": 0})}),
    # pipe, lines
    Case("pipe", "{{ lookup('pipe', 'echo hello; echo') }}", "hello"),
    Case("pipe quote", "{{ lookup('pipe', 'printf %s ' ~ (\"a b'c\" | quote)) }}", "a b'c"),
    Case(
        "pipe runs in the playbook's folder",
        "{{ lookup('pipe', 'cat files/only-play.txt') }}",
        "play file",
    ),
    Case("lines", "{{ query('lines', 'printf \"a\\nb\\n\"') }}", ["a", "b"]),
    # items, dict, list, indexed_items
    Case("items flattens one level", "{{ query('items', [1, [2, [3]]], 4) }}", [1, [2, [3]], 4]),
    Case("items of two lists", "{{ query('items', [1, 2], [3]) }}", [1, 2, 3]),
    Case("items as lookup", "{{ lookup('items', [1, 2]) }}", [1, 2]),
    Case(
        "dict",
        "{{ query('dict', {'a': 1, 'b': 2}) }}",
        [{"key": "a", "value": 1}, {"key": "b", "value": 2}],
    ),
    Case("one dict item is itself", "{{ lookup('dict', {'a': 1}) }}", {"key": "a", "value": 1}),
    Case("list", "{{ query('list', [1, 2], 3) }}", [[1, 2], 3]),
    Case("indexed_items", "{{ query('indexed_items', ['a', 'b']) }}", [[0, "a"], [1, "b"]]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_lookup(case: Case, dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    role, play = dirs
    monkeypatch.setenv("PROVISION_TEST_VALUE", "from env")
    monkeypatch.delenv("PROVISION_TEST_UNSET", raising=False)
    t = Templar({**VARS, "play": str(play), **case.vars}, search=(role, play))
    assert t.render(case.text) == _placed(case.expected, role, play)


def _placed(value: Any, role: Path, play: Path) -> Any:
    if isinstance(value, str):
        return value.replace("{role}", str(role)).replace("{play}", str(play))
    if isinstance(value, list):
        return [_placed(v, role, play) for v in value]
    return value


def test_without_search_paths_the_current_folder_is_the_base(
    dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(dirs[1])
    t = Templar({})
    assert t.render("{{ lookup('file', 'only-play.txt') }}") == "play file"
    assert t.render("{{ lookup('first_found', 'Debian.yml') }}") == str(
        dirs[1] / "vars" / "Debian.yml"
    )


def test_search_paths_reach_loop_items_and_variables(dirs: tuple[Path, Path]) -> None:
    role, play = dirs
    t = Templar({"banner": "{{ lookup('file', 'motd.txt') }}"}, search=(role, play))
    assert t.child({"item": Data("x")}).render("{{ banner }} {{ item }}") == "Welcome to web x"


def test_a_missing_file_says_where_it_looked(dirs: tuple[Path, Path]) -> None:
    role, play = dirs
    with pytest.raises(TemplateError) as exc:
        Templar({}, search=(role, play)).render("{{ lookup('file', 'nope.txt') }}")
    message = str(exc.value)
    assert message.startswith(
        "template error: lookup 'file': could not find 'nope.txt'; looked in: "
    )
    for place in (role / "files", role, play / "files", play):
        assert str(place / "nope.txt") in message
    assert message.endswith("in \"lookup('file', 'nope.txt')\"")


def test_first_found_says_where_it_looked(dirs: tuple[Path, Path]) -> None:
    role, play = dirs
    with pytest.raises(TemplateError) as exc:
        Templar({"params": PARAMS | {"files": ["Arch.yml"]}}, search=(role, play)).render(
            "{{ lookup('first_found', params) }}"
        )
    message = str(exc.value)
    assert "lookup 'first_found': none of the files was found; looked in: " in message
    assert str(role / "vars" / "Arch.yml") in message and str(play / "vars" / "Arch.yml") in message
    assert str(role / "files" / "vars" / "Arch.yml") in message


def test_an_error_in_a_template_names_its_file_and_line(dirs: tuple[Path, Path]) -> None:
    role, play = dirs
    with pytest.raises(TemplateError) as exc:
        Templar({}, search=(role, play)).render("{{ lookup('template', 'broken.j2') }}")
    assert (
        str(exc.value)
        == f"{role / 'templates' / 'broken.j2'}:2: 'nope' is undefined in '{{{{ nope }}}}'"
    )


def test_a_template_that_looks_itself_up_is_reported(dirs: tuple[Path, Path]) -> None:
    role, play = dirs
    _write(role / "templates" / "self.j2", "{{ page }}")
    t = Templar({"page": "{{ lookup('template', 'self.j2') }}"}, search=(role, play))
    with pytest.raises(TemplateError, match="refers to itself: page → page"):
        t.render("{{ page }}")


ERRORS = [
    ("{{ lookup('nope', 'x') }}", "unknown lookup 'nope' (known: dict, env, file"),
    (
        "{{ lookup('file', 'motd.txt', strip=true) }}",
        "lookup 'file': unknown option strip (it takes: rstrip, lstrip)",
    ),
    (
        "{{ lookup('pipe', 'echo oops >&2; exit 3') }}",
        "lookup 'pipe': command 'echo oops >&2; exit 3' exited with 3: oops",
    ),
    ("{{ lookup('vars', 'nope') }}", "lookup 'vars': no variable named 'nope'"),
    (
        "{{ lookup('vars', 'provisioner:lookup-scope') }}",
        "no variable named 'provisioner:lookup-scope'",
    ),
    ("{{ lookup('dict', [1]) }}", "lookup 'dict': the dict lookup takes dicts, got list"),
    ("{{ lookup('first_found', {'file': 'x'}) }}", "lookup 'first_found': unknown key(s) file"),
    ("{{ lookup('file', 'x', errors='loud') }}", "errors must be strict, warn or ignore"),
    ("{{ lookup('template', 'with-vars.j2', template_vars=[1]) }}", "template_vars must be a dict"),
]


@pytest.mark.parametrize(("text", "words"), ERRORS, ids=[e[0] for e in ERRORS])
def test_a_failed_lookup_names_the_lookup_and_the_text(
    text: str, words: str, dirs: tuple[Path, Path]
) -> None:
    with pytest.raises(TemplateError) as exc:
        Templar({}, search=dirs).render(text)
    assert words in str(exc.value) and str(exc.value).endswith(f"in {text[3:-3]!r}")


def test_errors_ignore_gives_empty_results(dirs: tuple[Path, Path]) -> None:
    t = Templar({}, search=dirs)
    assert t.render("{{ lookup('file', 'nope', errors='ignore') }}") == ""
    assert t.render("{{ query('pipe', 'exit 1', errors='warn') }}") == []


def test_pipe_runs_at_each_render(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    counter = tmp_path / "count"
    t = Templar({}, search=dirs)
    text = "{{ lookup('pipe', 'echo x >> " + str(counter) + "; wc -l < " + str(counter) + "') }}"
    assert [t.render(text), t.render(text)] == ["1", "2"]


def test_the_scope_is_behind_an_attribute_the_sandbox_refuses(dirs: tuple[Path, Path]) -> None:
    """The context holds it under a name no template can write; were it reached anyway,
    its one attribute starts with `_`."""
    t = Templar({}, search=dirs)
    hidden = t._context(frozenset())[SCOPE_KEY]
    with pytest.raises(TemplateError, match="sandbox|unsafe|attribute"):
        Templar({"h": Data(hidden)}).render("{{ h._scope.render_file('{{ 1 }}', 'x', {}) }}")


def test_a_roles_tasks_find_the_roles_files_whatever_the_current_folder(
    lab: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Through a real run: the compiled task's Templar searches the role, then the play."""
    root: Path = lab["dir"]
    _write(root / "roles" / "r" / "vars" / "main.yml", "pkgs: main\n")
    _write(root / "roles" / "r" / "vars" / "Special.yml", "pkgs: special\n")
    _write(root / "roles" / "r" / "files" / "motd.txt", "role motd\n")
    _write(root / "files" / "banner.txt", "play banner\n")
    _write(
        root / "roles" / "r" / "tasks" / "main.yml",
        "- include_vars: \"{{ lookup('first_found', params) }}\"\n"
        "- debug: {msg: \"{{ pkgs }} {{ lookup('file', 'motd.txt') }}"
        " {{ lookup('file', 'banner.txt') }}\"}\n",
    )
    book = play(
        root,
        "- hosts: h1\n  vars:\n    kind: Special\n"
        "    params: {files: ['{{ kind }}.yml', main.yml], paths: [vars]}\n  roles: [r]\n",
    )
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    summary = run(lab, book)
    assert [r.msg for r in summary.results if r.msg] == ["special role motd play banner"]
