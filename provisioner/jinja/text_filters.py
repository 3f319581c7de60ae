"""Ansible's filters on text: regular expressions, shell quoting, paths, comments."""

from __future__ import annotations

import os.path
import re
import shlex
from typing import Any

from provisioner.jinja.errors import FilterFailed


def _flags(ignorecase: bool, multiline: bool) -> int:
    return (re.IGNORECASE if ignorecase else 0) | (re.MULTILINE if multiline else 0)


def regex_replace(
    value: Any,
    pattern: str = "",
    replacement: str = "",
    ignorecase: bool = False,
    multiline: bool = False,
    count: int = 0,
    mandatory_count: int = 0,
) -> str:
    regex = re.compile(pattern, _flags(ignorecase, multiline))
    out, done = regex.subn(replacement, str(value), count=count)
    if mandatory_count and done != mandatory_count:
        raise FilterFailed(f"{pattern!r} should match {mandatory_count} times, matched {done}")
    return out


_GROUP = re.compile(r"^\\(?:g<(?P<name>\w+)>|(?P<number>\d+))$")


def regex_search(
    value: Any, pattern: str, *groups: str, ignorecase: bool = False, multiline: bool = False
) -> Any:
    """The matched text, or None; with `'\\1'`/`'\\g<name>'` arguments the list of those
    groups."""
    wanted: list[int | str] = []
    for arg in groups:
        m = _GROUP.match(str(arg))
        if not m:
            raise FilterFailed(f"a group is written '\\\\1' or '\\\\g<name>', not {arg!r}")
        wanted.append(m["name"] or int(m["number"]))
    match = re.search(pattern, str(value), _flags(ignorecase, multiline))
    if match is None:
        return None
    return [match.group(g) for g in wanted] if wanted else match.group()


def regex_findall(
    value: Any, pattern: str, multiline: bool = False, ignorecase: bool = False
) -> list[Any]:
    return re.findall(pattern, str(value), _flags(ignorecase, multiline))


def regex_escape(value: Any, re_type: str = "python") -> str:
    if re_type == "python":
        return re.escape(str(value))
    if re_type == "posix_basic":
        return re.sub(r"([].[^$*\\])", r"\\\1", str(value))
    raise FilterFailed(f"re_type must be python or posix_basic, not {re_type!r}")


def quote(value: Any) -> str:
    """Quoted for a POSIX shell (None is the empty word)."""
    return shlex.quote("" if value is None else str(value))


def basename(value: Any) -> str:
    return os.path.basename(str(value))


def dirname(value: Any) -> str:
    return os.path.dirname(str(value))


def split(value: Any, sep: str | None = None, maxsplit: int = -1) -> list[str]:
    return str(value).split(sep, maxsplit)


def splitext(value: Any) -> tuple[str, str]:
    return os.path.splitext(str(value))


_COMMENT_STYLES: dict[str, dict[str, str]] = {
    "plain": {"decoration": "# "},
    "erlang": {"decoration": "% "},
    "c": {"decoration": "// "},
    "cblock": {"beginning": "/*", "decoration": " * ", "end": " */"},
    "xml": {"beginning": "<!--", "decoration": " - ", "end": "-->"},
}


_COMMENT_OPTIONS = frozenset(
    (
        "decoration",
        "beginning",
        "end",
        "newline",
        "prefix",
        "prefix_count",
        "postfix",
        "postfix_count",
    )
)


def comment(text: Any, style: str = "plain", **options: Any) -> str:
    """The text as a comment block: a bare prefix line, each line decorated, a bare
    postfix line (the style's begin and end lines around it, for cblock and xml)."""
    if style not in _COMMENT_STYLES:
        raise FilterFailed(f"style must be one of {', '.join(_COMMENT_STYLES)}, not {style!r}")
    unknown = set(options) - _COMMENT_OPTIONS
    if unknown:
        raise FilterFailed(f"unknown option(s): {', '.join(sorted(unknown))}")
    given = _COMMENT_STYLES[style] | options
    decoration = str(given.get("decoration", ""))
    nl = str(given.get("newline", "\n"))
    prefix = str(given.get("prefix", decoration.rstrip()))
    postfix = str(given.get("postfix", decoration.rstrip()))
    lines = [decoration + line if line else decoration.rstrip() for line in str(text).split(nl)]
    parts: list[str] = []
    if given.get("beginning"):
        parts.append(str(given["beginning"]))
    if prefix:
        parts += [prefix if prefix != nl else ""] * int(given.get("prefix_count", 1))
    parts += lines
    parts += [postfix] * int(given.get("postfix_count", 1))
    if given.get("end"):
        parts.append(str(given["end"]))
    return nl.join(parts)
