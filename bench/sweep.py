"""`make bench`: the floor and `provision` on the same workload and loopback hosts,
N = 1, 10, 50, 200 (BENCH_MAX caps or extends: 10, 500), first apply and no-change
rerun, several runs per point; one table of medians and ratios to the floor, and
bench/results/<date>/bench.csv + table.txt. `make bench-peers` (--peers VENV) adds
pyinfra and ansible-core (ansible up to N = 50). See bench/README.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType

from bench import peers
from bench.lab import Host, Lab, cleanup, write_inventory
from bench.measure import Usage, run, timed
from bench.table import Sample, render, to_csv

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = ROOT / "bench" / "workload" / "site.yml"
SIZES = (1, 10, 50, 200, 500)
DEFAULT_MAX = 200
CHANGED_PER_HOST = 7  # the nine items, less the read-only check and the package check


def sizes(maximum: int, minimum: int = 1) -> list[int]:
    """The N of the sweep: the usual ones from `minimum` up to `maximum`, and `maximum`
    itself (BENCH_MIN=500 BENCH_MAX=500: only N = 500)."""
    if maximum < 1:
        raise ValueError("BENCH_MAX must be at least 1")
    if not 1 <= minimum <= maximum:
        raise ValueError("BENCH_MIN must be at least 1 and at most BENCH_MAX")
    picked = [n for n in SIZES if minimum <= n <= maximum]
    return picked if maximum in picked else [*picked, maximum]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    env = os.environ
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--max", type=int, default=int(env.get("BENCH_MAX", DEFAULT_MAX)))
    p.add_argument("--min", type=int, default=int(env.get("BENCH_MIN", 1)))
    p.add_argument("--runs", type=int, default=int(env.get("BENCH_RUNS", 3)))
    p.add_argument("--forks", type=int, default=int(env.get("BENCH_FORKS", 10)))
    p.add_argument("--port", type=int, default=int(env.get("BENCH_PORT", 2222)))
    p.add_argument(
        "--provision",
        default=env.get("BENCH_PROVISION", str(Path(sys.executable).with_name("provision"))),
        help="the provision command (shell words), default the venv's",
    )
    p.add_argument(
        "--peers",
        type=Path,
        default=env.get("BENCH_PEERS") or None,
        help="a venv with pyinfra and ansible-core: measure them too (make bench-peers)",
    )
    p.add_argument(
        "--ansible-max",
        type=int,
        default=int(env.get("BENCH_ANSIBLE_MAX", peers.ANSIBLE_MAX)),
        help="ansible runs at N up to this (default %(default)s)",
    )
    p.add_argument(
        "--first-host",
        type=int,
        default=int(env.get("BENCH_FIRST_HOST", 1)),
        help="index of the first host (127.0.1.X, bench_uXXX), to run beside another lab",
    )
    p.add_argument("--base", type=Path, default=Path("/tmp/provisioner-bench"))
    p.add_argument("--out", type=Path, help="default bench/results/<YYYY-MM-DD>")
    p.add_argument("--cleanup", action="store_true", help="clean up after a killed run, only")
    return p.parse_args(argv)


@dataclass(frozen=True)
class Tools:
    provision: list[str]
    forks: int
    work: Path  # inventories, specs and outputs of the runs
    peers_venv: Path | None = None  # the peers' venv, if they are measured
    ansible_max: int = peers.ANSIBLE_MAX

    def at(self, n: int) -> tuple[str, ...]:
        """The tools measured at N hosts."""
        return peers.tools_at(n, self.peers_venv is not None, self.ansible_max)


def measure_provision(tools: Tools, lab: Lab, hosts: Sequence[Host], phase: str) -> Sample:
    inv = tools.work / f"inventory-{len(hosts)}.yml"
    write_inventory(inv, hosts, lab.key, lab.known_hosts)
    argv = [*tools.provision, "apply", "-i", str(inv), str(PLAYBOOK)]
    argv += ["--forks", str(tools.forks), "-o", "json"]
    out, err = tools.work / "provision.json", tools.work / "provision.err"
    usage, per_host = _timed(hosts, lambda: run(argv, out, err, ROOT))
    if usage.code != 0:
        raise RuntimeError(f"provision exited {usage.code}: {_failures(out) or _tail(err)}")
    recap = json.loads(out.read_text())["hosts"]
    changed = sum(r["changed"] for r in recap.values())
    return _sample(len(hosts), phase, "provision", usage, per_host, changed)


def measure_floor(tools: Tools, lab: Lab, hosts: Sequence[Host], phase: str) -> Sample:
    spec = tools.work / f"floor-{len(hosts)}.json"
    spec.write_text(json.dumps(floor_spec(lab, hosts)))
    argv = [sys.executable, "-m", "bench.floor", str(spec), "--forks", str(tools.forks)]
    out, err = tools.work / "floor.out", tools.work / "floor.err"
    usage, per_host = _timed(hosts, lambda: run(argv, out, err, ROOT))
    results = [json.loads(line) for line in out.read_text().splitlines()]
    if usage.code != 0 or len(results) != len(hosts):
        bad = [r for r in results if r["rc"] != 0][:3]
        raise RuntimeError(f"the floor exited {usage.code}: {bad or _tail(err)}")
    changed = sum(r["changed"] for r in results)
    return _sample(len(hosts), phase, "floor", usage, per_host, changed)


def floor_spec(lab: Lab, hosts: Sequence[Host]) -> dict[str, object]:
    return {
        "key": str(lab.key),
        "known_hosts": str(lab.known_hosts),
        "hosts": [
            {"name": h.name, "address": h.address, "port": h.port, "root": str(h.root), "id": h.id}
            for h in hosts
        ],
    }


def _timed(
    hosts: Sequence[Host], command: Callable[[], Usage]
) -> tuple[Usage, tuple[float, float]]:
    return timed([h.log for h in hosts], command)


def _sample(
    n: int, phase: str, tool: str, usage: Usage, per_host: tuple[float, float], changed: int
) -> Sample:
    want = CHANGED_PER_HOST * n if phase == "first" else 0
    if changed != want:
        raise RuntimeError(f"{tool} {phase} on {n} hosts changed {changed} items, not {want}")
    execs, logins = per_host
    return Sample(n, phase, tool, 0, usage.wall, usage.cpu, usage.peak_mb, execs, logins, changed)


def _failures(report: Path) -> str:
    """The failed and unreachable results of a provision -o json report, one a line."""
    try:
        results = json.loads(report.read_text())["results"]
    except (OSError, ValueError, KeyError):
        return ""
    bad = [r for r in results if r["status"] in ("failed", "unreachable")]
    return "".join(f"\n  {r['host']} {r['task']}: {r['status']}: {r['msg']}" for r in bad)


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:]


def measure_pyinfra(tools: Tools, lab: Lab, hosts: Sequence[Host], phase: str) -> Sample:
    assert tools.peers_venv is not None
    venv, forks, work = tools.peers_venv, tools.forks, tools.work
    usage, per_host, changed = peers.run_pyinfra(venv, forks, work, lab, hosts)
    return _sample(len(hosts), phase, "pyinfra", usage, per_host, changed)


def measure_ansible(tools: Tools, lab: Lab, hosts: Sequence[Host], phase: str) -> Sample:
    assert tools.peers_venv is not None
    venv, forks, work = tools.peers_venv, tools.forks, tools.work
    usage, per_host, changed = peers.run_ansible(venv, forks, work, lab, hosts)
    return _sample(len(hosts), phase, "ansible", usage, per_host, changed)


MEASURES = {
    "floor": measure_floor,
    "provision": measure_provision,
    "pyinfra": measure_pyinfra,
    "ansible": measure_ansible,
}


def sweep(lab: Lab, tools: Tools, ns: Sequence[int], runs: int) -> list[Sample]:
    """Per N and run: each tool after a reset (first apply), then again (rerun); the
    tools take turns at going first."""
    samples = []
    for n in ns:
        hosts = lab.hosts[:n]
        for r in range(1, runs + 1):
            for tool in peers.turns(tools.at(n), r):
                lab.reset(hosts)
                for phase in ("first", "rerun"):
                    s = replace(MEASURES[tool](tools, lab, hosts, phase), run=r)
                    say(f"N={n} run {r}/{runs} {tool} {phase}: {s.wall:.2f} s, {s.execs:g} execs")
                    samples.append(s)
    return samples


def crosscheck(lab: Lab, tools: Tools, hosts: Sequence[Host]) -> None:
    """The tools do the same work: after the floor's or a peer's first apply provision
    finds nothing to change, and they find nothing after provision's (raises
    otherwise). Not measured."""
    others = [t for t in tools.at(len(hosts)) if t != "provision"]
    for first, then in [p for t in others for p in (("provision", t), (t, "provision"))]:
        lab.reset(hosts)
        MEASURES[first](tools, lab, hosts, "first")
        try:
            MEASURES[then](tools, lab, hosts, "rerun")
        except RuntimeError as e:
            raise RuntimeError(f"after {first}'s first apply: {e}") from None
    pairs = f"provision and {', '.join(others)}"
    say(f"bench: cross-check passed: {pairs} each leave what the other wants ({len(hosts)} hosts)")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def machine() -> str:
    """This machine, in one line: CPUs, architecture, memory, kernel, Python, OpenSSH."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = " (" + line.partition(":")[2].strip() + ")"
            break
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True, check=False).stderr
    return (
        f"{os.cpu_count()} CPUs{model}, {platform.machine()}, {pages / 2**30:.0f} GiB,"
        f" Linux {platform.release()}, Python {platform.python_version()},"
        f" {ssh.split(',')[0].strip()}"
    )


