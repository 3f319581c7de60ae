"""ansible_ssh_common_args / ansible_ssh_extra_args: honoured, ignored or refused."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from provisioner.connect import ssh_settings
from provisioner.errors import InventoryError
from provisioner.inventory import CONNECTION_VARS, ConnectionSpec, load_inventory
from provisioner.transport.ssh import resolve_target

HOME = os.path.expanduser("~")
COMMON = "ansible_ssh_common_args"
EXTRA = "ansible_ssh_extra_args"
HONOURS = (
    "(provision honours -o StrictHostKeyChecking, UserKnownHostsFile, ProxyJump/-J, "
    "ProxyCommand, Port/-p)"
)


def inventory(tmp_path: Path, host_vars: dict[str, Any]) -> tuple[Path, str]:
    """An inventory of host `h` with `host_vars`, one per line (JSON values are YAML)."""
    lines = "".join(f"      {k}: {json.dumps(v)}\n" for k, v in host_vars.items())
    text = f"all:\n  hosts:\n    h:\n{lines}"
    path = tmp_path / "hosts.yml"
    path.write_text(text)
    return path, text


def value_at(path: Path, text: str, key: str) -> str:
    """`path:line:col` of the value of `key` in `text`."""
    index = text.index(f"{key}: ") + len(f"{key}: ")
    line = text.count("\n", 0, index) + 1
    col = index - text.rfind("\n", 0, index)
    return f"{path}:{line}:{col}"


# --- honoured ----------------------------------------------------------------------


@dataclass(frozen=True)
class Honoured:
    id: str
    vars: dict[str, Any]
    spec: dict[str, Any]  # ConnectionSpec fields that differ from the defaults


HONOURED = [
    Honoured("StrictHostKeyChecking=no", {COMMON: "-o StrictHostKeyChecking=no"},
             {"host_key_policy": "off"}),
    Honoured("StrictHostKeyChecking=yes", {COMMON: "-o StrictHostKeyChecking=yes"},
             {"host_key_policy": "strict"}),
    Honoured("StrictHostKeyChecking=accept-new", {COMMON: "-o StrictHostKeyChecking=accept-new"},
             {"host_key_policy": "accept-new"}),
    Honoured("keyword and value in one quoted word", {COMMON: "-o 'StrictHostKeyChecking yes'"},
             {"host_key_policy": "strict"}),
    Honoured("keyword and value as two words", {COMMON: "-o StrictHostKeyChecking no"},
             {"host_key_policy": "off"}),
    Honoured("glued -oKey=Value", {COMMON: "-oStrictHostKeyChecking=no"},
             {"host_key_policy": "off"}),
    Honoured("keyword and value in any case", {COMMON: "-o stricthostkeychecking=Accept-New"},
             {"host_key_policy": "accept-new"}),
    Honoured("UserKnownHostsFile, relative to the inventory",
             {COMMON: "-o UserKnownHostsFile=keys/kh"}, {"known_hosts": "{dir}/keys/kh"}),
    Honoured("UserKnownHostsFile with ~", {COMMON: "-o UserKnownHostsFile=~/kh"},
             {"known_hosts": f"{HOME}/kh"}),
    Honoured("UserKnownHostsFile absolute", {COMMON: "-o UserKnownHostsFile=/etc/lab_kh"},
             {"known_hosts": "/etc/lab_kh"}),
    Honoured("Ansible's no-checking idiom",
             {COMMON: "-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no"},
             {"host_key_policy": "off"}),
    Honoured("UserKnownHostsFile=none with host_key_checking: false",
             {"host_key_checking": False, COMMON: "-o UserKnownHostsFile=none"},
             {"host_key_policy": "off"}),
    Honoured("ProxyJump", {COMMON: "-o ProxyJump=bastion"}, {"proxy_jump": ("bastion",)}),
    Honoured("-J chain", {COMMON: "-J me@bastion:2200,ssh://you@hop2:2201/"},
             {"proxy_jump": ("me@bastion:2200", "ssh://you@hop2:2201/")}),
    Honoured("-J with IPv6 hops", {COMMON: "-J [2001:db8::1]:2200,2001:db8::2"},
             {"proxy_jump": ("[2001:db8::1]:2200", "2001:db8::2")}),
    Honoured("glued -Jhost", {COMMON: "-Jbastion"}, {"proxy_jump": ("bastion",)}),
    Honoured("ProxyJump=none connects directly", {COMMON: "-o ProxyJump=none"},
             {"proxy_jump": ()}),
    Honoured("ProxyCommand", {COMMON: "-o ProxyCommand=\"ssh -W %h:%p -q me@gate\""},
             {"proxy_command": "ssh -W %h:%p -q me@gate"}),
    Honoured("ProxyCommand=none connects directly", {COMMON: "-o ProxyCommand=none"},
             {"proxy_jump": ()}),
    Honoured("-o Port", {COMMON: "-o Port=2222"}, {"port": 2222}),
    Honoured("-p", {COMMON: "-p 2222"}, {"port": 2222}),
    Honoured("glued -p", {COMMON: "-p2222"}, {"port": 2222}),
    Honoured("a port variable that agrees", {"ansible_port": 2222, COMMON: "-p 2222"},
             {"port": 2222}),
    Honoured("host_key_checking: false and StrictHostKeyChecking=no agree",
             {"host_key_checking": False, COMMON: "-o StrictHostKeyChecking=no"},
             {"host_key_policy": "off"}),
    Honoured("host_key_checking: true (checking on) and accept-new agree",
             {"host_key_checking": True, COMMON: "-o StrictHostKeyChecking=accept-new"},
             {"host_key_policy": "accept-new"}),
    Honoured("a known_hosts variable that agrees",
             {"known_hosts": "kh", COMMON: "-o UserKnownHostsFile=./kh"},
             {"known_hosts": "{dir}/kh"}),
    Honoured("common and extra args both apply",
             {COMMON: "-o ProxyJump=bastion", EXTRA: "-p 2222"},
             {"proxy_jump": ("bastion",), "port": 2222}),
    Honoured("one option twice with one value", {COMMON: "-p 2222", EXTRA: "-o Port=2222"},
             {"port": 2222}),
    Honoured("our own names", {"ssh_common_args": "-J bastion", "ssh_extra_args": "-p 2"},
             {"proxy_jump": ("bastion",), "port": 2}),
    Honoured("connection sharing and keepalives are ignored",
             {COMMON: "-o ControlMaster=auto -o ControlPersist=60s -o ControlPath=/tmp/%r@%h "
                      "-o ServerAliveInterval=30 -o ServerAliveCountMax 3"},
             {}),
    Honoured("nothing", {COMMON: "", EXTRA: None}, {}),
]  # fmt: skip


@pytest.mark.parametrize("case", HONOURED, ids=[c.id for c in HONOURED])
def test_honoured(tmp_path: Path, case: Honoured) -> None:
    path, _ = inventory(tmp_path, case.vars)
    host = load_inventory(path).hosts["h"]
    expected: dict[str, Any] = {
        k: v.replace("{dir}", str(tmp_path)) if isinstance(v, str) else v
        for k, v in case.spec.items()
    }
    assert host.connection == ConnectionSpec(address="h", **expected)
    # the variables keep what was written
    assert {k: host.vars[k] for k in case.vars} == case.vars


# --- refused -----------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    id: str
    vars: dict[str, Any]
    var: str  # the variable whose value the error points at
    problem: str  # in the message, after "host 'h': "
    also: tuple[str, ...] = field(default=())  # more text the message must hold


REFUSED = [
    Refused("an unsupported -o option", {COMMON: "-o ControlPersist=60s -o ConnectTimeout=5"},
            COMMON, f"{COMMON} option '-o ConnectTimeout=5' is not supported {HONOURS}"),
    Refused("a flag", {COMMON: "-C"}, COMMON, f"{COMMON} option '-C' is not supported {HONOURS}"),
    Refused("a flag in the extra args", {EXTRA: "-4"}, EXTRA,
            f"{EXTRA} option '-4' is not supported"),
    Refused("a flag with its value", {COMMON: "-F other_config"}, COMMON,
            f"{COMMON} option '-F other_config' is not supported"),
    Refused("a glued flag", {COMMON: "-Fother_config"}, COMMON,
            f"{COMMON} option '-Fother_config' is not supported"),
    Refused("another -o option", {EXTRA: "-o ForwardAgent=yes"}, EXTRA,
            f"{EXTRA} option '-o ForwardAgent=yes' is not supported"),
    Refused("a word that is no option", {COMMON: "-p 22 bastion"}, COMMON,
            f"{COMMON} option 'bastion' is not supported"),
    Refused("StrictHostKeyChecking=ask", {COMMON: "-o StrictHostKeyChecking=ask"}, COMMON,
            f"{COMMON} option '-o StrictHostKeyChecking=ask' asks at a terminal"),
    Refused("StrictHostKeyChecking=maybe", {COMMON: "-o StrictHostKeyChecking=maybe"}, COMMON,
            "'-o StrictHostKeyChecking=maybe' must be yes, accept-new or no"),
    Refused("port 0", {COMMON: "-p 0"}, COMMON, "'-p 0' needs a port number 1..65535"),
    Refused("port abc", {COMMON: "-o Port=abc"}, COMMON, "'-o Port=abc' needs a port number"),
    Refused("port 70000", {EXTRA: "-p70000"}, EXTRA, "'-p70000' needs a port number 1..65535"),
    Refused("several known_hosts files", {COMMON: "-o 'UserKnownHostsFile=a b'"}, COMMON,
            "\"-o 'UserKnownHostsFile=a b'\" names several files"),
    Refused("a %-token in UserKnownHostsFile", {COMMON: "-o UserKnownHostsFile=~/kh_%h"},
            COMMON, "uses %-tokens"),
    Refused("/dev/null while checking is on", {COMMON: "-o UserKnownHostsFile=/dev/null"},
            COMMON, "'-o UserKnownHostsFile=/dev/null' keeps no host keys",
            ("-o StrictHostKeyChecking=no", "host_key_checking: false")),
    Refused("/dev/null with accept-new",
            {COMMON: "-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=accept-new"},
            COMMON, "keeps no host keys"),
    Refused("a jump host without a name", {COMMON: "-J me@"}, COMMON,
            "'-J me@' has a bad jump host 'me@'"),
    Refused("a jump host with a bad port", {COMMON: "-o ProxyJump=a,b:99999"}, COMMON,
            "has a bad jump host 'b:99999': the port must be a number 1..65535"),
    Refused("an empty hop", {COMMON: "-J a,,b"}, COMMON, "has a bad jump host ''"),
    Refused("an unknown ProxyCommand token", {COMMON: "-o 'ProxyCommand=nc %h %x'"}, COMMON,
            "has an unknown token %x"),
    Refused("ProxyJump and ProxyCommand", {COMMON: "-J a", EXTRA: "-o 'ProxyCommand=nc %h %p'"},
            EXTRA, f"\"-o 'ProxyCommand=nc %h %p'\" and {COMMON} '-J a' (at "),
    Refused("one option twice with two values", {COMMON: "-p 2222 -o Port=2200"}, COMMON,
            "'-o Port=2200' disagrees with '-p 2222'; keep one"),
    Refused("common and extra args disagree", {COMMON: "-J a", EXTRA: "-J b"}, EXTRA,
            f"{EXTRA} option '-J b' disagrees with {COMMON} '-J a' (at "),
    Refused("-o without an option", {COMMON: "-p 22 -o"}, COMMON, "'-o' needs a value after it"),
    Refused("-J without hosts", {COMMON: "-J"}, COMMON, "'-J' needs a value after it"),
    Refused("-o Key without a value", {COMMON: "-o Port"}, COMMON, "'-o Port' needs a value"),
    Refused("-o Key= without a value", {COMMON: "-o ProxyJump="}, COMMON,
            "'-o ProxyJump=' needs a value"),
    Refused("a blank value", {COMMON: "-o UserKnownHostsFile ' '"}, COMMON,
            "\"-o UserKnownHostsFile ' '\" needs a value"),
    Refused("an unclosed quote", {COMMON: "-o 'ProxyCommand=nc"}, COMMON,
            f"{COMMON} cannot be split into words (No closing quotation)"),
    Refused("not a string", {EXTRA: ["-p", "2222"]}, EXTRA, f"{EXTRA} must be a string"),
    Refused("a number", {"ssh_common_args": 22}, "ssh_common_args",
            "ssh_common_args must be a string of ssh options"),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
def test_refused(tmp_path: Path, case: Refused) -> None:
    path, text = inventory(tmp_path, case.vars)
    with pytest.raises(InventoryError) as exc:
        load_inventory(path)
    msg = str(exc.value)
    assert msg.startswith(f"{value_at(path, text, case.var)}: host 'h': "), msg
    assert case.problem in msg
    for more in case.also:
        assert more in msg


@dataclass(frozen=True)
class Conflict:
    id: str
    vars: dict[str, Any]
    shown: str  # how the message names the variable and its value


CONFLICTS = [
    Conflict("port", {"port": 22, COMMON: "-p 2222"}, "port '22'"),
    Conflict("ansible_port against -o Port", {"ansible_port": "2200", EXTRA: "-o Port=2222"},
             "ansible_port '2200'"),
    Conflict("checking off against yes", {"host_key_checking": False,
                                          COMMON: "-o StrictHostKeyChecking=yes"},
             "host_key_checking 'False'"),
    Conflict("checking on against no", {"ansible_host_key_checking": "yes",
                                        COMMON: "-o StrictHostKeyChecking=no"},
             "ansible_host_key_checking 'yes'"),
    Conflict("strict against accept-new", {"host_key_policy": "strict",
                                           COMMON: "-o StrictHostKeyChecking=accept-new"},
             "host_key_policy 'strict'"),
    Conflict("known_hosts", {"known_hosts": "a", COMMON: "-o UserKnownHostsFile=b"},
             "known_hosts 'a'"),
    Conflict("known_hosts against /dev/null",
             {"known_hosts": "a", "host_key_checking": False,
              COMMON: "-o UserKnownHostsFile=/dev/null"},
             "known_hosts 'a'"),
]  # fmt: skip


@pytest.mark.parametrize("case", CONFLICTS, ids=[c.id for c in CONFLICTS])
def test_an_option_against_a_variable_names_both(tmp_path: Path, case: Conflict) -> None:
    path, text = inventory(tmp_path, case.vars)
    with pytest.raises(InventoryError) as exc:
        load_inventory(path)
    msg = str(exc.value)
    var = next(k for k in case.vars if k in (COMMON, EXTRA))
    variable = next(iter(case.vars))
    option_at = value_at(path, text, var)
    assert msg.startswith(f"{option_at}: host 'h': {var} option "), msg
    assert f"disagrees with {case.shown} (at {value_at(path, text, variable)}); keep one" in msg


# --- where the value comes from ------------------------------------------------------


def test_an_option_in_a_group_is_checked_against_each_host(tmp_path: Path) -> None:
    text = f"""\
