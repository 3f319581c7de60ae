"""From an inventory host to an open-on-demand connection, and who logs in."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

from provisioner.errors import InventoryError
from provisioner.transport.base import Connection

if TYPE_CHECKING:
    from provisioner.inventory import Host, HostKeyPolicy
    from provisioner.transport.ssh import SSHSettings

__all__ = ["Connector", "login_user_of", "ssh_settings"]

# The SSH transport (paramiko) is imported when a host is first reached: commands
# that reach none (validate, --help) do not pay for it.


DEFAULT_CONNECT_TIMEOUT = 10.0


def ssh_settings(
    host: Host,
    *,
    accept_new_host_keys: bool = False,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> SSHSettings:
    """The transport's settings for `host`; `connect_timeout` is --timeout's.

    The host key policy is the inventory's when it names one (`strict`,
    `accept-new`, `off`/false); otherwise `strict`, or `accept-new` with
    `--accept-new-host-keys`. An inventory with `host_key_checking: accept-new`
    and its own `known_hosts` file is checked against that file only.
    """
    from provisioner.transport.ssh import SSHSettings

    spec = host.connection
    policy: HostKeyPolicy = spec.host_key_policy or (
        "accept-new" if accept_new_host_keys else "strict"
    )
    return SSHSettings(
        name=host.name,
        address=spec.address,
        port=spec.port,
        user=spec.user,
        key_filename=spec.ssh_key,
        password=spec.password,
        known_hosts=spec.known_hosts,
        host_key_policy=policy,
        # An inventory that keeps its own file and accepts new keys (a lab's, as from-vagrant
        # writes) answers for its hosts' keys alone; see SSHSettings.known_hosts_only.
        known_hosts_only=spec.host_key_policy == "accept-new" and spec.known_hosts is not None,
        proxy_jump=spec.proxy_jump,
        proxy_command=spec.proxy_command,
        connect_timeout=connect_timeout,
    )


class Connector:
    """Callable the runner uses to get one connection per host. Connections
    open lazily, on the first command, inside the host's worker thread."""

    def __init__(
        self,
        *,
        accept_new_host_keys: bool = False,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        self.accept_new_host_keys = accept_new_host_keys
        self.connect_timeout = connect_timeout

    def within(self, connect_timeout: float) -> Connector:
        """The same connector with another connect timeout (a reboot's wait)."""
        return Connector(
            accept_new_host_keys=self.accept_new_host_keys, connect_timeout=connect_timeout
        )

    def __call__(self, host: Host) -> Connection:
        if host.connection.connection == "local":
            from provisioner.transport.local import LocalConnection

            return LocalConnection(host.name)
        from provisioner.transport.ssh import SSHConnection

        settings = ssh_settings(
            host,
            accept_new_host_keys=self.accept_new_host_keys,
            connect_timeout=self.connect_timeout,
        )
        return SSHConnection(settings)


def login_user_of(host: Host) -> str:
    """The user the tool logs in as: what `{{ login_user }}` means.

    Resolved on the controller, so it is the SSH user even inside a sudo
    shell on the target (where $USER is root).
    """
    spec = host.connection
    if spec.connection == "local":
        from provisioner.transport.local import current_user

        return current_user()
    if spec.user:
        return spec.user
    from provisioner.transport.ssh import resolve_target
    from provisioner.transport.sshconfig import SSHConfigError

    try:
        return resolve_target(ssh_settings(host)).endpoint.user or getpass.getuser()
    except SSHConfigError as exc:
        raise InventoryError(f"host {host.name}: {exc}") from None
