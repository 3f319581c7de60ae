"""SSHConnection against a real OpenSSH sshd on 127.0.0.1 (lab: needs root and sshd).

Each sshd is started by a fixture with its own config, host key, authorized
keys and pid file in the test's tmp dir, listens on a free loopback port, and
is stopped by its PID at the end. CI needs Debian's `openssh-server` (and
`sudo` for the become tests).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko
import pytest

from provisioner.connect import Connector
from provisioner.errors import (
    AuthError,
    BecomeError,
    CommandTimeout,
    ConnectError,
    HostKeyError,
    OutputTooLarge,
    TimeoutError_,
)
from provisioner.inventory import load_inventory
from provisioner.transport import ssh as ssh_transport
from provisioner.transport.base import Become, Result
from provisioner.transport.ssh import SSHConnection, SSHSettings
from tests.sshd import SSHD, free_port, keygen, launch, stop
from tests.unit.transport.odd_scripts import ODD_SCRIPTS

# CI sets PROVISIONER_LAB_REQUIRED=1: there a missing sshd or root is a failure, not a skip.
_REQUIRED = os.environ.get("PROVISIONER_LAB_REQUIRED") == "1"
pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(
        not _REQUIRED and not os.path.exists(SSHD), reason="needs openssh-server (sshd)"
    ),
    pytest.mark.skipif(not _REQUIRED and os.geteuid() != 0, reason="needs root"),
]


@dataclass
class Sshd:
    port: int
    dir: Path
    host_pub: str  # "ssh-ed25519 AAAA..."
    client_key: Path
    proc: subprocess.Popen[bytes]

    @property
    def log(self) -> str:
        return (self.dir / "sshd.log").read_text(errors="replace")

    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.host_pub}\n"


def start_sshd(base: Path, *, sftp: bool = True, extra: str = "") -> Sshd:
    base.mkdir(parents=True, exist_ok=True)
    host_pub = keygen(base / "host_ed25519")
    client_pub = keygen(base / "id_client")
    keys_dir = base / "authorized_keys"
    keys_dir.mkdir()
    (keys_dir / "root").write_text(client_pub + "\n")
    port = free_port()
    config = base / "sshd_config"
    config.write_text(
        f"""
