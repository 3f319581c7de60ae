"""`lookup()`, `query()`/`q()` and the lookups Ansible roles use, on the controller.

`lookup(name, *terms, **options)` gives the results joined by commas when they
are all strings, the one result when there is one, else the list;
`wantlist=True`, or `query(...)`, always gives the list. `errors='ignore'` (or
'warn') turns a failed lookup into '' (lookup) or [] (query).

Relative names are looked for in the search paths the Templar was given (the
task's role, the roles that include it, then the playbook's folder: "bases"),
the current directory when it has none. Absolute names (and `~/…`) are used as
they are. For each base in order:

- `file`: `<base>/files/<name>`, then `<base>/<name>`;
- `template`: `<base>/templates/<name>`, then `<base>/<name>`;
- `first_found`, without `paths`: `<base>/files/<name>`, `<base>/vars/<name>`,
  `<base>/templates/<name>`, `<base>/tasks/<name>`, then `<base>/<name>`;
- `first_found` with `paths`: each path joined with each file name (paths
  outer, as Ansible), each such name looked for as `<base>/<path>/<file>`, then
  `<base>/{files,vars,templates,tasks}/<path>/<file>`; an absolute path is
  used as it is.

A subfolder a name already starts with is not added again (`files/a` is not
looked for in `files/files/a`), as Ansible documents. The first name found in
any base wins over the next name: the names are in order of preference.
`pipe` and `lines` run their commands with the last base (the playbook's
folder) as the current directory.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context

from provisioner.errors import InputError, ProvisionError
from provisioner.jinja.errors import LookupFailed
from provisioner.limits import read_text

SCOPE_KEY = "provisioner:lookup-scope"  # not an identifier: no template can name it
FILE_SUBDIRS = ("files",)
TEMPLATE_SUBDIRS = ("templates",)
FOUND_SUBDIRS = ("files", "vars", "templates", "tasks")


class Scope(Protocol):
    """What the lookups need of the Templar that renders them."""

    @property
    def search(self) -> tuple[Path, ...]: ...

    def has_variable(self, name: str) -> bool: ...

    def variable(self, name: str) -> Any: ...

    def render_file(self, text: str, name: str, extra: Mapping[str, Any]) -> str: ...


class Hidden:
    """A scope as the render context holds it: under a name no template can write, and
    behind an attribute the sandbox refuses (it starts with `_`)."""

    __slots__ = ("_scope",)

    def __init__(self, scope: Scope) -> None:
        self._scope = scope


def _scope_of(context: Context) -> Scope:
    hidden = context.get(SCOPE_KEY)
    if not isinstance(hidden, Hidden):
        raise LookupFailed("lookups are not available here")
    return hidden._scope


# -- where files are looked for ------------------------------------------------------


def _bases(scope: Scope) -> tuple[Path, ...]:
    return scope.search or (Path.cwd(),)


def _under(base: Path, path: Path, subdirs: Sequence[str]) -> list[Path]:
    return [base / sub / path for sub in subdirs if path.parts[:1] != (sub,)]


def _candidates(name: str, subdirs: Sequence[str], bases: Sequence[Path]) -> list[Path]:
    """Subfolders first, then the base itself (file, template, first_found)."""
    path = Path(name).expanduser()
    if path.is_absolute():
        return [path]
    return [p for base in bases for p in [*_under(base, path, subdirs), base / path]]


def _candidates_in(path: str, name: str, bases: Sequence[Path]) -> list[Path]:
    """first_found with `paths`: the path itself first, then under the subfolders."""
    joined = Path(path).expanduser() / name
    if joined.is_absolute():
        return [joined]
    return [p for base in bases for p in [base / joined, *_under(base, joined, FOUND_SUBDIRS)]]


def _first_file(candidates: Iterable[Path]) -> Path | None:
    return next((p for p in candidates if p.is_file()), None)


def _find(name: str, subdirs: Sequence[str], scope: Scope) -> Path:
    tried = _candidates(name, subdirs, _bases(scope))
    found = _first_file(tried)
    if found is None:
        raise LookupFailed(f"could not find {name!r}; looked in: {', '.join(map(str, tried))}")
    return found


def _read(path: Path) -> str:
    try:
        return read_text(path)
    except InputError as exc:
        raise LookupFailed(str(exc)) from None


def _flat(terms: Iterable[Any]) -> list[Any]:
    """Terms with lists among them spliced in, one level."""
    out: list[Any] = []
    for term in terms:
        out += list(term) if isinstance(term, (list, tuple)) else [term]
    return out


# -- the lookups ---------------------------------------------------------------------


def file(scope: Scope, terms: list[Any], rstrip: bool = True, lstrip: bool = False) -> list[str]:
    """Each file's text; trailing whitespace removed unless rstrip=false."""
    out = []
    for term in _flat(terms):
        text = _read(_find(str(term), FILE_SUBDIRS, scope))
        text = text.rstrip() if rstrip else text
        out.append(text.lstrip() if lstrip else text)
    return out


