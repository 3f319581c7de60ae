"""Runs this tree's `provision` entry point many times, each run in a child process
with a time and memory limit, for tests that feed it hundreds of inputs.

A fresh interpreter per run costs 0.3 s of imports; this server imports once and
forks a child per run, which then does exactly what the console script does
(`run_cli.ENTRY`: `main()` with the arguments in sys.argv, its SystemExit the
exit code, an uncaught exception a traceback on stderr and exit code 1). The
child's address space is capped (RLIMIT_AS), so a bomb that allocates fails
that run with a MemoryError rather than the machine, and a run past its time is
killed. `test_bad_input` checks that a run here and through `run_cli.provision`
print the same.

Protocol: one JSON request per line on stdin ({"args", "cwd", "timeout",
"memory", "out", "err"}: stdout and stderr go to the files `out` and `err`), one
JSON answer per line on stdout ({"rc", "timed_out", "seconds", "max_rss_kb"}).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
import traceback
from typing import Any

import provisioner.cli
import provisioner.cli.check
import provisioner.cli.hosts
import provisioner.cli.run  # noqa: F401  (imported once here, not in every child)


def _child(request: dict[str, Any]) -> None:
    """In the forked child: become the command, never return."""
    code = 1
    try:
        os.chdir(request["cwd"])
        limit = int(request["memory"])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        for fd, path, flags in (
            (0, os.devnull, os.O_RDONLY),
            (1, request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
            (2, request["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        ):
            os.dup2(os.open(path, flags, 0o600), fd)
        sys.argv = ["provision", *request["args"]]
        code = _main()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _main() -> int:
    """What the interpreter does with `python -c ENTRY`."""
    try:
        provisioner.cli.main()
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _wait(pid: int, timeout: float) -> dict[str, Any]:
    start = time.monotonic()
    timed_out = False
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - start > timeout:
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            timed_out = True
            break
        time.sleep(0.002)
    return {
        "rc": os.waitstatus_to_exitcode(status),
        "timed_out": timed_out,
        "seconds": time.monotonic() - start,
        "max_rss_kb": usage.ru_maxrss,
    }


def serve() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        sys.stdout.write(json.dumps(_wait(pid, float(request["timeout"]))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
