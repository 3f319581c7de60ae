"""A corpus of bad input, each case run through the real CLI: exit code 1, nothing on
stdout, exactly one error, naming the file and line (or the `-e`/`--limit`
option), no traceback, within a time limit and a memory cap.

Each case is a set of files in a fresh directory and a command line. The runs go
through `CliServer` (this tree's entry point in a child process per run, killed
past TIMEOUT, its address space capped at MEMORY): a bomb that would allocate
gigabytes fails its case with a MemoryError traceback instead of taking the
machine. `test_the_server_runs_what_a_user_runs` checks a sample against a fresh
interpreter (`run_cli.provision`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.unit.run_cli import CliServer, Ran, provision

TIMEOUT = 10.0  # seconds; a run at the limits takes well under one
MEMORY = 1 << 30  # bytes of address space; the interpreter with its imports maps ~0.1 GB

INVENTORY = "all:\n  hosts:\n    web1: {host: 10.0.0.5}\n"
PLAYBOOK = "- hosts: all\n  tasks:\n    - debug: {msg: hi}\n"
VALIDATE = ("validate", "site.yml", "-i", "hosts.yml")
LIST = ("inventory", "-i", "hosts.yml", "--list")


@dataclass(frozen=True)
class Case:
    id: str
    files: dict[str, str | bytes]
    args: tuple[str, ...]
    where: str  # how the error line starts after "error: ": file:line[:col], or the option
    says: str  # and a piece of what it says
    secret: str | None = None  # must not be shown
    line: bool = True  # False: a problem of the whole file (its size, a missing file)


def play(
    text: str | bytes,
    where: str,
    says: str,
    *,
    files: dict[str, str | bytes] | None = None,
    args: tuple[str, ...] = VALIDATE,
    line: bool = True,
    id: str = "",
) -> Case:
    """A playbook case: `text` is site.yml, validated against a good inventory."""
    return Case(
        id,
        {"site.yml": text, "hosts.yml": INVENTORY, **(files or {})},
        args,
        where,
        says,
        line=line,
    )


def task(
    body: str, where: str, says: str, *, files: dict[str, str | bytes] | None = None, id: str = ""
) -> Case:
    """A task case: `body` is the task's lines (indented by 6), after `- `."""
    lines = body.split("\n")
    text = "- hosts: all\n  tasks:\n    - " + "\n      ".join(lines) + "\n"
    return play(text, where, says, files=files, id=id)


def inv(
    text: str | bytes,
    where: str,
    says: str,
    *,
    name: str = "hosts.yml",
    files: dict[str, str | bytes] | None = None,
    line: bool = True,
    secret: str | None = None,
) -> Case:
    """An inventory case: `text` is the inventory file, listed."""
    return Case(
        "",
        {name: text, **(files or {})},
        ("inventory", "-i", name, "--list"),
        where,
        says,
        secret=secret,
        line=line,
    )


def extra(
    args: tuple[str, ...],
    where: str,
    says: str,
    *,
    files: dict[str, str | bytes] | None = None,
    line: bool = True,
) -> Case:
    return Case(
        "",
        {"site.yml": PLAYBOOK, "hosts.yml": INVENTORY, **(files or {})},
        (*VALIDATE, *args),
        where,
        says,
        line=line,
    )


