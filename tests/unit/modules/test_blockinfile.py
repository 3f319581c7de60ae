"""blockinfile: a file's text before and the arguments → the plan, the one upload and the
text after, applied for real with `sh` in a temp dir; the plan after apply is converged."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError
from provisioner.modules import lookup
from provisioner.modules.base import CONVERGED, Blocked, Change, Converged
from provisioner.modules.blockinfile import BlockinfileModule
from tests.unit.modules.host import converge, observe

F = "<the file>"
"""Stands for the temp file's path in a case's arguments and summary."""

BEGIN, END = "# BEGIN ANSIBLE MANAGED BLOCK", "# END ANSIBLE MANAGED BLOCK"


def block(*lines: str, begin: str = BEGIN, end: str = END) -> str:
    return "".join(f"{line}\n" for line in (begin, *lines, end))


@dataclass(frozen=True)
class Case:
    id: str
    args: dict[str, Any]  # `path: F` is added unless the case names the file itself
    before: str | None  # the file's text; None: there is no file
    after: str  # the file's text after apply
    summary: tuple[str, ...] | Converged


INI = "[a]\nk=1\n[b]\nk=2\n[c]\n"
SSH = "Host a\n  User x\nHost b\n  User y\n"
NASTY = "echo $(rm -rf /) `id` $HOME;\n'single' \"double\" back\\slash \\n\ttab\n%s %% \\\\\n"
CASES = [
    Case(
        "insert at the end of a file without the block",
        {"block": "x\ny\n"},
        "a\nb\n",
        "a\nb\n" + block("x", "y"),
        (f"~ {F} (block added)",),
    ),
    Case(
        "a block without its final newline gets one",
        {"block": "x\ny"},
        "a\n",
        "a\n" + block("x", "y"),
        (f"~ {F} (block added)",),
    ),
    Case(
        "a changed block is replaced where it stands",
        {"block": "new\nlines"},
        "a\n" + block("old") + "z\n",
        "a\n" + block("new", "lines") + "z\n",
        (f"~ {F} (block replaced)",),
    ),
    Case(
        "an unchanged block: nothing to do",
        {"block": "x\n"},
        "a\n" + block("x") + "z\n",
        "a\n" + block("x") + "z\n",
        CONVERGED,
    ),
    Case(
        "insertafter and insertbefore only place a new block, never move one",
        {"block": "x", "insertbefore": "BOF"},
        "a\n" + block("old") + "z\n",
        "a\n" + block("x") + "z\n",
        (f"~ {F} (block replaced)",),
    ),
    Case(
        "insertafter: after the last matching line",
        {"block": "x", "insertafter": "^k="},
        INI,
        "[a]\nk=1\n[b]\nk=2\n" + block("x") + "[c]\n",
        (f"~ {F} (block added)",),
    ),
    Case(
        "insertbefore: before the last matching line",
        {"block": "x", "insertbefore": r"^\["},
        INI,
        "[a]\nk=1\n[b]\nk=2\n" + block("x") + "[c]\n",
        (f"~ {F} (block added)",),
    ),
    Case(
        "insertbefore BOF",
        {"block": "x", "insertbefore": "BOF"},
        INI,
        block("x") + INI,
        (f"~ {F} (block added)",),
    ),
    Case(
        "insertafter EOF, said explicitly",
        {"block": "x", "insertafter": "EOF"},
        INI,
        INI + block("x"),
        (f"~ {F} (block added)",),
    ),
    Case(
        "insertafter matching nothing: at the end",
        {"block": "x", "insertafter": "^nomatch"},
        INI,
        INI + block("x"),
        (f"~ {F} (block added)",),
    ),
    Case(
        "insertbefore matching nothing: at the end too, as Ansible documents",
        {"block": "x", "insertbefore": "^nomatch"},
        INI,
        INI + block("x"),
        (f"~ {F} (block added)",),
    ),
    Case(
        "(?m) in insertafter: matched across lines, after the line its first match ends on",
        {"block": "x", "insertafter": "(?m)^Host a\\n  User x$"},
        SSH,
        "Host a\n  User x\n" + block("x") + "Host b\n  User y\n",
        (f"~ {F} (block added)",),
    ),
    Case(
        "(?m) in insertbefore: before the line its first match starts on",
        {"block": "x", "insertbefore": "(?m)^Host b\\n"},
        SSH,
        "Host a\n  User x\n" + block("x") + "Host b\n  User y\n",
        (f"~ {F} (block added)",),
    ),
    Case(
        "a marker of one's own, with {mark} and marker_begin/marker_end",
        {"block": "<p>hi</p>", "marker": "<!-- {mark} site -->", "marker_begin": "START"},
        "<body>\n",
        "<body>\n" + block("<p>hi</p>", begin="<!-- START site -->", end="<!-- END site -->"),
        (f"~ {F} (block added)",),
    ),
    Case(
        "another marker is another block: the default one is left alone",
        {"block": "new", "marker": "; {mark}", "marker_begin": "open", "marker_end": "close"},
        block("mine") + block("old", begin="; open", end="; close"),
        block("mine") + block("new", begin="; open", end="; close"),
        (f"~ {F} (block replaced)",),
    ),
    Case(
        "state absent removes the block and its markers",
        {"state": "absent"},
        "a\n" + block("x", "y") + "z\n",
        "a\nz\n",
        (f"~ {F} (block removed)",),
    ),
    Case(
        "state absent without the block: nothing to do (the missing newline stays missing)",
        {"state": "absent", "block": "x"},
        "a\nb",
        "a\nb",
        CONVERGED,
    ),
    Case(
        "an empty block with state present removes the block",
        {"block": ""},
        block("x") + "z\n",
        "z\n",
        (f"~ {F} (block removed)",),
    ),
    Case(
        "no block given and none there: nothing to do",
        {},
        "a\n",
        "a\n",
        CONVERGED,
    ),
    Case(
        "a file without a final newline gets one before the block",
        {"block": "x"},
        "a=1",
        "a=1\n" + block("x"),
        (f"~ {F} (block added)",),
    ),
    Case(
        "an end marker ending the file without a newline is still found",
        {"block": "x"},
        "a\n" + block("old")[:-1],
        "a\n" + block("x"),
        (f"~ {F} (block replaced)",),
    ),
    Case(
        "a begin marker without its end is not a block: a new one is added (as Ansible)",
        {"block": "x"},
        BEGIN + "\na\n",
        BEGIN + "\na\n" + block("x"),
        (f"~ {F} (block added)",),
    ),
    Case(
        "markers in the wrong order still bound the block (as Ansible)",
        {"block": "x"},
        "a\n" + END + "\nold\n" + BEGIN + "\nz\n",
        "a\n" + block("x") + "z\n",
        (f"~ {F} (block replaced)",),
    ),
    Case(
        "append_newline: a blank line after the block, unless one is there",
        {"block": "x", "insertafter": "^a", "append_newline": True},
        "a\nb\n",
        "a\n" + block("x") + "\nb\n",
        (f"~ {F} (block added)",),
    ),
    Case(
        "append_newline at the end of the file: no blank line",
        {"block": "x", "append_newline": True},
        "a\n",
        "a\n" + block("x"),
        (f"~ {F} (block added)",),
    ),
    Case(
        "prepend_newline: a blank line before the block, unless one is there",
        {"block": "x", "prepend_newline": True, "append_newline": True},
        "a\n\n" + block("old") + "b\n",
        "a\n\n" + block("x") + "\nb\n",
        (f"~ {F} (block replaced)",),
    ),
    Case(
        "prepend_newline at the start of the file: no blank line",
        {"block": "x", "insertbefore": "BOF", "prepend_newline": True},
        "a\n",
        block("x") + "a\n",
        (f"~ {F} (block added)",),
    ),
    Case(
        "prepend_newline after a line",
        {"block": "x", "prepend_newline": True},
        "a\n",
        "a\n\n" + block("x"),
        (f"~ {F} (block added)",),
    ),
    Case(
        "Ansible's other spellings: dest for path, content for block",
        {"dest": F, "content": "x"},
        "a\n",
        "a\n" + block("x"),
        (f"~ {F} (block added)",),
    ),
    Case(
        "destfile and name for path",
        {"destfile": F, "block": "x"},
        "a\n" + block("x"),
        "a\n" + block("x"),
        CONVERGED,
    ),
    Case(
        "shell's metacharacters arrive byte for byte",
        {"block": NASTY},
        "a\n",
        "a\n" + BEGIN + "\n" + NASTY + END + "\n",
        (f"~ {F} (block added)",),
    ),
    Case(
        "create: a missing file is made with the block",
        {"block": "x", "create": True},
        None,
        block("x"),
        (f"+ {F}",),
    ),
    Case(
        "create with an empty block makes an empty file (as Ansible)",
        {"create": True},
        None,
        "",
        (f"+ {F}",),
    ),
    Case(
        "the block is there, the mode is not",
        {"block": "x", "mode": "0600"},
        block("x"),
        block("x"),
        ("mode: 0644 → 0600",),
    ),
]


def _module(args: dict[str, Any], f: Path) -> BlockinfileModule:
    named = any(k in args for k in ("path", "dest", "destfile", "name"))
    raw = {k: str(f) if v == F else v for k, v in args.items()}
    return BlockinfileModule.from_dict(raw if named else {"path": str(f), **raw})


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_blockinfile(case: Case, tmp_path: Path) -> None:
    f = tmp_path / "f"
    if case.before is not None:
        f.write_text(case.before)
        f.chmod(0o644)
    module = _module(case.args, f)
    first = module.plan(observe(module))
    if case.before is None:
        # A file to create is Blocked until the run knows no earlier change writes it;
        # then (apply, or a dry run where no task provides it) the plan is `otherwise`.
        assert isinstance(first, Blocked) and first.uncertain
        first = first.otherwise if first.otherwise is not None else first
    want = case.summary
    if not isinstance(want, Converged):
        want = tuple(line.replace(F, str(f)) for line in want)
    assert (first.summary if isinstance(first, Change) else first) == want
    if isinstance(first, Change) and first.payload.content is not None:
        (op,) = module.commands(first)
        assert op.upload == case.after.encode()
        # The text travels as the upload, never inside the script.
        assert "ANSIBLE MANAGED" not in op.script and "rm -rf" not in op.script
    _, again = converge(module, tmp_path)
    assert again is CONVERGED, "the second run changes nothing"
    assert f.read_bytes() == case.after.encode()


@dataclass(frozen=True)
class Missing:
    id: str
    args: dict[str, Any]
    fails: bool  # False: nothing to do, unless an earlier change writes the file


MISSING = [
    Missing("state present, no create: fails as Ansible does", {"block": "x"}, True),
    Missing("an empty block, no create: fails too", {}, True),
    Missing("state absent, no create: fails too (Ansible checks the file first)", {}, True),
    Missing("state absent with create: nothing to remove", {"state": "absent", "create": 1}, False),
]


@pytest.mark.parametrize("case", MISSING, ids=[c.id for c in MISSING])
def test_a_missing_file(case: Missing, tmp_path: Path) -> None:
    f = tmp_path / "f"
    module = _module(case.args, f)
    blocked = module.plan(observe(module))
    assert isinstance(blocked, Blocked) and blocked.what == f"file {f}"
    assert blocked.otherwise_converged is not case.fails
    if case.fails:
        assert blocked.failure == f"Path {f} does not exist !"
    assert not f.exists()


def test_backup_and_attributes(tmp_path: Path) -> None:
    f = tmp_path / "sshd_config"
    f.write_text("Port 22\n")
    f.chmod(0o644)
    module = _module({"block": "Match User x\n  X11Forwarding no", "backup": 1, "mode": "0600"}, f)
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change)
    assert first.summary == (f"~ {f} (block added)", "mode: 0644 → 0600")
    assert first.diff == (
        f"--- a{f}\n+++ b{f}\n@@ -1 +1,5 @@\n Port 22\n"
        f"+{BEGIN}\n+Match User x\n+  X11Forwarding no\n+{END}\n"
    )
    assert again is CONVERGED and stat.S_IMODE(f.stat().st_mode) == 0o600
    (backup,) = [p for p in tmp_path.iterdir() if p.name.startswith("sshd_config.")]
    assert backup.name.endswith("~") and backup.read_text() == "Port 22\n"


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"block": "x", "insertafter": "^a", "insertbefore": "^b"}, "mutually exclusive"),
        ({"block": "x", "insertafter": "("}, "invalid regular expression"),
        ({"block": "x", "insertbefore": "["}, "invalid regular expression"),
        ({"block": "x", "marker": "# managed"}, "begin and end markers are the same line"),
        ({"block": "x", "marker_begin": "X", "marker_end": "X"}, "the same line"),
        ({"block": "x", "marker": "# {mark}\n#"}, "single line"),
        ({"block": "x", "marker_end": "E\r"}, "single line"),
        ({"block": "x", "state": "gone"}, "'present' or 'absent'"),
        ({"block": "x", "content": "y"}, "'block' and 'content' are the same argument"),
        ({"dest": "/g", "block": "x"}, "'path' and 'dest' are the same argument"),
        ({"block": "x", "validate": "visudo -cf %s"}, "unknown argument 'validate'"),
    ],
)
def test_bad_args(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        BlockinfileModule.from_dict({"path": "/f", **raw})


def test_missing_path_and_names() -> None:
    with pytest.raises(ModuleArgsError, match="missing required argument 'path'"):
        BlockinfileModule.from_dict({"block": "x"})
    assert lookup("ansible.builtin.blockinfile") is BlockinfileModule is lookup("blockinfile")
    null = BlockinfileModule.from_dict({"path": "/f", "block": None})
    assert null.args.block == ""
