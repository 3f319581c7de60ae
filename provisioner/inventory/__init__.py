"""Inventory: which hosts exist, how to reach them, and their variables.

Reads Ansible's YAML inventory shape so existing inventories work::

    all:
      vars: {user: student}
      hosts:
        web1: {host: 10.0.0.5}
      children:
        lab:
          hosts:
            lab[01:03]:        # Ansible host ranges expand to lab01..lab03
          children: {...}

Top-level keys other than `all` are groups under `all`. `group_vars/` and
`host_vars/` directories next to the inventory file are read too, as Ansible
does (a file there wins over the inventory file's own vars for that group/host).
Ansible's INI inventories are read as well, into the same Inventory.

The modules, in the order data flows through them:

- `load`: `load_inventory`, and which format a file is;
- `ini`: an INI inventory → the mapping a YAML inventory gives;
- `tree`, `ranges`, `layers`: the groups and hosts as written, host ranges
  expanded, each variable with where it was written;
- `hostnames`: what may be a host's name and address (nothing ssh or a shell
  would read as an option or a command);
- `varsdirs`: `group_vars/` and `host_vars/`;
- `build`: group membership and variable precedence → `Inventory`;
- `connection`: a host's connection variables → its `ConnectionSpec` (`spec`);
- `model`: `Host`, `Group`, `Inventory` and host selection (`patterns`).

Nothing here knows about SSH: `ConnectionSpec` is plain data for the transport.
"""

from __future__ import annotations

from provisioner.inventory.load import load_inventory
from provisioner.inventory.model import Group, Host, Inventory, localhost_inventory
from provisioner.inventory.spec import (
    CONNECTION_VARS,
    HOST_KEY_POLICIES,
    SECRET_VARS,
    ConnectionSpec,
    HostKeyPolicy,
)

__all__ = [
    "CONNECTION_VARS",
    "HOST_KEY_POLICIES",
    "SECRET_VARS",
    "ConnectionSpec",
    "Group",
    "Host",
    "HostKeyPolicy",
    "Inventory",
    "load_inventory",
    "localhost_inventory",
]
