"""The runner and two things a module may declare: a plan that is `Failed` (the state
itself fails the task), and `waits` (its probe waits: never asked ahead, skipped in a
dry run)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from provisioner.events import Status
from provisioner.modules import register
from provisioner.modules.base import CONVERGED, Args, Change, Failed, Module, Op, Plan
from provisioner.probes.base import Probe, Seen
from tests.unit.test_runner import lab, play, run, statuses

__all__ = ["lab"]  # the fixture, used by name


class VerdictArgs(Args):
    path: str


@dataclass(frozen=True)
class Word(Probe[str]):
    path: str

    def command(self) -> str:
        return f"cat {shlex.quote(self.path)} 2>/dev/null || echo none"

    def parse(self, stdout: str, exit_code: int) -> str:
        return stdout.strip()


@register
class Verdict(Module[VerdictArgs, str, None]):
    """Fails the task when its file says 'bad', naming what it found."""

    name = "test_verdict"
    args_model = VerdictArgs

    def probes(self) -> tuple[Probe[Any], ...]:
        return (Word(self.args.path),)

    def state(self, seen: Seen) -> str:
        return seen(Word(self.args.path))

    def plan(self, current: str) -> Plan[None]:
        return Failed(f"{self.args.path} says {current}") if current == "bad" else CONVERGED

    def commands(self, change: Change[None]) -> list[Op]:
        return []

    def fields(self, current: str) -> dict[str, Any]:
        return {"word": current}


def test_a_failed_plan_fails_the_task_with_its_message_and_fields(lab: dict[str, Any]) -> None:
    (lab["dir"] / "h1" / "w").write_text("bad\n")
    body = """
- hosts: h1
  tasks:
    - name: judge
      test_verdict: {path: w}
      register: r
      ignore_errors: true
    - assert:
        that: ["r.failed", "r.word == 'bad'", "r.msg == 'w says bad'", "not r.changed"]
"""
    summary = run(lab, play(lab["dir"], body))
    judge, check = summary.results
    assert judge.status is Status.FAILED and judge.msg == "w says bad" and judge.ignored
    assert check.status is Status.OK, check.msg


def test_a_failed_plan_fails_a_dry_run_too(lab: dict[str, Any]) -> None:
    (lab["dir"] / "h1" / "w").write_text("bad\n")
    body = (
        "- hosts: h1\n  tasks:\n"
        "    - name: set\n      test_flag: {path: f, value: '1'}\n"
        "    - name: judge\n      test_verdict: {path: w}\n"
    )
    dry = run(lab, play(lab["dir"], body), check=True)
    assert statuses(dry, "h1") == ["set:changed", "judge:failed"]
    assert dry.results[-1].msg == "w says bad"


def _waiting_book(lab: dict[str, Any]) -> str:
    flag = lab["dir"] / "h1" / "ready"
    return f"""
- hosts: h1
  tasks:
    - name: make it ready
      test_flag: {{path: ready, value: "yes"}}
    - name: wait for it
      wait_for: {{path: "{flag}", search_regex: "^yes$", timeout: 5}}
      register: w
    - name: after
      test_flag: {{path: after, value: "1"}}
    - assert: {{that: ["w.elapsed <= 5", "not w.changed"]}}
      when: not ansible_check_mode
"""


def test_a_wait_is_asked_at_its_turn_not_in_an_earlier_batch(lab: dict[str, Any]) -> None:
    host = lab["hosts"]["h1"]
    summary = run(lab, play(lab["dir"], _waiting_book(lab)))
    assert statuses(summary, "h1") == [
        "make it ready:changed",
        "wait for it:ok",
        "after:changed",
        "assert:ok",
    ], [r.msg for r in summary.results]
    first_batch = host.runs[0]
    assert "result=met" not in first_batch, "the wait went out before the file was made"
    waits = [i for i, s in enumerate(host.runs) if "result=met" in s]
    assert len(waits) == 1 and waits[0] > 1  # after the first batch and the flag's write


def test_a_dry_run_skips_a_wait_and_never_sends_it(lab: dict[str, Any]) -> None:
    host = lab["hosts"]["h1"]
    dry = run(lab, play(lab["dir"], _waiting_book(lab)), check=True)
    wait = [r for r in dry.results if r.task == "wait for it"]
    assert [r.status for r in wait] == [Status.SKIPPED]
    assert wait[0].msg == "a dry run does not wait"
    assert not any("result=met" in s for s in host.runs)
    assert not (lab["dir"] / "h1" / "ready").exists()
    assert dry.exit_code == 0
