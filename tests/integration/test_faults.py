"""Faults a classroom meets, on real lab hosts: a package manager lock held by
another process, sshd gone, the repository down, /tmp full, Ctrl-C mid-task; and in
the middle of a run: the link cut during an install and an upload, sshd killed, a
reboot between tasks, / full, a slow host, a mirror that refuses or does not
resolve, two runs at once, SIGTERM. Each fails clearly, names the host and the task,
leaves no file half-written, the other hosts converge, and a rerun converges."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.integration.helpers import PROVISION, REPO, provision, reset_all, statuses
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


# --- faults in the middle of a run ----------------------------------------------------------


STARTED: list[Running] = []


@pytest.fixture(autouse=True)
def end_background_runs() -> Iterator[None]:
    """A failed test must not leave a background run behind."""
    yield
    while STARTED:
        run = STARTED.pop()
        if run.proc.poll() is None:
            run.proc.kill()
        run.finish()


class Running:
    """`provision` in the background, its output (stdout and stderr) read as it comes."""

    def __init__(self, *args: str | Path) -> None:
        self.proc = subprocess.Popen(
            [str(PROVISION), *map(str, args)],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        STARTED.append(self)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._seen:
                self.lines.append(line)
                self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, guard: float = 120) -> None:
        """Until a line holds `text` (`guard` only keeps a broken run from hanging the test)."""
        deadline = time.monotonic() + guard
        with self._seen:
            while not any(text in line for line in self.lines):
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"never saw {text!r}:\n{self.output}")
                self._seen.wait(min(left, 1))

    def finish(self, guard: float = 300) -> int:
        try:
            code = self.proc.wait(guard)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"the run did not end:\n{self.output}") from None
        self._reader.join(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code


def until(check: Callable[[], bool], what: str, guard: float = 60) -> None:
    """Wait for a state of the host (`guard` only keeps the test from hanging)."""
    deadline = time.monotonic() + guard
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        time.sleep(0.2)


def inside(lab: Lab, host: Host, script: str) -> str:
    """What a script prints inside the host, run from outside (works with no sshd)."""
    return lab.nsenter(host, ["sh", "-c", script]).stdout


def leftovers(lab: Lab, host: Host, *dirs: str) -> list[str]:
    """Half-written files of ours: temp files of an install, uploads in /tmp."""
    names = " ".join(f"{d}/.provision.* /tmp/.provisioner-*" for d in dirs)
    return inside(lab, host, f"ls -d {names} 2>/dev/null").split()


@pytest.fixture
def two_hosts(lab: Lab) -> list[Host]:
    """lab01 (the one the fault hits) and lab02, both fresh."""
    pair = lab.hosts[:2]
    reset_all(lab, pair)
    return pair


MIRROR_INSTALL = """\
- hosts: all
  become: true
  tasks:
    - name: Point base at the mirror
      yum_repository:
        name: base
        file: CentOS-Base
        description: "CentOS-$releasever - Base"
        baseurl: "{{ mirror }}/base/"
        gpgcheck: true
        gpgkey: http://10.66.0.1:8080/base/RPM-GPG-KEY-lab
    - name: Install lab-hello
      package: {name: lab-hello}
