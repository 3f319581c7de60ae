"""wait_for: the probe's real loop, on this machine, against real files and ports."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError
from provisioner.modules import lookup
from provisioner.modules.base import CONVERGED, Failed
from provisioner.modules.wait_for import WaitForModule, WaitProbe
from tests.unit.modules.host import FakeHost, sh, syntax_ok


class Listener:
    """A TCP port on 127.0.0.1 that accepts and says `banner`, until closed."""

    def __init__(self, banner: bytes = b"") -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port: int = self.sock.getsockname()[1]
        self.banner = banner
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                conn.sendall(self.banner)
            except OSError:
                pass
            conn.close()

    def close(self) -> None:
        self.sock.close()


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def listener() -> Iterator[Listener]:
    lis = Listener(b"SSH-2.0-OpenSSH_8.7\r\n")
    yield lis
    lis.close()


@dataclass(frozen=True)
class Case:
    id: str
    args: Callable[[Path, int, int], dict[str, Any]]  # (tmp dir, open port, closed port)
    msg: str | None  # None: converged (ok); else the failure's message
    files: tuple[str, ...] = ()  # made in tmp first
    content: str = "starting\nready: port 8080\n"


CASES = [
    Case("a file that is there", lambda t, o, c: {"path": f"{t}/flag"}, None, ("flag",)),
    Case(
        "a file that never comes",
        lambda t, o, c: {"path": f"{t}/flag", "timeout": 0},
        "Timeout when waiting for file {t}/flag",
    ),
    Case(
        "a line in a file",
        lambda t, o, c: {"path": f"{t}/log", "search_regex": "ready: port [0-9]+$"},
        None,
        ("log",),
    ),
    Case(
        "a line that is not in the file",
        lambda t, o, c: {"path": f"{t}/log", "search_regex": "^done", "timeout": 0},
        "Timeout when waiting for search string ^done in {t}/log",
        ("log",),
    ),
    Case("a lock file gone", lambda t, o, c: {"path": f"{t}/lock", "state": "absent"}, None),
    Case(
        "a lock file still there",
        lambda t, o, c: {"path": f"{t}/lock", "state": "absent", "timeout": 0},
        "Timeout when waiting for {t}/lock to be absent.",
        ("lock",),
    ),
    Case("an open port", lambda t, o, c: {"port": o}, None),
    Case(
        "a closed port",
        lambda t, o, c: {"port": c, "timeout": 0},
        "Timeout when waiting for 127.0.0.1:{c}",
    ),
    Case("a port that is stopped", lambda t, o, c: {"port": c, "state": "stopped"}, None),
    Case(
        "a port that does not stop",
        lambda t, o, c: {"port": o, "state": "stopped", "timeout": 0},
        "Timeout when waiting for 127.0.0.1:{o} to stop.",
    ),
    Case("a banner on a port", lambda t, o, c: {"port": o, "search_regex": "OpenSSH"}, None),
    Case(
        "a banner that does not match",
        lambda t, o, c: {"port": o, "search_regex": "nginx", "timeout": 0},
        "Timeout when waiting for search string nginx in 127.0.0.1:{o}",
    ),
    Case(
        "msg replaces the message",
        lambda t, o, c: {"port": c, "timeout": 0, "msg": "the app did not start"},
        "the app did not start",
    ),
    Case("neither port nor path: a sleep, never a failure", lambda t, o, c: {"timeout": 0}, None),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_wait(case: Case, tmp_path: Path, listener: Listener) -> None:
    for name in case.files:
        (tmp_path / name).write_text(case.content)
    c = closed_port()
    module = WaitForModule.from_dict(case.args(tmp_path, listener.port, c))
    assert syntax_ok(module.probe())
    r = sh(module.probe())
    assert r.rc == 0, r.stderr
    state = module.parse(r.stdout)
    plan = module.plan(state)
    if case.msg is None:
        assert plan is CONVERGED
    else:
        assert plan == Failed(case.msg.format(t=tmp_path, o=listener.port, c=c))
    assert module.fields(state)["elapsed"] <= 1


def test_waits_until_the_file_appears_and_says_how_long(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    module = WaitForModule.from_dict({"path": str(flag), "timeout": 10})
    maker = subprocess.Popen(["sh", "-c", f"sleep 1.2; touch '{flag}'"])
    r = sh(module.probe())  # sh's own timeout guards against a hang
    maker.wait()
    state = module.parse(r.stdout)
    assert module.plan(state) is CONVERGED
    assert 1 <= module.fields(state)["elapsed"] <= 3  # the host's count of the wait


def test_timeout_bounds_the_wait_and_includes_the_delay(tmp_path: Path) -> None:
    module = WaitForModule.from_dict(
        {"path": str(tmp_path / "never"), "timeout": 2, "delay": 1, "sleep": 1}
    )
    state = module.parse(sh(module.probe()).stdout)
    assert isinstance(module.plan(state), Failed)
    assert 2 <= module.fields(state)["elapsed"] <= 3  # the host's count: it stopped there


def test_sleep_without_condition_sleeps_the_timeout() -> None:
    module = WaitForModule.from_dict({"timeout": 1})
    state = module.parse(sh(module.probe()).stdout)
    assert module.plan(state) is CONVERGED and module.fields(state)["elapsed"] >= 1


def test_registers_what_ansible_registers(tmp_path: Path) -> None:
    module = WaitForModule.from_dict({"path": str(tmp_path), "search_regex": None})
    state = module.parse(sh(module.probe()).stdout)
    assert module.fields(state) == {
        "elapsed": 0,
        "state": "started",
        "port": None,
        "path": str(tmp_path),
        "search_regex": None,
        "match_groups": [],
        "match_groupdict": {},
    }


def test_each_wait_is_its_own_probe() -> None:
    """Two equal tasks wait twice: the runner would reuse an equal probe's answer."""
    a = WaitForModule.from_dict({"timeout": 5})
    b = WaitForModule.from_dict({"timeout": 5})
    assert a.probes() != b.probes() and a.probes() == a.probes()
    assert WaitForModule.waits and not WaitForModule.unprobeable


