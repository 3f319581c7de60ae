"""The host lock's scripts, run by a real sh on this machine against a lock in a temp dir;
and the runner taking, waiting for, refusing and giving back host locks."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import HostBusy
from provisioner.events import HostNote, Status, TaskOutput
from provisioner.inventory import Host, load_inventory
from provisioner.playbook.load import load_playbook
from provisioner.runner import Runner, RunOptions, hostlock
from provisioner.runner.hostlock import Holder, RunId
from provisioner.transport.base import Become, Output, Result

A = RunId("aaaa11112222", "2026-01-05T08:00:00Z", "teacher@desk")
B = RunId("bbbb33334444", "2026-01-05T08:01:00Z", "student@laptop")


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process to hold a lock."""
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def start_time(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rpartition(") ")[2].split()[19]


class Sh:
    """A connection that runs scripts with sh here, in `root` (a host's /run and /tmp)."""

    def __init__(self, root: Path, name: str = "h1") -> None:
        self.host = name
        self.root = root
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
        self.scripts.append(script)
        p = subprocess.run(["sh", "-c", script], cwd=self.root, capture_output=True, input=stdin)
        if on_output is not None:  # all at once: the lock's answer and framing included
            on_output(p.stdout)
        return Result(p.returncode, p.stdout.decode(), p.stderr.decode())

    def put(self, data: bytes, path: str, mode: int = 0o600) -> None:
        Path(path).write_bytes(data)  # the upload's own /tmp name: the script reads it there

    def close(self) -> None:
        pass


def lock_of(tmp_path: Path, run: RunId, mode: hostlock.Mode) -> str:
    return hostlock.script(run, mode, str(tmp_path / "provisioner.lock"), str(tmp_path / "up-"))


def sh(script: str) -> hostlock.Answer:
    p = subprocess.run(["sh", "-c", script], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return hostlock.parse(p.stdout)


def hold(tmp_path: Path, run: RunId, holder: str) -> None:
    """A lock of `run` as its take left it, held by `holder` ("pid N START")."""
    lock = tmp_path / "provisioner.lock"
    lock.mkdir()
    for name, value in (("run", run.id), ("started", run.started), ("by", run.by)):
        (lock / name).write_text(value + "\n")
    (lock / "holder").write_text(holder + "\n")


def test_a_free_lock_is_taken_with_who_and_when(tmp_path: Path) -> None:
    assert sh(lock_of(tmp_path, A, "take")) == hostlock.Answer("taken")
    lock = tmp_path / "provisioner.lock"
    assert (lock / "run").read_text() == "aaaa11112222\n"
    assert (lock / "started").read_text() == "2026-01-05T08:00:00Z\n"
    assert (lock / "by").read_text() == "teacher@desk\n"
    kind, *_ = (lock / "holder").read_text().split()
    assert kind in ("pid", "cgroup")
    assert not (tmp_path / "provisioner.lock.mutex").exists()


def test_a_live_holder_keeps_it_from_a_take_and_a_check(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    hold(tmp_path, A, f"pid {sleeper.pid} {start_time(sleeper.pid)}")
    held = hostlock.Answer("held", Holder(A.id, A.started, A.by))
    assert sh(lock_of(tmp_path, B, "take")) == held
    assert sh(lock_of(tmp_path, B, "check")) == held
    assert (tmp_path / "provisioner.lock" / "run").read_text() == A.id + "\n"


def test_its_own_run_takes_it_again_with_a_new_holder(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    hold(tmp_path, A, f"pid {sleeper.pid} {start_time(sleeper.pid)}")
    assert sh(lock_of(tmp_path, A, "take")) == hostlock.Answer("taken")
    assert str(sleeper.pid) not in (tmp_path / "provisioner.lock" / "holder").read_text()


def dead() -> str:
    """The holder line of a process that has ended."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return f"pid {proc.pid} 1"


def test_a_dead_holder_makes_it_stale_its_uploads_go_and_others_stay(tmp_path: Path) -> None:
    hold(tmp_path, A, dead())
    (tmp_path / f"up-{A.id}-1f2e").write_text("half an upl")
    (tmp_path / f"up-{B.id}-3c4d").write_text("someone else's")
    answer = sh(lock_of(tmp_path, B, "take"))
    assert answer.status == "taken" and answer.stale
    assert answer.other == Holder(A.id, A.started, A.by)
    assert answer.leftovers == (str(tmp_path / f"up-{A.id}-1f2e"),)
    assert (tmp_path / f"up-{B.id}-3c4d").exists()
    assert (tmp_path / "provisioner.lock" / "run").read_text() == B.id + "\n"


def test_a_check_of_a_stale_lock_is_free_and_leaves_it(tmp_path: Path) -> None:
    hold(tmp_path, A, dead())
    answer = sh(lock_of(tmp_path, B, "check"))
    assert (answer.status, answer.stale) == ("free", True)
    assert (tmp_path / "provisioner.lock" / "run").read_text() == A.id + "\n"


def test_an_empty_or_unreadable_holder_is_stale(tmp_path: Path) -> None:
    hold(tmp_path, A, "")
    assert sh(lock_of(tmp_path, B, "take")).stale


def test_release_removes_only_its_own_lock(tmp_path: Path) -> None:
    sh(lock_of(tmp_path, A, "take"))
    assert sh(lock_of(tmp_path, B, "release")).status == "released"
    assert (tmp_path / "provisioner.lock").is_dir()
    sh(lock_of(tmp_path, A, "release"))
    assert not (tmp_path / "provisioner.lock").exists()


def test_a_mutex_left_by_a_dead_shell_is_removed_after_30_s(tmp_path: Path) -> None:
    mutex = tmp_path / "provisioner.lock.mutex"
    mutex.mkdir()
    subprocess.run(["touch", "-d", "-1 minute", str(mutex)], check=True)
    assert sh(lock_of(tmp_path, A, "take")).status == "taken"


def test_odd_words_in_who_are_quoted_not_run(tmp_path: Path) -> None:
    odd = RunId("cccc55556666", "now", "x'; touch pwned; '")
    assert sh(lock_of(tmp_path, odd, "take")).status == "taken"
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_acquire_waits_telling_once_per_holder_or_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sleeper: subprocess.Popen[bytes]
) -> None:
    monkeypatch.setattr(hostlock, "LOCK_DIR", str(tmp_path / "provisioner.lock"))
    hold(tmp_path, A, f"pid {sleeper.pid} {start_time(sleeper.pid)}")
    conn = Sh(tmp_path)
    with pytest.raises(HostBusy, match="another run holds this host \\(run aaaa11112222 by"):
        hostlock.acquire(conn, B, become=None, check=False, wait=False, waiting=print)
    told: list[Holder] = []
    naps = 0

    def nap(seconds: float) -> None:
        nonlocal naps
        naps += 1
        if naps == 3:  # the other run ends
            sleeper.kill()
            sleeper.wait()

    answer = hostlock.acquire(
        conn, B, become=None, check=False, wait=True, waiting=told.append, sleep=nap
    )
    assert told == [Holder(A.id, A.started, A.by)]
    assert answer.status == "taken" and answer.stale


# --- the runner -----------------------------------------------------------------------------

BOOK = """
- hosts: all
  become: true
  tasks:
    - name: say
      shell: "echo hello > said"
"""


@pytest.fixture
def two(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Two 'hosts', each a directory with its own lock (a relative LOCK_DIR)."""
    monkeypatch.setattr(hostlock, "LOCK_DIR", "provisioner.lock")
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    h1: {host: 127.0.0.1}\n    h2: {host: 127.0.0.1}\n")
    hosts = {}
    for name in ("h1", "h2"):
        (tmp_path / name).mkdir()
        hosts[name] = Sh(tmp_path / name, name)
    book = tmp_path / "book.yml"
    book.write_text(BOOK)
    return {"dir": tmp_path, "inventory": inv, "hosts": hosts, "book": book}


def run(two: dict[str, Any], login: str = "root", **opts: Any) -> tuple[Any, list[Any]]:
    events: list[Any] = []

    def connect(host: Host) -> Sh:
        conn: Sh = two["hosts"][host.name]
        return conn

    book, inv = load_playbook(two["book"]), load_inventory(two["inventory"])
    options = RunOptions(lock=True, **opts)
    runner = Runner(book, inv, connect, options, events.append, login_user=lambda h: login)
    return runner.run(), events


def test_the_lock_taken_with_a_change_is_not_streamed_as_its_output(
    two: dict[str, Any],
) -> None:
    summary, events = run(two, stream=True)
    assert summary.exit_code == 0
    assert "mode=take" in two["hosts"]["h1"].scripts[1]  # the change carried the lock
    assert [e for e in events if isinstance(e, TaskOutput)] == []  # it printed nothing


def test_a_run_looks_first_takes_the_lock_with_its_first_change_and_gives_it_back(
    two: dict[str, Any],
) -> None:
    summary, _ = run(two)
    assert summary.exit_code == 0
    for name in ("h1", "h2"):
        host: Sh = two["hosts"][name]
        first, change, last = host.scripts
        assert "mode=check" in first and "echo hello" not in first
        assert "mode=take" in change and "echo hello" in change  # one exchange, not two
        assert "mode=release" in last
        assert not (two["dir"] / name / "provisioner.lock").exists()
        assert (two["dir"] / name / "said").read_text() == "hello\n"


CONVERGED = """
- hosts: all
  become: true
  tasks:
    - name: motd
      copy: {content: "hi\\n", dest: "{{ playbook_dir }}/{{ inventory_hostname }}/motd"}
"""


def test_a_run_that_changes_nothing_takes_no_lock_in_one_exchange(two: dict[str, Any]) -> None:
    two["book"].write_text(CONVERGED)
    run(two)
    host: Sh = two["hosts"]["h1"]
    host.scripts.clear()
    summary, _ = run(two)
    assert summary.exit_code == 0 and summary.hosts["h1"].changed == 0
    [only] = host.scripts  # the look at the lock rides with the probes
    assert "mode=check" in only and "mode=take" not in only
    assert (two["dir"] / "h1" / "provisioner.lock.last").read_text().strip() != ""


class Raced(Sh):
    """A host where another run takes the lock, converges `motd` and gives the lock back
    just after this run's first look."""

    def run(
        self,
        script: str,
        *,
        become: Become | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
        on_output: Output | None = None,
    ) -> Result:
        res = super().run(script, become=become, stdin=stdin, timeout=timeout)
        if len(self.scripts) == 1:
            (self.root / "motd").write_text("hi\n")
            (self.root / "provisioner.lock.last").write_text(B.id + "\n")
        return res


def test_a_change_read_before_another_run_changed_the_host_is_read_again_not_made(
    two: dict[str, Any],
) -> None:
    two["book"].write_text(CONVERGED)
    host = Raced(two["dir"] / "h1", "h1")
    two["hosts"]["h1"] = host
    summary, _ = run(two)
    assert summary.exit_code == 0
    [motd] = [r for r in summary.results if r.host == "h1"]
    assert motd.status is Status.OK  # found converged once read again, under the lock
    look, take, again, release = host.scripts
    assert "mode=check" in look and "mode=take" in take and "mode=release" in release
    assert "mode=" not in again  # read again: the lock is held now
    assert (two["dir"] / "h1" / "provisioner.lock.last").read_text().strip() not in ("", B.id)


def test_a_held_host_is_left_alone_with_no_wait_and_the_other_converges(
    two: dict[str, Any], sleeper: subprocess.Popen[bytes]
) -> None:
    hold(two["dir"] / "h1", A, f"pid {sleeper.pid} {start_time(sleeper.pid)}")
    summary, _ = run(two, wait=False)
    assert summary.exit_code == 2
    [refused] = [r for r in summary.results if r.status is Status.FAILED]
    assert (refused.host, refused.task) == ("h1", "Host lock")
    assert "another run holds this host (run aaaa11112222 by teacher@desk" in refused.msg
    assert not (two["dir"] / "h1" / "said").exists()
    assert (two["dir"] / "h2" / "said").exists()
    assert (two["dir"] / "h1" / "provisioner.lock" / "run").read_text() == A.id + "\n"


def test_a_stale_lock_is_taken_over_and_said(two: dict[str, Any]) -> None:
    hold(two["dir"] / "h1", A, dead())
    summary, events = run(two)
    assert summary.exit_code == 0
    notes = [e.text for e in events if isinstance(e, HostNote)]
    assert notes == [
        "took over a stale lock: run aaaa11112222 by teacher@desk, started "
        "2026-01-05T08:00:00Z is gone from this host"
    ]


def test_a_dry_run_waits_for_no_one_but_takes_no_lock(two: dict[str, Any]) -> None:
    summary, _ = run(two, check=True)
    assert summary.exit_code == 0
    for name in ("h1", "h2"):
        host: Sh = two["hosts"][name]
        assert "mode=check" in host.scripts[0]
        assert not any("mode=take" in s or "mode=release" in s for s in host.scripts)


def test_a_play_without_become_as_another_user_takes_no_lock(two: dict[str, Any]) -> None:
    two["book"].write_text(BOOK.replace("become: true", "become: false"))
    summary, _ = run(two, login="student")
    assert summary.exit_code == 0
    host: Sh = two["hosts"]["h1"]
    assert not any("provisioner.lock" in s for s in host.scripts)


def test_a_lock_that_cannot_be_made_is_an_error_not_a_wait(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    script = hostlock.script(A, "take", str(ro / "provisioner.lock"), str(tmp_path / "up-"))
    argv = ["sh", "-c", script]
    if os.geteuid() == 0:  # root writes anyway: run it as nobody
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    assert p.returncode == 1 and "provisioner.lock.mutex" in p.stderr


class Rebooting(Sh):
    """A host that reboots after the command `after` ran: /run is emptied and the
    connection has to be opened again."""

    def __init__(self, root: Path, name: str, after: str) -> None:
        super().__init__(root, name)
        self.after = after
        self.generation = 1

    def run(
        self,
        script: str,
        *,
        become: Become | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
        on_output: Output | None = None,
    ) -> Result:
        res = super().run(script, become=become, stdin=stdin, timeout=timeout)
        if self.after in script:
            subprocess.run(["rm", "-rf", str(self.root / "provisioner.lock")], check=True)
            self.generation += 1
        return res


def test_after_a_reconnect_the_lock_is_taken_again_before_going_on(two: dict[str, Any]) -> None:
    two["book"].write_text(BOOK + '    - name: again\n      shell: "echo again > again"\n')
    host = Rebooting(two["dir"] / "h1", "h1", "echo hello")
    two["hosts"]["h1"] = host
    summary, _ = run(two)
    assert summary.exit_code == 0
    modes = [m for s in host.scripts for m in ("mode=take", "mode=release") if m in s]
    assert modes == ["mode=take", "mode=take", "mode=release"]  # the first with echo hello
    retaken = next(i for i, s in enumerate(host.scripts) if "mode=take" in s and i > 0)
    again = next(i for i, s in enumerate(host.scripts) if "echo again" in s)
    assert retaken < again
    assert not (two["dir"] / "h1" / "provisioner.lock").exists()
