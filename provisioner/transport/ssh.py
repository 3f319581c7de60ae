"""The SSH transport (paramiko): one connection per host, opened lazily, reused.

What it honours and decides:

- Settings come as `SSHSettings`; ~/.ssh/config (or `ssh_config`) is looked
  up by `address` (as ``ssh ADDRESS`` would): HostName, User, Port,
  IdentityFile, IdentitiesOnly, ProxyJump (comma chains), ProxyCommand,
  HostKeyAlias, UserKnownHostsFile, Include. Explicit settings win: `user`
  and `key_filename` when set, `port` when it is not 22, `proxy_jump` or
  `proxy_command` when set (either replaces the config's ProxyJump and
  ProxyCommand).
- Host keys are checked against `known_hosts` (the settings' file), then the
  user's (~/.ssh/known_hosts or UserKnownHostsFile), then the global
  /etc/ssh/ssh_known_hosts; see `hostkeys.HostKeyChecker` for the policies.
- Authentication: key file(s), then ssh-agent (unless IdentitiesOnly with a
  key), then ~/.ssh/id_* when no key file is given, then `password`.
- Jump hosts are reached with direct-tcpip channels; each one's key is
  checked like the target's. The password is offered to the target only.
- A ProxyCommand runs without a shell; its process is ended and waited for
  when the connection closes.
- `connect_timeout` bounds each step of connecting, and also tells a lost host:
  while connected, a keepalive goes out after that many idle seconds, and a
  host that acknowledges nothing for 3 × `connect_timeout` (TCP_USER_TIMEOUT
  on the socket) is lost, rather than waited for as long as TCP retries
  (about 15 minutes) when a link is cut.
- A connection found dead before a command is reopened once (also when a
  new session or upload on it fails because it has just died: nothing ran);
  a connection lost during a command is a ConnectError (the command may or
  may not have run to completion).
- A command given a `timeout` runs under the host's timeout(1), which stops
  it there; past that plus a grace the controller gives up too. Either is a
  CommandTimeout.
- A command killed by a signal (no exit status) returns exit code -1.
- become as the login user itself runs the script without sudo.
"""

from __future__ import annotations

import errno
import logging
import os
import posixpath
import select
import shlex
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import paramiko

from provisioner.errors import (
    AuthError,
    CommandTimeout,
    ConnectError,
    HostKeyError,
    OutputTooLarge,
    TimeoutError_,
    TransportError,
    WriteError,
)
from provisioner.transport import sudo
from provisioner.transport.base import Become, Output, Result
from provisioner.transport.hostkeys import HostKeyChecker, KnownHosts, known_hosts_name
from provisioner.transport.sshconfig import (
    Endpoint,
    SSHConfigError,
    Target,
    read_config,
    resolve,
)
from provisioner.transport.tcp import low_latency

__all__ = ["SSHConnection", "SSHSettings", "resolve_target"]

log = logging.getLogger(__name__)

_CHUNK = 32768
MAX_OUTPUT = 64 * 1024 * 1024  # bytes of stdout + stderr one command may send back
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
GLOBAL_KNOWN_HOSTS: tuple[str, ...] = ("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2")


@dataclass(frozen=True)
class SSHSettings:
    name: str  # inventory name (used in messages)
    address: str
    port: int = 22
    user: str | None = None  # None → ~/.ssh/config User → local user name
    key_filename: str | None = None
    password: str | None = field(default=None, repr=False)
    known_hosts: str | None = None  # extra known_hosts file (lab); ~/.ssh/known_hosts also read
    # Read only `known_hosts`: a lab's machines come back on reused addresses (127.0.0.1:2222)
    # with new keys, which an old line in the user's own file must not veto.
    known_hosts_only: bool = False
    host_key_policy: Literal["strict", "accept-new", "off"] = "strict"
    connect_timeout: float = 10.0
    ssh_config: str | None = "~/.ssh/config"
    # Jump hosts (`[user@]host[:port]`, in order) or a proxy command (%h %p %r %n %%);
    # None leaves both to ssh_config, () connects directly whatever it says.
    proxy_jump: tuple[str, ...] | None = None
    proxy_command: str | None = None


