"""copy: a file's exact content (from `content` or a controller `src`) and attributes."""

from __future__ import annotations

import hashlib
from typing import Any, TypeVar

from pydantic import model_validator

from provisioner.modules import register
from provisioner.modules._files import (
    AbsPath,
    Account,
    Accounts,
    FileWish,
    Mode,
    WritePlan,
    account_probes,
    accounts_seen,
    path_provisions,
    plan_write,
    read_src,
    write_ops,
)
from provisioner.modules.base import Args, Change, Module, ModuleContext, Op, Plan, Provision
from provisioner.probes.base import Probe, Seen
from provisioner.probes.files import ContentState, FileContent
from provisioner.probes.footprint import Footprint, paths


class DestArgs(Args):
    dest: AbsPath
    mode: Mode = None
    owner: Account = None
    group: Account = None
    backup: bool = False


DA = TypeVar("DA", bound=DestArgs)
FileView = tuple[ContentState, Accounts]


class ContentFileModule(Module[DA, FileView, WritePlan]):
    """A file whose whole content the task decides (copy, template): `data`, resolved
    on the controller when the task is compiled."""

    def __init__(self, args: DA, data: bytes = b"") -> None:
        super().__init__(args)
        self.data = data

    def _file(self) -> FileContent:
        """The file, its bytes brought back only when they differ (for the diff)."""
        return FileContent(self.args.dest, unless=hashlib.sha256(self.data).hexdigest())

    def probes(self) -> tuple[Probe[Any], ...]:
        a = self.args
        return (self._file(), *account_probes(a.owner, a.group))

    def state(self, seen: Seen) -> FileView:
        a = self.args
        return seen(self._file()), accounts_seen(seen, a.owner, a.group)

    def plan(self, current: FileView) -> Plan[WritePlan]:
        a = self.args
        return plan_write(*current, FileWish(self.data, a.mode, a.owner, a.group, a.backup))

    def commands(self, change: Change[WritePlan]) -> list[Op]:
        return write_ops(change.payload)

    def provides(self, change: Change[WritePlan]) -> frozenset[Provision]:
        return path_provisions(self.args.dest)

    def touches(self, change: Change[WritePlan]) -> Footprint:
        return paths(self.args.dest)  # the file (a temporary beside it, a backup)


class CopyArgs(DestArgs):
    content: str | None = None
    src: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> CopyArgs:
        if (self.content is None) == (self.src is None):
            raise ValueError("give exactly one of 'content' or 'src'")
        return self


@register
class CopyModule(ContentFileModule[CopyArgs]):
    name = "copy"
    src_dir = "files"
    args_model = CopyArgs

    @classmethod
    def build(cls, args: CopyArgs, ctx: ModuleContext) -> CopyModule:
        if args.content is not None:
            return cls(args, args.content.encode())
        return cls(args, read_src(ctx.base_dir, args.src or "", cls.name))
