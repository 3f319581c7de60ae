"""A list of task entries → tasks, blocks and includes, with what each hands down.

Static forms are resolved here, at load: `import_tasks` splices its file in (errors
carry that file's line), `import_role` and a play's `roles:` splice the role's tasks
(dependencies first, each role once per play unless it allows duplicates), and a
block's keywords are handed to every task inside it, as Ansible applies them.
`include_tasks` and `include_role` stay entries decided on each host at run time;
their file is read here already when its name is not a template, so a missing file
is a load error.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from provisioner.errors import InputError, Location
from provisioner.modules import canonical
from provisioner.playbook import roles
from provisioner.playbook.problems import Collector, key_loc, loc_of
from provisioner.playbook.schema import (
    BLOCK_KEYWORDS,
    INHERITED,
    BlockSpec,
    Condition,
    Entry,
    IncludeSpec,
    RoleInfo,
    TaskSpec,
)
from provisioner.playbook.task import parse_task
from provisioner.templating import is_template
from provisioner.yamlmarks import MarkedDict, load_yaml

TASK_FILE_KEYS = ("import_tasks", "include_tasks")
ROLE_KEYS = ("import_role", "include_role")
INCLUDE_KEYWORDS = ("name", "when", "loop", "with_items", "vars", "tags", "apply", *INHERITED)
ROLE_OPTIONS = (
    "name",
    "tasks_from",
    "vars_from",
    "defaults_from",
    "handlers_from",
    "public",
    "apply",
)
HANDLERS_ARE_TASKS = "handlers must be tasks (blocks and includes are not supported there)"
# The keywords of a role named in a play's `roles:`; any other key is a role parameter.
ROLE_KEYWORDS = ("role", *dict.fromkeys(("name", "vars", "when", "tags", *INHERITED)))


def _listify(value: Any) -> Any:
    if value is None:
        return []
    return [value] if isinstance(value, (str, bool)) else value


def short_names(raw: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """`ansible.builtin.include_tasks:` (and the other include and import keys) as the
    short names the loader knows, each key and value still where it was written."""
    short = {k: canonical(k) for k in raw if isinstance(k, str)}
    renamed = {k: v for k, v in short.items() if k != v and v in keys}
    if not renamed:
        return raw
    if not isinstance(raw, MarkedDict):
        return {renamed.get(k, k): v for k, v in raw.items()}
    out = MarkedDict(loc=raw.loc)
    for key, value in raw.items():
        out.set_marked(renamed.get(key, key), value, raw.key_loc(key), raw.value_loc(key))
    return out


class _Keywords(BaseModel):
    """The inherited keywords as written on a block, role or import: checked once."""

    model_config = ConfigDict(extra="ignore", arbitrary_types_allowed=True)
    when: list[Condition] = []
    become: bool | None = None
    become_user: str | None = None
    tags: list[str] = []
    vars: dict[str, Any] = {}
    ignore_errors: bool | str | None = None
    notify: list[str] = []
    no_log: bool | None = None
    check_mode: bool | None = None
    any_errors_fatal: bool | None = None

    @field_validator("when", "tags", "notify", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _listify(value)


@dataclass(frozen=True)
class Inherit:
    """What the blocks, roles and imports around a task hand down to it."""

    playbook_dir: Path
    here: Path  # the folder of the file being read: relative imports start here
    when: tuple[Condition, ...] = ()
    become: bool | None = None
    become_user: str | None = None
    tags: tuple[str, ...] = ()
    vars: dict[str, Any] = field(default_factory=dict)
    ignore_errors: bool | str | None = None
    notify: tuple[str, ...] = ()
    no_log: bool | None = None
    check_mode: bool | None = None
    any_errors_fatal: bool | None = None
    role: RoleInfo | None = None
    files: tuple[Path, ...] = ()  # the task files being imported, for loops
    handler: bool = False

    def child(self, kw: _Keywords, **changes: Any) -> Inherit:
        """This, with a block's (role's, import's) own keywords added."""
        return replace(
            self,
            when=(*self.when, *kw.when),
            become=kw.become if kw.become is not None else self.become,
            become_user=kw.become_user or self.become_user,
            tags=(*self.tags, *kw.tags),
            vars={**self.vars, **kw.vars},
            ignore_errors=kw.ignore_errors if kw.ignore_errors is not None else self.ignore_errors,
            notify=(*self.notify, *kw.notify),
            no_log=kw.no_log if kw.no_log is not None else self.no_log,
            check_mode=kw.check_mode if kw.check_mode is not None else self.check_mode,
            any_errors_fatal=(
                kw.any_errors_fatal if kw.any_errors_fatal is not None else self.any_errors_fatal
            ),
            **changes,
        )

    def apply(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A task's own keywords, with what is handed down beneath them (a value of the
        wrong type is left as written, for the schema to report)."""
        out = dict(fields)
        for key, handed in (("when", self.when), ("tags", self.tags), ("notify", self.notify)):
            own = _listify(fields.get(key))
            if handed and isinstance(own, list):
                out[key] = (
                    list(dict.fromkeys([*handed, *own])) if key != "when" else [*handed, *own]
                )
        own_vars = fields.get("vars")
        if self.vars and (own_vars is None or isinstance(own_vars, dict)):
            out["vars"] = {**self.vars, **(own_vars or {})}
        for key in (
            "become",
            "become_user",
            "ignore_errors",
            "no_log",
            "check_mode",
            "any_errors_fatal",
        ):
            value = getattr(self, key)
            if key not in fields and value is not None:
                out[key] = value
        out["role"] = self.role
        out["search"] = self.search
        return out

    @property
    def search(self) -> tuple[Path, ...]:
        dirs = [self.role.path] if self.role else []
        return tuple(dict.fromkeys([*dirs, self.playbook_dir]))


class EntryLoader:
    """Reads task lists for one play; keeps the roles it has already run."""

    def __init__(self, out: Collector, playbook_dir: Path) -> None:
        self.out = out
        self.playbook_dir = playbook_dir
        self.handlers: list[TaskSpec] = []
        self.roles: list[RoleInfo] = []
        self._seen_roles: set[tuple[str, str]] = set()
        self._role_stack: list[str] = []

    def root(self, here: Path, *, handler: bool = False) -> Inherit:
        return Inherit(self.playbook_dir, here, handler=handler)

    # -- lists and entries ------------------------------------------------------
    def entries(self, raw: Any, key: str, where: Location, inh: Inherit) -> list[Entry]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.out.add(f"'{key}' must be a list of tasks", where)
            return []
        out: list[Entry] = []
        for item in raw:
            out += self.entry(item, loc_of(item, where), inh)
        return out

    def entry(self, raw: Any, where: Location, inh: Inherit) -> list[Entry]:
        if not isinstance(raw, dict):
            self.out.add("a task must be a mapping (name, module, keywords)", where)
            return []
        raw = short_names(raw, (*TASK_FILE_KEYS, *ROLE_KEYS))
        if "block" in raw:
            block = self.block(raw, where, inh)
            return [block] if block is not None else []
        for key in ("rescue", "always"):
            if key in raw:
                self.out.add(f"'{key}' without 'block'", key_loc(raw, key, where))
                return []
        for key in TASK_FILE_KEYS:
            if key in raw:
                return self.task_file(raw, key, where, inh)
        for key in ROLE_KEYS:
            if key in raw:
                return self.role_entry(raw, key, where, inh)
        task = parse_task(raw, where, self.out, handler=inh.handler, inherit=inh)
        return [task] if task is not None else []

    def keywords(
        self, raw: dict[str, Any], allowed: tuple[str, ...], what: str, where: Location
    ) -> _Keywords | None:
        bad = [k for k in raw if k not in allowed]
        for key in bad:
            self.out.add(f"unknown {what} keyword '{key}'", key_loc(raw, key, where))
        try:
            kw = _Keywords.model_validate({k: v for k, v in raw.items() if k in INHERITED})
        except ValidationError as exc:
            self.out.pydantic(exc, raw, where, what)
            return None
        return None if bad else kw

    def block(self, raw: dict[str, Any], where: Location, inh: Inherit) -> BlockSpec | None:
        kw = self.keywords(raw, BLOCK_KEYWORDS, "block", where)
        if kw is None:
            return None
        inner = inh.child(kw)
        parts = [
            self.entries(raw.get(part), part, key_loc(raw, part, where), inner)
            for part in ("block", "rescue", "always")
        ]
        name = raw.get("name")
        return BlockSpec(str(name) if name else None, parts[0], parts[1], parts[2], where)

    # -- task files -------------------------------------------------------------
    def task_file(
        self, raw: dict[str, Any], key: str, where: Location, inh: Inherit
    ) -> list[Entry]:
        kw = self.keywords(raw, (key, *INCLUDE_KEYWORDS), key, where)
        target = raw[key]
        if isinstance(target, dict):  # `include_tasks: {file: x.yml, apply: {...}}`
            options = target
            extra = [k for k in options if k not in ("file", "apply")]
            if extra:
                self.out.add(
                    f"unknown {key} option '{extra[0]}'", key_loc(options, extra[0], where)
                )
                return []
            if "apply" in options:
                raw = {**raw, "apply": options["apply"]}
            target = options.get("file")
        given = raw.get("apply")
        wrong = [k for k in given if k not in INHERITED] if isinstance(given, dict) else []
        if wrong or (given is not None and not isinstance(given, dict)):
            what = f"'{wrong[0]}'" if wrong else "a mapping of keywords"
            self.out.add(f"apply takes the keywords a block hands down, not {what}", where)
            return []
        if not isinstance(target, str) or not target:
            self.out.add(f"{key} needs a tasks file name", key_loc(raw, key, where))
            return []
        if kw is None:
            return []
        static = key == "import_tasks"
        if static:
            if "loop" in raw or "with_items" in raw:
                self.out.add("import_tasks cannot loop (use include_tasks)", where)
                return []
            if is_template(target):
                self.out.add(
                    "import_tasks needs a file name, not a template (use include_tasks)", where
                )
                return []
            return self.read_tasks(self.task_path(target, inh), where, inh.child(kw)) or []
        return [self.include(raw, "tasks", target, where, inh, kw)]

    def task_path(self, name: str, inh: Inherit) -> Path:
        """Ansible's places for a relative tasks file: beside the including file, then
        in its role's tasks/, then beside the playbook."""
        path = Path(name).expanduser()
        if path.is_absolute():
            return path
        tried = [inh.here / path]
        if inh.role is not None:
            tried.append(inh.role.path / "tasks" / path)
        tried.append(self.playbook_dir / path)
        return next((p for p in tried if p.is_file()), tried[0])

    def read_tasks(self, path: Path, where: Location, inh: Inherit) -> list[Entry] | None:
        """A tasks file's entries; None when it could not be read (reported)."""
        full = path.resolve()
        if full in inh.files:
            chain = " → ".join(p.name for p in [*inh.files, full])
            self.out.add(f"tasks files include each other in a loop: {chain}", where)
            return None
        if not full.is_file():
            self.out.add(f"no tasks file {path}", where)
            return None
        try:
            data = load_yaml(full)
        except InputError as exc:
            self.out.add(exc.message, exc.where or Location(str(full)))
            return None
        here = Location(str(full))
        if data is None:
            return []
        inner = replace(inh, here=full.parent, files=(*inh.files, full))
        return self.entries(data, "tasks", loc_of(data, here), inner)

    def include(
        self,
        raw: dict[str, Any],
        kind: str,
        target: str,
        where: Location,
        inh: Inherit,
        kw: _Keywords,
    ) -> IncludeSpec:
        """A run-time include: its own `when`/`loop` decide on each host; its `vars`
        (and `apply`) are handed to what it includes."""
        loop = raw.get("loop", raw.get("with_items"))
        given = raw.get("apply")
        apply: dict[str, Any] = given if isinstance(given, dict) else {}
        handed = inh.child(_Keywords.model_validate({"vars": kw.vars, **apply}))
        spec = IncludeSpec(
            name=str(raw["name"]) if raw.get("name") else None,
            target=target,
            kind=kind,
            when=list(kw.when),
            loop=loop,
            vars=dict(kw.vars),
            tags=list(kw.tags),
            loc=where,
            here=inh.here,
            inherit=handed,
            is_handler=inh.handler,
        )
        if kind == "tasks" and not is_template(target):
            spec.entries = self.read_tasks(self.task_path(target, inh), where, handed)
        return spec

    # -- roles ------------------------------------------------------------------
    def role_entry(
        self, raw: dict[str, Any], key: str, where: Location, inh: Inherit
    ) -> list[Entry]:
        kw = self.keywords(raw, (key, *INCLUDE_KEYWORDS), key, where)
        opts = raw[key]
        if not isinstance(opts, dict) or not isinstance(opts.get("name"), str):
            self.out.add(f"{key} needs a mapping with the role's 'name'", key_loc(raw, key, where))
            return []
        extra = [k for k in opts if k not in ROLE_OPTIONS]
        if extra:
            self.out.add(f"unknown {key} option '{extra[0]}'", key_loc(opts, extra[0], where))
            return []
        if kw is None:
            return []
        if "loop" in raw or "with_items" in raw:
            if key == "import_role":
                self.out.add("import_role cannot loop (use include_role)", where)
                return []
        params = dict(kw.vars)  # a role's vars where it is named are its params
        if key == "import_role":
            kw = kw.model_copy(update={"vars": {}})
            return self.role(opts["name"], params, opts, where, inh, kw) or []
        # include_role decides its `when` and `loop` once per host, at its turn; a role
        # whose name is a template is read then.
        if isinstance(opts.get("apply"), dict):
            raw = {**raw, "apply": opts["apply"]}
        spec = self.include(raw, "role", opts["name"], where, inh, kw)
        spec.options = dict(opts)
        if not is_template(opts["name"]):
            spec.entries = self.role(
                opts["name"], params, opts, where, inh, _Keywords(), included=True
            )
        return [spec]

    def play_roles(self, raw: Any, where: Location, inh: Inherit) -> list[Entry]:
        """A play's `roles:` list: names, or mappings with `role:` and keywords."""
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.out.add("'roles' must be a list of roles", where)
            return []
        out: list[Entry] = []
        for ref in raw:
            out += self.role_ref(ref, loc_of(ref, where), inh)
        return out

    def role_ref(self, ref: Any, where: Location, inh: Inherit) -> list[Entry]:
        if isinstance(ref, str):
            ref = {"role": ref}
        if not isinstance(ref, dict) or not isinstance(ref.get("role", ref.get("name")), str):
            self.out.add("a role is a name, or a mapping with 'role:'", where)
            return []
        name = str(ref.get("role", ref.get("name")))
        keywords = {k: v for k, v in ref.items() if k in INHERITED and k != "vars"}
        params = {k: v for k, v in ref.items() if k not in ROLE_KEYWORDS}
        given = ref.get("vars")
        own_vars: dict[str, Any] = given if isinstance(given, dict) else {}
        try:
            kw = _Keywords.model_validate(keywords)
        except ValidationError as exc:
            self.out.pydantic(exc, ref, where, "role")
            return []
        return self.role(name, {**own_vars, **params}, {}, where, inh, kw) or []

    def role(
        self,
        name: str,
        params: dict[str, Any],
        opts: dict[str, Any],
        where: Location,
        inh: Inherit,
        kw: _Keywords | None = None,
        *,
        included: bool = False,
    ) -> list[Entry] | None:
        """The role's dependencies' tasks, then its own; None: it could not be read.
        `included` (include_role): it runs each time, its vars private unless public."""
        kw = kw or _Keywords()
        if is_template(name):
            self.out.add(f"a role's name must not be a template: {name!r}", where)
            return None
        try:
            path = roles.find_role(name, self.playbook_dir, where)
            meta = roles.read_meta(path, where)
            info = RoleInfo(
                name=path.name,
                path=path,
                defaults=roles.read_vars(path, "defaults", opts.get("defaults_from"), where),
                vars=roles.read_vars(path, "vars", opts.get("vars_from"), where),
                params=params,
                parent=inh.role,
                public=not included or opts.get("public") is True,
            )
            tasks = roles.role_file(path, "tasks", opts.get("tasks_from"), where)
            handlers = roles.role_file(path, "handlers", opts.get("handlers_from"), where)
        except InputError as exc:
            self.out.add(exc.message, exc.where or where)
            return None
        key = (str(path), repr(sorted(params.items())) + str(opts.get("tasks_from")))
        if str(path) in self._role_stack:
            chain = " → ".join([*(Path(p).name for p in self._role_stack), path.name])
            self.out.add(f"role dependencies form a cycle: {chain}", where)
            return None
        if key in self._seen_roles and not (meta.allow_duplicates or included):
            return []  # a role runs once per play, as in Ansible
        self._seen_roles.add(key)
        self.roles.append(info)
        inner = inh.child(kw, role=info, here=path / "tasks")
        self._role_stack.append(str(path))
        try:
            out: list[Entry] = []
            for dep in meta.dependencies:
                out += self.role_ref(dep, meta.where, replace(inner, here=path / "tasks"))
            if tasks is not None:
                out += self.read_tasks(tasks, where, inner) or []
            if handlers is not None:
                self.read_handlers(handlers, where, inner)
        finally:
            self._role_stack.pop()
        return out

    def read_handlers(self, path: Path, where: Location, inh: Inherit) -> None:
        found = self.read_tasks(path, where, replace(inh, handler=True)) or []
        for entry in found:
            if isinstance(entry, TaskSpec):
                self.handlers.append(entry)
            else:
                self.out.add(
                    "handlers must be tasks (blocks and includes are not supported there)",
                    entry.loc,
                )


def with_vars(entries: list[Entry], extra: dict[str, Any]) -> list[Entry]:
    """Copies of entries whose tasks see `extra` beneath their own vars (an include's
    loop item)."""
    out: list[Entry] = []
    for entry in entries:
        if isinstance(entry, TaskSpec):
            out.append(entry.model_copy(update={"vars": {**extra, **entry.vars}}))
        elif isinstance(entry, BlockSpec):
            parts = [with_vars(p, extra) for p in (entry.block, entry.rescue, entry.always)]
            out.append(replace(entry, block=parts[0], rescue=parts[1], always=parts[2]))
        else:
            inner = None if entry.entries is None else with_vars(entry.entries, extra)
            out.append(replace(entry, vars={**extra, **entry.vars}, entries=inner))
    return out
