"""Facts about the machine: processors, memory, mounts, virtualization, uptime and load,
in Ansible's shapes (counts and megabytes are ints)."""

from __future__ import annotations

import re
from typing import Any

from provisioner.probes.host_raw import Raw, to_int

_PROCESSOR_KEYS = ("model name", "Processor", "vendor_id", "cpu", "Vendor", "processor")
# systemd-detect-virt's names → Ansible's virtualization_type.
VIRT_TYPES = {
    "qemu": "kvm",
    "kvm": "kvm",
    "amazon": "kvm",
    "bochs": "kvm",
    "vmware": "VMware",
    "oracle": "virtualbox",
    "microsoft": "VirtualPC",
    "xen": "xen",
    "parallels": "parallels",
    "bhyve": "bhyve",
    "uml": "uml",
    "zvm": "ibm_systemz",
    "lxc-libvirt": "lxc",
    "container-other": "container",
}


def cpu_facts(raw: Raw, architecture: str) -> dict[str, Any]:
    """processor (the list), processor_count (sockets), _cores (per socket),
    _threads_per_core, _vcpus and _nproc, counted as Ansible counts them."""
    lines = [(k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in raw.all("cpuinfo"))]
    if not lines:
        return {}
    processor = [v for k, v in lines if k in _PROCESSOR_KEYS]
    keys = [k for k, _ in lines]
    seen = {k: keys.count(k) for k in ("vendor_id", "model name", "processor")}
    found = len(processor)
    if seen["vendor_id"] and seen["vendor_id"] == seen["model name"]:
        found = seen["vendor_id"]
    if architecture.startswith(("armv", "aarch", "ppc")):
        found = seen["processor"]
    sockets: dict[str, int] = {}
    siblings: dict[str, int] = {}
    socket, core = "0", "0"
    for key, value in lines:
        if key == "physical id":
            socket = value
            sockets.setdefault(socket, 0)
        elif key == "core id":
            core = value
        elif key == "cpu cores":
            sockets[socket] = to_int(value) or 0
        elif key == "siblings":
            siblings.setdefault(core, to_int(value) or 0)
    count = len(sockets) or found
    cores = next(iter(sockets.values()), 0) or 1
    threads = round(next(iter(siblings.values())) / cores) if siblings else round(1 / cores)
    nproc = to_int(raw.first("nproc"))
    return {
        "processor": processor,
        "processor_count": count,
        "processor_cores": cores,
        "processor_threads_per_core": threads,
        "processor_vcpus": threads * count * cores,
        "processor_nproc": seen["processor"] if nproc is None else nproc,
    }


def memory_facts(raw: Raw) -> dict[str, Any]:
    """memtotal_mb, memfree_mb, swaptotal_mb, swapfree_mb and the memory_mb mapping."""
    mb: dict[str, int] = {}
    for line in raw.all("meminfo"):
        key, _, rest = line.partition(":")
        kib = to_int(rest.split()[0]) if rest.split() else None
        if kib is not None:
            mb.setdefault(key.strip().lower(), kib // 1024)
    if not mb:
        return {}
    out: dict[str, Any] = {
        f"{k}_mb": mb[k] for k in ("memtotal", "memfree", "swaptotal", "swapfree") if k in mb
    }

    def minus(a: int | None, b: int | None) -> int | None:
        return None if a is None or b is None else a - b

    total, free = mb.get("memtotal"), mb.get("memfree")
    cached, buffers = mb.get("cached"), mb.get("buffers")
    nocache_free = None
    if cached is not None and free is not None and buffers is not None:
        nocache_free = cached + free + buffers
    swaptotal, swapfree = mb.get("swaptotal"), mb.get("swapfree")
    out["memory_mb"] = {
        "real": {"total": total, "used": minus(total, free), "free": free},
        "nocache": {"free": nocache_free, "used": minus(total, nocache_free)},
        "swap": {
            "total": swaptotal,
            "free": swapfree,
            "used": minus(swaptotal, swapfree),
            "cached": mb.get("swapcached"),
        },
    }
    return out


def mount_facts(raw: Raw) -> dict[str, Any]:
    """mounts: devices and network file systems, as /proc/mounts lists them (no sizes)."""
    if not raw.has("mount"):
        return {}
    mounts = []
    for line in raw.all("mount"):
        fields = line.split()
        if len(fields) < 4:
            continue
        device, mount, fstype, options = (_unescape(f) for f in fields[:4])
        if fstype == "none" or not (device.startswith(("/", "\\")) or ":/" in device):
            continue
        numbers = [to_int(f) or 0 for f in (fields[4:6] + ["0", "0"])[:2]]
        entry = {"mount": mount, "device": device, "fstype": fstype, "options": options}
        mounts.append(entry | {"dump": numbers[0], "passno": numbers[1]})
    return {"mounts": mounts}


def _unescape(field: str) -> str:
    # /proc/mounts writes space, tab, newline and backslash as octal escapes.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def virtualization_facts(raw: Raw) -> dict[str, Any]:
    """virtualization_type and _role from systemd-detect-virt (none: NA, as Ansible)."""
    found = raw.first("virt")
    if not found or not re.fullmatch(r"[a-z0-9-]+", found):
        return {}
    if found == "none":
        return {"virtualization_type": "NA", "virtualization_role": "NA"}
    return {"virtualization_type": VIRT_TYPES.get(found, found), "virtualization_role": "guest"}


def uptime_load_facts(raw: Raw) -> dict[str, Any]:
    out: dict[str, Any] = {}
    uptime = raw.first("uptime").split()
    if uptime and re.fullmatch(r"\d{1,12}(\.\d+)?", uptime[0]):
        out["uptime_seconds"] = int(float(uptime[0]))
    load = raw.first("loadavg").split()[:3]
    if len(load) == 3 and all(re.fullmatch(r"\d{1,9}(\.\d+)?", x) for x in load):
        out["loadavg"] = dict(zip(("1m", "5m", "15m"), map(float, load), strict=True))
    return out
