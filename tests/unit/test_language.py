"""Roles, blocks, includes, set_fact, include_vars, meta and precedence, run on
'hosts' that are temp directories driven by a real local sh (see test_runner)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import PlaybookErrors
from provisioner.events import Status
from provisioner.playbook.load import load_playbook
from provisioner.validate import warnings
from tests.unit.test_runner import lab, play, run, statuses

__all__ = ["lab"]  # the fixture, shared with test_runner


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def value(lab: dict[str, Any], host: str, name: str) -> str | None:
    path = lab["dir"] / host / name
    return path.read_text().strip() if path.exists() else None


def errors_of(path: Path) -> list[str]:
    with pytest.raises(PlaybookErrors) as exc:
        load_playbook(path)
    return [str(e) for e in exc.value.errors]


# --- roles ---------------------------------------------------------------------------

ROLE_FILES = {
    "roles/base/defaults/main.yml": "greeting: hello\nshared: from-base-defaults\n",
    "roles/base/tasks/main.yml": (
        "- name: base writes\n  test_flag: {path: base, value: '{{ greeting }}'}\n"
    ),
    "roles/web/meta/main.yml": "dependencies:\n  - base\n",
    "roles/web/defaults/main.yml": "port: '80'\n",
    "roles/web/vars/main.yml": "where: '{{ role_name }}'\n",
    "roles/web/tasks/main.yml": (
        "- name: web writes\n  test_flag: {path: web, value: '{{ where }}:{{ port }}'}\n"
        "  notify: web changed\n"
    ),
    "roles/web/handlers/main.yml": (
        "- name: web changed\n  test_flag: {path: handled, value: '{{ port }}'}\n"
    ),
}


def test_a_play_runs_its_roles_dependencies_first_handlers_and_params(lab: dict[str, Any]) -> None:
    write(lab["dir"], ROLE_FILES)
    book = play(
        lab["dir"],
        "- hosts: h1\n  roles:\n    - role: web\n      port: '8080'\n    - base\n"
        "  tasks:\n    - name: after\n      test_flag: {path: after, value: done}\n",
    )
    summary = run(lab, book)
    # base runs once: as web's dependency; the second mention is the same role.
    assert statuses(summary, "h1") == [
        "base writes:changed",
        "web writes:changed",
        "web changed:changed",
        "after:changed",
    ]
    assert value(lab, "h1", "web") == "web:8080"  # role vars, role params over defaults
    assert value(lab, "h1", "handled") == "8080"  # flushed after the roles section
    assert run(lab, book).hosts["h1"].changed == 0


def test_a_missing_role_lists_where_it_looked(lab: dict[str, Any]) -> None:
    book = play(lab["dir"], "- hosts: all\n  roles: [nowhere]\n")
    [msg] = errors_of(book)
    assert "role 'nowhere' not found" in msg
    assert str(lab["dir"] / "roles" / "nowhere") in msg and "play.yml:2" in msg


def test_a_role_found_by_the_roles_path_variable(
    lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path_factory.mktemp("galaxy")
    write(elsewhere, {"ns.thing/tasks/main.yml": "- test_flag: {path: galaxy, value: ok}\n"})
    monkeypatch.setenv("ANSIBLE_ROLES_PATH", str(elsewhere))
    run(lab, play(lab["dir"], "- hosts: h1\n  roles: [ns.thing]\n"))
    assert value(lab, "h1", "galaxy") == "ok"


def test_a_role_dependency_cycle_is_named(lab: dict[str, Any]) -> None:
    write(
        lab["dir"],
        {
            "roles/a/meta/main.yml": "dependencies: [b]\n",
            "roles/b/meta/main.yml": "dependencies: [a]\n",
        },
    )
    [msg] = errors_of(play(lab["dir"], "- hosts: all\n  roles: [a]\n"))
    assert "cycle: a → b → a" in msg


def test_import_role_tasks_from_and_include_role_when(lab: dict[str, Any]) -> None:
    write(
        lab["dir"],
        {
            "roles/r/tasks/main.yml": "- test_flag: {path: main, value: m}\n",
            "roles/r/tasks/other.yml": "- test_flag: {path: other, value: '{{ v }}'}\n",
        },
    )
    book = play(
        lab["dir"],
        "- hosts: h1\n  tasks:\n"
        "    - import_role: {name: r, tasks_from: other}\n      vars: {v: imported}\n"
        "    - include_role: {name: r}\n      when: false\n",
    )
    summary = run(lab, book)
    assert value(lab, "h1", "other") == "imported"
    assert value(lab, "h1", "main") is None
    assert [r.status for r in summary.results][-1] is Status.SKIPPED


# --- precedence ------------------------------------------------------------------------

# Where `x` is defined → the value a role's task sees (Ansible's documented order).
LEVELS = (
    "role_defaults",
    "group_vars",
    "host_vars",
    "play_vars",
    "vars_files",
    "role_vars",
    "block_vars",
    "task_vars",
    "include_vars",
    "set_fact",
    "role_params",
    "extra_vars",
)
PRECEDENCE = [
    (("role_defaults",), "role_defaults"),
    (("role_defaults", "group_vars"), "group_vars"),
    (("group_vars", "host_vars"), "host_vars"),
    (("host_vars", "play_vars"), "play_vars"),
    (("play_vars", "vars_files"), "vars_files"),
    (("vars_files", "role_vars"), "role_vars"),
    (("role_vars", "block_vars"), "block_vars"),
    (("block_vars", "task_vars"), "task_vars"),
    (("task_vars", "include_vars"), "include_vars"),
    (("include_vars", "set_fact"), "set_fact"),
    (("set_fact", "role_params"), "role_params"),
    (("role_params", "extra_vars"), "extra_vars"),
    (LEVELS, "extra_vars"),
    (("role_defaults", "set_fact"), "set_fact"),
    (("host_vars", "role_defaults"), "host_vars"),
]


def _precedence_files(levels: tuple[str, ...]) -> dict[str, str]:
    def x(level: str) -> str:
        return f"x: {level}\n" if level in levels else ""

    block_vars = "  vars: {x: block_vars}\n" if "block_vars" in levels else ""
    task_vars = "      vars: {x: task_vars}\n" if "task_vars" in levels else ""
    tasks = ""
    if "include_vars" in levels:
        tasks += "- include_vars: more.yml\n"
    if "set_fact" in levels:
        tasks += "- set_fact: {x: set_fact}\n"
    tasks += (
        "- block:\n    - name: see\n      test_flag: {path: seen, value: '{{ x }}'}\n"
        + task_vars
        + block_vars
    )
    params = "      x: role_params\n" if "role_params" in levels else ""
    return {
        "hosts.yml": "all:\n  children:\n    g:\n      hosts:\n        h1:\n"
        + (f"          {x('host_vars')}" if "host_vars" in levels else "")
        + (f"      vars:\n        {x('group_vars')}" if "group_vars" in levels else ""),
        "roles/r/defaults/main.yml": x("role_defaults"),
        "roles/r/vars/main.yml": x("role_vars"),
        "roles/r/vars/more.yml": "x: include_vars\n",
        "roles/r/tasks/main.yml": tasks,
        "files.yml": x("vars_files"),
        "play.yml": "- hosts: h1\n"
        + (f"  vars:\n    {x('play_vars')}" if "play_vars" in levels else "")
        + "  vars_files: [files.yml]\n"
        + "  roles:\n    - role: r\n"
        + params,
    }


@pytest.mark.parametrize(
    ("levels", "wins"), PRECEDENCE, ids=[f"{w}-{len(ls)}" for ls, w in PRECEDENCE]
)
def test_variable_precedence(lab: dict[str, Any], levels: tuple[str, ...], wins: str) -> None:
    write(lab["dir"], _precedence_files(levels))
    extra = {"x": "extra_vars"} if "extra_vars" in levels else {}
    summary = run(lab, lab["dir"] / "play.yml", extra_vars=extra, limit="h1")
    assert summary.exit_code == 0, [r.msg for r in summary.results]
    assert value(lab, "h1", "seen") == wins


# --- blocks ------------------------------------------------------------------------------

BREAKS = "test_flag: {path: /nonexistent/dir/x, value: v}"  # cannot be written: fails


def test_a_failure_in_block_runs_rescue_and_always_and_the_host_goes_on(
    lab: dict[str, Any],
) -> None:
    book = play(
        lab["dir"],
        f"""
