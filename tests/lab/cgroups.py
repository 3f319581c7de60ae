"""The lab's own cgroup directories: where every process it starts lives.

Each host gets `provlab/<host>` (systemd-nspawn and the container; nspawn makes its
`supervisor/` and `payload/` inside) and `provlab/<host>.sup` (the small shell loop that
restarts nspawn after a reboot). The http server lives in `provlab/http`. They are made in
the cgroup2 hierarchy and, on a hybrid host, in the v1 `name=systemd` one, which is what
nspawn uses. Knowing the directories gives exact teardown (every PID in them is ours) and
freezing (cgroup2 `cgroup.freeze`).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from .config import CGROUP_PARENT
from .system import LabError, log, signal_pid


def hierarchies() -> list[Path]:
    """Mount points of the cgroup2 hierarchy and of the v1 name=systemd one, if any."""
    found: list[Path] = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields = right.split()
        if len(fields) < 3:
            continue
        fstype, options = fields[0], fields[2]
        mount_point = Path(left.split()[4])
        if fstype == "cgroup2" or (fstype == "cgroup" and "name=systemd" in options.split(",")):
            found.append(mount_point)
    if not any(_is_cgroup2(h) for h in found):
        raise LabError("no cgroup2 hierarchy is mounted; the lab needs one (for freezing)")
    return found


def _is_cgroup2(path: Path) -> bool:
    return (path / "cgroup.controllers").exists()


def unified_root() -> Path:
    return next(h for h in hierarchies() if _is_cgroup2(h))


def paths(name: str) -> list[str]:
    """The directories of one lab cgroup (e.g. 'lab01'), one per hierarchy."""
    return [str(h / CGROUP_PARENT / name) for h in hierarchies()]


def create(name: str) -> list[str]:
    made = paths(name)
    for p in made:
        Path(p).mkdir(parents=True, exist_ok=True)
    return made


def enter_script(dirs: list[str]) -> str:
    """Shell that moves the running shell ($$) into the given cgroup directories."""
    return "".join(f"echo $$ > '{d}/cgroup.procs' && " for d in dirs)


def pids_in(directory: Path) -> list[int]:
    """Every PID in a cgroup directory and its descendants."""
    found: list[int] = []
    if not directory.is_dir():
        return found
    for procs in directory.rglob("cgroup.procs"):
        try:
            found.extend(int(x) for x in procs.read_text().split())
        except OSError:
            continue
    return sorted(set(found))


def pids_of(dirs: list[str]) -> list[int]:
    return sorted({pid for d in dirs for pid in pids_in(Path(d))})


def set_frozen(dirs: list[str], frozen: bool) -> None:
    """Freeze or thaw a cgroup (cgroup2) and wait until the kernel says it is done."""
    unified = [Path(d) for d in dirs if (Path(d) / "cgroup.freeze").exists()]
    if not unified:
        raise LabError(f"no cgroup2 directory to freeze among {dirs}")
    for d in unified:
        (d / "cgroup.freeze").write_text("1" if frozen else "0")
    deadline = time.monotonic() + 10
    want = f"frozen {1 if frozen else 0}"
    for d in unified:
        while want not in (d / "cgroup.events").read_text().splitlines():
            if time.monotonic() > deadline:
                raise LabError(f"cgroup {d} did not reach '{want}'")
            time.sleep(0.02)


def kill_all(dirs: list[str]) -> None:
    """SIGKILL every process left in the cgroups (thawing first, or they would not die)."""
    for d in dirs:
        freeze = Path(d) / "cgroup.freeze"
        if freeze.exists():
            try:
                freeze.write_text("0")
            except OSError:
                pass
    deadline = time.monotonic() + 10
    while pids := pids_of(dirs):
        for pid in pids:
            signal_pid(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise LabError(f"processes {pids} survive SIGKILL in {dirs}")
        time.sleep(0.05)


def remove(dirs: list[str]) -> None:
    """Remove cgroup directories (deepest first); they must be empty of processes."""
    for d in dirs:
        root = Path(d)
        if not root.exists():
            continue
        subdirs = sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
        for sub in [*subdirs, root]:
            _rmdir_retry(sub)


def remove_parent_if_empty() -> None:
    for h in hierarchies():
        parent = h / CGROUP_PARENT
        if parent.is_dir() and not any(p.is_dir() for p in parent.iterdir()):
            _rmdir_retry(parent)


def _rmdir_retry(path: Path) -> None:
    # A cgroup whose last process just died may stay busy for a moment.
    for _ in range(100):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)
    log.warning("could not remove cgroup %s", path)


def lab_cgroup_names() -> list[str]:
    """Names of the lab cgroups that exist now (for a sweep without a state file)."""
    names: set[str] = set()
    for h in hierarchies():
        parent = h / CGROUP_PARENT
        if parent.is_dir():
            names.update(p.name for p in parent.iterdir() if p.is_dir())
    return sorted(names)
