"""~/.ssh/config resolution with temp config files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import paramiko.config
import pytest

from provisioner.transport.ssh import SSHSettings, resolve_target
from provisioner.transport.sshconfig import (
    Endpoint,
    SSHConfigError,
    parse_jump,
    read_config,
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LOGNAME", "localme")
    (tmp_path / ".ssh").mkdir()
    for name in ("id_lab", "id_bastion", "id_inner"):
        (tmp_path / ".ssh" / name).write_text("not really a key\n")
    return tmp_path


def write_config(home: Path, text: str) -> str:
    path = home / ".ssh" / "config"
    path.write_text(text)
    return str(path)


def settings(config: str | None, address: str = "web1", **kw: object) -> SSHSettings:
    return SSHSettings(name="web1-inv", address=address, ssh_config=config, **kw)  # type: ignore[arg-type]


CONFIG = """
Host web1
    HostName 10.0.0.11
    User deploy
    Port 2201
    IdentityFile ~/.ssh/id_lab
    IdentityFile ~/.ssh/id_missing
    ProxyJump jump@bastion:2200

Host bastion
    HostName 192.0.2.1
    User bastion-user
    Port 22
    IdentityFile %d/.ssh/id_bastion

Host inner
    HostName 10.0.0.12
    ProxyJump bastion,hop2
    IdentitiesOnly yes
    IdentityFile ~/.ssh/id_inner
    HostKeyAlias inner-alias
    UserKnownHostsFile ~/.ssh/kh_a ~/.ssh/kh_b

Host direct
    ProxyJump none

Host *
    User everyone
"""


def test_hostname_user_port_identityfile(home: Path) -> None:
    target = resolve_target(settings(write_config(home, CONFIG)))
    ep = target.endpoint
    assert ep.hostname == "10.0.0.11"
    assert ep.user == "deploy"
    assert ep.port == 2201
    # missing IdentityFiles are skipped, as OpenSSH does
    assert ep.key_filenames == (str(home / ".ssh" / "id_lab"),)
    assert ep.address == "10.0.0.11:2201"


def test_match_exec_gets_invoke(home: Path) -> None:
    # paramiko runs `Match exec` with invoke, which the transport keeps from loading at
    # start; a config with such a line brings it back for paramiko (who then runs it).
    def invoke() -> object:
        return vars(paramiko.config)["invoke"]

    assert invoke() is None
    read_config(write_config(home, "Host a\n    User b\n"))
    assert invoke() is None
    read_config(write_config(home, 'Match exec "true"\n    User matched\n'))
    assert hasattr(invoke(), "run")


def test_proxyjump_hop_gets_its_own_config(home: Path) -> None:
    target = resolve_target(settings(write_config(home, CONFIG)))
    assert len(target.jumps) == 1
    hop = target.jumps[0]
    assert hop.hostname == "192.0.2.1"
    assert hop.user == "jump"  # user@ in the spec wins over the hop's config
    assert hop.port == 2200  # :port in the spec wins too
    assert hop.key_filenames == (str(home / ".ssh" / "id_bastion"),)


def test_proxyjump_chain(home: Path) -> None:
    target = resolve_target(settings(write_config(home, CONFIG), address="inner"))
    assert [(j.hostname, j.port, j.user) for j in target.jumps] == [
        ("192.0.2.1", 22, "bastion-user"),
        ("hop2", 22, "everyone"),
    ]
    ep = target.endpoint
    assert ep.identities_only and ep.host_key_alias == "inner-alias"
    assert ep.known_hosts_files == (str(home / ".ssh" / "kh_a"), str(home / ".ssh" / "kh_b"))
    assert ep.user == "everyone"


def test_proxyjump_none_and_defaults(home: Path) -> None:
    target = resolve_target(settings(write_config(home, CONFIG), address="direct"))
    assert target.jumps == ()
    assert target.endpoint == Endpoint(hostname="direct", port=22, user="everyone")


def test_explicit_settings_win(home: Path) -> None:
    key = home / "explicit_key"
    key.write_text("x")
    s = settings(write_config(home, CONFIG), user="root", port=2222, key_filename=str(key))
    ep = resolve_target(s).endpoint
    assert (ep.hostname, ep.user, ep.port, ep.key_filenames) == (
        "10.0.0.11",
        "root",
        2222,
        (str(key),),
    )


def test_explicit_key_is_offered_to_a_jump_host_without_one(home: Path) -> None:
    write_config(home, "Host t\n  ProxyJump j\n")
    s = settings(str(home / ".ssh" / "config"), address="t", key_filename="~/k")
    target = resolve_target(s)
    assert target.jumps[0].key_filenames == (str(home / "k"),)
    assert target.endpoint.key_filenames == (str(home / "k"),)


def test_no_config_means_address_and_local_user(home: Path) -> None:
    target = resolve_target(settings(None, address="10.1.1.1"))
    assert target.endpoint == Endpoint(hostname="10.1.1.1", port=22, user="localme")
    missing = resolve_target(settings(str(home / "nope"), address="h"))
    assert missing.endpoint.user == "localme"


def test_default_config_path_uses_home(home: Path) -> None:
    write_config(home, "Host h\n  HostName real.example\n")
    s = SSHSettings(name="h", address="h")
    assert resolve_target(s).endpoint.hostname == "real.example"


def test_include(home: Path) -> None:
    (home / ".ssh" / "conf.d").mkdir()
    (home / ".ssh" / "conf.d" / "lab.conf").write_text(
        "Host lab1\n  HostName 10.9.9.9\n  Port 2022\n"
    )
    write_config(home, "Include conf.d/*.conf\n\nHost *\n  User u\n")
    ep = resolve_target(settings(str(home / ".ssh" / "config"), address="lab1")).endpoint
    assert (ep.hostname, ep.port, ep.user) == ("10.9.9.9", 2022, "u")


def test_proxycommand_is_kept_unless_proxyjump(home: Path) -> None:
    write_config(home, "Host pc\n  ProxyCommand nc -q0 %h %p\n")
    ep = resolve_target(settings(str(home / ".ssh" / "config"), address="pc")).endpoint
    assert ep.proxy_command == "nc -q0 pc 22"


@dataclass(frozen=True)
class Override:
    id: str
    address: str
    proxy_jump: tuple[str, ...] | None
    proxy_command: str | None
    jumps: tuple[tuple[str, int, str], ...]  # (hostname, port, user) of each hop
    command: str | None  # the target's proxy command, tokens expanded


PROXY_CONFIG = """
Host viajump
    HostName 10.0.0.21
    ProxyJump bastion

