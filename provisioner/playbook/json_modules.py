"""The module keys of a task, as JSON Schema: each name a task may give a module by
(its aliases, `ansible.builtin.` and `ansible.legacy.` forms), its arguments' schema
from the module's own `args_model`, and Ansible's modules provision loads but does
not run (`modules.unsupported`), which take anything.

A task names one module: each module key requires that the task's other keys be
keywords (two known module names in one task are an error, as they are to the
loader; two names that only Ansible's patterns know are not caught here).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field

from provisioner.modules import PREFIXES, lookup, registry
from provisioner.modules.base import AnyModule, Args, spellings_of
from provisioner.modules.unsupported import KNOWN, PATTERNS
from provisioner.playbook.json_fields import TEMPLATED, Schema, fields, never, one_of_these, ref

KEYWORD = "task_keyword"  # the definition: the name of a task keyword


@dataclass
class ModuleKeys:
    """What a task schema takes from the modules."""

    properties: dict[str, Schema] = field(default_factory=dict)  # module key → its value
    patterns: dict[str, Schema] = field(default_factory=dict)  # Ansible's other names
    dependencies: dict[str, Schema] = field(default_factory=dict)  # module key → the rest
    definitions: dict[str, Schema] = field(default_factory=dict)


def _about(cls: type[AnyModule]) -> str:
    """The first paragraph of the module's file docstring, for an editor's hover."""
    doc = (sys.modules[cls.__module__].__doc__ or "").strip()
    return " ".join(doc.split("\n\n", 1)[0].split())


def task_names(cls: type[AnyModule], names: Iterable[str]) -> list[str]:
    """Every key a task may name this module by: each of its names, and the short
    ones with Ansible's prefixes too (what `modules.canonical` takes off again)."""
    out: dict[str, None] = {}
    for name in names:
        forms = [name] if "." in name else [name, *(p + name for p in PREFIXES)]
        out.update((f, None) for f in forms if lookup(f) is cls)
    return list(out)


def args_schema(model: type[Args]) -> tuple[Schema, Schema | None, dict[str, Schema]]:
    """(a module's arguments as an object, what it requires or None, definitions).
    Every spelling of an argument is a property; two spellings of one argument are
    an error; a value with a template in it is left for the run to check."""
    numbers = bool(model.model_config.get("coerce_numbers_to_str"))
    props, defs = fields(model, numbers_as_text=numbers)
    spellings = {name: list(s) for name, s in spellings_of(model).items()}
    for alias, name in model.renamed.items():
        spellings[name].append(alias)
    out: dict[str, Schema] = {}
    conflicts: dict[str, Schema] = {}
    for words in spellings.values():
        value = one_of_these(props[words[0]], ref(TEMPLATED))
        for word in words:
            out[word] = value
            others = [w for w in words if w != word]
            if others:
                conflicts[word] = {
                    "properties": {
                        w: never(f"'{word}' and '{w}' are the same argument: give one")
                        for w in others
                    }
                }
    schema: Schema = {"type": "object", "properties": out}
    if model.model_config.get("extra") == "forbid":
        schema["additionalProperties"] = False
    if conflicts:
        schema["dependencies"] = conflicts
    required = [spellings[name] for name in _required_fields(model)]
    needs: Schema = {}
    if any(len(words) == 1 for words in required):
        needs["required"] = [words[0] for words in required if len(words) == 1]
    if any(len(words) > 1 for words in required):
        needs["allOf"] = [
            {"anyOf": [{"required": [w]} for w in words]} for words in required if len(words) > 1
        ]
    return schema, (needs or None), defs


def _required_fields(model: type[Args]) -> list[str]:
    """The fields pydantic requires (by field name)."""
    return [name for name, info in model.model_fields.items() if info.is_required()]


def module_keys() -> ModuleKeys:
    out = ModuleKeys()
    by_class: dict[type[AnyModule], list[str]] = {}
    for name, cls in registry().items():
        by_class.setdefault(cls, []).append(name)
    for cls, names in sorted(by_class.items(), key=lambda item: item[0].name):
        args, needs, defs = args_schema(cls.args_model)
        out.definitions.update(defs)
        key = f"args.{cls.name}"
        out.definitions[key] = args
        if cls.free_form:  # `command: echo hi`: the string is that one argument
            alone: Schema = {
                "allOf": [{"type": "string"}, args["properties"][cls.free_form]],
                "description": f"its {cls.free_form} argument alone",
            }
        else:
            alone = {"type": "string", "description": "Ansible's key=value shorthand"}
        out.definitions[f"value.{cls.name}"] = {
            "description": _about(cls),
            "anyOf": [ref(key), alone, {"type": "null"}],
        }
        words = task_names(cls, names)
        rules: Schema = {"properties": {"args": ref(key)}}
        if needs is not None:
            # Without `args:` the module's own value gives what it requires (a string
            # gives its arguments its own way).
            rules["if"] = {"required": ["args"]}
            rules["then"] = {}
            value_needs = {"type": ["string", "object"], **needs}
            out.definitions[f"needs.{cls.name}"] = value_needs
            rules["else"] = {"properties": {word: ref(f"needs.{cls.name}") for word in words}}
        out.definitions[f"module.{cls.name}"] = rules
        for word in words:
            out.properties[word] = ref(f"value.{cls.name}")
            out.dependencies[word] = {"allOf": [_only_module(word), ref(f"module.{cls.name}")]}
    anything: Schema = {
        "description": "Ansible's module, not provision's (yet): the task loads, and fails "
        "on a host where it would run"
    }
    for word in sorted(KNOWN):
        if word not in out.properties:
            out.properties[word] = anything
            out.dependencies[word] = _only_module(word)
    for pattern in PATTERNS:
        out.patterns[pattern.pattern] = anything
    return out


def _only_module(word: str) -> Schema:
    """Its other keys are keywords: the task names no other module."""
    return {"propertyNames": {"anyOf": [{"const": word}, ref(KEYWORD)]}}
