from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provisioner.errors import InventoryError, Location
from provisioner.inventory import Inventory, load_inventory
from provisioner.inventory.patterns import match_hosts, split_pattern

INVENTORY = """\
all:
  hosts:
    gw.example.com:
  children:
    web:
      hosts:
        web1:
        web2:
    db:
      hosts:
        db1:
        web2:
    lab:
      hosts:
        lab01:
        lab02:
        lab10:
      children:
        web:
"""
# Inventory order: gw.example.com web1 web2 db1 lab01 lab02 lab10


@pytest.fixture(scope="module")
def inv(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    path = tmp_path_factory.mktemp("patterns") / "hosts.yml"
    path.write_text(INVENTORY, encoding="utf-8")
    return load_inventory(path)


def names(inv: Inventory, pattern: str | list[str], implicit_localhost: bool = True) -> list[str]:
    return [h.name for h in inv.select(pattern, implicit_localhost=implicit_localhost)]


ALL = ["gw.example.com", "web1", "web2", "db1", "lab01", "lab02", "lab10"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("all", ALL),
        ("*", ALL),
        ("web", ["web1", "web2"]),
        ("web1", ["web1"]),
        ("gw.example.com", ["gw.example.com"]),
        # a group includes the hosts of its children
        ("lab", ["web1", "web2", "lab01", "lab02", "lab10"]),
        # union, both spellings, result in inventory order without duplicates
        ("db:web", ["web1", "web2", "db1"]),
        ("db,web", ["web1", "web2", "db1"]),
        ("db, web ,web1", ["web1", "web2", "db1"]),
        ("web2:web2:db", ["web2", "db1"]),
        # intersection
        ("web:&db", ["web2"]),
        ("lab:&web", ["web1", "web2"]),
        ("web:&nothing", []),
        # exclusion
        ("lab:!web", ["lab01", "lab02", "lab10"]),
        ("all:!lab", ["gw.example.com", "db1"]),
        # only exclusions/intersections start from all (Ansible)
        ("!lab", ["gw.example.com", "db1"]),
        ("&db", ["web2", "db1"]),
        # Ansible order: unions, then intersections, then exclusions, as written or not
        ("!web2:lab:&web", ["web1"]),
        ("lab:&web:!web2", ["web1"]),
        ("&web:!web2:lab", ["web1"]),
        ("web:!web:web", []),
        # globs over host names and group names
        ("lab0*", ["lab01", "lab02"]),
        ("lab?0", ["lab10"]),
        ("lab0[12]", ["lab01", "lab02"]),
        ("lab[!0]*", ["lab10"]),
        ("d*", ["web2", "db1"]),  # group db
        ("*.example.com", ["gw.example.com"]),
        ("WEB*", []),  # case-sensitive, like Ansible
        # regex: Python syntax, anchored at the start only (re.match)
        ("~lab\\d0", ["lab10"]),
        ("~web", ["web1", "web2"]),
        ("~(db|gw)", ["gw.example.com", "web2", "db1"]),
        ("~.*2$", ["web2", "lab02"]),
        ("~b1", []),
        # nothing matched
        ("nope", []),
        ("nope:web1", ["web1"]),
    ],
)
def test_pattern_table(inv: Inventory, pattern: str, expected: list[str]) -> None:
    assert names(inv, pattern) == expected


def test_list_of_patterns(inv: Inventory) -> None:
    assert names(inv, ["db", "web1:lab01"]) == ["web1", "web2", "db1", "lab01"]


def test_result_is_host_objects_from_the_inventory(inv: Inventory) -> None:
    hosts = inv.select("web1")
    assert hosts == [inv.hosts["web1"]]
    assert hosts[0] is inv.hosts["web1"]


@pytest.mark.parametrize("pattern", ["~web[,db", "~(", "lab:~*x", "~a)"])
def test_invalid_regex_is_an_inventory_error(inv: Inventory, pattern: str) -> None:
    where = Location("site.yml", 3, 10)
    with pytest.raises(InventoryError, match="invalid regex") as exc:
        inv.select(pattern, where=where)
    assert str(exc.value).startswith("site.yml:3:10: ")


