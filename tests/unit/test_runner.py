"""Runner behaviour on 'hosts' that are temp directories driven by a real local sh.

The modules here are tiny test modules (a file holding a value); the
real modules have their own table tests. What is asserted is what a user sees:
statuses, counts, exit codes, round trips, and the files on the 'host'.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ConnectError, WriteError
from provisioner.events import RunSummary, Status, TaskResult, TaskStarted
from provisioner.inventory import Host, load_inventory
from provisioner.modules import register
from provisioner.modules.base import (
    CONVERGED,
    Args,
    Blocked,
    Change,
    Failed,
    Kind,
    Module,
    Op,
    Plan,
    Provision,
)
from provisioner.modules.package import BROUGHT_BY_PACKAGES
from provisioner.playbook.load import load_playbook
from provisioner.probes.base import Probe, Seen, unframe
from provisioner.runner import Runner, RunOptions
from provisioner.runner.dryrun import PlannedChange, expected_from
from provisioner.transport.base import Become, Output, Result


class FlagArgs(Args):
    path: str
    value: str
    needs: str | None = None  # a file that must exist first (like a unit a package brings)
    sloppy: bool = False  # write the wrong value: never converges


@dataclass(frozen=True)
class FlagState:
    value: str | None
    missing: bool = False  # `needs` is not there


@dataclass(frozen=True)
class FlagFile(Probe[FlagState]):
    path: str
    needs: str | None

    def command(self) -> str:
        p = shlex.quote(self.path)
        need = ""
        if self.needs:
            need = f"[ -e {shlex.quote(self.needs)} ] || echo MISSING; "
        return f"{need}if [ -f {p} ]; then echo present; cat {p}; else echo absent; fi"

    def parse(self, stdout: str, exit_code: int) -> FlagState:
        lines = stdout.splitlines()
        missing = bool(lines) and lines[0] == "MISSING"
        lines = lines[1:] if missing else lines
        if lines[0] == "absent":
            return FlagState(None, missing)
        return FlagState("\n".join(lines[1:]), missing)


@register
class Flag(Module[FlagArgs, FlagState, None]):
    name = "test_flag"
    args_model = FlagArgs

    def probes(self) -> tuple[Probe[Any], ...]:
        return (FlagFile(self.args.path, self.args.needs),)

    def state(self, seen: Seen) -> FlagState:
        return seen(FlagFile(self.args.path, self.args.needs))

    def plan(self, current: FlagState) -> Plan[None]:
        if current.missing and self.args.needs:
            return Blocked(Provision(Kind.PATH, self.args.needs), f"file {self.args.needs}")
        if current.value == self.args.value:
            return CONVERGED
        return Change((f"value: {current.value} → {self.args.value}",), None)

    def commands(self, change: Change[None]) -> list[Op]:
        value = self.args.value + ("-oops" if self.args.sloppy else "")
        return [Op(f"printf '%s\\n' {shlex.quote(value)} > {shlex.quote(self.args.path)}")]

    def provides(self, change: Change[None]) -> frozenset[Provision]:
        return frozenset({Provision(Kind.PATH, self.args.path)})


class LookupArgs(Args):
    path: str


@register
class Lookup(Module[LookupArgs, FlagState, None]):
    """Reads a file and changes nothing; a missing file fails the task (like getent)."""

    name = "test_lookup"
    args_model = LookupArgs

    def probes(self) -> tuple[Probe[Any], ...]:
        return (FlagFile(self.args.path, None),)

    def state(self, seen: Seen) -> FlagState:
        return seen(FlagFile(self.args.path, None))

    def plan(self, current: FlagState) -> Plan[None]:
        return Failed(f"no entry {self.args.path}") if current.value is None else CONVERGED

    def commands(self, change: Change[None]) -> list[Op]:
        return []

    def fields(self, current: FlagState) -> dict[str, Any]:
        return {"found": current.value}


class ShHost:
    """A 'host' that is a directory on this machine, run through a real sh."""

    def __init__(self, name: str, root: Path, down: bool = False) -> None:
        self.host = name
        self.root = root
        self.down = down
        self.disk_full = False
        self.runs: list[str] = []
        self.closed = 0

    def run(
        self,
        script: str,
        *,
        become: Become | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
        on_output: Output | None = None,
    ) -> Result:
        if self.down:
            raise ConnectError(self.host, "connection refused")
        self.runs.append(script)
        proc = subprocess.run(
            ["sh", "-c", script], cwd=self.root, capture_output=True, input=stdin, check=False
        )
        if on_output is not None:  # all of it at once: the exchange's framing included
            on_output(proc.stdout)
        return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())

    def put(self, data: bytes, path: str, mode: int = 0o600) -> None:
        if self.down:
            raise ConnectError(self.host, "connection refused")
        if self.disk_full:
            raise WriteError(self.host, f"cannot write {path}: No space left on device")
        Path(path).write_bytes(data)

    def close(self) -> None:
        self.closed += 1


@pytest.fixture()
def lab(tmp_path: Path) -> dict[str, Any]:
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    h1: {host: 127.0.0.1}\n    h2: {host: 127.0.0.1}\n")
    hosts = {}
    for name in ("h1", "h2"):
        (tmp_path / name).mkdir()
        hosts[name] = ShHost(name, tmp_path / name)
    return {"dir": tmp_path, "inventory": inv, "hosts": hosts}


def play(tmp: Path, body: str) -> Path:
    path = tmp / "play.yml"
    path.write_text(body)
    return path


def run(lab: dict[str, Any], book: Path, **opts: Any) -> RunSummary:
    hosts: dict[str, ShHost] = lab["hosts"]

    def connect(host: Host) -> ShHost:
        return hosts[host.name]

    runner = Runner(
        load_playbook(book), load_inventory(lab["inventory"]), connect, RunOptions(**opts)
    )
    return runner.run()


def statuses(summary: RunSummary, host: str) -> list[str]:
    return [f"{r.task}:{r.status.value}" for r in summary.results if r.host == host]


THREE_FLAGS = """
- hosts: all
  tasks:
    - name: a
      test_flag: {path: a, value: "1"}
    - name: b
      test_flag: {path: b, value: "2"}
    - name: c
      test_flag: {path: c, value: "3"}
