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

import traceback
import types
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from provisioner import jinja
from provisioner.errors import Location, TemplateError
from provisioner.jinja.lookups import SCOPE_KEY, Hidden
from provisioner.secrets import Unsafe


def _to_bool(value: Any) -> bool:
    """The truth of a condition (`when`, `that`): a string is read as a boolean word."""
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "true", "1", "on", "y")
    return bool(value)


class _Undefined(jinja2.ChainableUndefined, jinja2.StrictUndefined):
    """StrictUndefined whose attributes and items are undefined too, as Ansible's: so
    `x.y | default(1)` and `x.y is defined` work when `x` is not defined, while using
    the value (printing, comparing, iterating, testing its truth) is still an error."""

    __slots__ = ()


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
    env = _Sandbox(undefined=_Undefined, keep_trailing_newline=True, autoescape=False)
    jinja.install(env)  # Ansible's filters, tests and lookups
    return env


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value


TEMPLATE_PATTERN = r"\{\{|\{%"
"""What `is_template` looks for, as a regular expression (Python's and JSON Schema's)."""


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
    return environment().from_string(escape_backslashes(text))


@lru_cache(maxsize=4096)
def _expression(text: str, escape: bool) -> Any:
    if escape:
        text = escape_backslashes("{{" + text + "}}")[2:-2]
    return environment().compile_expression(text, undefined_to_none=False)


@lru_cache(maxsize=4096)
def lone_expression(text: str) -> str | None:
    """The expression of a text that is one `{{ expr }}` with only blanks around it,
    else None. Found by Jinja2's lexer, so `}}` inside the expression (a dict
    literal: `{{ a | combine({'b': {'c': 1}}) }}`) does not end it."""
    if "{{" not in text:
        return None
    try:
        tokens = [(kind, value) for _, kind, value in environment().lex(text)]
    except jinja2.TemplateSyntaxError:
        return None  # compiling it says what is wrong
    while tokens and tokens[0][0] == "data" and not tokens[0][1].strip():
        tokens.pop(0)
    while tokens and tokens[-1][0] == "data" and not tokens[-1][1].strip():
        tokens.pop()
    if (
        len(tokens) < 2
        or tokens[0] != ("variable_begin", "{{")
        or tokens[-1] != ("variable_end", "}}")
    ):
        return None
    inner = tokens[1:-1]
    if any(kind.endswith(("_begin", "_end")) or kind == "data" for kind, _ in inner):
        return None
    return "".join(value for _, value in inner).strip()


@lru_cache(maxsize=4096)
def escape_backslashes(text: str) -> str:
    r"""Backslashes in the string literals inside `{{ }}` doubled, as Ansible does for
    the strings a playbook writes (not for template files, nor `when`): so
    `regex_replace('(a)', '\1')` written in YAML's double quotes reaches the filter
    as `\1`, and `'\n'` stays a backslash and an n, as it would outside the braces."""
    if "\\" not in text or "{{" not in text:
        return text
    out: list[str] = []
    inside = False
    try:
        for _, kind, value in environment().lex(text):
            if kind in ("variable_begin", "variable_end"):
                inside = kind == "variable_begin"
            elif inside and kind == "string":
                value = value.replace("\\", "\\\\")
            out.append(value)
    except jinja2.TemplateSyntaxError:
        return text  # compiling it says what is wrong
    return "".join(out)


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


@lru_cache(maxsize=8192)
def names_in(text: str) -> frozenset[str]:
    """The variables a template (or a bare `when` expression) names; none for text
    that is neither. Cached: every host asks of the same texts, and a plain word or
    sentence costs a failed parse each time it is asked."""
    source = text if is_template(text) else "{{ (" + text + ") }}"
    try:
        return names_used(source)
    except Exception:  # not an expression: a plain word or sentence
        return frozenset()


class Templar:
    """Renders values against one host's variables (a plain mapping of raw values).

    `search`: where lookups look for relative controller files (the task's role,
    the roles that include it, the playbook's folder; see `jinja.lookups`).
    """

    def __init__(self, variables: Mapping[str, Any], search: tuple[Path, ...] = ()) -> None:
        self.variables = variables
        self.search = search
        self._resolved: dict[str, Any] = {}
        self._resolving: list[str] = []
        self._scope = Hidden(_LookupScope(self))

    def child(self, extra: Mapping[str, Any]) -> Templar:
        """The same variables with `extra` on top (loop item, registered results)."""
        merged = dict(self.variables)
        merged.update(extra)
        return Templar(merged, self.search)

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
        text = lone_expression(text) or text  # tolerate `when: "{{ x }}"`
        return self._run(text, where, expression_mode=True, escape=False)

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
                # a variable's value is rendered, never evaluated: only its templates name
                todo += [n for t in strings_in(raw) if is_template(t) for n in names_in(t)]
        return frozenset(found)

    def render_file(self, text: str, name: str, where: Location | None = None) -> str:
        """A controller file (a template's src) rendered whole; an error names the
        file and its line, and quotes that line only."""
        try:
            names = names_used_in_file(text, name)
            return _file_template(text, name).render(self._context(names))
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
    def _context(self, names: frozenset[str]) -> dict[str, Any]:
        """What a template that uses `names` renders with: those variables, and what
        the lookups need under a name no template can write."""
        context = {n: self.lookup(n) for n in names if n in self.variables}
        context[SCOPE_KEY] = self._scope
        return context

    def _render_str(self, text: str, where: Location | None) -> Any:
        if not is_template(text):
            return text
        expr = lone_expression(text)
        if expr is not None:
            value = self._run(expr, where, expression_mode=True)
            if isinstance(value, str):  # a string keeps the whitespace around it ("{{ x }}\n")
                return text[: text.index("{{")] + value + text[text.rindex("}}") + 2 :]
            return value
        return self._run(text, where, expression_mode=False)

    def _run(
        self, text: str, where: Location | None, *, expression_mode: bool, escape: bool = True
    ) -> Any:
        source = "{{ (" + text + ") }}" if expression_mode else text
        try:
            context = self._context(names_used(escape_backslashes(source) if escape else source))
            if expression_mode:
                result = _expression(text, escape)(**context)
                if isinstance(result, jinja2.Undefined):
                    result._fail_with_undefined_error()
                if isinstance(result, types.GeneratorType):  # `x | map(...)`, `| unique`
                    result = list(result)
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


class _LookupScope:
    """What the lookups reach of a Templar (`jinja.lookups.Scope`)."""

    __slots__ = ("_templar",)

    def __init__(self, templar: Templar) -> None:
        self._templar = templar

    @property
    def search(self) -> tuple[Path, ...]:
        return self._templar.search

    def has_variable(self, name: str) -> bool:
        return name in self._templar.variables

    def variable(self, name: str) -> Any:
        return self._templar.lookup(name)

    def render_file(self, text: str, name: str, extra: Mapping[str, Any]) -> str:
        """A controller file (the template lookup's) rendered with these variables and
        `extra` (already rendered: data)."""
        templar = self._templar
        if extra:
            templar = templar.child(as_data(extra))
            templar._resolving = self._templar._resolving  # a loop through it is still found
        return templar.render_file(text, name)


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
