"""Collecting a file's problems, each with its place, to report them all at once."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import ValidationError

from provisioner.errors import Location, PlaybookError
from provisioner.yamlmarks import MarkedDict


def did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""


def loc_of(node: Any, fallback: Location) -> Location:
    loc = getattr(node, "loc", None)
    return loc if isinstance(loc, Location) else fallback


def key_loc(mapping: Any, key: str, fallback: Location) -> Location:
    if isinstance(mapping, MarkedDict):
        return mapping.key_loc(key)
    return fallback


class Collector:
    def __init__(self) -> None:
        self.errors: list[PlaybookError] = []

    def add(self, message: str, where: Location) -> None:
        self.errors.append(PlaybookError(message, where))

    def pydantic(self, exc: ValidationError, raw: Any, where: Location, what: str) -> None:
        # One error per field: a union (`loop`: a list or a template) fails once per kind.
        seen: set[str] = set()
        for err in exc.errors():
            path = [p for p in err["loc"] if isinstance(p, str)]
            field = path[0] if path else ""
            if field in seen:
                continue
            seen.add(field)
            place = key_loc(raw, field, where) if field else where
            if err["type"] == "extra_forbidden":
                self.add(f"unknown {what} keyword '{field}'", place)
            elif err["type"] == "missing":
                self.add(f"{what} is missing '{field}'", place)
            else:
                self.add(f"{what} '{field_path(err['loc'])}': {err['msg']}", place)


def field_path(loc: tuple[int | str, ...]) -> str:
    """`when.0`, not pydantic's `when.0.str`: the field, then list indexes (the rest
    names union members)."""
    return ".".join([str(loc[0]), *(str(p) for p in loc[1:] if isinstance(p, int))])