HostKey {base}/host_ed25519
PidFile {base}/sshd.pid
AuthorizedKeysFile {keys_dir}/%u .ssh/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding yes
LogLevel VERBOSE
MaxStartups 50
{"Subsystem sftp internal-sftp" if sftp else ""}
{extra}
"""
    )
    proc = launch(config, base / "sshd.log", "127.0.0.1", port)
    return Sshd(port, base, host_pub, base / "id_client", proc)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME and no agent: only what a test gives is used."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return h


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    server = start_sshd(tmp_path / "sshd")
    yield server
    stop(server.proc)


@pytest.fixture
def known_hosts(tmp_path: Path, sshd: Sshd) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text(sshd.known_hosts_line())
    return path


Connect = Callable[..., SSHConnection]


@pytest.fixture
def connect(home: Path, sshd: Sshd, known_hosts: Path) -> Iterator[Connect]:
    made: list[SSHConnection] = []

    def make(**kw: Any) -> SSHConnection:
        base: dict[str, Any] = {
            "name": "loop",
            "address": "127.0.0.1",
            "port": sshd.port,
            "user": "root",
            "key_filename": str(sshd.client_key),
            "known_hosts": str(known_hosts),
            "connect_timeout": 5.0,
            "ssh_config": None,
        }
        base.update(kw)
        conn = SSHConnection(SSHSettings(**base))
        made.append(conn)
        return conn

    yield make
    for c in made:
        c.close()


def test_key_auth_with_strict_known_hosts(connect: Connect) -> None:
    conn = connect()
    res = conn.run('id -un; echo "$LC_ALL"; echo err >&2; exit 3')
    assert res == Result(3, "root\nC\n", "err\n")


@pytest.mark.parametrize(("script", "expected"), ODD_SCRIPTS)
def test_odd_scripts_over_ssh(connect: Connect, script: str, expected: str) -> None:
    assert connect().run(script) == Result(0, expected, "")


def test_one_connection_is_reused(connect: Connect, sshd: Sshd) -> None:
    conn = connect()
    first = conn.run("echo $SSH_CONNECTION").stdout
    for _ in range(5):
        assert conn.run("echo $SSH_CONNECTION").stdout == first
    conn.put(b"x", "/tmp/provisioner-reuse-test")
    assert sshd.log.count("Accepted publickey") == 1


def test_put_and_mode(connect: Connect, tmp_path: Path) -> None:
    conn = connect()
    target = tmp_path / "remote" / "file"
    target.parent.mkdir()
    conn.put(b"secret\n", str(target))
    assert target.read_bytes() == b"secret\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    big = os.urandom(3_000_000)
    conn.put(big, str(target), mode=0o644)
    assert target.read_bytes() == big
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert (
        conn.run(f"sha256sum {target}").stdout.split()[0]
        == __import__("hashlib").sha256(big).hexdigest()
    )


def test_put_failure(connect: Connect, tmp_path: Path) -> None:
    from provisioner.errors import WriteError

    with pytest.raises(WriteError, match="cannot write .*/missing/f"):
        connect().put(b"x", str(tmp_path / "missing" / "f"))


def test_big_output_on_both_streams(connect: Connect) -> None:
    res = connect().run("head -c 3000000 /dev/zero | tr '\\0' a; head -c 2000000 /dev/zero >&2")
    assert len(res.stdout) == 3_000_000 and set(res.stdout) == {"a"}
    assert len(res.stderr) == 2_000_000


def test_a_flood_of_output_is_cut_off_and_the_connection_stays_usable(
    connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ssh_transport, "MAX_OUTPUT", 4 << 20)  # 64 MiB takes longer to send
    conn = connect()
    with pytest.raises(OutputTooLarge, match="sent more than 4 MiB of output: cut off"):
        conn.run("cat /dev/zero")  # never ends by itself
    assert conn.run("echo still here").stdout == "still here\n"


def test_big_stdin_while_output_flows(connect: Connect) -> None:
    data = os.urandom(2_000_000)
    res = connect().run("cat; cat /dev/null >&2; echo end >&2", stdin=data)
    # would deadlock if stdin were sent before output is read
    assert len(res.stdout) > 1_000_000 and res.stderr == "end\n"
    res = connect().run("wc -c", stdin=data)
    assert res.stdout.strip() == "2000000"


def test_on_output_gets_stdout_as_it_comes(connect: Connect, tmp_path: Path) -> None:
    """The first line arrives while the command still runs: it waits for a file (sshd is
    on this machine) that the test makes only once it was handed that line."""
    go = tmp_path / "go"
    chunks: list[bytes] = []

    def seen(chunk: bytes) -> None:
        chunks.append(chunk)
        if b"first" in b"".join(chunks):
            go.touch()

    script = f"echo first; while [ ! -e {go} ]; do sleep 0.05; done; echo second; echo e >&2"
    res = connect().run(script, on_output=seen, timeout=30)
    assert res == Result(0, "first\nsecond\n", "e\n")
    assert b"".join(chunks) == b"first\nsecond\n"


def test_on_output_ticks_while_the_command_is_quiet(connect: Connect, tmp_path: Path) -> None:
    """b"" now and then while nothing comes (a line a rate limit held back may go then):
    the command waits for a file the test makes at the first tick."""
    go = tmp_path / "go"
    chunks: list[bytes] = []

    def seen(chunk: bytes) -> None:
        chunks.append(chunk)
        if chunk == b"":
            go.touch()

    script = f"while [ ! -e {go} ]; do sleep 0.05; done; echo done"
    res = connect().run(script, on_output=seen, timeout=30)
    assert res.stdout == "done\n" and b"".join(chunks) == b"done\n"


def test_timeout_then_still_usable(connect: Connect) -> None:
    conn = connect()
    with pytest.raises(TimeoutError_, match="did not finish within 1s"):
        conn.run("sleep 30", timeout=1)
    assert conn.run("echo ok", timeout=5).stdout == "ok\n"


def test_a_command_past_its_timeout_is_stopped_on_the_host(
    connect: Connect, tmp_path: Path
) -> None:
    conn = connect()
    mark = tmp_path / "never"
    with pytest.raises(CommandTimeout, match="within 1s and was stopped there") as caught:
        conn.run(f"sleep 30.5117; touch {mark}", timeout=1)
    assert caught.value.stopped
    assert conn.run("pgrep -f '^sleep 30.5117$' || echo gone").stdout == "gone\n"
    assert not mark.exists()


def test_dropped_connection_mid_command_then_reconnect(connect: Connect) -> None:
    conn = connect()
    kill_my_session = (
        "p=$PPID; while :; do case $(cat /proc/$p/comm) in sshd*) break;; esac; "
        "p=$(cut -d' ' -f4 /proc/$p/stat); done; kill -9 $p; sleep 10"
    )
    with pytest.raises(ConnectError, match="lost"):
        conn.run(kill_my_session, timeout=20)
    assert conn.run("echo back").stdout == "back\n"


def test_connection_refused_on_closed_port(connect: Connect) -> None:
    port = free_port()
    with pytest.raises(ConnectError, match=f"refused by 127.0.0.1:{port}"):
        connect(port=port).run("true")


def test_unknown_host_key_strict_refused(connect: Connect, tmp_path: Path) -> None:
    empty = tmp_path / "empty_known_hosts"
    with pytest.raises(HostKeyError, match="not known"):
        connect(known_hosts=str(empty)).run("true")
    assert not empty.exists()


def test_changed_host_key_refused(connect: Connect, sshd: Sshd, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong_known_hosts"
    other = paramiko.ECDSAKey.generate()
    wrong.write_text(
        f"[127.0.0.1]:{sshd.port} {other.get_name()} {other.get_base64()}\n"
        f"[127.0.0.1]:{sshd.port} ssh-ed25519 {paramiko.ECDSAKey.generate().get_base64()}\n"
    )
    real_fp = subprocess.run(
        ["ssh-keygen", "-lf", str(sshd.dir / "host_ed25519.pub")], capture_output=True, text=True
    ).stdout.split()[1]
    for policy in ("strict", "accept-new"):
        with pytest.raises(HostKeyError) as exc:
            connect(known_hosts=str(wrong), host_key_policy=policy).run("true")
        msg = str(exc.value)
        assert "CHANGED" in msg and real_fp in msg and f"{wrong}:2" in msg
    # off: anything goes, nothing saved
    before = wrong.read_text()
    assert connect(known_hosts=str(wrong), host_key_policy="off").run("echo in").stdout == "in\n"
    assert wrong.read_text() == before


def test_accept_new_writes_known_hosts(connect: Connect, sshd: Sshd, tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "known_hosts"
    assert connect(known_hosts=str(path), host_key_policy="accept-new").run("true").ok
    assert path.read_text() == sshd.known_hosts_line()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # OpenSSH's own client agrees with what was written
    out = subprocess.run(
        ["ssh-keygen", "-F", f"[127.0.0.1]:{sshd.port}", "-f", str(path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0
    assert connect(known_hosts=str(path), host_key_policy="strict").run("true").ok


def test_accept_new_defaults_to_user_known_hosts(connect: Connect, sshd: Sshd, home: Path) -> None:
    conn = connect(known_hosts=None, host_key_policy="accept-new")
    assert conn.run("true").ok
    assert (home / ".ssh" / "known_hosts").read_text() == sshd.known_hosts_line()
    assert stat.S_IMODE((home / ".ssh").stat().st_mode) == 0o700


def test_a_labs_own_known_hosts_is_not_vetoed_by_the_users(
    connect: Connect, sshd: Sshd, home: Path, tmp_path: Path
) -> None:
    """A rebuilt VM on a reused 127.0.0.1 port: a stale line in ~/.ssh/known_hosts blocks
    it, unless the connection answers to the lab's own file alone (from-vagrant's case)."""
    stale = paramiko.ECDSAKey.generate()
    (home / ".ssh").mkdir(mode=0o700, exist_ok=True)
    user_file = home / ".ssh" / "known_hosts"
    user_file.write_text(f"[127.0.0.1]:{sshd.port} {stale.get_name()} {stale.get_base64()}\n")
    lab_file = tmp_path / "lab.known_hosts"
    with pytest.raises(HostKeyError, match="CHANGED"):
        connect(known_hosts=str(lab_file), host_key_policy="accept-new").run("true")
    only = connect(known_hosts=str(lab_file), host_key_policy="accept-new", known_hosts_only=True)
    assert only.run("true").ok
    assert lab_file.read_text() == sshd.known_hosts_line()
    assert stale.get_base64() in user_file.read_text(), "the user's file is left alone"


def test_wrong_key_is_an_auth_error(connect: Connect, tmp_path: Path) -> None:
    keygen(tmp_path / "id_other")
    with pytest.raises(AuthError) as exc:
        connect(key_filename=str(tmp_path / "id_other")).run("true")
    msg = str(exc.value)
    assert "'root'" in msg and "id_other" in msg and "authorized_keys" in msg


def test_no_credentials_is_an_auth_error(connect: Connect) -> None:
    with pytest.raises(AuthError, match="failed"):
        connect(key_filename=None).run("true")


def test_ssh_config_and_proxyjump(connect: Connect, sshd: Sshd, home: Path) -> None:
    (home / ".ssh").mkdir()
    (home / ".ssh" / "config").write_text(
        f"""
