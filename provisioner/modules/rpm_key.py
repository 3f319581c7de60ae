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
from typing import Literal

from pydantic import field_validator

from provisioner.errors import MissingDependency, ProbeError
from provisioner.modules import register
from provisioner.modules._sh import Query, need, op_script, parse_queries, q, query, subshell, unb64
from provisioner.modules.base import Args, Change, Module, Op
from provisioner.modules.get_url import CURL_ERRORS, fetch

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
class KeyState:
    installed: tuple[str, ...]  # gpg-pubkey VERSION-RELEASE
    key: bytes | None = None  # fetched key, when the probe needed it


@dataclass(frozen=True)
class KeyPlan:
    add: bytes | None = None
    remove: tuple[str, ...] = ()


@register
class RpmKeyModule(Module[RpmKeyArgs, KeyState]):
    name = "rpm_key"
    args_model = RpmKeyArgs

    def _fetch(self) -> list[str]:
        k = self.args.key
        get = fetch(k, None) if URL.match(k) else f"cat -- {q(k)}"
        # POSIX has no pipefail: the fetch's exit code travels out on fd 3,
        # the base64 on fd 4 (real stdout), so the rc line comes after it.
        return [
            "echo '@@ key'",
            "exec 4>&1",
            f'rc=$( {{ {{ {get}; echo "$?" >&3; }} | base64 >&4; }} 3>&1 )',
            'echo "@@ rc $rc"',
        ]

    def probe(self) -> str:
        a = self.args
        lines = [query("keys", "rpm -q gpg-pubkey --qf '%{VERSION}-%{RELEASE}\\n'")]
        if a.fingerprint is None:
            lines += self._fetch()
        elif a.state == "present":
            have = q(f"gpg-pubkey-{short_id(a.fingerprint)}")
            lines += [f"if ! rpm -q {have} >/dev/null 2>&1; then", *self._fetch(), "fi"]
        return subshell(*lines)

    def parse(self, stdout: str, exit_code: int) -> KeyState:
        qs = parse_queries(stdout)
        keys = need(qs, "keys", "rpm_key")
        installed = []
        for line in keys.lines:
            if re.fullmatch(r"[0-9a-f]{8,40}-[0-9a-f]+", line.strip()):
                installed.append(line.strip())
            elif line.strip() and line.strip() != "package gpg-pubkey is not installed":
                raise ProbeError(f"cannot understand rpm output: {line!r}")
        if keys.rc not in (0, 1):
            raise ProbeError(f"rpm -q gpg-pubkey failed (exit {keys.rc})")
        key = _key_bytes(qs.get("key"), self.args.key)
        return KeyState(tuple(installed), key)

    def plan(self, current: KeyState) -> Change | None:
        a = self.args
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
                return None
            return Change((f"- gpg-pubkey {short_id(fp)}",), payload=KeyPlan(remove=here))
        if here:
            return None
        if current.key is None:
            raise ProbeError(f"rpm_key: the probe did not bring {a.key} back")
        return Change(
            (f"+ gpg-pubkey {short_id(fp)} ({spaced(fp)})",), payload=KeyPlan(add=current.key)
        )

    def commands(self, change: Change) -> list[Op]:
        p = change.payload
        if not isinstance(p, KeyPlan):
            raise TypeError("rpm_key: foreign payload")
        if p.add is not None:
            return [Op(op_script('rpm --import "$PROVISION_SRC"'), upload=p.add)]
        return [Op(op_script(f"rpm -e {q('gpg-pubkey-' + v)}")) for v in p.remove]


def _key_bytes(qr: Query | None, key: str) -> bytes | None:
    if qr is None:
        return None
    if qr.rc != 0:
        if not URL.match(key):
            raise MissingDependency(f"file {key}")
        why = CURL_ERRORS.get(qr.rc or -1, f"exit {qr.rc}")
        raise ProbeError(f"rpm_key: cannot fetch {key}: {why}")
    data = unb64("".join(qr.lines), "rpm_key")
    if not data:
        raise ProbeError(f"rpm_key: {key} is empty")
    return data
