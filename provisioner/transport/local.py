"""The local transport: the same contract as SSH, run on the controller with subprocess."""

from __future__ import annotations

import logging
import os
import pwd
import selectors
import signal
import subprocess
import threading
import time
from typing import IO

from provisioner.errors import CommandTimeout, ConnectError, WriteError
from provisioner.transport import sudo
from provisioner.transport.base import Become, Output, Result

__all__ = ["LocalConnection"]

log = logging.getLogger(__name__)
TICK = 0.2  # seconds: how often a quiet command's `on_output` is handed b"" (see base)


def current_user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


class LocalConnection:
    """Runs scripts with ``sh -c`` on this machine; become goes through sudo
    unless we already are the become user."""

    def __init__(self, name: str = "localhost") -> None:
        self.host = name
        self._running: set[subprocess.Popen[bytes]] = set()  # killed by close()

    def __repr__(self) -> str:
        return f"LocalConnection({self.host!r})"

    def __enter__(self) -> LocalConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        script: str,
        *,
        become: Become | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
        on_output: Output | None = None,
    ) -> Result:
        data = sudo.build_stdin(become, stdin)  # also refuses password + stdin, as SSH does
        if become is not None and (become.user or "root") == current_user():
            become = None  # already that user: no sudo needed
            data = stdin
        argv = sudo.build_argv(script, become)
        env = dict(os.environ, LC_ALL="C")
        # The script itself is logged by the runner, which knows what no_log hides.
        log.debug(
            "%s: run%s, %d bytes", self.host, f" as {become.user}" if become else "", len(script)
        )
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,  # so a timeout can kill the whole group
            )
        except OSError as e:
            raise ConnectError(self.host, f"cannot run {argv[0]} locally: {e}") from e
        self._running.add(proc)
        try:
            out, err = _communicate(proc, data, timeout, on_output)
        except subprocess.TimeoutExpired as e:
            _kill_group(proc)
            proc.communicate()
            raise CommandTimeout(
                self.host,
                f"timed out: a local command did not finish within "
                f"{sudo.seconds(timeout or 0)}s and was killed",
                stopped=True,
            ) from e
        except BaseException:
            _kill_group(proc)
            proc.communicate()
            raise
        finally:
            self._running.discard(proc)
        return sudo.finish(self.host, become, proc.returncode, out, err)

    def put(self, data: bytes, path: str, mode: int = 0o600) -> None:
        """Write `data` to `path`, setting `mode` before the data goes in."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            try:
                os.fchmod(fd, mode)
                view = memoryview(data)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
            finally:
                os.close(fd)
        except OSError as e:
            raise WriteError(self.host, f"cannot write {path}: {e.strerror or e}") from e

    def close(self) -> None:
        """Kill what still runs (an interrupted run), as a closed SSH session would."""
        for proc in list(self._running):
            _kill_group(proc)


def _communicate(
    proc: subprocess.Popen[bytes],
    data: bytes | None,
    timeout: float | None,
    on_output: Output | None,
) -> tuple[bytes, bytes]:
    """`proc.communicate`, stdout's chunks also handed to `on_output` as they come."""
    if on_output is None:
        return proc.communicate(input=data, timeout=timeout)
    assert proc.stdout is not None and proc.stderr is not None
    stdin, proc.stdin = proc.stdin, None  # fed here: communicate must not touch it after
    if stdin is not None:
        threading.Thread(target=_feed, args=(stdin, data or b""), daemon=True).start()
    deadline = None if timeout is None else time.monotonic() + timeout
    out, err = bytearray(), bytearray()
    with proc.stdout, proc.stderr, selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ, out)
        sel.register(proc.stderr, selectors.EVENT_READ, err)
        while sel.get_map():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(proc.args, timeout or 0)
            ready = sel.select(TICK if left is None else min(left, TICK))
            if not ready:
                on_output(b"")  # a tick: a line held back may be shown now
            for key, _ in ready:
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                kept: bytearray = key.data
                kept += chunk
                if key.fileobj is proc.stdout:
                    on_output(chunk)
    left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
    proc.wait(timeout=left)
    return bytes(out), bytes(err)


def _feed(stdin: IO[bytes], data: bytes) -> None:
    try:
        stdin.write(data)
        stdin.close()
    except OSError:  # the command closed its stdin early
        pass


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
