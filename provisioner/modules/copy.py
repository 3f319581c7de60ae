"""copy: a file's exact content (from `content` or a controller `src`) and attributes."""

from __future__ import annotations

from abc import abstractmethod
from typing import TypeVar

from pydantic import model_validator

from provisioner.modules import register
from provisioner.modules._files import (
    AbsPath,
    Account,
    ContentState,
    Mode,
    WritePlan,
    content_probe,
    parse_content,
    payload_of,
    plan_write,
    read_src,
    write_ops,
)
from provisioner.modules.base import Args, Change, Module, ModuleContext, Op


class DestArgs(Args):
    dest: AbsPath
    mode: Mode = None
    owner: Account = None
    group: Account = None
    backup: bool = False


DA = TypeVar("DA", bound=DestArgs)


class ContentFileModule(Module[DA, ContentState]):
    """A file whose whole content the task decides: copy and template."""

    @abstractmethod
    def desired(self) -> bytes:
        """The content the file must hold."""

    def probe(self) -> str:
        a = self.args
        return content_probe(a.dest, owner=a.owner, group=a.group)

    def parse(self, stdout: str, exit_code: int) -> ContentState:
        return parse_content(stdout, self.args.dest, self.name)[0]

    def plan(self, current: ContentState) -> Change | None:
        a = self.args
        return plan_write(
            current, self.desired(), mode=a.mode, owner=a.owner, group=a.group, backup=a.backup
        )

    def commands(self, change: Change) -> list[Op]:
        return write_ops(payload_of(change, WritePlan))


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
    args_model = CopyArgs

    def __init__(self, args: CopyArgs, ctx: ModuleContext | None = None) -> None:
        super().__init__(args, ctx)
        # Read src now: a missing file is reported when the task is built.
        self._data = (
            args.content.encode()
            if args.content is not None
            else read_src(self.ctx.base_dir, args.src or "", self.name)
        )

    def desired(self) -> bytes:
        return self._data
