"""authorized_key: a home directory in a temp dir, getent stubbed; plan, file and modes out."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules import registry
from provisioner.modules._sshkey import parse_key
from provisioner.modules.authorized_key import AuthorizedKeyModule
from provisioner.modules.base import CONVERGED, Blocked, Change, Converged, Kind, Provision
from provisioner.probes.sshkeys import AuthorizedKeysFile
from tests.unit.modules.host import FakeHost, converge, observe, state_of, syntax_ok

# Our own keys (any 32 bytes make an ed25519 public key), and what ssh-keygen -lf says.
ALICE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"
BOB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIC"
CAROL = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMD"
FP_ALICE = "SHA256:RXm/ruZ0eTzRXKwi1AQEDynB0VgHQ2ac9KPSFdf/YnA"
FP_BOB = "SHA256:baqJQcVDEweKmw1OiZxGooCG2MGxYtwsQQzzOstxmiA"
FP_CAROL = "SHA256:gnDfULwoGkHCZ0cpikt5ZjeLoa9Yyo7dmFepI3UZQWc"
K = "{h}/.ssh/authorized_keys"


@dataclass(frozen=True)
class Case:
    id: str
    args: dict[str, Any]
    before: str | None  # the file; None: none ({h}/.ssh is made 0700 unless `ssh_dir`)
    summary: tuple[str, ...] | Converged  # {h}: the home directory
    after: str | None = None  # None: as before
    ssh_dir: int | None = 0o700  # mode of an existing .ssh; None: no .ssh
    file_mode: int = 0o600
    extra: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case(
        "a student's key into a fresh home: .ssh made",
        {"key": f"{ALICE} alice@laptop"},
        None,
        (
            "+ {h}/.ssh/ (0700, alice)",
            f"+ {K}",
            f"+ key ssh-ed25519 {FP_ALICE} alice@laptop",
        ),
        f"{ALICE} alice@laptop\n",
        ssh_dir=None,
    ),
    Case(
        "already there",
        {"key": f"{ALICE} alice@laptop"},
        f"{BOB} bob@desk\n{ALICE} alice@laptop\n",
        CONVERGED,
    ),
    Case(
        "a second key is appended; the first line keeps its bytes",
        {"key": f"{ALICE} alice@laptop"},
        f"# managed by hand\n{BOB}   bob@desk",
        (f"~ {K}", f"+ key ssh-ed25519 {FP_ALICE} alice@laptop"),
        f"# managed by hand\n{BOB}   bob@desk\n{ALICE} alice@laptop\n",
    ),
    Case(
        "several keys in one string, blank lines and comments skipped",
        {"key": f"# the class\n{ALICE} alice@laptop\n\n{BOB} bob@desk\n"},
        f"{BOB} bob@desk\n",
        (f"~ {K}", f"+ key ssh-ed25519 {FP_ALICE} alice@laptop"),
        f"{BOB} bob@desk\n{ALICE} alice@laptop\n",
    ),
    Case(
        "the same key with another comment is rewritten in place",
        {"key": f"{ALICE} alice@new-laptop"},
        f"{ALICE} alice@laptop\n{BOB} bob@desk\n",
        (f"~ {K}", f"~ key ssh-ed25519 {FP_ALICE}: comment: alice@laptop → alice@new-laptop"),
        f"{ALICE} alice@new-laptop\n{BOB} bob@desk\n",
    ),
    Case(
        "comment overrides the key's own",
        {"key": f"{ALICE} alice@laptop", "comment": "Alice (TP 2025)"},
        None,
        (f"+ {K}", f"+ key ssh-ed25519 {FP_ALICE} Alice (TP 2025)"),
        f"{ALICE} Alice (TP 2025)\n",
    ),
    Case(
        "key_options are written before the key",
        {"key": ALICE, "key_options": 'no-port-forwarding,from="10.0.1.0/24,10.0.2.1"'},
        f"{ALICE}\n",
        (
            f"~ {K}",
            f"~ key ssh-ed25519 {FP_ALICE}: options: (none) → "
            'no-port-forwarding,from="10.0.1.0/24,10.0.2.1"',
        ),
        f'no-port-forwarding,from="10.0.1.0/24,10.0.2.1" {ALICE}\n',
    ),
    Case(
        "the same options in another order are the same",
        {"key": ALICE, "key_options": 'from="10.0.1.1",no-pty'},
        f'no-pty,from="10.0.1.1" {ALICE}\n',
        CONVERGED,
    ),
    Case(
        "a second copy of a key is dropped",
        {"key": f"{ALICE} a"},
        f"{ALICE} a\n{BOB} b\n{ALICE} a\n",
        (f"~ {K}", f"- key ssh-ed25519 {FP_ALICE} (a second copy)"),
        f"{ALICE} a\n{BOB} b\n",
    ),
    Case(
        "exclusive: only the given keys stay, comments go too",
        {"key": f"{ALICE} alice", "exclusive": True},
        f"# old class\n{BOB} bob\n{ALICE} alice\n{CAROL} carol\n",
        (
            f"~ {K}",
            f"- key ssh-ed25519 {FP_BOB} bob",
            f"- key ssh-ed25519 {FP_CAROL} carol",
            "- 1 other line (exclusive)",
        ),
        f"{ALICE} alice\n",
    ),
    Case(
        "absent: the key goes whatever its comment, others stay",
        {"key": f"{BOB} whatever", "state": "absent"},
        f"{ALICE} alice\n{BOB} bob\n",
        (f"~ {K}", f"- key ssh-ed25519 {FP_BOB} bob"),
        f"{ALICE} alice\n",
    ),
    Case(
        "absent from a missing file: nothing to do, no .ssh made",
        {"key": BOB, "state": "absent"},
        None,
        CONVERGED,
        ssh_dir=None,
    ),
    Case(
        "manage_dir: an existing .ssh gets 0700 back",
        {"key": f"{ALICE} a"},
        f"{ALICE} a\n",
        ("{h}/.ssh: mode 0755 → 0700",),
        ssh_dir=0o755,
    ),
    Case(
        "manage_dir: the file gets 0600 back",
        {"key": f"{ALICE} a"},
        f"{ALICE} a\n",
        (f"{K}: mode 0644 → 0600",),
        file_mode=0o644,
    ),
    Case(
        "manage_dir false leaves modes alone when the keys are right",
        {"key": f"{ALICE} a", "manage_dir": False},
        f"{ALICE} a\n",
        CONVERGED,
        ssh_dir=0o755,
        file_mode=0o644,
    ),
    Case(
        "path: another file",
        {"key": f"{ALICE} a", "path": "{h}/keys/alice", "manage_dir": False},
        None,
        ("+ {h}/keys/alice", f"+ key ssh-ed25519 {FP_ALICE} a"),
        f"{ALICE} a\n",
        extra={"dir": "keys", "file": "keys/alice"},
    ),
]


def _h(text: str, home: Path) -> str:
    return text.replace("{h}", str(home))


def _alice(host: FakeHost, home: Path, name: str = "alice") -> FakeHost:
    line = f"{name}:x:{os.getuid()}:{os.getgid()}:Alice:{home}:/bin/bash\n"
    return host.on("getent", f'"passwd -- {name}"', line)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_plan_file_and_modes(host: FakeHost, tmp_path: Path, case: Case) -> None:
    home = tmp_path / "home" / "alice"
    home.mkdir(parents=True)
    ssh = home / case.extra.get("dir", ".ssh")
    keys = home / case.extra.get("file", ".ssh/authorized_keys")
    if case.ssh_dir is not None or case.extra:
        ssh.mkdir()
        ssh.chmod(case.ssh_dir or 0o755)
    if case.before is not None:
        keys.write_text(case.before)
        keys.chmod(case.file_mode)
    args = {k: _h(v, home) if isinstance(v, str) else v for k, v in case.args.items()}
    module = AuthorizedKeyModule.from_dict({"user": "alice", **args})
    assert syntax_ok(module.probe())
    first, again = converge(module, tmp_path, _alice(host, home).run)
    if isinstance(case.summary, Converged):
        assert first is CONVERGED
        assert keys.exists() == (case.before is not None)
        assert ssh.exists() == (case.ssh_dir is not None)
        return
    assert isinstance(first, Change)
    assert first.summary == tuple(_h(s, home) for s in case.summary)
    assert again is CONVERGED
    assert keys.read_text() == (case.after if case.after is not None else case.before)
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    if not case.extra:
        assert stat.S_IMODE(ssh.stat().st_mode) == 0o700
        assert (ssh.stat().st_uid, keys.stat().st_uid) == (os.getuid(), os.getuid())


def test_fingerprints_are_what_ssh_keygen_says(tmp_path: Path) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("no ssh-keygen here")
    for line, fp in ((ALICE, FP_ALICE), (BOB, FP_BOB), (CAROL, FP_CAROL)):
        key = parse_key(line + " x")
        assert key is not None and key.fingerprint == fp
        (tmp_path / "k.pub").write_text(line + " x\n")
        out = subprocess.run(["ssh-keygen", "-lf", str(tmp_path / "k.pub")], capture_output=True)
        assert fp in out.stdout.decode()


def test_the_dry_run_diff_shows_fingerprints_not_keys(host: FakeHost, tmp_path: Path) -> None:
    home = tmp_path / "alice"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    (home / ".ssh" / "authorized_keys").write_text(f"{BOB} bob\n")
    module = AuthorizedKeyModule.from_dict({"user": "alice", "key": f"{ALICE} alice@laptop"})
    plan = module.plan(observe(module, _alice(host, home).run))
    assert isinstance(plan, Change) and plan.diff is not None
    assert f" ssh-ed25519 {FP_BOB} bob\n+ssh-ed25519 {FP_ALICE} alice@laptop\n" in plan.diff
    assert "AAAAC3" not in plan.diff
    assert (home / ".ssh" / "authorized_keys").read_text() == f"{BOB} bob\n"


def test_a_user_not_there_yet_blocks_with_a_preview() -> None:
    """A dry run after a planned `user` task shows what this task would add."""
    module = AuthorizedKeyModule.from_dict({"user": "student1", "key": f"{ALICE} alice"})
    blocked = module.plan(state_of(module, {AuthorizedKeysFile("student1"): ("user_rc=2\n", 0)}))
    assert isinstance(blocked, Blocked)
    assert blocked.need == Provision(Kind.USER, "student1")
    assert blocked.message == "user student1 not found"
    assert blocked.change is not None and blocked.change.summary == (
        "+ ~student1/.ssh/authorized_keys",
        f"+ key ssh-ed25519 {FP_ALICE} alice",
    )


def test_getent_that_cannot_say_is_an_error() -> None:
    module = AuthorizedKeyModule.from_dict({"user": "student1", "key": ALICE})
    with pytest.raises(ProbeError, match="getent passwd student1 failed"):
        module.plan(state_of(module, {AuthorizedKeysFile("student1"): ("user_rc=1\n", 0)}))


def test_a_missing_home_is_a_dependency(host: FakeHost, tmp_path: Path) -> None:
    module = AuthorizedKeyModule.from_dict({"user": "alice", "key": ALICE})
    blocked = module.plan(observe(module, _alice(host, tmp_path / "nohome").run))
    assert isinstance(blocked, Blocked) and blocked.what == f"directory {tmp_path}/nohome"


def test_manage_dir_false_does_not_make_the_directory(host: FakeHost, tmp_path: Path) -> None:
    module = AuthorizedKeyModule.from_dict({"user": "alice", "key": ALICE, "manage_dir": False})
    blocked = module.plan(observe(module, _alice(host, tmp_path).run))
    assert isinstance(blocked, Blocked) and blocked.what == f"directory {tmp_path}/.ssh"


def test_follow_writes_through_a_link(host: FakeHost, tmp_path: Path) -> None:
    real = tmp_path / "shared" / "alice.keys"
    real.parent.mkdir()
    real.write_text(f"{BOB} bob\n")
    (tmp_path / ".ssh").mkdir(mode=0o700)
    (tmp_path / ".ssh" / "authorized_keys").symlink_to(real)
    module = AuthorizedKeyModule.from_dict(
        {"user": "alice", "key": ALICE, "follow": True, "manage_dir": False}
    )
    first, again = converge(module, tmp_path, _alice(host, tmp_path).run)
    assert isinstance(first, Change) and first.summary[0] == f"~ {real}"
    assert again is CONVERGED and (tmp_path / ".ssh" / "authorized_keys").is_symlink()
    assert real.read_text() == f"{BOB} bob\n{ALICE}\n"


def test_hostile_comment_and_options_stay_data(host: FakeHost, tmp_path: Path) -> None:
    home = tmp_path / "it's $(home)"
    home.mkdir()
    comment = "'; rm -rf / ; echo `id` $(reboot)"
    module = AuthorizedKeyModule.from_dict(
        {"user": "alice", "key": ALICE, "comment": comment, "key_options": "command=\"echo 'hi'\""}
    )
    first, again = converge(module, tmp_path, _alice(host, home).run)
    assert isinstance(first, Change) and again is CONVERGED
    keys = home / ".ssh" / "authorized_keys"
    assert keys.read_text() == f"command=\"echo 'hi'\" {ALICE} {comment}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["host", "it's $(home)", "provision-src"]
    )


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"user": "alice"}, "missing required argument 'key'"),
        ({"key": ALICE}, "missing required argument 'user'"),
        ({"user": "alice", "key": "https://github.com/alice.keys"}, "URL or file is not supported"),
        ({"user": "alice", "key": "file:///home/alice/.ssh/id.pub"}, "not supported"),
        ({"user": "alice", "key": "ssh-ed25519"}, "invalid key specified"),
        ({"user": "alice", "key": "ssh-ed25519 not-base64!"}, "invalid key specified"),
        ({"user": "alice", "key": "hello world"}, "invalid key specified"),
        ({"user": "alice", "key": "# only a comment\n"}, "holds no key"),
        ({"user": "alice", "key": ALICE, "comment": "a\nb"}, "single line"),
        ({"user": "a:b", "key": ALICE}, "must not contain"),
        ({"user": "-alice", "key": ALICE}, "must not start with '-'"),
        ({"user": "alice", "key": ALICE, "path": ".ssh/keys"}, "must be absolute"),
        ({"user": "alice", "key": ALICE, "validate_certs": False}, "unknown argument"),
    ],
)
def test_bad_args(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ModuleArgsError, match=match):
        AuthorizedKeyModule.from_dict(raw)


def test_exclusive_with_no_key_empties_the_file() -> None:
    module = AuthorizedKeyModule.from_dict({"user": "a", "key": "", "exclusive": True})
    assert module.wanted == []


def test_names() -> None:
    assert registry()["ansible.posix.authorized_key"] is AuthorizedKeyModule
