"""The service-account pattern: a group, then a user of the same name, then a
directory it owns. useradd refuses to make a group that exists ("group svcapp
exists - if you want to add this user to that group, use -g"): the user module
must name it, and the dry run must say what the apply then does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import provision, snapshot, statuses
from tests.lab.api import Host, Lab

pytestmark = pytest.mark.lab

PLAY = """\
- hosts: all
  become: true
  tasks:
    - name: The group
      group: {name: svcapp, system: true}
    - name: The user, in its own group
      user: {name: svcapp, system: true, create_home: false, shell: /sbin/nologin}
    - name: A user whose primary group is named
      user: {name: svcops, group: svcapp, create_home: false}
    - name: Its directory
      file: {path: /srv/svcapp, state: directory, owner: svcapp, group: svcapp, mode: "0750"}
"""


@pytest.fixture(params=["el7", "el9"])
def fresh_host(request: pytest.FixtureRequest, lab: Lab) -> Iterator[Host]:
    """lab01 fresh as an EL7 and as an EL9 host; the default look again afterwards."""
    host = lab.hosts[0]
    lab.reset(host, profile=request.param)
    yield host
    lab.reset(host)


def test_group_then_user_of_the_same_name(tmp_path: Path, lab: Lab, fresh_host: Host) -> None:
    book = tmp_path / "svc.yml"
    book.write_text(PLAY)
    args = ("-i", lab.inventory_path, book, "--limit", fresh_host.name, "-o", "json")
    before = snapshot(lab, fresh_host)
    dry = provision("apply", *args, "--check")
    assert dry.code == 0, dry.output
    assert snapshot(lab, fresh_host) == before, "the dry run changed the host"
    apply = provision("apply", *args)
    assert apply.code == 0, apply.output
    assert statuses(dry.doc, "changed") == statuses(apply.doc, "changed")
    assert len(statuses(apply.doc, "changed")) == 4
    rerun = provision("apply", *args)
    assert rerun.code == 0, rerun.output
    assert statuses(rerun.doc, "changed") == set()

    def sh(command: str) -> str:
        proc = lab.ssh(fresh_host, command)
        assert proc.returncode == 0, (command, proc.stderr)
        return proc.stdout

    assert sh("id -gn svcapp; id -gn svcops") == "svcapp\nsvcapp\n"
    assert sh("stat -c '%U %G %a' /srv/svcapp") == "svcapp svcapp 750\n"
