"""What modules that edit a text file in place share (ini_file, replace, blockinfile):
the file comes back in the probe, the new text is computed on the controller, written
atomically with the file's mode and owner unless the task sets them."""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from typing import Any, Generic, TypeVar

from provisioner.errors import ProbeError
from provisioner.modules._files import (
    FileWish,
    WritePlan,
    account_probes,
    accounts_seen,
    path_provisions,
    plan_write,
    write_ops,
)
from provisioner.modules.base import (
    Args,
    Blocked,
    Change,
    Kind,
    Module,
    Op,
    Plan,
    Provision,
)
from provisioner.modules.copy import FileView
from provisioner.probes.base import Probe, Seen
from provisioner.probes.files import FileContent

LIMIT = 8 * 1024 * 1024
"""Larger files are refused: the whole file travels in the probe."""

E = TypeVar("E", bound=Args)


class TextEdit(Module[E, FileView, WritePlan], Generic[E]):
    """Subclasses say how the text changes (`edit`) and whether a missing file is made."""

    @abstractmethod
    def edit(self, text: str) -> tuple[str, str]:
        """The new text and what changed in a few words ("" when nothing did)."""

    def creates(self) -> bool:
        """A missing file is made (with the edit applied to empty text)."""
        return False

    def removes_only(self) -> bool:
        """The edit only removes: a missing file is already converged."""
        return False

    def missing(self) -> str | None:
        """The failure's own words for a missing file no earlier change brings (None:
        "file PATH not found")."""
        return None

    def _attr(self, name: str) -> Any:
        return getattr(self.args, name, None)

    def probes(self) -> tuple[Probe[Any], ...]:
        owner, group = self._attr("owner"), self._attr("group")
        return (FileContent(self._attr("path"), limit=LIMIT), *account_probes(owner, group))

    def state(self, seen: Seen) -> FileView:
        path = self._attr("path")
        file = seen(FileContent(path, limit=LIMIT))
        if file.kind == "file" and file.content is None:
            raise ProbeError(f"{self.name}: {path} is larger than {LIMIT} bytes")
        return file, accounts_seen(seen, self._attr("owner"), self._attr("group"))

    def plan(self, current: FileView) -> Plan[WritePlan]:
        path = self._attr("path")
        file, accounts = current
        if file.kind not in ("absent", "noparent"):
            text = (file.content or b"").decode("utf-8", "surrogateescape")
            return self._write(current, *self.edit(text))
        # Missing: an earlier change may write it first (get_url a .repo file), and then
        # what this does depends on what that file holds: see Blocked.uncertain.
        need = Provision(Kind.PATH, path)
        if self.removes_only():
            return Blocked(need, f"file {path}", otherwise_converged=True, uncertain=True)
        if not self.creates():
            return Blocked(need, f"file {path}", fails_with=self.missing(), uncertain=True)
        created = self._write(current, *self.edit(""))
        if isinstance(created, Change):
            return Blocked(need, f"file {path}", otherwise=created, uncertain=True)
        return created

    def _write(self, current: FileView, text: str, what: str) -> Plan[WritePlan]:
        file, accounts = current
        path = self._attr("path")
        new = text.encode("utf-8", "surrogateescape")
        wish = FileWish(
            new,
            self._attr("mode"),
            self._attr("owner"),
            self._attr("group"),
            bool(self._attr("backup")),
        )
        planned = plan_write(file, accounts, wish)
        if not isinstance(planned, Change) or not what or file.kind == "absent":
            return planned
        head, *rest = planned.summary
        if head.startswith("~ "):
            head = f"~ {path} ({what})"
        return dataclasses.replace(planned, summary=(head, *rest))

    def commands(self, change: Change[WritePlan]) -> list[Op]:
        return write_ops(change.payload)

    def provides(self, change: Change[WritePlan]) -> frozenset[Provision]:
        return path_provisions(self._attr("path"))