@pytest.mark.parametrize("pattern", ["~web[", "lab0[1", "web]:db"])
def test_unbalanced_bracket_is_an_error_not_dropped(inv: Inventory, pattern: str) -> None:
    with pytest.raises(InventoryError, match="unbalanced") as exc:
        inv.select(pattern, where=Location("site.yml", 2))
    assert str(exc.value).startswith("site.yml:2: ")


@pytest.mark.parametrize("pattern", ["", "  ", ",", ":"])
def test_empty_pattern_is_an_error_not_all(inv: Inventory, pattern: str) -> None:
    with pytest.raises(InventoryError, match="empty host pattern"):
        inv.select(pattern)


@pytest.mark.parametrize("pattern", ["web:!", "web:&"])
def test_bare_operator_is_an_error(inv: Inventory, pattern: str) -> None:
    with pytest.raises(InventoryError, match="names nothing"):
        inv.select(pattern)


def test_implicit_localhost(inv: Inventory) -> None:
    (host,) = inv.select("localhost")
    assert host.name == "localhost" and host.implicit
    assert host.connection.connection == "local"
    assert "localhost" not in inv.hosts
    # `all` does not include it; it joins other terms at the end
    assert "localhost" not in names(inv, "all")
    assert names(inv, "localhost:web1") == ["web1", "localhost"]
    assert names(inv, "localhost:!localhost") == []
    assert names(inv, "localhost", implicit_localhost=False) == []
    # all aliases are one host
    assert names(inv, "localhost:127.0.0.1:::1") == ["localhost"]
    assert names(inv, "127.0.0.1") == ["127.0.0.1"]


def test_inventory_localhost_is_used_for_every_alias(tmp_path: Path) -> None:
    path = tmp_path / "h.yml"
    path.write_text("all:\n  hosts:\n    localhost:\n    web1:\n", encoding="utf-8")
    inv = load_inventory(path)
    assert [h.name for h in inv.select("127.0.0.1")] == ["localhost"]
    assert inv.select("::1")[0] is inv.hosts["localhost"]
    assert [h.name for h in inv.select("all")] == ["localhost", "web1"]


@pytest.mark.parametrize(
    ("pattern", "terms"),
    [
        ("a:b", ["a", "b"]),
        ("a,b", ["a", "b"]),
        (" a , b ", ["a", "b"]),
        ("a:!b:&c", ["a", "!b", "&c"]),
        ("web[1:3]:db", ["web[1:3]", "db"]),
        ("a b", ["a", "b"]),
        ("::1", ["::1"]),
        ("fe80::1", ["fe80::1"]),
        ("[::1]", ["[::1]"]),
        ("~x,y", ["~x", "y"]),
        (["a:b", "c"], ["a", "b", "c"]),
    ],
)
def test_split_pattern(pattern: str | list[str], terms: list[str]) -> None:
    assert split_pattern(pattern) == terms


# Properties over random small inventories, on match_hosts directly.

_names = st.sampled_from(["h1", "h2", "h3", "h4", "h5", "h6"])
_groups = st.dictionaries(
    st.sampled_from(["g1", "g2", "g3"]), st.lists(_names, unique=True, max_size=4), max_size=3
)
_terms = st.sampled_from(["all", "*", "g1", "g2", "g3", "h1", "h3", "h*", "~h[12]", "nope"])


@given(st.lists(_names, unique=True, min_size=1), _groups, st.lists(_terms, min_size=1))
def test_properties(hosts: list[str], groups: dict[str, list[str]], terms: list[str]) -> None:
    members = {g: [h for h in m if h in hosts] for g, m in groups.items()}
    pattern = ":".join(terms)
    got = match_hosts(pattern, hosts, members)
    # a subset of the inventory, in its order, without duplicates
    assert got == [h for h in hosts if h in set(got)]
    # union is commutative; excluding everything leaves nothing
    assert got == match_hosts(":".join(reversed(terms)), hosts, members)
    assert match_hosts(pattern + ":!all", hosts, members) == []
    # `a:&b` is an intersection and `a:!b` a difference
    a, b = terms[0], terms[-1]
    set_a, set_b = set(match_hosts(a, hosts, members)), set(match_hosts(b, hosts, members))
    assert set(match_hosts(f"{a}:&{b}", hosts, members)) == set_a & set_b
    assert set(match_hosts(f"{a}:!{b}", hosts, members)) == set_a - set_b
