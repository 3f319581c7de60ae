from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import InputError, InventoryError
from provisioner.inventory import (
    CONNECTION_VARS,
    SECRET_VARS,
    ConnectionSpec,
    Group,
    Host,
    Inventory,
    load_inventory,
    localhost_inventory,
)

DATA = Path(__file__).parent / "data" / "inventory"
HOME = os.path.expanduser("~")


def write(tmp_path: Path, text: str, name: str = "hosts.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def at(path: Path, text: str, needle: str, nth: int = 1) -> str:
    """`path:line:col` of the nth occurrence of `needle` in `text`."""
    index = -1
    for _ in range(nth):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    col = index - text.rfind("\n", 0, index)
    return f"{path}:{line}:{col}"


def load_error(tmp_path: Path, text: str) -> tuple[Path, str]:
    path = write(tmp_path, text)
    with pytest.raises(InventoryError) as exc:
        load_inventory(path)
    return path, str(exc.value)


# --- the lab fixture -----------------------------------------------------------


@pytest.fixture(scope="module")
def lab() -> Inventory:
    return load_inventory(DATA / "lab.yml")


def test_hosts_in_file_order(lab: Inventory) -> None:
    assert list(lab.hosts) == ["web1", "lab01", "lab02", "db1"]
    assert lab.source == DATA / "lab.yml"


def test_groups_as_written(lab: Inventory) -> None:
    assert set(lab.groups) == {"all", "lab", "gpu", "staff", "db", "ungrouped"}
    assert lab.groups["all"].hosts == ["web1"]
    # top-level `db` and the implicit `ungrouped` are children of all
    assert lab.groups["all"].children == ["lab", "staff", "db", "ungrouped"]
    assert lab.groups["lab"] == Group(
        name="lab",
        hosts=["lab01", "lab02"],
        children=["gpu"],
        vars={"role": "lab", "port": 2222},
        loc=lab.groups["lab"].loc,
    )
    assert str(lab.groups["lab"].loc) == f"{DATA / 'lab.yml'}:11:5"
    assert lab.groups["ungrouped"].hosts == ["web1"]


def test_host_groups_include_ancestors_in_precedence_order(lab: Inventory) -> None:
    assert lab.hosts["web1"].groups == ("all", "ungrouped")
    assert lab.hosts["lab01"].groups == ("all", "lab", "staff")
    assert lab.hosts["lab02"].groups == ("all", "lab", "gpu")
    assert lab.hosts["db1"].groups == ("all", "db")
    assert lab.hosts["lab01"].group_names == ["lab", "staff"]
    assert lab.hosts["web1"].group_names == []


def test_vars_are_merged_with_precedence(lab: Inventory) -> None:
    assert lab.hosts["web1"].vars["role"] == "generic"  # all
    assert lab.hosts["lab02"].vars["role"] == "gpu"  # child beats parent
    assert lab.hosts["lab01"].vars["role"] == "teacher"  # host beats groups
    assert lab.hosts["lab02"].vars["port"] == 2222  # inherited from the parent
    # connection vars stay visible under the names they were written with
    assert lab.hosts["db1"].vars["ansible_user"] == "postgres"
    assert lab.hosts["lab01"].vars["host"] == "10.66.0.11"
    assert lab.hosts["lab01"].vars["user"] == "student"


def test_connection_specs(lab: Inventory) -> None:
    key = os.path.join(HOME, ".ssh/id_ed25519")
    assert lab.hosts["web1"].connection == ConnectionSpec(
        address="10.0.0.5", port=22, user="student", ssh_key=key
    )
    assert lab.hosts["lab01"].connection.address == "10.66.0.11"
    assert lab.hosts["lab01"].connection.port == 22  # host var beats group's 2222
    assert lab.hosts["lab02"].connection.address == "lab02"  # no host var: the name
    assert lab.hosts["lab02"].connection.port == 2222
    db1 = lab.hosts["db1"].connection
    assert (db1.address, db1.user, db1.become_password) == ("10.0.0.9", "postgres", "s3cret-become")
    assert db1.connection == "ssh" and db1.host_key_checking is True


def test_host_location_is_its_first_listing(lab: Inventory) -> None:
    assert str(lab.hosts["lab01"].loc) == f"{DATA / 'lab.yml'}:16:9"


def test_secrets_never_in_repr(lab: Inventory) -> None:
    for text in (repr(lab), repr(lab.hosts["db1"]), repr(lab.hosts["db1"].connection), str(lab)):
        assert "s3cret-become" not in text
    assert "db1" in repr(lab.hosts["db1"])


# --- precedence ---------------------------------------------------------------

PRECEDENCE = """\
all:
  vars: {x: all, only_all: 1}
  children:
    parent:
      vars: {x: parent, only_parent: 1}
      children:
        child:
          vars: {x: child}
          hosts:
            h_child:
            h_own: {x: host}
      hosts:
        h_parent:
    zeta:
      vars: {s: zeta}
      hosts:
        h_sib:
    alpha:
      vars: {s: alpha, d: alpha}
      hosts:
        h_sib:
        h_deep:
    beta:
      children:
        deeper:
          vars: {d: deeper}
          hosts:
            h_deep:
"""


@pytest.fixture
def prec(tmp_path: Path) -> Inventory:
    return load_inventory(write(tmp_path, PRECEDENCE))


@pytest.mark.parametrize(
    ("host", "expected"),
    [("h_parent", "parent"), ("h_child", "child"), ("h_own", "host")],
)
def test_all_then_parent_then_child_then_host(prec: Inventory, host: str, expected: str) -> None:
    assert prec.hosts[host].vars["x"] == expected
    assert prec.hosts[host].vars["only_all"] == 1


def test_child_inherits_parent_vars(prec: Inventory) -> None:
    assert prec.hosts["h_child"].vars["only_parent"] == 1


def test_siblings_alphabetical_not_file_order(prec: Inventory) -> None:
    # zeta is written first but sorts last, so it wins
    assert prec.hosts["h_sib"].vars["s"] == "zeta"
    assert prec.hosts["h_sib"].groups == ("all", "alpha", "zeta")


def test_deeper_group_beats_alphabetical(prec: Inventory) -> None:
    # `deeper` (depth 2) beats `alpha` (depth 1) whatever the names
    assert prec.hosts["h_deep"].vars["d"] == "deeper"
    assert prec.hosts["h_deep"].groups == ("all", "alpha", "beta", "deeper")


def test_group_priority_breaks_ties_before_names(tmp_path: Path) -> None:
    inv = load_inventory(
        write(
            tmp_path,
            """\
a:
  vars: {x: a, ansible_group_priority: 10}
  hosts: {h:}
b:
  vars: {x: b}
  hosts: {h:}
""",
        )
    )
    assert inv.hosts["h"].vars["x"] == "a"


def test_group_priority_must_be_an_int(tmp_path: Path) -> None:
    text = "a:\n  vars: {ansible_group_priority: high}\n  hosts: {h:}\n"
    path, msg = load_error(tmp_path, text)
    assert msg.startswith(at(path, text, "high") + ": ")
    assert "ansible_group_priority" in msg


def test_top_level_dict_replaces_not_deep_merges(tmp_path: Path) -> None:
    inv = load_inventory(
        write(
            tmp_path,
            "all:\n  vars: {cfg: {a: 1, b: 2}}\n  hosts:\n    h: {cfg: {a: 9}}\n",
        )
    )
    assert inv.hosts["h"].vars["cfg"] == {"a": 9}


def test_host_listed_in_several_groups_merges_its_vars(tmp_path: Path) -> None:
    text = """\
g1:
  hosts:
    h: {a: 1, b: 1}
g2:
  hosts:
    h: {b: 2}
"""
    inv = load_inventory(write(tmp_path, text))
    assert inv.hosts["h"].vars == {"a": 1, "b": 2}
    assert inv.groups["g1"].hosts == inv.groups["g2"].hosts == ["h"]


def test_group_defined_twice_merges(tmp_path: Path) -> None:
    text = """\
all:
  children:
    web:
      vars: {a: 1, b: 1}
      hosts: {w1:}
web:
  vars: {b: 2}
  hosts: {w2:}
"""
    inv = load_inventory(write(tmp_path, text))
    assert inv.groups["web"].hosts == ["w1", "w2"]
    assert inv.groups["web"].vars == {"a": 1, "b": 2}
    assert inv.groups["all"].children == ["web", "ungrouped"]


# --- structure ----------------------------------------------------------------


def test_group_under_several_parents(tmp_path: Path) -> None:
    text = """\
all:
  children:
    east:
      children:
        shared:
          hosts: {s1:}
    west:
      children:
        shared:
"""
    inv = load_inventory(write(tmp_path, text))
    assert inv.groups["east"].children == ["shared"]
    assert inv.groups["west"].children == ["shared"]
    assert inv.hosts["s1"].groups == ("all", "east", "west", "shared")
    assert [h.name for h in inv.select("west")] == ["s1"]


def test_nulls_are_fine_everywhere(tmp_path: Path) -> None:
    text = """\
all:
  vars:
  hosts:
    bare:
  children:
    empty:
    empty_parts:
      hosts:
      children:
      vars:
"""
    inv = load_inventory(write(tmp_path, text))
    assert inv.hosts["bare"].vars == {}
    assert inv.hosts["bare"].connection == ConnectionSpec(address="bare")
    assert inv.groups["empty"].hosts == [] and "empty_parts" in inv.groups


def test_a_single_name_string_is_accepted_like_ansible(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, "web:\n  hosts: web1\n  children: extra\n"))
    assert list(inv.hosts) == ["web1"]
    assert inv.groups["web"].children == ["extra"]


