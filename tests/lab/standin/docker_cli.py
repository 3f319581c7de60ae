#!/usr/libexec/platform-python
"""Stand-in docker CLI of the provisioner lab: talks to the stand-in dockerd's socket.

It answers as Docker 26.1.4 does where the usual tutorials look: `docker version`,
`docker run hello-world`, `docker ps`, `docker images`, `docker info`, and the errors
when the daemon is down or the user is not in group docker. Any other command runs the
CLI plugin of that name, as the real client does (`docker compose version`).
"""

from __future__ import annotations

import json
import os
import socket
import sys

VERSION = "26.1.4"
SOCKET = "/var/run/docker.sock"
HOST = "unix://" + SOCKET
API = "http://%2Fvar%2Frun%2Fdocker.sock"
REQUESTS = {
    "run": f'Head "{API}/_ping',
    "ps": f'Get "{API}/v1.45/containers/json',
    "images": f'Get "{API}/v1.45/images/json',
    "info": f'Get "{API}/v1.45/info',
}
# Where the real client looks for `docker-<command>`, first match wins.
PLUGIN_DIRS = (
    "~/.docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/local/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
)
NOT_RUNNING = f"Cannot connect to the Docker daemon at {HOST}. Is the docker daemon running?"

CLIENT = f"""Client: Docker Engine - Community
 Version:           {VERSION}
 API version:       1.45
 Go version:        go1.21.11
 Git commit:        5650f9b
 Built:             Wed Jun  5 11:31:57 2024
 OS/Arch:           linux/amd64
 Context:           default
"""

USAGE = """
Usage:  docker [OPTIONS] COMMAND

A self-sufficient runtime for containers (provisioner lab stand-in)

Common Commands:
  run         Create and run a new container from an image
  ps          List containers
  images      List images
  info        Display system-wide information
  version     Show the Docker version information
"""


class DaemonError(Exception):
    pass


def permission_denied(request: str) -> str:
    return (
        "permission denied while trying to connect to the Docker daemon socket at "
        f'{HOST}: {request}": dial unix {SOCKET}: connect: permission denied'
    )


def request(cmd: list[str], path: str) -> dict[str, object]:
    """Send cmd to the daemon; `path` is the API call the real client would make."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(SOCKET)
    except PermissionError as exc:
        raise DaemonError(permission_denied(path)) from exc
    except OSError as exc:
        raise DaemonError(NOT_RUNNING) from exc
    with sock:
        sock.sendall(json.dumps({"cmd": cmd}).encode() + b"\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    reply: dict[str, object] = json.loads(data.decode())
    return reply


def error(text: str) -> None:
    """Write to stderr after what stdout holds, in the order the real client's appear."""
    sys.stdout.flush()
    sys.stderr.write(text)
    sys.stderr.flush()


def relay(reply: dict[str, object]) -> int:
    error(str(reply.get("err", "")))
    sys.stdout.write(str(reply.get("out", "")))
    code = reply.get("code", 0)
    return code if isinstance(code, int) else 1


def plugin(command: str) -> str | None:
    if not (command.isascii() and command.isalnum() and command.islower()):
        return None  # plugin names are [a-z][a-z0-9]*: never a path
    for d in PLUGIN_DIRS:
        path = os.path.join(os.path.expanduser(d), "docker-" + command)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def main(argv: list[str]) -> int:
    args = [a for a in argv if a not in ("-D", "--debug")]
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if args[0] in ("-v", "--version"):
        print(f"Docker version {VERSION}, build 5650f9b")
        return 0
    command = args[0]
    if command == "version":
        print(CLIENT)
        try:
            return relay(request(["version"], f'Get "{API}/v1.45/version'))
        except DaemonError as exc:
            error(f"{exc}\n")
            return 1
    if command in ("run", "ps", "images", "info"):
        try:
            return relay(request(args, REQUESTS[command]))
        except DaemonError as exc:
            if command == "run":
                error(f"docker: {exc}.\nSee 'docker run --help'.\n")
                return 125
            error(f"{exc}\n")
            return 1
    path = plugin(command)
    if path is not None:  # the plugin gets its own name first, then the rest
        os.execv(path, [path, *args])
    error(f"docker: '{command}' is not a docker command.\nSee 'docker --help'\n")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
