"""A host's probe answers, asked in batches: one round trip for a task and the probes
of the tasks after it, each distinct probe once.

Probes are read-only, so answers are reused until something changes on the
host; then they are all stale (`invalidate`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from provisioner.errors import ProbeError
from provisioner.modules.base import Module
from provisioner.probes.base import Answers, Probe, frame, unframe
from provisioner.transport.base import Become, Connection

log = logging.getLogger(__name__)

Key = tuple[Probe[Any], Become | None]
HIDDEN = "(script hidden: no_log)"


class Probing(NamedTuple):
    """A module whose probes may go in a batch; `no_log`: its task hides what it sends."""

    module: Module[Any, Any, Any]
    no_log: bool = False


def log_script(host: str, what: str, script: str, become: Become | None, hidden: bool) -> None:
    """-vv shows what is sent; a no_log task's script never (it may hold its secrets)."""
    who = f" as {become.user}" if become else ""
    log.debug("%s: %s%s: %s", host, what, who, HIDDEN if hidden else script)


class Prober:
    def __init__(self, connection: Callable[[], Connection]) -> None:
        self.connection = connection
        self.cache: dict[Key, tuple[str, int]] = {}

    def seen(
        self,
        this: Probing,
        become: Become | None,
        ahead: Callable[[], Iterable[Probing]],
        timeout: float | None = None,
    ) -> Answers:
        """The answers to `this` module's probes; when some are missing, one batch asks
        them with those of the modules `ahead` (same become) that are not known yet,
        within `timeout` seconds (the asking task's)."""
        probes = this.module.probes()
        if any((p, become) not in self.cache for p in probes):
            batch = [this, *ahead()]
            hidden = any(b.no_log for b in batch)
            probes_all = [p for b in batch for p in b.module.probes()]
            self.batch(probes_all, become, timeout, hidden=hidden)
        return Answers({p: self.cache[(p, become)] for p in probes})

    def batch(
        self,
        probes: Iterable[Probe[Any]],
        become: Become | None,
        timeout: float | None = None,
        *,
        hidden: bool = False,
    ) -> None:
        unique = list(dict.fromkeys(p for p in probes if (p, become) not in self.cache))
        if not unique:
            return
        mark = f"@@provisioner-{secrets.token_hex(16)}@@"
        conn = self.connection()
        script = frame([p.command() for p in unique], mark)
        log_script(conn.host, f"probes ({len(unique)})", script, become, hidden)
        res = conn.run(script, become=become, timeout=timeout)
        outputs = unframe(res.stdout, len(unique), mark)
        if outputs is None:
            detail = res.stderr.strip() or res.stdout[-500:]
            raise ProbeError(f"probe batch failed (exit {res.exit_code}): {detail}")
        for probe, answer in zip(unique, outputs, strict=True):
            self.cache[(probe, become)] = answer

    def invalidate(self) -> None:
        self.cache.clear()
