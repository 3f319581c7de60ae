from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.errors import InputError, PlaybookErrors
from provisioner.inventory import load_inventory
from provisioner.playbook.load import load_playbook
from provisioner.validate import validate

ROOT = Path(__file__).resolve().parents[2]


def write(tmp: Path, text: str) -> Path:
    path = tmp / "site.yml"
    path.write_text(text)
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(PlaybookErrors) as exc:
        load_playbook(path)
    return [str(e) for e in exc.value.errors]


def test_the_docker_playbook_loads_and_validates_against_an_inventory(tmp_path: Path) -> None:
    book = load_playbook(ROOT / "playbooks" / "docker-ce.yml")
    vault, docker, checks = book.plays
    assert [t.module for t in checks.tasks] == ["command", "command"]
    assert vault.name == "Point CentOS 7 at its vault"
    assert vault.loc.file.endswith("playbooks/el7-vault.yml")
    assert [t.module for t in docker.tasks][:5] == [
        "package",
        "package",
        "rpm_key",
        "yum_repository",
        "package",
    ]
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    web1: {host: 10.0.0.5, user: alice}\n")
    assert validate(book, load_inventory(inv), {}, login_user=lambda host: "alice") == []


def test_import_playbook_splices_plays_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "first.yml").write_text("- name: first\n  hosts: all\n  tasks: []\n")
    book = write(
        tmp_path,
        "- import_playbook: sub/first.yml\n- name: second\n  hosts: all\n  tasks: []\n",
    )
    plays = load_playbook(book).plays
    assert [p.name for p in plays] == ["first", "second"]
    assert plays[0].base_dir == tmp_path / "sub"


def test_import_playbook_errors_name_the_line(tmp_path: Path) -> None:
    (tmp_path / "loop.yml").write_text("- import_playbook: site.yml\n")
    (tmp_path / "bad.yml").write_text("- hosts: all\n  taks: []\n")
    path = write(
        tmp_path,
        "- import_playbook: missing.yml\n"
        "- import_playbook: loop.yml\n"
        "- import_playbook: bad.yml\n"
        "- import_playbook: bad.yml\n  when: x\n",
    )
    msgs = errors_of(path)
    assert f"{path}:1:3: import_playbook: no such file {tmp_path / 'missing.yml'}" in msgs
    assert any(
        f"{tmp_path / 'loop.yml'}:1:3" in m and "loops: site.yml → loop.yml → site.yml" in m
        for m in msgs
    )
    assert any(
        f"{tmp_path / 'bad.yml'}:2:3" in m and "unknown play keyword 'taks'" in m for m in msgs
    )
    assert f"{path}:5:3: import_playbook takes only 'name', not 'when'" in msgs


def test_unknown_module_names_line_and_suggests(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- hosts: all\n  tasks:\n    - name: x\n      pakage: {name: vim}\n",
    )
    [msg] = errors_of(path)
    assert f"{path}:4:7" in msg
    assert "did you mean 'package'" in msg


def test_unknown_module_argument_names_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- hosts: all\n  tasks:\n    - service:\n        name: docker\n        enabeld: true\n",
    )
    [msg] = errors_of(path)
    assert f"{path}:5:9" in msg
    assert "enabeld" in msg and "did you mean 'enabled'" in msg


def test_every_error_is_reported_in_one_pass(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- hosts: all\n  taks: []\n"
        "- hosts: all\n  tasks:\n    - name: two modules\n      command: ls\n      shell: ls\n"
        "    - name: no module\n      become: true\n",
    )
    msgs = errors_of(path)
    assert len(msgs) == 3
    assert any(":2:3" in m and "did you mean 'tasks'" in m for m in msgs)
    assert any("more than one module" in m for m in msgs)
    assert any(":8:7" in m and "no module" in m for m in msgs)


def test_wrong_keyword_type_points_at_the_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- hosts: all\n  tasks:\n    - command: ls\n      ignore_errors: maybe\n",
    )
    [msg] = errors_of(path)
    assert f"{path}:4:7" in msg and "ignore_errors" in msg


def test_notify_without_handler_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- hosts: all\n  tasks:\n    - command: ls\n      notify: restart dockr\n"
        "  handlers:\n    - name: restart docker\n"
        "      service: {name: docker, state: restarted}\n",
    )
    [msg] = errors_of(path)
    assert "restart dockr" in msg and "did you mean 'restart docker'" in msg


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, "- hosts: all\n  tasks:\n    - command: [unclosed\n")
    [msg] = errors_of(path)
    assert msg.startswith(f"{path}:3:") or msg.startswith(f"{path}:4:")