# --- without bash: nc, then ss ----------------------------------------------------


def _bare_path(tmp: Path, tools: tuple[str, ...], host: FakeHost | None = None) -> str:
    """A PATH with only these tools of this machine (and the host's stubs)."""
    bare = tmp / "bare"
    bare.mkdir(exist_ok=True)
    for tool in ("sh", "date", "sleep", "awk", "grep", "head", "cat", *tools):
        found = shutil.which(tool)
        assert found, tool
        if not (bare / tool).exists():
            os.symlink(found, bare / tool)
    return f"{host.bin}:{bare}" if host else str(bare)


def _run_bare(script: str, path: str) -> str:
    p = subprocess.run(
        ["/bin/sh", "-c", script], env={"PATH": path, "LC_ALL": "C"}, capture_output=True,
        text=True, check=False, timeout=30,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_nc_when_there_is_no_bash(tmp_path: Path, host: FakeHost) -> None:
    host.on("nc", "*", rc=0)
    module = WaitForModule.from_dict({"host": "db.example", "port": 5432, "connect_timeout": 3})
    host._write()
    out = _run_bare(module.probe(), _bare_path(tmp_path, (), host))
    assert module.plan(module.parse(out)) is CONVERGED
    assert host.calls("nc") == [["nc", "-z", "-w", "3", "db.example", "5432"]]


SS_LISTEN = """\
State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process
LISTEN 0      128          0.0.0.0:22         0.0.0.0:*
LISTEN 0      511                *:8080             *:*
"""


@pytest.mark.parametrize(("port", "met"), [(8080, True), (80, False)])
def test_ss_listeners_for_the_local_host_without_bash_or_nc(
    tmp_path: Path, host: FakeHost, port: int, met: bool
) -> None:
    host.on("ss", "-ltn", SS_LISTEN)
    module = WaitForModule.from_dict({"port": port, "timeout": 0})
    host._write()
    out = _run_bare(module.probe(), _bare_path(tmp_path, (), host))
    assert (module.plan(module.parse(out)) is CONVERGED) is met


def test_a_host_without_any_port_tool_fails_clearly(tmp_path: Path) -> None:
    module = WaitForModule.from_dict({"host": "10.0.0.5", "port": 443})
    out = _run_bare(module.probe(), _bare_path(tmp_path, ()))
    assert module.plan(module.parse(out)) == Failed(
        "wait_for: cannot check port 443: no bash or nc on the host"
    )


SS_ALL = """\
State     Recv-Q Send-Q   Local Address:Port     Peer Address:Port Process
LISTEN    0      511            0.0.0.0:8000          0.0.0.0:*
ESTAB     0      0            10.0.0.2:8000          10.0.0.9:51000
TIME-WAIT 0      0      [::ffff:10.0.0.2]:8000   [::ffff:10.0.0.7]:40000
ESTAB     0      0            10.0.0.2:22            10.0.0.9:50000
"""


@pytest.mark.parametrize(
    ("args", "met"),
    [
        ({"host": "0.0.0.0"}, False),  # two active connections to port 8000
        ({"host": "0.0.0.0", "exclude_hosts": ["10.0.0.9", "10.0.0.7"]}, True),
        ({"host": "0.0.0.0", "active_connection_states": ["ESTABLISHED"]}, False),
        ({"host": "0.0.0.0", "active_connection_states": ["SYN_RECV"]}, True),
        ({}, True),  # only connections to 127.0.0.1 count
        ({"host": "10.0.0.2", "active_connection_states": ["TIME_WAIT"]}, False),
    ],
)
def test_drained_counts_active_connections_to_the_port(
    host: FakeHost, args: dict[str, Any], met: bool
) -> None:
    host.on("ss", "-tan", SS_ALL)
    module = WaitForModule.from_dict({"port": 8000, "state": "drained", "timeout": 0, **args})
    r = host.run(module.probe())
    plan = module.plan(module.parse(r.stdout))
    if met:
        assert plan is CONVERGED
    else:
        assert plan == Failed("Timeout when waiting for " + f"{args.get('host')}:8000 to drain")


# --- odd values ----------------------------------------------------------------------


def test_hostile_path_and_regex_are_only_data(tmp_path: Path) -> None:
    odd = tmp_path / "a b'$(touch pwned)`touch pwned2`;\"x"
    odd.write_text("state: $(ready) 'ok'\n")
    regex = "\\$\\(ready\\) 'ok'"
    module = WaitForModule.from_dict({"path": str(odd), "search_regex": regex, "timeout": 0})
    r = sh(f"cd {shlex.quote(str(tmp_path))} && {module.probe()}")
    assert module.plan(module.parse(r.stdout)) is CONVERGED
    assert sorted(p.name for p in tmp_path.iterdir()) == [odd.name]


# --- arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"port": 22, "path": "/x"}, "port and path cannot both be given"),
        ({"path": "/x", "state": "stopped"}, "state=stopped is for a port"),
        ({"state": "drained"}, "state=drained needs a port"),
        ({"port": 22, "exclude_hosts": ["a"]}, "exclude_hosts goes with state=drained"),
        ({"port": 70000}, "port"),
        ({"port": 22, "host": "-oProxyCommand=x"}, "must be a host name or an IP address"),
        ({"port": 22, "host": "a b"}, "must be a host name or an IP address"),
        ({"path": "/x", "search_regex": "(?P<v>x)"}, "POSIX extended regex"),
        ({"path": "/x", "search_regex": "\\d+"}, "write [0-9]"),
        ({"path": "/x", "search_regex": "a\nb"}, "one line"),
        ({"path": "/x", "search_regex": "(a"}, "not a valid regex"),
        ({"path": "relative"}, "must be absolute"),
        ({"timeout": -1}, "timeout"),
        ({"port": 22, "state": "drained", "active_connection_states": ["BOGUS"]}, "BOGUS"),
        ({"port": 22, "state": "stopped", "search_regex": "x"}, "started or present"),
        ({"prot": 22}, "unknown argument 'prot'"),
    ],
)
def test_bad_arguments_are_clear_errors(args: dict[str, Any], error: str) -> None:
    with pytest.raises(ModuleArgsError, match=error.replace("[", "\\[").replace("(", "\\(")):
        WaitForModule.from_dict(args)


def test_known_by_its_full_name_too() -> None:
    assert lookup("ansible.builtin.wait_for") is WaitForModule is lookup("wait_for")
    assert isinstance(WaitForModule.from_dict({}).probes()[0], WaitProbe)
