"""`file` with `recurse`: the mode, owner and group of everything under a directory.

The probe (`TreeAttrs`) brings back how many paths share each kind, mode and owner,
never their names, so a tree of 100 000 files costs a few lines. The plan says how
many paths differ; the commands change exactly the groups that differ
(`find DIR -type f -perm 0644 -exec chmod 0640 {} +`), each to the mode a symbolic
`mode` makes of theirs. Symlinks under the directory are not followed (Ansible
follows them by default, even out of the tree): their own owner and group are set
(`chown -h`), their mode means nothing on Linux.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.modules._files import chmod_word, resolve_mode
from provisioner.probes.files import TreeEntry
from provisioner.shell import q


@dataclass(frozen=True)
class TreePlan:
    chmod: tuple[tuple[str, str, str], ...] = ()  # (find type, mode now, mode wanted)
    owner: str | None = None  # chown -R -h
    group: str | None = None  # chgrp -R -h
    count: int = 0  # paths that differ


def _owned(want: str | None, name: str, number: int) -> bool:
    return want is None or want in (name, str(number))


def plan_tree(
    entries: tuple[TreeEntry, ...], mode: str | None, owner: str | None, group: str | None
) -> TreePlan | None:
    """What must change under the directory; None: nothing."""
    chmod: dict[tuple[str, str, str], None] = {}
    count, owner_differs, group_differs = 0, False, False
    for e in entries:
        new = None if e.kind == "l" else resolve_mode(mode, e.mode, e.kind == "d")
        mode_differs = new is not None and int(new, 8) != e.mode
        if mode_differs and new is not None:
            chmod[(e.kind, f"{e.mode:04o}", new)] = None
        o_differs = not _owned(owner, e.user, e.uid)
        g_differs = not _owned(group, e.group, e.gid)
        owner_differs |= o_differs
        group_differs |= g_differs
        if mode_differs or o_differs or g_differs:
            count += e.count
    if not count:
        return None
    return TreePlan(
        tuple(chmod), owner if owner_differs else None, group if group_differs else None, count
    )


def tree_line(path: str, plan: TreePlan) -> str:
    """The summary line: "recurse: 12 paths under /srv/app (mode, owner)"."""
    what = [
        name
        for name, differs in (
            ("mode", bool(plan.chmod)),
            ("owner", plan.owner is not None),
            ("group", plan.group is not None),
        )
        if differs
    ]
    paths = "path" if plan.count == 1 else "paths"
    return f"recurse: {plan.count} {paths} under {path} ({', '.join(what)})"


def tree_commands(path: str, plan: TreePlan) -> list[str]:
    """sh lines that make every path under `path` as planned (the directory itself is
    the file module's own lines)."""
    top = q(path)
    lines = [
        f"find {top} -mindepth 1 -type {kind} -perm {old} -exec chmod {chmod_word(new)} -- {{}} +"
        for kind, old, new in plan.chmod
    ]
    # -h: a link's own owner; -R without -L: links are not followed.
    if plan.owner is not None:
        lines.append(f"find {top} -mindepth 1 -exec chown -h -- {q(plan.owner)} {{}} +")
    if plan.group is not None:
        lines.append(f"find {top} -mindepth 1 -exec chgrp -h -- {q(plan.group)} {{}} +")
    return lines