def template(
    scope: Scope,
    terms: list[Any],
    template_vars: Mapping[str, Any] | None = None,
    convert_data: bool = True,  # accepted; the result is always text
) -> list[str]:
    """Each controller file rendered with the current variables (and template_vars)."""
    if template_vars is not None and not isinstance(template_vars, Mapping):
        raise LookupFailed("template_vars must be a dict")
    out = []
    for term in _flat(terms):
        path = _find(str(term), TEMPLATE_SUBDIRS, scope)
        out.append(scope.render_file(_read(path), str(path), template_vars or {}))
    return out


def first_found(
    scope: Scope,
    terms: list[Any],
    files: Sequence[str] | str = (),
    paths: Sequence[str] | str = (),
    skip: bool = False,
) -> list[str]:
    """The first file found, as an absolute path; [] when none is and skip=true."""
    names, skip = _found_names(terms or [{"files": files, "paths": paths}], paths, skip)
    tried: list[Path] = []
    for path, name in names:
        candidates = (
            _candidates(name, FOUND_SUBDIRS, _bases(scope))
            if path is None
            else _candidates_in(path, name, _bases(scope))
        )
        found = _first_file(candidates)
        if found is not None:
            return [os.path.abspath(found)]
        tried += candidates
    if skip:
        return []
    looked = ", ".join(map(str, tried)) or "nowhere (no file names given)"
    raise LookupFailed(f"none of the files was found; looked in: {looked}")


def _split(value: Any, separators: str) -> list[str]:
    """Ansible's splitting of names: a string on any of `separators`, a list per item."""
    if isinstance(value, str):
        return [part for part in re.split(f"[{re.escape(separators)}]", value) if part]
    if isinstance(value, Iterable):
        return [part for item in value for part in _split(item, separators)]
    return [str(value)]


def _found_names(
    terms: Iterable[Any], paths: Any, skip: bool
) -> tuple[list[tuple[str | None, str]], bool]:
    """(path or None, file name) to try in order, and whether to skip when none is found:
    string terms, dicts with `files`/`paths`/`skip`, and lists of them."""
    out: list[tuple[str | None, str]] = []
    for term in terms:
        if isinstance(term, Mapping):
            unknown = set(term) - {"files", "paths", "skip"}
            if unknown:
                raise LookupFailed(f"unknown key(s) {', '.join(sorted(map(str, unknown)))}")
            names = _split(term.get("files", ()), ",;")
            dirs = _split(term.get("paths", paths), ",:;")
            skip = bool(term.get("skip", skip))
        elif isinstance(term, str):
            names, dirs = _split(term, ",;"), _split(paths, ",:;")
        elif isinstance(term, (list, tuple)):
            more, skip = _found_names(term, paths, skip)
            out += more
            continue
        else:
            raise LookupFailed(f"a term is a file name, a dict or a list, not {term!r}")
        out += [(d, n) for d in dirs for n in names] if dirs else [(None, n) for n in names]
    return out, skip


def env(scope: Scope, terms: list[Any], default: Any = "") -> list[Any]:
    """Environment variables of the controller; `default` for one that is not set."""
    return [os.environ.get(str(term), default) for term in _flat(terms)]


def _run_command(scope: Scope, command: str) -> str:
    done = subprocess.run(  # the playbook author's command, as Ansible's pipe runs it
        command,
        shell=True,
        capture_output=True,
        cwd=_bases(scope)[-1],
        check=False,
    )
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip().splitlines()
        why = f": {err[-1]}" if err else ""
        raise LookupFailed(f"command {command!r} exited with {done.returncode}{why}")
    return done.stdout.decode(errors="replace")


