"""The peers of `make bench-peers`: pyinfra and ansible-core on the bench workload and
hosts, run from their own venv (bench/.peers-venv, which the Makefile fills; neither is
a dependency of the project). See bench/README.md, "Peers".

The pure parts (their inventories, ansible's playbook and config, reading what they
report) are what tests/unit/test_bench.py checks; run_pyinfra and run_ansible run one
command each and return what the sweep measures.
"""

from __future__ import annotations

import json
import os
import pprint
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from bench.lab import Host, Lab
from bench.measure import Usage, run, timed

ROOT = Path(__file__).resolve().parents[1]
WORKLOAD = ROOT / "bench" / "workload"
PEERS = ("pyinfra", "ansible")
ANSIBLE_MAX = 50  # ansible at 200 hosts takes long: by default it runs up to N = 50
TARGET_PYTHON = "/usr/bin/python3"  # the loopback hosts are this machine: its python3

Measured = tuple[Usage, tuple[float, float], int]  # usage, (execs, logins)/host, changed


def tools_at(n: int, peers: bool, ansible_max: int) -> tuple[str, ...]:
    """The tools measured at N hosts: ours always; pyinfra at every N; ansible up to
    its cap."""
    extra = ("pyinfra", "ansible") if peers else ()
    return ("floor", "provision", *(t for t in extra if t != "ansible" or n <= ansible_max))


def turns(tools: Sequence[str], run: int) -> tuple[str, ...]:
    """The order of the tools in run `run` (1-based): each goes first in turn."""
    k = (run - 1) % len(tools)
    return (*tools[k:], *tools[:k])


# -- pyinfra -------------------------------------------------------------------------


def pyinfra_inventory(hosts: Iterable[Host], key: Path, known_hosts: Path) -> str:
    """pyinfra's inventory, a Python file: group `bench`, each host with its connection
    (the same key and known_hosts, strict) and the workload's data."""
    common = {
        "ssh_user": "root",
        "ssh_key": str(key),
        "ssh_known_hosts_file": str(known_hosts),
        "ssh_strict_host_key_checking": "yes",
    }
    entries = [
        (
            h.name,
            {
                **common,
                "ssh_hostname": h.address,
                "ssh_port": h.port,
                "address": h.address,
                "host_root": str(h.root),
                "bench_id": h.id,
            },
        )
        for h in hosts
    ]
    text = pprint.pformat(entries, sort_dicts=False, width=100)
    return f"# Written by bench.peers: the loopback hosts, for pyinfra.\nbench = {text}\n"


def pyinfra_changed(report: str) -> int:
    """Changed items over all hosts from `pyinfra --json`'s report (an operation that
    ran a command on a host is a change there); raises ValueError if a host failed."""
    results = json.loads(report)["results"]
    failed = {*results["failed_hosts"], *(h for op in results["operations"] for h in op["error"])}
    if failed:
        raise ValueError(f"failed on {', '.join(sorted(failed))}")
    changed: int = results["totals"]["success"]
    return changed


def pyinfra_errors(stderr: str) -> str:
    """pyinfra's own error lines ('[h001] Error: …'), at most a few."""
    bad = [line.strip() for line in stderr.splitlines() if "Error" in line]
    return "".join(f"\n  {line}" for line in bad[:6])


def run_pyinfra(venv: Path, forks: int, work: Path, lab: Lab, hosts: Sequence[Host]) -> Measured:
    inv = work / f"pyinfra-{len(hosts)}.py"
    inv.write_text(pyinfra_inventory(hosts, lab.key, lab.known_hosts))
    deploy = (WORKLOAD / "deploy.py").relative_to(ROOT)  # it names its template from ROOT
    argv = [str(venv / "bin" / "pyinfra"), "-y", "--json", "--parallel", str(forks)]
    argv += [str(inv), str(deploy)]
    out, err = work / "pyinfra.json", work / "pyinfra.err"
    env = peer_env(os.environ, {})
    usage, per_host = timed([h.log for h in hosts], lambda: run(argv, out, err, ROOT, env))
    try:
        changed = pyinfra_changed(out.read_text())
    except (OSError, ValueError, KeyError) as e:
        detail = pyinfra_errors(err.read_text(errors="replace")) or _tail(err)
        raise RuntimeError(f"pyinfra exited {usage.code}: {e}{detail}") from None
    if usage.code != 0:
        raise RuntimeError(f"pyinfra exited {usage.code}: {_tail(err)}")
    return usage, per_host, changed


