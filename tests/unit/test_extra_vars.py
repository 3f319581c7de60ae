"""`-e`: key=value, @file.yml and inline mappings, read as every YAML file is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provisioner.cli.common import parse_extra_vars
from provisioner.errors import InputError


@pytest.mark.parametrize(
    ("values", "wanted"),
    [
        (["a=1", "b=x y"], {"a": "1", "b": "x y"}),
        (['{"a": 1, "b": [2]}'], {"a": 1, "b": [2]}),
        (["{a: yes}", "a=no"], {"a": "no"}),
        (["  {}"], {}),
    ],
)
def test_forms(values: list[str], wanted: dict[str, Any]) -> None:
    assert parse_extra_vars(values) == wanted


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{a: [1, }", "-e:1:9: YAML error: expected the node content"),
        ("{a: &x [1, *x]}", "-e:1:12: alias *x is inside its own anchor &x"),
        ("{a: " + "[" * 200 + "]" * 200 + "}", "-e:1:104: nested more than 100 levels"),
        ("{a: 1, a: 2}", "-e:1:8: duplicate key 'a'"),
        ("{1: 2}", "-e: the value has a variable name that is not a string: 1"),
        ("a-b=1", "-e 'a-b=1': expected key=value"),
    ],
)
def test_bad_inline_values_name_the_option_and_column(value: str, message: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_extra_vars([value])
    assert str(exc.value).startswith(message), exc.value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n", "the file must hold a mapping"),
        ("", "the file must hold a mapping"),
        ("a: &x [*x]\n", "vars.yml:1:8: alias *x is inside its own anchor"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "vars.yml"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        parse_extra_vars([f"@{path}"])
    assert message in str(exc.value)