def test_numeric_host_names_become_strings(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, "all:\n  hosts:\n    10:\n    web1:\n"))
    assert list(inv.hosts) == ["10", "web1"]


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "all:\n"])
def test_empty_inventory(tmp_path: Path, text: str) -> None:
    inv = load_inventory(write(tmp_path, text))
    assert inv.hosts == {}
    assert set(inv.groups) == {"all", "ungrouped"}
    assert inv.select("all") == []


def test_ungrouped_follows_ansible(tmp_path: Path) -> None:
    text = """\
all:
  hosts:
    a:
    b:
  children:
    ungrouped:
      hosts:
        c:
        b:
    g:
      hosts:
        b:
"""
    inv = load_inventory(write(tmp_path, text))
    assert inv.groups["ungrouped"].hosts == ["c", "a"]
    assert inv.hosts["b"].groups == ("all", "g")
    assert [h.name for h in inv.select("ungrouped")] == ["a", "c"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("web[1:3]", ["web1", "web2", "web3"]),
        ("web[01:03].lab", ["web01.lab", "web02.lab", "web03.lab"]),
        ("n[0:6:3]", ["n0", "n3", "n6"]),
        ("x[:2]", ["x0", "x1", "x2"]),
        ("db-[a:c]", ["db-a", "db-b", "db-c"]),
        ("r[1:2]c[a:b]", ["r1ca", "r1cb", "r2ca", "r2cb"]),
        ("plain[x]", ["plain[x]"]),
    ],
)
def test_host_ranges(tmp_path: Path, name: str, expected: list[str]) -> None:
    inv = load_inventory(write(tmp_path, f"g:\n  hosts:\n    '{name}': {{port: 2022}}\n"))
    assert list(inv.hosts) == expected
    assert all(h.connection.port == 2022 for h in inv.hosts.values())


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("w[3:1]", "start is after end"),
        ("w[01:100]", "same length"),
        ("w[1:c]", "mixes letters and numbers"),
        ("w[1:3:0]", "step"),
        ("web[0:99999999]", "stands for more than 10000 hosts (the limit for one pattern)"),
        ("w[0:9999]x[0:9999]", "stands for more than 10000 hosts"),
        ("w" + "[1:1]" * 9, "has more than 8 ranges"),
        ("w" * 256, "is longer than 255 characters"),
        ("-oProxyCommand=x", "starts with '-'"),
        ("web 1", "holds a blank or control character"),
    ],
)
def test_bad_host_ranges(tmp_path: Path, name: str, problem: str) -> None:
    text = f"g:\n  hosts:\n    '{name}':\n"
    path, msg = load_error(tmp_path, text)
    assert msg.startswith(f"{path}:3:5: ")
    assert problem in msg