"""


def test_link_cut_during_a_package_install_is_unreachable_then_a_rerun_converges(
    tmp_path: Path, lab: Lab, two_hosts: list[Host]
) -> None:
    victim, other = two_hosts
    path = tmp_path / "install.yml"
    path.write_text(MIRROR_INSTALL)
    args = ("apply", "-i", lab.inventory_path, path, "--limit", f"{victim.name},{other.name}")
    with faults.slow_mirror(lab, delay=15) as mirror:  # each rpm download takes 15 s
        run = Running(*args, "-e", f"mirror={mirror}", "--timeout", "2", "-v")
        installing = "pgrep -f '[d]nf -y install lab-hello'"  # [d]: not this pgrep itself
        until(lambda: lab.nsenter(victim, ["sh", "-c", installing]).returncode == 0, "dnf runs")
        with faults.link_down(lab, victim):
            code = run.finish()
    text = run.output
    assert code == 4, text
    assert f"unreachable  {victim.name}" in text and "Install lab-hello" in text
    assert "was lost while a command ran" in text and "may or may not have completed" in text
    assert f"changed      {other.name}          Install lab-hello" in text
    assert hello_installed(lab, other)
    # dnf on the cut host gives up or finishes by itself; rpm's database is whole either way.
    until(lambda: inside(lab, victim, "pgrep -x dnf || echo none").strip() == "none", "dnf ends")
    assert lab.nsenter(victim, ["rpm", "-qa"]).returncode == 0
    assert leftovers(lab, victim, "/etc/yum.repos.d") == []
    again = provision(*args, "-e", f"mirror={lab.repo_url}", "-o", "json")
    assert again.code == 0, again.output
    assert hello_installed(lab, victim)
    assert lab.ssh(victim, "rpm -V lab-hello").returncode == 0


def test_link_cut_during_an_upload_leaves_the_target_alone_then_a_rerun_converges(
    tmp_path: Path, lab: Lab, two_hosts: list[Host]
) -> None:
    victim, other = two_hosts
    blob = tmp_path / "class-image.bin"
    blob.write_bytes(os.urandom(600_000))
    path = tmp_path / "upload.yml"
    path.write_text(
        "- hosts: all\n  become: true\n  tasks:\n"
        f"    - name: Upload the class image\n      copy: {{src: {blob}, dest: /srv/image.bin}}\n"
    )
    args = ("apply", "-i", lab.inventory_path, path, "--limit", f"{victim.name},{other.name}")
    with faults.slow_link(lab, victim, "256kbit"):  # about 20 s for the upload
        run = Running(*args, "--timeout", "2")
        growing = "find /tmp -maxdepth 1 -name '.provisioner-*' -size +16k | grep -q ."
        until(lambda: lab.nsenter(victim, ["sh", "-c", growing]).returncode == 0, "upload runs")
        with faults.link_down(lab, victim):
            code = run.finish()
    text = run.output
    assert code == 4, text
    assert f"unreachable  {victim.name}" in text and "Upload the class image" in text
    assert "was lost while writing /tmp/.provisioner-" in text
    assert lab.ssh(other, "sha256sum /srv/image.bin").stdout.split()[0] == sha256(blob)
    # The target was never touched: only the private upload in /tmp is half-written.
    assert inside(lab, victim, "ls /srv") == ""
    [partial] = leftovers(lab, victim, "/srv")
    assert partial.startswith("/tmp/.provisioner-")
    again = provision(*args, "-o", "json")
    assert again.code == 0, again.output
    assert "removed the 1 upload(s) it left in /tmp" in again.stderr
    assert lab.ssh(victim, "sha256sum /srv/image.bin").stdout.split()[0] == sha256(blob)
    assert leftovers(lab, victim, "/srv") == []


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sshd_killed_during_a_task_is_unreachable_and_the_rerun_waits_for_the_orphan(
    tmp_path: Path, lab: Lab, two_hosts: list[Host]
) -> None:
    victim, other = two_hosts
    path = tmp_path / "long.yml"
    path.write_text(LONG_STEP)
    args = ("apply", "-i", lab.inventory_path, path, "--limit", f"{victim.name},{other.name}")
    orphan = "pgrep -fx 'sleep 20'"
    run = Running(
        *args, "-e", f"pause={{{{ 20 if inventory_hostname == '{victim.name}' else 0 }}}}"
    )
    until(lambda: lab.ssh(victim, orphan).returncode == 0, "the long step runs")
    with faults.sshd_killed(lab, victim):
        code = run.finish()
        text = run.output
        assert code == 4, text
        assert f"unreachable  {victim.name}" in text and "Long step" in text
        assert "was lost while a command ran" in text
        assert f"changed      {other.name}          After" in text
        # The next task never ran on the host whose connection died.
        assert lab.nsenter(victim, ["test", "-e", "/root/after"]).returncode == 1
    # The killed connection's command still runs there: the rerun waits for it, then goes on.
    assert lab.nsenter(victim, ["sh", "-c", orphan]).returncode == 0
    again = provision(*args, "-o", "json")
    assert again.code == 0, again.output
    assert f"note         {victim.name}          waiting: run " in again.stderr
    assert "took over a stale lock" in again.stderr
    assert lab.ssh(victim, "cat /root/long.done /root/after").stdout == "after\n"


TWO_PLAYS = """\
- hosts: all
  become: true
  tasks:
    - name: Mark the start
      copy: {content: "started\\n", dest: /root/started}
    - name: Hold the play
      shell: "until [ -e /root/go ]; do sleep 0.2; done"
      when: inventory_hostname == holder
