#!/usr/libexec/platform-python
"""Stand-in dockerd of the provisioner lab: answers the lab's docker CLI on a unix socket.

Started by docker.service with `-H fd://`, it takes the listening socket that
docker.socket made (/run/docker.sock, srw-rw---- root docker) from systemd.
Requests and answers are one JSON object each: {"cmd": [...]} -> {"out", "err", "code"}.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from pathlib import Path

VERSION = "26.1.4"
IMAGES = Path("/var/lib/docker/image/lab")
SOCKET_PATH = "/run/docker.sock"

HELLO = """
Hello from Docker!
This message shows that your installation appears to be working correctly.

To generate this message, Docker took the following steps:
 1. The Docker client contacted the Docker daemon.
 2. The Docker daemon pulled the "hello-world" image from the Docker Hub.
    (amd64)
 3. The Docker daemon created a new container from that image which runs the
    executable that produces the output you are currently reading.
 4. The Docker daemon streamed that output to the Docker client, which sent it
    to your terminal.

To try something more ambitious, you can run an Ubuntu container with:
 $ docker run -it ubuntu bash

Share images, automate workflows, and more with a free Docker ID:
 https://hub.docker.com/

For more examples and ideas, visit:
 https://docs.docker.com/get-started/

"""

PULL = """Unable to find image 'hello-world:latest' locally
latest: Pulling from library/hello-world
c1ec31eb5944: Pulling fs layer
c1ec31eb5944: Verifying Checksum
c1ec31eb5944: Download complete
c1ec31eb5944: Pull complete
Digest: sha256:d211f485f2dd1dee407a80973c8f129f00d54604d2c90732e8e320e5038a0348
Status: Downloaded newer image for hello-world:latest
"""

SERVER = f"""Server: Docker Engine - Community
 Engine:
  Version:          {VERSION}
  API version:      1.45 (minimum version 1.24)
  Go version:       go1.21.11
  Git commit:       de5c9cf
  Built:            Wed Jun  5 11:30:20 2024
  OS/Arch:          linux/amd64
  Experimental:     false
 containerd:
  Version:          1.6.33
  GitCommit:        d2d58213f83a351ca8f528a95fbd145f5654e957
 runc:
  Version:          1.1.12
  GitCommit:        v1.1.12-0-g51d5e94
 docker-init:
  Version:          0.19.0
  GitCommit:        de40ad0
"""


def answer(cmd: list[str]) -> dict[str, object]:
    if cmd == ["version"]:
        return {"out": SERVER, "err": "", "code": 0}
    if cmd[:1] == ["images"]:
        rows = ["REPOSITORY    TAG       IMAGE ID       CREATED         SIZE"]
        if (IMAGES / "hello-world").exists():
            rows.append("hello-world   latest    d2c94e258dcb   18 months ago   13.3kB")
        return {"out": "\n".join(rows) + "\n", "err": "", "code": 0}
    if cmd[:1] == ["ps"]:
        header = "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"
        return {"out": header, "err": "", "code": 0}
    if cmd[:1] == ["info"]:
        return {"out": f"Server:\n Server Version: {VERSION}\n Storage Driver: overlay2\n"}
    if cmd[:1] == ["run"]:
        image = next((a for a in cmd[1:] if not a.startswith("-")), "")
        if image.split(":")[0] != "hello-world":
            return {
                "out": "",
                "err": f"docker: Error response from daemon: pull access denied for {image}: "
                "the lab's stand-in Docker only has hello-world.\n"
                "See 'docker run --help'.\n",
                "code": 125,
            }
        pulled = ""
        if not (IMAGES / "hello-world").exists():
            IMAGES.mkdir(parents=True, exist_ok=True)
            (IMAGES / "hello-world").write_text("latest\n")
            pulled = PULL
        return {"out": HELLO, "err": pulled, "code": 0}
    return {"out": "", "err": f"unknown request {cmd}\n", "code": 1}


def listener() -> socket.socket:
    """The socket systemd passed (LISTEN_FDS), or one of our own."""
    if os.environ.get("LISTEN_FDS") == "1" and os.environ.get("LISTEN_PID") == str(os.getpid()):
        return socket.socket(fileno=3)
    if os.path.exists(SOCKET_PATH):
        os.unlink(SOCKET_PATH)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(SOCKET_PATH)
    os.chmod(SOCKET_PATH, 0o660)
    try:
        import grp

        os.chown(SOCKET_PATH, 0, grp.getgrnam("docker").gr_gid)
    except KeyError:
        pass
    sock.listen(16)
    return sock


def notify_ready() -> None:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(b"READY=1", address)


def serve(sock: socket.socket) -> None:
    while True:
        conn, _ = sock.accept()
        with conn:
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            try:
                reply = answer(list(json.loads(data.decode())["cmd"]))
            except (ValueError, KeyError, TypeError) as exc:
                reply = {"out": "", "err": f"bad request: {exc}\n", "code": 1}
            conn.sendall(json.dumps(reply).encode() + b"\n")


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sock = listener()
    notify_ready()
    serve(sock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
