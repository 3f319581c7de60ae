"""set_fact: host variables set by a task (above registered results, below -e);
runs on the controller only."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, model_validator

from provisioner.modules import register
from provisioner.modules.base import Args, ControllerModule, Expressions, Verdict


class SetFactArgs(Args):
    # Every argument but `cacheable` is a variable to set.
    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)
    cacheable: bool = False  # accepted; there is no fact cache to keep them in

    @model_validator(mode="after")
    def _names(self) -> SetFactArgs:
        extra = self.model_extra or {}
        if not extra:
            raise ValueError("set_fact needs at least one name: value")
        bad = [k for k in extra if not str(k).isidentifier()]
        if bad:
            raise ValueError(f"'{bad[0]}' is not a valid variable name")
        return self

    def values(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


@register
class SetFactModule(ControllerModule[SetFactArgs]):
    name = "set_fact"
    differs = "cacheable is accepted and ignored: there is no fact cache"
    args_model = SetFactArgs
    sets_variables = True

    def evaluate(self, expressions: Expressions) -> Verdict:
        values = self.args.values()
        return Verdict(False, "", {"ansible_facts": values}, sets=values)