- hosts: all
  become: true
  tasks:
    - name: After the reboot
      copy: {content: "after\\n", dest: /root/after}
"""


def test_host_rebooted_between_two_tasks_reconnects_and_converges(
    tmp_path: Path, lab: Lab, two_hosts: list[Host]
) -> None:
    victim, other = two_hosts
    path = tmp_path / "two-plays.yml"
    path.write_text(TWO_PLAYS)
    args = ("apply", "-i", lab.inventory_path, path, "--limit", f"{victim.name},{other.name}")
    # lab02 holds the first play open; lab01, done with it, waits for the second.
    run = Running(*args, "-e", f"holder={other.name}", "-o", "json")
    until(lambda: lab.ssh(other, "pgrep -f '[u]ntil . -e /root/go'").returncode == 0, "hold")
    assert lab.ssh(victim, "cat /root/started").stdout == "started\n"
    faults.reboot(lab, victim)
    # /run went with the reboot, and this run's lock in it: it takes it again to go on.
    assert lab.nsenter(victim, ["test", "-e", "/run/provisioner.lock"]).returncode == 1
    lab.ssh(other, "touch /root/go")
    code = run.finish()
    assert code == 0, run.output
    doc = json.loads(run.output[run.output.index("{") :])
    assert {(r["host"], r["task"], r["status"]) for r in doc["results"]} >= {
        (victim.name, "After the reboot", "changed"),
        (other.name, "After the reboot", "changed"),
    }
    assert lab.ssh(victim, "cat /root/started /root/after").stdout == "started\nafter\n"
    assert leftovers(lab, victim, "/root") == []
    again = provision(*args, "-e", f"holder={other.name}", "-o", "json")
    assert again.code == 0 and statuses(again.doc, "changed") == {
        (other.name, "Hold the play", "")
    }, again.output


def test_full_root_keeps_the_old_content_and_the_other_hosts_converge(
    tmp_path: Path, lab: Lab, two_hosts: list[Host]
) -> None:
    victim, other = two_hosts
    path = tmp_path / "motd.yml"
    path.write_text(
        "- hosts: all\n  become: true\n  tasks:\n"
        "    - name: Write the motd\n"
        '      copy: {content: "Welcome to the Docker class\\n", dest: /etc/motd}\n'
    )
    args = ("apply", "-i", lab.inventory_path, path, "--limit", f"{victim.name},{other.name}")
    before = lab.ssh(victim, "cat /etc/motd").stdout
    with faults.dir_full(lab, victim, "/etc"):  # the upload to /tmp works, the install not
        run = provision(*args, "-o", "json")
        left = leftovers(lab, victim, "/etc")
        kept = lab.ssh(victim, "cat /etc/motd").stdout
    assert run.code == 2, run.output
    failed = [r for r in run.doc["results"] if r["status"] == "failed"]
    assert [(r["host"], r["task"]) for r in failed] == [(victim.name, "Write the motd")]
    assert "No space left on device" in failed[0]["msg"]
    assert kept == before and left == []
    assert lab.ssh(other, "cat /etc/motd").stdout == "Welcome to the Docker class\n"
    again = provision(*args)
    assert again.code == 0, again.output
    assert lab.ssh(victim, "cat /etc/motd").stdout == "Welcome to the Docker class\n"


SLOW = """\
- hosts: all
  become: true
  tasks:
    - name: Write the motd
      copy: {content: "Welcome to the Docker class\\n", dest: /etc/motd}
      timeout: 60
    - name: Wait for the network
      command: sleep 600
      timeout: 3
      when: hang | default(false) | bool
    - name: After
      copy: {content: "after\\n", dest: /root/after}