def pipe(scope: Scope, terms: list[Any]) -> list[str]:
    """Each command's output (run by /bin/sh on the controller), trailing whitespace removed."""
    return [_run_command(scope, str(term)).rstrip() for term in _flat(terms)]


def lines(scope: Scope, terms: list[Any]) -> list[str]:
    """Each command's output lines."""
    return [line for term in _flat(terms) for line in _run_command(scope, str(term)).splitlines()]


_NO_DEFAULT = object()


def vars_(scope: Scope, terms: list[Any], default: Any = _NO_DEFAULT) -> list[Any]:
    """Variables by name, rendered; `default` for one that is not defined."""
    out = []
    for term in _flat(terms):
        name = str(term)
        if scope.has_variable(name):
            out.append(scope.variable(name))
        elif default is not _NO_DEFAULT:
            out.append(default)
        else:
            raise LookupFailed(f"no variable named {name!r}")
    return out


def items(scope: Scope, terms: list[Any]) -> list[Any]:
    return _flat(terms)


def list_(scope: Scope, terms: list[Any]) -> list[Any]:
    return list(terms)


def indexed_items(scope: Scope, terms: list[Any]) -> list[list[Any]]:
    return [[i, item] for i, item in enumerate(_flat(terms))]


def dict_(scope: Scope, terms: list[Any]) -> list[dict[str, Any]]:
    out = []
    for term in terms:
        if not isinstance(term, Mapping):
            raise LookupFailed(f"the dict lookup takes dicts, got {type(term).__name__}")
        out += [{"key": k, "value": v} for k, v in term.items()]
    return out


LOOKUPS: dict[str, Callable[..., list[Any]]] = {
    "file": file,
    "template": template,
    "first_found": first_found,
    "env": env,
    "pipe": pipe,
    "lines": lines,
    "vars": vars_,
    "items": items,
    "list": list_,
    "indexed_items": indexed_items,
    "dict": dict_,
}


# -- lookup(), query() ---------------------------------------------------------------


def _call(
    context: Context, name: str, terms: tuple[Any, ...], options: dict[str, Any]
) -> list[Any]:
    short = name.removeprefix("ansible.builtin.")
    if short not in LOOKUPS:
        raise LookupFailed(f"unknown lookup {name!r} (known: {', '.join(sorted(LOOKUPS))})")
    fn = LOOKUPS[short]
    scope = _scope_of(context)
    try:
        inspect.signature(fn).bind(scope, list(terms), **options)
    except TypeError:
        takes = [p for p in inspect.signature(fn).parameters if p not in ("scope", "terms")]
        unknown = ", ".join(sorted(set(options) - set(takes)))
        raise LookupFailed(
            f"lookup {short!r}: unknown option {unknown} (it takes: {', '.join(takes) or 'none'})"
        ) from None
    try:
        return fn(scope, list(terms), **options)
    except (jinja2.UndefinedError, SecurityError, MemoryError, ProvisionError):
        raise  # worded already (a template lookup's error names the file and line)
    except Exception as exc:
        raise LookupFailed(f"lookup {short!r}: {exc or type(exc).__name__}") from None


def _results(
    context: Context, name: str, terms: tuple[Any, ...], errors: str, options: dict[str, Any]
) -> list[Any] | None:
    """The lookup's results; None when it failed and errors says to carry on."""
    if errors not in ("strict", "warn", "ignore"):
        raise LookupFailed(f"errors must be strict, warn or ignore, not {errors!r}")
    try:
        return _call(context, name, terms, options)
    except (jinja2.UndefinedError, SecurityError, MemoryError):
        raise
    except Exception:
        if errors == "strict":
            raise
        return None


@jinja2.pass_context
def lookup(
    context: Context,
    name: str,
    *terms: Any,
    wantlist: bool = False,
    errors: str = "strict",
    **options: Any,
) -> Any:
    results = _results(context, name, terms, errors, options)
    if wantlist:
        return results or []
    if not results:
        return ""
    if all(isinstance(r, str) for r in results):
        return ",".join(results)
    return results[0] if len(results) == 1 else results


@jinja2.pass_context
def query(context: Context, name: str, *terms: Any, errors: str = "strict", **options: Any) -> Any:
    return _results(context, name, terms, errors, options) or []


GLOBALS: dict[str, Callable[..., Any]] = {"lookup": lookup, "query": query, "q": query}
