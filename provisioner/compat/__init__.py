"""docs/ansible-compatibility.md: Ansible's names beside the code's registries.

Status is derived, never written: a name one of the registries has is `supported`
(`partial` when a note says how it differs from Ansible's), any other Ansible name is
`not`, with what happens to a playbook that uses it. The registries are the ones the
loader, the compiler and the templates use (keywords in `playbook.schema`,
`playbook.entries`, `playbook.loops`; modules in `modules`; filters, tests and lookups
in the Jinja2 environment; magic variables in `playbook.variables`; facts in
`probes.host`), so a name added there shows here at the next `python -m
provisioner.compat > docs/ansible-compatibility.md`, and tests/unit/test_compat_doc.py
fails until it is. Pure: `render()` returns the page, `__main__` prints it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import jinja2.filters
import jinja2.tests

from provisioner.compat import ansible, notes
from provisioner.jinja import FQCN, LOOKUPS
from provisioner.jinja import filters as our_filters
from provisioner.jinja import tests as our_tests
from provisioner.modules import BUILTIN, PREFIXES, lookup
from provisioner.modules.ansible_modules import ANSIBLE_MODULES
from provisioner.modules.unsupported import is_ansible_module
from provisioner.playbook.entries import INCLUDE_KEYWORDS, ROLE_KEYS, ROLE_KEYWORDS, ROLE_OPTIONS
from provisioner.playbook.entries import TASK_FILE_KEYS as TASK_FILE_ENTRIES
from provisioner.playbook.load import IMPORT_PLAYBOOK
from provisioner.playbook.schema import BLOCK_KEYWORDS, PLAY_KEYWORDS, TASK_KEYWORDS
from provisioner.playbook.task import WITH_KEYS
from provisioner.playbook.variables import ANSIBLE_VERSION, MAGIC_NAMES, MAGIC_VARIABLES
from provisioner.probes.host import ANSIBLE_NAMES
from provisioner.templating import environment

SUPPORTED, PARTIAL, NOT = "supported", "partial", "not"
OURS_ONLY = "ours only: not Ansible's"
REGENERATE = "python -m provisioner.compat > docs/ansible-compatibility.md"


@dataclass(frozen=True)
class Row:
    name: str
    status: str  # SUPPORTED | PARTIAL | NOT
    notes: str


@dataclass(frozen=True)
class Kind:
    """One table of the page: a kind of name (`key` keys its notes)."""

    key: str
    title: str
    intro: str
    ours: frozenset[str]  # what the registries have
    rows: tuple[Row, ...]

    def count(self, status: str) -> int:
        return sum(row.status == status for row in self.rows)


def _kind(
    key: str,
    title: str,
    intro: str,
    ours: Iterable[str],
    theirs: Iterable[str],
    *,
    info: Callable[[str], str] = lambda name: "",
    differs: Callable[[str], str] | None = None,
    missing: Callable[[str], str] | None = None,
) -> Kind:
    """The rows of every name either side has: ours supported or partial, theirs not."""
    have, known = frozenset(ours), frozenset(theirs)
    partial = notes.partial().get(key, {})
    remarks = notes.remarks().get(key, {})
    differs = differs or (lambda name: partial.get(name, ""))
    missing = missing or notes.MISSING[key]
    rows = []
    for name in sorted(have | known):
        if name not in have:
            rows.append(Row(name, NOT, missing(name)))
            continue
        how = differs(name)
        words = [OURS_ONLY if name not in known else "", info(name), remarks.get(name, ""), how]
        rows.append(Row(name, PARTIAL if how else SUPPORTED, "; ".join(w for w in words if w)))
    return Kind(key, title, intro, have, tuple(rows))


# --- modules -------------------------------------------------------------------------


def _short(name: str) -> str:
    """A module's name without its collection (`ansible.posix.sysctl` → `sysctl`)."""
    return name.rsplit(".", 1)[-1]


ENTRIES = (*TASK_FILE_ENTRIES, *ROLE_KEYS, IMPORT_PLAYBOOK)


def module_names() -> frozenset[str]:
    """Every built-in module a task can name, by its short name, and the include/import
    entries the loader reads."""
    return frozenset({*(_short(n) for ns in BUILTIN.values() for n in ns), *ENTRIES})