def resolve_target(settings: SSHSettings) -> Target:
    """Where and as whom to connect, after ~/.ssh/config. Raises SSHConfigError."""
    config = read_config(settings.ssh_config)
    return resolve(
        config,
        settings.address,
        port=None if settings.port == 22 else settings.port,
        user=settings.user,
        key_filename=settings.key_filename,
        proxy_jump=settings.proxy_jump,
        proxy_command=settings.proxy_command,
    )


class SSHConnection:
    """A `Connection` over SSH. Safe to use from one thread per host."""

    def __init__(self, settings: SSHSettings) -> None:
        self.settings = settings
        self.host = settings.name
        self._lock = threading.RLock()
        self._client: paramiko.SSHClient | None = None
        self._hops: list[paramiko.SSHClient] = []
        self._proxies: list[_ProxyCommand] = []  # the ProxyCommand processes this opened
        self._where = f"{settings.address}:{settings.port}"
        self._sftp: paramiko.SFTPClient | None = None
        self._no_sftp = False
        self._login_user: str | None = None
        self._opened = 0  # times connected (see base.Reopening)

    def __repr__(self) -> str:
        return f"SSHConnection({self.settings!r})"

    def __enter__(self) -> SSHConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- connecting -------------------------------------------------------

    def connect(self) -> None:
        """Connect now (otherwise the first run/put does). Idempotent."""
        self._transport()

    @property
    def generation(self) -> int:
        return self._opened

    @property
    def connected(self) -> bool:
        client = self._client
        t = client.get_transport() if client is not None else None
        return t is not None and t.is_active()

    def _transport(self) -> paramiko.Transport:
        with self._lock:
            client = self._client
            t = client.get_transport() if client is not None else None
            if t is not None and t.is_active():
                return t
            if client is not None:
                log.info("%s: connection to %s was lost; reconnecting", self.host, self._where)
                self._drop()
            self._open()
            assert self._client is not None
            t = self._client.get_transport()
            assert t is not None
            return t

    def _open(self) -> None:
        try:
            target = resolve_target(self.settings)
        except SSHConfigError as e:
            raise ConnectError(self.host, f"{e}. Fix the ssh config or set ssh_config.") from e
        ep = target.endpoint
        self._where = ep.address
        self._login_user = ep.user
        hops: list[paramiko.SSHClient] = []
        try:
            sock: Any = None
            chain = [*target.jumps, ep]
            for i, hop in enumerate(chain):
                final = i == len(chain) - 1
                label = ep.address if final else f"jump host {hop.address}"
                if not final:
                    label = f"{label} (on the way to {ep.address})"
                client = self._login(hop, sock, label, final=final)
                if final:
                    self._client = client
                else:
                    hops.append(client)
                    sock = self._tunnel(client, label, chain[i + 1])
            self._hops = hops
            self._opened += 1
        except BaseException:
            for c in reversed(hops):
                self._close_client(c)
            self._release_proxies()
            raise
        for client in [*hops, *([self._client] if self._client else [])]:
            transport = client.get_transport()
            if transport is not None:
                transport.set_keepalive(keepalive_interval(self.settings.connect_timeout))
        log.debug("%s: connected to %s via %d jump host(s)", self.host, ep.address, len(hops))

    def _known_hosts(self, ep: Endpoint) -> KnownHosts:
        user_files = list(ep.known_hosts_files) or [DEFAULT_KNOWN_HOSTS]
        read = [*([self.settings.known_hosts] if self.settings.known_hosts else [])]
        if not (self.settings.known_hosts_only and self.settings.known_hosts):
            read += user_files + list(GLOBAL_KNOWN_HOSTS)
        return KnownHosts(read, save_to=self.settings.known_hosts or user_files[0])

    def _checker(self, ep: Endpoint, label: str) -> HostKeyChecker:
        name = known_hosts_name(ep.host_key_alias or ep.hostname, ep.port)
        return HostKeyChecker(
            host=self.host,
            where=label,
            name=name,
            policy=self.settings.host_key_policy,
            known_hosts=self._known_hosts(ep),
        )

    def _socket(self, ep: Endpoint, label: str) -> Any:
        if ep.proxy_command:
            try:
                proxy = _ProxyCommand(ep.proxy_command)
            except (OSError, paramiko.SSHException) as e:
                raise ConnectError(
                    self.host, f"ProxyCommand {ep.proxy_command!r} for {label} failed: {e}"
                ) from e
            self._proxies.append(proxy)
            return proxy
        return open_socket(self.host, ep.hostname, ep.port, self.settings.connect_timeout, label)

    def _login(self, ep: Endpoint, sock: Any, label: str, *, final: bool) -> paramiko.SSHClient:
        for key in ep.key_filenames:
            if not os.path.isfile(key):
                raise AuthError(
                    self.host,
                    f"key file {key} does not exist (for {label}). "
                    "Fix key_filename / IdentityFile.",
                )
        checker = self._checker(ep, label)
        preferred = checker.preferred_key_types()

        def factory(sock: Any, /, **kwargs: Any) -> paramiko.Transport:
            disabled = cast("Mapping[str, Iterable[str]] | None", kwargs.get("disabled_algorithms"))
            t = paramiko.Transport(sock, disabled_algorithms=disabled)
            opts = t.get_security_options()
            if preferred:
                opts.key_types = preferring(opts.key_types, preferred)
            opts.ciphers = preferring(opts.ciphers, AEAD_CIPHERS)
            return t

        timeout = self.settings.connect_timeout
        password = self.settings.password if final else None
        keys = list(ep.key_filenames)
        allow_agent = not (ep.identities_only and keys)
        look_for_keys = not keys
        if sock is None:
            sock = self._socket(ep, label)
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(checker)
        try:
            client.connect(
                ep.hostname,
                port=ep.port,
                username=ep.user,
                password=password,
                # paramiko takes a list here too; the stubs say str.
                key_filename=cast(str, keys) if keys else None,
                # the handshake bound must exceed the banner's, or paramiko gives
                # up silently and fails later with "No existing session"
                timeout=2 * timeout,
                allow_agent=allow_agent,
                look_for_keys=look_for_keys,
                sock=sock,
                banner_timeout=timeout,
                auth_timeout=max(timeout, 30.0),
                transport_factory=factory,
            )
        except BaseException as e:
            self._close_client(client)
            if isinstance(sock, socket.socket | paramiko.ProxyCommand):
                sock.close()
            if isinstance(e, TransportError) or not isinstance(e, Exception):
                raise
            methods = [*keys]
            if allow_agent and os.environ.get("SSH_AUTH_SOCK"):
                methods.append("ssh-agent")
            if look_for_keys:
                methods.append("default keys in ~/.ssh")
            if password is not None:
                methods.append("password")
            raise self._connect_error(e, label, ep, checker, methods, timeout) from e
        return client

    def _connect_error(
        self,
        e: Exception,
        label: str,
        ep: Endpoint,
        checker: HostKeyChecker,
        methods: list[str],
        timeout: float,
    ) -> TransportError:
        host = self.host
        if isinstance(e, paramiko.BadHostKeyException):  # not expected: we load no keys
            return HostKeyError(host, f"the host key of {label} has changed: {e}")
        if isinstance(e, paramiko.PasswordRequiredException):
            return AuthError(
                host,
                f"a private key for {label} is encrypted and no passphrase was given; "
                "load it into ssh-agent (ssh-add) or use an unencrypted key.",
            )
        if isinstance(e, paramiko.AuthenticationException):
            tried = ", ".join(methods) if methods else "nothing (no key, agent or password)"
            detail = str(e) or type(e).__name__
            if isinstance(e, paramiko.BadAuthenticationType):
                detail = f"the server allows only {', '.join(e.allowed_types)}"
            return AuthError(
                host,
                f"authentication as {ep.user!r} to {label} failed ({detail}); tried: {tried}. "
                "Check the user name, key_filename/IdentityFile, ssh-agent (ssh-add -l) "
                "or password, and the host's authorized_keys.",
            )
        if isinstance(e, paramiko.ProxyCommandFailure):
            return ConnectError(host, f"ProxyCommand for {label} failed: {e.error}")
        if isinstance(e, paramiko.SSHException):
            msg = str(e)
            if "protocol banner" in msg:
                if isinstance(e.__context__, TimeoutError):
                    return TimeoutError_(
                        host,
                        f"Connection timed out during banner exchange with {label} "
                        f"(no SSH greeting within {timeout:g}s): the port answers but sshd "
                        "does not (overloaded, MaxStartups, or not an SSH port). "
                        "Retry, or raise connect_timeout.",
                    )
                return ConnectError(
                    host,
                    f"{label} closed the connection before the SSH greeting "
                    "(sshd refusing connections: MaxStartups, tcp wrappers, "
                    "or not an SSH server on that port).",
                )
            if "timed out" in msg.lower() or "No existing session" in msg:
                return TimeoutError_(
                    host, f"SSH handshake with {label} timed out after {timeout:g}s ({msg})."
                )
            if checker.checked:
                return AuthError(
                    host,
                    f"authentication as {ep.user!r} to {label} failed ({msg}). "
                    "Check the key file, ssh-agent or password.",
                )
            return ConnectError(host, f"SSH handshake with {label} failed: {msg}")
        if isinstance(e, EOFError):
            return ConnectError(host, f"{label} closed the connection during the SSH handshake.")
        if isinstance(e, TimeoutError):
            return TimeoutError_(host, f"connecting to {label} timed out after {timeout:g}s.")
        if isinstance(e, OSError):
            return ConnectError(host, f"connection to {label} failed: {e}")
        return ConnectError(host, f"connecting to {label} failed: {type(e).__name__}: {e}")

    def _tunnel(self, client: paramiko.SSHClient, label: str, dest: Endpoint) -> paramiko.Channel:
        t = client.get_transport()
        assert t is not None
        try:
            return t.open_channel(
                "direct-tcpip",
                (dest.hostname, dest.port),
                ("127.0.0.1", 0),
                timeout=self.settings.connect_timeout,
            )
        except paramiko.ChannelException as e:
            raise ConnectError(
                self.host, f"{label} could not open a connection to {dest.address}: {e.text}"
            ) from e
        except (paramiko.SSHException, EOFError, OSError) as e:
            raise ConnectError(
                self.host, f"{label} could not open a connection to {dest.address}: {e}"
            ) from e

    def _drop(self) -> None:
        with self._lock:
            if self._sftp is not None:
                try:
                    self._sftp.close()
                except Exception:  # noqa: BLE001 - closing a dead session
                    pass
                self._sftp = None
            if self._client is not None:
                self._close_client(self._client)
                self._client = None
            for c in reversed(self._hops):
                self._close_client(c)
            self._hops = []
            self._release_proxies()

    def _close_client(self, client: paramiko.SSHClient) -> None:
        transport = client.get_transport()
        client.close()
        # Its thread may still be reading a proxy command's pipe: let it stop first.
        if self._proxies and transport is not None and transport.is_alive():
            if transport is not threading.current_thread():
                transport.join(timeout=2)

    def _release_proxies(self) -> None:
        for proxy in self._proxies:
            proxy.release()
        self._proxies = []

    def close(self) -> None:
        self._drop()

    # --- commands ----------------------------------------------------------

    def run(
        self,
        script: str,
        *,
        become: Become | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
        on_output: Output | None = None,
    ) -> Result:
        data = sudo.build_stdin(become, stdin)  # refuses a password with stdin data
        self._transport()  # connect first: we need to know the login user
        if become is not None and (become.user or "root") == self._login_user:
            become, data = None, stdin  # already that user: no sudo needed
        limited = script if timeout is None else sudo.time_limited(script, timeout)
        command = sudo.build_command(limited, become)
        # The script itself is logged by the runner, which knows what no_log hides.
        who = f" as {become.user}" if become else ""
        log.debug("%s: run%s, %d bytes", self.host, who, len(script))
        started = time.monotonic()
        # The host stops the command at `timeout`; the controller waits a little longer
        # for that answer (its KILL, the way back), then gives up itself.
        grace = sudo.KILL_AFTER + self.settings.connect_timeout
        wait = None if timeout is None else timeout + grace
        code, out, err = self._exec(command, data, wait, on_output)
        if timeout is not None and code in sudo.TIMED_OUT_CODES:
            if time.monotonic() - started >= timeout:
                raise CommandTimeout(
                    self.host,
                    f"timed out: a command on {self._where} did not finish within "
                    f"{sudo.seconds(timeout)}s and was stopped there",
                    stopped=True,
                )
        return sudo.finish(self.host, become, code, out, err)

    def _open_session(self, retry: bool = True) -> tuple[paramiko.Transport, paramiko.Channel]:
        t = self._transport()
        try:
            return t, t.open_session(timeout=self.settings.connect_timeout)
        except (paramiko.SSHException, EOFError, OSError) as e:
            if not t.is_active():
                if retry:  # it died just now (a rebooted host resets it): nothing ran yet
                    log.info("%s: connection to %s was lost; reconnecting", self.host, self._where)
                    return self._open_session(retry=False)
                raise ConnectError(
                    self.host, f"the connection to {self._where} was lost: {self._why(t, e)}"
                ) from e
            raise ConnectError(
                self.host,
                f"{self._where} refused a new session channel ({e}); check sshd MaxSessions.",
            ) from e

    def _exec(
        self,
        command: str,
        data: bytes | None,
        timeout: float | None,
        on_output: Output | None = None,
    ) -> tuple[int, bytes, bytes]:
        t, chan = self._open_session()
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            try:
                chan.exec_command(command)
            except (paramiko.SSHException, EOFError, OSError) as e:
                raise self._lost(t, e, "starting a command") from e
            out, err = self._pump(t, chan, data, deadline, timeout, on_output)
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not chan.status_event.wait(remaining):
                raise self._timed_out(timeout)
            status = chan.exit_status
            if status == -1 and not _alive(t):
                raise self._lost_mid_command(t)
            return status, out, err
        finally:
            chan.close()

    def _pump(
        self,
        t: paramiko.Transport,
        chan: paramiko.Channel,
        data: bytes | None,
        deadline: float | None,
        timeout: float | None,
        on_output: Output | None = None,
    ) -> tuple[bytes, bytes]:
        """Feed stdin and drain stdout and stderr together until EOF: no deadlock;
        stdout's chunks also go to `on_output` as they come."""
        out = bytearray()
        err = bytearray()
        pending = memoryview(data) if data else None
        if pending is None:
            chan.shutdown_write()
        while True:
            busy = False
            if chan.recv_ready():
                chunk = chan.recv(_CHUNK)
                out += chunk
                if on_output is not None:
                    on_output(chunk)
                busy = True
            if chan.recv_stderr_ready():
                err += chan.recv_stderr(_CHUNK)
                busy = True
            if pending is not None and chan.send_ready():
                try:
                    n = chan.send(pending[:_CHUNK].tobytes())
                except OSError:  # the command closed its stdin early
                    n = len(pending)
                pending = pending[n:]
                if not pending:
                    pending = None
                    chan.shutdown_write()
                busy = True
            if busy:
                if len(out) + len(err) > MAX_OUTPUT:
                    raise OutputTooLarge(
                        self.host,
                        f"a command on {self._where} sent more than {MAX_OUTPUT >> 20} MiB of "
                        "output: cut off (the most this tool keeps for one command)",
                    )
                continue
            if (chan.eof_received or chan.closed) and not (
                chan.recv_ready() or chan.recv_stderr_ready()
            ):
                return bytes(out), bytes(err)
            if not t.is_active():
                raise self._lost_mid_command(t)
            wait = 0.2 if pending is None else 0.01
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._timed_out(timeout)
                wait = min(wait, left)
            quiet = not select.select([chan], [], [], wait)[0]
            if quiet and on_output is not None:
                on_output(b"")  # a tick: a line held back may be shown now

    def _timed_out(self, timeout: float | None) -> CommandTimeout:
        return CommandTimeout(
            self.host,
            f"timed out: a command on {self._where} did not finish, and the host did not "
            f"answer within {sudo.seconds(timeout or 0)}s (it may still be running there)",
            stopped=False,
        )

    def _why(self, t: paramiko.Transport | None, e: BaseException | None) -> str:
        return _why(t, e, self.settings.connect_timeout)

    def _lost_mid_command(self, t: paramiko.Transport) -> ConnectError:
        return ConnectError(
            self.host,
            f"the connection to {self._where} was lost while a command ran "
            f"({self._why(t, None)}); it may or may not have completed.",
        )

    def _lost(self, t: paramiko.Transport, e: BaseException, doing: str) -> TransportError:
        if not t.is_active():
            return ConnectError(
                self.host,
                f"the connection to {self._where} was lost while {doing}: {self._why(t, e)}",
            )
        return ConnectError(self.host, f"{self._where} refused {doing}: {e}")

    # --- files -------------------------------------------------------------

    def _sftp_client(self, retry: bool = True) -> paramiko.SFTPClient | None:
        with self._lock:
            t = self._transport()
            if self._sftp is not None:
                return self._sftp
            if self._no_sftp:
                return None
            try:
                self._sftp = paramiko.SFTPClient.from_transport(t)
            except (paramiko.SSHException, EOFError, OSError) as e:
                if not _alive(t):
                    if retry:  # it died just now: reconnect once
                        return self._sftp_client(retry=False)
                    raise self._lost(t, e, "opening SFTP") from e
                log.info(
                    "%s: no SFTP on %s (%s); writing files with cat", self.host, self._where, e
                )
                self._no_sftp = True
                return None
            return self._sftp

    def put(self, data: bytes, path: str, mode: int = 0o600, *, retry: bool = True) -> None:
        """Write `data` to `path` as the login user, then set `mode`.

        The mode is set before the data is written, so a secret is never
        readable by others, even for a moment. A connection that turns out dead
        before the file is opened is reopened once (nothing was written yet).
        """
        sftp = self._sftp_client(retry)
        if sftp is None:
            self._put_with_cat(data, path, mode)
            return
        opened = False
        try:
            with sftp.open(path, "wb") as f:
                opened = True
                f.chmod(mode)
                f.set_pipelined(True)
                f.write(data)
            # paramiko drops the answers to pipelined writes, errors too: a full disk
            # leaves a short file behind and no exception. The size tells.
            arrived = sftp.stat(path).st_size
        except (OSError, paramiko.SSHException, EOFError) as e:
            chan = sftp.get_channel()
            t = chan.get_transport() if chan is not None else None
            if _alive(t):
                reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
                where = f"cannot write {path} on {self._where}"
                raise WriteError(self.host, f"{where}: {reason}") from e
            with self._lock:
                self._sftp = None
            if retry and not opened:
                log.info("%s: connection to %s was lost; reconnecting", self.host, self._where)
                return self.put(data, path, mode, retry=False)
            raise ConnectError(
                self.host,
                f"the connection to {self._where} was lost while writing {path} "
                f"({self._why(t, e)})",
            ) from e
        if arrived != len(data):
            self._remove_quietly(sftp, path)
            raise WriteError(
                self.host,
                f"cannot write {path} on {self._where}: only {arrived} of {len(data)} "
                f"bytes were written (is {posixpath.dirname(path) or '.'} full?)",
            )

    @staticmethod
    def _remove_quietly(sftp: paramiko.SFTPClient, path: str) -> None:
        try:
            sftp.remove(path)
        except (OSError, paramiko.SSHException, EOFError):
            pass  # the short file is reported; not removing it must not hide that

    def _put_with_cat(self, data: bytes, path: str, mode: int) -> None:
        q = shlex.quote(path)
        script = f"umask 077 && exec 3>{q} && chmod {mode:o} {q} && exec cat >&3"
        res = self.run(script, stdin=data)
        if not res.ok:
            raise WriteError(
                self.host,
                f"cannot write {path} on {self._where}: {res.stderr.strip() or res.exit_code}",
            )


