"""rpm_key: fingerprints computed here agree with gpg; plans from recorded rpm output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules.base import CONVERGED, Blocked, Change
from provisioner.modules.rpm_key import RpmKeyModule, key_fingerprint
from tests.unit.modules.host import RECORDED, FakeHost, rec, syntax_ok

KEYS = RECORDED / "keys"
BOOKWORM = KEYS / "debian-bookworm-stable.asc"
BOOKWORM_FP = "4D64FEC119C2029067D6E791F8D2585B8783D481"
DOCKER_FP = "060A 61C5 1B55 8A7F 742B  77AA C52F EB6B 621E 9F35"


@pytest.mark.parametrize(
    "name", ["debian-bookworm-stable.asc", "debian-bullseye-stable.asc", "nodesource.gpg"]
)
def test_fingerprint_agrees_with_gpg(name: str) -> None:
    colons = (KEYS / f"{name}.gpg-colons").read_text()
    assert key_fingerprint((KEYS / name).read_bytes()) == colons.split(":")[9]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n-----END PGP PUBLIC KEY BLOCK-----\n",
        b"\x99\x01",
    ],
)
def test_garbage_is_not_a_key(data: bytes) -> None:
    with pytest.raises(ValueError):
        key_fingerprint(data)


def _rpm(host: FakeHost, installed: str, has_short: bool = False) -> FakeHost:
    host.on(
        "rpm",
        '"-q gpg-pubkey --qf "*',
        installed,
        0 if installed.strip() != rec("rpm/not-installed-gpg-pubkey.txt").strip() else 1,
    )
    host.on("rpm", '"-q gpg-pubkey-"*', "", 0 if has_short else 1)
    return host.on("rpm", "*")


def _plan(host: FakeHost, args: dict[str, Any]) -> Any:
    module = RpmKeyModule.from_dict(args)
    assert syntax_ok(module.probe())
    out = host.run(module.probe())
    assert out.rc == 0, out.stderr
    return module, module.plan(module.parse(out.stdout, out.rc))


def test_known_fingerprint_needs_no_fetch(host: FakeHost) -> None:
    _rpm(host, rec("rpm/el9-rocky-gpg-pubkeys-docker.txt"), has_short=True)
    # Stubs, so a fetch would be logged here (and never reach the network).
    host.on("curl").on("wget")
    module = RpmKeyModule.from_dict(
        {"key": "https://download.docker.com/linux/centos/gpg", "fingerprint": DOCKER_FP}
    )
    out = host.run(module.probe())
    # No network on a converged rerun.
    assert host.calls("curl") == [] and host.calls("wget") == []
    state = module.parse(out.stdout, out.rc)
    assert state.key is None and module.plan(state) is CONVERGED
    assert host.calls("rpm")[1] == ["rpm", "-q", "gpg-pubkey-621e9f35"]


def test_import_checked_key(host: FakeHost) -> None:
    _rpm(host, rec("rpm/el7-gpg-pubkeys.txt"))
    module, change = _plan(host, {"key": str(BOOKWORM), "fingerprint": BOOKWORM_FP.lower()})
    assert isinstance(change, Change)
    assert change.summary == (
        "+ gpg-pubkey 8783d481 (4D64 FEC1 19C2 0290 67D6 E791 F8D2 585B 8783 D481)",
    )
    (op,) = module.commands(change)
    assert op.upload == BOOKWORM.read_bytes()  # the very bytes whose fingerprint was checked
    host.clear()
    src = host.root / "src"
    src.write_bytes(op.upload)
    assert host.run(op.script, {"PROVISION_SRC": str(src)}).rc == 0
    assert host.calls("rpm") == [["rpm", "--import", str(src)]]


def test_wrong_fingerprint_fails_in_the_dry_run(host: FakeHost) -> None:
    _rpm(host, rec("rpm/el7-gpg-pubkeys.txt"))
    module = RpmKeyModule.from_dict({"key": str(BOOKWORM), "fingerprint": DOCKER_FP})
    out = host.run(module.probe())
    with pytest.raises(ProbeError, match=r"has fingerprint 4D64 FEC1 .* expected 060A 61C5"):
        module.plan(module.parse(out.stdout, out.rc))


def test_without_fingerprint_the_key_is_read_each_run(host: FakeHost) -> None:
    _rpm(host, "350d275d-6279464b\n8783d481-63cf0a53\n")
    module, change = _plan(host, {"key": BOOKWORM.as_uri()})  # real curl, file://
    assert change is CONVERGED


def test_without_fingerprint_not_yet_imported(host: FakeHost) -> None:
    _rpm(host, rec("rpm/not-installed-gpg-pubkey.txt"))
    module, change = _plan(host, {"key": str(KEYS / "nodesource.gpg")})
    assert isinstance(change, Change) and change.summary[0].startswith("+ gpg-pubkey 9b1be0b4 ")


def test_key_file_not_there_yet_is_a_dependency(host: FakeHost, tmp_path: Path) -> None:
    _rpm(host, rec("rpm/el7-gpg-pubkeys.txt"))
    module = RpmKeyModule.from_dict({"key": str(tmp_path / "RPM-GPG-KEY-docker")})
    out = host.run(module.probe())
    blocked = module.plan(module.parse(out.stdout, out.rc))
    assert isinstance(blocked, Blocked)
    assert blocked.what == f"file {tmp_path}/RPM-GPG-KEY-docker"


def test_unreachable_url(host: FakeHost, tmp_path: Path) -> None:
    _rpm(host, rec("rpm/el7-gpg-pubkeys.txt"))
    module = RpmKeyModule.from_dict({"key": (tmp_path / "gone").as_uri()})
    out = host.run(module.probe())
    with pytest.raises(ProbeError, match="cannot fetch"):
        module.parse(out.stdout, out.rc)


def test_remove(host: FakeHost) -> None:
    _rpm(host, rec("rpm/el9-rocky-gpg-pubkeys-docker.txt"))
    module, change = _plan(
        host,
        {
            "key": "https://download.docker.com/linux/centos/gpg",
            "fingerprint": DOCKER_FP,
            "state": "absent",
        },
    )
    assert isinstance(change, Change) and change.summary == ("- gpg-pubkey 621e9f35",)
    host.clear()
    for op in module.commands(change):
        assert host.run(op.script).rc == 0
    assert host.calls("rpm") == [["rpm", "-e", "gpg-pubkey-621e9f35-58adea78"]]


def test_remove_absent(host: FakeHost) -> None:
    _rpm(host, rec("rpm/el9-rocky-gpg-pubkeys.txt"))
    _, change = _plan(host, {"key": "/k", "fingerprint": DOCKER_FP, "state": "absent"})
    assert change is CONVERGED


def test_not_a_key(host: FakeHost, tmp_path: Path) -> None:
    (tmp_path / "k").write_text("<html>404</html>\n")
    _rpm(host, rec("rpm/el7-gpg-pubkeys.txt"))
    module = RpmKeyModule.from_dict({"key": str(tmp_path / "k")})
    out = host.run(module.probe())
    with pytest.raises(ProbeError, match="not a usable public key"):
        module.plan(module.parse(out.stdout, out.rc))


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"key": "RPM-GPG-KEY"}, "URL or an absolute path"),
        ({"key": "/k", "fingerprint": "621E9F35"}, "40 hex digits"),
        ({"key": "/k", "fingerprint": "zz" * 20}, "40 hex digits"),
        ({"key": "/k", "validate_certs": False}, "unknown argument 'validate_certs'"),
    ],
)
def test_bad_args(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        RpmKeyModule.from_dict(raw)
