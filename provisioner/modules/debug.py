"""debug: print a message or a variable's value; runs on the controller only."""

from __future__ import annotations

from typing import Any

from provisioner.modules import register
from provisioner.modules.base import Args, ControllerModule, Expressions, Verdict


class DebugArgs(Args):
    msg: Any = None
    var: str | None = None


@register
class DebugModule(ControllerModule[DebugArgs]):
    name = "debug"
    args_model = DebugArgs

    def evaluate(self, expressions: Expressions) -> Verdict:
        a = self.args
        if a.var:
            value = expressions.evaluate(a.var)
            return Verdict(False, f"{a.var} = {value!r}", {a.var: value})
        return Verdict(False, str(a.msg if a.msg is not None else "Hello world!"))
