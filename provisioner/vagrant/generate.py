"""`provision inventory from-vagrant`: an inventory of the running Vagrant machines.

1. `vagrant status --machine-readable` (in the Vagrantfile's directory) names
   the machines and their states; `--limit` picks among the names; machines
   that do not run are left out, and said so.
2. `vagrant ssh-config NAME...` for the running ones gives address, port,
   user and key.
3. The inventory (YAML, our shape) has one group `lab` with a host per
   machine. Vagrant's `StrictHostKeyChecking no` becomes accept-new into a
   known_hosts file of the lab's own, next to the inventory.
4. Rebuilt machines: each host records its Vagrant machine id. When the
   inventory is written again, the lab known_hosts forgets the key of an
   address whose machine has a new id, now belongs to another machine, or
   cannot be vouched for (no id, not in the previous inventory).

`plan` only reads (and asks Vagrant, and with --via private-network the
machines); `write` then replaces the files, each at once. Nothing is changed
when anything fails.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any, Literal

import yaml

from provisioner.errors import InventoryError, ProvisionError
from provisioner.inventory import load_inventory
from provisioner.inventory.patterns import match_hosts
from provisioner.transport.hostkeys import known_hosts_name
from provisioner.vagrant.addresses import (
    DEFAULT_NETWORK,
    AddressProbe,
    ProbeFailed,
    ProbeTarget,
    no_probe,
    parse_addresses,
    pick_address,
)
from provisioner.vagrant.errors import VagrantError
from provisioner.vagrant.files import write_atomically
from provisioner.vagrant.known_hosts import forget_names
from provisioner.vagrant.run import CommandRunner, run_command, run_vagrant
from provisioner.vagrant.ssh_config import SSHConfigHost, parse_ssh_config
from provisioner.vagrant.status import MachineStatus, parse_status

__all__ = [
    "GROUP",
    "VIA_CHOICES",
    "Forgotten",
    "LabHost",
    "LeftOut",
    "Options",
    "Outcome",
    "Via",
    "plan",
    "write",
]

Via = Literal["forwarded-port", "private-network"]
VIA_CHOICES: tuple[Via, ...] = ("forwarded-port", "private-network")
GROUP = "lab"
MARKER = "# Written by `provision inventory from-vagrant`"
_RESERVED_NAMES = frozenset({GROUP, "all", "ungrouped"})


@dataclass(frozen=True)
class Options:
    directory: Path = Path(".")
    output: Path | None = Path("inventories/vagrant.yml")  # None: stdout
    via: Via = "forwarded-port"
    limit: str | None = None
    network: IPv4Network = DEFAULT_NETWORK
    known_hosts: Path | None = None  # default: next to the output


@dataclass(frozen=True)
class LabHost:
    name: str
    address: str
    port: int
    user: str | None
    ssh_key: str | None
    provider: str | None
    machine_id: str | None

    @property
    def known_hosts_name(self) -> str:
        return known_hosts_name(self.address, self.port)


@dataclass(frozen=True)
class LeftOut:
    name: str
    why: str  # "poweroff", "not_created", "reached through a ProxyCommand"
    hint: str

    def __str__(self) -> str:
        return f"{self.name} is {self.why}: left out; {self.hint}"


@dataclass(frozen=True)
class Forgotten:
    host: str
    name: str  # as filed in known_hosts
    reason: str
    lines: tuple[int, ...]

    def __str__(self) -> str:
        where = ", ".join(map(str, self.lines))
        return f"forgot the old host key of {self.host} ({self.name}, line {where}): {self.reason}"


@dataclass
class Outcome:
    hosts: list[LabHost]
    left_out: list[LeftOut]
    inventory: str  # the YAML text
    output: Path | None
    known_hosts: Path
    known_hosts_text: str | None = None  # the new content; None: unchanged
    forgotten: list[Forgotten] = field(default_factory=list)

    def summary(self) -> str:
        target = str(self.output) if self.output is not None else "the inventory to stdout"
        n = len(self.hosts)
        line = f"wrote {target}: {n} host{'s' if n != 1 else ''} "
        line += f"({', '.join(h.name for h in self.hosts)})"
        return "; ".join([line, *map(str, self.left_out)])


def _in(directory: Path, command: str) -> str:
    """`command` as the user can paste it from where they are."""
    where = os.path.relpath(directory.resolve(), Path.cwd().resolve())
    if where == ".":
        return command
    return (
        f"(cd {shlex.quote(where if not where.startswith('..') else str(directory))} && {command})"
    )


def plan(
    options: Options,
    *,
    run: CommandRunner = run_command,
    probe: AddressProbe = no_probe,
) -> Outcome:
    """Ask Vagrant (and the machines, for private-network) and compute every file; write none."""
    directory = options.directory
    _check_directory(directory)
    if options.output is not None:
        _check_ours(options.output)
    machines = parse_status(run_vagrant(run, ["status", "--machine-readable"], directory))
    machines = _limited(machines, options.limit)
    left_out = [
        LeftOut(
            m.name,
            m.state or "in no known state",
            "start it: " + _in(directory, f"vagrant up {m.name}"),
        )
        for m in machines
        if not m.running
    ]
    running = [m for m in machines if m.running]
    configs: dict[str, SSHConfigHost] = {}
    if running:
        names = [m.name for m in running]
        text = run_vagrant(run, ["ssh-config", *names], directory)
        configs = {c.name: c for c in parse_ssh_config(text)}
        for name in names:
            if name not in configs:
                raise VagrantError(f"`vagrant ssh-config` printed no 'Host {name}' block")
    dotdir = _dot_vagrant(directory)
    hosts: list[LabHost] = []
    for machine in running:
        config = configs[machine.name]
        if config.proxy_command is not None:
            left_out.append(
                LeftOut(
                    machine.name,
                    "reached through a ProxyCommand, which an inventory cannot hold",
                    f"to reach it, add `vagrant ssh-config {machine.name}` to ~/.ssh/config",
                )
            )
            continue
        hosts.append(_lab_host(machine, config, options, dotdir, probe))
    if not hosts:
        why = "; ".join(map(str, left_out)) or "no machine"
        raise VagrantError(f"no running machine to put in an inventory: {why}")
    for host in hosts:
        if host.name in _RESERVED_NAMES:
            raise VagrantError(
                f"machine {host.name!r} has the name of an inventory group; rename it in the "
                "Vagrantfile"
            )
    known_hosts = options.known_hosts or _default_known_hosts(options.output, dotdir)
    if options.output is not None:
        out_dir = options.output.absolute().parent
        reference = os.path.relpath(known_hosts.absolute(), out_dir)
    else:
        reference = str(known_hosts.absolute())
    outcome = Outcome(
        hosts=hosts,
        left_out=left_out,
        inventory=_render(hosts, left_out, options, reference),
        output=options.output,
        known_hosts=known_hosts,
    )
    _forget_rebuilt(outcome, _previous(options.output))
    return outcome


def write(outcome: Outcome) -> None:
    """Write the known_hosts changes, then the inventory file (unless it goes to stdout)."""
    try:
        if outcome.known_hosts_text is not None:
            write_atomically(outcome.known_hosts, outcome.known_hosts_text, 0o600)
        if outcome.output is not None:
            write_atomically(outcome.output, outcome.inventory, 0o644)
    except OSError as err:
        raise VagrantError(f"cannot write {err.filename or 'a file'}: {err.strerror}") from None


# --- steps -------------------------------------------------------------------------


def _check_directory(directory: Path) -> None:
    if not directory.is_dir():
        raise VagrantError(f"{directory} is not a directory (--dir: where the Vagrantfile is)")
    names = [os.environ.get("VAGRANT_VAGRANTFILE") or "Vagrantfile", "vagrantfile"]
    if not any((directory / name).is_file() for name in names):
        hint = ""
        if (directory / "vagrant" / "Vagrantfile").is_file():
            hint = f"; did you mean --dir {directory / 'vagrant'}?"
        raise VagrantError(
            f"{directory} is not a Vagrant directory: it has no {names[0]} "
            f"(--dir names the directory of the Vagrantfile){hint}"
        )


def _check_ours(output: Path) -> None:
    # Never overwrite an inventory someone wrote by hand.
    try:
        with output.open(encoding="utf-8", errors="replace") as f:
            first = f.readline()
    except FileNotFoundError:
        return
    except OSError as err:
        raise VagrantError(f"cannot read {output}: {err.strerror}") from None
    if not first.startswith(MARKER):
        raise VagrantError(
            f"{output} exists and was not written by `provision inventory from-vagrant`; "
            "move it away or choose another -o"
        )


def _limited(machines: list[MachineStatus], limit: str | None) -> list[MachineStatus]:
    if not limit:
        return machines
    names = [m.name for m in machines]
    try:
        chosen = set(match_hosts(limit, names, {"all": names}, implicit_localhost=False))
    except InventoryError as err:
        raise VagrantError(f"--limit: {err.message}") from None
    if not chosen:
        raise VagrantError(
            f"--limit {limit!r} matches no Vagrant machine (the machines: {', '.join(names)})"
        )
    return [m for m in machines if m.name in chosen]


def _dot_vagrant(directory: Path) -> Path:
    # Where Vagrant keeps its machine data; VAGRANT_DOTFILE_PATH moves it.
    return directory / os.environ.get("VAGRANT_DOTFILE_PATH", ".vagrant")


def _machine_id(dotdir: Path, name: str, provider: str | None) -> str | None:
    """The provider's id of the machine (a new one after destroy + up), if readable."""
    base = dotdir / "machines" / name
    candidates = [base / provider / "id"] if provider else sorted(base.glob("*/id"))
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
        if text:
            return text
    return None


