"""The lab's Python package index: a PEP 503 "simple" index served with the repositories.

  pypi/simple/index.html                 the projects
  pypi/simple/lab-greet/index.html       links to its wheels, with their sha256
  pypi/packages/lab_greet-1.0-py3-none-any.whl, …-1.1-…   pure-Python wheels made here

Hosts' pip (`python3-pip`, packages.py: Debian's own pip wheel, run by the platform
Python) finds them with /etc/pip.conf's `index-url = http://10.66.0.1:8080/pypi/simple/`
and `trusted-host = 10.66.0.1` (pip ignores a plain-http index it does not trust).
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

PATH = "pypi"
PIP_WHEEL = "/usr/share/python-wheels/pip-*-py3-none-any.whl"  # Debian's python3-pip-whl
GREET_VERSIONS = ("1.0", "1.1")
# A fixed date for every member: the same wheel bytes on every build.
STAMP = (2024, 1, 1, 0, 0, 0)


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel(name: str, version: str, files: dict[str, str]) -> tuple[str, bytes]:
    """A pure-Python wheel of `files` (path in site-packages → text): its file name and
    bytes, with METADATA, WHEEL and a RECORD that pip checks."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    members = dict(files)
    members[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        "Summary: Says hello (provisioner lab)\n"
    )
    members[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: provisioner-lab\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [f"{p},sha256={_digest(t.encode())},{len(t.encode())}" for p, t in members.items()]
    members[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, text in members.items():
            zf.writestr(zipfile.ZipInfo(path, STAMP), text)
    return f"{dist}-{version}-py3-none-any.whl", out.getvalue()


def greet(version: str) -> tuple[str, bytes]:
    source = f'"""lab-greet {version}"""\n\n__version__ = "{version}"\n\n\n'
    source += f'def hello() -> str:\n    return "hello from lab-greet {version}"\n'
    return wheel("lab-greet", version, {"lab_greet/__init__.py": source})


def _page(links: list[str]) -> str:
    body = "\n".join(links)
    return f"<!DOCTYPE html>\n<html><body>\n{body}\n</body></html>\n"


def build(www: Path) -> None:
    """Write the index and its wheels under www/pypi/."""
    packages = www / PATH / "packages"
    project = www / PATH / "simple" / "lab-greet"
    packages.mkdir(parents=True)
    project.mkdir(parents=True)
    links = []
    for version in GREET_VERSIONS:
        filename, data = greet(version)
        (packages / filename).write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        links.append(f'<a href="../../packages/{filename}#sha256={sha}">{filename}</a><br>')
    (project / "index.html").write_text(_page(links))
    (www / PATH / "simple" / "index.html").write_text(_page(['<a href="lab-greet/">lab-greet</a>']))
