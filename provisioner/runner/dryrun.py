"""What a dry run planned so far on a host, across plays, and who would provide a need.

A task blocked by something missing (a unit, a group, a package in no repository)
is "would change" in a dry run when an earlier planned change may bring it: the
reason names the latest planned task whose change provides that kind of thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.modules.base import Provision


@dataclass(frozen=True)
class PlannedChange:
    task: str
    provides: frozenset[Provision]


def provider_of(need: Provision, planned: list[PlannedChange]) -> str:
    """The latest planned task that provides `need`; else simply the latest one."""
    for change in reversed(planned):
        if any(p.covers(need) for p in change.provides):
            return change.task
    return planned[-1].task
