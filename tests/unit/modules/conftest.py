from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.modules.host import FakeHost


@pytest.fixture
def host(tmp_path: Path) -> FakeHost:
    (tmp_path / "host").mkdir()
    return FakeHost(tmp_path / "host")
