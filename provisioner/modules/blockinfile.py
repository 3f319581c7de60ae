"""blockinfile: lines between two marker lines inserted, replaced in place or removed,
as Ansible's `blockinfile` does. The markers find the block again on the next run, so a
rerun with the same block changes nothing."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator

from provisioner.modules import register
from provisioner.modules._files import AbsPath, Account, Mode
from provisioner.modules._textedit import TextEdit
from provisioner.modules.base import Args
from provisioner.modules.lineinfile import split_lines


class BlockinfileArgs(Args):
    path: AbsPath = Field(validation_alias=AliasChoices("path", "dest", "destfile", "name"))
    block: str = Field(default="", validation_alias=AliasChoices("block", "content"))
    state: Literal["present", "absent"] = "present"
    marker: str = "# {mark} ANSIBLE MANAGED BLOCK"
    marker_begin: str = "BEGIN"
    marker_end: str = "END"
    insertafter: str | None = None
    insertbefore: str | None = None
    create: bool = False
    append_newline: bool = False
    prepend_newline: bool = False
    backup: bool = False
    mode: Mode = None
    owner: Account = None
    group: Account = None

    @field_validator("block", mode="before")
    @classmethod
    def _empty(cls, value: object) -> object:
        # `block:` with nothing after it is YAML's null: Ansible's default, no block.
        return "" if value is None else value

    @field_validator("insertafter", "insertbefore")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None and value not in ("EOF", "BOF"):
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        return value

    @field_validator("marker", "marker_begin", "marker_end")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value or "\r" in value:
            # Markers are found line by line: a multi-line one is never found again.
            raise ValueError("a marker must be a single line (no newline)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> BlockinfileArgs:
        if self.insertafter is not None and self.insertbefore is not None:
            raise ValueError("'insertafter' and 'insertbefore' are mutually exclusive")
        begin, end = markers(self)
        if begin == end:
            # Ansible takes it and inserts the block again on every run.
            raise ValueError(
                f"the begin and end markers are the same line ({begin!r}): "
                "put '{mark}' in 'marker', or make 'marker_begin' and 'marker_end' differ"
            )
        return self


def markers(a: BlockinfileArgs) -> tuple[str, str]:
    """The begin and end marker lines, without their newline."""
    return a.marker.replace("{mark}", a.marker_begin), a.marker.replace("{mark}", a.marker_end)


def _find(lines: list[str], begin: str, end: str) -> tuple[int, int] | None:
    """First and last line of the block: the last begin and the last end marker, in
    either order, as Ansible finds them. None unless both are there."""
    first = last = None
    for i, line in enumerate(lines):
        # A marker ending the file without a newline is still the marker.
        bare = line[:-1] if line.endswith("\n") else line
        if bare == begin:
            first = i
        if bare == end:
            last = i
    if first is None or last is None:
        return None
    return (first, last) if first < last else (last, first)


def _insert_at(lines: list[str], text: str, a: BlockinfileArgs) -> int:
    """Where a block not in the file yet goes: after the last line `insertafter`
    matches, before the last one `insertbefore` matches; at the end when none does."""
    if a.insertbefore is not None:
        if a.insertbefore == "BOF":
            return 0
        rx, after = re.compile(a.insertbefore), False
    elif a.insertafter is not None and a.insertafter != "EOF":
        rx, after = re.compile(a.insertafter), True
    else:
        return len(lines)
    at: int | None = None
    if rx.flags & re.MULTILINE:  # (?m): matched in the whole text, its first match
        found = rx.search(text)
        if found is not None:
            at = text.count("\n", 0, found.end() if after else found.start())
    else:  # matched line by line (with its newline, as Ansible does), the last match
        at = next((i for i in reversed(range(len(lines))) if rx.search(lines[i])), None)
    if at is None:
        return len(lines)
    return min(at + 1, len(lines)) if after else at


def edit_block(text: str, a: BlockinfileArgs) -> tuple[str, str]:
    """The new text and what changed ("" when nothing did)."""
    lines = split_lines(text)
    begin, end = markers(a)
    found = _find(lines, begin, end)
    if a.state == "absent" or not a.block:  # an empty block is removed, as Ansible does
        if found is None:
            return text, ""
        del lines[found[0] : found[1] + 1]
        return "".join(lines), "block removed"
    body = a.block if a.block.endswith("\n") else a.block + "\n"
    wanted = [begin + "\n", *split_lines(body), end + "\n"]
    if found is None:
        at, what = _insert_at(lines, text, a), "block added"
    else:  # replaced where it stands; insertafter/insertbefore only place a new one
        at, what = found[0], "block replaced"
        del lines[found[0] : found[1] + 1]
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    if a.prepend_newline and at > 0 and lines[at - 1] != "\n":
        lines.insert(at, "\n")
        at += 1
    lines[at:at] = wanted
    following = at + len(wanted)
    if a.append_newline and following < len(lines) and lines[following] != "\n":
        lines.insert(following, "\n")
    new = "".join(lines)
    return (new, what) if new != text else (text, "")


@register
class BlockinfileModule(TextEdit[BlockinfileArgs]):
    name = "blockinfile"
    aliases = ("ansible.builtin.blockinfile",)
    args_model = BlockinfileArgs

    def edit(self, text: str) -> tuple[str, str]:
        return edit_block(text, self.args)

    def creates(self) -> bool:
        return self.args.create

    def removes_only(self) -> bool:
        # Ansible fails on a missing file unless create is set, state absent included.
        return self.args.create and self.args.state == "absent"

    def missing(self) -> str:
        return f"Path {self.args.path} does not exist !"
