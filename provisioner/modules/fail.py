"""fail: stop the host with a message; runs on the controller only."""

from __future__ import annotations

from typing import Any

from provisioner.modules import register
from provisioner.modules.base import Args, ControllerModule, Expressions, Verdict


class FailArgs(Args):
    msg: Any = "Failed as requested from task"


@register
class FailModule(ControllerModule[FailArgs]):
    name = "fail"
    args_model = FailArgs
    free_form = "msg"

    def evaluate(self, expressions: Expressions) -> Verdict:
        return Verdict(True, str(self.args.msg))
