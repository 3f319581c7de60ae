"""Every filter, test and lookup we name is registered, and docs/jinja.md lists each
one (and nothing else) in its section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from provisioner.errors import TemplateError
from provisioner.jinja import FILTERS, GLOBALS, LOOKUPS, TESTS
from provisioner.jinja.lookups import LOOKUPS as LOOKUP_FUNCTIONS
from provisioner.templating import Templar, environment

DOC = Path(__file__).parents[2] / "docs" / "jinja.md"
ENTRY = re.compile(r"^- `(?P<name>[a-z_0-9]+)")


def _listed(section: str) -> list[str]:
    """The names of the `- \\`name\\`` lines under `## section`."""
    text = DOC.read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    body = text[start : end if end != -1 else len(text)]
    return [m["name"] for line in body.splitlines() if (m := ENTRY.match(line))]


def test_every_filter_and_test_is_registered_under_both_names() -> None:
    env = environment()
    for name in FILTERS:
        assert name in env.filters and f"ansible.builtin.{name}" in env.filters, name
    for name in TESTS:
        assert name in env.tests and f"ansible.builtin.{name}" in env.tests, name


def test_every_lookup_is_callable_through_lookup_and_query() -> None:
    env = environment()
    assert set(GLOBALS) <= set(env.globals) and set(GLOBALS) == {"lookup", "query", "q"}
    assert set(LOOKUPS) == set(LOOKUP_FUNCTIONS)
    t = Templar({})
    for name in LOOKUPS:  # known: an error, if any, is the lookup's own
        try:
            assert isinstance(t.render("{{ query('" + name + "') }}"), list)
        except TemplateError as exc:
            assert "unknown lookup" not in str(exc) and f"lookup '{name}'" in str(exc)
    with pytest.raises(TemplateError, match="unknown lookup"):
        t.render("{{ query('no_such_lookup') }}")


@pytest.mark.parametrize(
    ("section", "names"), [("Filters", FILTERS), ("Tests", TESTS), ("Lookups", LOOKUPS)]
)
def test_docs_list_each_name_once(section: str, names: tuple[str, ...]) -> None:
    listed = _listed(section)
    assert sorted(listed) == sorted(set(listed)), "listed twice"
    assert set(listed) == set(names)


def test_fqcn_names_work() -> None:
    t = Templar({"d": {"a": 1}})
    assert t.render("{{ d | ansible.builtin.combine({'b': 2}) }}") == {"a": 1, "b": 2}
    assert t.render("{{ lookup('ansible.builtin.env', 'PROVISION_NOT_SET_ANYWHERE') }}") == ""
    assert t.evaluate("'2.1' is ansible.builtin.version('2.0', '>')") is True
