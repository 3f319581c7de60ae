"""What roles write, as YAML gives it: Ansible's argument aliases, its boolean spellings,
numbers for text, key=value strings; and the loader's errors about them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import PlaybookErrors
from provisioner.inventory import localhost_inventory
from provisioner.modules import lookup
from provisioner.playbook.load import load_playbook
from provisioner.validate import validate

TASKS = """\
- hosts: all
  tasks:
    - file: {dest: /srv/app, state: directory, mode: 0755, owner: 1000}
    - lineinfile: {destfile: /etc/app.conf, regex: '^port=', value: port=80}
    - stat: {name: /etc/app.conf, checksum_algo: sha256}
    - user: {user: deploy, createhome: no, system: yes}
    - yum: {pkg: [git, vim], expire-cache: "true", enablerepo: "epel,extras"}
    - systemd: {unit: docker, enabled: "yes", daemon-reload: on}
    - service: name=docker state=started enabled=no
    - file: path=/srv/app mode=u=rwX,go=rX recurse=yes
    - copy: {dest: /etc/answer, content: 42, owner: 0, group: 0}
    - group: {name: docker, gid: "990", system: True}
"""


def _args(tmp_path: Path) -> list[Any]:
    path = tmp_path / "site.yml"
    path.write_text(TASKS)
    book = load_playbook(path)
    out = []
    for task in book.plays[0].tasks:
        cls = lookup(task.module)
        assert cls is not None
        out.append(cls.validate_args(task.args))
    return out


def test_roles_spellings_load_as_the_arguments_they_mean(tmp_path: Path) -> None:
    file, line, stat, user, yum, systemd, service, tree, copy, group = _args(tmp_path)
    assert (file.path, file.mode, file.owner) == ("/srv/app", "0755", "1000")
    assert (line.path, line.regexp, line.line) == ("/etc/app.conf", "^port=", "port=80")
    assert (stat.path, stat.checksum_algorithm) == ("/etc/app.conf", "sha256")
    assert (user.name, user.create_home, user.system) == ("deploy", False, True)
    assert yum.name == ["git", "vim"] and yum.update_cache is True
    assert yum.enablerepo == ["epel", "extras"]
    assert (systemd.name, systemd.enabled, systemd.daemon_reload) == ("docker", True, True)
    assert (service.state, service.enabled) == ("started", False)
    assert (tree.mode, tree.recurse) == ("u=rwX,go=rX", True)
    assert (copy.content, copy.owner, copy.group) == ("42", "0", "0")  # numbers as text
    assert (group.gid, group.system) == (990, True)  # text as a number


def _errors(tmp_path: Path, task: str) -> list[str]:
    path = tmp_path / "site.yml"
    path.write_text(f"- hosts: all\n  tasks:\n    - {task}\n")
    with pytest.raises(PlaybookErrors) as exc:
        load_playbook(path)
    return [str(e) for e in exc.value.errors]


@pytest.mark.parametrize(
    ("task", "hint"),
    [
        ("lineinfile: {destfil: /x, line: a}", "did you mean 'destfile'"),
        ("file: {pth: /x}", "did you mean 'path'"),
        ("yum: {pkgs: git}", "did you mean 'pkg'"),
        ("systemd: {name: docker, daemon_relaod: true}", "did you mean 'daemon_reload'"),
    ],
)
def test_did_you_mean_knows_the_aliases(tmp_path: Path, task: str, hint: str) -> None:
    (msg,) = [m for m in _errors(tmp_path, task) if "unknown argument" in m]
    assert hint in msg


def test_two_spellings_of_one_argument_point_at_the_second(tmp_path: Path) -> None:
    (msg,) = _errors(tmp_path, "file:\n        path: /x\n        dest: /y")
    assert msg.endswith("file: 'path' and 'dest' are the same argument: give one of them")
    assert ":5:9:" in msg  # the line and column of `dest`


def test_a_templated_alias_waits_for_the_run(tmp_path: Path) -> None:
    path = tmp_path / "site.yml"
    path.write_text(
        "- hosts: all\n  vars: {flag: true}\n  tasks:\n"
        "    - systemd: {unit: docker, enabled: '{{ flag }}', masked: '{{ flag }}'}\n"
    )
    assert load_playbook(path).plays[0].tasks[0].args["enabled"] == "{{ flag }}"


@pytest.mark.parametrize(
    ("task", "problem"),
    [
        ("systemd: {name: docker, enabled: sometimes}", "argument 'enabled'"),
        ("systemd: {name: docker, scope: user}", "scope 'user' is not supported"),
        ("user: {name: x, password: plain-text}", "already crypted hash"),
        ("yum: {name: git, lock_timeout: soon}", "argument 'lock_timeout'"),
    ],
)
def test_values_yaml_cannot_mean_are_errors_at_load(
    tmp_path: Path, task: str, problem: str
) -> None:
    (msg,) = _errors(tmp_path, task)
    assert problem in msg and "plain-text" not in msg


@pytest.mark.parametrize(
    ("flag", "problem"),
    [("yes", None), ("True", None), (False, None), ("perhaps", "argument 'enabled'")],
)
def test_templated_booleans_render_to_what_the_module_takes(
    tmp_path: Path, flag: object, problem: str | None
) -> None:
    """`enabled: "{{ flag }}"` keeps the variable's own value: a bool, or a string that
    Ansible's spellings turn into one."""
    path = tmp_path / "site.yml"
    path.write_text(
        f"- hosts: localhost\n  vars: {{flag: {flag!r}, st: started}}\n  tasks:\n"
        "    - systemd: {unit: docker, enabled: '{{ flag }}', state: '{{ st }}'}\n"
    )
    found = validate(load_playbook(path), localhost_inventory(), {}, limit="localhost")
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in str(found[0])