class _ProxyCommand(paramiko.ProxyCommand):
    """paramiko's ProxyCommand, whose process is waited for and whose pipes are closed:
    paramiko's close() only signals it, leaving a zombie and three pipes per connection."""

    def close(self) -> None:
        process = self.process
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def release(self) -> None:
        """End the command and close its pipes (once no transport thread reads them)."""
        self.close()
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


# AES-GCM first: as strong as the others, and its tag is checked inside `cryptography`,
# while with a separate MAC paramiko computes and compares it in Python for every
# packet (a fifth of a rerun's controller CPU was that compare, measured on 50 hosts).
AEAD_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


def preferring(have: Iterable[str], first: Iterable[str]) -> list[str]:
    """`have` in its order, with those of `first` it holds moved ahead, in `first`'s."""
    names = list(have)
    ahead = [n for n in first if n in names]
    return ahead + [n for n in names if n not in ahead]


def keepalive_interval(connect_timeout: float) -> float:
    """Idle seconds before a keepalive: it makes a lost host show (see watch_socket)."""
    return max(1.0, connect_timeout)


def watch_socket(sock: socket.socket, connect_timeout: float) -> None:
    """Give up on a host that acknowledges nothing for 3 × connect_timeout (Linux's
    TCP_USER_TIMEOUT), instead of retrying for about 15 minutes: a cut link then
    ends the connection, and the command running over it is reported lost."""
    option = getattr(socket, "TCP_USER_TIMEOUT", None)
    if option is None:  # not Linux: TCP's own retries decide
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, option, int(3000 * connect_timeout))
    except OSError:
        log.debug("TCP_USER_TIMEOUT not set", exc_info=True)