def _lab_host(
    machine: MachineStatus,
    config: SSHConfigHost,
    options: Options,
    dotdir: Path,
    probe: AddressProbe,
) -> LabHost:
    keys = config.identity_files
    # Vagrant may list several keys; an inventory holds one: the first that exists.
    ssh_key = next((k for k in keys if os.path.isfile(os.path.expanduser(k))), None)
    ssh_key = ssh_key or (keys[0] if keys else None)
    address, port = config.hostname, config.port
    if options.via == "private-network":
        address, port = _private_address(machine.name, config, ssh_key, options.network, probe)
    return LabHost(
        name=machine.name,
        address=address,
        port=port,
        user=config.user,
        ssh_key=ssh_key,
        provider=machine.provider,
        machine_id=_machine_id(dotdir, machine.name, machine.provider),
    )


def _private_address(
    name: str,
    config: SSHConfigHost,
    ssh_key: str | None,
    network: IPv4Network,
    probe: AddressProbe,
) -> tuple[str, int]:
    found = parse_addresses(config.hostname)
    if found and found[0] in network:
        return config.hostname, config.port  # the provider already reports it (libvirt)
    target = ProbeTarget(name, config.hostname, config.port, config.user, ssh_key)
    try:
        output = probe(target)
    except (ProvisionError, ProbeFailed) as err:
        raise VagrantError(
            f"{name}: cannot ask it for its address on {network} over SSH "
            f"({config.hostname}:{config.port}): {err}; "
            "use --via forwarded-port, or pass --network"
        ) from None
    addresses = parse_addresses(output)
    chosen = pick_address(addresses, network)
    if chosen is None:
        has = ", ".join(map(str, addresses)) or "none"
        raise VagrantError(
            f"{name} has no address in {network} (its IPv4 addresses: {has}); "
            "pass --network with the private network's range, or use --via forwarded-port"
        )
    return str(chosen), 22


