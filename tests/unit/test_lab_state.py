"""The lab's state file survives saves from parallel host resets (CI once lost a race)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.lab.state import HostState, LabState, Process


def test_parallel_saves_leave_one_whole_state_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = LabState(lower="/lower", repos="/repos")
    for i in range(1, 9):
        name = f"lab{i:02d}"
        state.hosts[name] = HostState(name, i, f"10.0.0.{i}", name, name, "/d", "/m")

    def save_many(name: str) -> None:
        for n in range(100):
            state.hosts[name].supervisor = Process(pid=n, start_time=None)
            state.save(path)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(save_many, state.hosts))

    loaded = LabState.load(path)
    assert loaded is not None
    assert {h.supervisor.pid for h in loaded.hosts.values() if h.supervisor} == {99}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
