"""YAML loading that remembers where every value came from.

The loaded data is made of ordinary dicts, lists and strs (subclasses of them),
so callers can treat it as plain data; the subclasses carry a ``.loc`` so an
error found later (a bad port, an unknown key) can still point at file:line:col.

YAML traps are closed here rather than in every caller:
- duplicate keys in a mapping are an error (YAML silently keeps the last one);
- syntax errors become ``InputError`` with file:line:col, never a traceback;
- bombs are refused while composing, before any value is built (`limits`): a
  recursive alias (`&a [*a]`), more aliases than MAX_ALIASES, more values than
  MAX_VALUES once aliases are expanded ("billion laughs"), nesting deeper than
  MAX_DEPTH, text longer than MAX_FILE_BYTES.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any, Protocol

import yaml
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent, NodeEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from provisioner.errors import InputError, Location
from provisioner.limits import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_VALUES,
    mib,
    read_text,
)
from provisioner.secrets import Unsafe

__all__ = [
    "MarkedDict",
    "MarkedList",
    "MarkedStr",
    "MarkedLoader",
    "load_yaml",
    "load_yaml_text",
    "loc_of",
    "to_plain",
]

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Mark(Protocol):
    """A position in the text (PyYAML's pure-Python and libyaml marks alike)."""

    line: int
    column: int


_UNKNOWN = Location("<unknown>")


class MarkedDict(dict[Any, Any]):
    """A dict that knows where it, each of its keys and each of its values start."""

    __slots__ = ("loc", "_key_locs", "_value_locs")

    def __init__(self, *args: Any, loc: Location | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loc: Location = loc if loc is not None else _UNKNOWN
        self._key_locs: dict[Any, Location] = {}
        self._value_locs: dict[Any, Location] = {}

    def key_loc(self, key: Any) -> Location:
        """Where `key` was written; the mapping's own location if unknown."""
        return self._key_locs.get(key, self.loc)

    def value_loc(self, key: Any) -> Location:
        """Where the value of `key` starts; falls back to the key's location.

        Useful for values that cannot carry a ``.loc`` themselves (int, bool, None).
        """
        return self._value_locs.get(key) or self.key_loc(key)

    def set_marked(
        self, key: Any, value: Any, key_loc: Location, value_loc: Location | None = None
    ) -> None:
        """Set an item together with its locations (for building merged mappings)."""
        self[key] = value
        self._key_locs[key] = key_loc
        if value_loc is not None:
            self._value_locs[key] = value_loc
        else:
            self._value_locs.pop(key, None)


class MarkedList(list[Any]):
    """A list that knows where it and each of its items start."""

    __slots__ = ("loc", "_item_locs")

    def __init__(self, *args: Any, loc: Location | None = None) -> None:
        super().__init__(*args)
        self.loc: Location = loc if loc is not None else _UNKNOWN
        self._item_locs: list[Location] = []

    def item_loc(self, index: int) -> Location:
        """Where item `index` starts; the list's own location if unknown."""
        try:
            return self._item_locs[index]
        except IndexError:
            return self.loc


class MarkedStr(str):
    """A str that knows where it was written."""

    # str subclasses cannot have non-empty __slots__, so .loc lives in __dict__.
    loc: Location

    def __new__(cls, value: str, loc: Location | None = None) -> MarkedStr:
        # `loc` is optional so copy/pickle (which call cls(value)) keep working;
        # they restore the real .loc from __dict__ afterwards.
        self = super().__new__(cls, value)
        self.loc = loc if loc is not None else _UNKNOWN
        return self


def loc_of(obj: object, fallback: Location) -> Location:
    """The location `obj` was loaded from, or `fallback` for unmarked values."""
    loc = getattr(obj, "loc", None)
    return loc if isinstance(loc, Location) else fallback


def to_plain(obj: Any) -> Any:
    """A deep copy with plain dict/list/str in place of the marked subclasses."""
    if isinstance(obj, dict):
        return {to_plain(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_plain(v) for v in obj]
    if isinstance(obj, str):
        return str(obj)
    return obj


class MarkedLoader(yaml.SafeLoader):
    """SafeLoader producing Marked* containers and rejecting duplicate keys.

    The pure-Python SafeLoader (not libyaml's) is used so that error texts and
    marks are the same on every machine.
    """

    def __init__(self, stream: str, filename: str) -> None:
        super().__init__(stream)
        self.filename = filename
        # Number of keys written in a mapping itself (not merged in with `<<`),
        # recorded before flatten_mapping rewrites node.value. Keyed by node
        # identity: a node may be flattened (as a merge source) before it is
        # constructed.
        self._own_keys: dict[int, int] = {}
        self._guard = _BombGuard()

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        """PyYAML's, with the limits checked as each node is composed; an alias is
        the node it names, so the expanded size is counted, not built."""
        event: NodeEvent = self.peek_event()  # type: ignore[no-untyped-call]
        where = self.mark_loc(event.start_mark)
        if isinstance(event, AliasEvent):
            node = super().compose_node(parent, index)  # an undefined alias fails here
            assert node is not None
            self._guard.alias(event.anchor, node, where)
            return node
        start = self._guard.enter(event.anchor, where)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._guard.leave()
        assert node is not None
        self._guard.composed(node, start, where)
        return node

    def mark_loc(self, mark: _Mark | None) -> Location:
        if mark is None:
            return Location(self.filename)
        return Location(self.filename, mark.line + 1, mark.column + 1)

    def flatten_mapping(self, node: MappingNode) -> None:
        """Resolve `<<` merge keys: node.value becomes merged pairs, then its own.

        Construction assigns pairs in order, so later pairs win: own keys beat
        merged ones, and for `<<: [a, b]` the pairs of `b` go first so `a` wins,
        as the merge-key spec says. (PyYAML 6.0.4's own version dedupes by the
        id() of key strings, which interning makes unreliable.)
        """
        if id(node) not in self._own_keys:
            self._own_keys[id(node)] = sum(1 for k, _ in node.value if k.tag != _MERGE_TAG)
        merge: list[tuple[Node, Node]] = []
        own: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                if key_node.tag == "tag:yaml.org,2002:value":
                    key_node.tag = "tag:yaml.org,2002:str"
                own.append((key_node, value_node))
            elif isinstance(value_node, MappingNode):
                self.flatten_mapping(value_node)
                merge.extend(value_node.value)
            elif isinstance(value_node, SequenceNode):
                submerge: list[list[tuple[Node, Node]]] = []
                for subnode in value_node.value:
                    if not isinstance(subnode, MappingNode):
                        raise ConstructorError(
                            "while constructing a mapping",
                            node.start_mark,
                            f"expected a mapping for merging, but found {type(subnode).__name__}",
                            subnode.start_mark,
                        )
                    self.flatten_mapping(subnode)
                    submerge.append(subnode.value)
                for pairs in reversed(submerge):
                    merge.extend(pairs)
            else:
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "expected a mapping or list of mappings for merging, but found "
                    f"{type(value_node).__name__}",
                    value_node.start_mark,
                )
        node.value = merge + own

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Hashable, Any]:
        if not isinstance(node, MappingNode):
            raise ConstructorError(
                None,
                None,
                f"expected a mapping node, but found {type(node).__name__}",
                node.start_mark,
            )
        mapping = MarkedDict(loc=self.mark_loc(node.start_mark))
        self._fill_mapping(node, mapping, deep)
        return mapping

    def construct_marked_map(self, node: MappingNode) -> Any:
        # A generator, like PyYAML's own: the empty container is yielded first
        # so recursive structures (anchors referring to themselves) work.
        data = MarkedDict(loc=self.mark_loc(node.start_mark))
        yield data
        self._fill_mapping(node, data, deep=False)

    def _fill_mapping(self, node: MappingNode, mapping: MarkedDict, deep: bool) -> None:
        self.flatten_mapping(node)
        # Keys merged in with `<<` come first; explicit keys may override them,
        # but explicit keys may not repeat each other.
        first_own = len(node.value) - self._own_keys[id(node)]
        own_seen: set[Any] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found unhashable key",
                    key_node.start_mark,
                )
            if index >= first_own:
                if key in own_seen:
                    first = mapping.key_loc(key)
                    raise InputError(
                        f"duplicate key {str(key)!r} in mapping (first at line {first.line}); "
                        "YAML would silently keep the last one",
                        self.mark_loc(key_node.start_mark),
                    )
                own_seen.add(key)
            value = self.construct_object(value_node, deep=deep)
            value_loc = None
            # A missing value (`key:` with nothing after) has no useful position.
            if not (
                isinstance(value_node, ScalarNode)
                and value_node.value == ""
                and value_node.style is None
            ):
                value_loc = self.mark_loc(value_node.start_mark)
            mapping.set_marked(key, value, self.mark_loc(key_node.start_mark), value_loc)

    def construct_marked_seq(self, node: SequenceNode) -> Any:
        data = MarkedList(loc=self.mark_loc(node.start_mark))
        yield data
        data.extend(self.construct_sequence(node))
        data._item_locs = [self.mark_loc(child.start_mark) for child in node.value]

    def construct_marked_str(self, node: ScalarNode) -> MarkedStr:
        value = self.construct_scalar(node)
        return MarkedStr(value, self.mark_loc(node.start_mark))


