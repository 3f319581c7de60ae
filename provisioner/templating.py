"""Jinja2 for every string the user writes, with StrictUndefined.

Variables may refer to other variables (`docker_repo: "{{ base }}/repo"`);
only the names a template really uses are resolved, recursively, so an
unrelated broken variable does not fail an unrelated task.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from provisioner.errors import Location, TemplateError

_SINGLE_EXPR = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "true", "1", "on", "y")
    return bool(value)


def _regex_replace(value: Any, pattern: str, replacement: str = "") -> str:
    return re.sub(pattern, replacement, str(value))


def _to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _to_nice_json(value: Any, indent: int = 4) -> str:
    """Ansible's to_nice_json: sorted keys, indented, one value per line."""
    return json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False)


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    env.filters["bool"] = _to_bool
    env.filters["regex_replace"] = _regex_replace
    env.filters["to_json"] = _to_json
    env.filters["to_nice_json"] = _to_nice_json
    return env


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value


class Lazy:
    """A variable's value computed when a template first uses it (login_user reads
    ~/.ssh/config: `validate` should not pay for that unless it is used)."""

    def __init__(self, compute: Callable[[], Any]) -> None:
        self._compute = compute
        self._done = False
        self._value: Any = None

    def get(self) -> Any:
        if not self._done:
            self._value, self._done = self._compute(), True
        return self._value


# Templates are compiled once per distinct text: a playbook renders the same
# strings for every host and loop item.
@lru_cache(maxsize=4096)
def _template(text: str) -> jinja2.Template:
    return environment().from_string(text)


@lru_cache(maxsize=4096)
def _expression(text: str) -> Any:
    return environment().compile_expression(text, undefined_to_none=False)


def strings_in(value: Any) -> list[str]:
    """Every string inside a structure of lists and dicts."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in strings_in(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    return []


def names_in(text: str) -> frozenset[str]:
    """The variables a template (or a bare `when` expression) names; none for text
    that is neither."""
    source = text if is_template(text) else "{{ (" + text + ") }}"
    try:
        return names_used(source)
    except Exception:  # not an expression: a plain word or sentence
        return frozenset()


class Templar:
    """Renders values against one host's variables (a plain mapping of raw values)."""

    def __init__(self, variables: Mapping[str, Any]) -> None:
        self.variables = variables
        self._resolved: dict[str, Any] = {}
        self._resolving: list[str] = []

    def child(self, extra: Mapping[str, Any]) -> Templar:
        """The same variables with `extra` on top (loop item, registered results)."""
        merged = dict(self.variables)
        merged.update(extra)
        return Templar(merged)

    # -- public API -------------------------------------------------------
    def render(self, value: Any, where: Location | None = None) -> Any:
        """Render strings inside any structure; a lone `{{ expr }}` keeps its native type."""
        if isinstance(value, str):
            return self._render_str(value, where)
        if isinstance(value, list):
            return [self.render(v, where) for v in value]
        if isinstance(value, dict):
            return {k: self.render(v, where) for k, v in value.items()}
        return value

    def evaluate(self, expression: str | bool, where: Location | None = None) -> Any:
        """Evaluate a bare expression (`when`, `that`, `changed_when`)."""
        if isinstance(expression, bool):
            return expression
        text = str(expression).strip()
        match = _SINGLE_EXPR.match(text)
        if match:  # tolerate `when: "{{ x }}"`
            text = match.group("expr").strip()
        return self._run(text, where, expression_mode=True)

    def truthy(self, expression: str | bool, where: Location | None = None) -> bool:
        return _to_bool(self.evaluate(expression, where))

    def lookup(self, name: str) -> Any:
        """A variable's value, its own templates rendered."""
        if name in self._resolved:
            return self._resolved[name]
        if name in self._resolving:
            chain = " → ".join([*self._resolving, name])
            raise TemplateError(f"variable refers to itself: {chain}")
        self._resolving.append(name)
        try:
            raw = self.variables[name]
            value = self.render(raw.get() if isinstance(raw, Lazy) else raw)
        finally:
            self._resolving.pop()
        self._resolved[name] = value
        return value

    def names_needed(self, value: Any) -> frozenset[str]:
        """Every variable rendering `value` would read: the names its templates use,
        and through the variables they name, theirs (defined or not)."""
        found: set[str] = set()
        todo = [n for text in strings_in(value) for n in names_in(text)]
        while todo:
            name = todo.pop()
            if name in found:
                continue
            found.add(name)
            raw = self.variables.get(name)
            if raw is not None and not isinstance(raw, Lazy):
                todo += [n for text in strings_in(raw) for n in names_in(text)]
        return frozenset(found)

    # -- internals --------------------------------------------------------
    def _render_str(self, text: str, where: Location | None) -> Any:
        if not is_template(text):
            return text
        match = _SINGLE_EXPR.match(text)
        if match:
            value = self._run(match.group("expr").strip(), where, expression_mode=True)
            if isinstance(value, str):  # a string keeps the whitespace around it ("{{ x }}\n")
                return text[: text.index("{{")] + value + text[text.rindex("}}") + 2 :]
            return value
        return self._run(text, where, expression_mode=False)

    def _run(self, text: str, where: Location | None, *, expression_mode: bool) -> Any:
        source = "{{ (" + text + ") }}" if expression_mode else text
        try:
            names = names_used(source)
            context = {n: self.lookup(n) for n in names if n in self.variables}
            if expression_mode:
                result = _expression(text)(**context)
                if isinstance(result, jinja2.Undefined):
                    result._fail_with_undefined_error()
                return result
            return _template(text).render(context)
        except TemplateError:
            raise
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"{exc.message} in {text!r}", where) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"template syntax error: {exc.message} in {text!r}", where
            ) from None
        except Exception as exc:  # filters and operators raise anything
            raise TemplateError(f"template error: {exc} in {text!r}", where) from None


@lru_cache(maxsize=4096)
def names_used(source: str) -> frozenset[str]:
    return frozenset(meta.find_undeclared_variables(environment().parse(source)))
