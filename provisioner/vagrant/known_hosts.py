"""Forgetting the host keys of rebuilt Vagrant machines in the lab's known_hosts file.

A destroyed and rebuilt machine comes back on the same address (often
127.0.0.1 and the same forwarded port) with a new host key. Under accept-new
the old key would make every connection fail as CHANGED, so classes end up
teaching `ssh-keygen -R` after each exercise. Regenerating the inventory
removes the lines for exactly the names given, as `ssh-keygen -R` would:
plain names (``[127.0.0.1]:2222``), hashed ones (``|1|salt|hash``), and one
name out of a comma list (the others stay on the line). Wildcard patterns,
negations, ``@revoked`` and ``@cert-authority`` lines and comments are kept.
"""

from __future__ import annotations

from collections.abc import Collection

from provisioner.transport.hostkeys import hostnames_match

__all__ = ["forget_names"]


def forget_names(text: str, names: Collection[str]) -> tuple[str, list[int]]:
    """`text` without the entries for `names`, and the numbers of the lines changed."""
    wanted = [n for n in names if n]
    out: list[str] = []
    changed: list[int] = []
    for lineno, line in enumerate(text.splitlines(keepends=True), start=1):
        body = line.strip()
        if not body or body.startswith(("#", "@")) or not wanted:
            out.append(line)
            continue
        field, rest = [*body.split(None, 1), ""][:2]
        entries = field.split(",")
        kept = [e for e in entries if not _names_one(e, wanted)]
        if len(kept) == len(entries):
            out.append(line)
            continue
        changed.append(lineno)
        if kept:
            out.append(f"{','.join(kept)} {rest.strip()}\n")
    return "".join(out), changed


def _names_one(entry: str, names: Collection[str]) -> bool:
    if entry.startswith("|"):
        return any(hostnames_match(entry, name) for name in names)
    if entry.startswith("!") or "*" in entry or "?" in entry:
        return False  # a pattern is the user's own rule, not one machine's key
    return any(entry.lower() == name.lower() for name in names)
