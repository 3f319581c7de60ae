"""`provision verify`: a dry run read as a test (the report card), and the card's files
(`--junit`, `--html`) for apply and verify alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provisioner.cli.common import SECRETS, say_error
from provisioner.errors import InputError
from provisioner.events import RunSummary
from provisioner.report_card.document import to_json
from provisioner.report_card.junit import to_junit
from provisioner.report_card.page import to_html
from provisioner.report_card.verdicts import Card, Verdict, card

SHOWN = 10  # hosts named in the terminal's verdict lines; the files have them all


def check_paths(*paths: Path | None) -> None:
    """Before any host is touched: a report file must go in a directory that exists."""
    for path in paths:
        if path is None:
            continue
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not a file to write the report to")
        if not path.parent.is_dir():
            raise InputError(f"{path}: no such directory {path.parent} for the report")


def run_card(summary: RunSummary, title: str) -> Card:
    return card(summary, title)


def write_files(report: Card, junit: Path | None, html: Path | None) -> bool:
    """The card's files, secrets masked; False when one could not be written (said)."""
    ok = True
    for path, render in ((junit, to_junit), (html, to_html)):
        if path is None:
            continue
        try:
            path.write_text(SECRETS.scrub(render(report)), encoding="utf-8")
        except OSError as exc:
            say_error(f"{path}: the report could not be written: {exc.strerror or exc}")
            ok = False
    return ok


def verdict_lines(report: Card) -> list[str]:
    """The card in a few lines, after the recap: who does not pass, and where."""
    lines = [f"VERIFY: {report.headline}"]
    wrong = [h for h in report.hosts if h.verdict is not Verdict.PASS]
    for host in wrong[:SHOWN]:
        where = [
            f"{col.task} ({cell.word})"
            for col, cell in zip(report.columns, host.cells, strict=True)
            if cell.verdict in (Verdict.FAIL, Verdict.ERROR)
        ]
        lines.append(f"  {host.host}: {host.verdict.value}: {'; '.join(where)}")
    if len(wrong) > SHOWN:
        lines.append(
            f"  … and {len(wrong) - SHOWN} more hosts that do not pass (the files have all)"
        )
    return lines


def verify_json(doc: dict[str, Any], report: Card) -> dict[str, Any]:
    """The JSON report of the dry run, with the card's reading of it."""
    return {**doc, "verify": to_json(report)}
