"""assert: every condition of `that` holds, or the task fails; runs on the controller only."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from provisioner.modules import register
from provisioner.modules.base import Args, ControllerModule, Expressions, Verdict


class AssertArgs(Args):
    that: list[str | bool]
    fail_msg: str | None = None
    success_msg: str | None = None
    quiet: bool = False

    @field_validator("that", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, (str, bool)) else value


@register
class AssertModule(ControllerModule[AssertArgs]):
    name = "assert"
    args_model = AssertArgs

    def evaluate(self, expressions: Expressions) -> Verdict:
        a = self.args
        for cond in a.that:
            if not expressions.truthy(cond):
                return Verdict(True, a.fail_msg or f"assertion failed: {cond}")
        msg = a.success_msg or "all assertions passed"
        # quiet: a passing assert says nothing (as Ansible's quiet does)
        return Verdict(False, "" if a.quiet else msg, {"msg": msg})