# -- ansible -------------------------------------------------------------------------


def ansible_inventory(hosts: Iterable[Host], key: Path, known_hosts: Path) -> dict[str, Any]:
    """Ansible's YAML inventory: group `bench`, root with the bench key, the same
    known_hosts (strict), this machine's python3; `host` as provision's inventory has it
    (the template uses it)."""
    ssh_args = shlex.join(
        ["-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes"]
        + ["-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"]
    )
    return {
        "all": {
            "vars": {
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(key),
                "ansible_ssh_common_args": ssh_args,
                "ansible_python_interpreter": TARGET_PYTHON,
            },
            "children": {
                "bench": {
                    "hosts": {
                        h.name: {
                            "ansible_host": h.address,
                            "ansible_port": h.port,
                            "host": h.address,
                            "host_root": str(h.root),
                            "bench_id": h.id,
                        }
                        for h in hosts
                    }
                }
            },
        }
    }


def ansible_playbook(site: Path) -> list[Any]:
    """site.yml for ansible-core: the same plays, except the package check, which is
    `rpm -q NAME` (changed_when false): ansible's package module would ask apt, this
    host's package manager, and its dnf module needs dnf, absent here (bench/README.md)."""
    plays: list[Any] = yaml.safe_load(site.read_text())
    for play in plays:
        play["tasks"] = [_rpm_check(t) if "package" in t else t for t in play["tasks"]]
    return plays


def _rpm_check(task: Mapping[str, Any]) -> dict[str, Any]:
    name = task["package"]["name"]
    return {
        "name": task["name"],
        "command": f"rpm -q {name}",
        "changed_when": False,
        "check_mode": False,
    }


def ansible_cfg(forks: int, work: Path) -> str:
    """Ansible's defaults but: as many forks as the others, pipelining (a module runs
    on the stdin of one exec), the ssh masters' sockets (ControlPersist, ansible's
    default ssh_args) in a directory of ours, to close them after each command, and the
    hosts' temporary files in the run's directory (by default in ~root/.ansible, which
    here is this machine's)."""
    return (
        "# Written by bench.peers.\n"
        f"[defaults]\nforks = {forks}\nhost_key_checking = True\n"
        f"remote_tmp = {work / 'ansible-remote-tmp'}\n"
        "[ssh_connection]\npipelining = True\n"
        f"control_path_dir = {work / 'ansible-cp'}\n"
    )


RECAP = re.compile(
    r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE
)


