"""reboot: the pure parts. Its probes (the boot id, who runs it, which reboot command the
host has), its plan (always a change, or a failure the host shows), its one command (the
reboot, detached) and what it asks the runner to wait for. The waiting is the runner's
(tests/unit/test_runner_reboot.py); the reboot itself is the lab's (test_every_module)."""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules import lookup
from provisioner.modules.base import Change, Comeback, Failed
from provisioner.modules.reboot import (
    BOOT_ID_COMMAND,
    BootId,
    RebooterProbe,
    RebootModule,
    reboot_script,
)
from tests.unit.modules.host import sh, state_of, syntax_ok

BOOT = "0f5ad7b6-4f64-4a9c-a0be-0c3f3d6c2b11"


@dataclass(frozen=True)
class Case:
    id: str
    args: dict[str, Any]
    rebooter: str  # what the rebooter probe printed
    summary: tuple[str, ...] | None = None  # None: the plan fails
    failure: str = ""  # a regex of the failure's message


CASES = [
    Case(
        "as root with shutdown: reboot, then wait the default 600s",
        {},
        "uid=0\ntool=/usr/sbin/shutdown\n",
        ("reboot (/usr/sbin/shutdown), then wait up to 600s for it to come back",),
    ),
    Case(
        "a host without shutdown (systemd-sysv not installed) reboots with systemctl",
        {"reboot_timeout": 30},
        "uid=0\ntool=/usr/bin/systemctl\n",
        ("reboot (/usr/bin/systemctl), then wait up to 30s for it to come back",),
    ),
    Case(
        "not root: rebooting needs become",
        {},
        "uid=1000\ntool=/usr/sbin/shutdown\n",
        failure=r"needs root and the task runs as uid 1000: give it become: true",
    ),
    Case(
        "no reboot command anywhere",
        {"search_paths": ["/opt/sbin"]},
        "uid=0\n",
        failure=r"no shutdown or systemctl command on the host \(looked in /opt/sbin, then PATH\)",
    ),
    Case(
        "a reboot_command of its own may not need root (it says so itself)",
        {"reboot_command": "sudo /sbin/reboot"},
        "uid=1000\ntool=/usr/bin/sudo\n",
        ("reboot (/usr/bin/sudo), then wait up to 600s for it to come back",),
    ),
    Case(
        "a reboot_command the host does not have",
        {"reboot_command": "/usr/local/sbin/safe-reboot --now"},
        "uid=0\n",
        failure=r"no /usr/local/sbin/safe-reboot command on the host",
    ),
    Case(
        "templated numbers arrive as text",
        {"reboot_timeout": "90", "pre_reboot_delay": "5"},
        "uid=0\ntool=/sbin/shutdown\n",
        ("reboot (/sbin/shutdown), then wait up to 90s for it to come back",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_plan(case: Case) -> None:
    module = RebootModule.from_dict(case.args)
    state = state_of(
        module, {module.boot_id: (BOOT + "\n", 0), module.rebooter: (case.rebooter, 0)}
    )
    plan = module.plan(state)
    if case.summary is None:
        assert isinstance(plan, Failed) and re.search(case.failure, plan.msg), plan
        return
    assert isinstance(plan, Change) and plan.summary == case.summary
    assert plan.payload == BOOT and plan.actions_only  # nothing a probe could see changed
    assert module.fields(state) == {"rebooted": False, "elapsed": 0}
    [op] = module.commands(plan)
    assert syntax_ok(op.script) and op.upload is None


def test_always_a_change_the_same_in_the_dry_run_and_apply() -> None:
    module = RebootModule.from_dict({})
    state = state_of(
        module, {module.boot_id: (BOOT, 0), module.rebooter: ("uid=0\ntool=/sbin/shutdown", 0)}
    )
    assert module.plan(state) == module.plan(state)
    assert isinstance(module.plan(state), Change)


def test_what_it_asks_the_runner_to_wait_for() -> None:
    module = RebootModule.from_dict(
        {
            "reboot_timeout": 300,
            "connect_timeout": 7,
            "post_reboot_delay": 4,
            "test_command": "systemctl is-system-running --wait",
            "boot_time_command": "uptime -s",
        }
    )
    change: Change[str] = Change(("reboot",), BOOT, actions_only=True)
    assert module.comeback(change) == Comeback(
        before=BOOT,
        boot_id=BootId("uptime -s"),
        test="systemctl is-system-running --wait",
        timeout=300,
        connect_timeout=7,
        delay=4,
    )
    defaults = module.from_dict({}).comeback(change)
    assert (defaults.test, defaults.connect_timeout, defaults.delay) == ("whoami", None, 0)
    assert defaults.boot_id == BootId(BOOT_ID_COMMAND)


# -- the probes, run for real here ---------------------------------------------------


def test_the_boot_id_probe_reads_this_machine_boot_id() -> None:
    probe = BootId(BOOT_ID_COMMAND)
    r = sh(probe.command())
    assert re.fullmatch(r"[0-9a-f-]{36}", probe.parse(r.stdout, r.rc))


@pytest.mark.parametrize(
    ("command", "match"),
    [
        ("false", r"boot_time_command 'false' failed \(exit 1\)"),
        ("echo oops >&2; exit 3", r"failed \(exit 3\): oops"),  # its stderr is said
        ("true", "printed nothing"),
    ],
)
def test_a_boot_id_command_that_fails_or_says_nothing_is_a_probe_error(
    command: str, match: str
) -> None:
    probe = BootId(command)
    r = sh(probe.command())
    with pytest.raises(ProbeError, match=match):
        probe.parse(r.stdout, r.rc)


def test_a_boot_time_command_is_one_quoted_word_and_cannot_leave_its_frame() -> None:
    probe = BootId('echo "it\'s"; exit 0')
    r = sh(probe.command() + "\necho after")
    assert r.stdout == "it's\nafter\n"


def test_the_rebooter_probe_looks_in_search_paths_first(tmp_path: Path) -> None:
    tool = tmp_path / "bin" / "my reboot"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)
    probe = RebooterProbe(("my reboot",), (str(tool.parent),))
    r = sh(probe.command())
    found = probe.parse(r.stdout, r.rc)
    assert found.tool == str(tool) and found.uid == int(sh("id -u").stdout)
    missing = RebooterProbe(("no-such-reboot-command",), ())
    r = sh(missing.command())
    assert missing.parse(r.stdout, r.rc).tool == ""


def test_probes_are_contained_snippets() -> None:
    module = RebootModule.from_dict({})
    probe = module.probe()
    assert syntax_ok(probe)
    r = sh(probe + "\necho END")
    assert r.rc == 0 and r.stdout.endswith("END\n")


# -- the command ----------------------------------------------------------------------


def test_the_reboot_is_detached_and_waits_a_moment_first() -> None:
    script = reboot_script(RebootModule.from_dict({"pre_reboot_delay": 5}).args)
    assert syntax_ok(script)
    assert "nohup $detach sh -c " in script and "detach=setsid" in script
    assert "</dev/null >/dev/null 2>&1 &" in script  # no descriptor keeps the session open
    [inner] = [w for w in shlex.split(script.splitlines()[3]) if w.startswith("sleep")]
    assert inner.startswith("sleep 6; ")  # a second to detach, then pre_reboot_delay
    assert 'exec shutdown -r +0 "$1"' in inner and "else exec systemctl reboot" in inner
    assert 'PATH=/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:"$PATH"; export PATH' in script


def test_the_message_is_one_quoted_argument() -> None:
    msg = "it's $(touch /tmp/pwned) `id`; rm -rf /"
    line = reboot_script(RebootModule.from_dict({"msg": msg}).args).splitlines()[3]
    words = shlex.split(line.split(" </dev/null")[0])
    assert words[-2:] == ["provision-reboot", msg]


def test_a_reboot_command_runs_detached_after_the_delay(tmp_path: Path) -> None:
    """Run for real with a reboot_command that only writes down its arguments: the op
    returns at once, and the command runs a second later, in a session of its own."""
    log = tmp_path / "rebooted"
    stub = tmp_path / "fake-reboot"
    stub.write_text(f'#!/bin/sh\n{{ echo "$@"; ps -o sid= -p $$; }} > {shlex.quote(str(log))}\n')
    stub.chmod(0o755)
    args = RebootModule.from_dict({"reboot_command": f"{stub} -r now", "search_paths": []}).args
    r = sh(reboot_script(args) + "\necho sid=$(ps -o sid= -p $$)")
    assert r.rc == 0
    assert not log.exists()  # the op is back before the command ran: it did not wait
    deadline = time.monotonic() + 10
    while not log.exists() or not log.read_text().count("\n") == 2:
        assert time.monotonic() < deadline, "the reboot command never ran"
        time.sleep(0.1)
    said, sid = log.read_text().splitlines()
    assert said == "-r now"
    assert sid.strip() != r.stdout.split("sid=")[1].strip()  # setsid: not the op's session


# -- arguments ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"reboot_timeout": 0}, "reboot_timeout"),
        ({"pre_reboot_delay": -1}, "pre_reboot_delay"),
        ({"connect_timeout": 0}, "connect_timeout"),
        ({"test_command": "  "}, "non-empty command"),
        ({"boot_time_command": "cat\0x"}, "NUL"),
        ({"reboot_command": "shutdown 'unclosed"}, "cannot be split"),
        ({"msg": "two\nlines"}, "one line"),
        ({"search_paths": ["sbin"]}, "search_paths"),
        ({"search_paths": ["/a:/b"]}, "must not contain ':'"),
        ({"reboot_timeout_sec": 10}, "unknown argument 'reboot_timeout_sec'"),
    ],
)
def test_bad_args(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        RebootModule.from_dict(raw)


def test_names() -> None:
    assert lookup("reboot") is RebootModule
    assert lookup("ansible.builtin.reboot") is RebootModule
