"""template: a controller Jinja2 file rendered with the host's variables, then exactly copy."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from provisioner.errors import ModuleArgsError, TemplateError
from provisioner.limits import MAX_FILE_BYTES
from provisioner.modules import register
from provisioner.modules._files import read_src, src_text
from provisioner.modules.base import ModuleContext
from provisioner.modules.copy import ContentFileModule, DestArgs


class TemplateArgs(DestArgs):
    src: str


@register
class TemplateModule(ContentFileModule[TemplateArgs]):
    name = "template"
    src_dir = "templates"
    args_model = TemplateArgs

    @classmethod
    def build(cls, args: TemplateArgs, ctx: ModuleContext) -> TemplateModule:
        raw = read_src(ctx.base_dir, args.src, cls.name, limit=MAX_FILE_BYTES)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ModuleArgsError(f"{cls.name}: src {args.src} is not UTF-8 text") from None
        try:
            return cls(args, ctx.render_file(text, args.src).encode("utf-8"))
        except TemplateError as exc:  # it names the file and line; say it is the template
            raise TemplateError(f"template {exc.message}", exc.where) from None

    @classmethod
    def rendered_sources(cls, raw: Mapping[str, Any], base_dir: Path) -> list[str]:
        src = raw.get("src")
        if not isinstance(src, str):
            return []
        text = src_text(base_dir, src)
        return [] if text is None else [text]
