from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.errors import InputError, InventoryError, Location, PlaybookError
from provisioner.yamlmarks import (
    MarkedDict,
    MarkedList,
    MarkedStr,
    load_yaml,
    load_yaml_text,
    loc_of,
    to_plain,
)

DOC = """\
name: web
port: 22
tags:
  - a
  - b
nested:
  inner: {x: 1}
"""


def test_loads_ordinary_data_with_marks() -> None:
    data = load_yaml_text(DOC, "doc.yml")
    assert data == {"name": "web", "port": 22, "tags": ["a", "b"], "nested": {"inner": {"x": 1}}}
    assert isinstance(data, dict) and isinstance(data, MarkedDict)
    assert isinstance(data["tags"], list) and isinstance(data["tags"], MarkedList)
    assert isinstance(data["name"], str) and isinstance(data["name"], MarkedStr)
    assert type(data["port"]) is int


def test_locations_are_one_based_file_line_col() -> None:
    data = load_yaml_text(DOC, "doc.yml")
    assert str(data.loc) == "doc.yml:1:1"
    assert str(data.key_loc("port")) == "doc.yml:2:1"
    assert str(data["name"].loc) == "doc.yml:1:7"
    assert str(data.value_loc("port")) == "doc.yml:2:7"  # an int has no .loc of its own
    assert str(data["tags"].loc) == "doc.yml:4:3"
    assert str(data["tags"].item_loc(1)) == "doc.yml:5:5"
    assert str(data["tags"][1].loc) == "doc.yml:5:5"
    inner = data["nested"]["inner"]
    assert str(inner.loc) == "doc.yml:7:10"
    assert str(inner.key_loc("x")) == "doc.yml:7:11"


def test_keys_are_marked_too() -> None:
    data = load_yaml_text("a: 1\nbb: 2\n", "k.yml")
    keys = list(data)
    assert all(isinstance(k, MarkedStr) for k in keys)
    assert str(keys[1].loc) == "k.yml:2:1"


def test_unknown_key_location_falls_back_to_mapping() -> None:
    data = load_yaml_text("a: 1\n", "k.yml")
    assert data.key_loc("missing") is data.loc
    assert data.value_loc("missing") is data.loc
    assert load_yaml_text("[1]", "k.yml").item_loc(5).line == 1


def test_empty_value_location_is_its_key() -> None:
    data = load_yaml_text("host:\nnext: 1\n", "e.yml")
    assert data["host"] is None
    assert str(data.value_loc("host")) == "e.yml:1:1"


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "---\n...\n"])
def test_empty_document_is_none(text: str) -> None:
    assert load_yaml_text(text, "empty.yml") is None


def test_duplicate_key_is_an_error_naming_both_places() -> None:
    text = "a: 1\nb: 2\na: 3\n"
    with pytest.raises(InputError) as exc:
        load_yaml_text(text, "dup.yml")
    msg = str(exc.value)
    assert msg.startswith("dup.yml:3:1: ")
    assert "duplicate key 'a'" in msg
    assert "line 1" in msg
    assert exc.value.where is not None and exc.value.where.line == 3


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("outer:\n  x: 1\n  y: 2\n  x: 3\n", "dup.yml:4:3"),
        ("outer: {x: 1, x: 2}\n", "dup.yml:1:15"),
        ("- {a: 1}\n- a: 1\n  a: 2\n", "dup.yml:3:3"),
        ("1: a\n1: b\n", "dup.yml:2:1"),
    ],
)
def test_duplicate_keys_anywhere(text: str, where: str) -> None:
    with pytest.raises(InputError, match="duplicate key") as exc:
        load_yaml_text(text, "dup.yml")
    assert str(exc.value).startswith(where + ":")


def test_merge_keys_may_be_overridden_without_duplicate_error() -> None:
    text = """\
base: &base {a: 1, c: 3}
mid: &mid
  <<: *base
  a: 2
top:
  <<: *mid
  c: 4
one: &one {k: 1, x: 1}
two: &two {k: 2, y: 2}
both:
  <<: [*one, *two]
  y: 3
"""
    data = load_yaml_text(text, "m.yml")
    assert data["mid"] == {"a": 2, "c": 3}
    # PyYAML 6.0.4's own loader gets this one wrong ({'a': 1, 'c': 4}).
    assert data["top"] == {"a": 2, "c": 4}
    # In a merge list the first mapping wins; own keys beat all of them.
    assert data["both"] == {"k": 1, "x": 1, "y": 3}