def test_a_range_at_the_limit_loads(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, "g:\n  hosts:\n    'w[0000:9999]':\n"))
    assert len(inv.hosts) == 10_000 and "w9999" in inv.hosts


def test_hosts_of_an_inventory_are_capped(tmp_path: Path) -> None:
    text = "g:\n  hosts:\n" + "".join(f"    '{c}[0:9999]':\n" for c in "abcdef")
    path, msg = load_error(tmp_path, text)
    assert msg == f"{path}:8:5: more than 50000 hosts (the limit for one inventory)"


def test_variables_copied_to_hosts_are_capped(tmp_path: Path) -> None:
    # Every host gets its own copy of its groups' variables: 101 × 10000 > 1000000.
    text = "all:\n  vars: {" + ", ".join(f"v{i}: {i}" for i in range(101)) + "}\n"
    text += "  hosts:\n    'w[0:9999]':\n"
    path, msg = load_error(tmp_path, text)
    assert msg.startswith(f"{path}:4:5: the hosts get more than 1000000 variables in all")


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("w: {ansible_host: -oProxyCommand=x}", "3:23: host 'w': ansible_host '-oProxyCommand=x'"),
        (
            "w: {host: 'a;b'}",
            "3:15: host 'w': host 'a;b' is not a host name or address: it holds ;",
        ),
        ("w: {ansible_ssh_host: 'a b'}", "3:27: host 'w': ansible_ssh_host 'a b' is not"),
        ("'w$(id)':", "3:5: host 'w$(id)' is reached at its name, which is not a host name"),
    ],
)
def test_addresses_that_ssh_or_a_shell_would_misread(
    tmp_path: Path, host: str, problem: str
) -> None:
    path, msg = load_error(tmp_path, f"g:\n  hosts:\n    {host}\n")
    assert msg.startswith(f"{path}:{problem}"), msg


