"""`python -m tests.lab record`: capture tests/unit/modules/recorded/ on lab hosts.

Plays the scenes of recordings.py (hosts in parallel, each host's scenes in order), runs
each capture as the transport runs a probe (`env LC_ALL=C sh -c CMD`, root over ssh),
checks its exit code, and only when every scene succeeded writes the files and SOURCES.md
(the manifest, rendered from recordings.py). `check=True` compares instead of writing;
`write_sources()` renders SOURCES.md alone, without a lab (for a new hand-written file).
A lab that was up before is left up (the hosts used are reset); one started here is taken
down again unless `keep`.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .api import Lab
from .config import REPO_ROOT
from .recordings import NOT_CAPTURED, SCENES, Capture, Do, Scene
from .system import LabError, log

RECORDED = REPO_ROOT / "tests" / "unit" / "modules" / "recorded"
SOURCES = "SOURCES.md"
N_HOSTS = 3
CAPTURED_BY = "captured by `python -m tests.lab record`"


def record(*, check: bool = False, keep: bool = False, out: Path = RECORDED) -> list[str]:
    """Capture every file; write what changed (unless `check`). Returns the changed paths."""
    was_up = _lab_is_up()
    lab = Lab.ensure(N_HOSTS)
    try:
        files = capture_all(lab)
    finally:
        if was_up:
            for host in sorted({s.host for s in SCENES}):
                lab.reset(host)
        elif not keep:
            Lab.down()
    files[SOURCES] = render_sources()
    changed = [path for path, text in sorted(files.items()) if _read(out / path) != text]
    if not check:
        for path in changed:
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            (out / path).write_text(files[path])
    return changed


def capture_all(lab: Lab) -> dict[str, str]:
    """{path under recorded/: stdout}, every scene played on its host."""
    by_host: dict[str, list[Scene]] = {}
    for scene in SCENES:
        by_host.setdefault(scene.host, []).append(scene)
    with ThreadPoolExecutor(max_workers=len(by_host)) as pool:
        parts = list(pool.map(lambda scenes: _play_all(lab, scenes), by_host.values()))
    return {path: text for part in parts for path, text in part.items()}


def _play_all(lab: Lab, scenes: list[Scene]) -> dict[str, str]:
    out: dict[str, str] = {}
    for scene in scenes:
        out.update(play(lab, scene))
    return out


def play(lab: Lab, scene: Scene) -> dict[str, str]:
    """Reset the scene's host (with its profile), then run its steps in order."""
    log.info("%s: %s", scene.host, scene.what)
    lab.reset(scene.host, profile=scene.profile)
    out: dict[str, str] = {}
    for step in scene.steps:
        if isinstance(step, Do):
            _do(lab, scene.host, step)
        else:
            out.update(_capture(lab, scene.host, step))
    return out


def probe_command(command: str) -> str:
    """What the transport sends for a probe (provisioner/transport/sudo.py, no become)."""
    return f"env LC_ALL=C sh -c {shlex.quote(command)}"


def _do(lab: Lab, host: str, step: Do) -> None:
    proc = lab.ssh(host, step.script, timeout=300)
    if proc.returncode != 0:
        raise LabError(
            f"{host}: setting up failed (exit {proc.returncode}):\n{step.script}\n"
            f"{(proc.stderr or proc.stdout).strip()}"
        )


def _capture(lab: Lab, host: str, step: Capture) -> dict[str, str]:
    proc = lab.ssh(host, probe_command(step.command))
    if proc.returncode != step.rc:
        raise LabError(
            f"{host}: `{step.command}` exited {proc.returncode}, not {step.rc}: the host is "
            f"not in the state {step.path} records\n{proc.stdout}{proc.stderr}".rstrip()
        )
    log.debug("%s: %s -> %s", host, step.command, step.path)
    got = {step.path: proc.stdout}
    if step.stderr_path:
        got[step.stderr_path] = proc.stderr
    return got


def write_sources(*, check: bool = False, out: Path = RECORDED) -> bool:
    """Rewrite only SOURCES.md (no lab: after editing NOT_CAPTURED); True if it changed."""
    text = render_sources()
    if _read(out / SOURCES) == text:
        return False
    if not check:
        (out / SOURCES).write_text(text)
    return True


def _lab_is_up() -> bool:
    try:
        Lab.load()
    except LabError:
        return False
    return True


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


# --- SOURCES.md --------------------------------------------------------------------------

HEADER = """# Where each recorded file comes from

Rendered by `python -m tests.lab record` from `tests/lab/recordings.py`: edit that, not
this. A captured file is the stdout of its command, run on the lab host named, as root over
ssh, exactly as the transport runs a probe: `env LC_ALL=C sh -c 'COMMAND'`, after the
host was reset (with the profile named) and put into the state described. Underneath every
profile the lab is Debian 12's rpm 4.18, dnf 4.14 (also as `yum`) and systemd 252.

"""
COLUMNS = ("file", "source", "command", "host", "exit", "situation")


def render_sources() -> str:
    rows = dict(_rows())
    kinds = [row[0] for row in rows.values()]
    counts = ", ".join(f"{kinds.count(k)} {k}" for k in ("captured", "hand-written", "copied"))
    lines = [
        HEADER + f"{len(rows)} files: {counts}.\n",
        _line(COLUMNS),
        _line(("---",) * len(COLUMNS)),
    ]
    for path in sorted(rows):
        kind, *rest = rows[path]
        source = CAPTURED_BY if kind == "captured" else kind
        lines.append(_line((f"`{path}`", source, *rest)))
    return "\n".join(lines) + "\n"


def _rows() -> Iterator[tuple[str, tuple[str, ...]]]:
    """(path, (kind, command, host, exit, situation)) for every file, each path once."""
    seen: set[str] = set()
    for path, row in _captured_rows():
        if path in seen:
            raise LabError(f"{path} is recorded twice in recordings.py")
        seen.add(path)
        yield path, row
    for item in NOT_CAPTURED:
        if item.path in seen:
            raise LabError(f"{item.path} is both captured and listed in NOT_CAPTURED")
        seen.add(item.path)
        yield item.path, (item.kind, "", "", "", item.reason)


def _captured_rows() -> Iterator[tuple[str, tuple[str, ...]]]:
    for scene in SCENES:
        where = f"{scene.host}, {scene.profile or 'default'} profile"
        done = [f"{scene.what}: reset"]
        for step in scene.steps:
            if isinstance(step, Do):
                done.append(step.label)
                continue
            situation = "; ".join(done) + (f". {step.note}" if step.note else "")
            yield step.path, ("captured", f"`{step.command}`", where, str(step.rc), situation)
            if step.stderr_path:
                stderr_of = f"`{step.command}` (its stderr)"
                yield step.stderr_path, ("captured", stderr_of, where, str(step.rc), situation)


def _line(cells: tuple[str, ...]) -> str:
    for cell in cells:
        if "|" in cell or "\n" in cell:
            raise LabError(f"a SOURCES.md cell cannot hold '|' or a newline: {cell!r}")
    return "| " + " | ".join(cells) + " |"
