"""The pure parts of the benchmark (bench/): sizes, addresses, the inventory it writes,
the floor's script, counting sessions in sshd logs, medians, ratios and the table; and
of `make bench-peers`: the peers' inventories, playbook and config, reading their
reports, ansible's cap, the peer columns. Nothing here starts an sshd, runs a peer or
times anything."""

from __future__ import annotations

import ast
import json
import re
import shlex
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from bench.floor import script
from bench.lab import Host, Lab, address, names, sshd_config, write_inventory
from bench.measure import count_sessions, read_from, sessions_since
from bench.peers import (
    ANSIBLE_MAX,
    ansible_cfg,
    ansible_changed,
    ansible_failures,
    ansible_inventory,
    ansible_playbook,
    master_pid,
    peer_env,
    proc_cpu,
    proc_peak_mb,
    pyinfra_changed,
    pyinfra_errors,
    pyinfra_inventory,
    recap,
    tools_at,
    turns,
)
from bench.sweep import CHANGED_PER_HOST, PLAYBOOK, Tools, parse_args, sizes, title
from bench.table import (
    HEADER,
    Sample,
    count,
    from_csv,
    median,
    ratio,
    render,
    rows,
    to_csv,
    tools_of,
)
from provisioner.inventory import load_inventory
from provisioner.playbook.load import load_playbook
from provisioner.validate import validate

# What OpenSSH 9.2's sshd -e writes at LogLevel VERBOSE for one provision run.
SSHD_LOG = """\
Server listening on 127.0.1.1 port 2222.
Connection from 127.0.0.1 port 44554 on 127.0.1.1 port 2222 rdomain ""
kex_exchange_identification: Connection closed by remote host
Connection from 127.0.0.1 port 46574 on 127.0.1.1 port 2222 rdomain ""
Accepted key ED25519 SHA256:QOCVvA7uqDcHH2J5y8TuF7zn1K5wYRVznl1yetosw/U found at /x/keys:1
Accepted publickey for root from 127.0.0.1 port 46574 ssh2: ED25519 SHA256:QOCVvA7uqDcHH2J5y8
Starting session: command for root from 127.0.0.1 port 46574 id 0
Close session: user root from 127.0.0.1 port 46574 id 0
Starting session: subsystem 'sftp' for root from 127.0.0.1 port 46574 id 0
Starting session: command for root from 127.0.0.1 port 46574 id 1
Close session: user root from 127.0.0.1 port 46574 id 1
Starting session: shell on pts/3 for root from 127.0.0.1 port 46580 id 0
Read error from remote host 127.0.0.1 port 46574: Connection reset by peer
"""


def sample(n: int, phase: str, tool: str, run: int, wall: float, execs: float = 1) -> Sample:
    return Sample(n, phase, tool, run, wall, wall / 2, 40.0, execs, 1.0, 0)


def test_sizes_cap_and_extend() -> None:
    assert sizes(200) == [1, 10, 50, 200]
    assert sizes(10) == [1, 10]
    assert sizes(500) == [1, 10, 50, 200, 500]
    assert sizes(30) == [1, 10, 30]
    assert sizes(500, 500) == [500]
    assert sizes(200, 10) == [10, 50, 200]
    assert sizes(30, 20) == [30]
    with pytest.raises(ValueError):
        sizes(0)


def test_addresses_stay_in_the_loopback_net() -> None:
    assert [address(i) for i in (1, 250, 251, 500)] == [
        "127.0.1.1",
        "127.0.1.250",
        "127.0.2.1",
        "127.0.2.250",
    ]
    with pytest.raises(ValueError):
        address(0)


def test_each_host_owns_its_names_and_paths(tmp_path: Path) -> None:
    h = Host(7, 2222, tmp_path)
    assert (h.name, h.user, h.group) == ("h007", "bench_u007", "bench_g007")
    assert names([h]) == ["user:bench_u007", "group:bench_u007", "group:bench_g007"]
    assert h.root == tmp_path / "hosts" / "h007" / "root"
    config = sshd_config(h, tmp_path / "home")
    assert f"SetEnv HOME={tmp_path / 'home'}" in config
    assert "LogLevel VERBOSE" in config
    assert f"PidFile {h.dir}/sshd.pid" in config