MarkedLoader.add_constructor("tag:yaml.org,2002:map", MarkedLoader.construct_marked_map)
MarkedLoader.add_constructor("tag:yaml.org,2002:seq", MarkedLoader.construct_marked_seq)
MarkedLoader.add_constructor("tag:yaml.org,2002:str", MarkedLoader.construct_marked_str)


def _construct_unsafe(loader: MarkedLoader, node: Node) -> Unsafe:
    """Ansible's `!unsafe`: a string that is never a template (and kept secret)."""
    if not isinstance(node, ScalarNode):
        raise ConstructorError(
            None, None, "!unsafe marks a string, not a list or mapping", node.start_mark
        )
    return Unsafe(loader.construct_scalar(node))


MarkedLoader.add_constructor("!unsafe", _construct_unsafe)


class _BombGuard:
    """The limits on one document: nesting depth, alias uses, recursive aliases, and
    the values the data would hold with every alias expanded."""

    def __init__(self) -> None:
        self.depth = 0
        self.aliases = 0
        self.open: list[str | None] = []  # anchors of the nodes being composed
        self.values = 0  # composed so far, aliases expanded
        self.sizes: dict[int, int] = {}  # id(node) → its values, aliases expanded

    def enter(self, anchor: str | None, where: Location) -> int:
        """A node starts; returns the count of values before it."""
        if self.depth >= MAX_DEPTH:
            raise InputError(
                f"nested more than {MAX_DEPTH} levels deep (the limit for lists and mappings)",
                where,
            )
        self.depth += 1
        self.open.append(anchor)
        return self.values

    def leave(self) -> None:
        self.depth -= 1
        self.open.pop()

    def composed(self, node: Node, start: int, where: Location) -> None:
        self._add(1, where)
        self.sizes[id(node)] = self.values - start

    def alias(self, anchor: str | None, node: Node, where: Location) -> None:
        self.aliases += 1
        if anchor in self.open:
            raise InputError(
                f"alias *{anchor} is inside its own anchor &{anchor}: recursive data is "
                "not supported",
                where,
            )
        if self.aliases > MAX_ALIASES:
            raise InputError(f"more than {MAX_ALIASES} aliases (*name) in one file", where)
        self._add(self.sizes[id(node)], where)

    def _add(self, count: int, where: Location) -> None:
        self.values += count
        if self.values > MAX_VALUES:
            raise InputError(
                f"more than {MAX_VALUES} values once aliases are expanded (the limit for "
                "one file; an alias bomb?)",
                where,
            )


