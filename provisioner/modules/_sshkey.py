"""OpenSSH public key lines, as authorized_keys holds them: `[options] type blob [comment]`.

A key is known by its blob (what `ssh-keygen -l` fingerprints); its type, options
and comment are what may differ on an authorized_keys line that holds it.
People are shown the fingerprint and the comment, never the whole blob.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

# Key types sshd accepts on an authorized_keys line (sshd(8), AUTHORIZED_KEYS FILE FORMAT).
KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-ed25519-cert-v01@openssh.com",
        "sk-ssh-ed25519@openssh.com",
        "sk-ssh-ed25519-cert-v01@openssh.com",
        "ssh-rsa",
        "ssh-rsa-cert-v01@openssh.com",
        "rsa-sha2-256",
        "rsa-sha2-512",
        "rsa-sha2-256-cert-v01@openssh.com",
        "rsa-sha2-512-cert-v01@openssh.com",
        "ssh-dss",
        "ssh-dss-cert-v01@openssh.com",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
        "ssh-xmss@openssh.com",
        "ssh-xmss-cert-v01@openssh.com",
    }
)

# A word: quoted parts (an option's value may hold spaces) and other non-space runs.
_WORD = re.compile(r'(?:"(?:[^"\\]|\\.)*"?|[^\s"])+')
# An option: up to a comma outside quotes.
_OPTION = re.compile(r'(?:"(?:[^"\\]|\\.)*"?|[^,"])+')

Options = tuple[tuple[str, tuple[str | None, ...]], ...]


def parse_options(text: str) -> Options:
    """`no-pty,from="a,b",permitopen="x"` → each name with its values, in name order
    (sshd does not care in what order different options come)."""
    found: dict[str, list[str | None]] = {}
    for m in _OPTION.finditer(text):
        part = m.group(0).strip()
        if not part:
            continue
        name, eq, value = part.partition("=")
        found.setdefault(name, []).append(value if eq else None)
    return tuple(sorted((name, tuple(values)) for name, values in found.items()))


@dataclass(frozen=True)
class SshKey:
    type: str
    blob: str
    options: str = ""
    comment: str = ""

    def line(self) -> str:
        head = f"{self.options} " if self.options else ""
        tail = f" {self.comment}" if self.comment else ""
        return f"{head}{self.type} {self.blob}{tail}\n"

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(base64.b64decode(self.blob)).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    def label(self) -> str:
        """For people: type, fingerprint, comment, options."""
        text = f"{self.type} {self.fingerprint}"
        if self.comment:
            text += f" {self.comment}"
        if self.options:
            text += f" (options: {self.options})"
        return text

    def differences(self, wanted: SshKey) -> list[str]:
        """How this line differs from the wanted line of the same key ([]: it does not)."""
        out = []
        if self.type != wanted.type:
            out.append(f"type: {self.type} → {wanted.type}")
        if parse_options(self.options) != parse_options(wanted.options):
            out.append(f"options: {self.options or '(none)'} → {wanted.options or '(none)'}")
        if self.comment != wanted.comment:
            out.append(f"comment: {self.comment or '(none)'} → {wanted.comment or '(none)'}")
        return out


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return bool(text)


def parse_key(line: str) -> SshKey | None:
    """The key on an authorized_keys line; None for a comment, a blank or a line that
    holds no key (those are kept as they are)."""
    text = line.strip().replace("\\#", "#")  # YAML-escaped '#' in a comment
    if not text or text.startswith("#"):
        return None
    words = list(_WORD.finditer(text))
    for i, word in enumerate(words):
        if word.group(0) not in KEY_TYPES:
            continue
        if i + 1 >= len(words) or not _is_base64(words[i + 1].group(0)):
            return None
        blob = words[i + 1]
        return SshKey(
            type=word.group(0),
            blob=blob.group(0),
            options=text[: word.start()].strip(),
            comment=text[blob.end() :].strip(),
        )
    return None


def display(line: str) -> str:
    """A file line for a diff: a key as its label, anything else as it is."""
    key = parse_key(line)
    if key is None:
        return line if line.endswith("\n") else line + "\n"
    return key.label() + "\n"
