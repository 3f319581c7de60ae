"""SHA-512 crypt against the test vectors published with its specification
(Drepper, "Unix crypt using SHA-256 and SHA-512"), and the filter around it."""

from __future__ import annotations

import re

import pytest

from provisioner.errors import TemplateError
from provisioner.jinja.crypt import sha512_crypt
from provisioner.templating import Templar

# (salt setting as the spec writes it, key, expected hash)
VECTORS = [
    (
        "$6$saltstring",
        "Hello world!",
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiB"
        "FdcbYEdFCoEOfaS35inz1",
    ),
    (
        "$6$rounds=10000$saltstringsaltstring",
        "Hello world!",
        "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnC"
        "M/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
    ),
    (
        "$6$rounds=5000$toolongsaltstring",
        "This is just a test",
        "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwll"
        "F7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0",
    ),
    (
        "$6$rounds=1400$anotherlongsaltstring",
        "a very much longer text to encrypt.  This one even stretches over morethan one line.",
        "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6I"
        "oYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1",
    ),
    (
        "$6$rounds=77777$short",
        "we have a short salt string but not a short password",
        "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRU"
        "LJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0",
    ),
    (
        "$6$rounds=123456$asaltof16chars..",
        "a short string",
        "$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu"
        ".Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1",
    ),
    (
        "$6$rounds=10$roundstoolow",
        "the minimum number is still observed",
        "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSk"
        "lZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.",
    ),
]


def _setting(setting: str) -> tuple[str, int | None]:
    m = re.fullmatch(r"\$6\$(?:rounds=(\d+)\$)?(.*)", setting)
    assert m is not None
    return m[2], int(m[1]) if m[1] else None


@pytest.mark.parametrize(("setting", "key", "expected"), VECTORS, ids=[v[0] for v in VECTORS])
def test_the_specifications_vectors(setting: str, key: str, expected: str) -> None:
    salt, rounds = _setting(setting)
    assert sha512_crypt(key, salt, rounds) == expected


def test_bytes_and_non_ascii_keys_hash_their_utf8() -> None:
    assert sha512_crypt("pässword", "abc") == sha512_crypt("pässword".encode(), "abc")
    assert sha512_crypt("pässword", "abc") != sha512_crypt("passwörd", "abc")


def test_a_salt_outside_the_alphabet_is_refused() -> None:
    with pytest.raises(ValueError, match="only the characters"):
        sha512_crypt("x", "bad$salt")


# -- the password_hash filter -----------------------------------------------------------

SHADOW = re.compile(r"^\$6\$rounds=656000\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$")


def test_password_hash_with_a_salt_is_stable_and_written_as_ansible_writes_it() -> None:
    t = Templar({"pw": "Hello world!"})
    first = t.render("{{ pw | password_hash('sha512', 'saltstring') }}")
    assert first == t.render("{{ pw | password_hash('sha512', salt='saltstring') }}")
    assert first.startswith("$6$rounds=656000$saltstring$") and len(first) == 114
    assert first == sha512_crypt("Hello world!", "saltstring", 656000)


def test_password_hash_rounds_are_passed() -> None:
    t = Templar({})
    assert (
        t.render("{{ 'Hello world!' | password_hash('sha512', 'saltstringsaltst', rounds=10000) }}")
        == (VECTORS[1][2])
    )


def test_password_hash_without_a_salt_is_fresh_each_time() -> None:
    t = Templar({})
    one, two = t.render("{{ 'x' | password_hash }}"), t.render("{{ 'x' | password_hash }}")
    assert SHADOW.match(one) and SHADOW.match(two) and one != two


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{{ 'x' | password_hash('md5') }}", "only hashtype sha512"),
        ("{{ 'x' | password_hash('sha512', 'bad salt') }}", "at most 16 characters of"),
        ("{{ 'x' | password_hash('sha512', 'a' * 17) }}", "at most 16 characters of"),
        ("{{ 'x' | password_hash('sha512', 'abc', ident='2b') }}", "ident"),
    ],
)
def test_password_hash_refuses_what_it_cannot_do(text: str, words: str) -> None:
    with pytest.raises(TemplateError) as exc:
        Templar({}).render(text)
    assert "filter 'password_hash'" in str(exc.value) and words in str(exc.value)