"""


def test_apply_converges_and_rerun_is_one_round_trip(lab: dict[str, Any]) -> None:
    book = play(lab["dir"], THREE_FLAGS)
    first = run(lab, book)
    assert statuses(first, "h1") == ["a:changed", "b:changed", "c:changed"]
    assert (lab["dir"] / "h1" / "b").read_text() == "2\n"
    assert first.exit_code == 0
    h1: ShHost = lab["hosts"]["h1"]
    h1.runs.clear()
    second = run(lab, book)
    assert statuses(second, "h1") == ["a:ok", "b:ok", "c:ok"]
    assert second.hosts["h1"].changed == 0
    assert len(h1.runs) == 1, "a no-change rerun costs one round trip per host"


def test_dry_run_changes_nothing_and_predicts_apply(lab: dict[str, Any]) -> None:
    (lab["dir"] / "h1" / "b").write_text("2\n")  # one task already converged
    book = play(lab["dir"], THREE_FLAGS)
    dry = run(lab, book, check=True)
    assert not (lab["dir"] / "h1" / "a").exists()
    would = [r.task for r in dry.results if r.host == "h1" and r.status is Status.CHANGED]
    assert would == ["a", "c"]
    assert all(r.check for r in dry.results)
    real = run(lab, book)
    changed = [r.task for r in real.results if r.host == "h1" and r.status is Status.CHANGED]
    assert changed == would


def test_task_that_does_not_converge_fails_not_changed(lab: dict[str, Any]) -> None:
    book = play(
        lab["dir"],
        "- hosts: h1\n  tasks:\n    - name: bad\n"
        "      test_flag: {path: x, value: v, sloppy: true}\n"
        "    - name: after\n      test_flag: {path: y, value: v}\n",
    )
    summary = run(lab, book)
    [bad] = [r for r in summary.results if r.task == "bad"]
    assert bad.status is Status.FAILED
    assert "did not converge" in bad.msg
    assert not (lab["dir"] / "h1" / "y").exists(), "a failed task stops that host"
    assert summary.exit_code == 2


def test_missing_dependency_from_planned_change_is_would_change(lab: dict[str, Any]) -> None:
    body = """
