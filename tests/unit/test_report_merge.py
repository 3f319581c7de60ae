"""`provision report merge`: the JSON reports of a run's shards → one report, one recap.

The merged document has the shape of every report (docs/output-schema.json), its
exit code follows apply's rules over all the hosts, and what cannot be the shards of
one run (a host twice, a dry run with an apply, a file that is no report) is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from provisioner.errors import InputError
from provisioner.events import PlayStopped, RunSummary, Status, TaskResult
from provisioner.report import to_json
from provisioner.report_merge import NotAReport, load_report, merge, read_report
from tests.unit.run_cli import provision
from tests.unit.test_json_output import SCHEMA_PATH, _broken, mixed_run, summarize


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def shard(*outcomes: tuple[str, Status], check: bool = False, idle: tuple[str, ...] = ()) -> Any:
    """A report: one task per (host, status), and hosts that ran nothing."""
    results = [
        TaskResult(host, "site", "Install", "package", status, check=check)
        for host, status in outcomes
    ]
    return to_json(summarize(results, check=check, hosts=idle))


def merged(*docs: Any) -> RunSummary:
    return merge([(f"shard{n}.json", read_report(d, f"shard{n}.json")) for n, d in enumerate(docs)])


def test_a_report_reads_back_as_the_same_document() -> None:
    for check in (False, True):
        doc = to_json(mixed_run(check=check))
        assert to_json(read_report(doc, "a.json")) == doc
        assert to_json(load_report(json.dumps(doc), "a.json")) == doc


def test_merge_sums_the_shards(validator: Draft202012Validator) -> None:
    one = to_json(mixed_run(check=False))  # web1, web2, db1, db2, idle
    two = shard(("app1", Status.CHANGED), ("app2", Status.OK), idle=("app3",))
    stop = PlayStopped("site", "every host of batch 1 failed", ("app4",))
    three_summary = summarize([], check=False, hosts=("app4",))
    three_summary.stopped.append(stop)
    three = to_json(three_summary)
    empty = to_json(RunSummary(check=False))  # a shard with no host
    doc = to_json(merged(one, two, empty, three))
    validator.validate(doc)
    assert list(doc["hosts"]) == [
        *("web1", "web2", "db1", "db2", "idle"),
        *("app3", "app1", "app2", "app4"),
    ]
    assert doc["hosts"] == {**one["hosts"], **two["hosts"], **three["hosts"]}
    assert doc["results"] == one["results"] + two["results"]
    assert doc["stopped"] == [{"play": "site", "reason": stop.reason, "hosts": ["app4"]}]
    assert doc["check"] is False
    assert to_json(merged(empty)) == empty


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [
        (Status.OK, Status.CHANGED, 0),
        (Status.OK, Status.FAILED, 2),
        (Status.UNREACHABLE, Status.SKIPPED, 4),
        (Status.FAILED, Status.UNREACHABLE, 6),
    ],
)
def test_the_exit_code_is_applys_over_all_hosts(first: Status, second: Status, code: int) -> None:
    one, two = shard(("a", first)), shard(("b", second))
    assert merged(one, two).exit_code == code
    # what one unsharded run of both hosts would exit with
    both = [
        TaskResult(h, "site", "Install", "package", s) for h, s in (("a", first), ("b", second))
    ]
    assert summarize(both, check=False).exit_code == code


def test_an_ignored_or_rescued_failure_does_not_fail_the_merge() -> None:
    ignored = TaskResult("a", "site", "Probe", "command", Status.FAILED, ignored=True)
    rescued = TaskResult("b", "site", "Try", "command", Status.FAILED, rescued=True)
    one = to_json(summarize([ignored], check=False))
    two = to_json(summarize([rescued], check=False))
    summary = merged(one, two)
    assert summary.exit_code == 0
    assert (summary.hosts["a"].ignored, summary.hosts["b"].rescued) == (1, 1)


def test_merge_refuses_a_dry_run_with_an_apply() -> None:
    with pytest.raises(InputError, match=r"shard1.json is a dry run \(--check\) and shard0.json"):
        merged(shard(("a", Status.OK)), shard(("b", Status.OK), check=True))
    assert merged(shard(("a", Status.OK), check=True), shard(check=True)).check is True


def test_merge_refuses_a_host_in_two_reports() -> None:
    one = shard(("a", Status.OK), ("b", Status.OK))
    two = shard(idle=("b",))  # selected there too, even without a result
    with pytest.raises(InputError, match=r"host 'b' is in shard0.json and in shard1.json"):
        merged(one, two)
    with pytest.raises(InputError, match="host 'a'"):
        merged(one, one)


def test_merge_of_nothing_is_refused() -> None:
    with pytest.raises(InputError):
        merge([])


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "it is empty"),
        ("\n", "it is empty"),
        ("all:\n  hosts:\n", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"localhost": {"distribution": "Debian"}}', "no 'check', 'hosts'"),
        ('{"check": false, "hosts": {}, "results": [], "stopped": [], "x": 1}', "unknown key"),
        ('{"check": "no", "hosts": {}, "results": [], "stopped": []}', "'check'"),
        ('{"check": false, "hosts": [], "results": [], "stopped": []}', "'hosts'"),
        ('{"check": false, "hosts": {}, "results": {}, "stopped": []}', "'results'"),
        ('{"check": false, "hosts": {}, "results": [], "stopped": [1]}', "stopped[0]"),
    ],
)
def test_what_is_not_a_report_is_refused_naming_the_file(text: str, why: str) -> None:
    with pytest.raises(NotAReport) as caught:
        load_report(text, "shard3.json")
    assert str(caught.value).startswith("shard3.json: not a report of `provision apply -o json`")
    assert why in str(caught.value)


@pytest.mark.parametrize(
    "how",
    [
        "missing top-level key",
        "missing result field",
        "unknown status",
        "unknown result field",
        "missing host count",
        "negative count",
        "unreachable not bool",
        "item not string",
        "changes not strings",
        "ignored on a non-failure",
        "result of an unknown host",
        "count not a number",
    ],
)
def test_every_document_the_schema_rejects_is_refused(how: str) -> None:
    doc = to_json(mixed_run(check=False))
    if how == "result of an unknown host":
        bad = json.loads(json.dumps(doc))
        bad["results"][0]["host"] = "elsewhere"
    elif how == "count not a number":
        bad = json.loads(json.dumps(doc))
        bad["hosts"]["web1"]["ok"] = True  # a bool is an int to Python, not to JSON Schema
    else:
        bad = _broken(doc, how)
    with pytest.raises(NotAReport):
        read_report(bad, "a.json")


# -- the command -------------------------------------------------------------------


def write(tmp_path: Path, name: str, doc: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_the_command_prints_the_recap_and_exits_as_apply(tmp_path: Path) -> None:
    one = write(tmp_path, "1.json", shard(("web1", Status.CHANGED), ("web2", Status.FAILED)))
    two = write(tmp_path, "2.json", shard(("db1", Status.UNREACHABLE)))
    proc = provision("report", "merge", one, two, cwd=tmp_path)
    assert proc.returncode == 6, proc.stderr
    assert "RECAP" in proc.stdout
    rows = {ln.split()[0]: ln.split() for ln in proc.stdout.splitlines() if ln.strip()}
    assert rows["web1"][1:] == ["0", "1", "0", "0", "0", "0", "no"]
    assert rows["web2"][3] == "1" and rows["db1"][-1] == "yes"
    assert "2 report(s) merged: 3 host(s)" in proc.stderr
    proc = provision("report", "merge", one, cwd=tmp_path)
    assert proc.returncode == 2


def test_the_command_prints_the_merged_document_with_json(
    tmp_path: Path, validator: Draft202012Validator
) -> None:
    docs = [shard(("a", Status.OK)), shard(("b", Status.CHANGED)), to_json(RunSummary(False))]
    paths = [write(tmp_path, f"{n}.json", d) for n, d in enumerate(docs)]
    proc = provision("report", "merge", "-o", "json", *paths, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # the document alone on stdout; the recap on stderr
    validator.validate(doc)
    assert list(doc["hosts"]) == ["a", "b"] and "RECAP" in proc.stderr


def test_the_command_names_every_file_that_is_not_a_report(tmp_path: Path) -> None:
    good = write(tmp_path, "1.json", shard(("a", Status.OK)))
    (tmp_path / "2.json").write_text("")  # a shard that stopped on bad input writes nothing
    proc = provision("report", "merge", good, "2.json", "3.json", "-o", "json", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "2.json: not a report of `provision apply -o json`: it is empty" in proc.stderr
    assert "3.json: cannot read it" in proc.stderr
    assert "2 of the 3 file(s) are not reports" in proc.stderr


@pytest.mark.parametrize(
    ("second", "said"),
    [
        (shard(("a", Status.OK)), "host 'a' is in"),
        (shard(("b", Status.OK), check=True), "is a dry run (--check)"),
    ],
)
def test_the_command_refuses_reports_of_different_runs(
    tmp_path: Path, second: Any, said: str
) -> None:
    one = write(tmp_path, "1.json", shard(("a", Status.OK)))
    two = write(tmp_path, "2.json", second)
    proc = provision("report", "merge", one, two, cwd=tmp_path)
    assert proc.returncode == 1 and said in proc.stderr and proc.stdout == ""


def test_the_command_refuses_an_unknown_output(tmp_path: Path) -> None:
    one = write(tmp_path, "1.json", shard(("a", Status.OK)))
    proc = provision("report", "merge", "-o", "yaml", one, cwd=tmp_path)
    assert proc.returncode == 1 and "--output must be" in proc.stderr
    assert provision("report", "merge", cwd=tmp_path).returncode == 1  # no file: usage
