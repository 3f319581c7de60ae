"""`make bench`: the floor and `provision` on the same workload and loopback hosts,
N = 1, 10, 50, 200 (BENCH_MAX caps or extends: 10, 500), first apply and no-change
rerun, several runs per point; one table of medians and ratios to the floor, and
bench/results/<date>/bench.csv + table.txt. See bench/README.md."""

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

from bench.lab import Host, Lab, cleanup, write_inventory
from bench.measure import Usage, run, timed
from bench.table import Sample, render, to_csv

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = ROOT / "bench" / "workload" / "site.yml"
SIZES = (1, 10, 50, 200, 500)
DEFAULT_MAX = 200
CHANGED_PER_HOST = 7  # the nine items, less the read-only check and the package check


def sizes(maximum: int) -> list[int]:
    """The N of the sweep: the usual ones up to `maximum`, and `maximum` itself."""
    if maximum < 1:
        raise ValueError("BENCH_MAX must be at least 1")
    picked = [n for n in SIZES if n <= maximum]
    return picked if maximum in picked else [*picked, maximum]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    env = os.environ
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--max", type=int, default=int(env.get("BENCH_MAX", DEFAULT_MAX)))
    p.add_argument("--runs", type=int, default=int(env.get("BENCH_RUNS", 3)))
    p.add_argument("--forks", type=int, default=int(env.get("BENCH_FORKS", 10)))
    p.add_argument("--port", type=int, default=int(env.get("BENCH_PORT", 2222)))
    p.add_argument(
        "--provision",
        default=env.get("BENCH_PROVISION", str(Path(sys.executable).with_name("provision"))),
        help="the provision command (shell words), default the venv's",
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


MEASURES = {"floor": measure_floor, "provision": measure_provision}


def sweep(lab: Lab, tools: Tools, ns: Sequence[int], runs: int) -> list[Sample]:
    """Per N and run: each tool after a reset (first apply), then again (rerun); the
    tools take turns at going first."""
    samples = []
    for n in ns:
        hosts = lab.hosts[:n]
        for r in range(1, runs + 1):
            order = ("floor", "provision") if r % 2 else ("provision", "floor")
            for tool in order:
                lab.reset(hosts)
                for phase in ("first", "rerun"):
                    s = replace(MEASURES[tool](tools, lab, hosts, phase), run=r)
                    say(f"N={n} run {r}/{runs} {tool} {phase}: {s.wall:.2f} s, {s.execs:g} execs")
                    samples.append(s)
    return samples


def crosscheck(lab: Lab, tools: Tools, hosts: Sequence[Host]) -> None:
    """Both tools do the same work: after either one's first apply, the other finds
    nothing to change (raises otherwise). Not measured."""
    for first, then in (("provision", "floor"), ("floor", "provision")):
        lab.reset(hosts)
        MEASURES[first](tools, lab, hosts, "first")
        try:
            MEASURES[then](tools, lab, hosts, "rerun")
        except RuntimeError as e:
            raise RuntimeError(f"after {first}'s first apply: {e}") from None
    say(f"bench: cross-check passed: each tool leaves what the other wants ({len(hosts)} hosts)")


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


def title(when: datetime, forks: int, runs: int) -> list[str]:
    return [
        f"provisioner bench, {when:%Y-%m-%d %H:%M} UTC, commit {commit()}",
        f"machine: {machine()}",
        f"forks {forks} (both tools), {runs} runs per point, medians; ratio = provision / floor",
        "",
    ]


def preflight() -> list[str]:
    """What this machine lacks for the benchmark (root; sshd and the tools it runs)."""
    missing = [] if os.geteuid() == 0 else ["root (it starts sshds and adds users)"]
    for tool in ("/usr/sbin/sshd", "ssh-keygen", "rpm", "rpmbuild", "useradd", "getent"):
        if shutil.which(tool) is None:
            missing.append(tool)
    return missing


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: teardown runs


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cleanup:
        for line in cleanup(args.base) if args.base.exists() else ["nothing to clean up"]:
            say(line)
        return 0
    missing = preflight()
    if missing:
        say(f"bench: needs {', '.join(missing)} (make deps installs the packages)")
        return 1
    if args.base.exists():
        say(f"{args.base} exists: a run is going on, or one was killed (then: --cleanup)")
        return 1
    ns = sizes(args.max)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    when = datetime.now(timezone.utc)
    lab = Lab(args.base, max(ns), args.port, args.first_host)
    try:
        say(f"bench: {max(ns)} loopback hosts on 127.0.1.X:{args.port} ...")
        lab.up()
        work = args.base / "work"
        work.mkdir()
        tools = Tools(shlex.split(args.provision), args.forks, work)
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
    table = render(samples, title(when, args.forks, args.runs))
    (out / "bench.csv").write_text(to_csv(samples))
    (out / "table.txt").write_text(table)
    print(table, end="")
    say(f"bench: wrote {out / 'bench.csv'} and {out / 'table.txt'}")
    return 0
