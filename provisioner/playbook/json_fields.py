"""A pydantic model's fields as JSON Schema that accepts what the model accepts.

`model_json_schema()` describes a model's fields as Python types them; validation
is laxer, and so must the schema be, or an editor marks valid playbooks red:

- a boolean is also one of pydantic's words for one (`yes`, `off`, `"true"`, `1`);
- an integer or a number is also its decimal text (`"5"`);
- a string of a model that coerces numbers (every module's arguments) is also a
  number (`mode: 0644`, `owner: 1000`);
- a list whose field has a before-validator (`comma_list`, `_listify`) is also one
  item (`tags: web`, `name: git,vim`), and also null where `nullable` says so.

Everything here is pure: dicts in, dicts out, under `#/definitions/`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, BeforeValidator, PlainValidator, WrapValidator
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

from provisioner.modules.base import spellings_of
from provisioner.templating import TEMPLATE_PATTERN

Schema = dict[str, Any]

DEFS = "#/definitions/"
BOOL = "bool"  # the definition of a boolean as pydantic reads one
TEMPLATE = "jinja"  # a string holding a Jinja template
TEMPLATED = "templated"  # a value with a template somewhere inside it

# pydantic's words for a boolean (any case), and the text of an integer or a number.
BOOL_WORDS = (
    r"^(?:[Yy](?:[Ee][Ss])?|[Nn][Oo]?|[Tt](?:[Rr][Uu][Ee])?|[Ff](?:[Aa][Ll][Ss][Ee])?"
    r"|[Oo](?:[Nn]|[Ff][Ff])|[01])$"
)
INTEGER_TEXT = r"^\s*[+-]?[0-9]+(?:_[0-9]+)*(?:\.0*)?\s*$"
NUMBER_TEXT = r"^\s*[+-]?(?:[0-9][0-9_]*(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*$"
# A Python identifier (`str.isidentifier`), ASCII's part exactly: a letter or `_`, then
# letters, digits and `_` (any other character is let through: it may be a letter).
_NOT_WORD = r"\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f"
IDENTIFIER = f"^[^{_NOT_WORD}0-9][^{_NOT_WORD}]*$"
META = ("default", "description")  # what stays on the outside of a widened schema


def ref(name: str) -> Schema:
    return {"$ref": DEFS + name}


def never(message: str) -> Schema:
    """What no value passes, saying why: an editor shows the errorMessage of a type
    mismatch (that of a `not` or `false` it does not)."""
    return {"type": "null", "not": {"type": "null"}, "errorMessage": message}


def common_definitions() -> dict[str, Schema]:
    """The definitions every field schema here may refer to."""
    return {
        BOOL: {
            "description": "true or false (also yes/no, on/off, 1/0)",
            "anyOf": [
                {"type": "boolean"},
                {"type": "string", "pattern": BOOL_WORDS},
                {"enum": [0, 1]},
            ],
        },
        TEMPLATE: {"type": "string", "pattern": TEMPLATE_PATTERN},
        TEMPLATED: {
            "description": "a value with a Jinja template in it: checked when the task runs",
            "anyOf": [
                ref(TEMPLATE),
                {"type": "array", "contains": ref(TEMPLATED)},
                # an object some value of which is templated: not all of them are not
                {"type": "object", "not": {"additionalProperties": {"not": ref(TEMPLATED)}}},
            ],
        },
    }


class _Generator(GenerateJsonSchema):
    """pydantic's generator, with the loader's own bookkeeping (a Location, a role's
    RoleInfo, paths) left undescribed instead of refused: those fields are no input."""

    def is_instance_schema(self, schema: core_schema.IsInstanceSchema) -> Schema:
        return {}

    def dataclass_schema(self, schema: core_schema.DataclassSchema) -> Schema:
        return {}


def model_schema(model: type[BaseModel]) -> Schema:
    """pydantic's validation schema of a model, with its `$defs` as they are."""
    return model.model_json_schema(schema_generator=_Generator)


def before_validated(model: type[BaseModel]) -> set[str]:
    """The fields whose raw value a validator sees before pydantic checks its type."""
    out: set[str] = set()
    for decorator in model.__pydantic_decorators__.field_validators.values():
        if decorator.info.mode in ("before", "wrap", "plain"):
            out.update(decorator.info.fields)
    for name, info in model.model_fields.items():
        if any(
            isinstance(m, BeforeValidator | WrapValidator | PlainValidator) for m in info.metadata
        ):
            out.add(name)
    return out


def _meta(node: Schema) -> tuple[Schema, Schema]:
    """(default and description, the rest)."""
    return (
        {k: v for k, v in node.items() if k in META},
        {k: v for k, v in node.items() if k not in META},
    )


def _branches(node: Schema) -> list[Schema]:
    """The alternatives of a schema: its anyOf, or itself."""
    if set(node) == {"anyOf"}:
        return list(node["anyOf"])
    return [node] if node else []


