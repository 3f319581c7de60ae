"""YAML for the to_yaml/from_yaml filters.

Dumping: the values a playbook holds are often subclasses of str, dict and list
(line-marked YAML, `!unsafe`), which PyYAML's safe dumper refuses; they are
written as the plain types. Loading: the loader every playbook file goes
through, so a string from a host cannot be a YAML bomb.
"""

from __future__ import annotations

from typing import Any

import yaml

from provisioner.errors import InputError
from provisioner.yamlmarks import load_yaml_text, to_plain

DUMP_OPTIONS = frozenset(
    {"indent", "width", "sort_keys", "default_flow_style", "explicit_start", "explicit_end",
     "allow_unicode", "line_break", "default_style"}
)  # fmt: skip


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes subclasses of the plain types as those types."""


_Dumper.add_multi_representer(str, lambda d, v: d.represent_str(str(v)))
_Dumper.add_multi_representer(dict, lambda d, v: d.represent_dict(v))
_Dumper.add_multi_representer(list, lambda d, v: d.represent_list(v))
_Dumper.add_multi_representer(tuple, lambda d, v: d.represent_list(list(v)))


def dump_yaml(value: Any, **options: Any) -> str:
    unknown = set(options) - DUMP_OPTIONS
    if unknown:
        raise ValueError(f"unknown option(s): {', '.join(sorted(unknown))}")
    text: str = yaml.dump(value, Dumper=_Dumper, **{"allow_unicode": True, **options})
    return text


def load_yaml(text: str) -> Any:
    try:
        return to_plain(load_yaml_text(text, "<from_yaml>"))
    except InputError as exc:  # the filter's error: the Templar names the filter
        raise ValueError(str(exc)) from None
