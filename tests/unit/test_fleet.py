"""A run split into shards, run in parallel processes and merged, is the unsharded run.

Twelve local hosts and one unreachable one, a playbook that writes files per host
(one host fails a task), run once whole and once as 4 shards in 4 processes at the
same time, each shard with `-o json` to its own file, then `provision report merge`:
the same results per host, the same recap, the same exit code, the same files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from tests.unit.run_cli import ENTRY, ENV, provision

HOSTS = [f"h{i:02d}" for i in range(1, 13)]
SHARDS = 4

INVENTORY = (
    "all:\n  children:\n"
    "    web:\n      hosts:\n"
    + "".join(f"        {h}: {{connection: local}}\n" for h in HOSTS[:8])
    + "    db:\n      hosts:\n"
    + "".join(f"        {h}: {{connection: local}}\n" for h in HOSTS[8:])
    # port 1 on loopback: nothing listens, the connection is refused at once
    + "        gone: {ansible_host: 127.0.0.1, ansible_port: 1}\n"
)

PLAYBOOK = """\
- name: files
  hosts: all
  gather_facts: false
  tasks:
    - name: directory
      file: {path: "{{ out }}/{{ inventory_hostname }}", state: directory}
    - name: content
      copy:
        content: "{{ inventory_hostname }}: {{ group_names | join(',') }}\\n"
        dest: "{{ out }}/{{ inventory_hostname }}/a"
      notify: stamp
    - name: marker
      command: touch {{ out }}/{{ inventory_hostname }}/b
      args: {creates: "{{ out }}/{{ inventory_hostname }}/b"}
    - name: fails on one host
      command: "false"
      when: inventory_hostname == 'h07'
    - name: items
      command: touch {{ out }}/{{ inventory_hostname }}/{{ item }}
      loop: [c, d]
  handlers:
    - name: stamp
      copy: {content: "notified\\n", dest: "{{ out }}/{{ inventory_hostname }}/stamp"}

- name: web in batches
  hosts: web
  gather_facts: false
  serial: 3
  tasks:
    - name: web only
      copy: {content: "web\\n", dest: "{{ out }}/{{ inventory_hostname }}/web"}
"""


def apply_command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-c", ENTRY, "apply", "-i", "hosts.yml", "site.yml"] + [
        "-e",
        f"out={out}",
        "-o",
        "json",
        *extra,
    ]


def outcomes(doc: dict[str, Any], out: Path) -> Counter[tuple[Any, ...]]:
    """Per-host results, order aside (hosts run in parallel), the output directory named
    alike in both runs."""

    def same(text: str) -> str:
        return text.replace(str(out), "OUT")

    return Counter(
        (
            r["host"],
            r["play"],
            r["task"],
            r["item"],
            r["status"],
            r["handler"],
            tuple(same(c) for c in r["changes"]),
            same(r["msg"]),
        )
        for r in doc["results"]
    )


def files(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*") if p.is_file()}


def test_four_shards_in_parallel_merged_equal_one_unsharded_run(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text(INVENTORY)
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    whole_out, sharded_out = tmp_path / "whole", tmp_path / "sharded"
    whole = subprocess.run(
        apply_command(whole_out), cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120
    )
    assert whole.returncode == 6, whole.stderr  # h07 failed (2), gone unreachable (4)
    whole_doc = json.loads(whole.stdout)
    retry_file = tmp_path / ".provision" / "last-failed"
    assert retry_file.read_text().split() == ["h07", "gone"]
    retry_file.unlink()

    running = []
    for k in range(1, SHARDS + 1):
        report = (tmp_path / f"shard{k}.json").open("w")
        command = apply_command(sharded_out, "--shard", f"{k}/{SHARDS}")
        proc = subprocess.Popen(
            command, cwd=tmp_path, env=ENV, stdout=report, stderr=subprocess.PIPE, text=True
        )
        running.append((proc, report))
    codes = []
    for proc, report in running:
        _, err = proc.communicate(timeout=120)
        report.close()
        assert proc.returncode in (0, 2, 4, 6), err
        codes.append(proc.returncode)
    assert sorted(codes) != [0] * SHARDS  # the failure and the lost host are in some shard
    # Each shard wrote its failures to the one retry file here, none lost to another's.
    assert sorted(retry_file.read_text().split()) == ["gone", "h07"]

    reports = [f"shard{k}.json" for k in range(1, SHARDS + 1)]
    shard_hosts = [set(json.loads((tmp_path / r).read_text())["hosts"]) for r in reports]
    assert sum(len(h) for h in shard_hosts) == len(HOSTS) + 1  # each host in one shard
    assert set().union(*shard_hosts) == set(whole_doc["hosts"])

    merged = provision("report", "merge", "-o", "json", *reports, cwd=tmp_path)
    assert merged.returncode == whole.returncode, merged.stderr
    doc = json.loads(merged.stdout)
    assert doc["hosts"] == whole_doc["hosts"]  # the recap: the same counts per host
    assert outcomes(doc, sharded_out) == outcomes(whole_doc, whole_out)
    assert doc["check"] is whole_doc["check"] is False
    assert files(sharded_out) == files(whole_out)
    assert files(whole_out)["h03/a"] == "h03: web\n" and "h07/c" not in files(whole_out)

    text = provision("report", "merge", *reports, cwd=tmp_path)
    assert text.returncode == 6
    rows = {ln.split()[0]: ln.split()[1:] for ln in text.stdout.splitlines() if ln.strip()}
    for name, stats in whole_doc["hosts"].items():
        counts = [str(stats[k]) for k in ("ok", "changed", "failed", "skipped", "rescued")]
        assert rows[name][:5] == counts, name
    failures = [ln.split() for ln in text.stdout.splitlines() if ln.strip()]
    failures = [words for words in failures if words[0] in ("failed", "unreachable")]
    assert sorted(words[1] for words in failures) == ["gone", "h07"]  # said, with the recap
