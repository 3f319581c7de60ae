"""The card as the `verify` part of the JSON report (docs/json-output.md)."""

from __future__ import annotations

from typing import Any

from provisioner.report_card.verdicts import Card, Verdict


def to_json(card: Card) -> dict[str, Any]:
    return {
        "summary": card.headline,
        "passed": card.passed,
        "failed": card.count(Verdict.FAIL),
        "errors": card.count(Verdict.ERROR),
        "total": len(card.hosts),
        "hosts": {
            host.host: {
                "verdict": host.verdict.value,
                "tasks": [
                    {
                        "play": col.play,
                        "task": col.task,
                        "handler": col.handler,
                        "verdict": cell.verdict.value,
                        "status": cell.word,
                        "message": cell.message,
                        "detail": cell.detail,
                    }
                    for col, cell in zip(card.columns, host.cells, strict=True)
                ],
            }
            for host in card.hosts
        },
    }
