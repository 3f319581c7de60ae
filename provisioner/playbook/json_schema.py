"""JSON Schemas of a playbook and of a tasks file, for editors (`provision schema`).

An editor's YAML extension (yaml-language-server) completes and checks what the
user types with them. They are built from what the loader validates with: the
keywords of `schema.py` and their pydantic types (`TaskSpec`, `PlaySpec`, the
inherited keywords of `entries.py`), each module's `args_model`
(`json_modules.py`), made as lax as pydantic's validation (`json_fields.py`).

They are as strict as the loader where the loader is: an unknown keyword, module
or argument, a value of the wrong type, two modules in one task, `loop` with a
`with_*`. They take what the
loader takes: Ansible's spellings of booleans, numbers for text, one item for a
list, any template where a module argument is checked only when the task runs,
Ansible's modules that provision does not run. What only loading can tell (a
file that is not there, a handler no task notifies) is `provision validate`'s.

Draft-07: every release of yaml-language-server reads it (2019-09 and 2020-12
only since 1.20).
"""

from __future__ import annotations

from typing import Any

from provisioner.playbook.entries import (
    ROLE_KEYS,
    ROLE_KEYWORDS,
    ROLE_OPTIONS,
    TASK_FILE_KEYS,
    _Keywords,
)
from provisioner.playbook.json_fields import (
    BOOL,
    TEMPLATE,
    Schema,
    common_definitions,
    fields,
    identifier,
    never,
    no_ref_siblings,
    ref,
)
from provisioner.playbook.json_modules import KEYWORD, module_keys
from provisioner.playbook.load import SECTIONS
from provisioner.playbook.schema import (
    INHERITED,
    PLAY_KEYWORDS,
    TASK_KEYWORDS,
    PlaySpec,
    TaskSpec,
)
from provisioner.playbook.task import WITH_KEYS
from provisioner.templating import TEMPLATE_PATTERN

DRAFT = "http://json-schema.org/draft-07/schema#"

SCALAR: Schema = {"type": ["string", "number", "boolean", "null"]}
NAME: Schema = {  # a name given as it is: what the loader reads, not a template
    "type": "string",
    "pattern": rf"^(?![\s\S]*(?:{TEMPLATE_PATTERN}))[\s\S]+$",
    "patternErrorMessage": "a name as it is: not empty, not a template",
}
LOOPS = ("loop", *WITH_KEYS)
STATIC = ("import_tasks", "import_role")  # read at load: no loop, no template


def _list_of(item: Schema) -> Schema:
    """A list of item, or nothing (an empty section)."""
    return {"type": ["array", "null"], "items": item}


def _keyword_types() -> tuple[dict[str, Schema], dict[str, Schema], dict[str, Schema]]:
    """(a task's keywords, those a block, role or include hands down, definitions)."""
    task_words = [k for k in TASK_KEYWORDS if k != "args"]
    task, defs = fields(TaskSpec, only=task_words, nullable_lists=True)
    inherited, more = fields(_Keywords, only=INHERITED, nullable_lists=True)
    # A template decides at run time; any other text must be a boolean word.
    task["ignore_errors"] = inherited["ignore_errors"] = {"anyOf": [ref(BOOL), ref(TEMPLATE)]}
    task["register"] = identifier(task["register"])
    loop_control = defs["LoopControl"]["properties"]
    for word in ("loop_var", "index_var"):
        loop_control[word] = identifier(loop_control[word])
    # `args:` gives more arguments of the task's module (each module says which).
    task["args"] = {"type": ["object", "null"], "description": "more arguments of the module"}
    for word in WITH_KEYS:
        task[word] = {"description": f"Ansible's {word} loop (its own way of making items)"}
    return task, inherited, {**defs, **more}