def test_addresses_of_every_usual_kind_are_fine(tmp_path: Path) -> None:
    hosts = ["10.0.0.1", "::1", "fe80::1%eth0", "web-1.example.com", "under_score", "[::1]"]
    text = "g:\n  hosts:\n" + "".join(f"    h{i}: {{host: '{a}'}}\n" for i, a in enumerate(hosts))
    text += "    'loc(1)': {connection: local}\n    'w-1': {ansible_host: '{{ x }}', x: 10.9.9.9}\n"
    inv = load_inventory(write(tmp_path, text))
    assert [h.connection.address for h in inv.hosts.values()][:6] == hosts
    assert inv.hosts["w-1"].connection.address == "10.9.9.9"  # rendered, then checked


def test_connection_variables_are_rendered_then_checked(tmp_path: Path) -> None:
    text = (
        "all:\n  vars: {vault_pw: V-1, bad: '-oProxyCommand=x'}\n  hosts:\n"
        "    web1: {ansible_host: '{{ inventory_hostname }}.lab',"
        " ansible_become_password: '{{ vault_pw }}'}\n"
    )
    web1 = load_inventory(write(tmp_path, text)).hosts["web1"].connection
    assert (web1.address, web1.become_password) == ("web1.lab", "V-1")
    for host, error in [
        ("{ansible_host: '{{ nope }}'}", "host 'web2': ansible_host: 'nope' is undefined"),
        ("{ansible_host: '{{ bad }}'}", "'-oProxyCommand=x' is not a host name or address"),
    ]:
        path = write(tmp_path, text + f"    web2: {host}\n")
        with pytest.raises(InventoryError, match=re.escape(error)) as exc:
            load_inventory(path)
        assert f"{path}:5:" in str(exc.value)


