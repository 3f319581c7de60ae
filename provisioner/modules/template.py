"""template: a controller Jinja2 file rendered with the host's variables, then exactly copy."""

from __future__ import annotations

from provisioner.errors import ModuleArgsError, TemplateError
from provisioner.modules import register
from provisioner.modules._files import read_src
from provisioner.modules.base import ModuleContext
from provisioner.modules.copy import ContentFileModule, DestArgs


class TemplateArgs(DestArgs):
    src: str


@register
class TemplateModule(ContentFileModule[TemplateArgs]):
    name = "template"
    args_model = TemplateArgs

    def __init__(self, args: TemplateArgs, ctx: ModuleContext | None = None) -> None:
        super().__init__(args, ctx)
        raw = read_src(self.ctx.base_dir, args.src, self.name)
        try:
            self._text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ModuleArgsError(f"{self.name}: src {args.src} is not UTF-8 text") from None
        self._rendered: bytes | None = None

    def desired(self) -> bytes:
        # Rendered once, when first planned: host variables are known by then.
        if self._rendered is None:
            try:
                self._rendered = self.ctx.render(self._text).encode("utf-8")
            except TemplateError as exc:  # name the file whose text failed, not just the task
                raise TemplateError(f"template {self.args.src}: {exc.message}", exc.where) from None
        return self._rendered
