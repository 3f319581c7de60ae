"""The `--output json` document: real `to_json` output against docs/output-schema.json.

What is asserted is what a consumer of the document relies on: it validates,
the per-host counts agree with the results, and the schema is strict enough
to reject a broken document.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from provisioner.events import HostStats, RunSummary, Status, TaskResult
from provisioner.report import dump_json, to_json

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "output-schema.json"

DIFF = (
    "--- a/etc/docker/daemon.json\n"
    "+++ b/etc/docker/daemon.json\n"
    "@@ -1 +1 @@\n"
    "-{}\n"
    '+{"log-driver": "journald"}\n'
)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(data)
    return data


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema)


def summarize(results: list[TaskResult], *, check: bool, hosts: tuple[str, ...] = ()) -> RunSummary:
    """A RunSummary built the way the runner builds one: hosts first, then results counted."""
    summary = RunSummary(check=check)
    for name in hosts:
        summary.hosts.setdefault(name, HostStats())
    for res in results:
        summary.results.append(res)
        summary.hosts.setdefault(res.host, HostStats()).count(res)
    return summary


def mixed_run(*, check: bool) -> RunSummary:
    play = "Docker hosts"

    def r(host: str, task: str, module: str, status: Status, **kw: Any) -> TaskResult:
        return TaskResult(host, play, task, module, status, check=check, **kw)

    return summarize(
        [
            r("web1", "Install Docker", "package", Status.CHANGED, summary=("+ docker-ce",)),
            r(
                "web1",
                "Configure the daemon",
                "copy",
                Status.CHANGED,
                summary=("~ /etc/docker/daemon.json",),
                diff=DIFF,
            ),
            r(
                "web1",
                "Docker users",
                "user",
                Status.CHANGED,
                item="alice",
                summary=("groups: +docker",),
            ),
            r("web1", "Docker users", "user", Status.OK, item="bob"),
            r("web1", "Enable docker", "service", Status.SKIPPED, msg="when: start was false"),
            r("web1", "Probe", "command", Status.FAILED, msg="exit 3", ignored=True),
            r(
                "web1",
                "restart docker",
                "service",
                Status.CHANGED,
                summary=("restart",),
                handler=True,
            ),
            r("web2", "Install Docker", "package", Status.OK),
            r("web2", "Configure the daemon", "copy", Status.FAILED, msg="cannot write"),
            r("db1", "Install Docker", "package", Status.UNREACHABLE, msg="cannot connect to db1"),
            r("db2", "Install Docker", "package", Status.STALE, msg="the plan expected ok"),
        ],
        check=check,
        hosts=("web1", "web2", "db1", "db2", "idle"),
    )


@pytest.mark.parametrize("check", [False, True])
def test_real_document_validates(validator: Draft202012Validator, check: bool) -> None:
    doc = to_json(mixed_run(check=check))
    validator.validate(doc)
    # what is printed is the same document
    assert json.loads(dump_json(mixed_run(check=check))) == doc
    assert doc["check"] is check


def test_empty_run_validates(validator: Draft202012Validator) -> None:
    doc = to_json(RunSummary(check=False))
    validator.validate(doc)
    assert doc == {"check": False, "hosts": {}, "results": [], "stopped": []}


def test_host_counts_match_results(validator: Draft202012Validator) -> None:
    doc = to_json(mixed_run(check=False))
    validator.validate(doc)
    assert set(doc["hosts"]) == {"web1", "web2", "db1", "db2", "idle"}
    for name, stats in doc["hosts"].items():
        mine = [r for r in doc["results"] if r["host"] == name]
        counted = [r for r in mine if r["status"] not in ("unreachable", "stale")]
        assert stats["ok"] == sum(r["status"] == "ok" for r in counted)
        assert stats["changed"] == sum(r["status"] == "changed" for r in counted)
        assert stats["skipped"] == sum(r["status"] == "skipped" for r in counted)
        failed = [r for r in counted if r["status"] == "failed"]
        assert stats["failed"] == sum(not (r["ignored"] or r["rescued"]) for r in failed)
        assert stats["rescued"] == sum(r["rescued"] and not r["ignored"] for r in failed)
        assert stats["ignored"] == sum(r["status"] == "failed" and r["ignored"] for r in counted)
        assert stats["unreachable"] is any(r["status"] == "unreachable" for r in mine)
        assert stats.get("stale", False) is any(r["status"] == "stale" for r in mine)
    assert doc["hosts"]["web1"] == {
        "ok": 1,
        "changed": 4,
        "failed": 0,
        "skipped": 1,
        "rescued": 0,
        "ignored": 1,
        "unreachable": False,
    }
    assert doc["hosts"]["idle"] == dict.fromkeys(
        ("ok", "changed", "failed", "skipped", "rescued", "ignored"), 0
    ) | {"unreachable": False}
    assert doc["hosts"]["db1"]["unreachable"] is True
    assert doc["hosts"]["db2"]["stale"] is True


def test_result_fields(validator: Draft202012Validator) -> None:
    doc = to_json(mixed_run(check=True))
    validator.validate(doc)
    by_key = {(r["host"], r["task"], r["item"]): r for r in doc["results"]}
    daemon = by_key[("web1", "Configure the daemon", None)]
    assert daemon["diff"] == DIFF
    assert daemon["changes"] == ["~ /etc/docker/daemon.json"]
    alice = by_key[("web1", "Docker users", "alice")]
    assert alice["status"] == "changed"
    assert alice["changes"] == ["groups: +docker"]
    # no loop: item is null, not ""
    assert by_key[("web1", "Install Docker", None)]["item"] is None
    assert by_key[("web1", "restart docker", None)]["handler"] is True
    assert by_key[("web2", "Install Docker", None)]["diff"] is None
    assert by_key[("web2", "Install Docker", None)]["changes"] == []


def test_status_values_are_what_the_schema_enumerates(schema: dict[str, Any]) -> None:
    enum = schema["$defs"]["status"]["enum"]
    doc = to_json(mixed_run(check=False))
    assert {r["status"] for r in doc["results"]} == set(enum)


def test_every_status_member_is_in_the_schema(schema: dict[str, Any]) -> None:
    enum = schema["$defs"]["status"]["enum"]
    assert sorted(s.value for s in Status) == sorted(enum)


def test_exit_code_of_the_mixed_run() -> None:
    # web2 failed (2) and db1 was unreachable (4); web1's ignored failure does not count
    assert mixed_run(check=False).exit_code == 6


def test_a_stale_host_alone_is_exit_code_3_and_a_failure_comes_first() -> None:
    def r(host: str, status: Status) -> TaskResult:
        return TaskResult(host, "p", "t", "copy", status)

    assert summarize([r("a", Status.CHANGED), r("b", Status.STALE)], check=False).exit_code == 3
    assert summarize([r("a", Status.FAILED), r("b", Status.STALE)], check=False).exit_code == 2
    assert summarize([r("a", Status.UNREACHABLE), r("b", Status.STALE)], check=False).exit_code == 4


def _broken(doc: dict[str, Any], how: str) -> dict[str, Any]:
    bad = copy.deepcopy(doc)
    if how == "missing top-level key":
        del bad["results"]
    elif how == "missing result field":
        del bad["results"][0]["status"]
    elif how == "unknown status":
        bad["results"][0]["status"] = "partial"
    elif how == "unknown result field":
        bad["results"][0]["extra"] = 1
    elif how == "missing host count":
        del bad["hosts"]["web1"]["ignored"]
    elif how == "negative count":
        bad["hosts"]["web1"]["ok"] = -1
    elif how == "unreachable not bool":
        bad["hosts"]["web1"]["unreachable"] = 0
    elif how == "item not string":
        bad["results"][0]["item"] = 3
    elif how == "changes not strings":
        bad["results"][0]["changes"] = [["+", "docker-ce"]]
    elif how == "ignored on a non-failure":
        bad["results"][0]["ignored"] = True
    else:  # pragma: no cover
        raise AssertionError(how)
    return bad


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
    ],
)
def test_schema_rejects_broken_documents(validator: Draft202012Validator, how: str) -> None:
    doc = to_json(mixed_run(check=False))
    assert doc["results"][0]["status"] == "changed"
    validator.validate(doc)
    assert not validator.is_valid(_broken(doc, how))