def _definitions() -> dict[str, Schema]:
    keywords, handed, defs = _keyword_types()
    modules = module_keys()
    inherited = {word: ref(f"inherited.{word}") for word in handed}
    loops = {
        word: {"properties": {w: ref("one_loop") for w in LOOPS if w != word}} for word in LOOPS
    }
    task: Schema = {
        "type": "object",
        "properties": {**keywords, **modules.properties},
        "patternProperties": modules.patterns,
        "additionalProperties": False,
        "dependencies": {**modules.dependencies, **loops},
        # Some key is not a keyword: the task names a module.
        "not": {"propertyNames": ref(KEYWORD)},
    }
    block: Schema = {
        "type": "object",
        "properties": {
            "name": SCALAR,
            **{part: _list_of(ref("entry")) for part in ("block", "rescue", "always")},
            **inherited,
        },
        "required": ["block"],
        "additionalProperties": False,
    }
    include_words: Schema = {
        "name": SCALAR,
        "loop": {},
        "with_items": {},
        "apply": {
            "type": "object",
            "properties": inherited,
            "description": "keywords for what it includes",
        },
        **inherited,
    }
    static = {k: v for k, v in include_words.items() if k not in ("loop", "with_items")}
    includes: dict[str, Schema] = {}
    for key in TASK_FILE_KEYS:
        name = NAME if key in STATIC else {"type": "string", "minLength": 1}
        target = {
            "anyOf": [name, {"type": "object", "required": ["file"], "properties": {"file": name}}]
        }
        words = static if key in STATIC else include_words
        includes[key] = _include(key, target, words, "a tasks file")
    role: Schema = {
        "type": "object",
        "required": ["name"],
        "properties": {word: SCALAR for word in ROLE_OPTIONS} | {"name": NAME},
        "additionalProperties": False,
    }
    for key in ROLE_KEYS:
        words = static if key in STATIC else include_words
        includes[key] = _include(key, role, words, "a role")
    role_ref: Schema = {
        "anyOf": [
            NAME,
            {
                "type": "object",
                "properties": {
                    **{word: inherited.get(word, {}) for word in ROLE_KEYWORDS},
                    **inherited,
                    "role": NAME,
                    "name": NAME,
                    "vars": {"description": "the role's parameters (a mapping)"},
                },
                "anyOf": [{"required": ["role"]}, {"required": ["name"]}],
                "description": "a role; keys other than keywords are its parameters",
            },
        ]
    }
    play_fields, more = fields(
        PlaySpec,
        only=[k for k in PLAY_KEYWORDS if k not in (*SECTIONS, "handlers")],
        nullable_lists=True,
    )
    play: Schema = {
        "type": "object",
        "required": ["hosts"],
        "properties": {
            **play_fields,
            # A list of patterns is joined with ':' (`hosts: [web, db]`).
            "hosts": {"anyOf": [{"type": "string"}, {"type": "array", "items": SCALAR}]},
            **{section: _list_of(ref("entry")) for section in SECTIONS if section != "roles"},
            "roles": _list_of(ref("role_ref")),
            # Handlers are tasks: no blocks or includes there.
            "handlers": _list_of(ref("task")),
        },
        "additionalProperties": False,
    }
    import_playbook: Schema = {
        "type": "object",
        "required": ["import_playbook"],
        "properties": {"import_playbook": NAME, "name": SCALAR},
        "additionalProperties": False,
    }
    entry = {"anyOf": [ref("task"), ref("block"), *(ref(k) for k in includes)]}
    return {
        **common_definitions(),
        **defs,
        **more,
        **modules.definitions,
        **{f"inherited.{word}": value for word, value in handed.items()},
        KEYWORD: {"enum": [*TASK_KEYWORDS, *WITH_KEYS]},
        "one_loop": never("a task takes one loop: 'loop' or one with_*"),
        "task": task,
        "block": block,
        **includes,
        "entry": entry,
        "role_ref": role_ref,
        "play": play,
        "import_playbook": import_playbook,
    }


def _include(key: str, target: Schema, words: Schema, what: str) -> Schema:
    return {
        "type": "object",
        "required": [key],
        "properties": {key: {**target, "description": f"{key}: {what}"}, **words},
        "additionalProperties": False,
    }


def _document(title: str, body: Schema) -> dict[str, Any]:
    out: dict[str, Any] = {"$schema": DRAFT, "title": title, **body}
    out["definitions"] = dict(sorted(_definitions().items()))
    result: dict[str, Any] = no_ref_siblings(out)
    return result


def playbook_schema() -> dict[str, Any]:
    """A playbook: a list of plays and `import_playbook` entries."""
    item = {"anyOf": [ref("import_playbook"), ref("play")]}
    return _document("provision playbook", {"type": "array", "items": item})


def tasks_schema() -> dict[str, Any]:
    """A tasks file (a role's tasks/ and handlers/, an import_tasks file): a list of
    tasks, blocks and includes, or nothing."""
    return _document("provision tasks file", _list_of(ref("entry")))