- hosts: h1
  tasks:
    - block:
        - name: breaks
          {BREAKS}
        - name: never
          test_flag: {{path: never, value: v}}
      rescue:
        - name: mend
          test_flag: {{path: mend, value: "{{{{ ansible_failed_task.name }}}}"}}
      always:
        - name: tidy
          test_flag: {{path: tidy, value: v}}
    - name: next
      test_flag: {{path: next, value: v}}
""",
    )
    summary = run(lab, book)
    assert statuses(summary, "h1") == [
        "breaks:failed",
        "mend:changed",
        "tidy:changed",
        "next:changed",
    ]
    assert value(lab, "h1", "mend") == "breaks"
    assert value(lab, "h1", "never") is None
    stats = summary.hosts["h1"]
    assert (stats.failed, stats.rescued) == (0, 1)
    assert summary.exit_code == 0


def test_a_failure_in_rescue_fails_the_host_after_always(lab: dict[str, Any]) -> None:
    book = play(
        lab["dir"],
        f"""
- hosts: h1
  tasks:
    - block:
        - name: breaks
          {BREAKS}
      rescue:
        - name: breaks too
          {BREAKS}
      always:
        - name: tidy
          test_flag: {{path: tidy, value: v}}
    - name: next
      test_flag: {{path: next, value: v}}