def _module_info(name: str) -> str:
    cls = lookup(name)
    if cls is None:  # an include/import entry
        return ""
    words = [f"as `{cls.name}`"] if cls.name != name else []
    others = [
        n
        for n in (cls.name, *cls.aliases)
        if "." in n and not n.startswith(PREFIXES) and _short(n) == name
    ]
    if others:
        words.append("also " + ", ".join(f"`{n}`" for n in sorted(others)))
    return "; ".join(words)


def _module_differs(name: str) -> str:
    cls = lookup(name)
    return cls.differs if cls is not None else notes.partial()["module"].get(name, "")


def module_missing(name: str) -> str:
    """What a task naming a module provision lacks does."""
    if is_ansible_module(name):
        return (
            f"loads; fails where it would run: module '{name}' is not supported yet "
            "(skipped like any task where its `when` is false)"
        )
    return f"a load error: unknown module or task keyword '{name}'"


# --- filters and tests ---------------------------------------------------------------


def _template_names(table: Iterable[str]) -> frozenset[str]:
    """What a template can name (an environment's filters or tests), FQCN copies aside."""
    return frozenset(n for n in table if not n.startswith(FQCN))


def _jinja_info(jinja_own: Iterable[str], implemented: Iterable[str]) -> Callable[[str], str]:
    """The note "Jinja2's" for a name the environment has from Jinja2 itself, not from us."""
    jinja, ours = set(jinja_own), set(implemented)
    return lambda name: "Jinja2's" if name in jinja and name not in ours else ""


# --- the page --------------------------------------------------------------------------


