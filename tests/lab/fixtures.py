"""pytest fixtures for tests marked `lab`. In a conftest.py:

    from tests.lab.fixtures import lab, fresh_host  # noqa: F401  (re-exported fixtures)

`lab` (session scope) brings the lab up once with PROVISIONER_LAB_HOSTS hosts (default 3),
reusing a healthy running lab, and takes it down at the end unless PROVISIONER_LAB_KEEP=1
or it was already up before the session. It skips when not root, unless
PROVISIONER_LAB_REQUIRED=1 (then it fails, as CI should).
`fresh_host` (function scope) resets lab01 and yields it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .api import Host, Lab
from .system import LabError


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    required = os.environ.get("PROVISIONER_LAB_REQUIRED") == "1"
    if os.geteuid() != 0 and not required:
        pytest.skip("the lab needs root (network namespaces, mounts, systemd-nspawn)")
    n = int(os.environ.get("PROVISIONER_LAB_HOSTS", "3"))
    try:
        already_up = Lab.load()
    except LabError:
        already_up = None
    try:
        running = Lab.ensure(n)
    except LabError as exc:
        if required:
            raise
        pytest.skip(f"the lab cannot start here: {exc}")
    yield running
    if already_up is None and os.environ.get("PROVISIONER_LAB_KEEP") != "1":
        Lab.down()


@pytest.fixture
def fresh_host(lab: Lab) -> Host:
    host = lab.hosts[0]
    lab.reset(host)
    return host