# --- connection vars ------------------------------------------------------------


ALIASES = [
    (name, field, value)
    for field, names, value in [
        ("address", CONNECTION_VARS["address"], "10.1.1.1"),
        ("port", CONNECTION_VARS["port"], 2200),
        ("user", CONNECTION_VARS["user"], "deploy"),
        ("password", CONNECTION_VARS["password"], "pw"),
        ("become_password", CONNECTION_VARS["become_password"], "bpw"),
        ("host_key_checking", CONNECTION_VARS["host_key_checking"], False),
        ("connection", CONNECTION_VARS["connection"], "local"),
    ]
    for name in names
]


@pytest.mark.parametrize(("var", "field", "value"), ALIASES)
def test_every_alias_sets_its_field(tmp_path: Path, var: str, field: str, value: Any) -> None:
    path = write(tmp_path, f"all:\n  hosts:\n    h: {{{var}: {json.dumps(value)}}}\n")
    spec = load_inventory(path).hosts["h"].connection
    assert getattr(spec, field) == value


def test_required_alias_names_are_known() -> None:
    names = {n for names in CONNECTION_VARS.values() for n in names}
    assert {
        "ansible_host",
        "ansible_port",
        "ansible_user",
        "ansible_ssh_private_key_file",
        "ansible_password",
        "ansible_become_password",
        "ansible_become_pass",
        "ansible_connection",
        "ansible_ssh_host_key_checking",
        "ansible_host_key_checking",
    } <= names
    assert {"password", "ansible_password", "ansible_become_pass"} <= SECRET_VARS


def test_alias_at_a_deeper_level_beats_our_name_above(tmp_path: Path) -> None:
    text = """\
all:
  vars: {host: 1.1.1.1, ansible_port: 2}
  hosts:
    h: {ansible_host: 2.2.2.2, port: 3}
"""
    spec = load_inventory(write(tmp_path, text)).hosts["h"].connection
    assert (spec.address, spec.port) == ("2.2.2.2", 3)


def test_both_alias_and_name_at_one_level_is_an_error(tmp_path: Path) -> None:
    text = "all:\n  hosts:\n    h:\n      host: 1.1.1.1\n      ansible_host: 2.2.2.2\n"
    path, msg = load_error(tmp_path, text)
    assert msg.startswith(at(path, text, "2.2.2.2") + ": ")
    assert "'host'" in msg and "'ansible_host'" in msg


def test_localhost_is_local_unless_given_an_address(tmp_path: Path) -> None:
    text = "all:\n  hosts:\n    localhost:\n    other: {connection: local}\n"
    inv = load_inventory(write(tmp_path, text))
    assert inv.hosts["localhost"].connection.connection == "local"
    assert inv.hosts["other"].connection.connection == "local"
    text = "all:\n  hosts:\n    localhost: {host: 127.0.0.1}\n"
    assert load_inventory(write(tmp_path, text)).hosts["localhost"].connection.connection == "ssh"


@pytest.mark.parametrize("value", ["ssh", "paramiko", "smart"])
def test_ansible_ssh_connection_names(tmp_path: Path, value: str) -> None:
    inv = load_inventory(
        write(tmp_path, f"all:\n  hosts:\n    h: {{ansible_connection: {value}}}\n")
    )
    assert inv.hosts["h"].connection.connection == "ssh"


@pytest.mark.parametrize(
    ("value", "expected"), [("false", False), ("'no'", False), ("'True'", True), ("yes", True)]
)
def test_host_key_checking_values(tmp_path: Path, value: str, expected: bool) -> None:
    inv = load_inventory(
        write(tmp_path, f"all:\n  hosts:\n    h: {{host_key_checking: {value}}}\n")
    )
    assert inv.hosts["h"].connection.host_key_checking is expected


def test_port_may_be_a_quoted_number(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, "all:\n  hosts:\n    h: {port: '2222'}\n"))
    assert inv.hosts["h"].connection.port == 2222


