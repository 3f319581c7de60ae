"""Programs installed on lab hosts by the stand-in Docker packages.

They run there under /usr/libexec/platform-python (not on PATH), so they import only the
standard library; the controller never imports them, it only reads their source.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent


def source(name: str) -> str:
    """The text of one stand-in program, e.g. source('dockerd')."""
    return (HERE / f"{name}.py").read_text()
