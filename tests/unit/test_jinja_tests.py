"""Ansible's tests (`x is changed`, `v is version(...)`), and the Jinja2 ones roles
use, give Ansible's documented results, with StrictUndefined."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import TemplateError
from provisioner.templating import Data, Templar


@dataclass(frozen=True)
class Case:
    id: str
    expr: str  # a `when:` expression
    expected: bool
    vars: dict[str, Any] = field(default_factory=dict)


CHANGED = Data({"changed": True, "failed": False, "rc": 0})
OK = Data({"changed": False, "failed": False, "rc": 0})
FAILED = Data({"changed": False, "failed": True, "rc": 2})
SKIPPED = Data({"changed": False, "skipped": True, "skip_reason": "when was false"})
LOOP_ONE_CHANGED = Data({"results": [{"changed": False}, {"changed": True}]})
LOOP_NONE_CHANGED = Data({"results": [{"changed": False}, {"changed": False}]})
LOOP_ALL_SKIPPED = Data({"results": [{"changed": False, "skipped": True}, {"skipped": True}]})
RESULTS = {
    "c": CHANGED,
    "ok": OK,
    "f": FAILED,
    "s": SKIPPED,
    "loop1": LOOP_ONE_CHANGED,
    "loop0": LOOP_NONE_CHANGED,
    "loopskip": LOOP_ALL_SKIPPED,
}

CASES = [
    # defined / undefined with StrictUndefined
    Case("undefined is not defined", "x is defined", False),
    Case("undefined is undefined", "x is undefined", True),
    Case("defined", "x is defined", True, {"x": 0}),
    Case("attribute of undefined is not defined", "x.y is defined", False),
    Case("deep attribute of undefined", "x.y.z is undefined", True),
    Case("missing key is not defined", "d.k is defined", False, {"d": {}}),
    Case("key is defined", "d.k is defined", True, {"d": {"k": None}}),
    Case("item of missing key", "d['a']['b'] is defined", False, {"d": {"a": {}}}),
    Case("and short-circuits on undefined", "x is defined and x.y == 1", False),
    Case("none test", "x is none", True, {"x": None}),
    # task results
    Case("changed", "c is changed", True, RESULTS),
    Case("not changed", "ok is changed", False, RESULTS),
    Case("change alias", "c is change", True, RESULTS),
    Case("loop: an item changed", "loop1 is changed", True, RESULTS),
    Case("loop: no item changed", "loop0 is changed", False, RESULTS),
    Case("failed", "f is failed", True, RESULTS),
    Case("not failed", "ok is failed", False, RESULTS),
    Case("failure alias", "f is failure", True, RESULTS),
    Case("succeeded", "ok is succeeded", True, RESULTS),
    Case("success of a failure", "f is success", False, RESULTS),
    Case("successful", "c is successful", True, RESULTS),
    Case("skipped", "s is skipped", True, RESULTS),
    Case("not skipped", "ok is skipped", False, RESULTS),
    Case("skip alias", "s is skip", True, RESULTS),
    Case("loop: every item skipped", "loopskip is skipped", True, RESULTS),
    Case("loop: not every item skipped", "loop1 is skipped", False, RESULTS),
    Case("not changed, written with not", "ok is not changed", True, RESULTS),
    # versions (loose by default)
    Case("2.12 < 2.15.1", "'2.12' is version('2.15.1', '<')", True),
    Case("2.12 >= 2.12", "'2.12' is version('2.12', '>=')", True),
    Case("version of a variable", "v is version('2.12', '>=')", True, {"v": "2.15.1"}),
    Case("1.10 > 1.9", "'1.10' is version('1.9', '>')", True),
    Case("1.10 gt 1.9", "'1.10' is version('1.9', 'gt')", True),
    Case("1.0 == 1.0", "'1.0' is version('1.0', '==')", True),
    Case("default operator is eq", "'1.0' is version('1.0')", True),
    Case("1.0 != 2.0", "'1.0' is version('2.0', '!=')", True),
    Case("ne", "'1.0' is version('1.0', 'ne')", False),
    Case("lt le", "'1.0' is version('2.0', 'lt') and '1.0' is version('1.0', 'le')", True),
    Case("ge", "'2.0' is version('1.0', 'ge')", True),
    Case("1.0 eq 1.00", "'1.0' is version('1.00', 'eq')", True),
    Case("1.0 < 1.0.1", "'1.0' is version('1.0.1', '<')", True),
    Case("kernel release", "'3.10.0-1160.el7' is version('3.10.0-957.el7', '>')", True),
    Case(
        "kernel release same",
        "'3.10.0-1160.el7.x86_64' is version('3.10.0-1160.el7.x86_64', '==')",
        True,
    ),
    Case("letters sort after numbers", "'1.0a' is version('1.0', '>')", True),
    Case("letters compare as words", "'1.0b' is version('1.0a', '>')", True),
    Case("a number against a word", "'1.0.1' is version('1.0a', '<')", True),
    Case("version_compare alias", "'2.0' is version_compare('1.0', '>')", True),
    Case("version of a YAML number", "v is version('7.10', '<')", True, {"v": 7.9}),
    Case("strict", "'1.0' is version('2.0', '<', strict=true)", True),
    Case("strict pre-release", "'1.0a1' is version('1.0', '<', version_type='strict')", True),
    Case("strict 1.0 == 1.0.0", "'1.0' is version('1.0.0', '==', strict=true)", True),
    # regular expressions
    Case("match at start", "'abc' is match('ab')", True),
    Case("match is anchored", "'xabc' is match('ab')", False),
    Case("search anywhere", "'xabc' is search('ab')", True),
    Case("search ignorecase", "'ABC' is search('b', ignorecase=true)", True),
    Case("search multiline", "'a\nb' is search('^b', multiline=true)", True),
    Case("search not multiline", "'a\nb' is search('^b')", False),
    Case("regex default search", "'xab' is regex('ab')", True),
    Case("regex match_type", "'xab' is regex('ab', match_type='match')", False),
    Case("not match", "'centos' is not match('rhel')", True),
    # sets, containment
    Case("subset", "[1, 2] is subset([1, 2, 3])", True),
    Case("not subset", "[1, 4] is subset([1, 2, 3])", False),
    Case("superset", "[1, 2, 3] is superset([3, 1])", True),
    Case("issubset alias", "['a'] is issubset(['a'])", True),
    Case("in", "'docker' in groups", True, {"groups": ["wheel", "docker"]}),
    Case("in test", "'x' is in ['x', 'y']", True),
    Case("not in", "'z' not in ['x']", True),
    Case("contains", "['x', 'y'] is contains('y')", True),
    Case("any all", "[false, true] is any and not ([false, true] is all)", True),
    # types
    Case("string", "'a' is string", True),
    Case("a number is not a string", "1 is string", False),
    Case("number", "1.5 is number", True),
    Case("integer", "3 is integer", True),
    Case("mapping", "{} is mapping", True),
    Case("a list is not a mapping", "[] is mapping", False),
    Case("sequence", "[1] is sequence", True),
    Case("iterable", "'abc' is iterable", True),
    Case("boolean", "true is boolean", True),
    Case("equalto", "2 is equalto(2)", True),
    # truth
    Case("truthy", "'x' is truthy", True),
    Case("empty is not truthy", "'' is truthy", False),
    Case("falsy", "0 is falsy", True),
    Case("the word false is truthy", "'false' is truthy", True),
    Case("convert_bool", "'false' is truthy(convert_bool=true)", False),
    Case("falsy convert_bool", "'no' is falsy(convert_bool=true)", True),
    Case("falsy convert_bool yes", "'yes' is falsy(convert_bool=true)", False),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_test(case: Case) -> None:
    t = Templar(case.vars)
    assert t.evaluate(case.expr) is case.expected
    assert t.render("{{ " + case.expr + " }}") is case.expected


def test_controller_path_tests(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    (tmp_path / "d").mkdir()
    (tmp_path / "l").symlink_to(tmp_path / "f")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    t = Templar({"base": str(tmp_path)})
    table = [
        ("(base ~ '/f') is file", True),
        ("(base ~ '/d') is file", False),
        ("(base ~ '/d') is directory", True),
        ("(base ~ '/f') is directory", False),
        ("(base ~ '/f') is exists", True),
        ("(base ~ '/nope') is exists", False),
        ("(base ~ '/l') is link", True),
        ("(base ~ '/f') is link", False),
        ("(base ~ '/dangling') is exists", False),
        ("(base ~ '/dangling') is link_exists", True),
        ("base is abs", True),
        ("'etc/hosts' is abs", False),
    ]
    assert [(expr, t.evaluate(expr)) for expr, _ in table] == table


def test_a_path_test_on_a_constant_sees_the_file_as_it_is_now(tmp_path: Path) -> None:
    """Jinja2 computes tests on constants once, when compiling; these must not be."""
    path = tmp_path / "later"
    text = "{{ '" + str(path) + "' is exists }}"
    assert Templar({}).render(text) is False
    path.write_text("")
    assert Templar({}).render(text) is True


ERRORS = [
    ("'x' is changed", "test 'changed': the 'changed' test needs a task result (a dict), got str"),
    ("[] is failed", "test 'failed': the 'failed' test needs a task result (a dict), got list"),
    ("'1.0' is version('2.0', 'bigger')", "test 'version': unknown operator 'bigger'"),
    ("'1.0' is version('2.0', '<', version_type='semver')", "version_type must be loose or strict"),
    ("'1.0-x' is version('2.0', '<', strict=true)", "'1.0-x' is not a strict version"),
    ("'' is version('2.0', '<')", "cannot compare an empty version"),
    ("'a' is match('(')", "test 'match': missing ), unterminated subpattern"),
]


@pytest.mark.parametrize(("expr", "words"), ERRORS, ids=[e[0] for e in ERRORS])
def test_a_bad_argument_names_the_test_and_the_expression(expr: str, words: str) -> None:
    with pytest.raises(TemplateError) as exc:
        Templar({}).evaluate(expr)
    assert words in str(exc.value) and str(exc.value).endswith(f"in {expr!r}")


@pytest.mark.parametrize("expr", ["x.y == 1", "x.y", "x.y.z | length", "'a' in x.y", "x.y ~ 'a'"])
def test_using_an_undefined_attribute_is_still_an_error(expr: str) -> None:
    with pytest.raises(TemplateError, match="'x' is undefined"):
        Templar({}).evaluate(expr)


def test_a_missing_key_is_still_an_error_naming_it() -> None:
    with pytest.raises(TemplateError, match="has no attribute 'port'"):
        Templar({"cfg": {"host": "h"}}).render("{{ cfg.port + 1 }}")