def test_paths_expand_home_and_resolve_next_to_inventory(tmp_path: Path) -> None:
    text = """\
all:
  hosts:
    a: {ssh_key: ~/.ssh/lab, known_hosts: ~/kh}
    b: {ssh_key: keys/b, known_hosts: ../kh}
    c: {ansible_ssh_private_key_file: /abs/key}
"""
    (tmp_path / "sub").mkdir()
    inv = load_inventory(write(tmp_path / "sub", text))
    assert inv.hosts["a"].connection.ssh_key == os.path.join(HOME, ".ssh/lab")
    assert inv.hosts["a"].connection.known_hosts == os.path.join(HOME, "kh")
    assert inv.hosts["b"].connection.ssh_key == str(tmp_path / "sub" / "keys" / "b")
    assert inv.hosts["b"].connection.known_hosts == str(tmp_path / "sub" / ".." / "kh")
    assert inv.hosts["c"].connection.ssh_key == "/abs/key"
    # the vars keep what was written
    assert inv.hosts["b"].vars["ssh_key"] == "keys/b"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("abc", "'abc'"),
        ("0", "'0'"),
        ("70000", "'70000'"),
        ("true", "'True'"),
        ("22.5", "'22.5'"),
        ("'²'", "'²'"),
        ("''", "''"),
    ],
)
def test_bad_port_names_the_value_and_place(tmp_path: Path, value: str, shown: str) -> None:
    text = f"all:\n  hosts:\n    h:\n      port: {value}\n"
    path, msg = load_error(tmp_path, text)
    assert msg.startswith(at(path, text, value) + ": ")
    assert "port must be an integer 1..65535" in msg and shown in msg


def test_bad_port_in_a_group_points_at_the_group(tmp_path: Path) -> None:
    text = "lab:\n  vars:\n    port: [22]\n  hosts:\n    h1:\n"
    path, msg = load_error(tmp_path, text)
    assert msg.startswith(at(path, text, "[22]") + ": ")
    assert "host 'h1'" in msg


@pytest.mark.parametrize(
    ("var", "value"),
    [("connection", "winrm"), ("host_key_checking", "maybe"), ("user", "[a]"), ("host", "''")],
)
def test_bad_connection_values(tmp_path: Path, var: str, value: str) -> None:
    text = f"all:\n  hosts:\n    h:\n      {var}: {value}\n"
    path, msg = load_error(tmp_path, text)
    assert msg.startswith(at(path, text, value) + ": ")
    assert var in msg


@pytest.mark.parametrize("var", ["password", "ansible_become_pass", "ansible_ssh_pass"])
def test_numeric_secret_is_an_error_that_hides_it(tmp_path: Path, var: str) -> None:
    # YAML reads 0123 as the number 83: a silently wrong password
    text = f"all:\n  hosts:\n    h:\n      {var}: 0123\n"
    path, msg = load_error(tmp_path, text)
    assert msg.startswith(at(path, text, "0123") + ": ")
    assert "quote it" in msg
    assert "0123" not in msg and "83" not in msg


def test_secrets_absent_from_reprs(tmp_path: Path) -> None:
    text = """\
all:
  vars: {become_password: top-secret-1}
  hosts:
    h: {password: top-secret-2, ansible_ssh_pass: top-secret-3}
"""
    path = write(tmp_path, text)
    with pytest.raises(InventoryError) as exc:
        load_inventory(path)  # both password names on one host
    assert "top-secret" not in str(exc.value)
    path.write_text(text.replace(", ansible_ssh_pass: top-secret-3", ""))
    inv = load_inventory(path)
    spec = inv.hosts["h"].connection
    assert (spec.password, spec.become_password) == ("top-secret-2", "top-secret-1")
    for text_ in (repr(inv), repr(inv.hosts["h"]), repr(spec), str(spec), repr(inv.groups["all"])):
        assert "top-secret" not in text_