Host target
    HostName 127.0.0.1
    Port {sshd.port}
    User root
    IdentityFile {sshd.client_key}
    ProxyJump jumpbox

Host chain
    HostName 127.0.0.1
    Port {sshd.port}
    User root
    IdentityFile {sshd.client_key}
    ProxyJump jumpbox,root@127.0.0.1:{sshd.port}

Host jumpbox
    HostName 127.0.0.1
    Port {sshd.port}
    User root
    IdentityFile {sshd.client_key}

Host 127.0.0.1
    IdentityFile {sshd.client_key}
"""
    )
    before = sshd.log.count("Accepted publickey")
    conn = connect(
        address="target", port=22, user=None, key_filename=None, ssh_config="~/.ssh/config"
    )
    assert conn.run("id -un").stdout == "root\n"
    assert sshd.log.count("Accepted publickey") == before + 2  # the jump host, then the target
    conn.put(b"via jump", "/tmp/provisioner-jump-test")
    assert Path("/tmp/provisioner-jump-test").read_bytes() == b"via jump"
    os.unlink("/tmp/provisioner-jump-test")
    chain = connect(
        address="chain", port=22, user=None, key_filename=None, ssh_config="~/.ssh/config"
    )
    assert chain.run("echo two hops").stdout == "two hops\n"
    assert sshd.log.count("Accepted publickey") == before + 5


def need_tools(*tools: str) -> None:
    """Skip without these tools, except where CI requires the lab tests to run."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        message = f"needs {' and '.join(missing)} (Debian: apt-get install sudo passwd)"
        if _REQUIRED:
            pytest.fail(message)
        pytest.skip(message)


