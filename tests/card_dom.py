"""The report card page read back as a browser's DOM is: the grid's cells, the summary,
what each failure's details element holds (the unit, browser and lab tests share it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class CellSeen:
    verdict: str
    text: str = ""  # all the text in the cell
    in_details: str = ""  # the text inside its details element, after the summary


@dataclass
class PageSeen:
    summary: str = ""
    cells: dict[tuple[str, str], CellSeen] = field(default_factory=dict)  # (host, task)
    hosts: dict[str, str] = field(default_factory=dict)  # host → its row's verdict
    tags: set[str] = field(default_factory=set)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.seen = PageSeen()
        self.cell: CellSeen | None = None
        self.depth = {"details": 0, "summary": 0}
        self.in_summary_line = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.seen.tags.add(tag)
        if tag == "td" and "data-host" in a:
            self.cell = CellSeen(a["data-verdict"])
            self.seen.cells[(a["data-host"], a["data-task"])] = self.cell
        if tag == "th" and "data-host" in a:
            self.seen.hosts[a["data-host"]] = a["data-verdict"]
        if tag in self.depth:
            self.depth[tag] += 1
        if a.get("id") == "summary":
            self.in_summary_line = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self.cell = None
        if tag in self.depth:
            self.depth[tag] -= 1
        if tag == "p":
            self.in_summary_line = False

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.text += data
            if self.depth["details"] and not self.depth["summary"]:
                self.cell.in_details += data
        if self.in_summary_line:
            self.seen.summary += data


def read_page(html: str) -> PageSeen:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.seen