- hosts: h1
  tasks:
    - name: install
      test_flag: {path: unit, value: "u"}
    - name: start
      test_flag: {path: started, value: "yes", needs: unit}
"""
    book = play(lab["dir"], body)
    dry = run(lab, book, check=True)
    [start] = [r for r in dry.results if r.task == "start"]
    assert start.status is Status.CHANGED
    assert "install" in start.msg and "unit" in start.msg
    assert dry.exit_code == 0
    applied = run(lab, book)
    assert statuses(applied, "h1") == ["install:changed", "start:changed"]


def test_missing_dependency_without_planned_change_fails_in_dry_run(lab: dict[str, Any]) -> None:
    body = (
        "- hosts: h1\n  tasks:\n    - name: start\n"
        "      test_flag: {path: s, value: y, needs: unit}\n"
    )
    dry = run(lab, play(lab["dir"], body), check=True)
    assert dry.results[-1].status is Status.FAILED
    assert "file unit not found" in dry.results[-1].msg


def test_unreachable_host_does_not_stop_others(lab: dict[str, Any]) -> None:
    lab["hosts"]["h2"].down = True
    summary = run(lab, play(lab["dir"], THREE_FLAGS))
    assert summary.hosts["h2"].unreachable
    assert summary.hosts["h1"].changed == 3
    assert summary.exit_code == 4


def test_a_refused_upload_fails_the_task_and_the_host_is_not_unreachable(
    lab: dict[str, Any],
) -> None:
    lab["hosts"]["h2"].disk_full = True
    # One file per host: with a shared one, h1's write could converge h2 before it uploads.
    dest = lab["dir"] / "{{ inventory_hostname }}-motd"
    body = (
        "- hosts: all\n  tasks:\n"
        f"    - name: motd\n      copy: {{content: hi, dest: '{dest}'}}\n"
        "    - name: after\n      test_flag: {path: after, value: '1'}\n"
    )
    summary = run(lab, play(lab["dir"], body))
    assert statuses(summary, "h1") == ["motd:changed", "after:changed"]
    [motd] = [r for r in summary.results if r.host == "h2"]
    assert motd.status is Status.FAILED
    assert "No space left on device" in motd.msg
    assert not summary.hosts["h2"].unreachable
    assert summary.exit_code == 2


class CutOffHost(ShHost):
    """Ctrl-C arrives while a command runs; closing the connection then cuts the command
    off, as an SSH session's close would."""

    def __init__(self, name: str, root: Path) -> None:
        super().__init__(name, root)
        self.closed_event = threading.Event()
        self.cut_off = threading.Event()

    def run(
        self,
        script: str,
        *,
        become: Become | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
        on_output: Output | None = None,
    ) -> Result:
        if "long-step" not in script:
            return super().run(script, become=become, stdin=stdin, timeout=timeout)
        os.kill(os.getpid(), signal.SIGINT)  # the user's Ctrl-C
        self.closed_event.wait(10)
        self.cut_off.set()
        raise ConnectError(self.host, "the connection was lost")

    def close(self) -> None:
        super().close()
        self.closed_event.set()


