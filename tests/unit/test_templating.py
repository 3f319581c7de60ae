from __future__ import annotations

import pytest

from provisioner.errors import Location, TemplateError
from provisioner.templating import Templar


def test_plain_strings_pass_through() -> None:
    assert Templar({}).render("no templates here $HOME") == "no templates here $HOME"


def test_lone_expression_keeps_native_type() -> None:
    t = Templar({"pkgs": ["a", "b"], "n": 3})
    assert t.render("{{ pkgs }}") == ["a", "b"]
    assert t.render("{{ n + 1 }}") == 4
    assert t.render("n={{ n }}") == "n=3"


def test_variables_refer_to_variables_recursively() -> None:
    t = Templar({"base": "http://mirror", "repo": "{{ base }}/linux", "url": "{{ repo }}/gpg"})
    assert t.render("{{ url }}") == "http://mirror/linux/gpg"


def test_unrelated_broken_variable_does_not_fail_other_templates() -> None:
    t = Templar({"good": "x", "bad": "{{ missing }}"})
    assert t.render("{{ good }}") == "x"


def test_undefined_is_an_error_with_location() -> None:
    where = Location("play.yml", 7, 9)
    with pytest.raises(TemplateError) as exc:
        Templar({}).render("{{ nope }}", where)
    assert "play.yml:7:9" in str(exc.value)
    assert "nope" in str(exc.value)


def test_self_reference_is_reported() -> None:
    with pytest.raises(TemplateError, match="refers to itself"):
        Templar({"a": "{{ b }}", "b": "{{ a }}"}).render("{{ a }}")


def test_default_filter_and_bool() -> None:
    t = Templar({"flag": "yes"})
    assert t.render("{{ mirror | default('https://download.docker.com') }}") == (
        "https://download.docker.com"
    )
    assert t.truthy("flag | bool") is True
    assert t.truthy(False) is False


def test_when_expressions() -> None:
    t = Templar({"result": {"rc": 0}, "os": "CentOS"})
    assert t.truthy("result.rc == 0 and os == 'CentOS'")
    assert not t.truthy("os == 'Rocky'")
    assert t.truthy("{{ result.rc == 0 }}")


def test_structures_are_rendered_deeply() -> None:
    t = Templar({"u": "student"})
    assert t.render({"name": "{{ u }}", "groups": ["{{ u }}", "docker"]}) == {
        "name": "student",
        "groups": ["student", "docker"],
    }


def test_sandbox_blocks_attribute_escapes() -> None:
    with pytest.raises(TemplateError):
        Templar({}).render("{{ ''.__class__.__mro__ }}")


def test_json_filters_as_ansible_renders_them() -> None:
    t = Templar({"mirrors": ["https://m.example"], "name": "ü"})
    assert t.render("{{ {'registry-mirrors': mirrors} | to_nice_json }}") == (
        '{\n    "registry-mirrors": [\n        "https://m.example"\n    ]\n}'
    )
    assert t.render("{{ {'b': 1, 'a': name} | to_json }}") == '{"b": 1, "a": "ü"}'


def test_lone_expression_string_keeps_surrounding_whitespace() -> None:
    t = Templar({"s": "text", "n": [1]})
    assert t.render("{{ s }}\n") == "text\n"
    assert t.render("  {{ s }}") == "  text"
    assert t.render("{{ n }}\n") == [1]  # a non-string keeps its type