def test_the_inventory_loads_and_the_workload_validates_for_it(tmp_path: Path) -> None:
    hosts = [Host(i, 2222, tmp_path) for i in (1, 2, 3)]
    path = tmp_path / "inventory.yml"
    write_inventory(path, hosts, tmp_path / "id_client", tmp_path / "known_hosts")
    inventory = load_inventory(path)
    assert list(inventory.hosts) == ["h001", "h002", "h003"]
    assert validate(load_playbook(PLAYBOOK), inventory, {}) == []
    text = path.read_text()
    assert "host: 127.0.1.2" in text and f"host_root: {hosts[1].root}" in text


def test_the_workload_has_the_issues_items_and_one_read_only_check() -> None:
    book = PLAYBOOK.read_text()
    assert book.count("\n    - name: ") == 9
    assert CHANGED_PER_HOST == 7  # all but the read-only check and the package check
    assert "changed_when: false" in book and "check_mode: false" in book


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs sh")
def test_the_floor_script_is_sh() -> None:
    host = {"name": "h001", "address": "127.0.1.1", "port": 2222, "root": "/r/o o t", "id": "001"}
    text = script(host)
    assert subprocess.run(["sh", "-n"], input=text, text=True, check=False).returncode == 0
    assert "'/r/o o t/etc/yum.repos.d/bench.repo'" in text
    assert "useradd -M -d '/r/o o t/home/bench_u001' -s /usr/sbin/nologin -G bench_g001" in text
    assert text.rstrip().endswith('echo "changed=$changed"')


def test_sessions_are_counted_from_the_sshd_log() -> None:
    s = count_sessions(SSHD_LOG)
    assert (s.logins, s.commands, s.subsystems, s.shells) == (1, 2, 1, 1)
    assert s.execs == 4
    assert count_sessions("").execs == 0


def test_only_what_the_log_gained_counts(tmp_path: Path) -> None:
    busy, quiet = tmp_path / "busy.log", tmp_path / "quiet.log"
    busy.write_text(SSHD_LOG)
    quiet.write_text(SSHD_LOG)
    offset = busy.stat().st_size
    with open(busy, "a") as f:
        f.write("Starting session: command for root from 127.0.0.1 port 1 id 0\n")
    assert read_from(busy, offset).startswith("Starting session")
    seen = sessions_since({busy: offset, quiet: quiet.stat().st_size})
    assert [s.commands for s in seen] == [1, 0]


def test_median_ratio_and_counts() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([1.0, 2.0]) == 1.5
    with pytest.raises(ValueError):
        median([])
    assert (ratio(3.0, 1.5), ratio(250.0, 2.0), ratio(1.0, 0.0)) == ("2.0x", "125x", "-")
    assert (count(6.0), count(20.5)) == ("6", "20.5")


def test_the_table_has_one_row_per_size_and_phase_of_medians() -> None:
    samples = [
        sample(
            n,
            phase,
            tool,
            r,
            wall * (3 if tool == "provision" else 1),
            6 if tool == "provision" else 1,
        )
        for n in (1, 10)
        for phase in ("first", "rerun")
        for tool in ("floor", "provision")
        for r, wall in ((1, 1.0), (2, 2.0), (3, 9.0))
    ]
    table = rows(samples)
    assert [(r[0], r[1]) for r in table] == [
        ("1", "first"),
        ("1", "rerun"),
        ("10", "first"),
        ("10", "rerun"),
    ]
    assert table[0][2:5] == ("2.00 s", "6.00 s", "3.0x")  # medians 2 and 6
    assert table[0][10:12] == ("1", "6")
    assert table[0][12:] == ("1", "1")  # logins
    text = render(samples, ["title line", ""])
    lines = text.splitlines()
    assert lines[0] == "title line"
    assert lines[2].split() == ["wall", "time", "controller", "CPU", "peak", "MB"] + [
        "execs/host",
        "logins/host",
    ]
    assert lines[3].split()[:4] == ["N", "run", "floor", "provision"]
    assert set(lines[4]) <= {"-", " "}
    assert len({len(line) for line in lines[5:]}) == 1  # aligned rows
    starts = [m.start() for m in re.finditer(r"-+", lines[4])]
    assert lines[2].index("wall") == starts[2]  # a group starts over its first column
    assert lines[2].index("logins") == starts[12]