lab:
  vars:
    {COMMON}: -p 2222
  hosts:
    a:
    b: {{port: 2200}}
"""
    path = tmp_path / "hosts.yml"
    path.write_text(text)
    with pytest.raises(InventoryError) as exc:
        load_inventory(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}:3:30: host 'b': {COMMON} option '-p 2222' disagrees with ")
    assert f"port '2200' (at {path}:6:15)" in msg


def test_a_host_value_replaces_the_groups(tmp_path: Path) -> None:
    text = f"""\
lab:
  vars: {{{COMMON}: -J bastion, {EXTRA}: -p 2222}}
  hosts:
    a:
    b: {{{COMMON}: -o ProxyJump=none}}
"""
    path = tmp_path / "hosts.yml"
    path.write_text(text)
    hosts = load_inventory(path).hosts
    assert (hosts["a"].connection.proxy_jump, hosts["a"].connection.port) == (("bastion",), 2222)
    assert (hosts["b"].connection.proxy_jump, hosts["b"].connection.port) == ((), 2222)


def test_group_vars_file_and_ini(tmp_path: Path) -> None:
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "lab.yml").write_text(f"{COMMON}: -o ConnectTimeout=5\n")
    ini = tmp_path / "hosts.ini"
    ini.write_text(f"[lab]\nweb1 {EXTRA}='-J gate'\n")
    with pytest.raises(InventoryError) as exc:
        load_inventory(ini)
    assert str(exc.value).startswith(f"{tmp_path}/group_vars/lab.yml:1:26: host 'web1': ")
    (tmp_path / "group_vars" / "lab.yml").write_text(f"{COMMON}: -o StrictHostKeyChecking=no\n")
    spec = load_inventory(ini).hosts["web1"].connection
    assert (spec.proxy_jump, spec.host_key_policy) == (("gate",), "off")
    # [group:vars] values are plain strings, unquoted
    ini.write_text(f"[lab]\nweb1\n[lab:vars]\n{COMMON}=-o ProxyCommand='nc %h %p'\n")
    (tmp_path / "group_vars" / "lab.yml").unlink()
    assert load_inventory(ini).hosts["web1"].connection.proxy_command == "nc %h %p"


def test_the_names_are_connection_vars() -> None:
    assert CONNECTION_VARS["ssh_common_args"] == ("ssh_common_args", COMMON)
    assert CONNECTION_VARS["ssh_extra_args"] == ("ssh_extra_args", EXTRA)


def test_both_names_in_one_place_is_an_error(tmp_path: Path) -> None:
    path, _ = inventory(tmp_path, {"ssh_common_args": "-p 1", COMMON: "-p 1"})
    with pytest.raises(InventoryError, match=f"'ssh_common_args' and '{COMMON}'; keep one"):
        load_inventory(path)


# --- ignored options are logged, once per place --------------------------------------


def test_ignored_options_are_logged_once_per_place(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = f"""\
lab:
  vars:
    {COMMON}: -o ControlMaster=auto -o ControlPersist=60s -p 2222
  hosts:
    web[1:3]:
    local1: {{connection: local}}
    web4: {{{EXTRA}: -o ServerAliveInterval=30}}