def recap(output: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP of ansible-playbook's default output, per host."""
    keys = ("ok", "changed", "unreachable", "failed")
    return {
        m[1]: dict(zip(keys, map(int, m.groups()[1:]), strict=True)) for m in RECAP.finditer(output)
    }


def ansible_failures(output: str) -> str:
    """Ansible's own words for what failed: its fatal/unreachable/ERROR lines."""
    marks = ("fatal: [", "UNREACHABLE!", "[ERROR]")
    bad = [line.strip() for line in output.splitlines() if any(m in line for m in marks)]
    return "".join(f"\n  {line[:400]}" for line in bad[:6])


def ansible_changed(output: str, hosts: Sequence[Host]) -> int:
    """Changed tasks over all hosts; raises ValueError unless every host is in the
    recap, reachable and without a failure."""
    seen = recap(output)
    ok = {"failed": 0, "unreachable": 0}
    bad = [h.name for h in hosts if {k: seen.get(h.name, {}).get(k) for k in ok} != ok]
    if bad:
        raise ValueError(f"not ok on {', '.join(bad)}")
    return sum(seen[h.name]["changed"] for h in hosts)


def run_ansible(venv: Path, forks: int, work: Path, lab: Lab, hosts: Sequence[Host]) -> Measured:
    inv, book = work / f"ansible-{len(hosts)}.yml", work / "site.yml"
    inv.write_text(yaml.safe_dump(ansible_inventory(hosts, lab.key, lab.known_hosts)))
    book.write_text(yaml.safe_dump(ansible_playbook(WORKLOAD / "site.yml"), sort_keys=False))
    shutil.copy(WORKLOAD / "app.conf.j2", work)  # the template, next to the playbook
    (work / "ansible.cfg").write_text(ansible_cfg(forks, work))
    env = peer_env(
        os.environ,
        {
            "ANSIBLE_CONFIG": str(work / "ansible.cfg"),
            "ANSIBLE_HOME": str(work / "ansible-home"),  # not root's ~/.ansible
            "ANSIBLE_NOCOLOR": "1",
        },
    )
    argv = [str(venv / "bin" / "ansible-playbook"), "-i", str(inv), str(book)]
    out, err = work / "ansible.out", work / "ansible.err"
    try:
        usage, per_host = timed([h.log for h in hosts], lambda: run(argv, out, err, work, env))
    finally:
        masters_cpu, masters_mb = close_masters(work / "ansible-cp")
    usage = replace(usage, cpu=usage.cpu + masters_cpu, peak_mb=max(usage.peak_mb, masters_mb))
    text = out.read_text(errors="replace")
    try:
        changed = ansible_changed(text, hosts)
    except ValueError as e:
        raise RuntimeError(
            f"ansible-playbook exited {usage.code}: {e}{ansible_failures(text) or _tail(err)}"
        ) from None
    if usage.code != 0:
        raise RuntimeError(f"ansible-playbook exited {usage.code}: {_tail(out)}")
    return usage, per_host, changed


# -- the ssh masters ansible leaves behind ---------------------------------------------

MASTER = re.compile(r"Master running \(pid=(\d+)\)")


def master_pid(check: str) -> int | None:
    """The pid in what `ssh -O check` says of a live master."""
    m = MASTER.search(check)
    return int(m[1]) if m else None


def proc_cpu(stat: str, ticks: int) -> float:
    """User + system seconds from /proc/PID/stat (fields 14, 15, after the comm)."""
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / ticks


def proc_peak_mb(status: str) -> float:
    """The peak resident set (VmHWM) from /proc/PID/status, in MB."""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def close_masters(control: Path) -> tuple[float, float]:
    """Stop the ssh masters ansible left (ControlPersist), each by its socket, and wait
    for them to go; return their CPU seconds and largest peak MB, which ansible's rusage
    lacks (a master detaches: nothing waits for it)."""
    cpu, peak, pids = 0.0, 0.0, []
    ticks = os.sysconf("SC_CLK_TCK")
    for sock in sorted(control.glob("*")) if control.is_dir() else []:
        ssh = ["ssh", "-F", "/dev/null", "-o", f"ControlPath={sock}"]
        check = subprocess.run([*ssh, "-O", "check", "bench"], capture_output=True, text=True)
        pid = master_pid(check.stderr)
        if pid is None:
            continue
        try:
            cpu += proc_cpu(Path(f"/proc/{pid}/stat").read_text(), ticks)
            peak = max(peak, proc_peak_mb(Path(f"/proc/{pid}/status").read_text()))
        except OSError:
            continue  # gone meanwhile
        subprocess.run([*ssh, "-O", "exit", "bench"], capture_output=True, check=False)
        pids.append(pid)
    _wait_gone(pids)
    return cpu, peak


def _wait_gone(pids: Iterable[int], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    for pid in pids:
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.02)


# -- both ----------------------------------------------------------------------------


def peer_env(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a peer's command: ours without PYTHONPATH (our tree is not
    theirs), plus `extra`."""
    return {**{k: v for k, v in base.items() if k != "PYTHONPATH"}, **extra}


def missing(venv: Path) -> list[str]:
    """What the peers need and this machine lacks."""
    tools = [venv / "bin" / "pyinfra", venv / "bin" / "ansible-playbook"]
    lacking = [f"{p} (make bench-peers installs it)" for p in tools if not p.exists()]
    lacking += [] if Path(TARGET_PYTHON).exists() else [f"{TARGET_PYTHON} (ansible's modules)"]
    return lacking + ([] if shutil.which("ssh") else ["ssh (openssh-client)"])


def versions(venv: Path) -> str:
    """'pyinfra 3.10.0, ansible-core 2.19.14', as installed in the venv."""
    code = "import importlib.metadata as m; print(m.version('pyinfra'), m.version('ansible-core'))"
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True
    )
    pyinfra, ansible = found.stdout.split()
    return f"pyinfra {pyinfra}, ansible-core {ansible}"


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:]
