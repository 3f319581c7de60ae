"""Retrying the failed hosts: `--limit @FILE` read into host names, and
`.provision/last-failed` written after a run (in the current directory), kept up to
date by the runs after it, removed when no host is left to retry."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioner.cli.common import limited
from provisioner.cli.retry import RETRY_FILE, RETRY_LIMIT, expand_limit, remember_failed
from provisioner.errors import InputError
from provisioner.events import HostStats, PlayStopped, RunSummary
from provisioner.inventory import Inventory, load_inventory, localhost_inventory
from tests.unit.run_cli import provision

INVENTORY = """\
all:
  children:
    web:
      hosts:
        web1: {connection: local}
        web2: {connection: local}
        web3: {connection: local}
    db:
      hosts:
        db1: {connection: local}
"""


@pytest.fixture
def inv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Inventory:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hosts.yml").write_text(INVENTORY)
    return load_inventory(Path("hosts.yml"))


@dataclass(frozen=True)
class Limit:
    id: str
    limit: str
    files: dict[str, str]
    pattern: str = ""  # what the limit stands for
    error: str = ""  # or the words of its error


LIMITS = [
    Limit("a file", "@f", {"f": "web1\ndb1\n"}, "web1,db1"),
    Limit("blank lines and comments", "@f", {"f": "\n# retry\n  web2  \n\n"}, "web2"),
    Limit("with other terms", "@f,web3", {"f": "web1\n"}, "web1,web3"),
    Limit("all but a file's hosts", "web,!@f", {"f": "web1\nweb2\n"}, "web,!web1,!web2"),
    Limit("in a colon list", "db:@f", {"f": "web1\n"}, "db,web1"),
    Limit("two files", "@f,@g", {"f": "web1\n", "g": "web2\n"}, "web1,web2"),
    Limit("a name with a colon and a blank", "@a b:c", {"a b:c": "db1\n"}, "db1"),
    Limit("localhost is a host", "@f", {"f": "localhost\n"}, "localhost"),
    Limit("no file: as it was", "web*:!web2", {}, "web*:!web2"),
    Limit(
        "an unknown host",
        "@f",
        {"f": "web1\n\nweb9\n"},
        error="f:3: 'web9' is no host in hosts.yml",
    ),
    Limit(
        "every unknown line counted",
        "@f",
        {"f": "nope\nweb1\nno\n"},
        error="f:1: 'nope' is no host in hosts.yml (and 1 more such line(s))",
    ),
    Limit("a group", "@f", {"f": "web\n"}, error="f:1: 'web' is a group, not a host"),
    Limit("two names a line", "@f", {"f": "web1 web2\n"}, error="f:1: 'web1 web2': one host name"),
    Limit("only comments", "@f", {"f": "# none\n\n"}, error="f names no host"),
    Limit("a missing file", "@nope", {}, error="nope: cannot read file: No such file or directory"),
    Limit("a folder", "@.", {}, error=".: cannot read file: Is a directory"),
    Limit("no file name", "@,web1", {}, error="'@' names no file"),
    Limit("intersected", "web,&@f", {"f": "web1\n"}, error="can be added (@FILE) or left out"),
]


@pytest.mark.parametrize("case", LIMITS, ids=[c.id for c in LIMITS])
def test_limit_files(case: Limit, inv: Inventory, tmp_path: Path) -> None:
    for name, text in case.files.items():
        (tmp_path / name).write_text(text)
    if not case.error:
        assert expand_limit(case.limit, inv) == case.pattern
        return
    with pytest.raises(InputError) as caught:
        expand_limit(case.limit, inv)
    assert case.error in str(caught.value)


def test_limited_reads_files_and_names_the_limit_in_errors(inv: Inventory, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("web2\ndb1\n")
    assert [h.name for h in limited(inv, "@f")] == ["web2", "db1"]  # inventory order
    assert [h.name for h in limited(inv, "web,!@f")] == ["web1", "web3"]
    with pytest.raises(InputError, match=r"^--limit '@f,&db,&web' matches no host in the"):
        limited(inv, "@f,&db,&web")
    (tmp_path / "f").write_text("web7\n")
    with pytest.raises(InputError, match=r"^--limit '@f': f:1: 'web7' is no host in hosts.yml$"):
        limited(inv, "@f")


def test_without_inventory_only_localhost_is_a_host(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("localhost\nweb1\n")
    with pytest.raises(InputError, match="f:2: 'web1' is no host \\(no inventory was given: -i\\)"):
        expand_limit(f"@{tmp_path / 'f'}", localhost_inventory())


# -- the retry file ------------------------------------------------------------------


@dataclass(frozen=True)
class After:
    id: str
    before: str | None  # the retry file before the run, None: none
    hosts: dict[str, str]  # host → "ok", "failed" or "unreachable" in this run
    after: str | None  # the file after it
    said: str  # what the run says ("" nothing)
    stopped: tuple[str, ...] = ()  # hosts of a play that stopped early


AFTER = [
    After(
        "failures written, in the recap's order",
        None,
        {"web1": "ok", "web2": "failed", "db1": "unreachable"},
        "web2\ndb1\n",
        f"2 host(s) failed or were unreachable: written to {RETRY_FILE}; "
        f"retry exactly those with {RETRY_LIMIT}",
    ),
    After("no failure, no file: nothing", None, {"web1": "ok"}, None, ""),
    After(
        "a retry that leaves none removes it",
        "web2\ndb1\n",
        {"web2": "ok", "db1": "ok"},
        None,
        f"no host left to retry: {RETRY_FILE} removed",
    ),
    After(
        "a retry rewrites it with those still failing",
        "web2\ndb1\n",
        {"web2": "ok", "db1": "failed"},
        "db1\n",
        "1 host(s) failed or were unreachable: written to",
    ),
    After(
        "hosts this run did not run stay (a run of one host forgets no other)",
        "web2\ndb1\n",
        {"web2": "ok"},
        "db1\n",
        "no host failed; 1 host(s) an earlier run left to retry were not run this time: "
        f"all in {RETRY_FILE}; retry them with {RETRY_LIMIT}",
    ),
    After(
        "this run's failures first, then the earlier ones",
        "db1\n",
        {"web1": "failed"},
        "web1\ndb1\n",
        "1 host(s) failed or were unreachable; 1 host(s) an earlier run left",
    ),
    After(
        "a host of a play that stopped early did not run",
        "web3\n",
        {"web1": "failed", "web3": "ok"},
        "web1\nweb3\n",
        "the playbook stopped early: run it again whole",
        stopped=("web3",),
    ),
    After(
        "names the inventory no longer has are dropped; comments too",
        "# mine\nweb9\nweb3\n",
        {"web1": "failed"},
        "web1\nweb3\n",
        "1 host(s) an earlier run left",
    ),
]


def summary_of(hosts: dict[str, str], stopped: tuple[str, ...]) -> RunSummary:
    summary = RunSummary(check=False)
    for name, status in hosts.items():
        summary.hosts[name] = HostStats(
            ok=1, failed=int(status == "failed"), unreachable=status == "unreachable"
        )
    if stopped:
        summary.stopped.append(PlayStopped("p", "any_errors_fatal", stopped))
    return summary


@pytest.mark.parametrize("case", AFTER, ids=[c.id for c in AFTER])
def test_the_retry_file_after_a_run(case: After, inv: Inventory, tmp_path: Path) -> None:
    path = tmp_path / RETRY_FILE
    if case.before is not None:
        path.parent.mkdir()
        path.write_text(case.before)
    said = "\n".join(remember_failed(summary_of(case.hosts, case.stopped), inv.hosts))
    assert case.said in said and bool(case.said) == bool(said)
    assert (path.read_text() if path.exists() else None) == case.after
    if case.before is None and case.after is None:
        assert not path.parent.exists()  # nothing to say: no folder made either


def test_the_folder_is_ignored_by_git_and_left_clean(inv: Inventory, tmp_path: Path) -> None:
    remember_failed(summary_of({"web1": "failed"}, ()), inv.hosts)
    folder = tmp_path / ".provision"
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    assert sorted(p.name for p in folder.iterdir()) == [".gitignore", "last-failed"]  # no temp


def test_a_file_that_cannot_be_written_is_a_warning_with_the_hosts(
    inv: Inventory, tmp_path: Path
) -> None:
    (tmp_path / ".provision").write_text("not a folder")
    said = remember_failed(summary_of({"web1": "failed", "db1": "unreachable"}, ()), inv.hosts)
    assert said == [
        f"warning: could not update {RETRY_FILE}: File exists; retry with --limit web1,db1"
    ]


# -- as a user runs it ---------------------------------------------------------------

PLAY = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: fails until fixed
      command: test -e fixed-{{ inventory_hostname }}
      changed_when: false
      check_mode: false  # a read-only check: the dry run fails too
      when: inventory_hostname in ['web2', 'db1']
"""


