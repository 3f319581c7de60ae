"""include_vars: host variables from YAML files on the controller, read when the task
is prepared; runs on the controller only.

A relative name is looked for, in order, in each search directory's `vars/` and then
in the directory itself (a role's, then the playbook's), as Ansible looks in a role's
vars/ first. `dir` loads every .yml/.yaml/.json file in it, sorted by name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from provisioner.errors import InputError, ModuleArgsError
from provisioner.modules import register
from provisioner.modules.base import Args, ControllerModule, Expressions, ModuleContext, Verdict
from provisioner.yamlmarks import load_yaml

EXTENSIONS = ("yml", "yaml", "json")


class IncludeVarsArgs(Args):
    file: str | None = None
    dir: str | None = None
    name: str | None = None
    files_matching: str | None = None
    ignore_files: list[str] = Field(default_factory=list)
    extensions: list[str] = Field(default_factory=lambda: list(EXTENSIONS))
    depth: int = 0
    hash_behaviour: str | None = None  # accepted; variables replace, as Ansible's default

    @model_validator(mode="after")
    def _one_source(self) -> IncludeVarsArgs:
        if (self.file is None) == (self.dir is None):
            raise ValueError("give a file (or the free form) or 'dir', one of them")
        if self.name is not None and not self.name.isidentifier():
            raise ValueError(f"name '{self.name}' is not a valid variable name")
        return self


def _find(name: str, search: tuple[Path, ...]) -> Path:
    path = Path(name).expanduser()
    if path.is_absolute():
        return path
    tried = [d / sub / path for d in search or (Path.cwd(),) for sub in ("vars", ".")]
    for candidate in tried:
        if candidate.exists():
            return candidate.resolve()
    raise ModuleArgsError(
        f"include_vars: no file '{name}' (looked in {', '.join(str(t.parent) for t in tried)})"
    )


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ModuleArgsError(f"include_vars: '{path}' is not a regular file")
    try:
        data = load_yaml(path)
    except InputError as exc:
        raise ModuleArgsError(f"include_vars: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ModuleArgsError(f"include_vars: {path} must hold a mapping of names to values")
    return dict(data)


def _dir_files(args: IncludeVarsArgs, root: Path) -> list[Path]:
    if not root.is_dir():
        raise ModuleArgsError(f"include_vars: '{root}' is not a directory")
    pattern = re.compile(args.files_matching) if args.files_matching else None
    out = []
    for path in sorted(root.rglob("*")):
        depth = len(path.relative_to(root).parts)
        if not path.is_file() or (args.depth and depth > args.depth):
            continue
        if path.suffix.lstrip(".") not in args.extensions or path.name in args.ignore_files:
            continue
        if pattern is None or pattern.search(path.name):
            out.append(path)
    return out


@register
class IncludeVarsModule(ControllerModule[IncludeVarsArgs]):
    name = "include_vars"
    differs = "hash_behaviour is accepted and ignored: variables replace (Ansible's default)"
    args_model = IncludeVarsArgs
    free_form = "file"
    loads_variables = True

    def __init__(self, args: IncludeVarsArgs, values: dict[str, Any] | None = None) -> None:
        super().__init__(args)
        self.values = values or {}
        self.files: list[str] = []

    @classmethod
    def build(cls, args: IncludeVarsArgs, ctx: ModuleContext) -> IncludeVarsModule:
        if args.file is not None:
            paths = [_find(args.file, ctx.search)]
        else:
            paths = _dir_files(args, _find(str(args.dir), ctx.search))
        values: dict[str, Any] = {}
        for path in paths:
            values.update(_read(path))
        if args.name is not None:
            values = {args.name: values}
        module = cls(args, values)
        module.files = [str(p) for p in paths]
        return module

    def evaluate(self, expressions: Expressions) -> Verdict:
        fields = {"ansible_included_var_files": self.files}
        return Verdict(False, "", fields, loads=self.values)
