"""What docs/ansible-compatibility.md says beside a status: how a partly supported
name differs from Ansible's (`partial`), a remark on a supported one (`remarks`), and
what happens to a name provision does not have (`MISSING`, per kind of name).

Keyed by kind, then name; a note for a name no registry has fails
tests/unit/test_compat_doc.py, so none outlives what it describes. A module's own
difference is its class's `differs`, in its file.
"""

from __future__ import annotations

from collections.abc import Callable

LOCKSTEP = (
    "hosts run the play each on its own thread, not in lockstep: the others stop at their "
    "next task (Ansible: all after the same task)"
)
SUDO = "through sudo only: become_method, become_flags and become_exe are not keywords here"
USER_FACT = "the login user's, even when the play uses become (Ansible: the become user's)"


def partial() -> dict[str, dict[str, str]]:
    """How each partly supported name differs from Ansible's, by kind."""
    return {
        "play": {
            "become": SUDO,
            "gather_facts": "unset: facts are gathered only when the play names one (Ansible: "
            "always), by one sh probe (see the facts below)",
            "handlers": "tasks only: a block or an include among handlers is a load error",
            "vars_files": "each entry is one file: a list of alternatives (Ansible: the first "
            "that exists) is a load error",
            "any_errors_fatal": LOCKSTEP,
            "max_fail_percentage": "checked as each host fails; " + LOCKSTEP,
        },
        "block": {"become": SUDO, "any_errors_fatal": LOCKSTEP},
        "task": {
            "become": SUDO,
            "any_errors_fatal": LOCKSTEP,
            "delegate_to": "the controller only (localhost, 127.0.0.1, ::1) or the host itself: "
            "another host fails the task where it would run (validate warns)",
            "run_once": "run by the first host of the batch to reach it (Ansible: the first in "
            "the batch's order); its registered result and set_fact values are every host's",
            "environment": "exported to the commands the task runs, not to its read-only "
            "checks of the host",
            "loop_control": "extended: ansible_loop has index, index0 and first only; "
            "extended_allitems is a load error",
            "tags": "`always` is honoured; `never` is a tag like any other (the task runs)",
            "timeout": "bounds each command the task runs on the host (its checks, its "
            "change), not the task as a whole",
            "when": "a string that is not a boolean word (yes, true, on, 1, y) is false "
            "(Ansible: a non-empty string is true)",
        },
        "role": {"become": SUDO},
        "include": {
            "apply": "on include_tasks and include_role; on an import it is accepted and "
            "ignored (Ansible: an error)",
        },
        "role_option": {
            "public": "an include_role's vars are its own unless public: true; every role's "
            "defaults are seen by the whole play, whatever public says",
        },
        "module": {
            "import_playbook": "only name beside it (Ansible also takes vars and tags); the "
            "file name cannot be a template",
        },
        "filter": {
            "bool": "None gives false (Ansible: None stays None)",
            "password_hash": "sha512 only (no md5, sha256, bcrypt; no ident)",
            "random": "an item of a list; Ansible's number form (`60 | random`), "
            "seed, start and step are not there",
            "to_json": "non-ASCII characters are kept as they are (Ansible writes \\uXXXX)",
        },
        "test": {
            "version": "loose and strict comparisons only: no semver or pep440 version_type",
        },
        "lookup": {
            "first_found": "a name whose template is undefined is an error (Ansible skips it)",
            "template": "no variable_start_string and the like; convert_data is accepted and "
            "ignored",
        },
        "magic": {
            "ansible_failed_task": "holds only the failed task's name",
            "hostvars": "each host's inventory variables as written (templates in them are not "
            "rendered) and its facts once gathered; not its registered results or set_fact",
            "ansible_play_hosts": "the play's hosts as the batch starts: one that fails later "
            "stays listed",
            "ansible_loop": "index, index0 and first only (Ansible also has last, length, "
            "revindex, revindex0, allitems, previtem, nextitem)",
            "ansible_managed": "the fixed text `Ansible managed` (Ansible's default), in every "
            "template, not configurable",
            "ansible_play_role_names": "roles pulled in as dependencies too (Ansible: only "
            "those the play names)",
        },
        "fact": {
            **dict.fromkeys(
                (
                    "effective_group_id",
                    "effective_user_id",
                    "env",
                    "real_group_id",
                    "real_user_id",
                    "user_dir",
                    "user_gecos",
                    "user_gid",
                    "user_id",
                    "user_shell",
                    "user_uid",
                ),
                USER_FACT,
            ),
            "fqdn": "from /etc/hosts, not DNS",
            "mounts": "mount, device, fstype, options, dump and passno only: no sizes, no uuid",
        },
    }


def remarks() -> dict[str, dict[str, str]]:
    """A word on a supported name that is as Ansible's, by kind."""
    return {
        "magic": {
            "login_user": "the user provision logs in as",
            "ansible_check_mode": "true in a dry run (`--check`) and in `provision validate`",
        },
    }


def _load_error(what: str) -> Callable[[str], str]:
    return lambda name: f"a load error: {what} '{name}' (file:line:col)"


# What happens to a name of each kind that provision does not have. Modules: see
# `provisioner.compat.module_missing`.
MISSING: dict[str, Callable[[str], str]] = {
    "play": _load_error("unknown play keyword"),
    "block": _load_error("unknown block keyword"),
    "task": _load_error("unknown module or task keyword"),
    "role": lambda name: "no error: a role parameter, a variable the role's tasks see",
    "include": lambda name: (
        f"a load error: unknown include_tasks keyword '{name}' (or "
        "import_tasks, include_role, import_role)"
    ),
    "role_option": lambda name: (
        f"a load error: unknown include_role option '{name}' (or import_role)"
    ),
    "filter": lambda name: f"a template error: No filter named '{name}'",
    "test": lambda name: f"a template error: No test named '{name}'",
    "lookup": lambda name: f"a template error: unknown lookup '{name}'",
    "magic": lambda name: f"not set: a template using it fails, '{name}' is undefined",
    "fact": lambda name: (
        "not gathered: `ansible_eth0` and the like are undefined"
        if name.startswith("<")
        else f"not gathered: a template using it fails, 'ansible_{name}' is undefined"
    ),
}