def test_a_failed_run_says_how_to_retry_and_the_retry_clears_it(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text(INVENTORY)
    (tmp_path / "p.yml").write_text(PLAY)
    retry_file = tmp_path / RETRY_FILE
    proc = provision("apply", "-i", "hosts.yml", "p.yml", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert f"retry exactly those with {RETRY_LIMIT}" in proc.stdout  # after the recap
    assert retry_file.read_text() == "web2\ndb1\n"

    (tmp_path / "fixed-web2").touch()
    dry = provision("apply", "-i", "hosts.yml", "p.yml", "--check", cwd=tmp_path)
    assert dry.returncode == 2 and "last-failed" not in dry.stdout + dry.stderr
    assert retry_file.read_text() == "web2\ndb1\n"  # a dry run changes nothing here either

    retry = ("apply", "-i", "hosts.yml", "p.yml", "--limit", f"@{RETRY_FILE}")
    proc = provision(*retry, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "PLAY hosts: all · web2, db1" in proc.stdout
    assert retry_file.read_text() == "db1\n"

    (tmp_path / "fixed-db1").touch()
    proc = provision(*retry, "-o", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert list(json.loads(proc.stdout)["hosts"]) == ["db1"]  # stdout: the document alone
    assert f"no host left to retry: {RETRY_FILE} removed" in proc.stderr
    assert not retry_file.exists()


def test_with_json_the_file_is_written_and_the_hint_is_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text(INVENTORY)
    (tmp_path / "p.yml").write_text(PLAY)
    proc = provision("apply", "-i", "hosts.yml", "p.yml", "-o", "json", cwd=tmp_path)
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["hosts"]["web2"]["failed"] == 1
    assert RETRY_LIMIT in proc.stderr and (tmp_path / RETRY_FILE).read_text() == "web2\ndb1\n"


def test_a_bad_limit_file_is_bad_input_naming_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text(INVENTORY)
    (tmp_path / "p.yml").write_text(PLAY)
    (tmp_path / "mine").write_text("web1\n# a comment\nweb7\n")
    for command in (("apply", "p.yml", "-o", "json"), ("facts",), ("inventory", "--list")):
        proc = provision(*command, "-i", "hosts.yml", "--limit", "@mine", cwd=tmp_path)
        assert proc.returncode == 1, proc.stderr
        assert "--limit '@mine': mine:3: 'web7' is no host in hosts.yml" in proc.stderr
        assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert not (tmp_path / ".provision").exists()  # nothing ran: nothing to retry


# -- the docs ------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
GUIDES = [ROOT / "docs" / "classroom.md", ROOT / "docs" / "classroom.ko.md"]


def test_the_docs_quote_the_run_and_retry_as_it_says(inv: Inventory) -> None:
    def said(failures: int) -> str:
        hosts = {name: "failed" for name in list(inv.hosts)[:failures]}
        [line] = remember_failed(summary_of(hosts, ()), inv.hosts)
        return line

    def flat(path: Path) -> str:
        return " ".join(path.read_text().split())

    assert said(2) in flat(ROOT / "README.md")
    blocks = []
    for guide in GUIDES:
        assert said(3) in flat(guide), guide.name
        blocks.append(re.findall(r"^```sh retry\n(.*?)^```", guide.read_text(), re.S | re.M))
    assert blocks[0] == blocks[1] and len(blocks[0]) == 1, "one `sh retry` block, the same"
    assert blocks[0][0].rstrip().endswith(RETRY_LIMIT)
