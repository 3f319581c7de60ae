"""`provision report merge`: the JSON reports of a run's shards → one report, one recap."""

from __future__ import annotations

import sys
from pathlib import Path

from provisioner.cli.common import check_output, fail, say, say_error
from provisioner.errors import InputError, ProvisionError
from provisioner.events import Status
from provisioner.report import TerminalReport, dump_json
from provisioner.report_merge import load_report
from provisioner.report_merge import merge as merge_reports


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"{path}: cannot read it: {why}") from None


def merge(paths: list[Path], output: str) -> int:
    """With `-o json` the merged document on stdout and the rest on stderr, as apply."""
    from rich.console import Console

    try:
        check_output(output)
    except ProvisionError as exc:
        return fail(exc)
    loaded, bad = [], 0
    for path in paths:  # every file that is not a report is named, not only the first
        try:
            loaded.append((str(path), load_report(_read(path), str(path))))
        except InputError as exc:
            say_error(str(exc))
            bad += 1
    if bad:
        say(f"{bad} of the {len(paths)} file(s) are not reports; nothing was merged.")
        return 1
    try:
        summary = merge_reports(loaded)
    except ProvisionError as exc:
        return fail(exc)
    human = Console(stderr=(output == "json"), highlight=False, soft_wrap=True)
    report = TerminalReport(human, diff=False)
    # The failures, which each shard's log shows among its other lines: here together.
    for result in summary.results:
        failed = result.status is Status.FAILED and not (result.ignored or result.rescued)
        if failed or result.status is Status.UNREACHABLE:
            report.result(result)
    report.recap(summary)
    say(f"{len(paths)} report(s) merged: {len(summary.hosts)} host(s)")
    if output == "json":
        sys.stdout.write(dump_json(summary) + "\n")
    return summary.exit_code
