"""A long command's output streamed over real SSH to the run's events (what the live
view shows under a host): the command's own lines as they come, never the host lock's
answer before it nor the probes read after it in the same exchange."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.connect import Connector
from provisioner.events import Event, TaskOutput
from provisioner.inventory import load_inventory
from provisioner.playbook.load import load_playbook
from provisioner.runner import Runner, RunOptions
from tests.lab.api import Host, Lab

pytestmark = pytest.mark.lab

GO = "/tmp/provision-live-go"
BOOK = f"""
- hosts: HOST
  become: true
  gather_facts: false
  tasks:
    - name: long one
      shell: "echo started; while [ ! -e {GO} ]; do sleep 0.1; done; echo finished"
    - name: a file after it
      copy: {{content: "x\\n", dest: /tmp/provision-live-flag}}
"""


def test_a_long_commands_lines_come_as_it_runs(lab: Lab, fresh_host: Host, tmp_path: Path) -> None:
    """The command waits for a file the test makes only once the event with its first
    line arrived: it ends only if that line came while it ran."""
    book = tmp_path / "book.yml"
    book.write_text(BOOK.replace("HOST", fresh_host.name))
    events: list[Event] = []

    def listen(event: Event) -> None:
        events.append(event)
        if isinstance(event, TaskOutput) and event.line == "started":
            lab.ssh(fresh_host, f"touch {GO}")

    runner = Runner(
        load_playbook(book),
        load_inventory(Path(lab.inventory_path)),
        Connector(accept_new_host_keys=False, connect_timeout=10),
        RunOptions(lock=True, stream=True, limit=fresh_host.name),
        listen,
    )
    summary = runner.run()
    assert summary.exit_code == 0, summary.results
    told = [(e.task, e.line) for e in events if isinstance(e, TaskOutput)]
    assert told[0] == ("long one", "started")
    assert set(told) <= {("long one", "started"), ("long one", "finished")}, told