def laughs(levels: int = 9, indent: str = "") -> str:
    """The billion laughs: 9 levels of 9 aliases of the level before."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * 9)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "".join(f"{indent}{line}\n" for line in lines)


def nested(depth: int, indent: str = "") -> str:
    """`depth` mappings, each inside the one before."""
    return "".join(f"{indent}{'  ' * i}k{i}:\n" for i in range(depth))


BIG = "x: " + "y" * (2 * 1024 * 1024) + "\n"
BOMB_VARS = "- hosts: all\n  vars:\n" + laughs(indent="    ")

PLAYS = [
    play("hosts: all\n", "site.yml:1:1", "a playbook is a list of plays", id="not-a-list"),
    play("- just words\n", "site.yml:1:3", "a play must be a mapping", id="play-not-mapping"),
    play(
        "- hosts: all\n  taks: []\n", "site.yml:2:3", "unknown play keyword 'taks'", id="play-typo"
    ),
    play("- tasks: []\n", "site.yml:1:3", "play is missing 'hosts'", id="no-hosts"),
    play("- hosts: {a: 1}\n", "site.yml:1:3", "play 'hosts'", id="hosts-mapping"),
    play("- hosts: ''\n", "site.yml:1:3", "empty host pattern", id="hosts-empty"),
    play("- hosts: '~web('\n", "site.yml:1:3", "invalid regex in host pattern", id="hosts-regex"),
    play("- hosts: '~web['\n", "site.yml:1:3", "unbalanced '['", id="hosts-bracket"),
    play("- hosts: '!'\n", "site.yml:1:3", "term '!' names nothing", id="hosts-bang"),
    play("- hosts: nosuch\n", "site.yml:1:3", "matches no host in the inventory", id="no-match"),
    play("- hosts: all\n  become: maybe\n", "site.yml:2:3", "play 'become'", id="become"),
    play("- hosts: all\n  become_user: [x]\n", "site.yml:2:3", "play 'become_user'", id="bu"),
    play("- hosts: all\n  vars: [1]\n", "site.yml:2:3", "play 'vars'", id="vars-list"),
    play("- hosts: all\n  vars_files: {a: 1}\n", "site.yml:2:3", "vars_files", id="vf-map"),
    play(
        "- hosts: all\n  vars_files: [nope.yml]\n",
        "site.yml:1:3",
        "vars_files: no such file",
        id="vf-missing",
    ),
    play(
        "- hosts: all\n  vars_files: [v.yml]\n",
        "v.yml:1:1",
        "a vars file must be a mapping",
        files={"v.yml": "- a\n"},
        id="vf-list",
    ),
    play(
        "- hosts: all\n  vars_files: [v.yml]\n",
        "v.yml:2:1",
        "YAML error",
        files={"v.yml": "a: 1\n\tb: 2\n"},
        id="vf-syntax",
    ),
    play(
        "- hosts: all\n  vars_files: [v.yml]\n",
        "v.yml:6:",
        "more than 250000 values",
        files={"v.yml": laughs()},
        id="vf-bomb",
    ),
    play(
        "- hosts: all\n  vars_files: [v.yml]\n",
        "v.yml",
        "larger than 2 MiB",
        files={"v.yml": BIG},
        line=False,
        id="vf-big",
    ),
    play(
        "- hosts: all\n  vars_files: [v.yml]\n",
        "site.yml:1:3",
        "vars_files set group_names",
        files={"v.yml": "group_names: [x]\n"},
        id="vf-magic",
    ),
    play(
        "- hosts: all\n  vars_files: ['{{ nope }}.yml']\n",
        "site.yml:1:3",
        "'nope' is undefined",
        id="vf-template",
    ),
    play(
        "- hosts: all\n  vars_files: [/dev/zero]\n",
        "site.yml:1:3",
        "not a regular file",
        id="vf-dev-zero",
    ),
    play(
        "- hosts: all\n  gather_facts: sometimes\n",
        "site.yml:2:3",
        "play 'gather_facts'",
        id="gather",
    ),
    play(
        "- hosts: all\n  tasks: {a: 1}\n", "site.yml:2:3", "'tasks' must be a list", id="tasks-map"
    ),
    play(
        "- hosts: all\n  handlers: 5\n", "site.yml:2:3", "'handlers' must be a list", id="handlers"
    ),
    play("- hosts: all\n  tags: {a: 1}\n", "site.yml:2:3", "play 'tags", id="play-tags"),
    play("- hosts: all\n  name: [1]\n", "site.yml:2:3", "play 'name'", id="play-name"),
    play("- hosts: all\n  hosts: web1\n", "site.yml:2:3", "duplicate key 'hosts'", id="dup-key"),
    play(
        "- hosts: all\n  vars: {inventory_hostname: x}\n",
        "site.yml:1:3",
        "play vars set inventory_hostname",
        id="magic-host",
    ),
    play(
        "- hosts: all\n  vars: {ansible_check_mode: true}\n",
        "site.yml:1:3",
        "play vars set ansible_check_mode",
        id="magic-check",
    ),
    play(
        "- hosts: all\n  vars: {login_user: x}\n",
        "site.yml:1:3",
        "play vars set login_user",
        args=("validate", "site.yml"),
        id="magic-no-inventory",
    ),
    play(BOMB_VARS, "site.yml:8:", "more than 250000 values", id="vars-bomb"),
    play(
        BOMB_VARS,
        "site.yml:8:",
        "more than 250000 values",
        args=("apply", "--check", "site.yml"),
        id="vars-bomb-apply-check",
    ),
    play(
        "- hosts: all\n  vars: {x: &a [1, *a]}\n",
        "site.yml:2:20",
        "alias *a is inside its own",
        id="vars-recursive",
    ),
    play(
        "- hosts: all\n  vars: {x: " + "[" * 150 + "]" * 150 + "}\n",
        "site.yml:2:",
        "nested more than 100 levels",
        id="vars-deep-flow",
    ),
    play(
        "- hosts: all\n  vars:\n" + nested(800, "    "),
        "site.yml:",
        "nested more than 100",
        id="vars-deep-block",
    ),
]

TASKS = [
    play(
        "- hosts: all\n  tasks:\n    - echo hi\n",
        "site.yml:3:7",
        "a task must be a mapping",
        id="task-string",
    ),
    task("name: x", "site.yml:3:7", "task has no module", id="no-module"),
    task("comand: ls", "site.yml:3:7", "unknown module or task keyword 'comand'", id="typo"),
    task("command: ls\nshell: ls", "site.yml:3:7", "more than one module", id="two-modules"),
    task("debug: {}\nwhn: x", "site.yml:4:7", "unknown module or task keyword 'whn'", id="kw-typo"),
    task("debug: {}\nname: [1]", "site.yml:4:7", "task 'name'", id="name-list"),
    task("debug: {}\nwhen: 'a ==='", "site.yml:3:7", "template syntax error", id="when-syntax"),
    task("debug: {}\nwhen: {a: 1}", "site.yml:4:7", "task 'when", id="when-mapping"),
    task("debug: {}\nwhen: nope", "site.yml:3:7", "'nope' is undefined", id="when-undefined"),
    task("debug: {}\nloop: 3", "site.yml:4:7", "task 'loop", id="loop-number"),
    task(
        "debug: {}\nloop: \"{{ 'abc' }}\"", "site.yml:3:7", "loop must give a list", id="loop-str"
    ),
    task("debug: {}\nloop: '{{ [1, }}'", "site.yml:3:7", "template syntax error", id="loop-syntax"),
    task(
        "debug: {}\nloop: [1]\nwith_items: [2]",
        "site.yml:4:7",
        "'loop' or 'with_items'",
        id="loop-twice",
    ),
    task("debug: {}\nwith_items: 5", "site.yml:3:7", "task 'loop", id="with-items"),
    task("debug: {}\nregister: a-b", "site.yml:4:7", "not a valid variable name", id="register"),
    task("debug: {}\nregister: [x]", "site.yml:4:7", "task 'register", id="register-list"),
    task("debug: {}\nnotify: nobody", "site.yml:3:7", "notify names no handler", id="notify"),
    task("debug: {}\nnotify: {a: 1}", "site.yml:4:7", "task 'notify", id="notify-map"),
    play(
        "- hosts: all\n  handlers:\n    - debug: {}\n      listen: {a: 1}\n",
        "site.yml:4:7",
        "task 'listen",
        id="listen",
    ),
    task("debug: {}\ntags: {a: 1}", "site.yml:4:7", "task 'tags", id="tags"),
    task("debug: {}\nbecome: maybe", "site.yml:4:7", "task 'become'", id="task-become"),
    task("debug: {}\nbecome_user: [x]", "site.yml:4:7", "task 'become_user'", id="task-bu"),
    task("debug: {}\nignore_errors: often", "site.yml:4:7", "task 'ignore_errors'", id="ignore"),
    task(
        "command: 'true'\nchanged_when: 'rc =='",
        "site.yml:3:7",
        "template syntax error",
        id="changed-when-syntax",
    ),
    task(
        "command: 'true'\nfailed_when: '{{ rc ]] }}'",
        "site.yml:3:7",
        "template syntax error",
        id="failed-when-syntax",
    ),
    task(
        "command: 'true'\nfailed_when: {a: 1}",
        "site.yml:4:7",
        "task 'failed_when",
        id="failed-when-map",
    ),
    task("debug: {}\nno_log: perhaps", "site.yml:4:7", "task 'no_log'", id="no-log"),
    task("debug: {}\nvars: [1]", "site.yml:4:7", "task 'vars'", id="task-vars"),
    task(
        "debug: {}\nvars: {group_names: [x]}",
        "site.yml:3:7",
        "task vars set group_names",
        id="task-vars-magic",
    ),
    task(
        "debug: {}\nvars: {z: '{{ 1 + }}'}",
        "site.yml:3:7",
        "template syntax error",
        id="task-vars-syntax",
    ),
    task("command: ls\nargs: 3", "site.yml:4:7", "'args' must be a mapping", id="args-number"),
    task("command: ls\nargs: {chdr: /}", "site.yml:3:7", "unknown argument 'chdr'", id="args-typo"),
    task("debug: {}\ndebug: {}", "site.yml:4:7", "duplicate key 'debug'", id="dup-task-key"),
    Case(
        "var-cycle",
        {
            "site.yml": "- hosts: all\n  vars: {a: '{{ b }}', b: '{{ a }}'}\n  tasks:\n"
            "    - debug: {msg: '{{ a }}'}\n",
            "hosts.yml": INVENTORY,
        },
        VALIDATE,
        "site.yml:4:7",
        "variable refers to itself: a → b → a",
    ),
]

MODULES = [
    task(
        "package: {state: present}",
        "site.yml:3:16",
        "missing required argument 'name'",
        id="package-name",
    ),
    task(
        "package: {name: git, nme: x}", "site.yml:3:28", "unknown argument 'nme'", id="package-arg"
    ),
    task(
        "package: {name: git, state: installed-ish}",
        "site.yml:3:28",
        "argument 'state'",
        id="package-state",
    ),
    task(
        "package: {name: git, lock_timeout: -1}",
        "site.yml:3:28",
        "argument 'lock_timeout'",
        id="package-lock",
    ),
    task("service: {name: docker, state: up}", "site.yml:3:31", "argument 'state'", id="service"),
    task(
        "service: {name: docker, enabled: perhaps}",
        "site.yml:3:31",
        "argument 'enabled'",
        id="service-enabled",
    ),
    task("copy: {content: x}", "site.yml:3:13", "missing required argument 'dest'", id="copy-dest"),
    task("copy: {src: nope.txt, dest: /x}", "site.yml:3:7", "src file", id="copy-src"),
    task("copy: {src: /dev/zero, dest: /x}", "site.yml:3:7", "not a regular file", id="copy-zero"),
    task("copy: {content: x, src: y, dest: /x}", "site.yml:3:7", "copy", id="copy-both"),
    task("template: {src: nope.j2, dest: /x}", "site.yml:3:7", "src file", id="template-src"),
    task(
        "template: {src: t.j2, dest: /x}",
        "site.yml:3:7",
        "template syntax error",
        files={"t.j2": "{{ x"},
        id="template-syntax",
    ),
    task(
        "template: {src: t.j2, dest: /x}",
        "site.yml:3:7",
        "larger than 2 MiB",
        files={"t.j2": BIG},
        id="template-big",
    ),
    task(
        "template: {src: /dev/zero, dest: /x}",
        "site.yml:3:7",
        "not a regular file",
        id="template-zero",
    ),
    task("file: {path: /x, mode: rwx}", "site.yml:3:24", "argument 'mode'", id="file-mode"),
    task("file: {path: /x, state: weird}", "site.yml:3:24", "argument 'state'", id="file-state"),
    task("file: {path: relative}", "site.yml:3:14", "argument 'path'", id="file-relative"),
    task(
        "lineinfile: {path: /x, line: a, state: gone}",
        "site.yml:3:39",
        "argument 'state'",
        id="lineinfile",
    ),
    task("user: {groups: [a]}", "site.yml:3:13", "missing required argument 'name'", id="user"),
    task("user: {name: bob, groups: {a: 1}}", "site.yml:3:25", "argument 'groups'", id="groups"),
    task("group: {name: g, gid: abc}", "site.yml:3:24", "argument 'gid'", id="group-gid"),
    task("get_url: {dest: /x}", "site.yml:3:16", "missing required argument 'url'", id="get-url"),
    task(
        "rpm_key: {state: present}",
        "site.yml:3:16",
        "missing required argument 'key'",
        id="rpm-key",
    ),
    task(
        "yum_repository: {name: 'a b', baseurl: x}",
        "site.yml:3:24",
        "argument 'name'",
        id="repo-name",
    ),
    task(
        'yum_repository: {name: r, baseurl: "a\\nb=c"}',
        "site.yml:3:7",
        "yum_repository",
        id="repo-newline",
    ),
    task("stat: {}", "site.yml:3:13", "missing required argument 'path'", id="stat"),
    task("debug: {mesg: hi}", "site.yml:3:15", "unknown argument 'mesg'", id="debug"),
    task("assert: {fail_msg: x}", "site.yml:3:15", "missing required argument 'that'", id="assert"),
    task(
        "command: {cmd: ls, argv: [ls]}",
        "site.yml:3:7",
        "exactly one of 'cmd' or 'argv'",
        id="cmd-argv",
    ),
    task("command: ''", "site.yml:3:7", "command", id="cmd-empty"),
    task('command: "echo \'hi"', "site.yml:3:7", "cannot split cmd", id="cmd-quote"),
    task("shell: '  '", "site.yml:3:7", "cmd must not be empty", id="shell-empty"),
    task(
        "command: {cmd: ls, chdir: ''}",
        "site.yml:3:26",
        "chdir must name a directory",
        id="chdir-empty",
    ),
    task("package: [a, b]", "site.yml:3:7", "arguments must be a mapping", id="args-list"),
    task("package: 5", "site.yml:3:7", "arguments must be a mapping", id="args-int"),
    task("package: {name: '{{ nope }}'}", "site.yml:3:7", "'nope' is undefined", id="args-undef"),
    task(
        "service: {name: x, enabled: '{{ \"maybe\" }}'}",
        "site.yml:3:7",
        "enabled",
        id="args-rendered",
    ),
    task("debug: {msg: '{{ x '}", "site.yml:3:7", "template syntax error", id="args-syntax"),
]

FREE_FORM = [
    task('yum: "name=\'git state=present"', "site.yml:3:7", "no closing quotation", id="ff-quote"),
    task(
        "yum: name=git oops",
        "site.yml:3:7",
        "expected key=value arguments, got 'oops'",
        id="ff-word",
    ),
    task(
        "service: 'name=docker state=\"started'",
        "site.yml:3:7",
        "no closing quotation",
        id="ff-dquote",
    ),
    task("package: '=x'", "site.yml:3:7", "package", id="ff-no-key"),
    task(
        "copy: src=a dest", "site.yml:3:7", "expected key=value arguments, got 'dest'", id="ff-copy"
    ),
    task("service: name=docker state=up", "site.yml:3:7", "argument 'state'", id="ff-value"),
    task("file: path=/x bogus=1", "site.yml:3:7", "unknown argument 'bogus'", id="ff-unknown"),
]

IMPORTS = [
    play(
        "- import_playbook: nope.yml\n",
        "site.yml:1:3",
        "import_playbook: no such file",
        id="import-missing",
    ),
    play(
        "- import_playbook: site.yml\n", "site.yml:1:3", "import_playbook loops", id="import-self"
    ),
    play(
        "- import_playbook: b.yml\n",
        "a.yml:1:3",
        "import_playbook loops",
        files={"b.yml": "- import_playbook: a.yml\n", "a.yml": "- import_playbook: b.yml\n"},
        id="import-chain",
    ),
    play(
        "- import_playbook: b.yml\n  tags: x\n",
        "site.yml:2:3",
        "takes only 'name'",
        id="import-tags",
    ),
    play(
        "- import_playbook: '{{ x }}.yml'\n",
        "site.yml:1:3",
        "templates are not supported",
        id="import-template",
    ),
    play("- import_playbook: [a]\n", "site.yml:1:3", "needs a file name", id="import-list"),
    play(
        "- import_playbook: b.yml\n",
        "b.yml:3:7",
        "unknown module or task keyword 'comand'",
        files={"b.yml": "- hosts: all\n  tasks:\n    - comand: ls\n"},
        id="import-error",
    ),
    play(
        "- import_playbook: b.yml\n",
        "b.yml:8:24",
        "more than 250000 values",
        files={"b.yml": "- hosts: all\n  vars:\n" + laughs(indent="    ")},
        id="import-bomb",
    ),
    play(
        "- import_playbook: sub\n",
        "site.yml:1:3",
        "import_playbook: no such file",
        files={"sub/x.yml": PLAYBOOK},
        id="import-dir",
    ),
]

PLAYBOOK_YAML = [
    play("- hosts: all\n\ttasks: []\n", "site.yml:2:1", "YAML error", id="tab"),
    play("- hosts: 'all\n", "site.yml:2:1", "YAML error", id="unclosed-quote"),
    play(
        "- hosts: all\n  tasks: [{debug: *nope}]\n",
        "site.yml:2:19",
        "undefined alias",
        id="undefined-alias",
    ),
    play(
        "- hosts: all\n  tasks:\n    - debug: {msg: *a8}\n  vars:\n" + laughs(indent="    "),
        "site.yml:3:20",
        "found undefined alias 'a8'",
        id="alias-before-anchor",
    ),
    play(
        BOMB_VARS + "  tasks:\n    - debug: {msg: *a8}\n",
        "site.yml:8:",
        "more than 250000 values",
        id="laughs-in-args",
    ),
    play(
        "- hosts: all\n  tasks: &t [*t]\n",
        "site.yml:2:14",
        "alias *t is inside its own",
        id="recursive-tasks",
    ),
    play(
        "- hosts: all\n  tasks: " + "[" * 5000 + "]" * 5000 + "\n",
        "site.yml:2:",
        "nested more than 100 levels",
        id="flow-5000",
    ),
    play(
        "- hosts: all\n  tasks:\n" + nested(800, "    "),
        "site.yml:",
        "nested more than 100 levels",
        id="block-800",
    ),
    play(
        "- hosts: all\n  vars: {a: &a x, b: [" + ", ".join(["*a"] * 10_001) + "]}\n",
        "site.yml:2:",
        "more than 10000 aliases",
        id="many-aliases",
    ),
    play(BIG, "site.yml", "larger than 2 MiB", line=False, id="big"),
    play(b"- hosts: all\n  name: \xff\xfe\n", "site.yml:2:9", "not UTF-8", id="binary"),
    play(
        "- hosts: all\n  name: a\x07\n",
        "site.yml:2:10",
        "YAML error: character #x0007",
        id="control",
    ),
    play(
        "- hosts: all\n---\n- hosts: all\n",
        "site.yml:2:1",
        "but found another document",
        id="two-documents",
    ),
    play(
        "- hosts: all\n  vars: {k: !vault abc}\n",
        "site.yml:2:13",
        "constructor for the tag",
        id="vault-tag",
    ),
    play(
        "- hosts: all\n  vars: {<<: 5}\n",
        "site.yml:2:",
        "expected a mapping or list of mappings",
        id="merge-number",
    ),
    play(
        "- hosts: all\n  vars: {? [a]: 1}\n", "site.yml:2:", "found unhashable key", id="unhashable"
    ),
    play("", "site.yml", "a playbook is a list of plays", line=False, id="empty"),
    Case(
        "missing",
        {"hosts.yml": INVENTORY},
        VALIDATE,
        "site.yml",
        "playbook file not found",
        line=False,
    ),
    play(
        PLAYBOOK.replace("debug", "comand"),
        "site.yml:3:7",
        "unknown module",
        args=("apply", "site.yml", "-i", "hosts.yml", "-o", "json"),
        id="apply-json",
    ),
]

INVENTORY_YAML = [
    inv("- web1\n", "hosts.yml:1:1", "an inventory is a mapping of groups"),
    inv("hosts:\n  web1:\n", "hosts.yml:1:1", "top-level 'hosts' must be inside a group"),
    inv("all: [web1]\n", "hosts.yml:1:6", "group 'all' must be a mapping"),
    inv("all:\n  host:\n    web1:\n", "hosts.yml:2:3", "unknown key 'host' in group 'all'"),
    inv("all:\n  hosts: [web1]\n", "hosts.yml:2:10", "must be a mapping, not a list"),
    inv("all:\n  hosts:\n    web1: 5\n", "hosts.yml:3:5", "host 'web1' must map to its variables"),
    inv("all:\n  hosts:\n    web1: {vars: {a: 1}}\n", "hosts.yml:3:12", "without 'vars:'"),
    inv("all:\n  children:\n    '': {}\n", "hosts.yml:3:5", "group name must be a non-empty"),
    inv("a:\n  children:\n    a:\n", "hosts.yml:3:5", "its own ancestor"),
    inv("a:\n  children:\n    b:\nb:\n  children:\n    a:\n", "hosts.yml:6:5", "its own ancestor"),
    inv("all:\n  hosts:\n    x:\n  children:\n    x:\n", "hosts.yml:5:5", "both as a host"),
    inv("all:\n  hosts:\n    web[0:99999999]:\n", "hosts.yml:3:5", "more than 10000 hosts"),
    inv("all:\n  hosts:\n    w[0:9999]x[0:9999]:\n", "hosts.yml:3:5", "more than 10000 hosts"),
    inv("all:\n  hosts:\n    w[3:1]:\n", "hosts.yml:3:5", "start is after end"),
    inv("all:\n  hosts:\n    w[01:100]:\n", "hosts.yml:3:5", "same length"),
    inv("all:\n  hosts:\n    w[1:c]:\n", "hosts.yml:3:5", "mixes letters and numbers"),
    inv("all:\n  hosts:\n    w[1:3:0]:\n", "hosts.yml:3:5", "step must be at least 1"),
    inv("all:\n  hosts:\n    w" + "[1:1]" * 9 + ":\n", "hosts.yml:3:5", "more than 8 ranges"),
    inv("all:\n  hosts:\n    " + "w" * 300 + ":\n", "hosts.yml:3:5", "longer than 255"),
    inv("all:\n  hosts:\n    -web:\n", "hosts.yml:3:5", "starts with '-'"),
    inv("all:\n  hosts:\n    'web 1':\n", "hosts.yml:3:5", "holds a blank"),
    inv(
        "all:\n  hosts:\n" + "".join(f"    '{c}[0:9999]':\n" for c in "abcdef"),
        "hosts.yml:8:5",
        "more than 50000 hosts",
    ),
    inv(
        "all:\n  vars: {" + ", ".join(f"v{i}: {i}" for i in range(101)) + "}\n"
        "  hosts:\n    'w[0:9999]':\n",
        "hosts.yml:4:5",
        "more than 1000000 variables",
    ),
    inv("all:\n  hosts:\n    web1: {port: abc}\n", "hosts.yml:3:18", "port must be an integer"),
    inv("all:\n  hosts:\n    web1: {ansible_port: 70000}\n", "hosts.yml:3:26", "1..65535"),
    inv(
        "all:\n  hosts:\n    web1: {ansible_host: -oProxyCommand=x}\n",
        "hosts.yml:3:26",
        "not a host name or address",
    ),
    inv("all:\n  hosts:\n    web1: {host: 'a;b'}\n", "hosts.yml:3:18", "holds ;"),
    inv("all:\n  hosts:\n    'w$(id)':\n", "hosts.yml:3:5", "reached at its name"),
    inv("all:\n  hosts:\n    web1: {user: []}\n", "hosts.yml:3:18", "user must be a non-empty"),
    inv(
        "all:\n  hosts:\n    web1: {password: 123456}\n",
        "hosts.yml:3:22",
        "password must be",
        secret="123456",
    ),
    inv(
        "all:\n  hosts:\n    web1: {ansible_become_pass: [s3cr3t]}\n",
        "hosts.yml:3:33",
        "ansible_become_pass must be",
        secret="s3cr3t",
    ),
    inv(
        "all:\n  hosts:\n    web1: {host_key_checking: maybe}\n",
        "hosts.yml:3:31",
        "host_key_checking must be",
    ),
    inv("all:\n  hosts:\n    web1: {connection: winrm}\n", "hosts.yml:3:24", "connection must be"),
    inv(
        "all:\n  hosts:\n    web1: {ansible_ssh_common_args: '-o Foo=bar'}\n", "hosts.yml:3:", "Foo"
    ),
    inv(
        "all:\n  hosts:\n    web1: {ansible_ssh_extra_args: [x]}\n",
        "hosts.yml:3:",
        "a string of ssh options",
    ),
    inv(
        "all:\n  hosts:\n    web1: {host: a, ansible_host: b}\n",
        "hosts.yml:3:",
        "sets both 'host' and 'ansible_host'",
    ),
    inv(
        "all:\n  children:\n    g: {vars: {ansible_group_priority: high}}\n",
        "hosts.yml:3:",
        "ansible_group_priority of group 'g' must be an integer",
    ),
    inv("all:\n  vars: {1: x}\n", "hosts.yml:2:10", "variable names must be strings"),
    inv("all:\n  vars: {known_hosts: 5}\n  hosts: {web1: }\n", "hosts.yml:2:", "known_hosts"),
    inv("all:\n  vars:\n" + laughs(indent="    "), "hosts.yml:8:24", "more than 250000 values"),
    inv("all:\n  vars: {x: &a [1, *a]}\n", "hosts.yml:2:20", "alias *a is inside its own"),
    inv("all:\n  vars:\n" + nested(800, "    "), "hosts.yml:", "nested more than 100"),
    inv(
        "all:\n  vars: {x: " + "[" * 5000 + "]" * 5000 + "}\n",
        "hosts.yml:2:",
        "nested more than 100",
    ),
    inv("all:\n  hosts: {web1: }\n  hosts: {web2: }\n", "hosts.yml:3:3", "duplicate key"),
    inv(BIG, "hosts.yml", "larger than 2 MiB", line=False),
    inv(b"all:\n  vars: {a: \xff}\n", "hosts.yml:2:13", "not UTF-8"),
    Case(
        "magic-in-inventory",
        {"hosts.yml": "all:\n  hosts:\n    web1: {inventory_hostname: x}\n", "site.yml": PLAYBOOK},
        VALIDATE,
        "hosts.yml:3:",
        "inventory vars set inventory_hostname",
    ),
    Case("inventory-missing", {}, LIST, "hosts.yml", "cannot read file", line=False),
    Case(
        "inventory-dev-zero",
        {},
        ("inventory", "-i", "/dev/zero", "--list"),
        "/dev/zero",
        "larger than 2 MiB",
        line=False,
    ),
    Case(
        "limit-regex",
        {"hosts.yml": INVENTORY},
        (*LIST, "--limit", "~web("),
        "--limit",
        "invalid regex in host pattern",
    ),
    Case(
        "limit-empty",
        {"hosts.yml": INVENTORY},
        (*LIST, "--limit", ","),
        "--limit",
        "empty host pattern",
    ),
    Case(
        "limit-bracket",
        {"hosts.yml": INVENTORY},
        (*LIST, "--limit", "web["),
        "--limit",
        "unbalanced",
    ),
    Case(
        "limit-file-unknown-host",
        {"hosts.yml": INVENTORY, "retry": "web1\n\n# gone since\nweb9\n"},
        (*LIST, "--limit", "@retry"),
        "--limit '@retry': retry:4: ",
        "'web9' is no host in hosts.yml",
    ),
    Case(
        "limit-file-missing",
        {"hosts.yml": INVENTORY},
        (*LIST, "--limit", "@.provision/last-failed"),
        "--limit",
        ".provision/last-failed: cannot read file",
        line=False,
    ),
    Case(
        "limit-file-dev-zero",
        {"hosts.yml": INVENTORY},
        (*LIST, "--limit", "@/dev/zero"),
        "--limit",
        "larger than 2 MiB",
        line=False,
    ),
    Case(
        "limit-file-not-utf8",
        {"hosts.yml": INVENTORY, "retry": b"web1\n\xff\n"},
        (*LIST, "--limit", "@retry"),
        "--limit '@retry': retry:2:1: ",
        "not UTF-8",
    ),
]

INI = [
    inv("[web\nweb1\n", "hosts.ini:1:1", "is not closed", name="hosts.ini"),
    inv("[web:foo]\nweb1\n", "hosts.ini:1:1", "unknown section type", name="hosts.ini"),
    inv("[web:vars]\na=1\n", "hosts.ini:1:1", "which no [web] or [web:children]", name="hosts.ini"),
    inv("[web:children]\nx=1\n", "hosts.ini:2:1", "lists group names", name="hosts.ini"),
    inv("[web]\nweb1 foo\n", "hosts.ini:2:6", "expected key=value after host", name="hosts.ini"),
    inv("[web]\nweb1 a='x\n", "hosts.ini:2:8", "unclosed ' quote", name="hosts.ini"),
    inv("[web]\nweb1:abc\n", "hosts.ini:2:1", "after ':' comes a port", name="hosts.ini"),
    inv("[web]\nweb1:99999\n", "hosts.ini:2:1", "1..65535", name="hosts.ini"),
    inv(
        "[web]\nweb1 =x\n",
        "hosts.ini:2:6",
        "the variable name before '=' is missing",
        name="hosts.ini",
    ),
    inv("---\nall:\n", "hosts.ini:1:1", "'---' is not a host name", name="hosts.ini"),
    inv(
        "[web]\nweb1\n[web:vars]\nnovalue\n",
        "hosts.ini:4:1",
        "expected key=value",
        name="hosts.ini",
    ),
    inv("[web]\nweb[0:99999999]\n", "hosts.ini:2:1", "more than 10000 hosts", name="hosts.ini"),
    inv("[web]\n-oProxyCommand=x\n", "hosts.ini:2:1", "starts with '-'", name="hosts.ini"),
    inv(
        "[web]\nw ansible_host=-oProxyCommand=x\n",
        "hosts.ini:2:16",
        "not a host name",
        name="hosts.ini",
    ),
    inv("[hosts]\nweb1\n", "hosts.ini:1:1", "cannot be a group name", name="hosts.ini"),
    inv(
        "[web]\nweb1\n[all:children]\na b\n",
        "hosts.ini:4:1",
        "one group name per line",
        name="hosts.ini",
    ),
    inv("[web]\nweb1 ansible_port=abc\n", "hosts.ini:2:", "must be an integer", name="hosts.ini"),
    inv(b"[web]\nweb1 a=\xff\n", "hosts.ini:2:8", "not UTF-8", name="hosts.ini"),
    inv(
        "[web]\nweb1 ansible_password=0123 ansible_port=x\n",
        "hosts.ini:2:",
        "ansible_port must be",
        name="hosts.ini",
        secret="0123",
    ),
    inv(
        "[web]\nweb1\n[web:vars]\nansible_become_pass\n",
        "hosts.ini:4:1",
        "expected key=value",
        name="hosts.ini",
    ),
    inv(
        "web1 ansible_host=10.0.0.1\n[web\n",
        "vagrant_inventory:2:1",
        "is not closed",
        name="vagrant_inventory",
    ),
]

VARS_DIRS = [
    inv(
        INVENTORY,
        "group_vars/all.yml:1:1",
        "vars of group 'all'",
        files={"group_vars/all.yml": "- a\n"},
    ),
    inv(
        INVENTORY,
        "group_vars/all.yml:6:",
        "more than 250000 values",
        files={"group_vars/all.yml": laughs()},
    ),
    inv(
        INVENTORY,
        "host_vars/web1.yml:2:1",
        "YAML error",
        files={"host_vars/web1.yml": "a: 1\n\tb\n"},
    ),
    inv(
        INVENTORY,
        "group_vars/all:1:1",
        "Ansible Vault files are not supported",
        files={"group_vars/all": "$ANSIBLE_VAULT;1.1;AES256\n6162\n"},
    ),
    inv(
        INVENTORY,
        "host_vars/web1/a.yml:1:7",
        "port must be an integer",
        files={"host_vars/web1/a.yml": "port: many\n"},
    ),
    inv(
        INVENTORY,
        "group_vars/all.json",
        "larger than 2 MiB",
        files={"group_vars/all.json": BIG},
        line=False,
    ),
    inv(
        INVENTORY,
        "host_vars/web1.yml:1:8",
        "alias *a is inside its own",
        files={"host_vars/web1.yml": "x: &a [*a]\n"},
    ),
    inv(
        INVENTORY,
        "host_vars/web1.yml:2:1",
        "duplicate key",
        files={"host_vars/web1.yml": "a: 1\na: 2\n"},
    ),
]

EXTRA_VARS = [
    extra(("-e", "{a: [1, }"), "-e:1:9", "YAML error"),
    extra(("-e", "{a: &x [*x]}"), "-e:1:9", "alias *x is inside its own"),
    extra(("-e", "a-b=1"), "-e 'a-b=1'", "expected key=value"),
    extra(("-e", "{1: 2}"), "-e", "not a string"),
    extra(("-e", "@nope.yml"), "nope.yml", "cannot read file", line=False),
    extra(("-e", "@/dev/zero"), "/dev/zero", "larger than 2 MiB", line=False),
    extra(("-e", "@v.yml"), "-e @v.yml", "the file must hold a mapping", files={"v.yml": "- a\n"}),
    extra(("-e", "@v.yml"), "v.yml:6:", "more than 250000 values", files={"v.yml": laughs()}),
    extra(("-e", "@v.yml"), "v.yml:1:1", "not UTF-8", files={"v.yml": b"\xff"}),
    extra(
        ("-e", "inventory_hostname=x"),
        "extra vars (-e) set inventory_hostname",
        "provision sets these itself",
    ),
    extra(("-e", "{a: 1, a: 2}"), "-e:1:8", "duplicate key"),
    extra(("-e", "{a: " + "[" * 500 + "]" * 500 + "}"), "-e:1:", "nested more than 100"),
    extra(("-e", "{a: " + "x" * 100 + "}", "-e", "{b: *x}"), "-e:1:5", "undefined alias"),
]


def _with_ids(cases: list[Case], prefix: str) -> Iterator[Case]:
    for index, case in enumerate(cases):
        name = case.id or f"{index:02d}"
        yield Case(
            f"{prefix}-{name}", case.files, case.args, case.where, case.says, case.secret, case.line
        )


CASES = [
    *_with_ids(PLAYS, "play"),
    *_with_ids(TASKS, "task"),
    *_with_ids(MODULES, "module"),
    *_with_ids(FREE_FORM, "free-form"),
    *_with_ids(IMPORTS, "import"),
    *_with_ids(PLAYBOOK_YAML, "yaml"),
    *_with_ids(INVENTORY_YAML, "inventory"),
    *_with_ids(INI, "ini"),
    *_with_ids(VARS_DIRS, "vars-dirs"),
    *_with_ids(EXTRA_VARS, "extra-vars"),
]


def _lay_out(root: Path, case: Case) -> Path:
    folder = root / re.sub(r"[^\w.-]", "_", case.id)
    folder.mkdir()
    for name, content in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliServer]:
    cli = CliServer(tmp_path_factory.mktemp("cli"))
    yield cli
    cli.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    """Every case run once, two at a time (a server each: the shared machine has two
    cores), before the tests look at them one by one."""
    root = tmp_path_factory.mktemp("cases")
    folders = {case.id: _lay_out(root, case) for case in CASES}

    def half(cases: list[Case]) -> dict[str, Ran]:
        cli = CliServer(tmp_path_factory.mktemp("cli"))
        try:
            return {
                c.id: cli.run(*c.args, cwd=folders[c.id], timeout=TIMEOUT, memory=MEMORY)
                for c in cases
            }
        finally:
            cli.close()

    with ThreadPoolExecutor(2) as pool:
        halves = list(pool.map(half, [CASES[0::2], CASES[1::2]]))
    return {**halves[0], **halves[1]}


_LOCATED = re.compile(r"error: (?P<file>[^:\s]+):(?P<line>\d+)(?::\d+)?: ")


def _names_an_option(case: Case) -> bool:
    """Bad `-e` or `--limit` text: the error names the option (`-e:1:9` has a line too)."""
    return case.where.startswith("-") or "(-e)" in case.where


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(runs: dict[str, Ran], case: Case) -> None:
    ran = runs[case.id]
    assert not ran.timed_out, f"still running after {TIMEOUT} s"
    assert "Traceback" not in ran.stderr, ran.stderr[-3000:]
    assert ran.rc == 1, ran.stderr
    assert ran.stdout == ""
    errors = [line for line in ran.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, ran.stderr
    # A file found relative to another (vars_files, imports) is named by its full path.
    assert re.match(r"error: (/\S*/)?" + re.escape(case.where), errors[0]), errors[0]
    assert case.says in errors[0], errors[0]
    if case.line and not _names_an_option(case):
        assert _LOCATED.match(errors[0]), errors[0]
    if case.secret is not None:
        assert case.secret not in ran.stderr


def test_the_corpus_covers_enough() -> None:
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)


SAMPLE = ["play-vars-bomb", "inventory-11", "extra-vars-00"]


@pytest.mark.parametrize("name", SAMPLE)
def test_the_server_runs_what_a_user_runs(server: CliServer, tmp_path: Path, name: str) -> None:
    """The same output from a fresh interpreter running the console entry point."""
    case = next(c for c in CASES if c.id == name)
    folder = _lay_out(tmp_path, case)
    ran = server.run(*case.args, cwd=folder, timeout=TIMEOUT, memory=MEMORY)
    proc = provision(*case.args, cwd=folder)
    assert (ran.rc, ran.stdout, ran.stderr) == (proc.returncode, proc.stdout, proc.stderr)