def _default_known_hosts(output: Path | None, dotdir: Path) -> Path:
    if output is None:
        return dotdir / "provisioner.known_hosts"
    return output.with_suffix(".known_hosts")


def _render(
    hosts: Sequence[LabHost], left_out: Sequence[LeftOut], options: Options, known_hosts: str
) -> str:
    lines = [
        f"{MARKER} from the Vagrant machines in",
        f"# {options.directory.absolute()} (--via {options.via}).",
        "# Write it again after `vagrant up`, `reload` or `destroy`; edits made here are lost.",
        "# Host keys are accepted on first use into the known_hosts file below; writing",
        "# this file again forgets there the old key of a machine that was rebuilt.",
    ]
    if left_out:
        lines.append("# Left out:")
        lines.extend(f"#   {' '.join(str(item).split())}" for item in left_out)
    host_vars: dict[str, dict[str, Any]] = {}
    for host in hosts:
        entry: dict[str, Any] = {"host": host.address, "port": host.port}
        if host.user:
            entry["user"] = host.user
        if host.ssh_key:
            entry["ssh_key"] = host.ssh_key
        if host.machine_id:
            entry["vagrant_machine_id"] = host.machine_id
        if host.provider:
            entry["vagrant_provider"] = host.provider
        host_vars[host.name] = entry
    doc = {
        "all": {
            "children": {
                GROUP: {
                    "vars": {"host_key_checking": "accept-new", "known_hosts": known_hosts},
                    "hosts": host_vars,
                }
            }
        }
    }
    body = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, allow_unicode=True)
    return "\n".join(lines) + "\n" + body


