"""Jinja2 as Ansible roles use it: Ansible's filters, tests and lookups.

`install(env)` adds them to the sandboxed environment `templating` makes.
`FILTERS`, `TESTS` and `LOOKUPS` name everything a template can use beyond
plain Jinja2 syntax (Jinja2's own filters and tests that roles rely on
included); docs/jinja.md lists each of them, and a test checks both.

An error inside a filter, test or lookup names it ("filter 'combine': …",
"lookup 'file': …"); the Templar adds the template text and the place.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError

from provisioner.errors import ProvisionError
from provisioner.jinja import filters, lookups, tests

FILTERS: tuple[str, ...] = tuple(sorted({*filters.FILTERS, *filters.BUILTIN_FILTERS}))
TESTS: tuple[str, ...] = tuple(sorted({*tests.TESTS, *tests.BUILTIN_TESTS}))
LOOKUPS: tuple[str, ...] = tuple(sorted(lookups.LOOKUPS))
GLOBALS: tuple[str, ...] = tuple(sorted(lookups.GLOBALS))
FQCN = "ansible.builtin."

__all__ = ["FILTERS", "GLOBALS", "LOOKUPS", "TESTS", "install"]


class JinjaFailed(Exception):
    """A filter, test or lookup failed; the message names it."""


def _named(kind: str, name: str, fn: Callable[..., Any], volatile: bool) -> Callable[..., Any]:
    """`fn`, its errors prefixed with what failed. Undefined values, the sandbox's
    refusals and our own errors pass as they are: they are worded already.

    Jinja2 computes a filter or test on constants once, when it compiles the
    template; a `volatile` one (a random salt, the controller's files) asks for the
    render context instead, which Jinja2 does not have at compile time, so it is
    run at each render."""

    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (jinja2.UndefinedError, SecurityError, MemoryError, ProvisionError):
            raise
        except Exception as exc:
            why = str(exc) or type(exc).__name__
            raise JinjaFailed(f"{kind} {name!r}: {why}") from None

    if not volatile:
        return functools.wraps(fn)(run)

    @jinja2.pass_context
    def each_render(context: Any, *args: Any, **kwargs: Any) -> Any:
        return run(*args, **kwargs)

    return each_render


def install(env: jinja2.Environment) -> None:
    """Ansible's filters, tests and lookups into `env`; every filter and test also
    under its `ansible.builtin.` name, as roles may write them."""
    for name, fn in filters.FILTERS.items():
        env.filters[name] = _named("filter", name, fn, name in filters.VOLATILE)
    for name, test in tests.TESTS.items():
        env.tests[name] = _named("test", name, test, name in tests.VOLATILE)
    for name in FILTERS:
        env.filters[FQCN + name] = env.filters[name]
    for name in TESTS:
        env.tests[FQCN + name] = env.tests[name]
    env.globals.update(lookups.GLOBALS)  # a lookup's errors name the lookup already
