"""`--via private-network`: each machine's address on the lab's host-only network.

Vagrant does not print a machine's private_network address (it is Vagrantfile
configuration, applied inside the guest), so the one way that works for every
Vagrantfile is to ask the guest:

- when ssh-config's HostName is already inside the network (libvirt reports
  the guest's own address), it is used as is, with ssh-config's port;
- otherwise the machine is asked once over SSH, at the endpoint ssh-config
  gives (127.0.0.1 and the forwarded port for VirtualBox), with
  `ip -4 -o addr show` (`hostname -I` where `ip` is missing); the first
  address inside the network is used, with port 22.

That query trusts the forwarded port's key on first use in a throwaway
known_hosts file, as Vagrant itself does (StrictHostKeyChecking no); only the
keys of the addresses the inventory names are kept, by accept-new on the
first real connection.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, ip_address

__all__ = [
    "ADDRESS_SCRIPT",
    "DEFAULT_NETWORK",
    "AddressProbe",
    "ProbeTarget",
    "parse_addresses",
    "pick_address",
    "no_probe",
]

# VirtualBox (6.1.28+) allows host-only networks only here unless configured otherwise.
DEFAULT_NETWORK = IPv4Network("192.168.56.0/21")
ADDRESS_SCRIPT = "if command -v ip >/dev/null 2>&1; then ip -4 -o addr show; else hostname -I; fi"
_INET = re.compile(r"\binet\s+(\d{1,3}(?:\.\d{1,3}){3})\b")


@dataclass(frozen=True)
class ProbeTarget:
    """Where to ask a machine for its addresses (from its ssh-config)."""

    machine: str
    hostname: str
    port: int
    user: str | None
    ssh_key: str | None


class ProbeFailed(Exception):
    """The machine answered, but not with its addresses."""


# Returns the output of ADDRESS_SCRIPT on the machine; raises ProvisionError
# (cannot connect) or ProbeFailed.
AddressProbe = Callable[[ProbeTarget], str]


def no_probe(target: ProbeTarget) -> str:
    """The default: machines are not asked (forwarded-port needs no address)."""
    raise ProbeFailed("no address probe was given (--via private-network needs one)")


def parse_addresses(output: str) -> list[IPv4Address]:
    """IPv4 addresses from `ip -4 -o addr show` (its `inet` fields) or `hostname -I`."""
    words = _INET.findall(output) if "inet " in output else output.split()
    found: list[IPv4Address] = []
    for word in words:
        try:
            address = ip_address(word)
        except ValueError:
            continue
        if isinstance(address, IPv4Address) and address not in found:
            found.append(address)
    return found


def pick_address(addresses: Sequence[IPv4Address], network: IPv4Network) -> IPv4Address | None:
    """The first address inside `network`."""
    return next((a for a in addresses if a in network), None)
