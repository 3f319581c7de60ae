"""A host's probe answers, asked in batches: one round trip for a task and the probes
of the tasks after it, each distinct probe once.

Probes are read-only, so answers are reused until something changes on the
host; then they are all stale (`invalidate`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any

from provisioner.errors import ProbeError
from provisioner.modules.base import Module
from provisioner.probes.base import Answers, Probe, frame, unframe
from provisioner.transport.base import Become, Connection

Key = tuple[Probe[Any], Become | None]


class Prober:
    def __init__(self, connection: Callable[[], Connection]) -> None:
        self.connection = connection
        self.cache: dict[Key, tuple[str, int]] = {}

    def seen(
        self,
        module: Module[Any, Any, Any],
        become: Become | None,
        ahead: Callable[[], Iterable[Module[Any, Any, Any]]],
        timeout: float | None = None,
    ) -> Answers:
        """The answers to `module`'s probes; when some are missing, one batch asks them
        with those of the modules `ahead` (same become) that are not known yet, within
        `timeout` seconds (the asking task's)."""
        probes = module.probes()
        if any((p, become) not in self.cache for p in probes):
            self.batch([*probes, *(p for m in ahead() for p in m.probes())], become, timeout)
        return Answers({p: self.cache[(p, become)] for p in probes})

    def batch(
        self, probes: Iterable[Probe[Any]], become: Become | None, timeout: float | None = None
    ) -> None:
        unique = list(dict.fromkeys(p for p in probes if (p, become) not in self.cache))
        if not unique:
            return
        mark = f"@@provisioner-{secrets.token_hex(16)}@@"
        script = frame([p.command() for p in unique], mark)
        res = self.connection().run(script, become=become, timeout=timeout)
        outputs = unframe(res.stdout, len(unique), mark)
        if outputs is None:
            detail = res.stderr.strip() or res.stdout[-500:]
            raise ProbeError(f"probe batch failed (exit {res.exit_code}): {detail}")
        for probe, answer in zip(unique, outputs, strict=True):
            self.cache[(probe, become)] = answer

    def invalidate(self) -> None:
        self.cache.clear()
