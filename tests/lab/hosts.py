"""One lab host: an overlay root, its own ssh host keys, and systemd booted by systemd-nspawn.

A host's identity (ssh host keys, machine-id) is made before its first boot and cached in
/var/cache/provisioner-lab/identities/NAME/, so it survives `reset` and even `down`/`up`:
known_hosts lines stay valid, as with real machines. Per host, under .lab/hosts/NAME/:
  upper/ work/        the overlay's writable layer (wiped by `reset`)
  merged/             the host's root filesystem (overlay of the shared lower dir)
  boot.sh             the reboot loop: boots again while nspawn exits 133 (a reboot)
  console.log         what the host's console printed
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from . import cgroups, ssh
from .config import BOOT_TIMEOUT, CACHE_DIR, HOSTS_DIR, STOP_TIMEOUT, netns_name, veth_name
from .state import HostState, Process
from .system import LabError, log, pid_start_time, run, same_process, spawn_detached, terminate

KEY_TYPES = ("rsa", "ecdsa", "ed25519")
USER_HOMES = ("root", "home/student", "home/teacher")


def new_state(name: str, index: int, ip: str) -> HostState:
    directory = HOSTS_DIR / name
    return HostState(
        name=name,
        index=index,
        ip=ip,
        netns=netns_name(name),
        veth=veth_name(name),
        dir=str(directory),
        merged=str(directory / "merged"),
    )


def _dir(host: HostState) -> Path:
    return Path(host.dir)


def identity_dir(host: HostState) -> Path:
    return CACHE_DIR / "identities" / host.name


def make_identity(host: HostState) -> None:
    """ssh host keys (rsa, ecdsa, ed25519) and machine-id of a host, unless cached."""
    final = identity_dir(host)
    if final.exists():
        return
    tmp = final.with_name(f".{host.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "etc/ssh").mkdir(parents=True)
    run(["ssh-keygen", "-A", "-f", tmp])
    (tmp / "machine-id").write_text(uuid.uuid4().hex + "\n")
    tmp.rename(final)


def known_hosts_lines(host: HostState) -> list[str]:
    lines = []
    for kind in KEY_TYPES:
        pub = identity_dir(host) / f"etc/ssh/ssh_host_{kind}_key.pub"
        key_type, key = pub.read_text().split()[:2]
        lines.append(f"{host.ip} {key_type} {key}")
    return lines


def mount(host: HostState, lower: Path) -> None:
    d = _dir(host)
    for sub in ("upper", "work", "merged"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    if not os.path.ismount(host.merged):
        options = f"lowerdir={lower},upperdir={d / 'upper'},workdir={d / 'work'}"
        run(["mount", "-t", "overlay", "overlay", "-o", options, host.merged])


def unmount(host: HostState) -> None:
    if os.path.ismount(host.merged):
        run(["umount", host.merged], check=False)
    if os.path.ismount(host.merged):
        run(["umount", "-l", host.merged], check=False)


def wipe(host: HostState) -> None:
    """Forget everything the host wrote (its upper layer); keep its identity."""
    unmount(host)
    for sub in ("upper", "work"):
        path = _dir(host) / sub
        if path.exists():
            shutil.rmtree(path)


def personalise(host: HostState, authorized_key: str) -> None:
    """Write what makes this host itself into its root: names, host keys, authorized keys."""
    root = Path(host.merged)
    (root / "etc/hostname").write_text(host.name + "\n")
    with open(root / "etc/hosts", "a") as hosts:
        hosts.write(f"{host.ip}  {host.name}\n")
    machine_id = root / "etc/machine-id"
    machine_id.unlink()
    shutil.copy(identity_dir(host) / "machine-id", machine_id)
    machine_id.chmod(0o444)
    for src in (identity_dir(host) / "etc/ssh").iterdir():
        dest = root / "etc/ssh" / src.name
        shutil.copy(src, dest)
        dest.chmod(0o600 if not src.name.endswith(".pub") else 0o644)
    for home in USER_HOMES:
        ssh_dir = root / home / ".ssh"
        owner = ssh_dir.stat()
        keys = ssh_dir / "authorized_keys"
        keys.write_text(authorized_key.strip() + "\n")
        keys.chmod(0o600)
        os.chown(keys, owner.st_uid, owner.st_gid)


def _boot_script(host: HostState) -> str:
    nspawn = [
        # The host's own network namespace is its to tune, as a real host's is: net.*
        # sysctls writable (the rest of /proc/sys stays read-only) and CAP_NET_ADMIN,
        # which writing them needs. Nothing of the controller's is in that namespace.
        "env",
        "SYSTEMD_NSPAWN_API_VFS_WRITABLE=network",
        "systemd-nspawn",
        "--boot",
        "--register=no",
        "--keep-unit",
        "--directory",
        host.merged,
        f"--machine={host.name}",
        f"--network-namespace-path=/run/netns/{host.netns}",
        "--resolv-conf=off",
        "--timezone=off",
        "--link-journal=no",
        "--console=read-only",
        "--capability=CAP_NET_ADMIN",
    ]
    enter = cgroups.enter_script(host.cgroups)
    inner = shlex.quote(enter + 'exec "$@"')
    return f"""#!/bin/sh
