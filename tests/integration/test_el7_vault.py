"""playbooks/el7-vault.yml on its own: CentOS 7 as it is since its end of life (the lab's
"el7" profile) gets its repositories back, and the tutorial's first command works again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.helpers import REPO, provision, statuses
from tests.lab.api import Host, Lab

pytestmark = pytest.mark.lab

VAULT = REPO / "playbooks" / "el7-vault.yml"
TASK = "Point the CentOS 7 repositories at the vault"
REPOS = {"base", "updates", "extras", "centosplus"}


@pytest.fixture
def el7_host(lab: Lab) -> Iterator[Host]:
    host = lab.hosts[0]
    lab.reset(host, profile="el7")
    yield host
    lab.reset(host)


def test_vault_play_repoints_centos7_and_a_rerun_changes_nothing(lab: Lab, el7_host: Host) -> None:
    args = ("apply", "-i", lab.inventory_path, VAULT, "--limit", el7_host.name, "-o", "json")
    stock = lab.ssh(el7_host, "cat /etc/yum.repos.d/CentOS-Base.repo").stdout
    assert "mirrorlist=http://mirrorlist.centos.org/" in stock

    dry = provision(*args, "--check")
    assert dry.code == 0, dry.output
    assert lab.ssh(el7_host, "cat /etc/yum.repos.d/CentOS-Base.repo").stdout == stock
    would = {item for (_, task, item) in statuses(dry.doc, "changed") if task == TASK}
    assert would == REPOS
    diffs = [r["diff"] for r in dry.doc["results"] if r["task"] == TASK]
    assert any(
        "+baseurl=http://10.66.0.1:8080/centos-vault/7.9.2009/extras/$basearch/" in d for d in diffs
    )

    apply = provision(*args)
    assert apply.code == 0, apply.output
    assert statuses(apply.doc, "changed") == statuses(dry.doc, "changed")
    rerun = provision(*args)
    assert rerun.code == 0 and statuses(rerun.doc, "changed") == set(), rerun.output

    # The tutorial's first command, as the student types it.
    first = lab.ssh(el7_host, "sudo yum install -y yum-utils", user=lab.user)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Complete!" in first.stdout


def test_vault_play_leaves_other_releases_alone(lab: Lab) -> None:
    host = lab.hosts[1]
    lab.reset(host, profile="el9")
    try:
        run = provision(
            "apply", "-i", lab.inventory_path, VAULT, "--limit", host.name, "-o", "json"
        )  # fmt: skip
        assert run.code == 0, run.output
        assert statuses(run.doc, "changed") == set()
        assert {item for (_, _, item) in statuses(run.doc, "skipped")} == REPOS
    finally:
        lab.reset(host)
