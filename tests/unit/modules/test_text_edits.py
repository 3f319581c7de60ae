"""ini_file and replace: a file's text before, the arguments → the text after; the
second plan of the result is converged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError
from provisioner.modules.ini_file import IniFileArgs, IniFileModule, edit_ini
from provisioner.modules.replace import ReplaceArgs, ReplaceModule, replaced

REPO = """[docker-ce-stable]
name=Docker CE Stable
enabled=1

[docker-ce-test]
name=Docker CE Test
enabled = 1

[docker-ce-nightly]
name=Docker CE Nightly
enabled=0
"""


@dataclass(frozen=True)
class IniCase:
    id: str
    args: dict[str, Any]
    before: str
    after: str
    what: str


INI_CASES = [
    IniCase(
        "remove a section",
        {"section": "docker-ce-nightly", "state": "absent"},
        REPO,
        REPO.split("[docker-ce-nightly]")[0],
        "section removed",
    ),
    IniCase(
        "set an option without spaces",
        {"section": "docker-ce-test", "option": "enabled", "value": "0", "no_extra_spaces": True},
        REPO,
        REPO.replace("enabled = 1", "enabled=0"),
        "option changed",
    ),
    IniCase(
        "already set",
        {"section": "docker-ce-stable", "option": "enabled", "value": 1, "no_extra_spaces": True},
        REPO,
        REPO,
        "",
    ),
    IniCase(
        "add an option at the end of its section",
        {"section": "docker-ce-stable", "option": "gpgcheck", "value": "1"},
        REPO,
        REPO.replace("enabled=1\n\n", "enabled=1\ngpgcheck = 1\n\n", 1),
        "option added",
    ),
    IniCase(
        "add a section to an empty file",
        {"section": "main", "option": "a", "value": "b"},
        "",
        "[main]\na = b\n",
        "option added",
    ),
    IniCase(
        "remove an option",
        {"section": "docker-ce-nightly", "option": "enabled", "state": "absent"},
        REPO,
        REPO.replace("Nightly\nenabled=0\n", "Nightly\n"),
        "option removed",
    ),
    IniCase(
        "a commented option is not the option",
        {"section": "s", "option": "x", "value": "1", "no_extra_spaces": True},
        "[s]\n# x=0\n",
        "[s]\n# x=0\nx=1\n",
        "option added",
    ),
    IniCase(
        "removing a section that is not there",
        {"section": "nope", "state": "absent"},
        REPO,
        REPO,
        "",
    ),
]


@pytest.mark.parametrize("case", INI_CASES, ids=[c.id for c in INI_CASES])
def test_ini_file(case: IniCase) -> None:
    args = IniFileArgs.model_validate({"path": "/etc/x.ini", **case.args})
    text, what = edit_ini(case.before, args)
    assert text == case.after
    assert what == case.what if text != case.before else True
    again, _ = edit_ini(text, args)
    assert again == text, "the second run changes nothing"


def test_ini_file_takes_dest_and_refuses_an_option_without_value() -> None:
    IniFileModule.from_dict({"dest": "/etc/x.repo", "section": "s", "state": "absent"})
    with pytest.raises(ModuleArgsError, match="needs 'value'"):
        IniFileModule.from_dict({"path": "/etc/x", "section": "s", "option": "o"})


@dataclass(frozen=True)
class ReplaceCase:
    id: str
    args: dict[str, Any]
    before: str
    after: str
    count: int


UNIT = "[Service]\nExecStart=/usr/bin/dockerd -H fd://\nRestart=always\n"
REPLACE_CASES = [
    ReplaceCase(
        "a whole line, anchored per line",
        {"regexp": "^ExecStart=.*$", "replace": "ExecStart=/usr/bin/dockerd"},
        UNIT,
        UNIT.replace(" -H fd://", ""),
        1,
    ),
    ReplaceCase("no match", {"regexp": "^Nope$", "replace": "x"}, UNIT, UNIT, 0),
    ReplaceCase(
        "backreferences",
        {"regexp": r"^(\w+)=always$", "replace": r"\1=on-failure"},
        UNIT,
        UNIT.replace("always", "on-failure"),
        1,
    ),
    ReplaceCase(
        "only after a marker and before another",
        {"regexp": "a", "replace": "b", "after": "START", "before": "END"},
        "a START a a END a\n",
        "a START b b END a\n",
        2,
    ),
    ReplaceCase(
        "removing (replace defaults to '')",
        {"regexp": " -H fd://"},
        UNIT,
        UNIT.replace(" -H fd://", ""),
        1,
    ),
]


@pytest.mark.parametrize("case", REPLACE_CASES, ids=[c.id for c in REPLACE_CASES])
def test_replace(case: ReplaceCase) -> None:
    args = ReplaceArgs.model_validate({"path": "/etc/x", **case.args})
    text, count = replaced(case.before, args)
    assert (text, count) == (case.after, case.count)
    module = ReplaceModule(args)
    assert module.edit(text)[1] == "" or case.count and replaced(text, args)[0] == text


def test_replace_refuses_a_bad_regexp() -> None:
    with pytest.raises(ModuleArgsError, match="invalid regular expression"):
        ReplaceModule.from_dict({"path": "/etc/x", "regexp": "(unclosed"})
