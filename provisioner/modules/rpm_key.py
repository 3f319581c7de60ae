"""rpm_key: an OpenPGP key imported into rpm's database (gpg-pubkey), once.

rpm names an imported key gpg-pubkey-VERSION-RELEASE, VERSION being the last
8 hex digits of the key's fingerprint. The key's fingerprint is computed on
the controller from the key bytes the probe brings back (base64): no gpg on
the host, same answer on EL7's gpg 2.0 and EL9's 2.3. The bytes that were
checked are the bytes uploaded to `rpm --import`, so a key that changes
between probe and apply cannot slip through.

With `fingerprint` the probe fetches the key only when that id is not
imported yet (so a converged rerun does not touch the network); a key whose
fingerprint differs fails, in the dry run already. Without it the key is
fetched on every run to learn its id. rpm imports only the first key of a
file, so only the first primary key counts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import field_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules.base import (
    CONVERGED,
    Args,
    Blocked,
    Change,
    Kind,
    Module,
    Op,
    Plan,
    Provision,
)
from provisioner.modules.get_url import CURL_ERRORS, fetch
from provisioner.probes.base import Probe, Seen
from provisioner.probes.rpm import GpgPubkeys
from provisioner.shell import op_script, q, unb64

URL = re.compile(r"(https?|ftp|file)://")


class RpmKeyArgs(Args):
    key: str
    fingerprint: str | None = None
    state: Literal["present", "absent"] = "present"

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if URL.match(value):
            if any(c.isspace() for c in value):
                raise ValueError("key URL must not contain spaces")
        elif not value.startswith("/") or "\0" in value:
            raise ValueError(f"key {value!r} must be a URL or an absolute path on the host")
        return value

    @field_validator("fingerprint")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        fp = re.sub(r"\s+", "", value).upper().removeprefix("0X")
        if not re.fullmatch(r"[0-9A-F]{40}", fp):
            raise ValueError("fingerprint must be the 40 hex digits of a v4 key (spaces allowed)")
        return fp


# --- OpenPGP: just enough to fingerprint a v4 public key ----------------------


def dearmor(data: bytes) -> bytes:
    text = data.decode("ascii", "replace")
    m = re.search(
        r"-----BEGIN PGP PUBLIC KEY BLOCK-----[^\n]*\n(.*?)-----END PGP PUBLIC KEY BLOCK-----",
        text,
        re.S,
    )
    if not m:
        raise ValueError("no 'BEGIN PGP PUBLIC KEY BLOCK' armor")
    lines = [ln.strip() for ln in m.group(1).splitlines()]
    if "" in lines:  # armor headers end at the first blank line
        lines = lines[lines.index("") + 1 :]
    b64 = "".join(ln for ln in lines if ln and not ln.startswith("="))  # '=XXXX' is the CRC
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("invalid base64 in the armor") from None


def packets(data: bytes) -> list[tuple[int, bytes]]:
    """(tag, body) of each packet, old and new header formats."""
    out = []
    i = 0
    while i < len(data):
        head = data[i]
        i += 1
        if not head & 0x80:
            raise ValueError("not OpenPGP data")
        if head & 0x40:
            tag, first = head & 0x3F, data[i]
            i += 1
            if first < 192:
                n = first
            elif first < 224:
                n, i = ((first - 192) << 8) + data[i] + 192, i + 1
            elif first == 255:
                n, i = int.from_bytes(data[i : i + 4], "big"), i + 4
            else:
                raise ValueError("partial-length packet in a key")
        else:
            tag, kind = (head >> 2) & 0x0F, head & 0x03
            if kind == 3:
                n = len(data) - i
            else:
                size = 1 << kind
                n, i = int.from_bytes(data[i : i + size], "big"), i + size
        if i + n > len(data):
            raise ValueError("truncated packet")
        out.append((tag, data[i : i + n]))
        i += n
    return out


def key_fingerprint(data: bytes) -> str:
    """Uppercase hex fingerprint of the first primary public key (v4)."""
    if data.lstrip().startswith(b"-----BEGIN"):
        data = dearmor(data)
    try:
        for tag, body in packets(data):
            if tag == 6:
                if not body or body[0] != 4:
                    raise ValueError(f"key version {body[0] if body else '?'} (rpm takes v4 keys)")
                head = b"\x99" + len(body).to_bytes(2, "big")
                return hashlib.sha1(head + body).hexdigest().upper()
    except IndexError:
        raise ValueError("truncated OpenPGP data") from None
    raise ValueError("no public key packet")


def short_id(fingerprint: str) -> str:
    """The gpg-pubkey VERSION rpm gives this key."""
    return fingerprint[-8:].lower()


def spaced(fingerprint: str) -> str:
    return " ".join(fingerprint[i : i + 4] for i in range(0, len(fingerprint), 4))


# --- module ------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """The key's bytes, or why they could not be had."""

    data: bytes | None = None
    rc: int = 0
    skipped: bool = False  # the key was imported already: nothing fetched