def test_ctrl_c_leaves_the_running_task_running_not_unreachable(lab: dict[str, Any]) -> None:
    lab["hosts"]["h1"] = host = CutOffHost("h1", lab["dir"] / "h1")
    body = (
        "- hosts: h1\n  tasks:\n"
        "    - name: first\n      test_flag: {path: a, value: '1'}\n"
        "    - name: long\n      command: echo long-step\n"
        "    - name: never\n      test_flag: {path: b, value: '2'}\n"
    )
    events: list[Any] = []
    runner = Runner(
        load_playbook(play(lab["dir"], body)),
        load_inventory(lab["inventory"]),
        lambda h: lab["hosts"][h.name],
        RunOptions(),
        listener=events.append,
    )
    with pytest.raises(KeyboardInterrupt):
        runner.run()
    assert host.cut_off.wait(10), "closing the connection did not end the command"
    for thread in threading.enumerate():  # the worker reports (or not) before it ends
        if thread.name.startswith("host"):
            thread.join(10)
    reported = [(e.task, e.status) for e in events if isinstance(e, TaskResult)]
    assert reported == [("first", Status.CHANGED)]
    started = [e.task for e in events if isinstance(e, TaskStarted)]
    assert started == ["first", "long"]
    assert not (lab["dir"] / "h1" / "b").exists()


def test_handlers_run_once_when_notified(lab: dict[str, Any]) -> None:
    body = """
- hosts: h1
  tasks:
    - name: conf one
      test_flag: {path: c1, value: "1"}
      notify: restart
    - name: conf two
      test_flag: {path: c2, value: "2"}
      notify: restart
  handlers:
    - name: restart
      test_flag: {path: restarted, value: "{{ 'yes' }}"}
"""
    book = play(lab["dir"], body)
    first = run(lab, book)
    handlers = [r for r in first.results if r.handler]
    assert [r.status for r in handlers] == [Status.CHANGED]
    (lab["dir"] / "h1" / "restarted").unlink()
    second = run(lab, book)
    assert not [r for r in second.results if r.handler], "nothing changed: no handler"


def test_when_loop_and_register(lab: dict[str, Any]) -> None:
    body = """
- hosts: h1
  vars:
    names: [p, q]
  tasks:
    - name: files
      test_flag: {path: "{{ item }}", value: "{{ item }}!"}
      loop: "{{ names }}"
      register: made
    - name: only when changed
      test_flag: {path: flag, value: "seen"}
      when: made.changed
    - name: never
      test_flag: {path: never, value: "x"}
      when: inventory_hostname == 'h2'
"""
    summary = run(lab, play(lab["dir"], body))
    assert [(r.item, r.status.value) for r in summary.results if r.task == "files"] == [
        ("p", "changed"),
        ("q", "changed"),
    ]
    assert (lab["dir"] / "h1" / "q").read_text() == "q!\n"
    assert (lab["dir"] / "h1" / "flag").exists()
    assert not (lab["dir"] / "h1" / "never").exists()


def test_limit_and_tags_touch_only_what_they_name(lab: dict[str, Any]) -> None:
    body = """
- hosts: all
  tasks:
    - name: tagged
      test_flag: {path: t, value: "1"}
      tags: [web]
    - name: untagged
      test_flag: {path: u, value: "1"}
"""
    summary = run(lab, play(lab["dir"], body), limit="h2", tags=frozenset({"web"}))
    assert {r.host for r in summary.results} == {"h2"}
    assert (lab["dir"] / "h2" / "t").exists()
    assert not (lab["dir"] / "h2" / "u").exists()
    assert not (lab["dir"] / "h1" / "t").exists()


def test_command_in_dry_run_is_would_run_and_not_run(lab: dict[str, Any]) -> None:
    body = """
- hosts: h1
  tasks:
    - name: make marker
      command: touch marker
    - name: read-only check
      command: cat marker
      changed_when: false
"""
    book = play(lab["dir"], body)
    dry = run(lab, book, check=True)
    assert [r.status for r in dry.results] == [Status.CHANGED, Status.SKIPPED]
    assert not (lab["dir"] / "h1" / "marker").exists()
    real = run(lab, book)
    assert [r.status for r in real.results] == [Status.CHANGED, Status.OK]


def test_registered_command_output_is_as_ansible_registers_it(lab: dict[str, Any]) -> None:
    body = """
- hosts: h1
  tasks:
    - name: two lines
      command: printf 'root\\nsecond\\n'
      register: out
      changed_when: false
    - assert:
        that:
          - "out.stdout == 'root\\nsecond'"
          - "out.stdout_lines == ['root', 'second']"
          - "out.rc == 0"
"""
    summary = run(lab, play(lab["dir"], body))
    assert [r.status for r in summary.results] == [Status.OK, Status.OK], summary.results[-1].msg


