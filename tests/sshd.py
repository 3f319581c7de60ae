"""A private OpenSSH sshd on a loopback address: key generation, start, wait, stop.

Shared by the loopback tests (tests/integration/test_ssh_loopback.py) and the
benchmark (bench/): each sshd gets its own config file written by the caller, is
started in the foreground (`-D`), and is stopped by its PID, never by name.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def free_port(address: str = "127.0.0.1") -> int:
    s = socket.socket()
    s.bind((address, 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def keygen(path: Path, kind: str = "ed25519") -> str:
    """Write a key pair without a passphrase; return the public key line."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return path.with_suffix(".pub").read_text().strip()


def launch(
    config: Path, log: Path, address: str, port: int, extra: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    """Start sshd -D with `config` on address:port, its output appended to `log`;
    return once it accepts connections (or raise, having stopped it)."""
    proc = spawn(config, log, address, port, extra)
    wait_listening(proc, address, port, log)
    return proc


def spawn(
    config: Path,
    log: Path,
    address: str,
    port: int,
    extra: Sequence[str] = (),
    *,
    new_session: bool = False,
    prefix: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """Start sshd -D and return at once (wait_listening tells when it is ready).
    `new_session`: out of our process group, so a Ctrl-C at the terminal reaches us,
    not it, and we stop it ourselves. `prefix`: a command that ends by exec-ing the
    sshd command line it is given (so the PID stays sshd's), e.g. `unshare`."""
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation dir
    with open(log, "ab") as out:
        return subprocess.Popen(
            [*prefix, SSHD, "-D", "-e", "-f", str(config), "-p", str(port)]
            + ["-o", f"ListenAddress={address}", *extra],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=new_session,
        )


def wait_listening(
    proc: subprocess.Popen[bytes], address: str, port: int, log: Path, timeout: float = 10
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited: {log.read_text(errors='replace')}")
        try:
            socket.create_connection((address, port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                stop(proc)
                raise RuntimeError(
                    f"sshd did not listen: {log.read_text(errors='replace')}"
                ) from None
            time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop exactly the sshd we started, by its PID."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
