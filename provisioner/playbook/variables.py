"""A host's variables in a play: precedence, vars files, magic variables, facts named.

Precedence, low to high: inventory < facts < play vars < vars_files < extra vars,
then the magic variables, which only the tool sets. Registered results and task
vars go on top at run time (see `compile.scope`), extra vars still winning.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provisioner.errors import InputError, Location, PlaybookError
from provisioner.limits import read_text
from provisioner.modules import lookup
from provisioner.playbook.schema import BlockSpec, IncludeSpec, PlaySpec, RoleInfo
from provisioner.probes.host import FACT_NAMES
from provisioner.templating import Data, Lazy, Templar, as_data, names_in, strings_in
from provisioner.yamlmarks import load_yaml, loc_of

if TYPE_CHECKING:  # types only: commands without an inventory do not import it
    from provisioner.inventory import Host, Inventory

# The magic variables, each table the one place its names are made: name → its value.
# `login_user` is resolved only when a template uses it (it may read ~/.ssh/config).
HOST_MAGIC: dict[str, Callable[[Host, Callable[[Host], str], bool], Data | Lazy]] = {
    "inventory_hostname": lambda host, login_user, check: Data(host.name),
    "group_names": lambda host, login_user, check: Data(list(host.group_names)),
    "login_user": lambda host, login_user, check: Lazy(lambda: login_user(host)),
    "ansible_check_mode": lambda host, login_user, check: Data(check),
}
# Setting one of these is an error: the runner relies on them.
MAGIC_NAMES = frozenset(HOST_MAGIC)


def magic_variables(host: Host, login_user: Callable[[Host], str], check: bool) -> dict[str, Any]:
    """The variables the tool sets for every host, whatever the play."""
    return {name: make(host, login_user, check) for name, make in HOST_MAGIC.items()}


# What `default(omit)` renders to: an argument with this value is left out.
OMIT = "__omit_place_holder__provision__"
# The Ansible release whose language this implements (roles compare against it).
ANSIBLE_VERSION = {"full": "2.16.0", "major": 2, "minor": 16, "revision": 0, "string": "2.16.0"}
ANSIBLE_MANAGED = "Ansible managed"


# The magic variables Ansible's content reads that do not depend on the run.
PLAY_MAGIC: dict[str, Callable[[PlaySpec, Host], Any]] = {
    "omit": lambda play, host: OMIT,
    "playbook_dir": lambda play, host: str(play.base_dir),
    "ansible_version": lambda play, host: dict(ANSIBLE_VERSION),
    "ansible_managed": lambda play, host: ANSIBLE_MANAGED,
    "inventory_hostname_short": lambda play, host: host.name.split(".")[0],
    "ansible_play_name": lambda play, host: play.display_name,
    "ansible_role_names": lambda play, host: [r.name for r in play.roles],
    "ansible_play_role_names": lambda play, host: [r.name for r in play.roles],
}
# What a role's own tasks see of it.
ROLE_MAGIC: dict[str, Callable[[RoleInfo], Any]] = {
    "role_path": lambda role: str(role.path),
    "role_name": lambda role: role.name,
}
# A loop's details, with `loop_control: {extended: true}`.
LOOP_MAGIC = "ansible_loop"
# What a `rescue` reads of the failure (the runner sets them).
RESCUE_MAGIC = ("ansible_failed_task", "ansible_failed_result")
# The inventory's and the batch's, made per batch by run_magic.
RUN_MAGIC = (
    "groups",
    "hostvars",
    "play_hosts",
    "ansible_play_hosts",
    "ansible_play_hosts_all",
    "ansible_play_batch",
)
# Every magic variable the tool sets (docs/ansible-compatibility.md lists them).
MAGIC_VARIABLES = (
    *HOST_MAGIC,
    *PLAY_MAGIC,
    *ROLE_MAGIC,
    *RUN_MAGIC,
    LOOP_MAGIC,
    *RESCUE_MAGIC,
)


def play_magic(play: PlaySpec, host: Host) -> dict[str, Any]:
    return {name: Data(make(play, host)) for name, make in PLAY_MAGIC.items()}


def role_magic(role: RoleInfo) -> dict[str, Data]:
    return {name: Data(make(role)) for name, make in ROLE_MAGIC.items()}


def run_magic(
    inventory: Inventory,
    play_hosts: Sequence[str],
    batch: Sequence[str],
    facts_of: Callable[[str], Mapping[str, Any] | None] = lambda name: None,
) -> dict[str, Any]:
    """The magic variables of the inventory and the play's hosts: `groups`, `hostvars`
    (each host's inventory variables as written, and its facts once gathered),
    `ansible_play_hosts` (the play's hosts at the start of the batch), the batch's."""

    def hostvars() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, host in inventory.hosts.items():
            facts = {k: resolved(v) for k, v in (facts_of(name) or {}).items()}
            magic = {"inventory_hostname": name, "group_names": host.group_names}
            out[name] = {**host.vars, **facts, **magic}
        return out

    hosts = list(play_hosts)
    made: dict[str, Any] = {
        "groups": Data(inventory.members()),
        "hostvars": Lazy(hostvars),
        "play_hosts": Data(list(batch)),
        "ansible_play_hosts": Data(hosts),
        "ansible_play_hosts_all": Data(hosts),
        "ansible_play_batch": Data(list(batch)),
    }
    assert tuple(made) == RUN_MAGIC  # the registry names exactly what is made here
    return made


def resolved(value: Any) -> Any:
    if isinstance(value, Lazy):
        return value.get()
    return value.value if isinstance(value, Data) else value


def load_vars_files(play: PlaySpec, templar: Templar) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in play.vars_files:
        rendered = str(templar.render(name, play.loc))
        path = (play.base_dir / rendered).resolve()
        if not path.is_file():
            what = "not a regular file" if path.exists() else "no such file"
            raise PlaybookError(f"vars_files: {what} '{rendered}' (looked at {path})", play.loc)
        data = load_yaml(path)
        if data is None:
            continue
        if not isinstance(data, dict):
            raise PlaybookError(
                "a vars file must be a mapping of names to values",
                loc_of(data, Location(str(path))),
            )
        out.update(data)
    return out


def check_magic(sources: list[tuple[str, Mapping[str, Any], Location | None]]) -> None:
    """Setting a magic variable is an error: the runner relies on them (login_user
    decides when to log in again)."""
    for source, names, where in sources:
        taken = sorted(set(names) & MAGIC_NAMES)
        if taken:
            raise InputError(f"{source} set {', '.join(taken)}: provision sets these itself", where)


def play_files_vars(
    play: PlaySpec,
    inventory_vars: Mapping[str, Any],
    extra_vars: Mapping[str, Any],
    magic: Mapping[str, Any],
    facts: Mapping[str, Any],
    inventory_where: Location | None = None,
) -> dict[str, Any]:
    """The play's vars_files, their names rendered with what is known before them.
    `inventory_where`: where the inventory set a magic variable, if it did."""
    templar = Templar({**inventory_vars, **as_data(facts), **play.vars, **extra_vars, **magic})
    files = load_vars_files(play, templar)
    check_magic(
        [
            ("play vars", play.vars, play.loc),
            ("vars_files", files, play.loc),
            ("extra vars (-e)", extra_vars, None),
            ("inventory vars", inventory_vars, inventory_where),
        ]
    )
    return files


def merge(
    inventory_vars: Mapping[str, Any],
    facts: Mapping[str, Any],
    play: PlaySpec,
    files: Mapping[str, Any],
    extra_vars: Mapping[str, Any],
    magic: Mapping[str, Any],
) -> dict[str, Any]:
    # Facts came from the host: data, never template source.
    return {**inventory_vars, **as_data(facts), **play.vars, **files, **extra_vars, **magic}


# --- does a play name a fact? ------------------------------------------------------


def uses_facts(value: Any) -> bool:
    """Whether any string in `value` (templates, or bare `when` expressions) names a fact.

    Decides whether a play gathers facts: a play that names none costs no extra round
    trip. A plain string that happens to parse as an expression naming a fact only
    costs one gathering more than needed.
    """
    return any(names_in(text) & FACT_NAMES for text in strings_in(value))


def needs_facts(play: PlaySpec, *more: Mapping[str, Any]) -> bool:
    """Whether this play gathers facts: as its `gather_facts` says, else when any of its
    values (or the variables in `more`: inventory, extra vars) names one."""
    decided = play_gathers(play)
    return decided if decided is not None else uses_facts(list(more))


def play_gathers(play: PlaySpec) -> bool | None:
    """What the play alone decides: its `gather_facts`, or True when it names a fact
    itself (its values, vars files, template files); None: up to each host's variables.
    Reads files, so the runner asks once per play, not once per host."""
    if play.gather_facts is not None:
        return play.gather_facts
    values: list[Any] = [play.vars, play.vars_files]
    values += [_text_of(play.base_dir, name) for name in play.vars_files]
    values += [[r.defaults, r.vars, r.params] for r in play.roles]
    for task in play.all_tasks():
        values += [task.args, task.when, task.loop, task.vars, task.notify]
        values += [task.changed_when, task.failed_when, task.ignore_errors]
        values += [task.until, task.retries, task.delay, task.environment, task.delegate_to]
        values += [task.loop_control.label]
        cls = lookup(task.module)
        if cls is not None:
            base = task.role.path / (cls.src_dir or "") if task.role else play.base_dir
            values += cls.rendered_sources(task.args, base)
    if _has_include(play.tasks) or uses_facts(values):
        return True  # an include's file may name any fact
    return None


def _has_include(entries: Sequence[Any]) -> bool:
    """An include anywhere in these entries: blocks' parts, included files' tasks."""
    for entry in entries:
        if isinstance(entry, IncludeSpec):
            return True
        if isinstance(entry, BlockSpec) and any(
            _has_include(part) for part in (entry.block, entry.rescue, entry.always)
        ):
            return True
    return False


def _text_of(base_dir: Path, name: str) -> str:
    """A controller file's text, or "" when it cannot be read (compiling the play
    reports that)."""
    path = Path(name).expanduser()
    try:
        return read_text(path if path.is_absolute() else base_dir / path)
    except InputError:
        return ""