def _alive(t: paramiko.Transport | None) -> bool:
    """Is the connection up, after something on it failed? Its reader thread may be a
    moment behind the reset the failure came from: give it that moment."""
    if t is None:
        return False
    if t.is_active():
        t.join(0.5)  # returns at once when the thread ends (the connection is gone)
    return t.is_active()


def _why(t: paramiko.Transport | None, e: BaseException | None, connect_timeout: float) -> str:
    """Why a connection died, in a few words: what its reader thread met, else `e`.
    (A write that timed out shows as EOF there, like a close: both are said.)"""
    cause = (t.get_exception() if t is not None else None) or e
    silent = f"no answer for {sudo.seconds(3 * connect_timeout)}s"
    if isinstance(cause, TimeoutError) or getattr(cause, "errno", None) == errno.ETIMEDOUT:
        return silent
    if isinstance(cause, ConnectionResetError):
        return "reset by the host"
    if cause is None or isinstance(cause, EOFError):
        return f"closed by the host, or {silent}"
    return str(cause) or type(cause).__name__


def open_socket(host: str, address: str, port: int, timeout: float, label: str) -> socket.socket:
    """A TCP connection to address:port, failures mapped to our errors naming `host`."""
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
        watch_socket(sock, timeout)
        return low_latency(sock)
    except socket.gaierror as e:
        raise ConnectError(
            host,
            f"cannot resolve host name {address!r} ({e.strerror}). "
            "Check the host's address in the inventory (or HostName in ~/.ssh/config) and DNS.",
        ) from e
    except ConnectionRefusedError as e:
        raise ConnectError(
            host,
            f"connection refused by {label}. Is sshd running and listening on port {port}?",
        ) from e
    except TimeoutError as e:
        raise TimeoutError_(
            host,
            f"no answer from {label} within {timeout:g}s (host down or a firewall "
            "dropping packets?). Check the address, or raise connect_timeout.",
        ) from e
    except OSError as e:
        if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            raise ConnectError(
                host, f"no route to {label} ({e.strerror}). Is the host up and the address right?"
            ) from e
        raise ConnectError(host, f"cannot connect to {label}: {e.strerror or e}") from e
