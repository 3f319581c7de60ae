"""The error of `provision inventory from-vagrant`."""

from __future__ import annotations

from provisioner.errors import InventoryError

__all__ = ["VagrantError"]


class VagrantError(InventoryError):
    """Vagrant is missing, failed, or printed what we cannot read; nothing was written.

    An InventoryError (so the CLI reports it as bad input, exit 1); `where`
    names the line of Vagrant's output when the output is the problem.
    """
