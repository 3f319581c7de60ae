"""The `--output json` reports of a run's shards → one report: `provision report merge`.

Pure: report texts in, one RunSummary out; `report.to_json` makes it a document of
the same shape again (docs/output-schema.json) and `TerminalReport.recap` its recap,
so the exit code follows apply's rules over all the hosts. Shards split a run's
hosts, so a host in two reports, or a dry run merged with an apply, is refused: such
reports are not the shards of one run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.errors import InputError
from provisioner.events import HostStats, PlayStopped, RunSummary, Status, TaskResult

COUNTS = ("ok", "changed", "failed", "skipped", "rescued", "ignored")
TOP = ("check", "hosts", "results", "stopped")
# A result's keys (to_json's) and the types each may have.
RESULT: dict[str, tuple[type, ...]] = {
    "host": (str,),
    "play": (str,),
    "task": (str,),
    "module": (str,),
    "status": (str,),
    "item": (str, type(None)),
    "changes": (list,),
    "diff": (str, type(None)),
    "msg": (str,),
    "ignored": (bool,),
    "rescued": (bool,),
    "handler": (bool,),
    "undecided": (bool,),
    "blocked_by": (str, type(None)),
}
OPTIONAL = {"blocked_by"}  # older reports have no such key
STATUSES = {s.value for s in Status}


class NotAReport(InputError):
    """Not what `provision apply -o json` writes."""

    def __init__(self, where: str, why: str) -> None:
        super().__init__(f"{where}: not a report of `provision apply -o json`: {why}")


def load_report(text: str, where: str) -> RunSummary:
    """One report, as text (a file's): its RunSummary, or NotAReport naming `where`."""
    if not text.strip():
        # What a shard leaves when its apply wrote nothing: bad input, or interrupted.
        raise NotAReport(where, "it is empty (did that shard's apply stop before running?)")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotAReport(where, f"not JSON (line {exc.lineno}, column {exc.colno})") from None
    return read_report(doc, where)


def read_report(doc: Any, where: str) -> RunSummary:
    """One report, as a parsed document: its RunSummary, or NotAReport naming `where`."""
    if not isinstance(doc, dict):
        raise NotAReport(where, "not a JSON object")
    missing = [key for key in TOP if key not in doc]
    if missing:
        raise NotAReport(where, f"no {', '.join(map(repr, missing))}")
    extra = sorted(set(doc) - set(TOP))
    if extra:
        raise NotAReport(where, f"unknown key {extra[0]!r}")
    if not isinstance(doc["check"], bool):
        raise NotAReport(where, "'check' is not true or false")
    summary = RunSummary(check=doc["check"], hosts=_hosts(doc["hosts"], where))
    summary.results = [
        _result(r, n, summary, where) for n, r in enumerate(_list(doc, "results", where))
    ]
    summary.stopped = [_stopped(s, n, where) for n, s in enumerate(_list(doc, "stopped", where))]
    return summary


def _list(doc: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = doc[key]
    if not isinstance(value, list):
        raise NotAReport(where, f"{key!r} is not a list")
    return value


def _hosts(hosts: Any, where: str) -> dict[str, HostStats]:
    if not isinstance(hosts, dict):
        raise NotAReport(where, "'hosts' is not an object")
    out = {}
    keys = (*COUNTS, "unreachable")
    for name, stats in hosts.items():
        # `stale` (apply --plan) is there only when true
        if not isinstance(stats, dict) or sorted(set(stats) - {"stale"}) != sorted(keys):
            raise NotAReport(where, f"hosts.{name}: not the keys {', '.join(keys)}")
        if stats.get("stale", True) is not True:
            raise NotAReport(where, f"hosts.{name}.stale is not true")
        if any(not _count(stats[key]) for key in COUNTS):
            raise NotAReport(where, f"hosts.{name}: a count that is not a whole number >= 0")
        if not isinstance(stats["unreachable"], bool):
            raise NotAReport(where, f"hosts.{name}.unreachable is not true or false")
        out[name] = HostStats(**stats)
    return out


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _result(entry: Any, number: int, summary: RunSummary, where: str) -> TaskResult:
    at = f"results[{number}]"
    if not isinstance(entry, dict) or sorted({*entry, *OPTIONAL}) != sorted(RESULT):
        raise NotAReport(where, f"{at}: not the keys {', '.join(RESULT)}")
    for key, types in RESULT.items():
        if key in entry and not isinstance(entry[key], types):
            raise NotAReport(where, f"{at}.{key}: of the wrong type")
    if entry["status"] not in STATUSES:
        raise NotAReport(where, f"{at}.status: {entry['status']!r} is no status")
    if not all(isinstance(line, str) for line in entry["changes"]):
        raise NotAReport(where, f"{at}.changes: not a list of strings")
    if entry["ignored"] and entry["status"] != Status.FAILED.value:
        raise NotAReport(where, f"{at}: ignored, but not failed")
    if entry["host"] not in summary.hosts:
        raise NotAReport(where, f"{at}: host {entry['host']!r} is not in 'hosts'")
    return TaskResult(
        host=entry["host"],
        play=entry["play"],
        task=entry["task"],
        module=entry["module"],
        status=Status(entry["status"]),
        summary=tuple(entry["changes"]),
        diff=entry["diff"],
        msg=entry["msg"],
        item=entry["item"] or "",
        ignored=entry["ignored"],
        rescued=entry["rescued"],
        check=summary.check,
        handler=entry["handler"],
        undecided=entry["undecided"],
        blocked_by=entry.get("blocked_by") or "",
    )


def _stopped(entry: Any, number: int, where: str) -> PlayStopped:
    at = f"stopped[{number}]"
    if not isinstance(entry, dict) or sorted(entry) != ["hosts", "play", "reason"]:
        raise NotAReport(where, f"{at}: not the keys play, reason, hosts")
    if not isinstance(entry["play"], str) or not isinstance(entry["reason"], str):
        raise NotAReport(where, f"{at}: play or reason is not a string")
    hosts = entry["hosts"]
    if not isinstance(hosts, list) or not all(isinstance(name, str) for name in hosts):
        raise NotAReport(where, f"{at}.hosts: not a list of host names")
    return PlayStopped(entry["play"], entry["reason"], tuple(hosts))


def merge(reports: Sequence[tuple[str, RunSummary]]) -> RunSummary:
    """Reports of one run's shards (each named, for errors) → the run's: hosts and
    results of each report in turn, the plays that stopped in any."""
    if not reports:
        raise InputError("no report to merge")
    first_where, first = reports[0]
    out = RunSummary(check=first.check)
    seen: dict[str, str] = {}  # host → the report it is in
    for where, report in reports:
        if report.check != first.check:
            dry, real = (where, first_where) if report.check else (first_where, where)
            raise InputError(
                f"{dry} is a dry run (--check) and {real} an apply: "
                "merge the reports of one run's shards"
            )
        for name in report.hosts:
            if name in seen:
                raise InputError(
                    f"host {name!r} is in {seen[name]} and in {where}: the shards of one "
                    "run share no host (the same report twice, or reports of two runs?)"
                )
            seen[name] = where
        out.hosts.update(report.hosts)
        out.results.extend(report.results)
        out.stopped.extend(report.stopped)
    return out
