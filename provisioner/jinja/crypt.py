"""SHA-512 crypt (`$6$`), written from its public specification, Ulrich Drepper's
"Unix crypt using SHA-256 and SHA-512": the hashes /etc/shadow holds.

Python's `crypt` module is deprecated (gone in 3.13) and passlib is a dependency
we do not want; the algorithm is short and hashlib does the hashing. The tests
check the specification's published test vectors.
"""

from __future__ import annotations

import hashlib
import re
import secrets

ROUNDS_DEFAULT = 5000  # the spec's; written out only when asked for explicitly
ROUNDS_MIN = 1000
ROUNDS_MAX = 999_999_999
SALT_MAX = 16
SALT_CHARS = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SALT_RE = re.compile(r"^[./0-9A-Za-z]*$")


def _order() -> tuple[int, ...]:
    """The spec's byte order for the encoding: 21 groups of three bytes
    (i, i + 21, i + 42), group i rotated left by i % 3 places; byte 63 stays alone."""
    out: list[int] = []
    for i in range(21):
        group = [i, i + 21, i + 42]
        shift = i % 3
        out += group[shift:] + group[:shift]
    return tuple(out)


_ORDER = _order()


def random_salt(length: int = SALT_MAX) -> str:
    return "".join(secrets.choice(SALT_CHARS) for _ in range(length))


def sha512_crypt(password: str | bytes, salt: str, rounds: int | None = None) -> str:
    """The `$6$` hash of `password`.

    Salt: characters of [./0-9A-Za-z], only the first 16 count (the spec cuts the
    rest). Rounds: `None` is the implicit 5000, not written in the result; a number
    is clamped to 1000..999999999 and written (`$6$rounds=N$salt$...`).
    """
    if not SALT_RE.match(salt):
        raise ValueError("a salt may hold only the characters ./0-9A-Za-z")
    key = password.encode() if isinstance(password, str) else password
    salt_bytes = salt[:SALT_MAX].encode("ascii")
    count = ROUNDS_DEFAULT if rounds is None else min(max(rounds, ROUNDS_MIN), ROUNDS_MAX)
    digest = _digest(key, salt_bytes, count)
    head = "$6$" + ("" if rounds is None else f"rounds={count}$")
    return head + salt_bytes.decode() + "$" + _encode(digest)


def _repeat(digest: bytes, length: int) -> bytes:
    """`length` bytes of `digest` over and over (the spec's byte sequences P and S)."""
    whole, part = divmod(length, len(digest))
    return digest * whole + digest[:part]


def _sha512(*parts: bytes) -> hashlib._Hash:
    h = hashlib.sha512()
    for part in parts:
        h.update(part)
    return h


def _digest(key: bytes, salt: bytes, rounds: int) -> bytes:
    alternate = _sha512(key, salt, key).digest()
    a = _sha512(key, salt, _repeat(alternate, len(key)))
    bits = len(key)
    while bits:  # each bit of the key's length, lowest first
        a.update(alternate if bits & 1 else key)
        bits >>= 1
    result = a.digest()

    p_bytes = _repeat(_sha512(key * len(key)).digest(), len(key))
    s_bytes = _repeat(_sha512(salt * (16 + result[0])).digest(), len(salt))

    for i in range(rounds):
        c = _sha512(p_bytes if i & 1 else result)
        if i % 3:
            c.update(s_bytes)
        if i % 7:
            c.update(p_bytes)
        c.update(result if i & 1 else p_bytes)
        result = c.digest()
    return result


def _encode(digest: bytes) -> str:
    """The spec's base 64: three bytes (the first most significant) make four
    characters, least significant six bits first; the last byte makes two."""
    out: list[str] = []
    for g in range(0, len(_ORDER), 3):
        b2, b1, b0 = (digest[i] for i in _ORDER[g : g + 3])
        out.append(_chars((b2 << 16) | (b1 << 8) | b0, 4))
    out.append(_chars(digest[63], 2))
    return "".join(out)


def _chars(word: int, count: int) -> str:
    out = []
    for _ in range(count):
        out.append(SALT_CHARS[word & 0x3F])
        word >>= 6
    return "".join(out)