def test_expected_from_names_the_task_that_can_bring_it() -> None:
    package = frozenset(Provision(k) for k in BROUGHT_BY_PACKAGES)
    planned = [PlannedChange("Install Docker", package), PlannedChange("Start Docker", frozenset())]
    said = "expected from an earlier planned change (Install Docker)"
    assert expected_from(Provision(Kind.GROUP, "docker"), planned) == said
    assert expected_from(Provision(Kind.UNIT, "docker.service"), planned) == said
    # No planned task says it brings a repository: the dry run does not pretend one does.
    assert expected_from(Provision(Kind.REPO, "something else"), planned) == (
        "an earlier planned change may bring it (the latest: Start Docker)"
    )


def test_assert_and_debug_run_on_the_controller(lab: dict[str, Any]) -> None:
    body = """
- hosts: h1
  vars: {n: 3}
  tasks:
    - debug: {msg: "n is {{ n }}"}
    - assert: {that: ["n > 5"], fail_msg: "n too small"}
    - name: after
      test_flag: {path: z, value: "1"}
"""
    summary = run(lab, play(lab["dir"], body))
    results: list[TaskResult] = summary.results
    assert results[0].msg == "n is 3"
    assert results[1].status is Status.FAILED and results[1].msg == "n too small"
    assert len(results) == 2
    assert lab["hosts"]["h1"].runs == [], "controller-only tasks never touch the host"


def test_unframe_handles_missing_trailing_newline() -> None:
    mark = "@@m@@"
    out = f"\n{mark} 0 begin\nabc\n{mark} 0 end 0\n\n{mark} 1 begin\nx\n\n{mark} 1 end 3\n"
    assert unframe(out, 2, mark) == [("abc", 0), ("x\n", 3)]
    assert unframe("garbage", 1, mark) is None


def test_quiet_assert_says_nothing_when_it_passes(lab: dict[str, Any]) -> None:
    body = """
- hosts: h1
  tasks:
    - assert: {that: [true], success_msg: "fine"}
    - assert: {that: [true], success_msg: "fine", quiet: true}
"""
    summary = run(lab, play(lab["dir"], body))
    assert [r.msg for r in summary.results] == ["fine", ""]


def test_what_a_host_prints_is_data_not_a_template(lab: dict[str, Any]) -> None:
    """A managed host must not make the controller evaluate what it prints."""
    out = lab["dir"] / "{{ inventory_hostname }}-out"
    OPEN, CLOSE = "\\\\173\\\\173", "\\\\175\\\\175"  # printf's octal for {{ and }}
    body = f"""
- hosts: h1
  vars:
    become_password: s3cret
  tasks:
    - name: the host prints template text (octal escapes keep it out of the task's own text)
      shell: "printf '{OPEN} 7 * 7 {CLOSE}\\\\n{OPEN} become_password {CLOSE}\\\\n'"
      register: r
      changed_when: false
    - name: written as it came
      copy: {{content: "{{{{ r.stdout }}}}\\n", dest: '{out}'}}
    - name: each line an item, rendered once
      test_flag: {{path: "item-{{{{ loop_index }}}}", value: "{{{{ item }}}}"}}
      loop: "{{{{ r.stdout_lines }}}}"
      vars: {{loop_index: "{{{{ r.stdout_lines.index(item) }}}}"}}
"""
    summary = run(lab, play(lab["dir"], body))
    assert summary.exit_code == 0, [r.msg for r in summary.results]
    assert (lab["dir"] / "h1-out").read_text() == "{{ 7 * 7 }}\n{{ become_password }}\n"
    assert (lab["dir"] / "h1" / "item-0").read_text() == "{{ 7 * 7 }}\n"
    assert (lab["dir"] / "h1" / "item-1").read_text() == "{{ become_password }}\n"


