"""The runner and a module whose change takes the host down (reboot's `comeback`): it
waits for the host over fresh connections, goes on over the one that passed, and fails
the task, naming host and timeout, when the host does not come back.

The hosts are fakes that run what they are sent with a real sh in a directory, as in
test_runner, and reboot when sent the detached reboot: a new boot id, every connection
open to them dead, fresh ones refused for a while."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ConnectError
from provisioner.events import Event, HostNote, RunSummary, Status
from provisioner.inventory import Host, load_inventory
from provisioner.modules.base import Comeback
from provisioner.modules.reboot import BootId
from provisioner.playbook.load import load_playbook
from provisioner.runner import Runner, RunOptions, comeback
from provisioner.runner.comeback import await_comeback
from provisioner.runner.connections import Connections, LockOptions
from provisioner.transport.base import Become, Connection, Output, Result
from provisioner.transport.fake import FakeConnection
from tests.unit.test_runner import statuses


class Machine:
    """A host's lasting side: its directory (the disk), its boot, whether it answers."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.root = root
        self.boots = 1
        self.refusals = 0  # fresh connections refused before it answers again
        self.ignores_reboots = False
        self.links: list[Link] = []
        (root / "boot_id").write_text("boot-1\n")

    def connect(self) -> Link:
        link = Link(self, len(self.links) + 1)
        self.links.append(link)
        return link

    def reboot(self, down_for: int) -> None:
        if self.ignores_reboots:
            return
        self.boots += 1
        (self.root / "boot_id").write_text(f"boot-{self.boots}\n")
        for link in self.links:
            link.dead = True
        self.refusals = down_for