# --- structural errors name file:line:col ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "needle", "problem"),
    [
        ("- web1\n- web2\n", "- web1", "a mapping of groups"),
        ("all:\n  hosts: [web1, web2]\n", "[web1", "hosts of group 'all' must be a mapping"),
        ("all:\n  vars: [a]\n", "[a]", "vars of group 'all' must be a mapping"),
        ("all:\n  children:\n    lab: [a]\n", "[a]", "group 'lab' must be a mapping"),
        ("all:\n  chilren:\n    lab:\n", "chilren", "did you mean 'children'?"),
        ("all:\n  host:\n    web1:\n", "host:", "did you mean 'hosts'?"),
        ("lab:\n  web1:\n    host: 1.2.3.4\n", "web1", "hosts go under 'hosts:'"),
        (
            "all:\n  hosts:\n    web1: 10.0.0.5\n",
            "10.0.0.5",
            "host 'web1' must map to its variables",
        ),
        ("all:\n  hosts:\n    web1:\n      vars: {a: 1}\n", "vars", "without 'vars:'"),
        ("all:\n  hosts:\n    web1:\n    children:\n", "children", "indented too far"),
        ("all:\n  children:\n    hosts:\n", "hosts", "indented too far"),
        ("hosts:\n  web1:\n", "hosts", "must be inside a group"),
        ("all:\n  hosts:\n    ~:\n", "~:", "host name must be a non-empty string"),
        ("all:\n  vars:\n    1: x\n", "1: x", "variable names must be strings"),
        ("lab:\n  children:\n    all:\n", "all:", "cannot be a child"),
    ],
)
def test_structure_errors(tmp_path: Path, text: str, needle: str, problem: str) -> None:
    path, msg = load_error(tmp_path, text)
    assert msg.startswith(at(path, text, needle) + ": "), msg
    assert problem in msg


def test_unknown_key_without_close_match(tmp_path: Path) -> None:
    _, msg = load_error(tmp_path, "all:\n  zzz: 1\n")
    assert "unknown key 'zzz' in group 'all'" in msg and "did you mean" not in msg


def test_nested_cycle(tmp_path: Path) -> None:
    text = """\
all:
  children:
    a:
      children:
        b:
          children:
            a:
"""
    path, msg = load_error(tmp_path, text)
    assert msg.startswith(at(path, text, "a:", nth=2) + ": ")
    assert "group 'a' is its own ancestor: a → b → a" in msg


def test_cycle_across_definitions(tmp_path: Path) -> None:
    text = "a:\n  children:\n    b:\nb:\n  children:\n    a:\n"
    path, msg = load_error(tmp_path, text)
    assert "its own ancestor" in msg and "a → b → a" in msg
    assert msg.startswith(at(path, text, "a:", nth=2) + ": ")


def test_group_that_is_its_own_child(tmp_path: Path) -> None:
    text = "a:\n  children:\n    a:\n"
    path, msg = load_error(tmp_path, text)
    assert msg.startswith(at(path, text, "a:", nth=2) + ": ")


def test_recursive_yaml_alias_is_refused_not_a_hang(tmp_path: Path) -> None:
    text = "all:\n  children:\n    a: &g\n      children:\n        b: *g\n"
    path, msg = load_error(tmp_path, text)
    assert msg.startswith(f"{path}:5:12: alias *g is inside its own anchor &g")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("all:\n  hosts:\n    web:\n  children:\n    web:\n", "web:"),
        ("all:\n  children:\n    web:\n  hosts:\n    web:\n", "web:"),
        ("web:\n  hosts:\n    web:\n", "web:"),
        ("all:\n  hosts:\n    all:\n", "all:"),
    ],
)
def test_name_both_group_and_host(tmp_path: Path, text: str, needle: str) -> None:
    path, msg = load_error(tmp_path, text)
    assert msg.startswith(at(path, text, needle, nth=2) + ": ")
    assert "both as a" in msg