"""
    path = tmp_path / "hosts.yml"
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="provisioner.inventory"):
        hosts = load_inventory(path).hosts
    assert all(h.connection.port == 2222 for h in hosts.values())
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        f"{path}:3:30: {COMMON} option '-o ControlMaster=auto' ignored: it tunes OpenSSH's "
        "own connection sharing or keepalives, and provision keeps one connection per host "
        "for the whole run",
        f"{path}:3:30: {COMMON} option '-o ControlPersist=60s' ignored: it tunes OpenSSH's "
        "own connection sharing or keepalives, and provision keeps one connection per host "
        "for the whole run",
        f"{path}:7:36: {EXTRA} option '-o ServerAliveInterval=30' ignored: it tunes OpenSSH's "
        "own connection sharing or keepalives, and provision keeps one connection per host "
        "for the whole run",
    ]
    assert all(r.levelno == logging.WARNING for r in caplog.records)


# --- on to the transport -------------------------------------------------------------


def test_the_settings_reach_the_transport(tmp_path: Path) -> None:
    path, _ = inventory(
        tmp_path,
        {
            "host": "10.0.0.5",
            COMMON: "-o UserKnownHostsFile=kh -o StrictHostKeyChecking=accept-new",
            EXTRA: "-J me@bastion:2200 -p 2222",
        },
    )
    settings = ssh_settings(load_inventory(path).hosts["h"])
    assert (settings.address, settings.port) == ("10.0.0.5", 2222)
    assert (settings.host_key_policy, settings.known_hosts) == ("accept-new", f"{tmp_path}/kh")
    assert settings.known_hosts_only  # accept-new with its own file, as the variable gives
    assert (settings.proxy_jump, settings.proxy_command) == (("me@bastion:2200",), None)


@pytest.mark.parametrize(
    ("args", "jumps", "command"),
    [
        ("", [("192.0.2.1", 22, "cfg-user")], None),
        ("-J me@10.0.0.9:2201", [("10.0.0.9", 2201, "me")], None),
        ("-o ProxyJump=none", [], None),
        ("-o ProxyCommand='nc %h %p'", [], "nc 10.0.0.5 22"),
    ],
)
def test_the_inventory_wins_over_ssh_config(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: str,
    jumps: list[tuple[str, int, str]],
    command: str | None,
) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(
        "Host web\n  HostName 10.0.0.5\n  ProxyJump gate\n\n"
        "Host gate\n  HostName 192.0.2.1\n  User cfg-user\n"
    )
    monkeypatch.setenv("HOME", str(home))
    path, _ = inventory(tmp_path, {"host": "web", "user": "u", COMMON: args})
    target = resolve_target(ssh_settings(load_inventory(path).hosts["h"]))
    assert [(j.hostname, j.port, j.user) for j in target.jumps] == jumps
    assert target.endpoint.proxy_command == command