class Link:
    """One connection to a Machine (lazy, like SSH's: it connects on its first run)."""

    def __init__(self, machine: Machine, number: int) -> None:
        self.machine = machine
        self.host = machine.name
        self.number = number
        self.dead = False
        self.opened = False
        self.closed = False
        self.scripts: list[str] = []

    def run(
        self,
        script: str,
        *,
        become: Become | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
        on_output: Output | None = None,
    ) -> Result:
        if not self.opened:
            if self.machine.refusals:
                self.machine.refusals -= 1
                raise ConnectError(self.host, "Connection refused")
            self.opened = True
        if self.dead:
            raise ConnectError(self.host, "the connection was lost")
        self.scripts.append(script)
        if "provision-reboot" in script:  # the detached reboot: it answers, then goes down
            self.machine.reboot(down_for=2)
            return Result(0, "", "")
        proc = subprocess.run(
            ["sh", "-c", script], cwd=self.machine.root, capture_output=True, text=True
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def put(self, data: bytes, path: str, mode: int = 0o600) -> None:
        raise AssertionError("nothing is uploaded here")

    def close(self) -> None:
        self.closed = True


@pytest.fixture()
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real waits (the runner's), but short."""
    monkeypatch.setattr(comeback, "POLL_SECONDS", 0.01)


@pytest.fixture()
def machines(tmp_path: Path, quick_polls: None) -> dict[str, Machine]:
    out = {}
    for name in ("h1", "h2"):
        (tmp_path / name).mkdir()
        out[name] = Machine(name, tmp_path / name)
    return out


BOOK = """
- hosts: all
  tasks:
    - name: Before
      command: cat boot_id
      changed_when: false
    - name: Reboot
      reboot:
        boot_time_command: cat boot_id
        reboot_command: "true"
        test_command: "{{ test_command | default('true') }}"
        reboot_timeout: "{{ reboot_timeout | default(30) }}"
      when: inventory_hostname == 'h1'
      register: r
    - name: After
      command: cat boot_id
      register: after
      changed_when: false
    - name: Registered
      assert:
        that: ["r.rebooted", "r.elapsed >= 0", "r.changed", "after.stdout == 'boot-2'"]
      when: inventory_hostname == 'h1' and not ansible_check_mode
"""


def run(
    tmp_path: Path, machines: dict[str, Machine], events: list[Event] | None = None, **opts: Any
) -> RunSummary:
    book = tmp_path / "play.yml"
    book.write_text(BOOK)
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    h1: {host: 127.0.0.1}\n    h2: {host: 127.0.0.1}\n")

    def connect(host: Host) -> Link:
        return machines[host.name].connect()

    listener = events.append if events is not None else (lambda e: None)
    runner = Runner(load_playbook(book), load_inventory(inv), connect, RunOptions(**opts), listener)
    return runner.run()


def test_the_run_goes_on_over_the_fresh_connection_that_found_a_new_boot(
    tmp_path: Path, machines: dict[str, Machine]
) -> None:
    events: list[Event] = []
    summary = run(tmp_path, machines, events)
    assert statuses(summary, "h1") == [
        "Before:ok",
        "Reboot:changed",
        "After:ok",
        "Registered:ok",
    ], [r.msg for r in summary.results]
    h1 = machines["h1"]
    first, *refused, back = h1.links
    assert first.dead and first.closed  # the old connection: closed once it was done with
    assert len(refused) == 2 and not any(link.scripts for link in refused)
    # On the one that passed: the boot id, the test, then `After` (and nothing on the old).
    assert back.scripts[:2] == ["sh -c 'cat boot_id' 2>&1", "true"]
    assert "'cat' boot_id" in back.scripts[-1]
    assert "provision-reboot" in first.scripts[-1]
    assert sum("provision-reboot" in s for s in first.scripts) == 1
    notes = [e.text for e in events if isinstance(e, HostNote)]
    assert notes[0] == "rebooting: waiting up to 30s for it to come back"
    assert notes[1].startswith("back after ")


def test_a_host_the_reboot_does_not_target_is_left_alone(
    tmp_path: Path, machines: dict[str, Machine]
) -> None:
    summary = run(tmp_path, machines)
    assert statuses(summary, "h2") == [
        "Before:ok",
        "Reboot:skipped",
        "After:ok",
        "Registered:skipped",
    ]
    assert len(machines["h2"].links) == 1 and machines["h2"].boots == 1


def test_a_dry_run_says_would_change_and_sends_no_reboot(
    tmp_path: Path, machines: dict[str, Machine]
) -> None:
    summary = run(tmp_path, machines, check=True)
    [reboot] = [r for r in summary.results if r.host == "h1" and r.task == "Reboot"]
    assert reboot.status is Status.CHANGED and reboot.check
    h1 = machines["h1"]
    assert h1.boots == 1 and len(h1.links) == 1
    assert not any("provision-reboot" in s for s in h1.links[0].scripts)


def test_a_test_command_that_never_passes_fails_naming_host_and_timeout(
    tmp_path: Path, machines: dict[str, Machine]
) -> None:
    summary = run(
        tmp_path,
        machines,
        extra_vars={"test_command": "echo not yet >&2; false", "reboot_timeout": 1},
    )
    assert statuses(summary, "h1") == ["Before:ok", "Reboot:failed"]
    [failed] = [r for r in summary.results if r.status is Status.FAILED]
    assert failed.msg == (
        "h1 did not come back within reboot_timeout (1s):"
        " test_command 'echo not yet >&2; false' exited 1: not yet"
    )
    assert summary.exit_code == 2
    assert statuses(summary, "h2")[-2:] == ["After:ok", "Registered:skipped"]


def test_a_host_that_stays_down_fails_with_why(
    tmp_path: Path, machines: dict[str, Machine]
) -> None:
    machines["h1"].refusals = 0
    original = machines["h1"].reboot
    machines["h1"].reboot = lambda down_for: original(10**6)  # type: ignore[method-assign]
    summary = run(tmp_path, machines, extra_vars={"reboot_timeout": 1})
    [failed] = [r for r in summary.results if r.status is Status.FAILED]
    assert failed.msg == (
        "h1 did not come back within reboot_timeout (1s): no connection: Connection refused"
    )


def test_a_host_that_never_went_down_is_not_taken_for_back(
    tmp_path: Path, machines: dict[str, Machine]
) -> None:
    machines["h1"].ignores_reboots = True
    summary = run(tmp_path, machines, extra_vars={"reboot_timeout": 1})
    [failed] = [r for r in summary.results if r.status is Status.FAILED]
    assert failed.msg.endswith("it has not gone down yet (its boot id is the one before)")


# -- the wait itself, on a fake clock ---------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


BACK = Comeback(before="boot-1\n".strip(), boot_id=BootId("cat boot_id"), test="whoami", timeout=60)


def _connections(answers: list[Callable[[], FakeConnection]]) -> Callable[[], Connection]:
    made: Iterator[Callable[[], FakeConnection]] = iter(answers)
    return lambda: next(made)()


def _answering(boot: str, test_rc: int = 0) -> Callable[[], FakeConnection]:
    return lambda: FakeConnection(
        rules=[("boot_id", Result(0, boot + "\n", "")), ("whoami", Result(test_rc, "root\n", ""))]
    )


def _refused() -> FakeConnection:
    return FakeConnection(fail=ConnectError("h1", "Connection refused"))


def test_the_wait_polls_until_a_new_boot_passes_the_test() -> None:
    clock = Clock()
    notes: list[str] = []
    connect = _connections(
        [_answering("boot-1"), _refused, _answering("boot-2", test_rc=1), _answering("boot-2")]
    )
    back = Comeback(BACK.before, BACK.boot_id, BACK.test, timeout=60, delay=5)
    returned = await_comeback("h1", back, None, connect, notes.append, clock, clock.sleep)
    assert isinstance(returned.connection, FakeConnection) and not returned.connection.closed
    assert returned.failure == "" and returned.elapsed == 5 + 3 * comeback.POLL_SECONDS
    assert clock.slept == [5, *[comeback.POLL_SECONDS] * 3]  # the delay, then the polls
    assert notes == [
        "rebooting: waiting up to 60s for it to come back",
        "back after 11s (a new boot)",
    ]


def test_the_wait_ends_at_the_timeout_saying_what_it_last_saw() -> None:
    clock = Clock()
    back = Comeback(BACK.before, BACK.boot_id, BACK.test, timeout=5)
    seen: list[FakeConnection] = []

    def connect() -> FakeConnection:
        seen.append(_answering("boot-1")())
        return seen[-1]

    returned = await_comeback("h1", back, None, connect, lambda text: None, clock, clock.sleep)
    assert returned.connection is None
    assert returned.failure == (
        "h1 did not come back within reboot_timeout (5s):"
        " it has not gone down yet (its boot id is the one before)"
    )
    assert sum(clock.slept) == 5 and all(c.closed for c in seen)  # none is left open
    assert len(seen) == 4  # at 0, 2, 4 and 5 s: the last poll is cut to what is left
    # Each attempt may take what is left (at least a second), never the default 10 s.
    assert [c.calls[0].timeout for c in seen] == [5, 3, 1, 1]


def test_a_boot_id_the_new_boot_cannot_read_is_not_back() -> None:
    clock = Clock()
    broken = lambda: FakeConnection(rules=[("boot_id", Result(1, "No such file\n", ""))])  # noqa: E731
    connect = _connections([broken, _answering("boot-2")])
    returned = await_comeback("h1", BACK, None, connect, lambda t: None, clock, clock.sleep)
    assert returned.connection is not None and len(clock.slept) == 1


def test_a_connect_timeout_connects_with_it(tmp_path: Path, machines: dict[str, Machine]) -> None:
    """The reboot's connect_timeout reaches the connector (the CLI's has `within`)."""
    asked: list[float] = []

    class Connector:
        def __call__(self, host: Host) -> Connection:
            return machines[host.name].connect()

        def within(self, connect_timeout: float) -> Callable[[Host], Connection]:
            asked.append(connect_timeout)
            return self

    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    h1: {host: 127.0.0.1}\n")
    book = tmp_path / "p.yml"
    book.write_text("- hosts: all\n  tasks: []\n")
    conns = Connections(
        Connector(),
        load_playbook(book),
        load_inventory(inv),
        LockOptions(False, True, False, None, None),
        lambda host: "root",
        lambda event: None,
    )
    host = load_inventory(inv).hosts["h1"]
    machines["h1"].reboot(down_for=0)
    back = Comeback("boot-1", BootId("cat boot_id"), "true", timeout=5, connect_timeout=3)
    returned = conns.comeback(host, back, None)
    assert returned.connection is not None and asked == [3]
    assert conns.get(host) is returned.connection


def test_the_cli_connector_connects_within_another_timeout() -> None:
    from provisioner.connect import Connector
    from provisioner.runner.connections import Retimed

    connector = Connector(accept_new_host_keys=True, connect_timeout=10)
    assert isinstance(connector, Retimed)
    other = connector.within(3)
    assert (other.connect_timeout, other.accept_new_host_keys) == (3, True)
    assert connector.connect_timeout == 10