def test_become_without_password(connect: Connect) -> None:
    need_tools("sudo")
    res = connect().run("id -un; echo $LC_ALL", become=Become("nobody"))
    assert res == Result(0, "nobody\nC\n", "")


@pytest.fixture
def sftpless(tmp_path: Path, home: Path) -> Iterator[Sshd]:
    server = start_sshd(tmp_path / "nosftp", sftp=False)
    yield server
    stop(server.proc)


def test_put_falls_back_to_cat_without_sftp(sftpless: Sshd, tmp_path: Path) -> None:
    kh = tmp_path / "kh"
    kh.write_text(sftpless.known_hosts_line())
    conn = SSHConnection(
        SSHSettings(
            name="nosftp",
            address="127.0.0.1",
            port=sftpless.port,
            user="root",
            key_filename=str(sftpless.client_key),
            known_hosts=str(kh),
            ssh_config=None,
        )
    )
    try:
        target = tmp_path / "out"
        data = os.urandom(500_000)
        conn.put(data, str(target), mode=0o640)
        assert target.read_bytes() == data
        assert stat.S_IMODE(target.stat().st_mode) == 0o640
        conn.put(b"again", str(target), mode=0o400)  # read-only mode still writable once
        assert target.read_bytes() == b"again"
        assert stat.S_IMODE(target.stat().st_mode) == 0o400
    finally:
        conn.close()


