"""stat: what a path is, probed only; `register` it and branch on `r.stat.exists`.

Like Ansible's stat: the link itself unless `follow`, a checksum of regular
files (sha1 unless `checksum_algorithm` says otherwise). It never changes
anything, so it runs in a dry run too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import AliasChoices, Field

from provisioner.modules import register
from provisioner.modules._files import AbsPath
from provisioner.modules.base import CONVERGED, Args, Change, Converged, Module, Op
from provisioner.probes.base import Probe, Seen
from provisioner.probes.files import Attrs, ContentState, FileContent, PathInfo, PathState

Algorithm = Literal["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]


class StatArgs(Args):
    path: AbsPath = Field(validation_alias=AliasChoices("path", "dest", "name"))
    follow: bool = False
    get_checksum: bool = True
    checksum_algorithm: Algorithm = Field(
        default="sha1",
        validation_alias=AliasChoices("checksum_algorithm", "checksum", "checksum_algo"),
    )


Found = tuple[PathState, ContentState | None]


@register
class StatModule(Module[StatArgs, Found, None]):
    name = "stat"
    reads_only = True
    args_model = StatArgs

    def _content(self) -> FileContent | None:
        a = self.args
        return FileContent(a.path, a.checksum_algorithm, limit=None) if a.get_checksum else None

    def probes(self) -> tuple[Probe[Any], ...]:
        content = self._content()
        return (PathInfo(self.args.path), *((content,) if content else ()))

    def state(self, seen: Seen) -> Found:
        content = self._content()
        return seen(PathInfo(self.args.path)), seen(content) if content else None

    def plan(self, current: Found) -> Converged:
        return CONVERGED

    def commands(self, change: Change[None]) -> list[Op]:
        return []

    def fields(self, current: Found) -> Mapping[str, Any]:
        here, content = current
        link = here.is_link and not self.args.follow
        attrs = here.link_attrs if link else here.attrs
        if attrs is None:  # nothing there (or a link to nothing, followed)
            return {"stat": {"exists": False}}
        found: dict[str, Any] = {
            "exists": True,
            "path": self.args.path,
            "islnk": link,
            "isdir": not link and here.kind == "directory",
            "isreg": not link and here.kind == "file",
            **_attributes(attrs),
        }
        if here.is_link:
            found["lnk_target"] = here.target
        if found["isreg"] and content is not None and content.digest:
            found["checksum"] = content.digest
        return {"stat": found}


def _attributes(attrs: Attrs) -> dict[str, Any]:
    return {
        "mode": attrs.mode_str,
        "uid": attrs.uid,
        "gid": attrs.gid,
        "pw_name": attrs.user,
        "gr_name": attrs.group,
        "size": attrs.size,
    }