@dataclass(frozen=True)
class KeyFetch(Probe[Fetched]):
    """The key file's bytes (base64 on the wire). With `unless` (a gpg-pubkey-ID name),
    only when rpm has no such key, so a converged rerun does not touch the network."""

    key: str
    unless: str | None = None

    def command(self) -> str:
        get = fetch(self.key, None) if URL.match(self.key) else f"cat -- {q(self.key)}"
        # POSIX has no pipefail: the fetch's exit code travels out on fd 3, the
        # base64 on fd 4 (real stdout), so the rc line comes after it.
        lines = [
            "exec 4>&1",
            f'rc=$( {{ {{ {get}; echo "$?" >&3; }} | base64 >&4; }} 3>&1 )',
            'echo "rc=$rc"',
        ]
        if self.unless is not None:
            skip = f"if rpm -q {q(self.unless)} >/dev/null 2>&1; then echo skipped; exit 0; fi"
            lines.insert(0, skip)
        return "\n".join(lines)

    def parse(self, stdout: str, exit_code: int) -> Fetched:
        lines = stdout.splitlines()
        if lines == ["skipped"]:
            return Fetched(skipped=True)
        if not lines or not lines[-1].startswith("rc=") or not lines[-1][3:].isdigit():
            raise ProbeError(f"rpm_key: cannot understand the fetch of {self.key}")
        rc = int(lines[-1][3:])
        if rc != 0:
            return Fetched(rc=rc)
        return Fetched(unb64("".join(lines[:-1]), "rpm_key"))


@dataclass(frozen=True)
class KeyState:
    installed: tuple[str, ...]  # gpg-pubkey VERSION-RELEASE
    key: bytes | None = None  # fetched key, when the probe needed it
    missing_file: bool = False  # a key path on the host that is not there


@dataclass(frozen=True)
class KeyPlan:
    add: bytes | None = None
    remove: tuple[str, ...] = ()


@register
class RpmKeyModule(Module[RpmKeyArgs, KeyState, KeyPlan]):
    name = "rpm_key"
    args_model = RpmKeyArgs

    def _fetch(self) -> KeyFetch | None:
        a = self.args
        if a.fingerprint is None:
            return KeyFetch(a.key)
        if a.state == "present":
            return KeyFetch(a.key, unless=f"gpg-pubkey-{short_id(a.fingerprint)}")
        return None

    def probes(self) -> tuple[Probe[Any], ...]:
        fetched = self._fetch()
        return (GpgPubkeys(), *((fetched,) if fetched is not None else ()))

    def state(self, seen: Seen) -> KeyState:
        fetch_probe = self._fetch()
        fetched = seen(fetch_probe) if fetch_probe is not None else Fetched(skipped=True)
        key = self.args.key
        if fetched.rc != 0:
            if not URL.match(key):
                return KeyState(seen(GpgPubkeys()), missing_file=True)
            why = CURL_ERRORS.get(fetched.rc, f"exit {fetched.rc}")
            raise ProbeError(f"rpm_key: cannot fetch {key}: {why}")
        if fetched.data is not None and not fetched.data:
            raise ProbeError(f"rpm_key: {key} is empty")
        return KeyState(seen(GpgPubkeys()), fetched.data)

    def plan(self, current: KeyState) -> Plan[KeyPlan]:
        a = self.args
        if current.missing_file:
            return Blocked(Provision(Kind.PATH, a.key), f"file {a.key}")
        fp = a.fingerprint
        if current.key is not None:
            try:
                found = key_fingerprint(current.key)
            except ValueError as exc:
                raise ProbeError(f"rpm_key: {a.key} is not a usable public key: {exc}") from None
            if fp is not None and found != fp:
                raise ProbeError(
                    f"rpm_key: {a.key} has fingerprint {spaced(found)}, expected {spaced(fp)}"
                )
            fp = found
        if fp is None:
            raise ProbeError(f"rpm_key: the probe did not bring {a.key} back")
        here = tuple(v for v in current.installed if fp.lower().endswith(v.split("-")[0]))
        if a.state == "absent":
            if not here:
                return CONVERGED
            return Change((f"- gpg-pubkey {short_id(fp)}",), KeyPlan(remove=here))
        if here:
            return CONVERGED
        if current.key is None:
            raise ProbeError(f"rpm_key: the probe did not bring {a.key} back")
        return Change((f"+ gpg-pubkey {short_id(fp)} ({spaced(fp)})",), KeyPlan(add=current.key))

    def commands(self, change: Change[KeyPlan]) -> list[Op]:
        p = change.payload
        if p.add is not None:
            return [Op(op_script('rpm --import "$PROVISION_SRC"'), upload=p.add)]
        return [Op(op_script(f"rpm -e {q('gpg-pubkey-' + v)}")) for v in p.remove]