# Boot loop of lab host {host.name}: systemd-nspawn exits 133 when the host reboots.
child=
trap 'if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; wait "$child"; fi; exit 0' TERM INT
while :; do
  sh -c {inner} sh {shlex.join(nspawn)} &
  child=$!
  wait "$child"
  rc=$?
  [ "$rc" -eq 133 ] || exit "$rc"
  echo "=== {host.name} reboots ==="
done
"""


def start(host: HostState) -> Process:
    """Boot the host (overlay mounted, personalised); return the boot loop's process."""
    host.cgroups = cgroups.create(host.name)
    host.supervisor_cgroups = cgroups.create(f"{host.name}.sup")
    script = _dir(host) / "boot.sh"
    script.write_text(_boot_script(host))
    pid = spawn_detached(["sh", script], host.supervisor_cgroups, _dir(host) / "console.log")
    return Process(pid=pid, start_time=pid_start_time(pid))


def is_running(host: HostState) -> bool:
    sup = host.supervisor
    return sup is not None and same_process(sup.pid, sup.start_time)


def wait_ready(host: HostState, timeout: float = BOOT_TIMEOUT) -> str:
    """Wait until sshd answers with the host's known key and systemd finished booting.

    Returns systemd's state ("running"; "degraded" if a unit failed, which is logged).
    """
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if host.supervisor is not None and not is_running(host):
            raise LabError(f"{host.name} stopped while booting; see {host.dir}/console.log")
        remaining = max(1.0, deadline - time.monotonic())
        try:
            proc = ssh.run(
                host.ip,
                "systemctl is-system-running --wait",
                connect_timeout=2,
                timeout=remaining,
            )
        except subprocess.TimeoutExpired:
            break
        state = proc.stdout.strip()
        if state in ("running", "degraded"):
            if state == "degraded":
                failed = ssh.run(host.ip, "systemctl --failed --no-legend --plain").stdout
                log.warning("%s booted degraded; failed units:\n%s", host.name, failed)
            return state
        last = (proc.stderr or proc.stdout).strip()
        time.sleep(0.1)
    raise LabError(f"{host.name} ({host.ip}) not ready after {timeout:.0f} s: {last}")


def stop(host: HostState, timeout: float = STOP_TIMEOUT) -> None:
    """Shut the host down (SIGTERM: a clean halt; SIGKILL after `timeout`), then make sure
    nothing is left in its cgroups and remove them."""
    all_cgroups = [*host.cgroups, *host.supervisor_cgroups]
    existing = [d for d in all_cgroups if Path(d).exists()]
    if existing:
        try:
            cgroups.set_frozen(existing, False)
        except (LabError, OSError):
            pass
    if host.supervisor is not None and is_running(host):
        terminate([host.supervisor.pid], timeout)
    cgroups.kill_all(existing)
    cgroups.remove(existing)
    host.supervisor = None


def init_pid(host: HostState) -> int:
    """The host's systemd (PID 1 inside), as a PID of the controller."""
    for directory in host.cgroups:
        pids = cgroups.pids_in(Path(directory) / "payload" / "init.scope")
        if pids:
            return pids[0]
        for pid in cgroups.pids_in(Path(directory) / "payload"):
            if Path(f"/proc/{pid}/comm").read_text().strip() == "systemd":
                return pid
    raise LabError(f"{host.name} is not running (no systemd in its cgroup)")


def nsenter(host: HostState, command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a command inside the host from outside (all its namespaces), not over ssh."""
    return run(["nsenter", "-t", str(init_pid(host)), "-a", *command], check=False)
