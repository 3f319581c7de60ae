"""Ansible's filters (and the Jinja2 ones roles use) give Ansible's documented results.

Each case is a template as Jinja2 receives it (after YAML: `'\\1'` in a YAML
double-quoted string is `'\1'` here), the variables, and the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from provisioner.errors import TemplateError
from provisioner.templating import Data, Templar
from provisioner.yamlmarks import load_yaml_text


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    expected: Any
    vars: dict[str, Any] = field(default_factory=dict)


USERS = [
    {"name": "alice", "groups": ["wheel"], "shell": "/bin/bash", "uid": 1001},
    {"name": "bob", "groups": [], "shell": "/bin/sh", "uid": 1002},
    {"name": "carol", "groups": ["docker", "wheel"], "shell": "/bin/bash", "uid": 1003},
]
FACTS = {"ansible_facts": {"distribution": "CentOS", "distribution_major_version": "7"}}

CASES = [
    # default / d
    Case("default on undefined", "{{ missing | default('x') }}", "x"),
    Case("d is default", "{{ missing | d(3) }}", 3),
    Case("default on a defined value", "{{ v | default('x') }}", "", {"v": ""}),
    Case("default true also for falsy", "{{ v | default('x', true) }}", "x", {"v": ""}),
    Case("default true keeps truthy", "{{ v | default('x', true) }}", "v", {"v": "v"}),
    Case("default on an undefined nested attribute", "{{ a.b.c | default('n') }}", "n"),
    Case("default on a missing key", "{{ d.nope | default(1) }}", 1, {"d": {"k": 2}}),
    Case("default on a missing key below", "{{ d.k.x.y | default(1) }}", 1, {"d": {"k": {}}}),
    Case("default on a fact not there", "{{ ansible_facts.selinux | default({}) }}", {}, FACTS),
    # bool
    Case("bool yes", "{{ 'yes' | bool }}", True),
    Case("bool no", "{{ 'no' | bool }}", False),
    Case("bool True word", "{{ 'True' | bool }}", True),
    Case("bool on", "{{ 'on' | bool }}", True),
    Case("bool 1", "{{ 1 | bool }}", True),
    Case("bool 0", "{{ 0 | bool }}", False),
    Case("bool '1'", "{{ '1' | bool }}", True),
    Case("bool other words are false", "{{ 'maybe' | bool }}", False),
    Case("bool of a bool", "{{ false | bool }}", False),
    # int / float / string
    Case("int of '08'", "{{ '08' | int }}", 8),
    Case("int of '0755' is decimal", "{{ '0755' | int }}", 755),
    Case("int of '0755' base 8", "{{ '0755' | int(base=8) }}", 493),
    Case("int of hex", "{{ '0x1A' | int(base=16) }}", 26),
    Case("int of junk is 0", "{{ 'abc' | int }}", 0),
    Case("int of junk with a default", "{{ 'abc' | int(7) }}", 7),
    Case("int of a float string", "{{ '3.7' | int }}", 3),
    Case("float", "{{ '1.5' | float }}", 1.5),
    Case("string", "{{ 5 | string }}", "5"),
    Case("lower upper", "{{ 'MiX' | lower }}-{{ 'MiX' | upper }}", "mix-MIX"),
    # lists
    Case("length", "{{ [1, 2, 3] | length }}", 3),
    Case("join", "{{ ['a', 'b'] | join(',') }}", "a,b"),
    Case("list of a string", "{{ 'ab' | list }}", ["a", "b"]),
    Case("unique keeps order", "{{ [1, 2, 5, 1, 3, 4, 10] | unique }}", [1, 2, 5, 3, 4, 10]),
    Case("unique case-insensitive", "{{ ['b', 'B', 'b'] | unique }}", ["b"]),
    Case(
        "unique case_sensitive", "{{ ['a', 'A', 'a'] | unique(case_sensitive=true) }}", ["a", "A"]
    ),
    Case("union", "{{ [1, 2] | union([2, 3]) }}", [1, 2, 3]),
    Case("intersect", "{{ [1, 2, 3] | intersect([3, 2, 9]) }}", [2, 3]),
    Case("difference", "{{ [1, 2, 3] | difference([2]) }}", [1, 3]),
    Case("symmetric_difference", "{{ [1, 2, 3] | symmetric_difference([3, 4]) }}", [1, 2, 4]),
    Case(
        "set filters on dicts",
        "{{ [{'a': 1}] | union([{'a': 1}, {'b': 2}]) }}",
        [{"a": 1}, {"b": 2}],
    ),
    Case("flatten all", "{{ [1, 2, [3, [4, 5]], 6] | flatten }}", [1, 2, 3, 4, 5, 6]),
    Case("flatten levels=1", "{{ [1, 2, [3, [4, 5]], 6] | flatten(1) }}", [1, 2, 3, [4, 5], 6]),
    Case("flatten levels=2", "{{ [[1, [2, [3]]]] | flatten(levels=2) }}", [1, 2, [3]]),
    Case("flatten drops nulls", "{{ [1, none, [2, none]] | flatten }}", [1, 2]),
    Case("flatten keeps nulls", "{{ [1, none] | flatten(skip_nulls=false) }}", [1, None]),
    Case("min max sum", "{{ [3, 1, 2] | min }}{{ [3, 1, 2] | max }}{{ [3, 1, 2] | sum }}", "136"),
    Case("first last", "{{ [3, 1, 2] | first }}{{ [3, 1, 2] | last }}", "32"),
    Case("sort", "{{ ['b', 'a', 'c'] | sort }}", ["a", "b", "c"]),
    Case(
        "sort by attribute",
        "{{ users | sort(attribute='uid', reverse=true) | map(attribute='name') | list }}",
        ["carol", "bob", "alice"],
        {"users": USERS},
    ),
    Case("zip", "{{ [1, 2, 3] | zip(['a', 'b', 'c']) }}", [[1, "a"], [2, "b"], [3, "c"]]),
    Case("zip shortest", "{{ [1, 2, 3] | zip(['a']) }}", [[1, "a"]]),
    Case("zip three", "{{ [1, 2] | zip(['a', 'b'], ['x', 'y']) }}", [[1, "a", "x"], [2, "b", "y"]]),
    Case("dict of a zip", "{{ dict(['k1', 'k2'] | zip([1, 2])) }}", {"k1": 1, "k2": 2}),
    # dicts
    Case("combine", "{{ {'a': 1, 'b': 2} | combine({'b': 3, 'c': 4}) }}", {"a": 1, "b": 3, "c": 4}),
    Case("combine many", "{{ {'a': 1} | combine({'a': 2}, {'a': 3}) }}", {"a": 3}),
    Case("combine a list of dicts", "{{ [{'a': 1}, {'b': 2}] | combine }}", {"a": 1, "b": 2}),
    Case(
        "combine not recursive replaces",
        "{{ {'a': {'b': 1, 'c': 2}} | combine({'a': {'c': 20}}) }}",
        {"a": {"c": 20}},
    ),
    Case(
        "combine recursive",
        "{{ {'a': {'b': 3, 'c': 4}, 'd': 5} | combine({'a': {'c': 20}}, recursive=true) }}",
        {"a": {"b": 3, "c": 20}, "d": 5},
    ),
    Case("combine lists replace", "{{ {'l': [1, 2]} | combine({'l': [3]}) }}", {"l": [3]}),
    Case(
        "combine lists append",
        "{{ {'l': [1, 2]} | combine({'l': [2, 3]}, list_merge='append') }}",
        {"l": [1, 2, 2, 3]},
    ),
    Case(
        "combine lists prepend",
        "{{ {'l': [1]} | combine({'l': [2]}, list_merge='prepend') }}",
        {"l": [2, 1]},
    ),
    Case(
        "combine lists keep",
        "{{ {'l': [1]} | combine({'l': [2]}, list_merge='keep') }}",
        {"l": [1]},
    ),
    Case(
        "combine lists append_rp",
        "{{ {'l': [1, 2]} | combine({'l': [2, 3]}, list_merge='append_rp') }}",
        {"l": [1, 2, 3]},
    ),
    Case(
        "combine recursive append deep",
        "{{ {'a': {'l': [1]}} | combine({'a': {'l': [2]}}, recursive=true, list_merge='append') }}",
        {"a": {"l": [1, 2]}},
    ),
    Case(
        "dict2items",
        "{{ {'a': 1, 'b': 2} | dict2items }}",
        [{"key": "a", "value": 1}, {"key": "b", "value": 2}],
    ),
    Case(
        "dict2items names",
        "{{ {'a': 1} | dict2items(key_name='k', value_name='v') }}",
        [{"k": "a", "v": 1}],
    ),
    Case("items2dict", "{{ [{'key': 'a', 'value': 1}] | items2dict }}", {"a": 1}),
    Case(
        "items2dict names",
        "{{ [{'n': 'a', 'v': 1}] | items2dict(key_name='n', value_name='v') }}",
        {"a": 1},
    ),
    # select, map (Jinja2's, with Ansible's tests)
    Case(
        "selectattr equalto",
        "{{ users | selectattr('shell', 'equalto', '/bin/bash') | map(attribute='name') | list }}",
        ["alice", "carol"],
        {"users": USERS},
    ),
    Case(
        "selectattr match",
        "{{ users | selectattr('name', 'match', '^[ab]') | map(attribute='uid') | list }}",
        [1001, 1002],
        {"users": USERS},
    ),
    Case(
        "rejectattr search",
        "{{ users | rejectattr('shell', 'search', 'bash') | map(attribute='name') | join }}",
        "bob",
        {"users": USERS},
    ),
    Case(
        "selectattr defined then truthy",
        "{{ users | selectattr('groups') | map(attribute='name') | list }}",
        ["alice", "carol"],
        {"users": USERS},
    ),
    Case(
        "selectattr contains",
        "{{ users | selectattr('groups', 'contains', 'docker') | map(attribute='name') | first }}",
        "carol",
        {"users": USERS},
    ),
    Case("map a filter", "{{ ['1', '2'] | map('int') | sum }}", 3),
    Case(
        "map regex_replace",
        "{{ ['a.x', 'b.x'] | map('regex_replace', '\\.x$', '') | list }}",
        ["a", "b"],
    ),
    Case(
        "select a test", "{{ ['a1', 'b', 'c2'] | select('search', '[0-9]') | list }}", ["a1", "c2"]
    ),
    Case(
        "map on host data",
        "{{ r.results | map(attribute='item') | list }}",
        ["x", "y"],
        {"r": Data({"results": [{"item": "x"}, {"item": "y"}]})},
    ),
    # regular expressions
    Case("regex_replace", r"{{ 'ansible' | regex_replace('^a.*i(.*)$', 'a\1') }}", "able"),
    Case(
        "regex_replace named",
        r"{{ 'localhost:80' | regex_replace('^(?P<host>.+):(?P<port>\d+)$', "
        r"'\g<host>, \g<port>') }}",
        "localhost, 80",
    ),
    Case(
        "regex_replace multiline ignorecase",
        "{{ 'CAR\ntar\nfoo\nbar\n' | regex_replace('^(.ar)$', '#\\1', "
        "multiline=True, ignorecase=True) }}",
        "#CAR\n#tar\nfoo\n#bar\n",
        {},
    ),
    Case(
        "regex_replace count",
        "{{ 'foo=bar=baz' | regex_replace('=', ':', count=1) }}",
        "foo:bar=baz",
    ),
    Case("regex_replace no match", "{{ 'abc' | regex_replace('x', 'y') }}", "abc"),
    Case(
        "regex_search", "{{ 'server1/database42' | regex_search('database[0-9]+') }}", "database42"
    ),
    Case(
        "regex_search inline flag",
        "{{ 'sErver1/database42' | regex_search('(?i)server([0-9]+)') }}",
        "sErver1",
    ),
    Case(
        "regex_search flags",
        "{{ 'foo\nBAR' | regex_search('^bar', multiline=True, ignorecase=True) }}",
        "BAR",
    ),
    Case(
        "regex_search groups",
        r"{{ 'server1/database42' | regex_search('server([0-9]+)/database([0-9]+)', '\1', '\2') }}",
        ["1", "42"],
    ),
    Case(
        "regex_search named groups",
        r"{{ '21/42' | regex_search('(?P<dividend>[0-9]+)/(?P<divisor>[0-9]+)', "
        r"'\g<dividend>', '\g<divisor>') }}",
        ["21", "42"],
    ),
    Case("regex_search no match is None", "{{ 'abc' | regex_search('x') }}", None),
    Case("regex_search no match is none", "{{ 'abc' | regex_search('x') is none }}", True),
    Case(
        "regex_findall",
        "{{ 'CAR\ntar\nfoo\nbar\n' | regex_findall('^.ar$', multiline=True, ignorecase=True) }}",
        ["CAR", "tar", "bar"],
    ),
    Case(
        "regex_findall ips",
        r"{{ 'DNS 8.8.8.8 and 8.8.4.4' | regex_findall('\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b') }}",
        ["8.8.8.8", "8.8.4.4"],
    ),
    Case("regex_escape", "{{ '^f.*o(.*)$' | regex_escape }}", r"\^f\.\*o\(\.\*\)\$"),
    Case(
        "regex_escape posix_basic",
        "{{ '^f.*o(.*)$' | regex_escape('posix_basic') }}",
        r"\^f\.\*o(\.\*)\$",
    ),
    # conditionals
    Case("ternary true", "{{ (1 < 2) | ternary('rw', 'dp') }}", "rw"),
    Case("ternary false", "{{ false | ternary('rw', 'dp') }}", "dp"),
    Case("ternary none_val", "{{ none | ternary('t', 'f', 'n') }}", "n"),
    Case("ternary none without none_val", "{{ none | ternary('t', 'f') }}", "f"),
    Case("mandatory passes a value", "{{ v | mandatory }}", 1, {"v": 1}),
    # strings and paths
    Case("basename", "{{ '/etc/asdf/foo.txt' | basename }}", "foo.txt"),
    Case("dirname", "{{ '/etc/asdf/foo.txt' | dirname }}", "/etc/asdf"),
    Case("splitext", "{{ '/etc/my.conf' | splitext }}", ("/etc/my", ".conf")),
    Case("splitext index", "{{ ('x.tar.gz' | splitext)[1] }}", ".gz"),
    Case("split", "{{ 'a,b,c' | split(',') }}", ["a", "b", "c"]),
    Case("indent", "{{ 'a\nb' | indent(2) }}", "a\n  b"),
    Case("indent first", "{{ 'a\nb' | indent(2, true) }}", "  a\n  b"),
    Case("trim", "{{ '  a  ' | trim }}", "a"),
    Case("quote", '{{ "it\'s $HOME" | quote }}', "'it'\"'\"'s $HOME'"),
    Case("quote plain word", "{{ 'abc' | quote }}", "abc"),
    Case("quote none", "{{ none | quote }}", "''"),
    Case("comment", "{{ 'Plain style (default)' | comment }}", "#\n# Plain style (default)\n#"),
    Case("comment lines", "{{ 'a\n\nb' | comment }}", "#\n# a\n#\n# b\n#"),
    Case("comment c", "{{ 'x' | comment('c') }}", "//\n// x\n//"),
    Case("comment cblock", "{{ 'x' | comment('cblock') }}", "/*\n *\n * x\n *\n */"),
    Case("comment xml", "{{ 'x' | comment('xml') }}", "<!--\n -\n - x\n -\n-->"),
    Case("comment decoration", "{{ 'x' | comment(decoration='; ') }}", ";\n; x\n;"),
    # encodings
    Case("to_json", "{{ {'b': [1, 2], 'a': none} | to_json }}", '{"b": [1, 2], "a": null}'),
    Case(
        "to_json sort_keys", "{{ {'b': 1, 'a': 2} | to_json(sort_keys=true) }}", '{"a": 2, "b": 1}'
    ),
    Case(
        "to_nice_json",
        "{{ {'b': [1], 'a': 'x'} | to_nice_json }}",
        '{\n    "a": "x",\n    "b": [\n        1\n    ]\n}',
    ),
    Case("to_nice_json indent", "{{ {'a': 1} | to_nice_json(indent=2) }}", '{\n  "a": 1\n}'),
    Case("from_json", "{{ '{\"a\": [1, true, null]}' | from_json }}", {"a": [1, True, None]}),
    Case(
        "from_json of host output",
        "{{ r.stdout | from_json }}",
        {"k": "{{ x }}"},
        {"r": Data({"stdout": '{"k": "{{ x }}"}'})},
    ),
    Case(
        "to_yaml flow leaves",
        "{{ {'a': [1, 2], 'b': {'c': 'd'}} | to_yaml }}",
        "a: [1, 2]\nb: {c: d}\n",
    ),
    Case(
        "to_nice_yaml layout",
        "{{ {'b': {'c': [1, 2]}, 'a': 'x'} | to_nice_yaml }}",
        "a: x\nb:\n    c:\n    - 1\n    - 2\n",
    ),
    Case("to_nice_yaml indent 2", "{{ {'b': {'c': 1}} | to_nice_yaml(indent=2) }}", "b:\n  c: 1\n"),
    Case("to_nice_yaml unicode", "{{ {'n': 'ü'} | to_nice_yaml }}", "n: ü\n"),
    Case(
        "to_nice_yaml a dict in a list, as PyYAML indents it",
        "{{ v | to_nice_yaml }}",
        "- a\n-   b: c\n",
        {"v": ["a", {"b": "c"}]},
    ),
    Case(
        "from_yaml multi-line",
        "{{ text | from_yaml }}",
        {"name": "web", "ports": [80, 443], "tls": True},
        {"text": "name: web\nports:\n  - 80\n  - 443\ntls: yes\n"},
    ),
    Case("from_yaml a scalar", "{{ '42' | from_yaml }}", 42),
    Case("from_yaml passes non-strings", "{{ [1] | from_yaml }}", [1]),
    Case("b64encode", "{{ 'hello' | b64encode }}", "aGVsbG8="),
    Case("b64decode", "{{ 'aGVsbG8=' | b64decode }}", "hello"),
    Case("b64 round trip utf-8", "{{ 'ü' | b64encode | b64decode }}", "ü"),
    Case("hash sha1 default", "{{ 'test1' | hash }}", "b444ac06613fc8d63795be9ad0beaf55011936ac"),
    Case("hash md5", "{{ 'test1' | hash('md5') }}", "5a105e8b9d40e1329780d62ea2265d8a"),
    Case(
        "hash sha256",
        "{{ 'abc' | hash('sha256') }}",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    ),
    Case("checksum", "{{ 'test1' | checksum }}", "b444ac06613fc8d63795be9ad0beaf55011936ac"),
    Case("md5", "{{ 'test1' | md5 }}", "5a105e8b9d40e1329780d62ea2265d8a"),
    Case("sha1", "{{ 'test1' | sha1 }}", "b444ac06613fc8d63795be9ad0beaf55011936ac"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_filter(case: Case) -> None:
    assert Templar(case.vars).render(case.text) == case.expected


def test_filters_inside_text_render_as_strings() -> None:
    t = Templar({"pkgs": ["a", "b"]})
    assert t.render("pkgs: {{ pkgs | join(' ') }} ({{ pkgs | length }})") == "pkgs: a b (2)"


def test_from_yaml_refuses_a_bomb_from_a_host() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    t = Templar({"r": Data({"stdout": bomb})})
    with pytest.raises(TemplateError, match="filter 'from_yaml'"):
        t.render("{{ r.stdout | from_yaml }}")


ERRORS = [
    ("{{ nope | mandatory }}", "mandatory variable 'nope' is not defined"),
    ("{{ cfg.port | mandatory }}", "mandatory variable 'port' is not defined"),
    ("{{ nope | mandatory(msg='set nope in the inventory') }}", "set nope in the inventory"),
    ("{{ 1 | combine({'a': 1}) }}", "filter 'combine': can only combine dicts, got int"),
    ("{{ {} | combine({}, list_merge='merge') }}", "filter 'combine': list_merge must be one of"),
    ("{{ [1] | dict2items }}", "filter 'dict2items': dict2items needs a dict, got list"),
    ("{{ [{'k': 1}] | items2dict }}", "filter 'items2dict': items2dict needs dicts with the keys"),
    (
        "{{ 'a' | regex_replace('(') }}",
        "filter 'regex_replace': missing ), unterminated subpattern",
    ),
    ("{{ 'a' | regex_search('a', 'x') }}", "filter 'regex_search': a group is written"),
    ("{{ 'abc' | regex_replace('x', 'y', mandatory_count=1) }}", "should match 1 times, matched 0"),
    ("{{ 'x' | hash('nope') }}", "filter 'hash': unknown hash type 'nope'"),
    ("{{ '{' | from_json }}", "filter 'from_json': Expecting property name"),
    ("{{ 'a: [' | from_yaml }}", "filter 'from_yaml': <from_yaml>:1"),
    ("{{ 'x' | comment('fortran') }}", "filter 'comment': style must be one of"),
    ("{{ {} | to_json(cls=1) }}", "filter 'to_json': unknown option(s): cls"),
    ("{{ 'x' | b64decode }}", "filter 'b64decode'"),
]


@pytest.mark.parametrize(("text", "words"), ERRORS, ids=[e[0] for e in ERRORS])
def test_a_bad_argument_names_the_filter_and_the_text(text: str, words: str) -> None:
    with pytest.raises(TemplateError) as exc:
        Templar({"cfg": {"host": "h"}}).render(text)
    message = str(exc.value)
    assert words in message
    assert message.endswith(f"in {text[3:-3]!r}")  # the expression, as written


def test_yaml_filters_write_values_loaded_from_playbooks_as_plain_yaml() -> None:
    """Loaded values are subclasses (line-marked, `!unsafe`) that PyYAML's safe dumper
    refuses; they come out as the plain types."""
    loaded = load_yaml_text("v:\n  name: web\n  ports: [80]\n  pw: !unsafe '{{ x }}'\n", "vars.yml")
    t = Templar(loaded)
    assert t.render("{{ v | to_nice_yaml }}") == "name: web\nports:\n- 80\npw: '{{ x }}'\n"
    assert t.render("{{ v | to_yaml }}") == "name: web\nports: [80]\npw: '{{ x }}'\n"
    assert t.render("{{ v | to_json }}") == '{"name": "web", "ports": [80], "pw": "{{ x }}"}'
