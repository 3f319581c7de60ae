"""The report card page in a real browser: headless Chromium (apt `chromium`) loads it
from a file, and the DOM it built has the grid, the summary, and each failure's diff
inside its details element; a screenshot of it can be taken (as docs/img/ has one).

Without chromium the test skips, saying so; with PROVISIONER_LAB_REQUIRED=1 (CI, where
.ci/run installs it) it fails instead."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from provisioner.report_card.page import to_html
from provisioner.report_card.verdicts import Card
from tests.card_dom import read_page
from tests.unit.test_report_card import classroom

# Nothing but the file: no first-run work, no updates, no background requests.
QUIET = (
    "--headless",
    "--no-sandbox",  # as root Chromium refuses to start without it
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        why = "chromium is not installed (apt-get install chromium)"
        if os.environ.get("PROVISIONER_LAB_REQUIRED") == "1":
            pytest.fail(why)
        pytest.skip(why)
    return found


def browse(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [chromium(), *QUIET, f"--user-data-dir={profile}", *args, page.as_uri()]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


@pytest.fixture()
def written(tmp_path: Path) -> tuple[Path, Card]:
    report = classroom()
    path = tmp_path / "report card.html"  # a space: the file URL is quoted
    path.write_text(to_html(report), encoding="utf-8")
    return path, report


def test_chromium_builds_the_grid_the_summary_and_the_diffs(
    written: tuple[Path, Card], tmp_path: Path
) -> None:
    path, report = written
    dom = browse(path, tmp_path / "profile", "--dump-dom").stdout
    seen = read_page(dom)
    assert seen.summary == "1 of 3 hosts pass"
    assert seen.hosts == {"s1": "pass", "s2": "fail", "s3": "error"}
    expected = {
        (host.host, col.task): cell.verdict.value
        for host in report.hosts
        for col, cell in zip(report.columns, host.cells, strict=True)
    }
    assert {key: cell.verdict for key, cell in seen.cells.items()} == expected
    motd = seen.cells[("s2", "Write motd")]
    # The diff is inside the cell's details (not moved out of the table), as text.
    assert "--- /etc/motd" in motd.in_details and "+<b>new</b> & \\x1b[31mred" in motd.in_details
    assert "connection refused" in seen.cells[("s3", "Install")].in_details
    assert seen.cells[("s1", "Install")].in_details == ""  # a pass has nothing to open


def test_chromium_takes_a_screenshot_of_it(written: tuple[Path, Card], tmp_path: Path) -> None:
    path, _ = written
    shot = tmp_path / "card.png"
    browse(path, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,800")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 800)
