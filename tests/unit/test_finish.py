"""A host whose last play is over has its connection closed then, not when the run's
last host is done (an idle paramiko connection wakes ten times a second)."""

from __future__ import annotations

from typing import Any

from provisioner.events import Event, TaskStarted
from provisioner.inventory import Host, load_inventory
from provisioner.playbook.load import load_playbook
from provisioner.runner import Runner, RunOptions
from tests.unit.test_runner import ShHost, lab, play

__all__ = ["lab"]  # the fixture, used by name

TWO_PLAYS = """
- hosts: all
  gather_facts: false
  tasks:
    - command: "true"
- hosts: h2
  gather_facts: false
  tasks:
    - name: later
      command: "true"
"""


def test_a_host_done_with_its_last_play_is_closed_before_the_run_ends(
    lab: dict[str, Any],
) -> None:
    hosts: dict[str, ShHost] = lab["hosts"]
    seen: list[tuple[int, int]] = []

    def listen(event: Event) -> None:
        if isinstance(event, TaskStarted) and event.task == "later":
            seen.append((hosts["h1"].closed, hosts["h2"].closed))

    def connect(host: Host) -> ShHost:
        return hosts[host.name]

    book = load_playbook(play(lab["dir"], TWO_PLAYS))
    Runner(book, load_inventory(lab["inventory"]), connect, RunOptions(), listen).run()
    assert seen == [(1, 0)]  # h1 closed once its only play ended; h2 still open then
    assert (hosts["h1"].closed, hosts["h2"].closed) == (1, 1)
