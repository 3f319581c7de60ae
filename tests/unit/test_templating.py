from __future__ import annotations

import pytest

from provisioner.errors import Location, TemplateError
from provisioner.templating import Data, Templar, environment


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


# --- what came from a host is data, never template source -------------------------


def test_a_value_from_a_host_is_not_rendered_again() -> None:
    t = Templar(
        {
            "r": Data({"stdout": "{{ become_password }}", "rc": 0}),
            "facts": Data({"hostname": "{{ 7 * 7 }}"}),
            "become_password": "s3cret",
        }
    )
    assert t.render("{{ r.stdout }}") == "{{ become_password }}"
    assert t.render("got {{ r.stdout }} on {{ facts.hostname }}") == (
        "got {{ become_password }} on {{ 7 * 7 }}"
    )
    assert t.evaluate("r.stdout") == "{{ become_password }}"


def test_a_loop_item_is_rendered_once() -> None:
    t = Templar({"items": ["{{ '{{' }} x }}"], "x": "no"}).child({"item": Data("{{ x }}")})
    assert t.render("{{ item }}") == "{{ x }}"


def test_what_the_user_wrote_is_still_rendered_through_variables() -> None:
    t = Templar({"r": Data({"stdout": "out"}), "msg": "said {{ r.stdout }}"})
    assert t.render("{{ msg }}") == "said out"


# --- the sandbox's limits ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{{ 10 ** (10 ** 8) }}", "too large"),
        ("{{ 2 ** 100000 }}", "too large"),
        ("{{ 'a' * 10 ** 9 }}", "too large"),
        ("{{ [1, 2] * 10 ** 8 }}", "too large"),
        ("{{ 10 ** 8 * 'ab' }}", "too large"),
    ],
)
def test_huge_arithmetic_and_repetition_are_refused(text: str, match: str) -> None:
    where = Location("play.yml", 3, 5)
    with pytest.raises(TemplateError, match=match) as exc:
        Templar({}).render(text, where)
    assert "play.yml:3:5" in str(exc.value) and "sandbox" in str(exc.value)


def test_ordinary_arithmetic_still_works() -> None:
    assert Templar({}).render("{{ 2 ** 10 }} {{ 'ab' * 3 }} {{ (-1) ** 3 }}") == "1024 ababab -1"


def test_running_out_of_memory_says_so() -> None:
    def exhaust(value: object) -> object:
        raise MemoryError()

    environment().filters["exhaust"] = exhaust
    try:
        with pytest.raises(TemplateError, match="out of memory"):
            Templar({}).render("x{{ 1 | exhaust }}")
    finally:
        del environment().filters["exhaust"]


# --- template files: errors name the file and line ---------------------------------


MOTD = "Welcome\n\n{% if true %}\n  {{ colour }}\n{% endif %}\n# end\n"


def test_an_undefined_name_in_a_file_names_its_line() -> None:
    with pytest.raises(TemplateError) as exc:
        Templar({}).render_file(MOTD, "templates/motd.j2", Location("site.yml", 9, 7))
    message = str(exc.value)
    assert message.startswith("site.yml:9:7: templates/motd.j2:4: 'colour' is undefined")
    assert message.endswith("in '{{ colour }}'") and "Welcome" not in message


def test_a_syntax_error_in_a_file_names_its_line() -> None:
    with pytest.raises(TemplateError) as exc:
        Templar({}).render_file("a\nb {{ x + }}\nc\n", "t.j2")
    assert str(exc.value).startswith("t.j2:2: template syntax error")


def test_a_file_renders_whole() -> None:
    assert Templar({"colour": "blue"}).render_file(MOTD, "m.j2") == (
        "Welcome\n\n\n  blue\n\n# end\n"
    )