def test_a_size_missing_a_tool_has_no_row() -> None:
    assert rows([sample(1, "first", "floor", 1, 1.0)]) == []


def test_csv_round_trip() -> None:
    samples = [sample(1, "first", "floor", 1, 0.5), sample(200, "rerun", "provision", 3, 61.25, 6)]
    text = to_csv(samples)
    assert text.splitlines()[0] == "n,phase,tool,run,wall,cpu,peak_mb,execs,logins,changed"
    assert from_csv(text) == samples


# -- make bench-peers: pyinfra and ansible-core -----------------------------------------

# The tail of ansible-playbook's default output as ansible-core 2.19 prints it (its
# padding shortened).
ANSIBLE_OUT = """\
TASK [A line in a file] ********************************************************
fatal: [h002]: FAILED! => {"changed": false, "msg": "Destination /r/x does not exist !"}
ok: [h001]

PLAY RECAP *********************************************************************
h001      : ok=9    changed=7    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
h002      : ok=3    changed=3    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0
"""


def pyinfra_report(success: list[str], no_change: list[str], failed: list[str]) -> str:
    """The part of `pyinfra --json`'s output that bench.peers reads."""
    op = {"name": "A directory", "success": success, "error": [], "no_change": no_change}
    totals = {"hosts": 2, "success": len(success), "error": 0, "no_change": len(no_change)}
    results = {"operations": [op], "totals": totals, "failed_hosts": failed}
    return json.dumps({"plan": [], "results": results})


def test_ansible_is_capped_and_pyinfra_runs_at_every_size() -> None:
    assert tools_at(200, False, 50) == ("floor", "provision")
    assert tools_at(50, True, 50) == ("floor", "provision", "pyinfra", "ansible")
    assert tools_at(200, True, 50) == ("floor", "provision", "pyinfra")
    assert tools_at(200, True, 500) == ("floor", "provision", "pyinfra", "ansible")
    tools = Tools(["provision"], 10, Path("/w"), Path("/venv"))
    assert tools.ansible_max == ANSIBLE_MAX == 50
    assert tools.at(10)[-1] == "ansible" and "ansible" not in tools.at(51)
    assert Tools(["provision"], 10, Path("/w")).at(1) == ("floor", "provision")


def test_the_peers_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_PEERS", raising=False)
    monkeypatch.delenv("BENCH_ANSIBLE_MAX", raising=False)
    args = parse_args([])
    assert (args.peers, args.ansible_max) == (None, 50)
    monkeypatch.setenv("BENCH_ANSIBLE_MAX", "200")
    args = parse_args(["--peers", "bench/.peers-venv"])
    assert (args.peers, args.ansible_max) == (Path("bench/.peers-venv"), 200)
    assert parse_args(["--ansible-max", "10"]).ansible_max == 10


def test_each_tool_goes_first_in_turn() -> None:
    assert turns(("floor", "provision"), 1) == ("floor", "provision")
    assert turns(("floor", "provision"), 2) == ("provision", "floor")
    four = ("floor", "provision", "pyinfra", "ansible")
    assert [turns(four, r)[0] for r in range(1, 6)] == [*four, "floor"]
    assert sorted(turns(four, 3)) == sorted(four)


def test_a_lab_can_start_at_another_host(tmp_path: Path) -> None:
    lab = Lab(tmp_path, 2, 2288, first=101)
    assert [Host(i, 2288, tmp_path).address for i in (101, 102)] == ["127.0.1.101", "127.0.1.102"]
    assert lab.first == 101 and Lab(tmp_path, 2).first == 1


def test_the_first_host_is_an_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_FIRST_HOST", raising=False)
    assert parse_args([]).first_host == 1
    assert parse_args(["--first-host", "101"]).first_host == 101