# --- sudo with a password: a throwaway user who must give one -----------------

SUDO_USER = "provsshtest"
SUDO_PASSWORD = "it's a 'secret' $(pass)"


@pytest.fixture
def sudo_user(sshd: Sshd) -> Iterator[str]:
    need_tools("sudo", "useradd")
    subprocess.run(["userdel", "-r", SUDO_USER], capture_output=True)
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", SUDO_USER], check=True)
    sudoers = Path(f"/etc/sudoers.d/{SUDO_USER}")
    try:
        subprocess.run(["chpasswd"], input=f"{SUDO_USER}:{SUDO_PASSWORD}".encode(), check=True)
        sudoers.write_text(f"{SUDO_USER} ALL=(ALL) ALL\n")
        sudoers.chmod(0o440)
        # sshd reads the user's keys as that user, who cannot enter our tmp dir
        pub = sshd.client_key.with_suffix(".pub").read_text()
        subprocess.run(
            [
                "runuser",
                "-u",
                SUDO_USER,
                "--",
                "sh",
                "-c",
                "mkdir -p ~/.ssh && cat > ~/.ssh/authorized_keys",
            ],
            input=pub.encode(),
            check=True,
        )
        yield SUDO_USER
    finally:
        sudoers.unlink(missing_ok=True)
        # sshd's session processes end just after the client closes: retry a little
        for _ in range(50):
            gone = subprocess.run(["userdel", "-r", SUDO_USER], capture_output=True)
            if gone.returncode in (0, 6):  # 6: no such user
                break
            time.sleep(0.1)


def test_become_with_password(sudo_user: str, connect: Connect, sshd: Sshd) -> None:
    # sudo_user first: its teardown (userdel) then runs after the connection is closed
    conn = connect(user=sudo_user)
    assert conn.run("id -un").stdout == f"{sudo_user}\n"
    res = conn.run("id -un; cat; echo end", become=Become("root", SUDO_PASSWORD))
    assert res == Result(0, "root\nend\n", "")
    with pytest.raises(BecomeError, match="needs a password") as exc1:
        conn.run("true", become=Become("root"))
    with pytest.raises(BecomeError, match="rejected") as exc2:
        conn.run("true", become=Become("root", "wrong " + SUDO_PASSWORD))
    for e in (exc1.value, exc2.value):
        assert e.host == "loop" and SUDO_PASSWORD not in str(e)
    assert SUDO_PASSWORD not in sshd.log
    # the connection survives sudo refusals
    assert conn.run("echo still").stdout == "still\n"


def test_become_login_user_needs_no_sudo(connect: Connect) -> None:
    # root logging in as root: no sudo, so stdin is the script's
    res = connect().run("id -un; cat", become=Become("root"), stdin=b"in")
    assert res == Result(0, "root\nin", "")


def test_hosts_in_parallel_threads(connect: Connect, tmp_path: Path) -> None:
    conns = [connect(name=f"h{i}") for i in range(4)]

    def work(i: int) -> list[str]:
        c = conns[i]
        out = []
        for j in range(10):
            c.put(f"{i}-{j}".encode(), str(tmp_path / f"f{i}"))
            out.append(c.run(f"cat {tmp_path}/f{i}; echo").stdout)
        return out

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4)))
    assert results == [[f"{i}-{j}\n" for j in range(10)] for i in range(4)]


