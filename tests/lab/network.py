"""The lab network: one bridge on the controller, one namespace and veth link per host.

Hosts reach the controller (10.66.0.1, where the repositories are served) and each other,
nothing else: they get no default route, and IP forwarding is never touched.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

from .config import BRIDGE, CONTROLLER_IP, PREFIX_LEN, SUBNET, netns_name, veth_name
from .system import LabError, run

_NET = ipaddress.ip_network(SUBNET)


def check_subnet_free() -> None:
    """Fail clearly if anything other than our own bridge uses 10.66.0.0/24."""
    addrs = json.loads(run(["ip", "-j", "-4", "addr", "show"]).stdout or "[]")
    for link in addrs:
        if link.get("ifname") == BRIDGE:
            continue
        for info in link.get("addr_info", []):
            if ipaddress.ip_address(info["local"]) in _NET:
                raise LabError(
                    f"{SUBNET} is already in use: {info['local']} on {link['ifname']}; "
                    "the lab needs this subnet for itself"
                )
    routes = json.loads(run(["ip", "-j", "-4", "route", "show"]).stdout or "[]")
    for route in routes:
        dst = route.get("dst", "")
        if dst in ("", "default") or route.get("dev") == BRIDGE:
            continue
        if ipaddress.ip_network(dst, strict=False).overlaps(_NET):
            raise LabError(f"{SUBNET} is already routed: {dst} via {route.get('dev')}")


def link_exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def netns_exists(name: str) -> bool:
    return Path(f"/run/netns/{name}").exists()


def create_bridge() -> None:
    if not link_exists(BRIDGE):
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    run(["ip", "addr", "replace", f"{CONTROLLER_IP}/{PREFIX_LEN}", "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])


def delete_bridge() -> None:
    if link_exists(BRIDGE):
        run(["ip", "link", "del", BRIDGE], check=False)


def create_host_link(host: str, ip: str) -> None:
    """Namespace provlab-HOST with eth0=IP/24 whose peer pl-HOST joins the bridge."""
    ns, veth = netns_name(host), veth_name(host)
    delete_host_link(host)
    run(["ip", "netns", "add", ns])
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
    run(["ip", "link", "set", veth, "master", BRIDGE, "up"])
    run(["ip", "-n", ns, "addr", "add", f"{ip}/{PREFIX_LEN}", "dev", "eth0"])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])
    run(["ip", "-n", ns, "link", "set", "eth0", "up"])


def delete_host_link(host: str) -> None:
    ns, veth = netns_name(host), veth_name(host)
    if link_exists(veth):
        run(["ip", "link", "del", veth], check=False)
    if netns_exists(ns):
        run(["ip", "netns", "del", ns], check=False)


def set_link(host: str, up: bool) -> None:
    """Bring the controller end of a host's link down (cable pulled) or up again."""
    run(["ip", "link", "set", veth_name(host), "up" if up else "down"])


def set_host_nic(host: str, up: bool) -> None:
    """The host's own eth0: down while it is powered off, so nobody answers ARP and a
    connect fails as with a machine that is off ("No route to host"), not "refused"."""
    run(["ip", "-n", netns_name(host), "link", "set", "eth0", "up" if up else "down"])


def lab_netns_names() -> list[str]:
    """Lab namespaces that exist now (for a sweep without a state file)."""
    netns_dir = Path("/run/netns")
    if not netns_dir.is_dir():
        return []
    return sorted(p.name for p in netns_dir.iterdir() if p.name.startswith("provlab-"))
