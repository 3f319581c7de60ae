"""Modules Ansible has and provision does not (yet): a task naming one loads, and fails
only on a host where it would really run; where its `when` is false it is skipped like
any other task. Roles written for several OS families then run on EL hosts unchanged.
"""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import ConfigDict

from provisioner.modules.base import Args, ControllerModule, Expressions, Verdict

# Names of Ansible's own modules (ansible.builtin) and of common collection modules that
# playbooks write without a collection prefix. A name outside these and the registry is
# a typo, reported at load with a suggestion.
KNOWN = frozenset(
    """
    add_host apt apt_key apt_repository assemble async_status deb822_repository debconf
    dpkg_selections expect fetch find gather_facts git group_by iptables known_hosts
    mount_facts pause ping raw script setup slurp subversion sysvinit tempfile uri
    validate_argument_spec wait_for_connection set_stats dnf5
    zypper zypper_repository pacman apk homebrew snap flatpak pkgng portage openbsd_pkg
    ufw mount selinux seboolean sefcontext synchronize docker_container docker_image
    mysql_db mysql_user postgresql_db postgresql_user htpasswd modprobe alternatives
    locale_gen lvg lvol filesystem parted xml make npm gem composer archive
    """.split()
)
# Names outside KNOWN that are Ansible's too: a collection's module (namespace.collection.
# module) and Windows modules. Regular expressions of JSON Schema's dialect as well.
PATTERNS = (re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+\.[a-z0-9_]+$"), re.compile(r"^win_"))


def is_ansible_module(name: str) -> bool:
    """Whether a name is a module Ansible users write (so it loads, unsupported)."""
    return name in KNOWN or any(pattern.match(name) for pattern in PATTERNS)


class UnsupportedArgs(Args):
    # Its arguments are not ours to check.
    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)


class Unsupported(ControllerModule[UnsupportedArgs]):
    """Fails, naming the module and the host, when it would run."""

    name: ClassVar[str] = "(unsupported)"
    args_model = UnsupportedArgs
    supported: ClassVar[bool] = False
    free_form: ClassVar[str | None] = "_raw_params"

    def evaluate(self, expressions: Expressions) -> Verdict:
        host = expressions.evaluate("inventory_hostname")
        return Verdict(
            True, f"module '{self.name}' is not supported yet (the task would run on {host})"
        )


_MADE: dict[str, type[Unsupported]] = {}


def unsupported(name: str) -> type[Unsupported]:
    """The stand-in module class for one unsupported name."""
    if name not in _MADE:
        _MADE[name] = type(f"Unsupported_{len(_MADE)}", (Unsupported,), {"name": name})
    return _MADE[name]