@pytest.mark.parametrize("kind", ["ecdsa", "rsa"])
def test_known_key_type_is_asked_for_first(
    kind: str, tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server has ed25519 and another key; known_hosts lists only the other one."""
    extra_dir = tmp_path / "extra"
    extra_dir.mkdir()
    pub = keygen(extra_dir / f"host_{kind}", kind)
    server = start_sshd(tmp_path / "two_keys", extra=f"HostKey {extra_dir}/host_{kind}")
    try:
        kh = tmp_path / "kh"
        kh.write_text(f"[127.0.0.1]:{server.port} {pub}\n")
        conn = SSHConnection(
            SSHSettings(
                name="two",
                address="127.0.0.1",
                port=server.port,
                user="root",
                key_filename=str(server.client_key),
                known_hosts=str(kh),
                ssh_config=None,
            )
        )
        try:
            assert conn.run("echo ok").stdout == "ok\n"
        finally:
            conn.close()
    finally:
        stop(server.proc)


# --- the inventory's ssh options against real sshds ------------------------------------


@pytest.fixture
def jump(tmp_path: Path, sshd: Sshd) -> Iterator[Sshd]:
    """A second sshd, the jump host: it takes the first one's client key too."""
    server = start_sshd(tmp_path / "jump")
    with open(server.dir / "authorized_keys" / "root", "a") as keys:
        keys.write(sshd.client_key.with_suffix(".pub").read_text())
    yield server
    stop(server.proc)


def inventory_for(tmp_path: Path, target: Sshd, jump: Sshd, common_args: str) -> Path:
    """An inventory of one host, `target`, whose only route is in ansible_ssh_common_args."""
    folder = tmp_path / "inventory"
    folder.mkdir()
    (folder / "known_hosts").write_text(target.known_hosts_line() + jump.known_hosts_line())
    path = folder / "hosts.yml"
    path.write_text(
        f"""\
all:
  hosts:
    target:
      ansible_host: 127.0.0.1
      ansible_port: {target.port}
      ansible_user: root
      ansible_ssh_private_key_file: {target.client_key}
      known_hosts: known_hosts
      ansible_ssh_common_args: {common_args}
"""
    )
    return path


def tcp_peers_of_this_process() -> set[int]:
    """The remote ports of this process's IPv4 TCP connections."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:[") : -1])
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[9] in inodes:
            ports.add(int(fields[2].split(":")[1], 16))
    return ports


def run_through(path: Path) -> set[int]:
    """`echo ok` on the inventory's host via Connector; the ports this process was connected to."""
    conn = Connector()(load_inventory(path).hosts["target"])
    try:
        assert conn.run("echo ok").stdout == "ok\n"
        return tcp_peers_of_this_process()
    finally:
        conn.close()


def test_inventory_proxyjump_goes_through_the_jump_host(
    tmp_path: Path, home: Path, sshd: Sshd, jump: Sshd
) -> None:
    """`-o ProxyJump=` alone in ansible_ssh_common_args routes the connection via `jump`."""
    path = inventory_for(tmp_path, sshd, jump, f"'-o ProxyJump=root@127.0.0.1:{jump.port}'")
    before = (jump.log.count("Accepted publickey"), sshd.log.count("Accepted publickey"))
    peers = run_through(path)
    # this process talked to the jump host only; the jump host's sshd reached the target
    assert jump.port in peers and sshd.port not in peers
    assert jump.log.count("Accepted publickey") == before[0] + 1
    assert sshd.log.count("Accepted publickey") == before[1] + 1


def test_inventory_proxycommand_goes_through_the_jump_host(
    tmp_path: Path, home: Path, sshd: Sshd, jump: Sshd
) -> None:
    """`-o ProxyCommand=` with OpenSSH's `ssh -W %h:%p` to the jump host, %-tokens expanded."""
    need_tools("ssh")
    kh = tmp_path / "inventory" / "known_hosts"
    command = (
        f"ssh -i {sshd.client_key} -p {jump.port} -o BatchMode=yes "
        f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={kh} -W %h:%p %r@127.0.0.1"
    )
    path = inventory_for(tmp_path, sshd, jump, f"'-o ProxyCommand=\"{command}\"'")
    before = (jump.log.count("Accepted publickey"), sshd.log.count("Accepted publickey"))
    peers = run_through(path)
    assert jump.port not in peers and sshd.port not in peers  # the ssh child connected
    assert jump.log.count("Accepted publickey") == before[0] + 1
    assert sshd.log.count("Accepted publickey") == before[1] + 1
