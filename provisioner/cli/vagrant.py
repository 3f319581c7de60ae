"""`provision inventory from-vagrant`: an inventory of the running Vagrant machines."""

from __future__ import annotations

import ipaddress
import os
import sys
import tempfile
from pathlib import Path

from provisioner import vagrant
from provisioner.cli.common import fail, say
from provisioner.errors import InputError, ProvisionError
from provisioner.vagrant.addresses import ADDRESS_SCRIPT, ProbeFailed, ProbeTarget


def from_vagrant(
    directory: Path,
    output: str,
    via: str,
    network: str,
    limit: str | None,
    known_hosts: Path | None,
) -> int:
    try:
        if via not in vagrant.VIA_CHOICES:
            raise InputError(f"--via must be {' or '.join(vagrant.VIA_CHOICES)}, not {via!r}")
        try:
            net = ipaddress.IPv4Network(network, strict=False)
        except ValueError as exc:
            raise InputError(f"--network {network!r}: {exc}") from None
        options = vagrant.Options(
            directory=directory,
            output=None if output == "-" else Path(output),
            via="private-network" if via == "private-network" else "forwarded-port",
            limit=limit,
            network=net,
            known_hosts=known_hosts,
        )
        outcome = vagrant.plan(options, probe=vagrant_address_probe)
        vagrant.write(outcome)
    except ProvisionError as exc:
        return fail(exc)
    for line in outcome.forgotten:
        say(f"{outcome.known_hosts}: {line}")
    if outcome.output is None:
        sys.stdout.write(outcome.inventory)
    say(outcome.summary())
    return 0


def vagrant_address_probe(target: ProbeTarget) -> str:
    """Ask a Vagrant machine its addresses over our own SSH transport (from-vagrant
    --via private-network), trusting its key for this one question, as Vagrant does."""
    from provisioner.transport.ssh import SSHConnection, SSHSettings

    with tempfile.TemporaryDirectory(prefix="provision-vagrant-") as tmp:
        settings = SSHSettings(
            name=target.machine,
            address=target.hostname,
            port=target.port,
            user=target.user,
            key_filename=target.ssh_key,
            known_hosts=os.path.join(tmp, "known_hosts"),
            host_key_policy="accept-new",
            known_hosts_only=True,  # as Vagrant's own ssh: the user's file has no say here
        )
        with SSHConnection(settings) as conn:
            result = conn.run(ADDRESS_SCRIPT, timeout=60)
    if not result.ok:
        raise ProbeFailed(
            f"`{ADDRESS_SCRIPT}` exited {result.exit_code}: {result.stderr.strip()[:300]}"
        )
    return result.stdout
