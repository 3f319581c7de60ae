"""Which variables are secrets, and the values that must never be printed.

A variable is secret when its name says so (`*password*`, `*passwd*`,
`*secret*`, `*token*`, `*passphrase*`, `*_pass` and `*_pw` as in
`ansible_become_pass`, `*_key` unless its value is a path), when
its value was written `!unsafe`, or when a secret's template names it (`vault_pw`
in `become_password: "{{ vault_pw }}"`). Listings show `********` for them; the
CLI also masks their values wherever they would be printed (`Secrets.scrub`),
errors and logs included.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

MASK = "********"
_WORDS = ("password", "passwd", "secret", "token", "passphrase")
_PATH = re.compile(r"(/|~/|\./|\.\./)")
MIN_LENGTH = 4  # shorter values would mask ordinary words in the output


class Unsafe(str):
    """A string written `!unsafe`: never a template, and treated as a secret."""


def is_secret(name: str, value: Any = None) -> bool:
    lower = name.lower()
    if isinstance(value, Unsafe) or any(word in lower for word in _WORDS):
        return True
    if lower.endswith(("_pass", "_pw")):
        return True
    return lower.endswith("_key") and not (isinstance(value, str) and _PATH.match(value))


def secret_names(
    variables: Mapping[str, Any], names_in: Callable[[str], Iterable[str]]
) -> set[str]:
    """Secret by name or value, and what their templates name (`names_in(text)`)."""
    found = {n for n, v in variables.items() if is_secret(n, v)}
    todo = list(found)
    while todo:
        value = variables.get(todo.pop())
        for text in _strings(value):
            for name in names_in(text):
                if name in variables and name not in found:
                    found.add(name)
                    todo.append(name)
    return found


def masked(variables: Mapping[str, Any], secret: set[str]) -> dict[str, Any]:
    """The variables as a listing shows them: secrets, and secret keys inside values,
    as MASK."""
    return {k: MASK if k in secret else _masked_value(v) for k, v in variables.items()}


def _masked_value(value: Any) -> Any:
    if isinstance(value, Unsafe):
        return MASK
    if isinstance(value, dict):
        return {k: MASK if is_secret(str(k), v) else _masked_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked_value(v) for v in value]
    return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


class Secrets:
    """Values that must never reach an output, and the text with them masked."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: Any) -> None:
        """A secret value (strings inside lists and mappings too)."""
        for text in _strings(value):
            if len(text) >= MIN_LENGTH and text not in self._values:
                self._values.add(text)
                self._pattern = None

    def add_from(self, variables: Mapping[str, Any], secret: set[str]) -> None:
        for name in secret:
            self.add(variables.get(name))
        for value in variables.values():  # secret keys inside mappings
            self._add_nested(value)

    def _add_nested(self, value: Any) -> None:
        if isinstance(value, Unsafe):
            self.add(str(value))
        elif isinstance(value, dict):
            for k, v in value.items():
                if is_secret(str(k), v):
                    self.add(v)
                self._add_nested(v)
        elif isinstance(value, list):
            for v in value:
                self._add_nested(v)

    def scrub(self, text: str) -> str:
        if not self._values:
            return text
        if self._pattern is None:
            longest_first = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, longest_first)))
        return self._pattern.sub(MASK, text)
