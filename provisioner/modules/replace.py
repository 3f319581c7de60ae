"""replace: every match of a regular expression in a file replaced (Ansible's
`replace`), optionally only between `after` and `before`."""

from __future__ import annotations

import re

from pydantic import AliasChoices, Field, field_validator

from provisioner.modules import register
from provisioner.modules._files import AbsPath, Account, Mode
from provisioner.modules._textedit import TextEdit
from provisioner.modules.base import Args


class ReplaceArgs(Args):
    path: AbsPath = Field(validation_alias=AliasChoices("path", "dest", "destfile", "name"))
    regexp: str
    replace: str = ""
    after: str | None = None
    before: str | None = None
    backup: bool = False
    mode: Mode = None
    owner: Account = None
    group: Account = None

    @field_validator("regexp", "after", "before")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value, re.MULTILINE)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        return value


def replaced(text: str, a: ReplaceArgs) -> tuple[str, int]:
    """The text with the section's matches replaced, and how many there were."""
    start, end = 0, len(text)
    if a.after is not None:
        found = re.search(a.after, text, re.MULTILINE | re.DOTALL)
        start = found.end() if found else len(text)
    if a.before is not None:
        found = re.search(a.before, text[start:], re.MULTILINE | re.DOTALL)
        end = start + found.start() if found else start
    section, count = re.subn(a.regexp, a.replace, text[start:end], flags=re.MULTILINE)
    return text[:start] + section + text[end:], count


@register
class ReplaceModule(TextEdit[ReplaceArgs]):
    name = "replace"
    args_model = ReplaceArgs

    def edit(self, text: str) -> tuple[str, str]:
        new, count = replaced(text, self.args)
        if new == text:
            return text, ""
        return new, f"{count} replacement{'s' if count != 1 else ''}"