@dataclass(frozen=True)
class _Previous:
    machine_id: str | None
    names: frozenset[str]  # known_hosts names it used


def _previous(output: Path | None) -> dict[str, _Previous]:
    """The hosts of the inventory written last time (none if there is none to read)."""
    if output is None or not output.is_file():
        return {}
    try:
        inv = load_inventory(output)
    except InventoryError:
        return {}  # unreadable: nothing can be vouched for, every key is forgotten
    out: dict[str, _Previous] = {}
    for name, host in inv.hosts.items():
        machine_id = host.vars.get("vagrant_machine_id")
        spec = host.connection
        out[name] = _Previous(
            str(machine_id) if machine_id is not None else None,
            frozenset({known_hosts_name(spec.address, spec.port)}),
        )
    return out


def _forget_rebuilt(outcome: Outcome, previous: dict[str, _Previous]) -> None:
    path = outcome.known_hosts
    try:
        original = path.read_text(encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        return
    except OSError as err:
        raise VagrantError(f"cannot read {path}: {err.strerror}") from None
    owners = {name: host for host, prev in previous.items() for name in prev.names}
    doomed: list[str] = []
    for host in outcome.hosts:
        name = host.known_hosts_name
        reason = _why_forget(host, previous.get(host.name), owners.get(name))
        if reason is None:
            continue
        _, lines = forget_names(original, [name])  # line numbers of the file as it is
        if lines:
            outcome.forgotten.append(Forgotten(host.name, name, reason, tuple(lines)))
            doomed.append(name)
    if doomed:
        outcome.known_hosts_text = forget_names(original, doomed)[0]


def _why_forget(host: LabHost, before: _Previous | None, owner: str | None) -> str | None:
    """Why the known key of `host`'s address cannot be trusted any more; None if it can."""
    if host.machine_id is None:
        return "its Vagrant machine id is unknown, so it may have been rebuilt"
    if before is None:
        return "the previous inventory did not list it"
    if owner is not None and owner != host.name:
        return f"that address was {owner}'s in the previous inventory"
    if host.known_hosts_name not in before.names:
        return "its address changed"
    if before.machine_id is None:
        return "the previous inventory has no machine id for it"
    if before.machine_id != host.machine_id:
        return "the machine was rebuilt (its Vagrant machine id changed)"
    return None
