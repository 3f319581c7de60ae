"""Modules that run on the controller only: nothing is sent to the host."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from provisioner.modules.base import Args


class DebugArgs(Args):
    msg: Any = None
    var: str | None = None


class AssertArgs(Args):
    that: list[str | bool]
    fail_msg: str | None = None
    success_msg: str | None = None
    quiet: bool = False

    @field_validator("that", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, (str, bool)) else value


CONTROLLER_MODULES: dict[str, type[Args]] = {"debug": DebugArgs, "assert": AssertArgs}