def test_duplicate_keys_are_inventory_errors(tmp_path: Path) -> None:
    text = "all:\n  hosts:\n    web1: {host: 10.0.0.1}\n    web1: {host: 10.0.0.2}\n"
    path, msg = load_error(tmp_path, text)
    assert msg.startswith(at(path, text, "web1", nth=2) + ": ")
    assert "duplicate key 'web1'" in msg


def test_yaml_syntax_errors_are_inventory_errors(tmp_path: Path) -> None:
    text = "all:\n  hosts:\n    web1: {host: 10.0.0.1\n"
    path, msg = load_error(tmp_path, text)
    assert msg.startswith(f"{path}:4:1: YAML error: ")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="cannot read file"):
        load_inventory(tmp_path / "none.yml")
    assert issubclass(InventoryError, InputError)


# --- group_vars/ and host_vars/ next to the inventory ----------------------------------


def test_vars_directories() -> None:
    inv = load_inventory(DATA / "with_vars" / "hosts.yml")
    web1, lab01 = inv.hosts["web1"], inv.hosts["lab01"]
    # group_vars/all/ is a directory: its files in name order, later wins
    assert web1.vars["from_file"] == "net"
    assert web1.vars["ntp"] == "pool.ntp.org"
    assert web1.vars["from_inventory"] == "all"
    # a group_vars file beats the inline vars of the same group
    assert lab01.vars["role"] == "from_group_vars"
    assert lab01.connection.port == 2200
    assert inv.groups["lab"].vars == {"role": "from_group_vars", "port": 2200}
    # host_vars beat the host's inline vars and every group
    base = DATA / "with_vars"
    assert web1.connection.port == 2201
    assert web1.connection.ssh_key == str(base.absolute() / "keys" / "web1")
    assert web1.connection.known_hosts == str(base.absolute() / ".." / "known_hosts")


def test_bad_value_in_vars_file_points_into_it(tmp_path: Path) -> None:
    (tmp_path / "host_vars").mkdir()
    bad = tmp_path / "host_vars" / "h.yml"
    bad.write_text("# comment\nport: many\n")
    path = write(tmp_path, "all:\n  hosts:\n    h:\n")
    with pytest.raises(InventoryError) as exc:
        load_inventory(path)
    assert str(exc.value).startswith(f"{bad}:2:7: ")


def test_vars_file_must_be_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "group_vars").mkdir()
    bad = tmp_path / "group_vars" / "all.yaml"
    bad.write_text("- a\n")
    with pytest.raises(InventoryError, match="must be a mapping") as exc:
        load_inventory(write(tmp_path, "all:\n  hosts:\n    h:\n"))
    assert str(exc.value).startswith(f"{bad}:1:1: ")


def test_vault_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text("$ANSIBLE_VAULT;1.1;AES256\n6162\n")
    with pytest.raises(InventoryError, match="Vault"):
        load_inventory(write(tmp_path, "all:\n  hosts:\n    h:\n"))


# --- localhost ---------------------------------------------------------------------


def test_localhost_inventory() -> None:
    inv = localhost_inventory()
    (host,) = inv.select("localhost")
    assert host.name == "localhost" and host.implicit and host.groups == ()
    assert host.connection == ConnectionSpec(address="localhost", connection="local")
    assert inv.select("all") == [] and inv.select("*") == []
    assert inv.select("localhost", implicit_localhost=False) == []
    assert inv.source is None


def test_implicit_localhost_gets_all_vars_but_stays_local(tmp_path: Path) -> None:
    text = "all:\n  vars: {user: student, ansible_connection: ssh, x: 1}\n  hosts:\n    web1:\n"
    inv = load_inventory(write(tmp_path, text))
    (host,) = inv.select("localhost")
    assert host.vars["x"] == 1
    assert host.connection.connection == "local"
    assert host.connection.user == "student"


def test_host_defaults() -> None:
    assert Host("web1").connection == ConnectionSpec(address="web1")
    assert Host("localhost").connection.connection == "local"
    spec = ConnectionSpec(address="10.0.0.1", port=2222)
    assert Host("web1", connection=spec).connection is spec
