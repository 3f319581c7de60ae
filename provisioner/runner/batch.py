"""A host's probe answers, asked in batches: one round trip for a task and the probes
of the tasks after it, each distinct probe once.

Probes are read-only, so answers are reused until something changes on the
host; then they are all stale (`invalidate`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from provisioner.errors import ProbeError
from provisioner.modules.base import Module
from provisioner.probes.base import MARK, Answers, Probe, frame, unframe
from provisioner.probes.footprint import Footprint, overlaps, paths_in
from provisioner.runner.capture import captured, uncaptured
from provisioner.runner.expect import Pristine
from provisioner.runner.gate import read
from provisioner.runner.tail import until
from provisioner.transport.base import Become, Connection, Output, Result

log = logging.getLogger(__name__)

Key = tuple[Probe[Any], Become | None]
HIDDEN = "(script hidden: no_log)"


class Probing(NamedTuple):
    """A module whose probes may go in a batch; `no_log`: its task hides what it sends;
    `early`: checks it runs that may run in the batch (see Early)."""

    module: Module[Any, Any, Any]
    no_log: bool = False
    early: tuple[Probe[Any], ...] = ()

    def asks(self) -> tuple[Probe[Any], ...]:
        return (*self.module.probes(), *self.early)


@dataclass(frozen=True)
class Early(Probe[Result]):
    """A read-only check (a command declared so: `changed_when: false`,
    `check_mode: false`) run in the batch before its turn. Its answer is the check's
    result while nothing on the host changed since: any change empties the cache."""

    script: str

    def command(self) -> str:
        return captured(self.script, MARK)

    def parse(self, stdout: str, exit_code: int) -> Result:
        found = uncaptured(stdout, MARK)
        if found is None:
            raise ProbeError(f"the check's output is not whole: {stdout[-300:]!r}")
        return found[0]


def log_script(host: str, what: str, script: str, become: Become | None, hidden: bool) -> None:
    """-vv shows what is sent; a no_log task's script never (it may hold its secrets)."""
    who = f" as {become.user}" if become else ""
    log.debug("%s: %s%s: %s", host, what, who, HIDDEN if hidden else script)


class Prober:
    def __init__(
        self, connection: Callable[[], Connection], pristine: Pristine | None = None
    ) -> None:
        self.connection = connection
        self.cache: dict[Key, tuple[str, int]] = {}
        self.changed = False  # since this prober's first batch, the host changed
        self.pristine = pristine  # apply --plan: the answers before the first change

    def _keep(self, probe: Probe[Any], become: Become | None, answer: tuple[str, int]) -> None:
        self.cache[(probe, become)] = answer
        if self.pristine is not None:
            self.pristine.keep(probe, become, answer)

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
            probes_all = [p for b in batch for p in b.asks()]
            self.batch(probes_all, become, timeout, hidden=hidden)
        return Answers({p: self.cache[(p, become)] for p in probes})

    def early(self, script: str, become: Become | None) -> Result | None:
        """The result of the check `script` if it ran in a batch since the last change."""
        probe = Early(script)
        raw = self.cache.get((probe, become))
        return None if raw is None else probe.parse(*raw)

    def after(
        self,
        conn: Connection,
        script: str,
        become: Become | None,
        stdin: bytes | None,
        timeout: float | None,
        then: Iterable[Probing],
        on_output: Output | None = None,
    ) -> Result:
        """Run the change `script`, and in the same exchange, after it, the probes of
        `then`: they are known again without another round trip. The script's own
        result; what it left unframed (cut short) is its result as it came.
        `on_output` is handed the script's stdout as it comes, not the probes'."""
        then = list(then)
        asked = (p for b in then for p in b.asks())
        unique = list(dict.fromkeys(p for p in asked if (p, become) not in self.cache))
        if not unique:
            return conn.run(
                script, become=become, stdin=stdin, timeout=timeout, on_output=on_output
            )
        mark = f"@@provisioner-{secrets.token_hex(16)}@@"
        hidden = any(b.no_log for b in then)
        probes = frame([p.command() for p in unique], mark)
        log_script(conn.host, f"and probes ({len(unique)})", probes, become, hidden)
        res = conn.run(
            captured(script, mark) + probes,
            become=become,
            stdin=stdin,
            timeout=timeout,
            on_output=None if on_output is None else until(mark, on_output),
        )
        found = uncaptured(res.stdout, mark)
        if found is None:
            return res
        own, rest = found
        outputs = unframe(rest, len(unique), mark)
        for probe, answer in zip(unique, outputs or [], strict=False):
            self._keep(probe, become, answer)
        return own

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
        res = read(conn, script, become, timeout)
        outputs = unframe(res.stdout, len(unique), mark)
        if outputs is None:
            detail = res.stderr.strip() or res.stdout[-500:]
            raise ProbeError(f"probe batch failed (exit {res.exit_code}): {detail}")
        for probe, answer in zip(unique, outputs, strict=True):
            self._keep(probe, become, answer)

    def invalidate(self, written: Footprint = None, own: Iterable[Probe[Any]] = ()) -> None:
        """The host is about to change where `written` says (None: anywhere): the answers
        read from there are stale. `own`: the changing task's probes; where they found
        its paths to lead (a symlink's target) is written too."""
        self.changed = True
        if self.pristine is not None:
            self.pristine.closed = True
        written = self._widened(written, own)
        if written is None:
            self.cache.clear()
            return
        for key, (stdout, _) in list(self.cache.items()):
            if overlaps(key[0].reads(stdout), written):
                del self.cache[key]

    def _widened(self, written: Footprint, own: Iterable[Probe[Any]]) -> Footprint:
        if written is None:
            return None
        places, mine = set(written), set(own)
        for (probe, _), (stdout, _) in self.cache.items():
            if probe not in mine:
                continue
            read = probe.reads(stdout)
            if read is None:
                return None  # it cannot say where its paths lead
            if overlaps(read, written):
                places |= paths_in(read)
        return frozenset(places)