def test_duplicate_after_merge_is_still_reported() -> None:
    text = "base: &b {k: 1}\nm:\n  <<: *b\n  k: 2\n  k: 3\n"
    with pytest.raises(InputError, match="duplicate key 'k'") as exc:
        load_yaml_text(text, "m.yml")
    assert str(exc.value).startswith("m.yml:5:3:")


def _laughs(levels: int, width: int = 9) -> str:
    """The "billion laughs": each level a list of `width` aliases of the one before."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("r: &r {self: *r}\n", "r.yml:1:14", "alias *r is inside its own anchor &r"),
        ("r: &a [1, *a]\n", "r.yml:1:11", "alias *a is inside its own anchor &a"),
        ("r: &a [1, [2, {x: *a}]]\n", "r.yml:1:19", "recursive data is not supported"),
        (_laughs(10), "r.yml:6:", "more than 250000 values once aliases are expanded"),
        ("x: " + "[" * 5000 + "]" * 5000 + "\n", "r.yml:1:", "nested more than 100 levels"),
        (
            "".join(" " * (2 * i) + f"k{i}:\n" for i in range(800)),
            "r.yml:100:",
            "nested more than 100 levels deep",
        ),
        (
            "a: &a x\nb: [" + ", ".join(["*a"] * 10_001) + "]\n",
            "r.yml:2:",
            "more than 10000 aliases",
        ),
        ("x: " + "y" * (2 * 1024 * 1024) + "\n", "r.yml", "longer than 2 MiB"),
    ],
    ids=["self-map", "self-list", "deep", "laughs", "flow-5000", "block-800", "aliases", "size"],
)
def test_bombs_are_refused_with_the_limit_and_place(text: str, where: str, problem: str) -> None:
    with pytest.raises(InventoryError) as exc:
        load_yaml_text(text, "r.yml", error=InventoryError)
    assert str(exc.value).startswith(where), exc.value
    assert problem in str(exc.value)


def test_aliases_within_the_limits_still_work() -> None:
    data = load_yaml_text(_laughs(4) + "m: &m {k: 1}\nn: {<<: *m, j: 2}\n", "ok.yml")
    assert len(data["a3"]) == 9 and data["a3"][0] is data["a2"]
    assert data["n"] == {"k": 1, "j": 2}


def test_nesting_up_to_the_limit_loads() -> None:
    # The document's own mapping is the first level.
    assert load_yaml_text("x: " + "[" * 99 + "]" * 99 + "\n", "deep.yml") is not None


def test_load_yaml_refuses_a_file_over_the_limit(tmp_path: Path) -> None:
    # (`-e @/dev/zero` in test_bad_input: the read itself stops at the limit.)
    path = tmp_path / "big.yml"
    path.write_text("x: " + "y" * (2 * 1024 * 1024 - 3) + "\n")
    with pytest.raises(InputError, match="larger than 2 MiB") as exc:
        load_yaml(path)
    assert str(exc.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("a: b: c\n", "bad.yml:1:5", "mapping values are not allowed here"),
        ("a: [1, 2\n", "bad.yml:2:1", "expected ',' or ']'"),
        ("a:\n\tb: 1\n", "bad.yml:2:1", "found character '\\t' that cannot start any token"),
        ('a: "open\n', "bad.yml:2:1", "found unexpected end of stream"),
        ("x: *nope\n", "bad.yml:1:4", "found undefined alias 'nope'"),
        ("a: 1\n---\nb: 2\n", "bad.yml:2:1", "but found another document"),
        ("k: !vault |\n  abc\n", "bad.yml:1:4", "could not determine a constructor for the tag"),
        ("? [a, b]\n: 1\n", "bad.yml:1:3", "found unhashable key"),
        ("- a\nb: 1\n", "bad.yml:2:1", "expected <block end>"),
    ],
)
def test_syntax_errors_name_file_line_col_and_problem(text: str, where: str, problem: str) -> None:
    with pytest.raises(InputError) as exc:
        load_yaml_text(text, "bad.yml")
    msg = str(exc.value)
    assert msg.startswith(where + ": YAML error: "), msg
    assert problem in msg
    assert "Traceback" not in msg and exc.value.__suppress_context__


@pytest.mark.parametrize("kind", [InventoryError, PlaybookError])
def test_errors_are_raised_as_the_callers_kind(kind: type[InputError]) -> None:
    with pytest.raises(kind):
        load_yaml_text("a: b: c\n", "x.yml", error=kind)
    with pytest.raises(kind, match="duplicate key"):
        load_yaml_text("a: 1\na: 2\n", "x.yml", error=kind)


def test_load_yaml_reads_files(tmp_path: Path) -> None:
    path = tmp_path / "f.yml"
    path.write_text("a:\n  - 1\n", encoding="utf-8")
    data = load_yaml(path)
    assert data == {"a": [1]}
    assert str(data["a"].loc) == f"{path}:2:3"


def test_load_yaml_missing_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.yml"
    with pytest.raises(InventoryError, match="cannot read file") as exc:
        load_yaml(path, error=InventoryError)
    assert str(exc.value).startswith(str(path))


def test_load_yaml_binary_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "bin.yml"
    path.write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(InputError, match="not UTF-8"):
        load_yaml(path)


def test_control_characters_are_an_input_error() -> None:
    with pytest.raises(InputError, match="YAML error") as exc:
        load_yaml_text("a: 1\nb: x\x07\n", "ctl.yml")
    assert str(exc.value).startswith("ctl.yml:2:5: YAML error: character #x0007")


def test_loc_of() -> None:
    data = load_yaml_text("a: x\nb: 1\n", "l.yml")
    fallback = Location("fb.yml", 9)
    assert str(loc_of(data["a"], fallback)) == "l.yml:1:4"
    assert loc_of(data["b"], fallback) is fallback
    assert loc_of("plain", fallback) is fallback
    assert loc_of(data, fallback) is data.loc


def test_to_plain_strips_marks() -> None:
    plain = to_plain(load_yaml_text(DOC, "doc.yml"))
    assert type(plain) is dict and type(plain["tags"]) is list and type(plain["name"]) is str
    assert all(type(k) is str for k in plain)


@pytest.mark.parametrize(
    "clone", [copy.copy, copy.deepcopy, lambda o: pickle.loads(pickle.dumps(o))]
)
def test_copies_keep_marks(clone: Any) -> None:
    data = load_yaml_text(DOC, "doc.yml")
    other = clone(data)
    assert other == data
    assert isinstance(other, MarkedDict)
    assert str(other.key_loc("tags")) == "doc.yml:3:1"
    assert str(other["name"].loc) == "doc.yml:1:7"
    assert str(clone(data["tags"]).item_loc(1)) == "doc.yml:5:5"


def test_loaded_data_dumps_back_as_plain_yaml_and_json() -> None:
    data = load_yaml_text(DOC, "doc.yml")
    dumped = yaml.safe_dump(data)
    assert "!!python" not in dumped and "!!python" not in yaml.dump(data)
    assert yaml.safe_load(dumped) == data
    assert json.loads(json.dumps(data)) == data


def test_yaml_11_scalars_keep_pyyaml_meaning() -> None:
    # Same reading as Ansible (YAML 1.1): callers must quote "no" or 0755 themselves.
    data = load_yaml_text("a: yes\nb: 0755\nc: '0755'\nd: ~\n", "s.yml")
    assert data == {"a": True, "b": 493, "c": "0755", "d": None}


_text = st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"]), max_size=12)
_scalars = st.none() | st.booleans() | st.integers() | _text
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(_json)
def test_round_trip_equals_pyyaml(value: Any) -> None:
    text = yaml.safe_dump(value, allow_unicode=True)
    assert load_yaml_text(text, "gen.yml") == yaml.safe_load(text) == value