def test_free_form_and_key_value_arguments(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- hosts: all\n  tasks:\n    - command: echo hi\n    - yum: name=vim state=latest\n",
    )
    tasks = load_playbook(path).plays[0].tasks
    assert tasks[0].args == {"cmd": "echo hi"}
    assert tasks[1].args == {"name": "vim", "state": "latest"}


@pytest.mark.parametrize(
    "args", ["name='git state=present", 'name="a b', "name=x state='"], ids=["'", '"', "end"]
)
def test_key_value_arguments_with_an_unclosed_quote(tmp_path: Path, args: str) -> None:
    path = write(tmp_path, f"- hosts: all\n  tasks:\n    - yum: {args!r}\n")
    [msg] = errors_of(path)
    assert msg.startswith(f"{path}:3:7: yum: cannot read its key=value arguments: no closing")


def test_with_items_becomes_loop_and_register_is_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- hosts: all\n  tasks:\n    - command: echo {{ item }}\n      with_items: [a, b]\n"
        "      register: out\n",
    )
    task = load_playbook(path).plays[0].tasks[0]
    assert task.loop == ["a", "b"]
    assert task.register_as == "out"


def test_validate_reports_undefined_variable_with_host(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- hosts: all\n  tasks:\n    - name: uses nope\n      package: {name: '{{ nope }}'}\n",
    )
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    web1: {host: 10.0.0.5}\n")
    problems = validate(load_playbook(path), load_inventory(inv), {})
    assert len(problems) == 1
    assert f"{path}:3:7" in problems[0] and "nope" in problems[0] and "web1" in problems[0]


def test_validate_skips_templates_that_need_a_registered_result(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- hosts: all\n  tasks:\n    - command: echo 1\n      register: r\n"
        "    - command: echo {{ r.stdout }}\n",
    )
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    web1: {host: 10.0.0.5}\n")
    assert validate(load_playbook(path), load_inventory(inv), {}) == []
    # ...but not an undefined variable whose name merely contains a registered one.
    path.write_text(path.read_text() + "    - command: echo {{ undefined_r }}\n")
    [problem] = validate(load_playbook(path), load_inventory(inv), {})
    assert "undefined_r" in problem


def test_args_keyword_adds_module_arguments(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- hosts: all\n  tasks:\n    - command: touch /x\n      args: {creates: /x, chdir: /}\n",
    )
    task = load_playbook(path).plays[0].tasks[0]
    assert task.args == {"cmd": "touch /x", "creates": "/x", "chdir": "/"}


def test_args_keyword_is_checked_like_module_arguments(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- hosts: all\n  tasks:\n    - command: ls\n      args: {craetes: /x}\n",
    )
    [msg] = errors_of(path)
    assert "command: unknown argument 'craetes'" in msg and "did you mean 'creates'" in msg
    path = write(tmp_path, "- hosts: all\n  tasks:\n    - command: ls\n      args: [creates]\n")
    [msg] = errors_of(path)
    assert msg.startswith(f"{path}:4:") and "'args' must be a mapping" in msg


def test_validate_names_all_hosts_of_a_shared_problem_once_and_honours_limit(
    tmp_path: Path,
) -> None:
    book = load_playbook(
        write(tmp_path, "- hosts: all\n  tasks:\n    - debug: {msg: '{{ nope }}'}\n")
    )
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    a: {}\n    b: {}\n    c: {}\n")
    [everyone] = validate(book, load_inventory(inv), {})
    assert everyone.endswith("(hosts a, b, c)") and "nope" in everyone
    [one] = validate(book, load_inventory(inv), {}, limit="b")
    assert one.endswith("(host b)")


def test_the_example_inventory_and_docker_playbook_validate_together() -> None:
    inv = load_inventory(ROOT / "inventories" / "example.yml")
    assert sorted(inv.hosts) == ["docker01", "docker02", "teacher01"]
    assert inv.hosts["teacher01"].connection.user == "teacher"
    assert inv.hosts["docker01"].connection.address == "192.168.56.11"
    book = load_playbook(ROOT / "playbooks" / "docker-ce.yml")
    assert validate(book, inv, {}) == []


def test_two_loops_on_a_task_are_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- hosts: all\n  tasks:\n"
        "    - package: {name: lvm2}\n      failed_when: false\n"
        "    - debug: {msg: hi}\n      loop: [1]\n      with_items: [2]\n",
    )
    [only] = errors_of(path)  # failed_when on a package task is Ansible's, and ours
    assert only.startswith(f"{path}:6:") and "'loop' or 'with_items', not both" in only


