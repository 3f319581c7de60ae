"""Vagrant as an inventory source: `provision inventory from-vagrant`.

- `status`, `ssh_config`: parsers of Vagrant's outputs;
- `run`: the one place that runs `vagrant` (injectable, for recorded outputs);
- `addresses`: the private-network address of a machine;
- `known_hosts`: forgetting the keys of rebuilt machines;
- `generate`: the command itself (`plan`, then `write`).
"""

from provisioner.vagrant.addresses import DEFAULT_NETWORK
from provisioner.vagrant.errors import VagrantError
from provisioner.vagrant.generate import VIA_CHOICES, Options, Outcome, Via, plan, write

__all__ = [
    "DEFAULT_NETWORK",
    "VIA_CHOICES",
    "Options",
    "Outcome",
    "VagrantError",
    "Via",
    "plan",
    "write",
]
