"""Finding a role and reading its directory, where Ansible finds and reads them.

Search order for a role named `x` (or `namespace.x`, as `ansible-galaxy install`
names the directory): `roles/` beside the playbook, the playbook's own directory,
each `--roles-path` entry, then `PROVISION_ROLES_PATH` and `ANSIBLE_ROLES_PATH`
(colon-separated), then Ansible's defaults (~/.ansible/roles, /usr/share/ansible/roles,
/etc/ansible/roles). A name holding a `/` is a path (relative to the playbook).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner.errors import Location, PlaybookError
from provisioner.yamlmarks import load_yaml

DEFAULT_PATHS = ("~/.ansible/roles", "/usr/share/ansible/roles", "/etc/ansible/roles")
ENV_PATHS = ("PROVISION_ROLES_PATH", "ANSIBLE_ROLES_PATH")
MAIN_NAMES = ("main.yml", "main.yaml", "main")
YAML_SUFFIXES = ("", ".yml", ".yaml")

# Set by the CLI's --roles-path before a playbook loads.
_extra_paths: list[Path] = []


def set_roles_path(paths: list[str]) -> None:
    _extra_paths[:] = [Path(p).expanduser() for p in paths]


def search_dirs(playbook_dir: Path) -> list[Path]:
    dirs = [playbook_dir / "roles", playbook_dir, *_extra_paths]
    for var in ENV_PATHS:
        dirs += [Path(p).expanduser() for p in os.environ.get(var, "").split(":") if p]
    dirs += [Path(p).expanduser() for p in DEFAULT_PATHS]
    return list(dict.fromkeys(dirs))


def find_role(name: str, playbook_dir: Path, where: Location) -> Path:
    """The role's directory; the error lists every place looked in."""
    if "/" in name:
        path = (playbook_dir / Path(name).expanduser()).resolve()
        if path.is_dir():
            return path
        raise PlaybookError(f"role '{name}' not found (looked at {path})", where)
    tried = [d / name for d in search_dirs(playbook_dir)]
    for path in tried:
        if path.is_dir():
            return path.resolve()
    looked = ", ".join(str(t) for t in tried)
    raise PlaybookError(f"role '{name}' not found; looked in: {looked}", where)


def role_file(role: Path, part: str, name: str | None, where: Location) -> Path | None:
    """`tasks/main.yml` (or main.yaml, main), or `tasks/<name>` given by tasks_from &c;
    a name that was asked for and is missing is an error, a missing main is none."""
    folder = role / part
    candidates = [folder / f"{name}{suffix}" for suffix in YAML_SUFFIXES] if name else []
    candidates += [] if name else [folder / m for m in MAIN_NAMES]
    for path in candidates:
        if path.is_file():
            return path
    if name:
        raise PlaybookError(
            f"role {role.name}: no {part} file '{name}' (looked in {folder})", where
        )
    return None


def read_vars(role: Path, part: str, name: str | None, where: Location) -> dict[str, Any]:
    """A role's defaults or vars: the file, or every file of a `main/` directory."""
    folder = role / part / "main"
    paths = sorted(folder.iterdir()) if name is None and folder.is_dir() else []
    if not paths:
        found = role_file(role, part, name, where)
        paths = [found] if found is not None else []
    out: dict[str, Any] = {}
    for path in paths:
        data = load_yaml(path, error=PlaybookError)
        if data is None:
            continue
        if not isinstance(data, dict):
            raise PlaybookError(
                f"{part} of role {role.name} must be a mapping", Location(str(path))
            )
        out.update(data)
    return out


@dataclass(frozen=True)
class RoleMeta:
    dependencies: list[Any]
    allow_duplicates: bool
    where: Location


def read_meta(role: Path, where: Location) -> RoleMeta:
    path = role_file(role, "meta", None, where)
    if path is None:
        return RoleMeta([], False, where)
    data = load_yaml(path, error=PlaybookError) or {}
    here = Location(str(path))
    if not isinstance(data, dict):
        raise PlaybookError("a role's meta/main.yml must be a mapping", here)
    deps = data.get("dependencies") or []
    if not isinstance(deps, list):
        raise PlaybookError("meta 'dependencies' must be a list of roles", here)
    allow = data.get("allow_duplicates", False)
    return RoleMeta(deps, allow is True or str(allow).lower() in ("yes", "true"), here)
