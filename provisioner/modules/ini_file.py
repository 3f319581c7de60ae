"""ini_file: an option of a section of an INI file (yum's .repo files are INI) set,
removed, or a whole section removed, as Ansible's ini_file does."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import AliasChoices, Field, model_validator

from provisioner.modules import register
from provisioner.modules._args import Text
from provisioner.modules._files import AbsPath, Account, Mode
from provisioner.modules._textedit import TextEdit
from provisioner.modules.base import Args
from provisioner.modules.lineinfile import split_lines

SECTION = re.compile(r"^\s*\[([^\]]*)\]")


class IniFileArgs(Args):
    path: AbsPath = Field(validation_alias=AliasChoices("path", "dest"))
    section: str | None = None
    option: str | None = Field(default=None, validation_alias=AliasChoices("option", "key"))
    value: Text | None = None
    state: Literal["present", "absent"] = "present"
    no_extra_spaces: bool = False
    create: bool = True
    allow_no_value: bool = False
    backup: bool = False
    mode: Mode = None
    owner: Account = None
    group: Account = None

    @model_validator(mode="after")
    def _needs(self) -> IniFileArgs:
        if self.section is None and self.option is None:
            raise ValueError("give 'section', 'option' or both")
        if self.state == "present" and self.option is not None and self.value is None:
            if not self.allow_no_value:
                raise ValueError("state 'present' with an option needs 'value' (or allow_no_value)")
        return self


def _matching(lines: list[str], start: int, end: int, option: str) -> list[int]:
    """The lines of the section that set the option (comments are not settings)."""
    rx = re.compile(rf"^\s*{re.escape(option)}\s*([=:]|$)")
    return [i for i in range(start, end) if rx.match(lines[i])]


def _bounds(lines: list[str], section: str | None) -> tuple[int, int] | None:
    """Where the section's body starts and ends (its header excluded); None: not there."""
    if section is None:
        end = next((i for i, ln in enumerate(lines) if SECTION.match(ln)), len(lines))
        return 0, end
    for i, line in enumerate(lines):
        found = SECTION.match(line)
        if found and found.group(1).strip() == section:
            end = next((j for j in range(i + 1, len(lines)) if SECTION.match(lines[j])), len(lines))
            return i + 1, end
    return None


def edit_ini(text: str, a: IniFileArgs) -> tuple[str, str]:
    lines = split_lines(text)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    where = _bounds(lines, a.section)
    if a.state == "absent":
        return _remove(lines, where, a, text)
    if where is None:
        if lines and lines[-1].strip():
            lines.append("\n")
        lines.append(f"[{a.section}]\n")
        where = (len(lines), len(lines))
        what = "section added"
    else:
        what = ""
    if a.option is None:
        return "".join(lines), what
    wanted = _line(a)
    start, end = where
    live = _matching(lines, start, end, a.option)
    if live:
        if lines[live[0]] == wanted and len(live) == 1:
            return "".join(lines), what
        lines[live[0]] = wanted
        for i in reversed(live[1:]):
            del lines[i]
        return "".join(lines), "option changed"
    at = end
    while at > start and not lines[at - 1].strip():
        at -= 1
    lines.insert(at, wanted)
    return "".join(lines), "option added"


def _line(a: IniFileArgs) -> str:
    if a.value is None:
        return f"{a.option}\n"
    sep = "=" if a.no_extra_spaces else " = "
    return f"{a.option}{sep}{a.value}\n"


def _remove(
    lines: list[str], where: tuple[int, int] | None, a: IniFileArgs, text: str
) -> tuple[str, str]:
    if where is None:
        return text, ""
    start, end = where
    if a.option is None:
        if a.section is None:
            return text, ""
        del lines[start - 1 : end]
        return "".join(lines), "section removed"
    gone = _matching(lines, start, end, a.option)
    if a.value is not None:
        gone = [i for i in gone if lines[i].split("=", 1)[-1].strip() == a.value]
    for i in reversed(gone):
        del lines[i]
    return ("".join(lines), "option removed") if gone else (text, "")


@register
class IniFileModule(TextEdit[IniFileArgs]):
    name = "ini_file"
    aliases = ("community.general.ini_file",)
    args_model = IniFileArgs

    def edit(self, text: str) -> tuple[str, str]:
        new, what = edit_ini(text, self.args)
        return (new, what) if new != text else (text, "")

    def creates(self) -> bool:
        return self.args.create

    def removes_only(self) -> bool:
        return self.args.state == "absent"