def test_the_pyinfra_inventory_is_python_with_the_hosts_data(tmp_path: Path) -> None:
    hosts = [Host(i, 2288, tmp_path) for i in (1, 2)]
    text = pyinfra_inventory(hosts, tmp_path / "id client", tmp_path / "known_hosts")
    scope: dict[str, object] = {}
    exec(compile(text, "inventory.py", "exec"), scope)
    assert scope["bench"] == [
        (
            h.name,
            {
                "ssh_user": "root",
                "ssh_key": str(tmp_path / "id client"),
                "ssh_known_hosts_file": str(tmp_path / "known_hosts"),
                "ssh_strict_host_key_checking": "yes",
                "ssh_hostname": h.address,
                "ssh_port": 2288,
                "address": h.address,
                "host_root": str(h.root),
                "bench_id": h.id,
            },
        )
        for h in hosts
    ]


def test_the_pyinfra_deploy_names_the_workloads_items() -> None:
    """Its operations are site.yml's tasks but the read-only check, a fact there."""
    deploy = PLAYBOOK.with_name("deploy.py")
    calls = [n for n in ast.walk(ast.parse(deploy.read_text())) if isinstance(n, ast.Call)]
    names = [
        k.value.value
        for node in sorted(calls, key=lambda n: n.lineno)  # in the file's order
        for k in node.keywords
        if k.arg == "name" and isinstance(k.value, ast.Constant)
    ]
    tasks = [t["name"] for t in yaml.safe_load(PLAYBOOK.read_text())[0]["tasks"]]
    assert names == [t for t in tasks if t != "A read-only check"]
    assert "get_fact(Command" in deploy.read_text()


def test_the_ansible_inventory_and_config(tmp_path: Path) -> None:
    hosts = [Host(i, 2288, tmp_path) for i in (1, 2)]
    inv = ansible_inventory(hosts, tmp_path / "id_client", tmp_path / "known hosts")["all"]
    assert inv["vars"]["ansible_user"] == "root"
    assert inv["vars"]["ansible_python_interpreter"] == "/usr/bin/python3"
    args = shlex.split(inv["vars"]["ansible_ssh_common_args"])
    assert f"UserKnownHostsFile={tmp_path / 'known hosts'}" in args
    assert "StrictHostKeyChecking=yes" in args
    h2 = inv["children"]["bench"]["hosts"]["h002"]
    assert h2 == {
        "ansible_host": "127.0.1.2",
        "ansible_port": 2288,
        "host": "127.0.1.2",
        "host_root": str(hosts[1].root),
        "bench_id": "002",
    }
    cfg = ansible_cfg(10, tmp_path)
    assert "forks = 10" in cfg and "pipelining = True" in cfg
    assert f"control_path_dir = {tmp_path / 'ansible-cp'}" in cfg
    assert f"remote_tmp = {tmp_path / 'ansible-remote-tmp'}" in cfg


def test_ansible_runs_site_yml_with_the_package_check_as_rpm_q() -> None:
    ours = yaml.safe_load(PLAYBOOK.read_text())
    theirs = ansible_playbook(PLAYBOOK)
    assert len(theirs[0]["tasks"]) == len(ours[0]["tasks"]) == 9
    differ = [(a, b) for a, b in zip(ours[0]["tasks"], theirs[0]["tasks"], strict=True) if a != b]
    assert differ == [
        (
            {"name": "A package check", "package": {"name": "bench-marker", "state": "present"}},
            {
                "name": "A package check",
                "command": "rpm -q bench-marker",
                "changed_when": False,
                "check_mode": False,
            },
        )
    ]
    assert {k: v for k, v in theirs[0].items() if k != "tasks"} == {
        k: v for k, v in ours[0].items() if k != "tasks"
    }


def test_ansibles_recap_and_failures_are_read(tmp_path: Path) -> None:
    assert recap(ANSIBLE_OUT) == {
        "h001": {"ok": 9, "changed": 7, "unreachable": 0, "failed": 0},
        "h002": {"ok": 3, "changed": 3, "unreachable": 0, "failed": 1},
    }
    hosts = [Host(i, 2288, tmp_path) for i in (1, 2)]
    with pytest.raises(ValueError, match="not ok on h002"):
        ansible_changed(ANSIBLE_OUT, hosts)
    assert ansible_changed(ANSIBLE_OUT, hosts[:1]) == 7
    with pytest.raises(ValueError, match="not ok on h003"):
        ansible_changed(ANSIBLE_OUT.replace("failed=1", "failed=0"), [Host(3, 2288, tmp_path)])
    assert ansible_failures(ANSIBLE_OUT).strip().startswith("fatal: [h002]: FAILED!")
    assert ansible_failures("ok: [h001]\n") == ""


