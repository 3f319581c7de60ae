"""`provision validate`: compile every task for every host, touching no host.

Templates that use a registered result or a fact cannot be rendered before the
run; they are checked for syntax only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.errors import ProvisionError
from provisioner.facts import FACT_NAMES
from provisioner.inventory import Inventory
from provisioner.playbook.compile import host_variables, prepare
from provisioner.playbook.schema import Playbook
from provisioner.runner import select_hosts
from provisioner.templating import environment


def validate(
    playbook: Playbook,
    inventory: Inventory | None,
    extra_vars: Mapping[str, Any],
    login_user: str = "root",
    limit: str | None = None,
) -> list[str]:
    """Every problem found, as 'where: message' lines (empty: all good). A problem
    that several hosts share is one line naming them all."""
    problems: list[str] = []
    per_host: dict[str, list[str]] = {}  # message → hosts
    registers = {t.register_as for p in playbook.plays for t in p.tasks if t.register_as}
    unknown_yet = registers | FACT_NAMES  # only the run knows these
    for play in playbook.plays:
        for task in [*play.tasks, *play.handlers]:
            problems.extend(_syntax(task.args, str(task.loc)))
        if inventory is None:
            continue
        hosts = select_hosts(inventory, play, limit)
        if not hosts and limit is None:
            problems.append(f"{play.loc}: hosts '{play.hosts}' matches no host in the inventory")
        for host in hosts:
            magic = {
                "inventory_hostname": host.name,
                "login_user": login_user,
                "group_names": list(host.group_names),
                "ansible_check_mode": True,
            }
            try:
                variables = host_variables(play, play.base_dir, host.vars, magic, extra_vars)
            except ProvisionError as exc:
                per_host.setdefault(str(exc), []).append(host.name)
                continue
            for task in [*play.tasks, *play.handlers]:
                try:
                    prepare(task, variables, {}, extra_vars, play.base_dir)
                except ProvisionError as exc:
                    if any(f"'{r}' is undefined" in str(exc) for r in unknown_yet):
                        continue  # needs a result or a fact that only the run has
                    per_host.setdefault(str(exc), []).append(host.name)
    for message, names in per_host.items():
        names = list(dict.fromkeys(names))
        label = "host" if len(names) == 1 else "hosts"
        problems.append(f"{message} ({label} {', '.join(names)})")
    return list(dict.fromkeys(problems))


def _syntax(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        try:
            environment().parse(value)
        except Exception as exc:
            return [f"{where}: template syntax error in {value!r}: {exc}"]
        return []
    if isinstance(value, list):
        return [p for v in value for p in _syntax(v, where)]
    if isinstance(value, dict):
        return [p for v in value.values() for p in _syntax(v, where)]
    return []