"""


def test_slow_host_timeouts_behave_as_documented(
    tmp_path: Path, lab: Lab, fresh_host: Host
) -> None:
    path = tmp_path / "slow.yml"
    path.write_text(SLOW)
    with faults.slow_host(lab, fresh_host, delay=0.25, jitter=0.1) as relay:
        inventory = relay.inventory(tmp_path / "slow.yml.inv")
        args = ("apply", "-i", inventory, path)
        # --timeout: no SSH greeting within 0.15 s from a host 0.25 s or more away
        short = provision(*args, "--timeout", "0.15")
        assert short.code == 4, short.output
        assert f"unreachable  {fresh_host.name}" in short.output
        assert "no SSH greeting within 0.15s" in short.output
        # a hung command: reported as timed out, naming the task; stopped on the host
        hung = provision(*args, "-e", "hang=true", "-o", "json")
        assert hung.code == 2, hung.output
        [failed] = [r for r in hung.doc["results"] if r["status"] == "failed"]
        assert failed["task"] == "Wait for the network"
        assert "timed out" in failed["msg"] and "within 3s and was stopped there" in failed["msg"]
        assert lab.ssh(fresh_host, "pgrep -fx 'sleep 600'").returncode == 1
        assert lab.ssh(fresh_host, "test -e /root/after").returncode == 1
        # the default timeout is enough for a slow host; the rerun converges
        again = provision(*args, "-o", "json")
        assert again.code == 0, again.output
        assert statuses(again.doc, "changed") == {(fresh_host.name, "After", "")}


@pytest.mark.parametrize("fault", ["403", "404", "dns"])
def test_refusing_or_unknown_mirror_is_reported_with_the_url_and_the_cause(
    tmp_path: Path, lab: Lab, two_hosts: list[Host], fault: str
) -> None:
    victim, other = two_hosts
    path = tmp_path / "install.yml"
    path.write_text(
        MIRROR_INSTALL.replace(
            "  tasks:\n",
            '  vars:\n    mirror: "{{ broken if inventory_hostname == victim else lab_repo }}"\n'
            "  tasks:\n",
        )
    )
    hosts = f"{victim.name},{other.name}"
    base: list[str | Path] = [
        "apply",
        "-i",
        lab.inventory_path,
        path,
        "--limit",
        hosts,
        "-o",
        "json",
    ]
    with ExitStack() as stack:
        if fault == "dns":
            broken, cause = "http://vault.lab.invalid", "Could not resolve host: vault.lab.invalid"
        else:
            broken = stack.enter_context(faults.refusing_mirror(lab, int(fault)))
            cause = f"Status code: {fault} for {broken}/base/repodata/repomd.xml"
        given = [f"broken={broken}", f"victim={victim.name}", f"lab_repo={lab.repo_url}"]
        args = [*base, *(word for var in given for word in ("-e", var))]
        # The dry run cannot read the mirror before the repository points at it: it says so.
        dry = provision(*args, "--check")
        assert dry.code == 0, dry.output
        [note] = [
            line
            for r in dry.doc["results"]
            if (r["host"], r["task"]) == (victim.name, "Install lab-hello")
            for line in r["changes"]
            if line.startswith("not checked: judged by the repositories")
        ]
        assert "the repositories there now; 'Point base at the mirror'" in note
        run = provision(*args)
        assert run.code == 2, run.output
        [failed] = [r for r in run.doc["results"] if r["status"] == "failed"]
        assert (failed["host"], failed["task"]) == (victim.name, "Install lab-hello")
        assert cause in failed["msg"] and "repo 'base'" in failed["msg"]
        assert hello_installed(lab, other) and not hello_installed(lab, victim)
        # Now the mirror is in place, a dry run names what it could not check, and why.
        dry = provision(*args, "--check")
        assert dry.code == 2, dry.output
        [failed] = [r for r in dry.doc["results"] if r["status"] == "failed"]
        assert failed["task"] == "Install lab-hello" and cause in failed["msg"]
    fixed = [f"broken={lab.repo_url}", f"victim={victim.name}", f"lab_repo={lab.repo_url}"]
    again = provision(*base, *(word for var in fixed for word in ("-e", var)))
    assert again.code == 0, again.output
    assert hello_installed(lab, victim)


LOGGED = """\
- hosts: all
  become: true
  tasks:
    - name: Log the start
      shell: "echo {{ tag }} start >> /root/runs.log"
    - name: Work a while
      shell: "sleep {{ pause }}"
    - name: Log the end
      shell: "echo {{ tag }} end >> /root/runs.log"
