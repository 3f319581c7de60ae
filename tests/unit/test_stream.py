"""A change command's output as it runs (`runner.tail`, TaskOutput): its last line,
rate-limited, never a no_log task's, never the framing or the probes of the exchange
it rides in."""

from __future__ import annotations

from pathlib import Path

from provisioner.events import Event, TaskOutput
from provisioner.inventory import Host, load_inventory
from provisioner.playbook.load import load_playbook
from provisioner.runner import Runner, RunOptions
from provisioner.runner.tail import Tail, after, until
from tests.unit.test_runner import ShHost


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_tail_tells_the_last_non_empty_line_at_most_every_quarter_second() -> None:
    told: list[str] = []
    clock = Clock()
    tail = Tail(told.append, clock)
    tail(b"Downloading\n")
    tail(b"Installing: bash 1/3\nInstalling: ")  # a line not ended yet waits
    assert told == ["Downloading"]
    clock.now += 0.3
    tail(b"nginx 2/3\n\n   \n")
    assert told == ["Downloading", "Installing: nginx 2/3"]
    tail(b"Complete!\n")  # too soon: it waits for the next chunk
    clock.now += 0.3
    tail(b"")
    assert told[-1] == "Complete!"


def test_until_cuts_at_a_mark_split_across_chunks() -> None:
    got: list[bytes] = []
    cut = until("@@mark@@", got.append)
    for chunk in (b"one\ntw", b"o\n@@ma", b"rk@@ rc 0\nprobe answer\n", b"more\n"):
        cut(chunk)
    assert b"".join(got) == b"one\ntwo\n"
    assert got[0] == b"one\ntw"  # what cannot begin the mark goes on at once


def test_after_drops_everything_up_to_the_mark() -> None:
    got: list[bytes] = []
    cut = after("@@gate@@ gate\n", got.append)
    for chunk in (b"status=taken last=1\n@@gate", b"@@ gate\nhello", b"\nworld\n"):
        cut(chunk)
    assert b"".join(got) == b"hello\nworld\n"


BOOK = """
- hosts: all
  tasks:
    - name: shout
      shell: "echo first; echo the last line"
    - name: a flag
      test_flag: {path: a, value: "1"}
    - name: hidden
      shell: "echo s3cret-value"
      no_log: true
      register: secret
    - name: uses it
      shell: "echo {{ secret.stdout }}"
"""


def outputs(tmp_path: Path, *, stream: bool) -> list[TaskOutput]:
    """Run BOOK on one sh-driven host; the TaskOutput events it sent."""
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    h1: {host: 127.0.0.1}\n")
    (tmp_path / "h1").mkdir(exist_ok=True)
    host = ShHost("h1", tmp_path / "h1")
    book = tmp_path / "play.yml"
    book.write_text(BOOK)
    events: list[Event] = []

    def connect(h: Host) -> ShHost:
        return host

    options = RunOptions(stream=stream)
    runner = Runner(load_playbook(book), load_inventory(inv), connect, options, events.append)
    summary = runner.run()
    assert summary.exit_code == 0, summary.results
    return [e for e in events if isinstance(e, TaskOutput)]


def test_a_command_streams_its_last_line_not_the_probes_in_its_exchange(tmp_path: Path) -> None:
    told = outputs(tmp_path, stream=True)
    assert [(e.host, e.task, e.line) for e in told] == [("h1", "shout", "the last line")]


def test_nothing_streams_unless_the_run_asks(tmp_path: Path) -> None:
    assert outputs(tmp_path, stream=False) == []