def commit() -> str:
    found = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or "unknown"


def title(
    when: datetime, forks: int, runs: int, peers_note: str = "", measured: str = ""
) -> list[str]:
    """The table's head; `peers_note` (their versions, ansible's cap) when they ran;
    `measured`: the commit as the run began (the tree may move while it runs)."""
    if peers_note:
        how = f"parallelism {forks} (every tool), {runs} runs per point, medians"
        how += f"; ratio = tool / floor; {peers_note}"
    else:
        how = f"forks {forks} (both tools), {runs} runs per point, medians"
        how += "; ratio = provision / floor"
    return [
        f"provisioner bench, {when:%Y-%m-%d %H:%M} UTC, commit {measured or commit()}",
        f"machine: {machine()}",
        how,
        "",
    ]


def preflight(peers_venv: Path | None = None) -> list[str]:
    """What this machine lacks for the benchmark (root; sshd and the tools it runs;
    the peers, if asked for)."""
    missing = [] if os.geteuid() == 0 else ["root (it starts sshds and adds users)"]
    for tool in ("/usr/sbin/sshd", "ssh-keygen", "rpm", "rpmbuild", "useradd", "getent"):
        if shutil.which(tool) is None:
            missing.append(f"{tool} (make deps installs it)")
    return missing + (peers.missing(peers_venv) if peers_venv else [])


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: teardown runs


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cleanup:
        for line in cleanup(args.base) if args.base.exists() else ["nothing to clean up"]:
            say(line)
        return 0
    missing = preflight(args.peers)
    if missing:
        say(f"bench: needs {', '.join(missing)}")
        return 1
    if args.base.exists():
        say(f"{args.base} exists: a run is going on, or one was killed (then: --cleanup)")
        return 1
    try:
        ns = sizes(args.max, args.min)
    except ValueError as e:
        say(f"bench: {e}")
        return 1
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    when, measured = datetime.now(timezone.utc), commit()
    lab = Lab(args.base, max(ns), args.port, args.first_host)
    note = f"{peers.versions(args.peers)}; ansible at N <= {args.ansible_max}" if args.peers else ""
    try:
        say(f"bench: {max(ns)} loopback hosts on 127.0.1.X:{args.port} ...")
        lab.up()
        work = args.base / "work"
        work.mkdir()
        provision = shlex.split(args.provision)
        venv = args.peers.absolute() if args.peers else None  # the peers run in work/
        tools = Tools(provision, args.forks, work, venv, args.ansible_max)
        crosscheck(lab, tools, lab.hosts[:2])
        samples = sweep(lab, tools, ns, args.runs)
    except KeyboardInterrupt:
        say("bench: interrupted")
        return 130
    except RuntimeError as e:  # a tool failed, or did not do what the workload says
        say(f"bench: {e}")
        return 1
    finally:
        say("bench: stopping the sshds, removing the bench accounts and state")
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C would leave things behind
        lab.down()
    out = args.out or ROOT / "bench" / "results" / f"{when:%Y-%m-%d}"
    out.mkdir(parents=True, exist_ok=True)
    table = render(samples, title(when, args.forks, args.runs, note, measured))
    suffix = "-peers" if args.peers else ""  # beside make bench's of the same day
    csv, txt = out / f"bench{suffix}.csv", out / f"table{suffix}.txt"
    csv.write_text(to_csv(samples))
    txt.write_text(table)
    print(table, end="")
    say(f"bench: wrote {csv} and {txt}")
    return 0