LOOKUPS = """
- hosts: h1
  tasks:
    - name: first
      test_flag: {path: a, value: "1"}
    - name: look
      test_lookup: {path: missing}
      register: r
      ignore_errors: true
    - name: registered the failure and the fields
      assert:
        that: ["r.failed", "r.msg == 'no entry missing'", "r.found is none", "not r.changed"]
    - name: look again
      test_lookup: {path: missing}
    - name: never
      test_flag: {path: never, value: "1"}
"""


@pytest.mark.parametrize("check", [False, True])
def test_a_failed_plan_fails_the_task_in_apply_and_dry_run(
    lab: dict[str, Any], check: bool
) -> None:
    """Failed is not Blocked: an earlier planned change does not excuse it in a dry run."""
    summary = run(lab, play(lab["dir"], LOOKUPS), check=check)
    results = {r.task: r for r in summary.results if r.host == "h1"}
    assert results["look"].status is Status.FAILED and results["look"].ignored
    assert results["look"].msg == "no entry missing"
    assert results["registered the failure and the fields"].status is Status.OK
    assert results["look again"].status is Status.FAILED and not results["look again"].ignored
    assert "never" not in results and summary.exit_code == 2


def test_getent_registers_its_facts_and_fails_on_a_missing_key(lab: dict[str, Any]) -> None:
    """Through the runner, on this machine's own getent: the facts reach the register."""
    body = """
- hosts: h1
  tasks:
    - name: root
      getent: {database: passwd, key: root}
      register: r
    - assert:
        that: ["r.ansible_facts.getent_passwd.root[1] == '0'", "not r.changed"]
    - name: nobody by that name
      getent: {database: passwd, key: no-such-user-here}
      register: missing
      ignore_errors: true
    - assert:
        that:
          - missing.failed
          - "missing.msg == 'One or more supplied key could not be found in the database.'"
"""
    summary = run(lab, play(lab["dir"], body))
    assert [r.status for r in summary.results] == [
        Status.OK,
        Status.OK,
        Status.FAILED,
        Status.OK,
    ], [r.msg for r in summary.results]


def test_a_key_for_a_user_a_dry_run_plans_to_make_would_change(lab: dict[str, Any]) -> None:
    """The teacher's dry run: the account is planned, so its key would be added."""
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"
    body = f"""
- hosts: h1
  tasks:
    - name: make the student
      user: {{name: student1-provisioner-test}}
    - name: let the student in
      authorized_key: {{user: student1-provisioner-test, key: "{key} student@laptop"}}
"""
    dry = run(lab, play(lab["dir"], body), check=True)
    [make, key_task] = dry.results
    assert make.status is Status.CHANGED and key_task.status is Status.CHANGED, key_task.msg
    assert key_task.summary[:2] == (
        "+ ~student1-provisioner-test/.ssh/authorized_keys",
        "+ key ssh-ed25519 SHA256:RXm/ruZ0eTzRXKwi1AQEDynB0VgHQ2ac9KPSFdf/YnA student@laptop",
    )
    assert "expected from an earlier planned change (make the student)" in key_task.summary[2]


def test_a_declared_read_only_check_costs_no_probe_batch_of_its_own(lab: dict[str, Any]) -> None:
    """`changed_when: false` + `check_mode: false` (Ansible's idiom for a check): the
    tasks around it are probed in one exchange, and nothing is probed again after it."""
    checks = {
        "declared": "      changed_when: false\n      check_mode: false\n",
        "not declared": "      changed_when: false\n",  # it may change the host
    }
    exchanges = {}
    for kind, keywords in checks.items():
        body = (
            "- hosts: h1\n  tasks:\n"
            "    - {name: a, test_flag: {path: a, value: '1'}}\n"
            f"    - name: check\n      command: 'true'\n{keywords}"
            "    - {name: b, test_flag: {path: b, value: '2'}}\n"
        )
        book = play(lab["dir"], body)
        run(lab, book)
        h1: ShHost = lab["hosts"]["h1"]
        h1.runs.clear()
        rerun = run(lab, book)
        assert statuses(rerun, "h1") == ["a:ok", "check:ok", "b:ok"]
        exchanges[kind] = len(h1.runs)
    # The check runs in the probe batch; without the idiom it runs at its turn, b's probes
    # read after it in the same exchange.
    assert exchanges == {"declared": 1, "not declared": 2}