# Let data loaded here be dumped again with yaml.safe_dump/yaml.dump (e.g. for
# --diff or `inventory` output) without it turning into python/object tags.
for _dumper in (yaml.SafeDumper, yaml.Dumper):
    _dumper.add_representer(MarkedDict, yaml.SafeDumper.represent_dict)
    _dumper.add_representer(MarkedList, yaml.SafeDumper.represent_list)
    _dumper.add_representer(MarkedStr, yaml.SafeDumper.represent_str)
    _dumper.add_representer(Unsafe, yaml.SafeDumper.represent_str)


def _syntax_error(
    err: yaml.YAMLError, text: str, filename: str, error: type[InputError]
) -> InputError:
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        where = (
            Location(filename, mark.line + 1, mark.column + 1)
            if mark is not None
            else Location(filename)
        )
        problem = err.problem or err.context or "invalid YAML"
        message = f"YAML error: {problem}"
        if err.context and err.problem:
            ctx_line = f" at line {err.context_mark.line + 1}" if err.context_mark else ""
            message += f" ({err.context}{ctx_line})"
        return error(message, where)
    if isinstance(err, yaml.reader.ReaderError):
        # Control characters and the like: a character offset, not a mark.
        pos = err.position
        line = text.count("\n", 0, pos) + 1
        col = pos - text.rfind("\n", 0, pos)
        char = f"#x{err.character:04x}" if isinstance(err.character, int) else repr(err.character)
        return error(f"YAML error: character {char}: {err.reason}", Location(filename, line, col))
    return error(f"YAML error: {err}", Location(filename))


def load_yaml_text(text: str, filename: str, *, error: type[InputError] = InputError) -> Any:
    """Parse one YAML document; ``None`` for an empty document.

    `error` is the InputError subclass to raise (InventoryError, PlaybookError…),
    so each loader reports problems as its own kind.
    """
    if len(text) > MAX_FILE_BYTES:
        raise error(f"longer than {mib(MAX_FILE_BYTES)} (the limit)", Location(filename))
    loader: MarkedLoader | None = None
    try:
        loader = MarkedLoader(text, filename)  # the reader already checks characters
        return loader.get_single_data()
    except InputError as err:
        if isinstance(err, error):
            raise
        raise error(err.message, err.where) from None
    except yaml.YAMLError as err:
        raise _syntax_error(err, text, filename, error) from None
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml(path: Path, *, error: type[InputError] = InputError) -> Any:
    """Read and parse a YAML file; errors name the file as `path` was given."""
    return load_yaml_text(read_text(path, error=error), str(path), error=error)
