"""get_url: real downloads with curl from file:// URLs in a temp dir."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules.base import CONVERGED, Change
from provisioner.modules.get_url import CURL_ERRORS, GetUrlModule, fetch
from tests.unit.modules.host import FakeHost, converge, observe, run_op, sh

BODY = b"#!/bin/sh\necho docker-compose 2.27.1\n"
SUM = "sha256:" + hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def served(tmp_path: Path) -> Path:
    """The 'remote' file, served as file://."""
    (tmp_path / "www").mkdir()
    f = tmp_path / "www" / "docker-compose"
    f.write_bytes(BODY)
    return f


@pytest.fixture
def dest_dir(tmp_path: Path) -> Path:
    d = tmp_path / "bin"
    d.mkdir()
    return d


def test_download_verify_and_converge(tmp_path: Path, served: Path, dest_dir: Path) -> None:
    dest = dest_dir / "docker-compose"
    module = GetUrlModule.from_dict(
        {"url": served.as_uri(), "dest": str(dest), "mode": "0755", "checksum": SUM}
    )
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change) and first.summary == (f"+ {dest}",)
    assert again is CONVERGED
    assert dest.read_bytes() == BODY and stat.S_IMODE(dest.stat().st_mode) == 0o755
    assert [p.name for p in dest_dir.iterdir()] == ["docker-compose"]


def test_checksum_mismatch_fails_and_leaves_nothing(
    tmp_path: Path, served: Path, dest_dir: Path
) -> None:
    dest = dest_dir / "docker-compose"
    wrong = "sha256:" + "0" * 64
    module = GetUrlModule.from_dict({"url": served.as_uri(), "dest": str(dest), "checksum": wrong})
    change = module.plan(observe(module))
    assert isinstance(change, Change)
    (op,) = module.commands(change)
    r = run_op(op, lambda s, e=None: sh(s, env=e), tmp_path)
    assert r.rc == 1
    assert (
        f"get_url: checksum mismatch for {served.as_uri()}: expected {wrong}, got {SUM}" in r.stderr
    )
    assert list(dest_dir.iterdir()) == []


def test_present_file_without_checksum_is_left_alone(served: Path, dest_dir: Path) -> None:
    dest = dest_dir / "docker-compose"
    dest.write_bytes(b"older\n")
    module = GetUrlModule.from_dict({"url": served.as_uri(), "dest": str(dest)})
    assert module.plan(observe(module)) is CONVERGED


def test_checksum_differs_downloads_again(tmp_path: Path, served: Path, dest_dir: Path) -> None:
    dest = dest_dir / "docker-compose"
    dest.write_bytes(b"older\n")
    dest.chmod(0o700)
    module = GetUrlModule.from_dict({"url": served.as_uri(), "dest": str(dest), "checksum": SUM})
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change) and first.summary == (f"~ {dest} (checksum differs)",)
    assert again is CONVERGED and dest.read_bytes() == BODY
    assert stat.S_IMODE(dest.stat().st_mode) == 0o700  # kept: the task sets no mode


def test_sha512_checksum(tmp_path: Path, served: Path, dest_dir: Path) -> None:
    dest = dest_dir / "f"
    s512 = "SHA512: " + hashlib.sha512(BODY).hexdigest().upper()
    first, again = converge(
        GetUrlModule.from_dict({"url": served.as_uri(), "dest": str(dest), "checksum": s512}),
        tmp_path,
    )
    assert isinstance(first, Change) and again is CONVERGED


def test_force_compares_with_what_the_url_serves(
    tmp_path: Path, served: Path, dest_dir: Path
) -> None:
    dest = dest_dir / "docker-compose"
    dest.write_bytes(BODY)
    module = GetUrlModule.from_dict({"url": served.as_uri(), "dest": str(dest), "force": True})
    assert module.plan(observe(module)) is CONVERGED  # same bytes: force still converges
    served.write_bytes(BODY + b"# new release\n")
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change) and first.summary == (f"~ {dest} (remote content differs)",)
    assert again is CONVERGED and dest.read_bytes() == BODY + b"# new release\n"


def test_force_with_unreachable_url(tmp_path: Path, dest_dir: Path) -> None:
    dest = dest_dir / "x"
    dest.write_bytes(b"x")
    module = GetUrlModule.from_dict(
        {"url": (tmp_path / "gone").as_uri(), "dest": str(dest), "force": True}
    )
    with pytest.raises(ProbeError, match="cannot fetch"):
        observe(module)


def test_mode_only(tmp_path: Path, served: Path, dest_dir: Path) -> None:
    dest = dest_dir / "docker-compose"
    dest.write_bytes(BODY)
    dest.chmod(0o644)
    module = GetUrlModule.from_dict(
        {"url": served.as_uri(), "dest": str(dest), "mode": "0755", "checksum": SUM}
    )
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change) and first.summary == ("mode: 0644 → 0755",)
    assert again is CONVERGED


