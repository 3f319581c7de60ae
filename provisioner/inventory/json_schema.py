"""JSON Schema of a YAML inventory, for editors (`provision schema inventory`).

It says what `tree.py` reads: top-level groups (`all:` and any other), each made
of `hosts`, `children` and `vars` only; a host that maps to its variables, with no
`vars:` of its own; names that are not `hosts`/`children`/`vars` one level too deep.
And what `connection.py` takes of the connection variables, under each of their
names (`spec.CONNECTION_VARS`): the port a number, `host_key_checking` a boolean or
a policy, one name of a setting per host or group. A template is rendered before
it is read, so one passes anywhere. Any other variable is the user's own.

What only loading can tell (a name used for a group and for a host, a group that
is its own ancestor) is `provision inventory`'s. Draft-07, as the playbook's.
"""

from __future__ import annotations

from typing import Any

from provisioner.inventory.connection import _CONNECTION_TYPES, _FALSE, _TRUE
from provisioner.inventory.hostnames import _SHELL
from provisioner.inventory.spec import CONNECTION_VARS, HOST_KEY_POLICIES
from provisioner.inventory.tree import GROUP_KEYS
from provisioner.templating import TEMPLATE_PATTERN

DRAFT = "http://json-schema.org/draft-07/schema#"
DEFS = "#/definitions/"

Schema = dict[str, Any]

_BLANK = r"\s\x00-\x1f\x7f"  # blanks and control characters: never in a name
# What a shell would read, as the inside of a character class (only the backslash is
# escaped there: the one escape every regular expression dialect of JSON Schema takes).
_NOT_SHELL = "".join("\\\\" if c == "\\" else c for c in sorted(_SHELL))


def _ref(name: str) -> Schema:
    return {"$ref": DEFS + name}


def _any_case(words: list[str]) -> str:
    """A pattern of these words in any case, blanks around them allowed."""
    spelled = ["".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in w) for w in words]
    return r"^\s*(?:" + "|".join(spelled) + r")\s*$"


def _templated(*schemas: Schema) -> Schema:
    return {"anyOf": [*schemas, _ref("jinja"), {"type": "null"}]}


def _setting_types() -> dict[str, Schema]:
    """Each connection setting's values (by its first name)."""
    text: Schema = {"type": "string", "minLength": 1}
    words = sorted(_TRUE | _FALSE | set(HOST_KEY_POLICIES))
    return {
        "address": _templated(
            {"type": "string", "pattern": f"^[^{_BLANK}{_NOT_SHELL}-][^{_BLANK}{_NOT_SHELL}]*$"}
        ),
        "port": _templated(
            {"type": "integer", "minimum": 1, "maximum": 65535},
            {"type": "string", "pattern": r"^\s*[0-9]+\s*$"},
        ),
        "user": _templated(text),
        "ssh_key": _templated(text),
        "password": _templated({**text, "description": "a string: quote it in YAML"}),
        "become_password": _templated({**text, "description": "a string: quote it in YAML"}),
        "known_hosts": _templated(text),
        "host_key_checking": _templated(
            {"type": "boolean"}, {"type": "string", "pattern": _any_case(words)}
        ),
        "connection": _templated({"enum": sorted(_CONNECTION_TYPES)}),
        "ssh_common_args": _templated({"type": "string"}),
        "ssh_extra_args": _templated({"type": "string"}),
    }


def _variables() -> Schema:
    """A vars mapping: the connection variables checked, the others free."""
    props: dict[str, Schema] = {}
    conflicts: dict[str, Schema] = {}
    for setting, names in CONNECTION_VARS.items():
        for name in names:
            props[name] = _ref(f"setting.{setting}")
            others = [n for n in names if n != name]
            if others:
                conflicts[name] = {"not": {"anyOf": [{"required": [n]} for n in others]}}
    return {"type": ["object", "null"], "properties": props, "dependencies": conflicts}


def inventory_schema() -> dict[str, Any]:
    """A YAML inventory: groups at the top, `all:` first by custom. A type list rather
    than anyOf where nothing (null) is allowed too: an editor then names the key at fault."""
    not_a_key: Schema = {"not": {"enum": list(GROUP_KEYS)}}
    host_name: Schema = {"pattern": f"^[^{_BLANK}-][^{_BLANK}]*$", **not_a_key}
    group: Schema = {
        "type": ["object", "null"],
        "properties": {
            "hosts": {
                "description": "its hosts: a mapping of names to their variables (or one name)",
                "type": ["object", "string", "null"],
                "minLength": 1,
                "propertyNames": host_name,
                "additionalProperties": _ref("host"),
            },
            "children": {
                "description": "its groups: a mapping of names to groups (or one name)",
                "type": ["object", "string", "null"],
                "minLength": 1,
                # `all` holds every group: it is nobody's child.
                "propertyNames": {"not": {"enum": [*GROUP_KEYS, "all"]}},
                "additionalProperties": _ref("group"),
            },
            "vars": _ref("variables"),
        },
        "additionalProperties": False,
    }
    host: Schema = {
        "description": "its variables, directly under it (no 'vars:')",
        "allOf": [_ref("variables")],
        "properties": {"vars": {"not": {}, "description": "host variables go directly under it"}},
    }
    return {
        "$schema": DRAFT,
        "title": "provision inventory",
        "type": ["object", "null"],
        "propertyNames": not_a_key,
        "additionalProperties": _ref("group"),
        "definitions": {
            "group": group,
            "host": host,
            "variables": _variables(),
            **{f"setting.{name}": value for name, value in _setting_types().items()},
            "jinja": {"type": "string", "pattern": TEMPLATE_PATTERN},
        },
    }
