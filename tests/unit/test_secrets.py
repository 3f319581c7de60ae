"""Secrets: which variables are, how listings mask them, and a sweep of every command
the CLI has, at every -v level, in text and JSON, that finds none of them in any
output or log."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from provisioner.secrets import MASK, Secrets, Unsafe, is_secret, masked, secret_names
from provisioner.templating import names_in
from tests.unit.run_cli import provision
from tests.unit.test_from_vagrant import DATA, FAKE_VAGRANT, MIXED_IDS, lab_dir


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        ("ansible_password", "x", True),
        ("ansible_become_pass", "x", True),
        ("db_passwd", "x", True),
        ("client_secret", "x", True),
        ("GITHUB_TOKEN", "x", True),
        ("vault_pw", "x", True),
        ("ssh_passphrase", "x", True),
        ("api_key", "abc", True),
        ("tls_key", "/etc/pki/tls/private/x.key", False),  # a path, not the key
        ("ssh_key", "~/.ssh/id_ed25519", False),
        ("keyboard", "us", False),
        ("docker_users", ["student"], False),
        ("note", Unsafe("{{ raw }}"), True),
    ],
)
def test_what_is_secret(name: str, value: Any, secret: bool) -> None:
    assert is_secret(name, value) is secret


def test_what_a_secret_template_names_is_secret_too() -> None:
    variables = {"become_password": "{{ vault_pw }}", "vault_pw": "v", "port": 22, "x": "y"}
    assert secret_names(variables, names_in) == {"become_password", "vault_pw"}


def test_listings_mask_secrets_and_secret_keys_inside_values() -> None:
    variables = {"api_token": "t", "db": {"password": "p", "user": "u"}, "n": [Unsafe("s")]}
    shown = masked(variables, {"api_token"})
    assert shown == {"api_token": MASK, "db": {"password": MASK, "user": "u"}, "n": [MASK]}


def test_scrub_masks_every_secret_value_longest_first() -> None:
    secrets = Secrets()
    for value in ("hunter2-long", "hunter2", "ab"):  # "ab" is too short to mask
        secrets.add(value)
    assert secrets.scrub("x hunter2-long y hunter2 ab") == f"x {MASK} y {MASK} ab"


# --- every command, every -v level, text and JSON: no secret in any output ------------

NEEDLES = ["Pw-SSH-d41c9", "Vault-e83f17", "Tok-77aa0c", "DbSec-5b61e2", "AppKey-90c3f4",
           "Nested-1f0e", "Unsafe-c0ffee", "Extra-Tok-3344", "PlayPw-aa11"]  # fmt: skip

INVENTORY = """\
all:
  vars:
    vault_pw: Vault-e83f17
    db: {password: Nested-1f0e, name: app}
    raw_note: !unsafe "Unsafe-c0ffee {{ not_a_template }}"
    api_token: Tok-77aa0c
    db_secret: DbSec-5b61e2
    app_key: AppKey-90c3f4
  hosts:
    localhost:
      ansible_connection: local
      ansible_become_password: "{{ vault_pw }}"
    far:
      ansible_host: 127.0.0.1
      ansible_port: 1
      ansible_password: Pw-SSH-d41c9
"""

PLAYBOOK = """\
- hosts: all
  vars:
    admin_password: PlayPw-aa11
  tasks:
    - name: a hidden command with secrets
      command: echo {{ api_token }} {{ db_secret }}
      no_log: true
      register: said
    - name: a command whose error would print one
      shell: echo {{ app_key }} {{ extra_token }} >&2; exit 3
      ignore_errors: true
    - name: a template error that would quote one
      debug: {msg: "{{ db_secret | int }}"}
      ignore_errors: true
    - name: a file holding one, with its diff
      copy: {content: "{{ admin_password }} {{ db.password }}\\n", dest: "{{ out }}/f"}
    - name: print the hidden result
      debug: {var: said}
    - name: the unsafe note, as written
      debug: {msg: "{{ raw_note }}"}
"""


def _sweep(tmp_path: Path) -> list[tuple[str, ...]]:
    inv, book = tmp_path / "hosts.yml", tmp_path / "site.yml"
    inv.write_text(INVENTORY)
    book.write_text(PLAYBOOK)
    extra = ("-e", "extra_token=Extra-Tok-3344", "-e", f"out={tmp_path}")
    runs: list[tuple[str, ...]] = []
    for verbose in ([], ["-v"], ["-vv"], ["-vvv"]):
        for output in ("text", "json"):
            for mode in ([], ["--check"]):
                runs.append(("apply", "-i", str(inv), str(book), *extra, "--diff", *mode,
                             "-o", output, *verbose))  # fmt: skip
            runs.append(("facts", "-i", str(inv), "-o", output, *verbose))
        runs.append(("validate", str(book), "-i", str(inv), *extra))
        runs.append(("inventory", "-i", str(inv), "--list"))
        runs.append(("inventory", "from-vagrant", "--dir", "lab", "-o", "-"))
    return runs


def test_no_command_prints_a_secret(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "vagrant").write_text(FAKE_VAGRANT.format(python=sys.executable))
    (bin_dir / "vagrant").chmod(0o755)
    lab_dir(tmp_path, MIXED_IDS)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "FAKE_VAGRANT_LOG": str(tmp_path / "vagrant.log"),
        "FAKE_VAGRANT_DATA": str(DATA),
        "FAKE_VAGRANT_STATUS": "status-virtualbox-mixed.txt",
        "FAKE_VAGRANT_SSH_CONFIG": "ssh-config-virtualbox-multi.txt",
    }

    def one(args: tuple[str, ...]) -> tuple[tuple[str, ...], int, list[str]]:
        proc = provision(*args, cwd=tmp_path, env=env)
        text = proc.stdout + proc.stderr
        assert "Traceback" not in text, text
        return args, proc.returncode, [n for n in NEEDLES if n in text]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(one, _sweep(tmp_path)))
    assert len(results) == 36  # 4 levels × (2 outputs × (2 applies + facts) + 3 others)
    assert [(args, found) for args, _, found in results if found] == []
    # The runs did run: apply reached the unreachable host and wrote the file.
    assert {code for args, code, _ in results if args[0] == "apply"} == {4}
    assert (tmp_path / "f").read_text() == "PlayPw-aa11 Nested-1f0e\n"
