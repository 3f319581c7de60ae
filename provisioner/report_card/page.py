"""The card as one self-contained HTML page: a summary at the top, a grid of hosts ×
tasks coloured by verdict, each failure's message and diff a click away (details).
No external assets and no script; every host-supplied string is escaped."""

from __future__ import annotations

from html import escape
from itertools import groupby

from provisioner.report_card.verdicts import Card, Cell, Column, HostCard, Verdict

SIGN = {Verdict.PASS: "✓", Verdict.FAIL: "✗", Verdict.ERROR: "!", Verdict.SKIPPED: "–"}
LEGEND = "✓ pass, ✗ fail, ! could not be checked, – skipped or not run; click a cell for why."
STYLE = """
:root { --pass: #2e7d32; --fail: #c62828; --error: #ef6c00; --skipped: #9e9e9e; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #212121; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
.summary { font-size: 1.6em; font-weight: 600; margin: .2em 0; }
.counts span { display: inline-block; margin-right: 1em; }
.chip { display: inline-block; min-width: 1.2em; padding: 0 .4em; border-radius: 3px;
  color: #fff; text-align: center; font-weight: 600; }
.chip.pass { background: var(--pass); } .chip.fail { background: var(--fail); }
.chip.error { background: var(--error); } .chip.skipped { background: var(--skipped); }
table.grid { border-collapse: collapse; margin-top: 1em; }
.grid th, .grid td { border: 1px solid #ddd; padding: 2px 4px; }
.grid thead th { background: #f5f5f5; font-weight: 500; vertical-align: bottom; }
.grid thead th.task { max-width: 9em; font-size: .85em; text-align: left;
  overflow-wrap: anywhere; }
.grid th.host { text-align: left; white-space: nowrap; }
.grid td.cell { position: relative; min-width: 2.2em; text-align: center; color: #fff; }
td.pass { background: var(--pass); } td.fail { background: var(--fail); }
td.error { background: var(--error); } td.skipped { background: #eee; color: #757575; }
td.cell summary { cursor: pointer; list-style: none; font-weight: 600; }
td.cell summary::-webkit-details-marker { display: none; }
td.cell .pop { position: absolute; z-index: 5; left: 0; top: 100%; width: max-content;
  max-width: min(90ch, 80vw); max-height: 60vh; overflow: auto; background: #fff;
  color: #212121; text-align: left; border: 1px solid #999; padding: .5em;
  box-shadow: 0 2px 8px rgba(0,0,0,.3); }
.pop p { margin: 0; }
.pop pre, .problems pre { white-space: pre-wrap; margin: .3em 0 0; font-size: .9em; }
.problems li { margin: .3em 0; }
.legend { color: #616161; margin-top: .5em; }
"""


def _cell(host: str, col: Column, cell: Cell) -> str:
    attrs = (
        f'class="cell {cell.verdict.value}" data-host="{escape(host)}"'
        f' data-task="{escape(col.task)}" data-verdict="{cell.verdict.value}"'
        f' title="{escape(cell.word)}"'
    )
    sign = SIGN[cell.verdict]
    if not (cell.message or cell.detail) or cell.verdict is Verdict.PASS:
        return f"<td {attrs}>{sign}</td>"
    said = f": {escape(cell.message)}" if cell.message else ""
    body = f"<p><b>{escape(cell.word)}</b>{said}</p>"
    if cell.detail:
        body += f'<pre class="diff">{escape(cell.detail)}</pre>'
    pop = f'<div class="pop">{body}</div>'
    return f"<td {attrs}><details><summary>{sign}</summary>{pop}</details></td>"


def _head(card: Card) -> str:
    plays = "".join(
        f'<th colspan="{len(list(cols))}" class="play">{escape(play)}</th>'
        for play, cols in groupby(card.columns, key=lambda c: c.play)
    )
    tasks = "".join(
        f'<th class="task" scope="col">{escape(c.task)}{" (handler)" if c.handler else ""}</th>'
        for c in card.columns
    )
    return f'<thead><tr><th rowspan="2">host</th>{plays}</tr><tr>{tasks}</tr></thead>'


def _row(card: Card, host: HostCard) -> str:
    head = (
        f'<th class="host" scope="row" data-host="{escape(host.host)}"'
        f' data-verdict="{host.verdict.value}">'
        f'<span class="chip {host.verdict.value}">{SIGN[host.verdict]}</span>'
        f" {escape(host.host)}</th>"
    )
    cells = "".join(
        _cell(host.host, c, cell) for c, cell in zip(card.columns, host.cells, strict=True)
    )
    return f"<tr>{head}{cells}</tr>"


def _problems(card: Card) -> str:
    """What keeps each host from passing, in words (the grid's failures and errors)."""
    items = []
    for host in card.hosts:
        wrong = [
            f"{escape(col.task)} ({escape(cell.word)})"
            for col, cell in zip(card.columns, host.cells, strict=True)
            if cell.verdict in (Verdict.FAIL, Verdict.ERROR)
        ]
        if wrong:
            items.append(
                f"<li><b>{escape(host.host)}</b> ({host.verdict.value}): {'; '.join(wrong)}</li>"
            )
    if not items:
        return ""
    heading = "<h2>What keeps hosts from passing</h2>"
    return f'<section class="problems">{heading}<ul>{"".join(items)}</ul></section>'


def to_html(card: Card) -> str:
    title = escape(card.title or "provision report card")
    counts = " ".join(
        f'<span><span class="chip {v.value}">{card.count(v)}</span> {v.value}</span>'
        for v in (Verdict.PASS, Verdict.FAIL, Verdict.ERROR)
    )
    reading = (
        "a dry run read as a test: a host passes when it would change nothing and every check holds"
        if card.verify
        else "what an apply did: a host passes when every task ended ok or changed"
    )
    rows = "".join(_row(card, h) for h in card.hosts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{STYLE}</style></head>
<body>
<h1>{title}</h1>
<p class="summary" id="summary">{escape(card.headline)}</p>
<p class="counts">{counts}</p>
<p class="legend">{escape(reading)}. {LEGEND}</p>
<table class="grid">{_head(card)}<tbody>{rows}</tbody></table>
{_problems(card)}
</body></html>
"""
