"""Jinja2 for every string the user writes, with StrictUndefined, sandboxed.

Variables may refer to other variables (`docker_repo: "{{ base }}/repo"`);
only the names a template really uses are resolved, recursively, so an
unrelated broken variable does not fail an unrelated task.

Only what the user wrote is template source, rendered once. What came from a
host (registered results, facts), loop items (already rendered) and the tool's
own variables are `Data`: looked up as they are, never rendered, so a host that
prints `{{ become_password }}` cannot make the controller evaluate it. The
sandbox also refuses arithmetic and repetition that would take minutes or
gigabytes (`10 ** 10 ** 8`, `'a' * 10 ** 9`).
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from provisioner.errors import Location, TemplateError
from provisioner.secrets import Unsafe

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


MAX_POWER_BITS = 4096  # `x ** y` whose result would need more bits is refused
MAX_REPEAT = 1_000_000  # `'a' * n`, `[x] * n`: items or characters at most


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with `**` and `*` checked before they compute."""

    intercepted_binops = frozenset({"**", "*"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_repeat(left, right)
        return super().call_binop(context, operator, left, right)


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        bits = max(abs(base), 1).bit_length() * exponent
        if abs(base) > 1 and bits > MAX_POWER_BITS:
            raise SecurityError(f"{base} ** {exponent} is too large (over {MAX_POWER_BITS} bits)")


def _check_repeat(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
            if len(seq) * times > MAX_REPEAT:
                raise SecurityError(
                    f"repeating {len(seq)} item(s) {times} times is too large (over {MAX_REPEAT:,})"
                )


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    env = _Sandbox(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    env.filters["bool"] = _to_bool
    env.filters["regex_replace"] = _regex_replace
    env.filters["to_json"] = _to_json
    env.filters["to_nice_json"] = _to_nice_json
    return env


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value


class Data:
    """A value that is data, not template source: looked up as it is, never rendered."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Data({self.value!r})"


def as_data(values: Mapping[str, Any]) -> dict[str, Data]:
    return {k: v if isinstance(v, Data) else Data(v) for k, v in values.items()}


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


@lru_cache(maxsize=256)
def _file_template(text: str, name: str) -> jinja2.Template:
    """A controller file's template: compiled under its own name, so an error in it
    carries the file's line."""
    env = environment()
    code = env.compile(text, name=name, filename=name)
    return env.template_class.from_code(env, code, env.make_globals(None))


def _line_in(exc: BaseException, name: str) -> int | None:
    """The line of template `name` an exception was raised at (jinja2 rewrites the
    traceback so that the template's own frames carry its file name and line)."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == name:
            line = frame.lineno
    return line


def _quote_line(text: str, line: int | None) -> str:
    lines = text.splitlines()
    if line is None or not 1 <= line <= len(lines):
        return ""
    return f" in {lines[line - 1].strip()!r}"


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
        if isinstance(value, Data):
            return value.value
        if isinstance(value, Unsafe):  # written `!unsafe`: never a template
            return value
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
            if isinstance(raw, Lazy):
                raw = Data(raw.get())  # the tool's own value: data
            value = self.render(raw)
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
            if raw is not None and not isinstance(raw, (Lazy, Data, Unsafe)):
                todo += [n for text in strings_in(raw) for n in names_in(text)]
        return frozenset(found)

    def render_file(self, text: str, name: str, where: Location | None = None) -> str:
        """A controller file (a template's src) rendered whole; an error names the
        file and its line, and quotes that line only."""
        try:
            names = names_used_in_file(text, name)
            context = {n: self.lookup(n) for n in names if n in self.variables}
            return _file_template(text, name).render(context)
        except TemplateError:
            raise
        except jinja2.TemplateSyntaxError as exc:
            msg = f"{name}:{exc.lineno}: template syntax error: {exc.message}"
            raise TemplateError(msg + _quote_line(text, exc.lineno), where) from None
        except Exception as exc:  # undefined names, filters, the sandbox's limits
            line = _line_in(exc, name)
            head = f"{name}:{line}" if line is not None else name
            why = exc.message if isinstance(exc, jinja2.TemplateError) else _why(exc)
            raise TemplateError(f"{head}: {why}{_quote_line(text, line)}", where) from None

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
            raise TemplateError(f"template error: {_why(exc)} in {text!r}", where) from None


def _why(exc: BaseException) -> str:
    """An exception as one line; a MemoryError says so (its own message is empty)."""
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, SecurityError):
        return f"refused by the sandbox: {exc}"
    return str(exc) or type(exc).__name__


@lru_cache(maxsize=4096)
def names_used(source: str) -> frozenset[str]:
    return frozenset(meta.find_undeclared_variables(environment().parse(source)))


@lru_cache(maxsize=256)
def names_used_in_file(text: str, name: str) -> frozenset[str]:
    return frozenset(meta.find_undeclared_variables(environment().parse(text, filename=name)))
