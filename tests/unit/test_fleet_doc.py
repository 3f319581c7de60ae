"""docs/fleet.md's Kubernetes Jobs, GitHub Actions workflow and shell loops, as pasted.

Their N agree everywhere (the shards, the matrix, the `--shard K/N`, the reports the
merge lists), the fields they rely on are there, and their shell runs: with a stand-in
`provision` on PATH, each shard's script passes its own `--shard K/N` and writes its
own report.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.unit.run_cli import ROOT

DOC = (ROOT / "docs" / "fleet.md").read_text()
BLOCKS = re.findall(r"^```(\w+)\n(.*?)^```", DOC, flags=re.S | re.M)
YAML: list[Any] = [yaml.safe_load(text) for lang, text in BLOCKS if lang == "yaml"]
SHELL = [text for lang, text in BLOCKS if lang == "sh"]
N = 4

# A stand-in: prints its arguments as the report and exits with $CODE (default 0).
FAKE = '#!/bin/sh\nprintf "%s\\n" "$*"\nexit "${CODE:-0}"\n'


def fake_provision(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "provision"
    fake.write_text(FAKE)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def k8s(kind: str, name: str) -> Any:
    [found] = [d for d in YAML if d.get("kind") == kind and d["metadata"]["name"] == name]
    return found


def script_of(job: Any) -> str:
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"][:2] == ["sh", "-c"]
    text: str = container["command"][2]
    return text


def test_the_indexed_job_runs_one_shard_per_index() -> None:
    job = k8s("Job", "provision-apply")
    spec = job["spec"]
    assert job["apiVersion"] == "batch/v1"
    assert spec["completionMode"] == "Indexed" and spec["completions"] == N
    assert 1 <= spec["parallelism"] <= N
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    volumes = {v["name"]: v for v in pod["volumes"]}
    [container] = pod["containers"]
    assert {m["name"] for m in container["volumeMounts"]} == set(volumes)
    claim = k8s("PersistentVolumeClaim", "provision-reports")
    assert "ReadWriteMany" in claim["spec"]["accessModes"]
    assert volumes["reports"]["persistentVolumeClaim"]["claimName"] == "provision-reports"
    assert volumes["ssh"]["secret"]["defaultMode"] == 0o400  # YAML 1.1 octal, as kubectl reads
    assert f'--shard "$K/{N}"' in script_of(job)


def test_the_indexed_jobs_script_writes_each_shards_report(tmp_path: Path) -> None:
    env = fake_provision(tmp_path)
    script = script_of(k8s("Job", "provision-apply")).replace("/reports", str(tmp_path))
    for index in range(N):
        for code, pod_exit in ((0, 0), (2, 0), (6, 0), (1, 1), (130, 130)):
            done = subprocess.run(
                ["sh", "-c", script],
                env={**env, "JOB_COMPLETION_INDEX": str(index), "CODE": str(code)},
                capture_output=True,
                text=True,
            )
            assert done.returncode == pod_exit, done.stderr
            report = (tmp_path / f"shard-{index + 1}.json").read_text()
            assert f"--shard {index + 1}/{N} -o json" in report


def test_the_merge_job_lists_every_shards_report() -> None:
    job = k8s("Job", "provision-merge")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    script = script_of(job)
    assert "provision report merge" in script
    assert re.findall(r"/reports/shard-(\d+)\.json", script) == [str(k) for k in range(1, N + 1)]


def workflow() -> Any:
    [found] = [d for d in YAML if "jobs" in d]
    return found


def test_the_workflow_matrix_has_one_job_per_shard() -> None:
    jobs = workflow()["jobs"]
    strategy = jobs["apply"]["strategy"]
    shards = strategy["matrix"]["shard"]
    assert shards == list(range(1, N + 1)) and len(shards) <= 256  # GitHub's matrix cap
    assert strategy["fail-fast"] is False
    steps = jobs["apply"]["steps"]
    [apply] = [s for s in steps if "provision apply" in s.get("run", "")]
    assert (
        f"--shard ${{{{ matrix.shard }}}}/{N} -o json > report-${{{{ matrix.shard }}}}.json"
        in (apply["run"])
    )
    [upload] = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["with"]["name"] == "report-${{ matrix.shard }}"
    assert upload["if"] == "${{ !cancelled() }}"


def test_the_workflow_merges_every_shards_report() -> None:
    merge = workflow()["jobs"]["merge"]
    assert merge["needs"] == "apply" and merge["if"] == "${{ !cancelled() }}"
    [download] = [s for s in merge["steps"] if "download-artifact" in s.get("uses", "")]
    assert download["with"] == {"pattern": "report-*", "merge-multiple": True}
    [run] = [s["run"] for s in merge["steps"] if "provision report merge" in s.get("run", "")]
    assert re.findall(r"report-(\d+)\.json", run) == [str(k) for k in range(1, N + 1)]


def test_the_xargs_slices_run_and_the_merge_lists_them(tmp_path: Path) -> None:
    [lines] = [s for s in SHELL if "xargs" in s]
    slices, merge = lines.strip().splitlines()
    env = fake_provision(tmp_path)
    subprocess.run(["sh", "-c", slices], env=env, cwd=tmp_path, check=True)
    for k in range(1, N + 1):
        assert (
            (tmp_path / f"shard-{k}.json")
            .read_text()
            .startswith(f"apply -i hosts.yml site.yml --shard {k}/{N} -o json")
        )
    assert re.findall(r"shard-(\d+)\.json", merge) == [str(k) for k in range(1, N + 1)]


def test_the_ssh_loop_runs_every_slice_then_the_merge(tmp_path: Path) -> None:
    [loop] = [s for s in SHELL if 'ssh "ctl$K"' in s]
    env = fake_provision(tmp_path)
    ssh = tmp_path / "bin" / "ssh"  # a stand-in: runs the command here, in ./site
    ssh.write_text('#!/bin/sh\nshift\nexec sh -c "$1"\n')
    ssh.chmod(ssh.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "site").mkdir()
    done = subprocess.run(
        ["sh", "-c", loop], env=env, cwd=tmp_path, capture_output=True, text=True, check=True
    )
    for k in range(1, N + 1):
        assert (
            (tmp_path / f"shard-{k}.json")
            .read_text()
            .startswith(f"apply -i hosts.yml site.yml --shard {k}/{N} -o json")
        )
    reports = " ".join(f"shard-{k}.json" for k in range(1, N + 1))
    assert done.stdout == f"report merge {reports}\n"