""",
    )
    summary = run(lab, book)
    assert statuses(summary, "h1") == ["breaks:failed", "breaks too:failed", "tidy:changed"]
    assert summary.hosts["h1"].failed == 1 and summary.exit_code == 2


def test_a_failure_in_always_fails_the_host(lab: dict[str, Any]) -> None:
    book = play(
        lab["dir"],
        f"""
- hosts: h1
  tasks:
    - block:
        - name: fine
          test_flag: {{path: fine, value: v}}
      always:
        - name: breaks
          {BREAKS}
    - name: next
      test_flag: {{path: next, value: v}}
""",
    )
    summary = run(lab, book)
    assert statuses(summary, "h1") == ["fine:changed", "breaks:failed"]
    assert summary.exit_code == 2


def test_block_keywords_reach_its_tasks_and_nested_blocks(lab: dict[str, Any]) -> None:
    book = play(
        lab["dir"],
        f"""
- hosts: all
  tasks:
    - block:
        - block:
            - name: inner
              test_flag: {{path: inner, value: "{{{{ v }}}}"}}
          vars: {{v: nested}}
        - name: tolerated
          {BREAKS}
      when: inventory_hostname == 'h1'
      ignore_errors: true
      vars: {{v: outer}}
    - name: next
      test_flag: {{path: next, value: v}}