def test_a_check_run_early_stands_only_while_nothing_changed_before_its_turn(
    lab: dict[str, Any],
) -> None:
    """The check runs in the exchange after a's change, before b's: b's change makes that
    result stale, so the check runs again at its turn and sees both."""
    body = (
        "- hosts: h1\n  tasks:\n"
        "    - {name: a, test_flag: {path: a, value: '1'}}\n"
        "    - {name: b, test_flag: {path: b, value: '2'}}\n"
        "    - name: check\n      command: cat a b\n      register: seen\n"
        "      changed_when: false\n      check_mode: false\n"
        "    - {name: c, test_flag: {path: c, value: '{{ seen.stdout }}'}}\n"
    )
    book = play(lab["dir"], body)
    first = run(lab, book)
    assert statuses(first, "h1") == ["a:changed", "b:changed", "check:ok", "c:changed"]
    h1: ShHost = lab["hosts"]["h1"]
    assert (h1.root / "c").read_text() == "1\n2\n"
    assert sum("'cat' a b" in script for script in h1.runs) == 2  # early, then at its turn
    h1.runs.clear()
    rerun = run(lab, book)
    assert statuses(rerun, "h1") == ["a:ok", "b:ok", "check:ok", "c:ok"]
    # a, b and the check in one exchange; c is written from what the check registered
    assert len(h1.runs) == 2 and "'cat' a b" in h1.runs[0] and "'cat' a b" not in h1.runs[1]


@pytest.mark.parametrize("early", [True, False], ids=["in the first batch", "at its turn"])
def test_a_check_that_needs_a_planned_change_is_blocked_by_it_in_a_dry_run(
    lab: dict[str, Any], early: bool
) -> None:
    """hello-world before Docker is installed: the dry run cannot run the check after the
    change it only planned, so it says so (and which change), instead of failing."""
    turn = "" if early else "      timeout: 30\n"  # a timeout keeps it out of the batch
    body = (
        "- hosts: h1\n  tasks:\n"
        "    - {name: make a, test_flag: {path: a, value: '1'}}\n"
        "    - name: check a\n      command: cat a\n      register: seen\n"
        f"      changed_when: false\n      check_mode: false\n{turn}"
        "    - {name: copy a, test_flag: {path: c, value: '{{ seen.stdout }}'}}\n"
    )
    book = play(lab["dir"], body)
    h1: ShHost = lab["hosts"]["h1"]
    dry = run(lab, book, check=True)
    assert statuses(dry, "h1") == ["make a:changed", "check a:ok", "copy a:changed"]
    check = dry.results[1]
    assert check.undecided and check.blocked_by == "make a", check
    blocked = "decided at apply: blocked by earlier planned changes (the latest: make a)"
    assert check.msg.startswith(blocked)
    assert "No such file" in check.msg  # what the check said now
    assert dry.exit_code == 0 and sum("'cat' a" in s for s in h1.runs) == 1
    assert not (h1.root / "a").exists()
    assert statuses(run(lab, book), "h1") == ["make a:changed", "check a:ok", "copy a:changed"]


def test_a_failing_check_with_nothing_planned_before_it_fails_a_dry_run(
    lab: dict[str, Any],
) -> None:
    """Nothing earlier would change: the check's failure is the host's, dry run or not."""
    body = (
        "- hosts: h1\n  tasks:\n"
        "    - name: check a\n      command: cat a\n"
        "      changed_when: false\n      check_mode: false\n"
    )
    book = play(lab["dir"], body)
    for check in (True, False):
        summary = run(lab, book, check=check)
        [result] = summary.results
        assert result.status is Status.FAILED and not result.blocked_by, result
        assert summary.exit_code == 2
