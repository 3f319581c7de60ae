"""The live view on a real pseudo-terminal: `provision apply` draws it, and Ctrl-C
typed at the terminal ends the run cleanly (the view stopped, the cursor shown
again, the interrupt's report below the last frame, exit code 130); a running
command's output line shows under its host as it comes."""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.unit.run_cli import ENTRY, ENV
from tests.unit.test_cli import sleepers_in

HIDE, SHOW = "\x1b[?25l", "\x1b[?25h"
PATIENCE = 30.0  # seconds: generous, it is no timing assertion
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
MOVES = re.compile(r"\x1b\[[0-9;]*[A-HJK]")  # cursor moved or a line erased: a redraw


class Terminal:
    """`provision` in a session of its own whose controlling terminal is a pty of
    24 rows by 100 columns; `screen` holds everything it wrote."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        env = {**ENV, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "24"}
        env.pop("NO_COLOR", None)
        self.proc = subprocess.Popen(
            ["setsid", "-c", "-w", sys.executable, "-c", ENTRY, *args],
            cwd=cwd,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
        )
        os.close(slave)
        self.screen = ""

    def read_until(self, wanted: str) -> bool:
        """Read until `wanted` is among what was written (escapes removed), or the
        patience runs out, or the program closed the terminal."""
        deadline = time.monotonic() + PATIENCE
        while wanted not in ANSI.sub("", self.screen) and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready and not self._read():
                return False
        return wanted in ANSI.sub("", self.screen)

    def drain(self) -> int:
        """Read to the end; the exit code."""
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready and not self._read():
                break
        return self.proc.wait(timeout=PATIENCE)

    def _read(self) -> bool:
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: every writer closed the terminal
            return False
        self.screen += data.decode(errors="replace")
        return bool(data)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.mark.parametrize(
    ("stop", "code", "cause"),
    [("ctrl-c", 130, "INTERRUPTED"), ("sigterm", 143, "TERMINATED (SIGTERM)")],
)
def test_an_interrupt_stops_the_live_view_and_restores_the_terminal(
    tmp_path: Path, stop: str, code: int, cause: str
) -> None:
    book = tmp_path / "p.yml"
    book.write_text(
        "- hosts: localhost\n  tasks:\n"
        "    - name: quick\n      command: 'true'\n      changed_when: false\n"
        "    - name: long wait\n      shell: echo warming up; sleep 30\n"
        "    - name: never\n      command: touch never\n"
    )
    term = Terminal("apply", str(book), cwd=tmp_path)
    try:
        assert term.read_until("localhost  long wait ("), term.screen  # the host's live line
        assert term.read_until("│ warming up"), term.screen  # its output, as it came
        for _ in range(400):  # until the command itself runs
            if sleepers_in(tmp_path):
                break
            time.sleep(0.05)
        assert sleepers_in(tmp_path), "the task's command never started"
        if stop == "ctrl-c":
            os.write(term.master, b"\x03")  # as typed: the terminal sends SIGINT
        else:
            term.proc.send_signal(signal.SIGTERM)
        exited = term.drain()
    finally:
        term.close()
    screen = term.screen
    assert exited == code, screen
    assert HIDE in screen and SHOW in screen
    shown = screen.rindex(SHOW)
    assert shown > screen.rindex(HIDE)  # the cursor is shown again, after the last hide
    last = screen[screen.rindex(HIDE) : shown]
    assert "long wait (" in ANSI.sub("", last)  # the last frame, left as drawn
    report = ANSI.sub("", screen[shown:])
    assert report.lstrip().startswith(cause), report
    assert "localhost      long wait: was running and may be half-applied" in report
    lines = [ln for ln in report.splitlines() if ln.strip()]
    assert lines[-1].endswith("Run the same command again: every task checks the host first.")
    assert not MOVES.search(screen[shown:])  # nothing redrawn after the view stopped
    assert not (tmp_path / "never").exists()
    assert sleepers_in(tmp_path) == [], "the interrupted command was left running"
