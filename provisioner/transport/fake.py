"""A scripted `Connection` for unit tests (in the spirit of httpx's MockTransport
and Fabric's fabric.testing): no host, answers decided by the test.

Answer with a handler::

    conn = FakeConnection(lambda script, become, stdin: Result(0, "ok\\n", ""))

or with rules, a list of (substring or compiled regex, Result)::

    conn = FakeConnection(rules=[("rpm -q", Result(0, "bash-5.1\\n", "")),
                                 (re.compile(r"^systemctl"), Result(3, "", ""))])

By default the first matching rule answers, any number of times; with
``ordered=True`` each call must match the next rule, which is then used up
(`assert_done()` checks none is left). A call nothing answers raises
`UnexpectedCall` (an AssertionError), naming the script.

Every call is recorded in `calls`, every put in `files`. A run's `on_output` is handed
its answer's stdout a line at a time. `fail(exc)` makes
every later run/put raise `exc` (a TransportError: the host is unreachable);
`fail(None)` heals it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from provisioner.errors import TransportError
from provisioner.transport.base import Become, Output, Result

__all__ = ["Call", "FakeConnection", "Handler", "Rule", "UnexpectedCall"]

Handler = Callable[[str, Become | None, bytes | None], Result]
Pattern = str | re.Pattern[str]
Rule = tuple[Pattern, Result]


@dataclass(frozen=True)
class Call:
    script: str
    become: Become | None = None
    stdin: bytes | None = None
    timeout: float | None = None


class UnexpectedCall(AssertionError):
    """The fake was asked something it has no answer for."""


def _matches(pattern: Pattern, script: str) -> bool:
    if isinstance(pattern, str):
        return pattern in script
    return pattern.search(script) is not None


class FakeConnection:
    def __init__(
        self,
        handler: Handler | None = None,
        *,
        rules: Sequence[Rule] = (),
        ordered: bool = False,
        host: str = "fake",
        fail: TransportError | None = None,
    ) -> None:
        if handler is not None and rules:
            raise ValueError("give a handler or rules, not both")
        self.host = host
        self.handler = handler
        self.rules: list[Rule] = list(rules)
        self.ordered = ordered
        self.calls: list[Call] = []
        self.files: dict[str, tuple[bytes, int]] = {}
        self.closed = False
        self._fail = fail

    def fail(self, exc: TransportError | None) -> None:
        """From now on every run/put raises `exc` (None: behave again)."""
        self._fail = exc

    @property
    def scripts(self) -> list[str]:
        return [c.script for c in self.calls]

    def run(
        self,
        script: str,
        *,
        become: Become | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
        on_output: Output | None = None,
    ) -> Result:
        result = self._answer(script, become, stdin, timeout)
        if on_output is not None:  # a line at a time, as a slow command prints
            for line in result.stdout.splitlines(keepends=True):
                on_output(line.encode())
        return result

    def _answer(
        self, script: str, become: Become | None, stdin: bytes | None, timeout: float | None
    ) -> Result:
        self.calls.append(Call(script, become, stdin, timeout))
        if self._fail is not None:
            raise self._fail
        if self.handler is not None:
            return self.handler(script, become, stdin)
        if self.ordered:
            if not self.rules:
                raise UnexpectedCall(f"{self.host}: no more calls expected, got:\n{script}")
            pattern, result = self.rules[0]
            if not _matches(pattern, script):
                raise UnexpectedCall(
                    f"{self.host}: expected a script matching {_show(pattern)}, got:\n{script}"
                )
            self.rules.pop(0)
            return result
        for pattern, result in self.rules:
            if _matches(pattern, script):
                return result
        raise UnexpectedCall(f"{self.host}: no rule matches the script:\n{script}")

    def put(self, data: bytes, path: str, mode: int = 0o600) -> None:
        if self._fail is not None:
            raise self._fail
        self.files[path] = (bytes(data), mode)

    def close(self) -> None:
        self.closed = True

    def assert_done(self) -> None:
        """With ordered rules: every expected call was made."""
        if self.ordered and self.rules:
            left = ", ".join(_show(p) for p, _ in self.rules)
            raise AssertionError(f"{self.host}: expected calls not made: {left}")


def _show(pattern: Pattern) -> str:
    return repr(pattern) if isinstance(pattern, str) else f"/{pattern.pattern}/"
