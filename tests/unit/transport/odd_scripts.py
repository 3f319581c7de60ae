"""Scripts with awkward quoting, and what sh prints for them (with LC_ALL=C)."""

from __future__ import annotations

ODD_SCRIPTS: list[tuple[str, str]] = [
    ("echo hello world", "hello world\n"),
    ("printf '%s\\n' \"a  b\" 'c'\"'\"'d'", "a  b\nc'd\n"),
    ("echo one; echo two", "one\ntwo\n"),
    ("echo $(echo sub) `echo tick`", "sub tick\n"),
    ("x='$(not run)'; echo \"$x\"", "$(not run)\n"),
    ("printf 'line1\\nline2\\n'\necho third", "line1\nline2\nthird\n"),
    (
        "echo \"back\\\\slash\" 'semi;colon' \"amp&er\" 'pipe|d'",
        "back\\slash semi;colon amp&er pipe|d\n",
    ),
    ("echo 'ünïcødé ✓'", "ünïcødé ✓\n"),
    ("cat <<'EOF'\n$HOME is not expanded\nEOF", "$HOME is not expanded\n"),
    ('echo "$LC_ALL"', "C\n"),
    ("set -- a 'b c'; echo $#", "2\n"),
    ("echo '!bang' \"#hash\" '*' '~'", "!bang #hash * ~\n"),
]
