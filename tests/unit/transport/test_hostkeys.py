"""The known_hosts policy, with keys generated in the test."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import paramiko
import pytest

from provisioner.errors import HostKeyError
from provisioner.transport.hostkeys import (
    HostKeyChecker,
    HostKeyPolicy,
    KnownHosts,
    fingerprint,
    hostnames_match,
    known_hosts_name,
)

NAME = "[10.0.0.5]:2222"


@pytest.fixture(scope="module")
def key() -> paramiko.PKey:
    return paramiko.ECDSAKey.generate()


@pytest.fixture(scope="module")
def other() -> paramiko.PKey:
    return paramiko.ECDSAKey.generate()


@pytest.fixture(scope="module")
def rsa() -> paramiko.PKey:
    return paramiko.RSAKey.generate(1024)


def line(name: str, k: paramiko.PKey) -> str:
    return f"{name} {k.get_name()} {k.get_base64()}\n"


def checker(
    files: list[Path], policy: HostKeyPolicy, save_to: Path | None = None, name: str = NAME
) -> HostKeyChecker:
    return HostKeyChecker(
        host="web1",
        where="10.0.0.5:2222",
        name=name,
        policy=policy,
        known_hosts=KnownHosts([str(f) for f in files], str(save_to) if save_to else None),
    )


def test_known_hosts_name() -> None:
    assert known_hosts_name("h", 22) == "h"
    assert known_hosts_name("h", 2222) == "[h]:2222"


def test_fingerprint_matches_paramiko(key: paramiko.PKey) -> None:
    assert fingerprint(key.asbytes()) == key.fingerprint


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_fingerprint_matches_openssh(key: paramiko.PKey, tmp_path: Path) -> None:
    pub = tmp_path / "k.pub"
    pub.write_text(f"{key.get_name()} {key.get_base64()}\n")
    out = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True)
    assert fingerprint(key.asbytes()) in out.stdout


@pytest.mark.parametrize("policy", ["strict", "accept-new", "off"])
def test_known_key_is_accepted(policy: HostKeyPolicy, key: paramiko.PKey, tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    kh.write_text("# comment\n\n" + line("other", key) + line(NAME, key))
    c = checker([kh], policy)
    c.check(key)
    assert c.checked


def test_unknown_host_strict_is_refused(key: paramiko.PKey, tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    with pytest.raises(HostKeyError) as exc:
        checker([kh], "strict", save_to=kh).check(key)
    msg = str(exc.value)
    assert msg.startswith("web1: ")
    assert "10.0.0.5:2222" in msg and "not known" in msg
    assert key.fingerprint in msg
    assert "ssh-keyscan -p 2222 10.0.0.5" in msg and "accept-new" in msg
    assert not kh.exists()


def test_accept_new_saves_then_accepts(key: paramiko.PKey, tmp_path: Path) -> None:
    kh = tmp_path / "new" / "dir" / "known_hosts"
    checker([kh], "accept-new", save_to=kh).check(key)
    assert kh.read_text() == line(NAME, key)
    assert stat.S_IMODE(kh.stat().st_mode) == 0o600
    assert stat.S_IMODE(kh.parent.stat().st_mode) == 0o700
    # paramiko (and so OpenSSH's format) reads it back
    hk = paramiko.HostKeys(str(kh))
    assert hk.lookup(NAME) is not None
    # now known: even strict accepts, and nothing is added twice
    checker([kh], "strict").check(key)
    checker([kh], "accept-new", save_to=kh).check(key)
    assert kh.read_text().count("\n") == 1


def test_accept_new_appends_after_a_line_without_newline(
    key: paramiko.PKey, other: paramiko.PKey, tmp_path: Path
) -> None:
    kh = tmp_path / "known_hosts"
    kh.write_text(line("elsewhere", other).rstrip("\n"))
    checker([kh], "accept-new", save_to=kh).check(key)
    assert kh.read_text() == line("elsewhere", other) + line(NAME, key)


@pytest.mark.parametrize("policy", ["strict", "accept-new"])
def test_changed_key_is_always_refused(
    policy: HostKeyPolicy, key: paramiko.PKey, other: paramiko.PKey, tmp_path: Path
) -> None:
    lab = tmp_path / "lab_known_hosts"
    user = tmp_path / "known_hosts"
    lab.write_text("")
    user.write_text("# first\n" + line("someone", key) + line(NAME, other))
    before = user.read_text()
    with pytest.raises(HostKeyError) as exc:
        checker([lab, user], policy, save_to=lab).check(key)
    msg = str(exc.value)
    assert "CHANGED" in msg
    assert key.fingerprint in msg  # what the host offers now
    assert other.fingerprint in msg  # what we knew
    assert f"{user}:3" in msg  # which file and line to fix
    assert f"ssh-keygen -R '{NAME}' -f {user}" in msg
    assert user.read_text() == before and lab.read_text() == ""


def test_known_with_another_key_type_counts_as_changed(
    key: paramiko.PKey, rsa: paramiko.PKey, tmp_path: Path
) -> None:
    kh = tmp_path / "known_hosts"
    kh.write_text(line(NAME, rsa))
    with pytest.raises(HostKeyError, match="only other key types") as exc:
        checker([kh], "accept-new", save_to=kh).check(key)
    assert f"{kh}:1" in str(exc.value)


def test_off_accepts_anything_and_saves_nothing(
    key: paramiko.PKey, other: paramiko.PKey, tmp_path: Path
) -> None:
    kh = tmp_path / "known_hosts"
    kh.write_text(line(NAME, other))
    c = checker([kh], "off", save_to=kh)
    c.check(key)
    assert c.checked
    assert kh.read_text() == line(NAME, other)
    checker([tmp_path / "none"], "off", save_to=tmp_path / "none").check(key)
    assert not (tmp_path / "none").exists()


def test_revoked_key_is_refused(key: paramiko.PKey, tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    kh.write_text("@revoked * " + line("", key).strip() + "\n" + line(NAME, key))
    with pytest.raises(HostKeyError, match="revoked"):
        checker([kh], "accept-new", save_to=kh).check(key)


def test_cert_authority_lines_do_not_count(
    key: paramiko.PKey, other: paramiko.PKey, tmp_path: Path
) -> None:
    kh = tmp_path / "known_hosts"
    kh.write_text("@cert-authority * " + line("", other).strip() + "\n")
    checker([kh], "accept-new", save_to=kh).check(key)  # unknown → saved, not "changed"


def test_hashed_entries(key: paramiko.PKey, other: paramiko.PKey, tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    hashed = paramiko.HostKeys.hash_host(NAME)
    kh.write_text(line(paramiko.HostKeys.hash_host("other"), other) + line(hashed, key))
    checker([kh], "strict").check(key)
    with pytest.raises(HostKeyError, match=f"{kh}:2"):
        checker([kh], "strict").check(other)


def test_port_matters(key: paramiko.PKey, tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    kh.write_text(line("10.0.0.5", key))  # port 22 entry
    with pytest.raises(HostKeyError, match="not known"):
        checker([kh], "strict").check(key)
    checker([kh], "strict", name="10.0.0.5").check(key)


def test_several_files_are_read(key: paramiko.PKey, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    b.write_text(line(f"alias,{NAME}", key))
    checker([a, b], "strict").check(key)


def test_a_file_changed_since_it_was_read_is_read_again(
    key: paramiko.PKey, other: paramiko.PKey, tmp_path: Path
) -> None:
    # Files are read once per run and kept: an edit (a key replaced by hand, one saved
    # by another run) must still count at the next check.
    kh = tmp_path / "known_hosts"
    kh.write_text(line(NAME, key))
    checker([kh], "strict").check(key)
    kh.write_text(line(NAME, other))
    with pytest.raises(HostKeyError, match="CHANGED"):
        checker([kh], "strict").check(key)
    kh.write_text(line(NAME, other) + line("other-host", key))
    checker([kh], "strict").check(other)


def test_entries_keep_file_order_across_plain_and_patterned_lines(
    key: paramiko.PKey, other: paramiko.PKey, tmp_path: Path
) -> None:
    kh = tmp_path / "known_hosts"
    kh.write_text(line("[10.0.0.*]:2222", other) + line(NAME, key) + "@revoked " + line("*", key))
    found = KnownHosts([str(kh)]).entries(NAME)
    assert [(e.line, e.marker) for e in found] == [(1, None), (2, None), (3, "@revoked")]


def test_unreadable_lines_are_skipped(key: paramiko.PKey, tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    kh.write_text(f"{NAME} ssh-ed25519 !!!notbase64\n{NAME}\n" + line(NAME, key))
    checker([kh], "strict").check(key)


@pytest.mark.parametrize(
    ("field", "name", "expected"),
    [
        ("host", "host", True),
        ("HOST", "host", True),
        ("a,b,host", "host", True),
        ("*.example.com", "web.example.com", True),
        ("*.example.com,!db.example.com", "db.example.com", False),
        ("web?", "web1", True),
        ("web?", "web12", False),
        ("[h]:2222", "[h]:2222", True),
        ("[h]:2222", "h", False),
        ("h", "[h]:2222", False),
        ("[h]:*", "[h]:2222", True),
    ],
)
def test_hostname_patterns(field: str, name: str, expected: bool) -> None:
    assert hostnames_match(field, name) is expected


def test_preferred_key_types_follow_known_hosts(
    key: paramiko.PKey, rsa: paramiko.PKey, tmp_path: Path
) -> None:
    kh = tmp_path / "known_hosts"
    kh.write_text(line(NAME, rsa) + line(NAME, key))
    assert checker([kh], "strict").preferred_key_types() == [
        "rsa-sha2-512",
        "rsa-sha2-256",
        "ssh-rsa",
        key.get_name(),
    ]
    assert checker([tmp_path / "none"], "strict").preferred_key_types() == []


def test_unknown_policy_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        checker([], "yes")  # type: ignore[arg-type]


def test_missing_host_key_is_the_paramiko_hook(key: paramiko.PKey, tmp_path: Path) -> None:
    c = checker([tmp_path / "kh"], "strict")
    assert isinstance(c, paramiko.MissingHostKeyPolicy)
    assert not isinstance(c, paramiko.AutoAddPolicy)
    with pytest.raises(HostKeyError):
        c.missing_host_key(paramiko.SSHClient(), "whatever", key)