Host viacmd
    HostName 10.0.0.22
    User cmduser
    ProxyCommand nc %h %p

Host bastion
    HostName 192.0.2.1
    User bastion-user
"""

OVERRIDES = [
    Override("nothing given: the config decides", "viajump", None, None,
             (("192.0.2.1", 22, "bastion-user"),), None),
    Override("a jump chain replaces the config's ProxyJump", "viajump",
             ("me@hop1:2201", "bastion"), None,
             (("hop1", 2201, "me"), ("192.0.2.1", 22, "bastion-user")), None),
    Override("a jump chain replaces the config's ProxyCommand", "viacmd",
             ("bastion",), None, (("192.0.2.1", 22, "bastion-user"),), None),
    Override("an empty chain connects directly", "viajump", (), None, (), None),
    Override("an empty chain ignores the config's ProxyCommand", "viacmd", (), None, (), None),
    Override("a proxy command replaces the config's ProxyJump", "viajump", None,
             "ssh -W %h:%p -l %r gate # %n %%", (),
             "ssh -W 10.0.0.21:22 -l localme gate # viajump %"),
    Override("a proxy command replaces the config's own", "viacmd", None,
             "socat - TCP:%h:%p", (), "socat - TCP:10.0.0.22:22"),
]  # fmt: skip


@pytest.mark.parametrize("case", OVERRIDES, ids=[c.id for c in OVERRIDES])
def test_explicit_proxy_settings_win(home: Path, case: Override) -> None:
    s = settings(
        write_config(home, PROXY_CONFIG),
        address=case.address,
        proxy_jump=case.proxy_jump,
        proxy_command=case.proxy_command,
    )
    target = resolve_target(s)
    assert tuple((j.hostname, j.port, j.user) for j in target.jumps) == case.jumps
    assert target.endpoint.proxy_command == case.command


@pytest.mark.parametrize("command", ["nc %h %x", "nc %h 100%"])
def test_unknown_proxy_command_token_is_an_error(home: Path, command: str) -> None:
    with pytest.raises(SSHConfigError, match="unknown token"):
        resolve_target(settings(None, address="h", proxy_command=command))


def test_bad_config_is_an_error(home: Path) -> None:
    path = write_config(home, "Host h\n  Port notanumber\n")
    with pytest.raises(SSHConfigError, match="Port"):
        resolve_target(settings(path, address="h"))
    with pytest.raises(SSHConfigError, match="ProxyJump"):
        write_config(home, "Host h\n  ProxyJump a:b:c@\n")
        resolve_target(settings(path, address="h"))


def test_read_config_without_path_is_empty() -> None:
    assert read_config(None).get_hostnames() == set()


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("bastion", (None, "bastion", None)),
        ("me@bastion", ("me", "bastion", None)),
        ("me@bastion:2200", ("me", "bastion", 2200)),
        ("bastion:2200", (None, "bastion", 2200)),
        ("ssh://me@bastion:2200", ("me", "bastion", 2200)),
        ("[2001:db8::1]:2200", (None, "2001:db8::1", 2200)),
        ("me@[2001:db8::1]", ("me", "2001:db8::1", None)),
        ("2001:db8::1", (None, "2001:db8::1", None)),
    ],
)
def test_parse_jump(spec: str, expected: tuple[str | None, str, int | None]) -> None:
    assert parse_jump(spec) == expected


@pytest.mark.parametrize("spec", ["host:port", "me@", ""])
def test_parse_jump_rejects_garbage(spec: str) -> None:
    with pytest.raises(SSHConfigError):
        parse_jump(spec)
