"""The card as JUnit XML, as CI systems and grading tools read it: a testsuite per host,
a testcase per task (classname the play, name the task); a failure holds what differs,
an error what could not be checked."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from provisioner.report_card.verdicts import Card, Cell, Column, HostCard, Verdict

TAGS = {Verdict.FAIL: "failure", Verdict.ERROR: "error", Verdict.SKIPPED: "skipped"}


def _counts(cells: list[Cell]) -> dict[str, str]:
    def n(v: Verdict) -> str:
        return str(sum(c.verdict is v for c in cells))

    return {
        "tests": str(len(cells)),
        "failures": n(Verdict.FAIL),
        "errors": n(Verdict.ERROR),
        "skipped": n(Verdict.SKIPPED),
    }


def _case(suite: ET.Element, col: Column, cell: Cell) -> None:
    name = f"{col.task} (handler)" if col.handler else col.task
    if col.occurrence:
        name += f" #{col.occurrence + 1}"
    case = ET.SubElement(suite, "testcase", classname=col.play, name=name)
    tag = TAGS.get(cell.verdict)
    if tag is None:
        return
    message = f"{cell.word}: {cell.message}" if cell.message else cell.word
    mark = ET.SubElement(case, tag, message=message)
    if tag != "skipped":
        mark.set("type", cell.word)
        said = cell.message if cell.message not in cell.detail else ""
        mark.text = "\n\n".join(t for t in (said, cell.detail) if t)


def _suite(root: ET.Element, card: Card, host: HostCard) -> None:
    suite = ET.SubElement(root, "testsuite", name=host.host, hostname=host.host)
    suite.attrib.update(_counts(list(host.cells)))
    for col, cell in zip(card.columns, host.cells, strict=True):
        _case(suite, col, cell)


def to_junit(card: Card) -> str:
    root = ET.Element("testsuites", name=card.title or "provision")
    every = [cell for host in card.hosts for cell in host.cells]
    root.attrib.update(_counts(every))
    for host in card.hosts:
        _suite(root, card, host)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