def one_of_these(node: Schema, *more: Schema) -> Schema:
    """`node`, or any of `more` (its default and description kept outside)."""
    meta, rest = _meta(node)
    if not rest:  # anything already
        return node
    return {**meta, "anyOf": [*_branches(rest), *more]}


def lax(node: Any, *, numbers_as_text: bool) -> Any:
    """A pydantic schema made to accept what pydantic's lax mode accepts (see above);
    titles dropped, `$defs` references pointing under `#/definitions/`."""
    if isinstance(node, list):
        return [lax(n, numbers_as_text=numbers_as_text) for n in node]
    if not isinstance(node, dict):
        return node
    out: Schema = {}
    for key, value in node.items():
        if key == "title":
            continue
        if key == "$ref" and isinstance(value, str):
            out[key] = DEFS + value.rsplit("/", 1)[-1]
        elif key == "properties":
            out[key] = {k: lax(v, numbers_as_text=numbers_as_text) for k, v in value.items()}
        elif key == "anyOf":
            out[key] = [
                b for n in value for b in _branches(lax(n, numbers_as_text=numbers_as_text))
            ]
        elif key in ("oneOf", "allOf", "items", "additionalProperties", "prefixItems"):
            out[key] = lax(value, numbers_as_text=numbers_as_text)
        else:
            out[key] = value
    kind = out.get("type")
    meta, rest = _meta(out)
    if kind == "boolean" and "enum" not in out and "const" not in out:
        return {**meta, "anyOf": [ref(BOOL)]} if meta else ref(BOOL)
    if kind == "integer":
        return {**meta, "anyOf": [rest, {"type": "string", "pattern": INTEGER_TEXT}]}
    if kind == "number":
        return {**meta, "anyOf": [rest, {"type": "string", "pattern": NUMBER_TEXT}]}
    if kind == "string" and numbers_as_text and "enum" not in out and "const" not in out:
        out["type"] = ["string", "number"]
    return out


def widen_list(node: Schema, *, nullable: bool) -> Schema:
    """A list field whose before-validator makes a list of one item: one item too."""
    extra: list[Schema] = []
    for branch in _branches(_meta(node)[1]):
        if branch.get("type") == "array" and isinstance(branch.get("items"), dict):
            extra.append(branch["items"])
    if not extra:
        return node
    return one_of_these(node, *extra, *([{"type": "null"}] if nullable else []))


def field_key(model: type[BaseModel], name: str) -> str:
    """The property name pydantic gives a field in its schema (its first spelling)."""
    return spellings_of(model)[name][0]


def fields(
    model: type[BaseModel],
    *,
    only: Iterable[str] | None = None,
    nullable_lists: bool = False,
    numbers_as_text: bool = False,
) -> tuple[dict[str, Schema], dict[str, Schema]]:
    """(property name → schema, definitions they refer to) of a model's fields, by the
    names written in YAML (aliases); `only`: those names alone."""
    raw = model_schema(model)
    widened = before_validated(model)
    wanted = set(only) if only is not None else None
    props: dict[str, Schema] = {}
    for name in model.model_fields:
        key = field_key(model, name)
        if wanted is not None and key not in wanted:
            continue
        node: Schema = lax(raw["properties"][key], numbers_as_text=numbers_as_text)
        if name in widened:
            node = widen_list(node, nullable=nullable_lists)
        props[key] = node
    return props, _used_defs(props, raw.get("$defs", {}), numbers_as_text)


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(DEFS):
                yield value[len(DEFS) :]
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _used_defs(
    props: Mapping[str, Schema], defs: Mapping[str, Any], numbers_as_text: bool
) -> dict[str, Schema]:
    """The model's own `$defs` that the properties use, made lax too."""
    out: dict[str, Schema] = {}
    todo = [r for r in _refs(props) if r in defs]
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out[name] = lax(defs[name], numbers_as_text=numbers_as_text)
        todo += [r for r in _refs(out[name]) if r in defs and r not in out]
    return out


def no_ref_siblings(node: Any) -> Any:
    """Draft-07 ignores what stands beside a `$ref`: such a `$ref` goes into an allOf."""
    if isinstance(node, list):
        return [no_ref_siblings(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: no_ref_siblings(v) for k, v in node.items()}
    if "$ref" in out and len(out) > 1:
        target = out.pop("$ref")
        out["allOf"] = [{"$ref": target}, *out.get("allOf", [])]
    return out


def identifier(node: Schema) -> Schema:
    """A field whose text must be a variable's name (`register`, `loop_var`)."""
    meta, rest = _meta(node)
    name = {"pattern": IDENTIFIER, "patternErrorMessage": "a variable name: letters, digits, _"}
    branches = [{**b, **name} if b.get("type") == "string" else b for b in _branches(rest)]
    return {**meta, "anyOf": branches}