def kinds() -> tuple[Kind, ...]:
    env = environment()
    magic_set = ", ".join(f"`{n}`" for n in sorted(MAGIC_NAMES))
    return (
        _kind(
            "play",
            "Play keywords",
            "The keys of a play. A playbook entry `import_playbook` is under Modules.",
            PLAY_KEYWORDS,
            ansible.PLAY_KEYWORDS,
        ),
        _kind(
            "task",
            "Task keywords",
            "What a task takes beside its one module key, `with_<lookup>` loops included.",
            (*TASK_KEYWORDS, *WITH_KEYS),
            ansible.TASK_KEYWORDS,
        ),
        _kind(
            "block",
            "Block keywords",
            "The keys of a `block:` entry; its other keywords are handed down to every task "
            "inside it.",
            BLOCK_KEYWORDS,
            ansible.BLOCK_KEYWORDS,
        ),
        _kind(
            "role",
            "Role keywords",
            "The keys of a role named in a play's `roles:` (`- role: NAME` and keywords). "
            "Any other key is a role parameter, as in Ansible's older form.",
            ROLE_KEYWORDS,
            ansible.ROLE_KEYWORDS,
        ),
        _kind(
            "include",
            "Include and import keywords",
            "What an `include_tasks`, `import_tasks`, `include_role` or `import_role` entry "
            "takes beside its own key. `loop` and `with_items` only on the include_ ones "
            "(on an import, a load error, as in Ansible).",
            INCLUDE_KEYWORDS,
            ansible.INCLUDE_KEYWORDS,
        ),
        _kind(
            "role_option",
            "include_role and import_role options",
            "The keys under `include_role:` or `import_role:`.",
            ROLE_OPTIONS,
            ansible.ROLE_OPTIONS,
        ),
        _kind(
            "module",
            "Modules",
            "Supported: the module with the arguments [modules.md](modules.md) lists; an "
            "argument Ansible has and it lacks is a load error naming it, never ignored. "
            "Every module also answers to `ansible.builtin.NAME` and `ansible.legacy.NAME` "
            "(the include and import entries do not: see their rows). "
            "A module Ansible has and provision lacks loads, and the task fails only on a "
            "host where it would run, so roles written for several platforms run on EL "
            "hosts; so does any `win_*` name and any `namespace.collection.module` name "
            "not listed here. `include_*`, `import_*`: read by the playbook loader "
            "([playbooks.md](playbooks.md)).",
            module_names(),
            {*ANSIBLE_MODULES, *ansible.ENTRIES},
            info=_module_info,
            differs=_module_differs,
            missing=module_missing,
        ),
        _kind(
            "filter",
            "Filters",
            "Ansible's and Jinja2's own; [jinja.md](jinja.md) describes each of ours and "
            "the Jinja2 ones roles rely on, and each of those also answers to "
            "`ansible.builtin.NAME`. An unknown filter or test is an error naming it when "
            "its template is compiled: a task's, when the task is compiled for a host "
            "(`provision validate -i`, or before `apply` changes anything).",
            _template_names(env.filters),
            {*ansible.ANSIBLE_FILTERS, *ansible.JINJA_FILTERS},
            info=_jinja_info(jinja2.filters.FILTERS, our_filters.FILTERS),
        ),
        _kind(
            "test",
            "Tests",
            "Ansible's and Jinja2's own, as for filters.",
            _template_names(env.tests),
            {*ansible.ANSIBLE_TESTS, *ansible.JINJA_TESTS},
            info=_jinja_info(jinja2.tests.TESTS, our_tests.TESTS),
        ),
        _kind(
            "lookup",
            "Lookups",
            "Through `lookup()`, `query()` and `q()`, names also as `ansible.builtin.NAME` "
            "([jinja.md](jinja.md#lookups)). No result is `''` from `lookup` (Ansible: "
            "`[]`). An unknown lookup fails where it is rendered: when the task is compiled "
            "for a host if what it reads is known by then, else the task fails at its turn.",
            LOOKUPS,
            ansible.LOOKUPS,
        ),
        _kind(
            "magic",
            "Magic variables",
            f"Set by provision itself; setting {magic_set} anywhere (inventory, play "
            "vars, vars files, task vars, `-e`) is an error.",
            MAGIC_VARIABLES,
            ansible.MAGIC_VARIABLES,
        ),
        _kind(
            "fact",
            "Facts",
            "Names in `ansible_facts`, each also the variable `ansible_NAME` and "
            "`facts.NAME` ([playbooks.md](playbooks.md#facts), with this tool's own "
            "ten). Gathered by one read-only sh probe, as the login user; a value over "
            "64 KiB is left out.",
            ANSIBLE_NAMES,
            ansible.FACTS,
        ),
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _anchor(title: str) -> str:
    return "".join(c for c in title.lower().replace(" ", "-") if c.isalnum() or c in "-_")


def render() -> str:
    """The whole page, Markdown."""
    table = kinds()
    version = ANSIBLE_VERSION["full"]
    release = f"{ANSIBLE_VERSION['major']}.{ANSIBLE_VERSION['minor']}"
    out = [
        "# Ansible compatibility",
        "",
        f"provision implements the playbook language of ansible-core {release} "
        f"(`ansible_version` is `{version}`), as far as Ansible documents it. Each of "
        "Ansible's names below is **supported**, **partial** (it works; the notes say what "
        "differs) or **not** (the notes say what happens to a playbook that uses it). A "
        f"name marked *{OURS_ONLY}* is provision's alone.",
        "",
        "Generated from the code's registries by `provisioner/compat/` (Ansible's names: "
        "`provisioner/compat/ansible.py`, `provisioner/modules/ansible_modules.py`); do "
        "not edit it by hand. After a change to a registry, regenerate it:",
        "",
        "```sh",
        REGENERATE,
        "```",
        "",
        "`tests/unit/test_compat_doc.py` fails while this page and the registries differ.",
        "",
        "| kind | supported | partial | not |",
        "| --- | ---: | ---: | ---: |",
    ]
    for kind in table:
        counts = " | ".join(str(kind.count(s)) for s in (SUPPORTED, PARTIAL, NOT))
        out.append(f"| [{kind.title}](#{_anchor(kind.title)}) | {counts} |")
    for kind in table:
        out += ["", f"## {kind.title}", "", kind.intro, "", "| name | status | notes |"]
        out.append("| --- | --- | --- |")
        for row in kind.rows:
            out.append(f"| `{_cell(row.name)}` | {row.status} | {_cell(row.notes)} |")
    return "\n".join(out) + "\n"
