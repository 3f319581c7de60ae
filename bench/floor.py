"""The floor: the least a tool can do for the bench workload, to compare against.

Per host, one paramiko connection and one `sh` script (on stdin of one exec) that
checks each of the workload's items and fixes what differs, idempotently; hosts in
parallel, as many at once as `--forks`. It prints one JSON line per host:
{"host", "changed", "rc", "error"}. Run as

    python -m bench.floor SPEC.json --forks 10

with SPEC.json as bench.sweep writes it (key, known_hosts, hosts). It imports
nothing of provisioner's: only paramiko.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from shlex import quote as q
from typing import Any

import paramiko

# The same content as bench/workload/site.yml and app.conf.j2 render.
REPO = """[bench]
name=Bench repository of {name}
baseurl=http://127.0.0.1/bench/el$releasever/$basearch/
enabled=1
gpgcheck=0
"""
TEMPLATE = """# {name}: written by the provisioner benchmark
listen = {address}:8080
root = {root}/srv/app
workers = 4
"""

HELPERS = r"""set -u
changed=0
ch() { changed=$((changed + 1)); }
fail() { echo "failed: $*" >&2; exit 1; }
put() {  # PATH MODE SHA256, the content on stdin
  if [ -f "$1" ] && [ "$(sha256sum < "$1")" = "$3  -" ]; then
    [ "$(stat -c %a "$1")" = "$2" ] || { chmod "$2" "$1" || fail "chmod $1"; ch; }
  else
    cat > "$1.bench-tmp" && chmod "$2" "$1.bench-tmp" && mv -f "$1.bench-tmp" "$1" \
      || fail "write $1"
    ch
  fi
}
"""


def put(path: str, mode: str, content: str) -> str:
    digest = hashlib.sha256(content.encode()).hexdigest()
    return f"put {q(path)} {mode} {digest} <<'BENCH_EOF'\n{content}BENCH_EOF\n"


def script(host: dict[str, Any]) -> str:
    """The host's whole check-and-fix script: the nine items of the workload."""
    root, name = host["root"], host["name"]
    app, conf = f"{root}/srv/app", f"{root}/etc/bench.conf"
    user, group, home = f"bench_u{host['id']}", f"bench_g{host['id']}", f"{root}/home"
    home = f"{home}/{user}"
    parts = [
        HELPERS,
        put(f"{root}/etc/yum.repos.d/bench.repo", "644", REPO.format(name=name)),
        f"d={q(app)}\n"
        'if [ ! -d "$d" ]; then mkdir -p "$d" && chmod 755 "$d" || fail "$d"; ch\n'
        'elif [ "$(stat -c %a "$d")" != 755 ]; then chmod 755 "$d"; ch; fi\n',
        put(
            f"{app}/app.conf", "644", TEMPLATE.format(name=name, address=host["address"], root=root)
        ),
        f"f={q(conf)}\n"
        '[ -f "$f" ] || fail "no $f"\n'
        "last=$(grep '^setting=' \"$f\" | tail -n 1)\n"
        'if [ "$last" != setting=on ]; then\n'
        '  if [ -n "$last" ]; then sed -i \'s/^setting=.*/setting=on/\' "$f";'
        ' else echo setting=on >> "$f"; fi || fail "$f"; ch\nfi\n',
        f"test -s {q(conf)} || fail 'check {conf}'\n",
        f"[ -e {q(app)}/data ] || {{ mkdir {q(app)}/data || fail data; ch; }}\n",
        f"getent group {group} >/dev/null || {{ groupadd -- {group} || fail {group}; ch; }}\n",
        user_item(user, group, home),
        "rpm -q bench-marker >/dev/null || fail 'package bench-marker is not installed'\n",
        'echo "changed=$changed"\n',
    ]
    return "".join(parts)


def user_item(user: str, group: str, home: str) -> str:
    shell = "/usr/sbin/nologin"
    return (
        f"if ! getent passwd {user} >/dev/null; then\n"
        f"  useradd -M -d {q(home)} -s {shell} -G {group} -- {user} || fail {user}; ch\n"
        "else\n"
        f'  case " $(id -nG -- {user}) " in *" {group} "*) ;;\n'
        f"    *) usermod -a -G {group} -- {user} || fail {user}; ch ;; esac\n"
        f'  [ "$(getent passwd {user} | cut -d: -f6,7)" = {q(home + ":" + shell)} ] || '
        f"{{ usermod -d {q(home)} -s {shell} -- {user} || fail {user}; ch; }}\n"
        "fi\n"
    )


class _Acking(socket.socket):
    """Acknowledges each read at once: sshd's small packets then wait for no delayed
    acknowledgement (provisioner's transport/tcp.py does the same, so the floor
    keeps being the least a tool can do)."""

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data = super().recv(bufsize, flags)
        if data and hasattr(socket, "TCP_QUICKACK"):
            self.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        return data


def connected(address: str, port: int) -> socket.socket:
    """A TCP connection with Nagle's algorithm off and quick acknowledgements."""
    plain = socket.create_connection((address, port), timeout=10)
    plain.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock = _Acking(plain.family, plain.type, plain.proto, fileno=plain.detach())
    sock.settimeout(10)
    return sock


def gcm_first(sock: Any, **kwargs: Any) -> paramiko.Transport:
    """AES-GCM preferred, as provisioner does: no MAC computed and compared in Python."""
    t = paramiko.Transport(sock, **kwargs)
    opts = t.get_security_options()
    gcm = [c for c in opts.ciphers if c.endswith("-gcm@openssh.com")]
    opts.ciphers = gcm + [c for c in opts.ciphers if c not in gcm]
    return t


def one_host(host: dict[str, Any], key: str, known: paramiko.HostKeys) -> dict[str, Any]:
    client = paramiko.SSHClient()
    # Only this host's keys, from the file read once: loading the whole file per host
    # made the floor's CPU grow with the square of the hosts (2026-12-03, N = 500).
    name = host["address"] if host["port"] == 22 else f"[{host['address']}]:{host['port']}"
    for ktype, hkey in (known.lookup(name) or {}).items():
        client.get_host_keys().add(name, ktype, hkey)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    result: dict[str, Any] = {"host": host["name"], "changed": None, "rc": None, "error": ""}
    try:
        client.connect(
            host["address"],
            port=host["port"],
            username="root",
            key_filename=key,
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
            sock=connected(host["address"], host["port"]),
            transport_factory=gcm_first,
        )
        stdin, stdout, stderr = client.exec_command("sh -s")
        stdin.write(script(host))
        stdin.channel.shutdown_write()
        out = stdout.read().decode(errors="replace")
        result["error"] = stderr.read().decode(errors="replace").strip()
        result["rc"] = stdout.channel.recv_exit_status()
        for line in out.splitlines():
            if line.startswith("changed="):
                result["changed"] = int(line.partition("=")[2])
    except (OSError, paramiko.SSHException) as e:
        result["error"] = f"{type(e).__name__}: {e}"
    finally:
        client.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The floor of the provisioner benchmark.")
    parser.add_argument("spec", type=Path)
    parser.add_argument("--forks", type=int, default=10)
    args = parser.parse_args(argv)
    spec = json.loads(args.spec.read_text())
    known = paramiko.HostKeys(spec["known_hosts"])
    with ThreadPoolExecutor(max_workers=args.forks) as pool:
        results = list(pool.map(lambda h: one_host(h, spec["key"], known), spec["hosts"]))
    for r in results:
        print(json.dumps(r))
    return 0 if all(r["rc"] == 0 for r in results) else 2


if __name__ == "__main__":
    sys.exit(main())
