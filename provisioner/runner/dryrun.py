"""What a dry run planned so far on a host, across plays, and who would provide a need.

A task blocked by something missing (a unit, a group, a package in no repository)
is "would change" in a dry run when an earlier planned change may bring it: the
reason names the planned task whose change provides it, or says none says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.modules.base import Provision


@dataclass(frozen=True)
class PlannedChange:
    task: str
    provides: frozenset[Provision]


def provider(need: Provision, planned: list[PlannedChange]) -> str | None:
    """The latest planned task that provides `need`, if any."""
    for change in reversed(planned):
        if any(p.covers(need) for p in change.provides):
            return change.task
    return None


def expected_from(need: Provision, planned: list[PlannedChange]) -> str:
    """Where a dry run expects `need` to come from: the planned task that says it
    provides it; else one of those planned, as no task says (a package's unit file)."""
    task = provider(need, planned)
    if task is not None:
        return f"expected from an earlier planned change ({task})"
    return f"an earlier planned change may bring it (the latest: {planned[-1].task})"


def unchecked(judged_by: frozenset[Provision], planned: list[PlannedChange]) -> tuple[str, ...]:
    """What a dry run must say it could not check: a plan judged by something on the
    host (the repositories) that an earlier planned change changes first."""
    notes = []
    for need in sorted(judged_by, key=lambda p: (p.kind.value, p.name or "")):
        task = provider(need, planned)
        if task is not None:
            kind = need.kind.value
            plural = kind[:-1] + "ies" if kind.endswith("y") else kind + "s"
            what = f"{kind} {need.name}" if need.name else f"the {plural}"
            notes.append(
                f"not checked: judged by {what} there now; {task!r} would change them first"
            )
    return tuple(notes)
