"""What may be a host's name and its address.

An address goes where OpenSSH would put it: a ProxyCommand's `%h` is replaced
as written (as OpenSSH does), so `-oProxyCommand=...` as an address would be an
option of the proxy's own ssh, and `a;b` a second command. Addresses follow
OpenSSH's own rule for host names (ssh.c, valid_hostname): no leading `-`, no
blanks or control characters, none of ``'`"$\\;&<>|(){}``. A host name that is
also the address (no `ansible_host`) follows it too; any other name only may
not start with `-` or hold blanks, so it stays one word on a command line.
"""

from __future__ import annotations

from provisioner.errors import InventoryError, Location

__all__ = ["bad_address", "check_address", "check_host_name"]

_SHELL = frozenset("'`\"$\\;&<>|(){}")


def _blank_or_control(text: str) -> bool:
    return any(c.isspace() or not c.isprintable() for c in text)


def bad_address(text: str) -> str | None:
    """Why `text` cannot be a host's address, or None when it can."""
    if text.startswith("-"):
        return "starts with '-' (ssh would read it as an option)"
    if _blank_or_control(text):
        return "holds a blank or control character"
    found = sorted(_SHELL & set(text))
    if found:
        return f"holds {' '.join(found)} (a shell would read it)"
    return None


def check_host_name(name: str, where: Location) -> None:
    if name.startswith("-"):
        raise InventoryError(
            f"host name {name!r} starts with '-' (ssh and other commands would read it "
            "as an option)",
            where,
        )
    if _blank_or_control(name):
        raise InventoryError(f"host name {name!r} holds a blank or control character", where)


def check_address(host: str, address: str, var: str | None, where: Location | None) -> None:
    """`var` is the variable that set it; None when the host is reached at its name."""
    if "{{" in address or "{%" in address:
        return  # a template: what it renders to is the address
    why = bad_address(address)
    if why is None:
        return
    if var is None:
        raise InventoryError(
            f"host {host!r} is reached at its name, which is not a host name or address: "
            f"it {why}; give the address in ansible_host",
            where,
        )
    raise InventoryError(
        f"host {host!r}: {var} {address!r} is not a host name or address: it {why}", where
    )
