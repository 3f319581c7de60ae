"""apply --plan: what a saved plan expects of each task on each host, checked before the
task's turn (the plan file's format is `provisioner.planfile`; this is the runner's side).

What is compared is a digest of the module's own plan (`plan_digest`): converged, or the
change's summary lines and diff, or what blocks it, or why it fails. Not the probes' raw
text: `systemctl show` answers every property of a unit, timestamps, PIDs and invocation
ids included, and those differ between any two looks at the same host. The module's plan
is what the probes' answers mean to the task: a host whose answers would make the task do
anything else than what the reviewer read has drifted; one that differs only where the
task does not look has not.

Two checks. The CLI makes the plan's dry run again just before the apply and finds where
each host first differs from the plan (`drift`): the host stops at that task. That covers
every task, those after an earlier planned change included, since a dry run reads the host
before any change, as the plan's did. Then, at each task's turn, its plan from the host as
this apply first read it (`Pristine`, the answers from before its first change there) must
still be the recorded one: what changed between that dry run and the apply is found too.
A task whose probes were first read after this apply changed the host is not checked again
at its turn (the dry run before told); nor a task decided at apply that was never probed.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner.errors import Location, ProvisionError
from provisioner.modules.base import Blocked, Change, Converged, Failed, Module, Plan
from provisioner.playbook.compile import Unit
from provisioner.probes.base import Answers, Probe
from provisioner.transport.base import Become

# play, where (file:line:col, the file absolute), task; loop items and repeats: by order
Key = tuple[str, str, str]


def _where(loc: Location) -> str:
    """The task's place, its file absolute: the plan names it so (cli.plan.expectations)."""
    return str(Location(os.path.abspath(loc.file), loc.line, loc.col))


def plan_digest(plan: Plan[Any]) -> str:
    """What a module would do, as a digest; what differs nowhere the task looks, not."""
    body: list[Any]
    if isinstance(plan, Converged):
        body = ["converged"]
    elif isinstance(plan, Change):
        body = ["change", list(plan.summary), plan.diff or "", plan.actions_only]
    elif isinstance(plan, Blocked):
        body = ["blocked", plan.what, plan.need.kind.value, plan.need.name]
    elif isinstance(plan, Failed):
        body = ["failed", plan.msg]
    else:  # pragma: no cover - Plan is one of the four
        raise TypeError(plan)
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def described(plan: Plan[Any]) -> str:
    """What a module's plan says, for a person: what a stale task found."""
    if isinstance(plan, Converged):
        return "ok (nothing to change)"
    if isinstance(plan, Change):
        return "change: " + "; ".join(plan.summary) if plan.summary else "a change"
    if isinstance(plan, Blocked):
        return f"blocked: {plan.what} is not there"
    assert isinstance(plan, Failed)
    return f"failed: {plan.msg}"


@dataclass(frozen=True)
class Expected:
    """One task (one loop item) of a host in the plan."""

    status: str  # as the dry run reported it: ok, changed, skipped, failed
    digest: str  # plan_digest in the dry run; "" when it made none (skipped, controller)
    at_apply: bool  # the plan left it to apply: not checked
    summary: tuple[str, ...] = ()  # what the plan showed (masked for no_log tasks)

    def said(self) -> str:
        word = "would change" if self.status == "changed" else self.status
        return f"{word}: {'; '.join(self.summary)}" if self.summary else word


@dataclass
class Pristine:
    """A host's probe answers as this run first read them, until its first change."""

    answers: dict[tuple[Probe[Any], Become | None], tuple[str, int]] = field(default_factory=dict)
    closed: bool = False  # the host changed: what is read from now on is not pristine

    def keep(self, probe: Probe[Any], become: Become | None, answer: tuple[str, int]) -> None:
        if not self.closed:
            self.answers.setdefault((probe, become), answer)

    def seen(self, probes: tuple[Probe[Any], ...], become: Become | None) -> Answers | None:
        if not all((p, become) in self.answers for p in probes):
            return None
        return Answers({p: self.answers[(p, become)] for p in probes})


@dataclass
class HostExpectations:
    """A host's tasks in the plan, in order; `open`: the plan has something decided at
    apply on this host (an include it did not expand), so a task it does not list runs.
    `drift`: where a dry run just before this apply found the host no longer as planned
    (the task's key and number, and what it found): the host stops there."""

    entries: Mapping[tuple[Key, int], Expected]
    open: bool = False
    drift: tuple[tuple[Key, int], str] | None = None
    pristine: Pristine = field(default_factory=Pristine)
    _counts: dict[Key, int] = field(default_factory=dict)
    _taken: dict[int, tuple[tuple[Key, int], Expected | None]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, play: str, unit: Unit) -> tuple[tuple[Key, int], Expected | None]:
        """The unit's place (the same when it is asked again: until, a lock that moved)
        and the plan's entry for it (None: the plan has none)."""
        with self._lock:
            if id(unit) not in self._taken:
                key: Key = (play, _where(unit.task.loc), unit.task.display_name)
                number = self._counts.get(key, 0)
                self._counts[key] = number + 1
                found = self.entries.get((key, number))
                first = self.entries.get((key, 0))
                if found is None and first is not None and first.at_apply:
                    found = first  # a loop the plan could not unroll: decided at apply
                self._taken[id(unit)] = ((key, number), found)
            return self._taken[id(unit)]

    def stale(
        self,
        play: str,
        unit: Unit,
        module: Module[Any, Any, Any],
        now: Plan[Any],
        become: Become | None,
    ) -> Stale | None:
        """Why this task may not run (the host drifted since the plan), or None."""
        place, expected = self.of(play, unit)
        if self.drift is not None and place == self.drift[0]:
            return Stale(self.drift[1])
        if expected is None:
            return None if self.open else Stale("the plan has no such task for this host")
        if not expected.digest:  # decided at apply without a look, or never probed
            if expected.at_apply:
                return None
            return Stale(f"the plan expected {expected.said()}; now the task would probe the host")
        # The dry run planned from the host before any change: so is it checked, when the
        # answers from before this run's first change are known, even if decided at apply.
        seen = self.pristine.seen(module.probes(), become)
        if seen is not None:
            try:
                then = module.plan(module.state(seen))
            except ProvisionError as exc:
                return Stale(f"the plan expected {expected.said()}; found {exc}")
        elif not self.pristine.closed:
            then = now
        else:
            return None  # first read after this run's own change: the dry run before told
        if plan_digest(then) == expected.digest:
            return None
        found = described(then)
        diff = then.diff if isinstance(then, Change) else None
        if isinstance(then, Change) and tuple(then.summary) == expected.summary:
            found = "the same change, from another state (its diff: below, with -D)"
        return Stale(f"the plan expected {expected.said()}; found {found}", diff)


@dataclass(frozen=True)
class Stale:
    """What a drifted task found: said, and the diff it would make now."""

    msg: str
    diff: str | None = None