""",
    )
    summary = run(lab, book)
    assert statuses(summary, "h1") == ["inner:changed", "tolerated:failed", "next:changed"]
    assert statuses(summary, "h2") == ["inner:skipped", "tolerated:skipped", "next:changed"]
    assert value(lab, "h1", "inner") == "nested"
    assert summary.hosts["h1"].ignored == 1 and summary.exit_code == 0


def test_rescue_without_block_is_an_error(lab: dict[str, Any]) -> None:
    [msg] = errors_of(play(lab["dir"], "- hosts: all\n  tasks:\n    - rescue: []\n"))
    assert "'rescue' without 'block'" in msg and "play.yml:3" in msg


# --- includes ----------------------------------------------------------------------------


def test_include_tasks_decides_per_host_with_loop_and_vars(lab: dict[str, Any]) -> None:
    write(
        lab["dir"],
        {
            "h1.yml": "- name: one\n  test_flag: {path: 'f{{ item }}', value: '{{ label }}'}\n",
            "h2.yml": "- name: two\n  test_flag: {path: two, value: '2'}\n",
        },
    )
    book = play(
        lab["dir"],
        "- hosts: all\n  tasks:\n    - include_tasks: '{{ inventory_hostname }}.yml'\n"
        "      loop: [a, b]\n      vars: {label: L}\n      when: inventory_hostname == 'h1'\n"
        "    - include_tasks: h2.yml\n      when: inventory_hostname == 'h2'\n",
    )
    summary = run(lab, book)
    assert value(lab, "h1", "fa") == "L" and value(lab, "h1", "fb") == "L"
    assert value(lab, "h2", "two") == "2" and value(lab, "h1", "two") is None
    assert summary.exit_code == 0


def test_import_tasks_errors_carry_the_imported_files_line(lab: dict[str, Any]) -> None:
    write(lab["dir"], {"sub.yml": "- name: fine\n  debug: {}\n- name: typo\n  pakage: {}\n"})
    [msg] = errors_of(play(lab["dir"], "- hosts: all\n  tasks:\n    - import_tasks: sub.yml\n"))
    assert "sub.yml:4:3" in msg and "pakage" in msg


@pytest.mark.parametrize(
    ("task", "says"),
    [
        ("- include_tasks: missing.yml", "no tasks file"),
        ("- import_tasks: missing.yml", "no tasks file"),
        ("- import_tasks: x.yml\n      loop: [1]", "import_tasks cannot loop"),
        ("- import_tasks: '{{ x }}.yml'", "not a template"),
        ("- import_role: {name: r, bogus: 1}", "unknown import_role option 'bogus'"),
    ],
)
def test_include_errors_at_load(lab: dict[str, Any], task: str, says: str) -> None:
    [msg] = errors_of(play(lab["dir"], f"- hosts: all\n  tasks:\n    {task}\n"))
    assert says in msg and "play.yml:3" in msg


def test_tasks_files_that_import_each_other_are_a_load_error(lab: dict[str, Any]) -> None:
    write(lab["dir"], {"a.yml": "- import_tasks: b.yml\n", "b.yml": "- import_tasks: a.yml\n"})
    [msg] = errors_of(play(lab["dir"], "- hosts: all\n  tasks:\n    - import_tasks: a.yml\n"))
    assert "a.yml → b.yml → a.yml" in msg


# --- set_fact, include_vars, meta, fail, unsupported modules -----------------------------


def test_set_fact_is_seen_by_later_tasks_and_later_plays(lab: dict[str, Any]) -> None:
    book = play(
        lab["dir"],
        "- hosts: h1\n  tasks:\n    - set_fact: {color: '{{ base }}-ish', cacheable: true}\n"
        "      vars: {base: blue}\n"
        "- hosts: h1\n  tasks:\n    - test_flag: {path: color, value: '{{ color }}'}\n",
    )
    assert run(lab, book).exit_code == 0
    assert value(lab, "h1", "color") == "blue-ish"


def test_include_vars_first_found_in_the_roles_vars(lab: dict[str, Any]) -> None:
    write(
        lab["dir"],
        {
            "roles/r/vars/main.yml": "pkgs: main\n",
            "roles/r/vars/Special.yml": "pkgs: special\n",
            "roles/r/tasks/main.yml": (
                "- include_vars: '{{ kind }}.yml'\n- test_flag: {path: pkgs, value: '{{ pkgs }}'}\n"
            ),
        },
    )
    run(lab, play(lab["dir"], "- hosts: h1\n  vars: {kind: Special}\n  roles: [r]\n"))
    assert value(lab, "h1", "pkgs") == "special"


def test_meta_flush_handlers_runs_notified_handlers_then(lab: dict[str, Any]) -> None:
    book = play(
        lab["dir"],
        "- hosts: h1\n  tasks:\n    - name: change\n      test_flag: {path: a, value: v}\n"
        "      notify: h\n    - meta: flush_handlers\n"
        "    - name: later\n      test_flag: {path: b, value: v}\n"
        "  handlers:\n    - name: h\n      test_flag: {path: handled, value: v}\n",
    )
    assert statuses(run(lab, book), "h1") == ["change:changed", "h:changed", "later:changed"]


def test_meta_end_host_stops_that_host_without_failing(lab: dict[str, Any]) -> None:
    book = play(
        lab["dir"],
        "- hosts: all\n  tasks:\n    - meta: end_host\n      when: inventory_hostname == 'h1'\n"
        "    - name: rest\n      test_flag: {path: rest, value: v}\n",
    )
    summary = run(lab, book)
    assert value(lab, "h1", "rest") is None and value(lab, "h2", "rest") == "v"
    assert summary.exit_code == 0


def test_fail_stops_the_host_with_its_message(lab: dict[str, Any]) -> None:
    book = play(lab["dir"], "- hosts: h1\n  tasks:\n    - fail: {msg: not on a Tuesday}\n")
    summary = run(lab, book)
    assert summary.results[-1].msg == "not on a Tuesday" and summary.exit_code == 2


def test_a_module_we_do_not_have_fails_only_where_it_would_run(lab: dict[str, Any]) -> None:
    book = play(
        lab["dir"],
        "- hosts: all\n  tasks:\n    - name: debian only\n      apt: {name: nginx}\n"
        "      when: inventory_hostname == 'h2'\n"
        "    - name: next\n      ansible.builtin.debug: {msg: hi}\n",
    )
    summary = run(lab, book)
    assert statuses(summary, "h1") == ["debian only:skipped", "next:ok"]
    [h2] = [r for r in summary.results if r.host == "h2" and r.task == "debian only"]
    assert h2.status is Status.FAILED
    assert h2.msg == "module 'apt' is not supported yet (the task would run on h2)"


def test_a_misspelt_module_is_still_a_load_error(lab: dict[str, Any]) -> None:
    [msg] = errors_of(play(lab["dir"], "- hosts: all\n  tasks:\n    - pakage: {name: x}\n"))
    assert "unknown module or task keyword 'pakage'" in msg and "package" in msg


def test_templated_ignore_errors_and_check_mode_false(lab: dict[str, Any]) -> None:
    book = play(
        lab["dir"],
        "- hosts: h1\n  tasks:\n    - name: tolerated in a dry run\n      fail: {msg: no}\n"
        "      ignore_errors: '{{ ansible_check_mode }}'\n"
        "    - name: real even in a dry run\n      test_flag: {path: real, value: v}\n"
        "      check_mode: false\n",
    )
    dry = run(lab, book, check=True)
    assert statuses(dry, "h1") == [
        "tolerated in a dry run:failed",
        "real even in a dry run:changed",
    ]
    assert dry.hosts["h1"].ignored == 1
    assert value(lab, "h1", "real") == "v"


# --- loops, until, environment ------------------------------------------------------------


@pytest.mark.parametrize(
    ("loop", "expected"),
    [
        ("with_items: [[a, b], c]", ["a", "b", "c"]),
        ("loop: [[a, b], c]", ["['a', 'b']", "c"]),
        ("with_dict: {k1: v1, k2: v2}", ["k1=v1", "k2=v2"]),
        ("with_together: [[a, b], [1, 2]]", ["a1", "b2"]),
        ("with_nested: [[a, b], [1, 2]]", ["a1", "a2", "b1", "b2"]),
        ("with_subelements: [[{n: u1, ks: [x, y]}, {n: u2, ks: [z]}], ks]", ["u1x", "u1y", "u2z"]),
        ("with_indexed_items: [a, b]", ["0a", "1b"]),
    ],
)
def test_with_loops_shape_items_as_ansible_does(
    lab: dict[str, Any], loop: str, expected: list[str]
) -> None:
    shown = {
        "with_dict": "{{ item.key }}={{ item.value }}",
        "with_together": "{{ item[0] }}{{ item[1] }}",
        "with_nested": "{{ item[0] }}{{ item[1] }}",
        "with_subelements": "{{ item[0].n }}{{ item[1] }}",
        "with_indexed_items": "{{ item[0] }}{{ item[1] }}",
    }.get(loop.split(":")[0], "{{ item }}")
    book = play(
        lab["dir"],
        f"- hosts: h1\n  tasks:\n    - debug: {{msg: '{shown}'}}\n      {loop}\n",
    )
    summary = run(lab, book)
    assert [r.msg for r in summary.results] == expected


def test_with_first_found_and_fileglob_look_in_the_role_first(lab: dict[str, Any]) -> None:
    write(
        lab["dir"],
        {
            "roles/r/files/a.conf": "",
            "roles/r/files/b.conf": "",
            "roles/r/vars/Linux.yml": "",
            "roles/r/tasks/main.yml": (
                "- debug: {msg: '{{ item | basename }}'}\n"
                "  with_first_found: [Nope.yml, Linux.yml]\n"
                "- debug: {msg: '{{ item | basename }}'}\n  with_fileglob: ['*.conf']\n"
            ),
        },
    )
    summary = run(lab, play(lab["dir"], "- hosts: h1\n  roles: [r]\n"))
    assert [r.msg for r in summary.results] == ["Linux.yml", "a.conf", "b.conf"]


def test_loop_control_names_the_item_index_and_label(lab: dict[str, Any]) -> None:
    book = play(
        lab["dir"],
        "- hosts: h1\n  tasks:\n    - debug: {msg: '{{ i }}:{{ user.name }}'}\n"
        "      loop: [{name: ann, secret: s1}, {name: bob, secret: s2}]\n"
        "      loop_control: {loop_var: user, index_var: i, label: '{{ user.name }}'}\n",
    )
    summary = run(lab, book)
    assert [(r.msg, r.item) for r in summary.results] == [("0:ann", "ann"), ("1:bob", "bob")]


def test_until_retries_a_command_until_it_holds(lab: dict[str, Any]) -> None:
    book = play(
        lab["dir"],
        "- hosts: h1\n  tasks:\n    - command: sh -c 'echo x >> tries; wc -l < tries'\n"
        "      register: r\n      until: r.stdout | int >= 3\n      retries: 5\n      delay: 0\n"
        "    - command: 'false'\n      register: never\n      until: never.rc == 0\n"
        "      retries: 1\n      delay: 0\n",
    )
    summary = run(lab, book)
    assert (lab["dir"] / "h1" / "tries").read_text().count("x") == 3
    assert summary.results[0].status is Status.CHANGED
    assert summary.results[1].status is Status.FAILED
    assert "after 2 attempt(s)" in summary.results[1].msg


def test_environment_reaches_the_commands_quoted(lab: dict[str, Any]) -> None:
    book = play(
        lab["dir"],
        "- hosts: h1\n  tasks:\n    - shell: printf '%s' \"$GREETING\" > env.txt\n"
        '      environment: {GREETING: "it\'s $(not run)"}\n',
    )
    assert run(lab, book).exit_code == 0
    assert (lab["dir"] / "h1" / "env.txt").read_text() == "it's $(not run)"


def test_include_vars_of_a_first_found_lookup_as_popular_roles_write_it(
    lab: dict[str, Any],
) -> None:
    write(
        lab["dir"],
        {
            "roles/r/vars/main.yml": "pick: main\n",
            "roles/r/vars/Family.yml": "pick: family\n",
            "roles/r/tasks/main.yml": (
                "- include_vars: \"{{ lookup('first_found', params) }}\"\n"
                "  vars:\n    params:\n      files:\n        - '{{ distro }}.yml'\n"
                "        - '{{ family }}.yml'\n        - main.yml\n      paths:\n        - 'vars'\n"
                "- test_flag: {path: pick, value: '{{ pick }}'}\n"
            ),
        },
    )
    book = play(lab["dir"], "- hosts: h1\n  vars: {distro: Nope, family: Family}\n  roles: [r]\n")
    assert run(lab, book).exit_code == 0
    assert value(lab, "h1", "pick") == "family"


def test_validate_warns_of_what_loads_but_would_fail_where_it_runs(lab: dict[str, Any]) -> None:
    book = play(
        lab["dir"],
        "- hosts: all\n  tasks:\n    - name: debian only\n      ansible.builtin.apt: {name: x}\n"
        "      when: false\n    - name: elsewhere\n      command: 'true'\n"
        "      delegate_to: db01\n    - name: here\n      command: 'true'\n"
        "      delegate_to: localhost\n",
    )
    found = warnings(load_playbook(book))
    assert found == [
        f"{book}:3:7: module 'ansible.builtin.apt' is not supported yet: the task fails on a"
        " host where it would run (skipped where its `when` is false)",
        f"{book}:6:7: delegate_to 'db01': only the controller (localhost) is supported yet:"
        " the task fails where it would run",
    ]


def test_a_role_included_by_a_templated_name_brings_its_handlers(lab: dict[str, Any]) -> None:
    write(
        lab["dir"],
        {
            "roles/web/tasks/main.yml": (
                "- name: configure\n  test_flag: {path: conf, value: v}\n  notify: reload web\n"
            ),
            "roles/web/handlers/main.yml": (
                "- name: reload web\n  test_flag: {path: reloaded, value: 'yes-{{ which }}'}\n"
            ),
        },
    )
    book = play(
        lab["dir"],
        "- hosts: h1\n  vars: {which: web}\n  tasks:\n    - include_role: {name: '{{ which }}'}\n",
    )
    summary = run(lab, book)
    assert statuses(summary, "h1")[-2:] == ["configure:changed", "reload web:changed"]
    assert value(lab, "h1", "reloaded") == "yes-web"


def test_a_roles_copy_and_template_read_a_relative_src_in_the_role_first(
    lab: dict[str, Any],
) -> None:
    write(
        lab["dir"],
        {
            "roles/web/files/motd": "from the role's files\n",
            "roles/web/templates/site.conf.j2": "port={{ port }}\n",
            "roles/web/tasks/main.yml": (
                "- copy: {src: motd, dest: '{{ out }}/motd'}\n"
                "- template: {src: site.conf.j2, dest: '{{ out }}/site.conf'}\n"
                "- copy: {src: beside-playbook.txt, dest: '{{ out }}/other'}\n"
            ),
            "beside-playbook.txt": "from the playbook's folder\n",
        },
    )
    out = lab["dir"] / "h1"
    book = play(
        lab["dir"],
        f"- hosts: h1\n  vars: {{port: '8080', out: '{out}'}}\n  roles: [web]\n",
    )
    summary = run(lab, book)
    assert summary.exit_code == 0, [r.msg for r in summary.results]
    assert (out / "motd").read_text() == "from the role's files\n"
    assert (out / "site.conf").read_text() == "port=8080\n"
    assert (out / "other").read_text() == "from the playbook's folder\n"


def test_include_tasks_apply_inside_its_options_reaches_the_included_tasks(
    lab: dict[str, Any],
) -> None:
    write(lab["dir"], {"extra.yml": "- name: inner\n  test_flag: {path: inner, value: v}\n"})
    book = play(
        lab["dir"],
        "- hosts: h1\n  tasks:\n    - include_tasks:\n        file: extra.yml\n"
        "        apply: {tags: [deploy]}\n      tags: [deploy]\n"
        "    - name: other\n      test_flag: {path: other, value: v}\n",
    )
    summary = run(lab, book, tags=frozenset({"deploy"}))
    assert statuses(summary, "h1") == ["include_tasks extra.yml:ok", "inner:changed"]
    bad = play(
        lab["dir"],
        "- hosts: h1\n  tasks:\n    - include_tasks: {file: extra.yml, apply: {delegate: x}}\n",
    )
    [msg] = errors_of(bad)
    assert "apply takes the keywords a block hands down, not 'delegate'" in msg


def test_role_vars_are_the_plays_but_an_included_roles_stay_its_own(lab: dict[str, Any]) -> None:
    write(
        lab["dir"],
        {
            "roles/shown/vars/main.yml": "shown_port: '8080'\n",
            "roles/shown/tasks/main.yml": "- debug: {msg: shown}\n",
            "roles/hidden/vars/main.yml": "hidden_port: '9090'\n",
            "roles/hidden/tasks/main.yml": "- debug: {msg: hidden}\n",
        },
    )
    book = play(
        lab["dir"],
        "- hosts: h1\n  roles: [shown]\n  tasks:\n"
        "    - include_role: {name: hidden}\n"
        "    - include_role: {name: hidden}\n"  # included twice: runs twice
        "    - name: after\n"
        "      test_flag: {path: seen, value: \"{{ shown_port }} {{ hidden_port | d('-') }}\"}\n",
    )
    summary = run(lab, book)
    assert value(lab, "h1", "seen") == "8080 -"
    assert [r.msg for r in summary.results if r.module == "debug"] == ["shown", "hidden", "hidden"]


def test_a_dry_run_says_decided_at_apply_for_what_a_would_change_task_decides(
    lab: dict[str, Any],
) -> None:
    write(lab["dir"], {"web.yml": "- name: inner\n  test_flag: {path: inner, value: v}\n"})
    book = play(
        lab["dir"],
        "- hosts: h1\n  tasks:\n"
        "    - name: which\n      command: echo web\n      register: out\n"
        "    - name: remember\n      set_fact: {kind: '{{ out.stdout }}'}\n"
        "    - name: write\n      test_flag: {path: kind, value: '{{ kind }}'}\n"
        "    - include_tasks: '{{ out.stdout }}.yml'\n",
    )
    dry = run(lab, book, check=True)
    got = {r.task: (r.status, r.undecided) for r in dry.results}
    assert got == {
        "which": (Status.CHANGED, False),  # would run
        "remember": (Status.OK, True),  # set_fact changes no host: ok, at apply
        "write": (Status.CHANGED, True),  # it may change the host: would change
        "include_tasks {{ out.stdout }}.yml": (Status.OK, True),
    }
    include = dry.results[-1]
    assert include.msg == (
        "would include {{ out.stdout }}.yml (decided at apply: it reads out, which 'which' decides)"
    )
    assert value(lab, "h1", "kind") is None  # a dry run
    applied = run(lab, book)
    assert statuses(applied, "h1")[-2:] == [
        "include_tasks {{ out.stdout }}.yml:ok",
        "inner:changed",
    ]
    assert not any(r.undecided for r in applied.results)


def test_includes_and_imports_by_their_ansible_builtin_names(lab: dict[str, Any]) -> None:
    write(
        lab["dir"],
        {
            "more.yml": "- name: more\n  test_flag: {path: more, value: v}\n",
            "roles/r/tasks/main.yml": "- name: in role\n  test_flag: {path: role, value: v}\n",
            "other.yml": "- hosts: h1\n  tasks:\n    - name: other play\n      debug: {msg: hi}\n",
        },
    )
    book = play(
        lab["dir"],
        "- hosts: h1\n  tasks:\n"
        "    - ansible.builtin.import_tasks: more.yml\n"
        "    - ansible.builtin.include_tasks: more.yml\n"
        "    - ansible.builtin.import_role: {name: r}\n"
        "    - ansible.legacy.include_role: {name: r}\n"
        "- ansible.builtin.import_playbook: other.yml\n",
    )
    summary = run(lab, book)
    assert summary.exit_code == 0, [r.msg for r in summary.results]
    assert statuses(summary, "h1") == [
        "more:changed",
        "include_tasks more.yml:ok",
        "more:ok",
        "in role:changed",
        "include_role r:ok",
        "in role:ok",
        "other play:ok",
    ]