"""


def test_two_applies_at_once_never_interleave(tmp_path: Path, lab: Lab, fresh_host: Host) -> None:
    path = tmp_path / "logged.yml"
    path.write_text(LOGGED)
    args = ("apply", "-i", lab.inventory_path, path, "--limit", fresh_host.name)
    first = Running(*args, "-e", "tag=first", "-e", "pause=6")
    until(lambda: lab.ssh(fresh_host, "pgrep -fx 'sleep 6'").returncode == 0, "first works")
    refused = provision(*args, "-e", "tag=refused", "-e", "pause=0", "--no-wait", "-o", "json")
    assert refused.code == 2, refused.output
    [result] = refused.doc["results"]
    assert (result["host"], result["task"], result["status"]) == (
        fresh_host.name,
        "Host lock",
        "failed",
    )
    assert (
        "another run holds this host" in result["msg"] and "/run/provisioner.lock" in result["msg"]
    )
    dry = Running(*args, "-e", "tag=dry", "-e", "pause=0", "--check")
    second = Running(*args, "-e", "tag=second", "-e", "pause=0")
    for waiting in (dry, second):
        waiting.wait_for("waiting: run ")
    assert first.finish() == 0, first.output
    assert second.finish() == 0, second.output
    assert dry.finish() == 0, dry.output
    log = lab.ssh(fresh_host, "cat /root/runs.log").stdout.split("\n")
    assert log == ["first start", "first end", "second start", "second end", ""]
    # released at the end: nothing left on the host but the name of the last run to take it
    assert inside(lab, fresh_host, "ls -A /run | grep provisioner || true").split() == [
        "provisioner.lock.last"
    ]


def test_a_killed_controllers_lock_goes_stale_once_its_command_ends(
    tmp_path: Path, lab: Lab, fresh_host: Host
) -> None:
    path = tmp_path / "logged.yml"
    path.write_text(LOGGED)
    args = ("apply", "-i", lab.inventory_path, path, "--limit", fresh_host.name)
    first = Running(*args, "-e", "tag=first", "-e", "pause=5")
    until(lambda: lab.ssh(fresh_host, "pgrep -fx 'sleep 5'").returncode == 0, "first works")
    first.proc.kill()  # no goodbye: its connection dies, its `sleep 5` runs on
    first.finish()
    run = provision(*args, "-e", "tag=next", "-e", "pause=0")
    assert run.code == 0, run.output
    assert "waiting: run " in run.output and "took over a stale lock: run " in run.output
    log = lab.ssh(fresh_host, "cat /root/runs.log").stdout.split("\n")
    assert log == ["first start", "next start", "next end", ""]


def test_sigterm_stops_like_ctrl_c_with_exit_143_and_a_rerun_converges(
    tmp_path: Path, lab: Lab, fresh_host: Host
) -> None:
    path = tmp_path / "long.yml"
    path.write_text(LONG_STEP)
    args = ("apply", "-i", lab.inventory_path, path, "--limit", fresh_host.name)
    run = Running(*args, "-e", "pause=3601", "-v")
    run.wait_for(f"{fresh_host.name}: Long step")
    until(lambda: lab.ssh(fresh_host, "pgrep -fx 'sleep 3601'").returncode == 0, "it sleeps")
    run.proc.send_signal(signal.SIGTERM)
    assert run.finish(guard=30) == 143, run.output
    text = run.output
    assert "TERMINATED (SIGTERM)" in text
    assert "Long step: was running and may be half-applied" in text
    assert "Mark the start: was running" not in text
    lab.ssh(fresh_host, "pkill -fx 'sleep 3601'")
    again = provision(*args, "-o", "json")
    assert again.code == 0, again.output
    assert statuses(again.doc, "changed") == {
        (fresh_host.name, "Long step", ""),
        (fresh_host.name, "After", ""),
    }
