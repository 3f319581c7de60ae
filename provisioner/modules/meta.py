"""meta: run control (flush_handlers, end_host, ...), carried out by the worker."""

from __future__ import annotations

from typing import Literal

from provisioner.modules import register
from provisioner.modules.base import Args, ControllerModule, Expressions, Verdict

Action = Literal[
    "flush_handlers",
    "noop",
    "end_host",
    "end_play",
    "end_batch",
    "clear_facts",
    "clear_host_errors",
    "reset_connection",
    "refresh_inventory",
]


class MetaArgs(Args):
    action: Action


@register
class MetaModule(ControllerModule[MetaArgs]):
    name = "meta"
    differs = "clear_host_errors and refresh_inventory are accepted and do nothing"
    args_model = MetaArgs
    free_form = "action"
    silent = True

    def evaluate(self, expressions: Expressions) -> Verdict:
        return Verdict(False, "", control=self.args.action)


def flush_handlers() -> tuple[str, dict[str, str]]:
    """The module and arguments of the flush a play runs between its sections."""
    return MetaModule.name, {"action": "flush_handlers"}
