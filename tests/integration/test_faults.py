"""Faults a classroom meets, on real lab hosts: a package manager lock held by
another process, sshd gone, the repository down, /tmp full, Ctrl-C mid-task. Each
fails clearly, names the host, and a rerun after the fault converges."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.helpers import PROVISION, REPO, provision
from tests.lab import faults
from tests.lab.api import Host, Lab

pytestmark = pytest.mark.lab

INSTALL = """\
- hosts: all
  become: true
  tasks:
    - name: Install lab-hello
      package: {name: lab-hello, state: present, lock_timeout: 2}
"""


def book(tmp_path: Path) -> Path:
    path = tmp_path / "install.yml"
    path.write_text(INSTALL)
    return path


def hello_installed(lab: Lab, host: Host) -> bool:
    return lab.ssh(host, "rpm -q lab-hello").returncode == 0


def test_held_dnf_lock_fails_naming_the_holder_then_rerun_converges(
    tmp_path: Path, lab: Lab, fresh_host: Host
) -> None:
    args = ("apply", "-i", lab.inventory_path, book(tmp_path), "--limit", fresh_host.name)
    with faults.dnf_lock_held(lab, fresh_host) as pid:
        run = provision(*args)
    assert run.code == 2, run.output
    assert f"lock still held after 2s by sleep (pid {pid}: /usr/bin/dnf infinity)" in run.output
    assert not hello_installed(lab, fresh_host)
    again = provision(*args)
    assert again.code == 0, again.output
    assert hello_installed(lab, fresh_host)


def test_stopped_sshd_is_unreachable_with_the_reason(
    tmp_path: Path, lab: Lab, fresh_host: Host
) -> None:
    args = ("apply", "-i", lab.inventory_path, book(tmp_path), "--limit", fresh_host.name)
    with faults.sshd_stopped(lab, fresh_host):
        run = provision(*args, "-o", "json")
    assert run.code == 4, run.output
    assert run.doc["hosts"][fresh_host.name]["unreachable"] is True
    assert "refused" in run.stderr and fresh_host.name in run.output
    assert provision(*args).code == 0


def test_unreachable_repository_fails_the_task_with_dnfs_reason(
    tmp_path: Path, lab: Lab, fresh_host: Host
) -> None:
    args = ("apply", "-i", lab.inventory_path, book(tmp_path), "--limit", fresh_host.name)
    with faults.repo_unreachable(lab):
        run = provision(*args)
    assert run.code == 2, run.output
    assert "Failed to download metadata for repo 'base'" in run.output
    assert not hello_installed(lab, fresh_host)
    assert provision(*args).code == 0


def test_full_tmp_fails_the_upload_and_leaves_the_target_alone(
    tmp_path: Path, lab: Lab, fresh_host: Host
) -> None:
    path = tmp_path / "motd.yml"
    path.write_text(
        "- hosts: all\n  become: true\n  tasks:\n"
        "    - name: Write the motd\n"
        '      copy: {content: "Welcome to the Docker class\\n", dest: /etc/motd}\n'
    )
    args = ("apply", "-i", lab.inventory_path, path, "--limit", fresh_host.name)
    before = lab.ssh(fresh_host, "sha256sum /etc/motd").stdout
    with faults.tmp_full(lab, fresh_host):
        run = provision(*args, "-o", "json")
        leftovers = lab.ssh(fresh_host, "ls -A /tmp").stdout.split()
    assert run.code == 2, run.output
    [result] = run.doc["results"]
    assert result["status"] == "failed"
    assert "bytes were written (is /tmp full?)" in result["msg"]
    assert run.doc["hosts"][fresh_host.name]["unreachable"] is False
    # paramiko once wrote an empty upload without a word, and the copy installed it
    assert lab.ssh(fresh_host, "sha256sum /etc/motd").stdout == before
    assert leftovers == [".lab-fault-fill"]
    again = provision(*args)
    assert again.code == 0, again.output
    assert lab.ssh(fresh_host, "cat /etc/motd").stdout == "Welcome to the Docker class\n"


LONG_STEP = """\
- hosts: all
  become: true
  tasks:
    - name: Mark the start
      copy: {content: "started\\n", dest: /root/started}
    - name: Long step
      shell: "sleep {{ pause | default(0) }} && touch /root/long.done"
      args: {creates: /root/long.done}
    - name: After
      copy: {content: "after\\n", dest: /root/after}
"""


def test_ctrl_c_over_ssh_names_the_running_task_and_a_rerun_converges(
    tmp_path: Path, lab: Lab, fresh_host: Host
) -> None:
    path = tmp_path / "long.yml"
    path.write_text(LONG_STEP)
    args = [str(PROVISION), "apply", "-i", str(lab.inventory_path), str(path)]
    args += ["--limit", fresh_host.name, "-v"]
    proc = subprocess.Popen(
        [*args, "-e", "pause=3601"],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:  # -v announces each task as it starts
        seen.append(line)
        if f"{fresh_host.name}: Long step" in line:
            break
    for _ in range(100):  # until the sleep runs on the host
        if lab.ssh(fresh_host, "pgrep -fx 'sleep 3601'").returncode == 0:
            break
        time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError("the long step never started:\n" + "".join(seen))
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=30)
    text = "".join(seen) + rest
    assert proc.returncode == 130, text
    assert "INTERRUPTED" in text
    assert f"{fresh_host.name}" in text and "Long step: was running and may be half-applied" in text
    assert "Mark the start: was running" not in text
    assert "A command on a remote host may still run to its end" in text
    # The remote command outlives the controller, as the report warns; the next task never ran.
    assert lab.ssh(fresh_host, "pgrep -fx 'sleep 3601'").returncode == 0
    assert lab.ssh(fresh_host, "test -e /root/after").returncode == 1
    lab.ssh(fresh_host, "pkill -fx 'sleep 3601'")
    again = provision(
        "apply", "-i", lab.inventory_path, path, "--limit", fresh_host.name, "-o", "json"
    )
    assert again.code == 0, again.output
    assert [(r["task"], r["status"]) for r in again.doc["results"]] == [
        ("Mark the start", "ok"),
        ("Long step", "changed"),
        ("After", "changed"),
    ]