@pytest.mark.parametrize(
    ("vars_yaml", "extra", "source"),
    [
        ("  vars: {login_user: bob}\n", {}, "play vars set login_user"),
        ("", {"inventory_hostname": "x"}, "extra vars (-e) set inventory_hostname"),
    ],
)
def test_magic_variables_cannot_be_set(
    tmp_path: Path, vars_yaml: str, extra: dict[str, str], source: str
) -> None:
    path = write(tmp_path, f"- hosts: all\n{vars_yaml}  tasks:\n    - debug: {{msg: hi}}\n")
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    web1: {host: 10.0.0.5}\n")
    [problem] = validate(load_playbook(path), load_inventory(inv), extra)
    assert source in problem and "provision sets these itself" in problem


def test_magic_variables_cannot_be_set_in_task_vars(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- hosts: all\n  tasks:\n    - debug: {msg: hi}\n      vars: {group_names: [x]}\n",
    )
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    web1: {host: 10.0.0.5}\n")
    [problem] = validate(load_playbook(path), load_inventory(inv), {})
    assert problem.startswith(f"{path}:3:") and "task vars set group_names" in problem


@pytest.mark.parametrize(
    ("task", "problem"),
    [
        ("when: 'a ==='", "template syntax error in 'a ===': unexpected '='"),
        ("when: ['x', '{{ y ) }}']", "template syntax error in '{{ y ) }}'"),
        ("when: 'a) or (b'", "template syntax error in 'a) or (b'"),
        ("loop: '{{ [1, }}'", "template syntax error in '{{ [1, }}'"),
        ("vars: {z: '{{ 1 + }}'}", "template syntax error in '{{ 1 + }}'"),
        ("changed_when: 'rc =='", "template syntax error in 'rc =='"),
        ("failed_when: ['{{ rc ]] }}']", "template syntax error in '{{ rc ]] }}'"),
        ("vars: {group_names: [x]}", "task vars set group_names: provision sets these itself"),
    ],
)
def test_validate_without_inventory_checks_conditions_loops_and_magic(
    tmp_path: Path, task: str, problem: str
) -> None:
    path = write(tmp_path, f"- hosts: all\n  tasks:\n    - command: 'true'\n      {task}\n")
    [found] = validate(load_playbook(path), None, {})
    assert found.startswith(f"{path}:3:7: {problem}"), found


@pytest.mark.parametrize("name", ["inventory_hostname", "group_names", "login_user"])
def test_validate_without_inventory_refuses_magic_play_vars(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, f"- hosts: all\n  vars: {{{name}: x}}\n  tasks: []\n")
    [found] = validate(load_playbook(path), None, {})
    assert found == f"{path}:1:3: play vars set {name}: provision sets these itself"


def test_validate_without_inventory_accepts_good_conditions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- hosts: all\n  tasks:\n    - command: 'true'\n"
        "      when: [x == 1, '{{ y }}', true, x is defined, \"'{' in z\"]\n"
        "      changed_when: false\n      loop: '{{ [1, 2] }}'\n",
    )
    assert validate(load_playbook(path), None, {}) == []


def _inventory(tmp_path: Path) -> Path:
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    web1: {host: 10.0.0.5}\n")
    return inv


@pytest.mark.parametrize(
    ("play", "problem"),
    [
        (
            "  vars: {a: '{{ b }}', b: '{{ a }}'}\n  tasks:\n    - debug: {msg: '{{ a }}'}\n",
            "4:7: variable refers to itself: a → b → a (host web1)",
        ),
        (
            "  vars: {a: '{{ a }}'}\n  tasks:\n    - debug: {msg: hi}\n      when: a\n",
            "4:7: variable refers to itself: a → a (host web1)",
        ),
        (
            "  vars: {a: '{{ a }}'}\n  vars_files: ['{{ a }}.yml']\n  tasks: []\n",
            "1:3: variable refers to itself: a → a (host web1)",
        ),
    ],
)
def test_variable_cycles_name_the_place(tmp_path: Path, play: str, problem: str) -> None:
    path = write(tmp_path, f"- hosts: all\n{play}")
    [found] = validate(load_playbook(path), load_inventory(_inventory(tmp_path)), {})
    assert found == f"{path}:{problem}"


@pytest.mark.parametrize(
    ("hosts", "problem"),
    [
        ("~web[", "unbalanced '[' or ']' in host pattern '~web['"),
        ("~web(", "invalid regex in host pattern '~web('"),
        ("!", "host pattern term '!' names nothing"),
    ],
)
def test_bad_play_host_patterns_name_the_play(tmp_path: Path, hosts: str, problem: str) -> None:
    path = write(tmp_path, f"- name: p\n  hosts: {hosts!r}\n  tasks: []\n")
    with pytest.raises(InputError) as exc:
        validate(load_playbook(path), load_inventory(_inventory(tmp_path)), {})
    assert str(exc.value).startswith(f"{path}:1:3: {problem}")
