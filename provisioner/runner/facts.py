"""Gathering facts over a connection: the facts probe, run on its own (its stderr
explains a failure)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from provisioner.errors import ProbeError, ProvisionError
from provisioner.inventory import Host
from provisioner.probes.host import Facts, HostFacts, parse
from provisioner.runner.gate import read
from provisioner.transport.base import Connection


def gather(conn: Connection) -> Facts:
    """Run the probe on a host (TransportError when it cannot be reached)."""
    res = read(conn, HostFacts().command())
    found = parse(res.stdout) if res.exit_code == 0 else None
    if found is None:
        detail = (res.stderr or res.stdout).strip()[-500:] or "no output"
        raise ProbeError(f"could not gather facts (exit {res.exit_code}): {detail}")
    return found


def gather_all(
    hosts: Sequence[Host], connect: Callable[[Host], Connection], forks: int = 20
) -> dict[str, Facts | ProvisionError]:
    """Facts of many hosts in parallel; a host that fails has its error instead."""

    def one(host: Host) -> Facts | ProvisionError:
        conn = connect(host)
        try:
            return gather(conn)
        except ProvisionError as exc:
            return exc
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=max(1, min(forks, len(hosts)))) as pool:
        return dict(zip((h.name for h in hosts), pool.map(one, hosts), strict=True))