def test_wget_when_curl_is_missing(tmp_path: Path, served: Path, dest_dir: Path) -> None:
    bin_dir = tmp_path / "nocurl"
    bin_dir.mkdir()
    tools = (
        "sh mktemp cat chmod chown mv rm sha256sum cut readlink stat sed base64 tr getent".split()
    )
    for tool in tools:
        found = shutil.which(tool)
        assert found
        (bin_dir / tool).symlink_to(found)
    # A wget that serves file:// like the real one serves http:// (wget -q -O FILE URL).
    (bin_dir / "wget").write_text(
        '#!/bin/sh\n[ "$1 $2" = "-q -O" ] || exit 2\nout=$3\n'
        'for url; do :; done\nexec cat "${url#file://}" > "$out"\n'
    )
    (bin_dir / "wget").chmod(0o755)
    dest = dest_dir / "docker-compose"
    module = GetUrlModule.from_dict({"url": served.as_uri(), "dest": str(dest), "checksum": SUM})
    first, again = converge(
        module, tmp_path, run=lambda s, e=None: sh(s, env={**(e or {}), "PATH": str(bin_dir)})
    )
    assert isinstance(first, Change) and again is CONVERGED and dest.read_bytes() == BODY


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"url": "docker.com/x", "dest": "/x"}, "must be http"),
        ({"url": "http://a b", "dest": "/x"}, "without spaces"),
        ({"url": "http://a", "dest": "/x", "checksum": "sha256:abc"}, "ALGO:HEX"),
        ({"url": "http://a", "dest": "/x", "checksum": "crc32:abcdef01"}, "ALGO:HEX"),
        ({"url": "http://a", "dest": "x"}, "absolute"),
        ({"url": "http://a", "dest": "/x", "timeout": 0}, "timeout"),
        ({"url": "http://a", "dest": "/x", "timeout": "soon"}, "timeout"),
        ({"url": "http://a", "dest": "/x", "validate_certs": "perhaps"}, "validate_certs"),
        ({"url": "http://a", "dest": "/x", "headers": {"A": "b"}}, "unknown argument 'headers'"),
    ],
)
def test_bad_args(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        GetUrlModule.from_dict(raw)


@pytest.mark.parametrize(
    ("wget_rc", "reason"),
    [
        (4, "could not connect"),
        (8, "HTTP error"),
        (6, "HTTP error"),
        (5, "TLS handshake failed"),
        (3, None),
    ],
)
def test_wget_failures_are_explained_like_curls(
    tmp_path: Path, wget_rc: int, reason: str | None
) -> None:
    bin_dir = tmp_path / "nocurl"
    bin_dir.mkdir()
    (bin_dir / "sh").symlink_to(shutil.which("sh") or "/bin/sh")
    (bin_dir / "wget").write_text(f"#!/bin/sh\nexit {wget_rc}\n")
    (bin_dir / "wget").chmod(0o755)
    r = sh(fetch("http://192.0.2.1/x", None) + '\necho "rc=$?"', env={"PATH": str(bin_dir)})
    rc = int(r.stdout.strip().rpartition("rc=")[2])
    assert CURL_ERRORS.get(rc) == reason
    assert rc != 0


def _curl_calls(tmp_path: Path, args: dict[str, Any]) -> list[list[str]]:
    """The argv of every curl the probe and the download run, for a dest that exists."""
    host = FakeHost(tmp_path / "host")
    host.on("curl", "*", "data")
    dest = tmp_path / "dest"
    dest.write_bytes(b"old")
    module = GetUrlModule.from_dict({"url": "https://example.com/f", "dest": str(dest), **args})
    out = host.run(module.probe())
    change = module.plan(module.parse(out.stdout, out.rc))
    assert isinstance(change, Change)
    for op in module.commands(change):
        assert run_op(op, host.run, tmp_path).rc == 0
    return host.calls("curl")


def test_timeout_and_validate_certs_reach_curl(tmp_path: Path) -> None:
    # As YAML and templates give them: a number as text, Ansible's "no".
    calls = _curl_calls(tmp_path, {"force": True, "timeout": "30", "validate_certs": "no"})
    opts = ["-k", "--connect-timeout", "30", "--speed-limit", "1", "--speed-time", "30"]
    assert calls[0] == ["curl", "-fsSL", *opts, "https://example.com/f"]  # the probe
    assert calls[1][: 2 + len(opts)] == ["curl", "-fsSL", *opts]  # the download
    assert calls[1][-3] == "-o" and calls[1][-1] == "https://example.com/f"


def test_certificates_are_checked_and_ten_seconds_by_default(tmp_path: Path) -> None:
    (probe, download) = _curl_calls(tmp_path, {"force": True})
    assert "-k" not in probe + download
    assert probe[2:4] == ["--connect-timeout", "10"]


def test_wget_gets_the_same_options() -> None:
    text = fetch("https://example.com/f", None, timeout=5, verify=False)
    assert "wget -q -O - --no-check-certificate --timeout=5 --tries=1 https://example.com/f" in text


def test_yaml_octal_mode_and_numeric_owner(tmp_path: Path, served: Path, dest_dir: Path) -> None:
    """`mode: 0755` unquoted is YAML 1.1's 493; `owner: 0` a number: both work."""
    raw = yaml.safe_load(f"url: {served.as_uri()}\ndest: {dest_dir}/f\nmode: 0755\ngroup: 0\n")
    assert raw["mode"] == 493 and raw["group"] == 0
    module = GetUrlModule.from_dict(raw)
    assert module.args.mode == "0755" and module.args.group == "0"
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change) and again is CONVERGED
    assert stat.S_IMODE((dest_dir / "f").stat().st_mode) == 0o755


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_owner_and_group_of_a_present_file(tmp_path: Path, served: Path, dest_dir: Path) -> None:
    dest = dest_dir / "f"
    dest.write_bytes(BODY)
    module = GetUrlModule.from_dict(
        {"url": served.as_uri(), "dest": str(dest), "owner": "nobody", "group": 65534}
    )
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change)
    assert first.summary == ("owner: root → nobody", "group: root → 65534")
    assert again is CONVERGED and dest.owner() == "nobody" and dest.stat().st_gid == 65534
