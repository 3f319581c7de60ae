"""Facts about the network: interfaces, addresses, the default routes' interfaces and
DNS settings, in Ansible's shapes. Without `ip` there are none of the first four (as
in Ansible)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from provisioner.probes.host_raw import Raw, to_int
from provisioner.probes.host_script import ROUTE4, ROUTE6

# /sys/class/net/*/type → Ansible's interface type.
IF_TYPES = {"1": "ether", "32": "infiniband", "512": "ppp", "772": "loopback", "65534": "tunnel"}


@dataclass(frozen=True)
class Address:
    device: str
    family: str  # inet | inet6
    address: str
    prefix: str
    broadcast: str
    label: str
    scope: str


def network_facts(raw: Raw) -> dict[str, Any]:
    out: dict[str, Any] = _dns(raw)
    if not raw.has("have_ip"):
        return out
    links = _links(raw)
    addresses = [a for a in map(_address, raw.all("addr")) if a is not None]
    names = list(links) + [a.label for a in addresses if a.label and a.label not in links]
    out["interfaces"] = list(dict.fromkeys(n.replace(":", "_") for n in names))
    out["all_ipv4_addresses"] = [
        a.address for a in addresses if a.family == "inet" and not a.address.startswith("127.")
    ]
    out["all_ipv6_addresses"] = [
        a.address for a in addresses if a.family == "inet6" and a.address != "::1"
    ]
    out["default_ipv4"] = _default(raw.first("route4"), ROUTE4, "inet", addresses, links)
    out["default_ipv6"] = _default(raw.first("route6"), ROUTE6, "inet6", addresses, links)
    return out


def _links(raw: Raw) -> dict[str, dict[str, Any]]:
    """Each interface's mtu, type and MAC address (`iface=MTU/TYPE/STATE/MAC/NAME`)."""
    out: dict[str, dict[str, Any]] = {}
    for line in raw.all("iface"):
        parts = line.split("/", 4)
        if len(parts) != 5 or not parts[4] or parts[4] in out:
            continue
        mtu, kind, _state, mac, name = parts
        named = kind in ("bridge", "bonding")
        link: dict[str, Any] = {"type": kind if named else IF_TYPES.get(kind, "unknown")}
        if to_int(mtu) is not None:
            link["mtu"] = to_int(mtu)
        if mac and mac != "00:00:00:00:00:00":
            link["macaddress"] = mac
        out[name] = link
    return out


def _address(line: str) -> Address | None:
    """One line of `ip -o addr show`; None when it is not one."""
    words = line.split("\\", 1)[0].split()
    if len(words) < 4 or words[2] not in ("inet", "inet6"):
        return None
    device, family = words[1].split("@", 1)[0], words[2]
    address, _, prefix = words[3].partition("/")
    if "peer" in words[4:5] and len(words) > 5:
        prefix = words[5].partition("/")[2]
    prefix = prefix or ("32" if family == "inet" else "128")
    try:
        ipaddress.ip_interface(f"{address}/{prefix}")
    except ValueError:
        return None
    broadcast = words[words.index("brd") + 1] if "brd" in words[:-1] else ""
    scope = words[words.index("scope") + 1] if "scope" in words[:-1] else ""
    label = words[-1] if family == "inet" and words[-1].startswith(device) else ""
    return Address(device, family, address, prefix, broadcast, label, scope)


def _default(
    route: str,
    target: str,
    family: str,
    addresses: list[Address],
    links: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The interface the route to `target` leaves by, its address and gateway, and what
    `ip addr` and /sys say of that address and interface."""
    words = route.split()
    if not words or words[0] != target:
        return {}
    out: dict[str, Any] = {}
    for key, word in (("interface", "dev"), ("address", "src"), ("gateway", "via")):
        if word in words[:-1]:
            value = words[words.index(word) + 1]
            if key != "gateway" or value != target:
                out[key] = value
    match = next(
        (a for a in addresses if a.family == family and a.address == out.get("address")), None
    )
    if match is None:
        return out
    if family == "inet":
        net = ipaddress.IPv4Interface(f"{match.address}/{match.prefix}").network
        out |= {"broadcast": match.broadcast, "netmask": str(net.netmask)}
        out |= {"network": str(net.network_address), "alias": match.label or match.device}
    else:
        out["scope"] = match.scope
    link = links.get(match.device, {})
    out |= {"prefix": match.prefix, "type": link.get("type", "unknown")}
    out |= {k: link[k] for k in ("macaddress", "mtu") if k in link}
    return out


def _dns(raw: Raw) -> dict[str, Any]:
    """dns: nameservers, domain, search, sortlist and options from /etc/resolv.conf."""
    if not raw.has("resolv"):
        return {}
    dns: dict[str, Any] = {}
    for line in raw.all("resolv"):
        words = line.split()
        if len(words) < 2:
            continue
        key, values = words[0], words[1:]
        if key == "nameserver":
            dns.setdefault("nameservers", []).append(values[0])
        elif key == "domain":
            dns["domain"] = values[0]
        elif key in ("search", "sortlist"):
            dns[key] = values
        elif key == "options":
            options = dns.setdefault("options", {})
            for option in values:
                name, colon, value = option.partition(":")
                options[name] = value if colon else True
    return {"dns": dns}
