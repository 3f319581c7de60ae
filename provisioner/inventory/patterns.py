"""Host patterns with Ansible's semantics (`hosts:` in a play, `--limit`).

Works on names only, so it knows nothing of Host objects or YAML:
`Inventory.select` feeds it host names and group membership.

- `all` / `*`: every host; a group name: the group's hosts (and its children's);
  a host name: that host.
- `a:b` or `a,b`: union; `&x`: intersection; `!x`: exclusion. As in Ansible,
  unions are applied first, then intersections, then exclusions, whatever the
  order written; a pattern with only `&`/`!` terms starts from `all`.
- `*`, `?`, `[..]`: fnmatch globs over host and group names (case-sensitive).
  Unlike Ansible, `web[0]` is a glob, not a subscript of group `web`.
- `~regex`: Python regex over host and group names, anchored at the start
  only (re.match), as in Ansible.
- `localhost`, `127.0.0.1`, `::1`: when nothing else matches, the implicit
  local host (Ansible's implicit localhost), which `all` does not include.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Callable, Collection, Mapping, Sequence

from provisioner.errors import InventoryError, Location

__all__ = ["LOCALHOST_NAMES", "match_hosts", "split_pattern"]

LOCALHOST_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

# One `:`-separated term: anything but whitespace, ':' and brackets, or a whole
# bracketed expression (so `web[1:3]` stays one term). Same as Ansible's.
_COLON_TERM = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")
_GLOB_CHARS = frozenset("*?[")


def _is_ipv6(text: str) -> bool:
    try:
        return ipaddress.ip_address(text.strip("[]")).version == 6
    except ValueError:
        return False


def split_pattern(pattern: str | Sequence[str], where: Location | None = None) -> list[str]:
    """Split a pattern into terms: on commas if any, else on colons.

    A bare IPv6 address (`::1`, `fe80::1`) is one term, not a colon list.
    A list of patterns (YAML `hosts: [a, b]`) is split item by item.
    """
    if not isinstance(pattern, str):
        return [term for item in pattern for term in split_pattern(item, where)]
    pattern = pattern.strip()
    if "," in pattern:
        terms = pattern.split(",")
    elif _is_ipv6(pattern):
        terms = [pattern]
    else:
        terms = _COLON_TERM.findall(pattern)
        # Ansible silently drops an unbalanced bracket (`~web[` → `~web`);
        # selecting other hosts than the user wrote is worse than an error.
        if _COLON_TERM.sub("", pattern).strip(": \t"):
            raise InventoryError(f"unbalanced '[' or ']' in host pattern {pattern!r}", where)
    return [t.strip() for t in terms if t.strip()]


def _matcher(expr: str, where: Location | None) -> Callable[[str], bool] | None:
    """A predicate for a regex or glob term; None for a plain name."""
    if expr.startswith("~"):
        try:
            rx = re.compile(expr[1:])
        except re.error as err:
            raise InventoryError(f"invalid regex in host pattern {expr!r}: {err}", where) from None
        return lambda name: rx.match(name) is not None
    if _GLOB_CHARS & set(expr):
        rx = re.compile(fnmatch.translate(expr))
        return lambda name: rx.match(name) is not None
    return None


def match_hosts(
    pattern: str | Sequence[str],
    host_names: Sequence[str],
    group_members: Mapping[str, Collection[str]],
    *,
    implicit_localhost: bool = True,
    where: Location | None = None,
) -> list[str]:
    """Host names selected by `pattern`, in `host_names` order, no duplicates.

    `group_members` maps each group to all hosts in it, including those of its
    descendant groups. A returned name that is not in `host_names` is the
    implicit local host; it comes last. Nothing matched → []; a malformed
    pattern (empty, bad regex) → InventoryError at `where`.
    """
    regular, intersect, exclude = _terms(pattern, where)
    lookup = _Lookup(host_names, group_members, implicit_localhost, where)
    selected: set[str] = set()
    for expr in regular:
        selected |= lookup.one(expr)
    for expr in intersect:
        selected &= lookup.one(expr)
    for expr in exclude:
        selected -= lookup.one(expr)
    ordered = [name for name in host_names if name in selected]
    # The implicit local host is not in host_names; it comes last.
    ordered += sorted(selected - lookup.known)
    return ordered


def _terms(
    pattern: str | Sequence[str], where: Location | None
) -> tuple[list[str], list[str], list[str]]:
    """The union, intersection (`&`) and exclusion (`!`) terms of a pattern."""
    terms = split_pattern(pattern, where)
    if not terms:
        # Ansible reads an empty pattern as `all`; running everywhere by
        # accident is worse than an error.
        raise InventoryError("empty host pattern", where)
    regular = [t for t in terms if t[0] not in "&!"]
    intersect = [t[1:].strip() for t in terms if t[0] == "&"]
    exclude = [t[1:].strip() for t in terms if t[0] == "!"]
    for term, expr in [(t, t[1:].strip()) for t in terms if t[0] in "&!"]:
        if not expr:
            raise InventoryError(f"host pattern term {term!r} names nothing", where)
    return regular or ["all"], intersect, exclude


class _Lookup:
    """The hosts one term names."""

    def __init__(
        self,
        host_names: Sequence[str],
        group_members: Mapping[str, Collection[str]],
        implicit_localhost: bool,
        where: Location | None,
    ) -> None:
        self.host_names = host_names
        self.known = set(host_names)
        self.group_members = group_members
        self.implicit_localhost = implicit_localhost
        self.where = where
        # Every localhost alias resolves to one local host, as in Ansible: an
        # inventory host with such a name if there is one, else the implicit host
        # named after the first alias used.
        self.local_alias = next((n for n in host_names if n in LOCALHOST_NAMES), None)

    def one(self, expr: str) -> set[str]:
        if expr in self.known:  # a plain host name: no need to look further
            return {expr}
        if expr == "all":
            return set(self.host_names)
        match = _matcher(expr, self.where)
        found: set[str] = set()
        matched_group = False
        for group, members in self.group_members.items():
            if match(group) if match is not None else group == expr:
                matched_group = True
                found.update(m for m in members if m in self.known)
        if match is not None:
            found.update(name for name in self.host_names if match(name))
        if not found and not matched_group and self.implicit_localhost and expr in LOCALHOST_NAMES:
            self.local_alias = self.local_alias or expr
            found.add(self.local_alias)
        return found