def test_pyinfras_report_is_read() -> None:
    assert pyinfra_changed(pyinfra_report(["h001", "h002"], [], [])) == 2
    assert pyinfra_changed(pyinfra_report([], ["h001", "h002"], [])) == 0
    with pytest.raises(ValueError, match="failed on h002"):
        pyinfra_changed(pyinfra_report(["h001"], [], ["h002"]))
    stderr = "--> Loading\n    [h001] Error: could not load fact: server.Command\n"
    assert pyinfra_errors(stderr) == "\n  [h001] Error: could not load fact: server.Command"


def test_the_ssh_masters_cpu_and_memory_are_read() -> None:
    assert master_pid("Master running (pid=12539)\r\n") == 12539
    assert master_pid("Control socket connect(/x): No such file or directory\n") is None
    stat = "12539 (ssh) S 1 12539 12539 0 -1 4194368 300 0 0 0 12 2 0 0 20 0 1 0 5 0 0"
    assert proc_cpu(stat, 100) == pytest.approx(0.14)
    assert proc_cpu(stat.replace("(ssh)", "(s s) x)"), 100) == pytest.approx(0.14)
    assert proc_peak_mb("Name:\tssh\nVmHWM:\t    4608 kB\nVmRSS:\t 10 kB\n") == 4.5


def test_a_peer_runs_without_our_pythonpath() -> None:
    env = peer_env({"PATH": "/bin", "PYTHONPATH": "."}, {"ANSIBLE_NOCOLOR": "1"})
    assert env == {"PATH": "/bin", "ANSIBLE_NOCOLOR": "1"}


def test_the_table_gains_a_column_per_peer_and_dashes_where_it_did_not_run() -> None:
    walls = {"floor": 1.0, "provision": 3.0, "pyinfra": 4.0, "ansible": 20.0}
    samples = [
        sample(n, phase, tool, 1, wall * n, {"floor": 1, "ansible": 17}.get(tool, 6))
        for n in (1, 200)
        for phase in ("first", "rerun")
        for tool, wall in walls.items()
        if tool != "ansible" or n <= 50
    ]
    table = rows(samples)
    assert len(table) == 4 and all(len(r) == 28 for r in table)
    assert table[0][2:9] == ("1.00 s", "3.00 s", "3.0x", "4.00 s", "4.0x", "20.00 s", "20.0x")
    assert table[0][16:20] == ("40", "40", "40", "40")  # peak MB
    assert table[0][20:24] == ("1", "6", "6", "17")  # execs/host
    assert table[2][2:9] == ("200.00 s", "600.00 s", "3.0x", "800.00 s", "4.0x", "-", "-")
    assert table[2][19] == "-" and table[2][23] == "-"
    lines = render(samples).splitlines()
    assert lines[1].split()[:9] == ["N", "run", "floor", "provision", "ratio"] + [
        "pyinfra",
        "ratio",
        "ansible",
        "ratio",
    ]
    assert len({len(line) for line in lines[3:]}) == 1  # aligned rows
    starts = [m.start() for m in re.finditer(r"-+", lines[2])]
    assert lines[0].index("controller") == starts[9]
    assert lines[0].index("logins") == starts[24]


def test_without_peers_the_table_is_make_benchs() -> None:
    samples = [sample(1, "first", t, 1, 1.0) for t in ("floor", "provision")]
    assert tools_of(samples) == ("floor", "provision")
    assert render(samples).splitlines()[1].split() == list(HEADER)
    assert len(HEADER) == 14


def test_the_title_names_the_peers_and_the_cap() -> None:
    when = datetime(2026, 12, 2, 16, 45, tzinfo=timezone.utc)
    ours = title(when, 10, 3)[2]
    assert ours == "forks 10 (both tools), 3 runs per point, medians; ratio = provision / floor"
    note = "pyinfra 3.10.0, ansible-core 2.19.14; ansible at N <= 50"
    assert title(when, 10, 3, note)[2].endswith(f"ratio = tool / floor; {note}")
