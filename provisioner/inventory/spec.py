"""How to reach one host (`ConnectionSpec`), and the variables that say it.

Plain data: nothing here knows SSH. `connection.py` fills a ConnectionSpec
from a host's variables; `provisioner.connect` hands it to the transport.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "CONNECTION_VARS",
    "HOST_KEY_POLICIES",
    "SECRET_FIELDS",
    "SECRET_VARS",
    "ConnectionSpec",
    "HostKeyPolicy",
]

# Connection settings and every variable name that sets them; the first name is
# ours, the rest are Ansible's (so existing inventories keep working).
CONNECTION_VARS: dict[str, tuple[str, ...]] = {
    "address": ("host", "ansible_host", "ansible_ssh_host"),
    "port": ("port", "ansible_port", "ansible_ssh_port"),
    "user": ("user", "ansible_user", "ansible_ssh_user"),
    "ssh_key": ("ssh_key", "ansible_ssh_private_key_file", "ansible_private_key_file"),
    "password": ("password", "ansible_password", "ansible_ssh_pass", "ansible_ssh_password"),
    "become_password": (
        "become_password",
        "ansible_become_password",
        "ansible_become_pass",
        "ansible_sudo_pass",
    ),
    "known_hosts": ("known_hosts",),
    "host_key_checking": (
        "host_key_checking",
        "host_key_policy",
        "ansible_host_key_checking",
        "ansible_ssh_host_key_checking",
    ),
    "connection": ("connection", "ansible_connection"),
    # OpenSSH options (`sshargs.py`): what they set is checked against the settings above.
    "ssh_common_args": ("ssh_common_args", "ansible_ssh_common_args"),
    "ssh_extra_args": ("ssh_extra_args", "ansible_ssh_extra_args"),
}
# Settings whose values never appear in messages.
SECRET_FIELDS = frozenset({"password", "become_password"})
# Variable names whose values are secrets: hide them in any output.
SECRET_VARS: frozenset[str] = frozenset(
    CONNECTION_VARS["password"] + CONNECTION_VARS["become_password"]
)

# How a host's key is checked: the same three policies as the SSH transport.
HostKeyPolicy = Literal["strict", "accept-new", "off"]
HOST_KEY_POLICIES: tuple[HostKeyPolicy, ...] = ("strict", "accept-new", "off")


@dataclass(frozen=True)
class ConnectionSpec:
    """How to reach one host. Secrets are left out of repr()."""

    address: str
    port: int = 22
    user: str | None = None
    ssh_key: str | None = None
    password: str | None = field(default=None, repr=False)
    become_password: str | None = field(default=None, repr=False)
    known_hosts: str | None = None
    # None: the default, "strict" (or "accept-new" when the command line asks
    # for it); an explicit policy from the inventory is used as written.
    host_key_policy: HostKeyPolicy | None = None
    connection: Literal["ssh", "local"] = "ssh"
    # Jump hosts (`[user@]host[:port]`, in order) or a proxy command, as written
    # (%h %p %r %n %% tokens unexpanded). None leaves both to ~/.ssh/config;
    # () connects directly whatever it says.
    proxy_jump: tuple[str, ...] | None = None
    proxy_command: str | None = None

    @property
    def host_key_checking(self) -> bool:
        """Ansible's boolean: False only when checking is off."""
        return self.host_key_policy != "off"
