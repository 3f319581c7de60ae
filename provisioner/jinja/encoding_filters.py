"""Ansible's filters that encode and decode: JSON, YAML, base64, digests, crypt."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from provisioner.jinja import crypt
from provisioner.jinja.errors import FilterFailed
from provisioner.jinja.yamlio import dump_yaml, load_yaml


def _json_options(options: Mapping[str, Any]) -> dict[str, Any]:
    allowed = {"indent", "sort_keys", "ensure_ascii", "separators"}
    unknown = set(options) - allowed
    if unknown:
        raise FilterFailed(f"unknown option(s): {', '.join(sorted(unknown))}")
    return dict(options)


def to_json(value: Any, **options: Any) -> str:
    """JSON on one line; non-ASCII kept as it is (Ansible escapes it as \\uXXXX)."""
    return json.dumps(value, **{"ensure_ascii": False, **_json_options(options)})


def to_nice_json(value: Any, indent: int = 4, sort_keys: bool = True, **options: Any) -> str:
    """Ansible's to_nice_json: sorted keys, indented, one value per line."""
    more = {"ensure_ascii": False, **_json_options(options), "separators": (",", ": ")}
    return json.dumps(value, indent=indent, sort_keys=sort_keys, **more)


def from_json(value: Any) -> Any:
    return json.loads(str(value))


def to_yaml(value: Any, **options: Any) -> str:
    """YAML; the innermost lists and dicts in flow style (`[a, b]`), as Ansible."""
    return dump_yaml(value, **{"default_flow_style": None, **options})


def to_nice_yaml(value: Any, indent: int = 4, **options: Any) -> str:
    """YAML in block style, indented by 4, as Ansible."""
    return dump_yaml(value, **{**options, "indent": indent, "default_flow_style": False})


def from_yaml(value: Any) -> Any:
    """A string parsed as one YAML document (other values pass through, as Ansible)."""
    return load_yaml(value) if isinstance(value, str) else value


def b64encode(value: Any, encoding: str = "utf-8") -> str:
    return base64.b64encode(str(value).encode(encoding)).decode("ascii")


def b64decode(value: Any, encoding: str = "utf-8") -> str:
    return base64.b64decode(str(value).encode("ascii")).decode(encoding)


def hash_text(value: Any, hashtype: str = "sha1") -> str:
    try:
        h = hashlib.new(hashtype)
    except ValueError:
        raise FilterFailed(f"unknown hash type {hashtype!r}") from None
    h.update(str(value).encode())
    return h.hexdigest()


ROUNDS_DEFAULT = 656_000  # what Ansible (2.12+, passlib) writes when no rounds are given


def password_hash(
    value: Any,
    hashtype: str = "sha512",
    salt: str | None = None,
    rounds: int | None = None,
    ident: str | None = None,
) -> str:
    """A `$6$rounds=N$salt$…` SHA-512 crypt hash. Without a salt a random one is
    drawn, so each render gives another hash: pass a salt for a stable result."""
    if hashtype not in ("sha512", "sha512_crypt"):
        raise FilterFailed(f"only hashtype sha512 is supported, not {hashtype!r}")
    if ident is not None:
        raise FilterFailed("ident applies to bcrypt only")
    if salt is None:
        salt = crypt.random_salt()
    elif len(str(salt)) > crypt.SALT_MAX or not crypt.SALT_RE.match(str(salt)):
        raise FilterFailed("a salt is at most 16 characters of ./0-9A-Za-z")
    return _sha512(str(value), str(salt), ROUNDS_DEFAULT if rounds is None else int(rounds))


@lru_cache(maxsize=256)  # the same password and salt on every host: hashed once
def _sha512(password: str, salt: str, rounds: int) -> str:
    return crypt.sha512_crypt(password, salt, rounds)
