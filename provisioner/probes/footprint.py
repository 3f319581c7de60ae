"""Where on the host a probe's answer comes from, and where a change writes: so that
after a change only the answers it may have altered are asked again.

A footprint is a set of places: absolute paths (a path stands for what is under it
too) and the host's databases (`ACCOUNTS`, `PACKAGES`), each of which lives in
files (`DATABASE_FILES`), so a file written there alters it. `None` is the
footprint of what may read or write anything (a command, a package install): it
overlaps every other. Paths are compared as written and as the probes found them
resolved (a file probe reports its real path), so a symlink does not hide a change.
"""

from __future__ import annotations

import posixpath

Footprint = frozenset[str] | None
ACCOUNTS = "db:accounts"  # users, groups, what names a file's owner shows as
PACKAGES = "db:packages"  # rpm's database and what says where it is
DATABASE_FILES: dict[str, tuple[str, ...]] = {
    ACCOUNTS: (
        "/etc/passwd",
        "/etc/group",
        "/etc/shadow",
        "/etc/gshadow",
        "/etc/nsswitch.conf",
    ),
    PACKAGES: ("/var/lib/rpm", "/usr/lib/sysimage/rpm", "/etc/rpm", "/usr/lib/rpm"),
}
MACROS = ".rpmmacros"  # a user's own rpm settings (the database's place among them)


def paths(*names: str) -> Footprint:
    """The footprint of these paths; None when one is not absolute (no telling where)."""
    if any(not n.startswith("/") for n in names):
        return None
    return frozenset(posixpath.normpath(n) for n in names)


def _nested(a: str, b: str) -> bool:
    """Is one of the paths the other or under it?"""
    if a == b or a == "/" or b == "/":
        return True
    return b.startswith(a + "/") or a.startswith(b + "/")


def _meets(a: str, b: str) -> bool:
    if a.startswith("db:") or b.startswith("db:"):
        if a == b:
            return True
        db, path = (a, b) if a.startswith("db:") else (b, a)
        if path.startswith("db:"):
            return False
        if db == PACKAGES and posixpath.basename(path) == MACROS:
            return True
        return any(_nested(path, f) for f in DATABASE_FILES.get(db, ("/",)))
    return _nested(a, b)


def overlaps(read: Footprint, written: Footprint) -> bool:
    """May a change that wrote `written` have altered an answer that read `read`?"""
    if read is None or written is None:
        return True
    return any(_meets(r, w) for r in read for w in written)


def paths_in(places: frozenset[str]) -> frozenset[str]:
    """The paths of a footprint, without its databases."""
    return frozenset(p for p in places if not p.startswith("db:"))
