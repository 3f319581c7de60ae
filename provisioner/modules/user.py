"""user: a local account, its shell, home, primary group and supplementary groups.

A requested group that does not exist blocks the task ("group NAME not
found"): a dry run may see it provided by an earlier `group` (or package) task.
A new user whose own-named group already exists (a `group` task before it, the
usual service-account pattern) gets that group as its primary group (`-g`):
useradd would otherwise refuse to make the group again. `group:` names the
primary group outright.

`password` is an already crypted hash, and a secret: the probe brings back
only the sha256 of the current hash (`getent shadow`, which needs root), the
summary says `password: changed`, and the hash reaches the host in an upload
that `chpasswd -e` reads, never in a script or on a command line.
`update_password: on_create` sets it only when the user is created.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator

from provisioner.errors import ProbeError
from provisioner.modules import register
from provisioner.modules._files import AbsPath
from provisioner.modules.base import (
    CONVERGED,
    Args,
    Blocked,
    Change,
    Kind,
    Module,
    Op,
    Plan,
    Provision,
)
from provisioner.modules.group import GROUP_FORBID
from provisioner.probes.accounts import (
    ACCOUNTS_ONLY,
    GroupEntry,
    PasswdEntry,
    Shadow,
    ShadowDigest,
    UserGroups,
)
from provisioner.probes.base import Probe, Seen
from provisioner.probes.footprint import Footprint, paths
from provisioner.shell import comma_list, join, op_script, valid_name

# A crypt(3) hash ($id$[params$]salt$hash, or 13 characters of DES), or a locked one
# (a leading '!' or '*', alone too: '!!' is "no password yet").
CRYPTED = re.compile(r"[!*]*(?:\$[0-9a-z]+(?:\$[^$\s]+)+|[./0-9A-Za-z]{13})?")
MAIL = frozenset({"/var/spool/mail", "/var/mail"})  # useradd may make a spool there


class UserArgs(Args):
    name: str = Field(validation_alias=AliasChoices("name", "user"))
    group: str | None = None
    """The primary group (must exist)."""
    groups: list[str] | None = None
    append: bool = False
    shell: str | None = None
    home: AbsPath | None = None
    create_home: bool = Field(
        default=True, validation_alias=AliasChoices("create_home", "createhome")
    )
    system: bool = False
    remove: bool = False
    """With state absent: also remove the home directory (userdel -r)."""
    state: Literal["present", "absent"] = "present"
    password: str | None = Field(default=None, repr=False)
    """An already crypted hash (`$6$...`): a secret, never shown."""
    update_password: Literal["always", "on_create"] = "always"

    @field_validator("password")
    @classmethod
    def _crypted(cls, value: str | None) -> str | None:
        # The messages never quote the value: it is a secret.
        if value is None:
            return None
        if any(c in value for c in ":\n\r\0"):
            raise ValueError("password must not contain ':', a newline or a NUL byte")
        if not value or not CRYPTED.fullmatch(value):
            raise ValueError(
                "password must be an already crypted hash (for example from"
                " `openssl passwd -6`), not the password itself"
            )
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        # ':' ends the name in getent's output; the rest is quoted.
        return valid_name(value, "user name", forbid=":\n")

    @field_validator("group")
    @classmethod
    def _group_name(cls, value: str | None) -> str | None:
        return None if value is None else valid_name(value, "group name", forbid=GROUP_FORBID)

    @field_validator("groups", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return comma_list(value)

    @field_validator("groups")
    @classmethod
    def _group_names(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            for g in value:
                valid_name(g, "group name", forbid=GROUP_FORBID)
        return value

    @field_validator("shell")
    @classmethod
    def _shell(cls, value: str | None) -> str | None:
        if value is not None and (":" in value or "\n" in value or not value):
            raise ValueError("shell must be a path without ':' or newlines")
        return value


@dataclass(frozen=True)
class UserState:
    exists: bool
    home: str | None = None
    shell: str | None = None
    primary: str | None = None
    groups: tuple[str, ...] = ()  # supplementary, primary excluded
    missing_groups: tuple[str, ...] = ()  # of `group` and `groups`
    own_group: bool = False  # a group named like the user exists
    password: Shadow | None = None  # asked only to compare a `password`


@dataclass(frozen=True)
class UserPlan:
    action: Literal["add", "mod", "del"]
    set_groups: tuple[str, ...] | None = None  # None: leave groups alone
    append: bool = False
    shell: str | None = None
    home: str | None = None
    primary: str | None = None  # -g
    password: bool = False  # set the task's `password` (chpasswd -e, from an upload)


@register
class UserModule(Module[UserArgs, UserState, UserPlan]):
    name = "user"
    args_model = UserArgs
    changes_login_groups = True

    def _asked_groups(self) -> list[str]:
        a = self.args
        return list(dict.fromkeys([*([a.group] if a.group else []), *(a.groups or [])]))

    def probes(self) -> tuple[Probe[Any], ...]:
        a = self.args
        probes: list[Probe[Any]] = [PasswdEntry(a.name)]
        if a.state == "present":
            if a.groups is not None or a.group is not None:
                probes.append(UserGroups(a.name))
            probes += [GroupEntry(g) for g in [*self._asked_groups(), a.name]]
            if self._compares_password:
                probes.append(ShadowDigest(a.name))
        return tuple(dict.fromkeys(probes))

    @property
    def _compares_password(self) -> bool:
        a = self.args
        return a.password is not None and a.update_password == "always"

    def state(self, seen: Seen) -> UserState:
        a = self.args
        pw = seen(PasswdEntry(a.name))
        if pw.found is None:
            raise ProbeError(f"getent passwd {a.name} failed (exit {pw.rc})")
        if a.state == "absent":
            return UserState(pw.found)
        missing = tuple(g for g in self._asked_groups() if not self._group_found(seen, g))
        own = seen(GroupEntry(a.name)).found is True
        if not pw.found:
            return UserState(False, missing_groups=missing, own_group=own)
        primary: str | None = None
        groups: tuple[str, ...] = ()
        if a.groups is not None or a.group is not None:
            member = seen(UserGroups(a.name))
            if member is None:
                raise ProbeError(f"id -nG {a.name} failed")
            primary, groups = member.primary, member.supplementary
        shadow = seen(ShadowDigest(a.name)) if self._compares_password else None
        return UserState(True, pw.home, pw.shell, primary, groups, missing, own, shadow)

    @staticmethod
    def _group_found(seen: Seen, name: str) -> bool:
        found = seen(GroupEntry(name))
        # getent could not say (NSS down): not "no such group", which a dry run would
        # excuse as brought by an earlier task.
        if found.found is None:
            raise ProbeError(f"getent group {name} failed (exit {found.rc})")
        return found.found

    def plan(self, current: UserState) -> Plan[UserPlan]:
        a = self.args
        if a.state == "absent":
            return Change((f"- user {a.name}",), UserPlan("del")) if current.exists else CONVERGED
        if current.missing_groups:
            g = current.missing_groups[0]
            return Blocked(Provision(Kind.GROUP, g), f"group {g}")
        primary = a.group or current.primary
        want = [g for g in dict.fromkeys(a.groups or []) if g != primary]
        if not current.exists:
            return self._plan_add(current, want)
        lines: list[str] = []
        shell = home = new_primary = None
        if a.shell is not None and a.shell != current.shell:
            lines.append(f"shell: {current.shell} → {a.shell}")
            shell = a.shell
        if a.home is not None and a.home != current.home:
            lines.append(f"home: {current.home} → {a.home}")
            home = a.home
        if a.group is not None and a.group != current.primary:
            lines.append(f"group: {current.primary} → {a.group}")
            new_primary = a.group
        set_groups = None
        if a.groups is not None:
            add = [g for g in want if g not in current.groups]
            drop = [] if a.append else [g for g in current.groups if g not in want]
            if add or drop:
                lines.append(
                    "groups: " + " ".join([*(f"+{g}" for g in add), *(f"-{g}" for g in drop)])
                )
                set_groups = tuple(add if a.append else want)
        password = self._password_differs(current)
        if password:
            lines.append("password: changed")  # never the hash: it is a secret
        if not lines:
            return CONVERGED
        return Change(
            tuple(lines),
            UserPlan("mod", set_groups, a.append, shell, home, new_primary, password),
        )

    def _password_differs(self, current: UserState) -> bool:
        a = self.args
        if a.password is None or not self._compares_password:
            return False
        shadow = current.password
        if shadow is None or shadow.found is None:
            raise ProbeError(
                f"user {a.name}: cannot read its password hash in /etc/shadow"
                " (to compare `password`, the task needs become: true)"
            )
        return not shadow.found or shadow.digest != hashlib.sha256(a.password.encode()).hexdigest()

    def _plan_add(self, current: UserState, want: list[str]) -> Change[UserPlan]:
        a = self.args
        lines = [f"+ user {a.name}"]
        if a.group is not None:
            lines.append(f"group: {a.group}")
        if want:
            lines.append("groups: " + " ".join(f"+{g}" for g in want))
        if a.password is not None:
            lines.append("password: set")
        # useradd makes a group named like the user; one that exists already must be named.
        primary = a.group or (a.name if current.own_group else None)
        return Change(
            tuple(lines),
            UserPlan("add", tuple(want), primary=primary, password=a.password is not None),
        )

    def commands(self, change: Change[UserPlan]) -> list[Op]:
        a, p = self.args, change.payload
        argv: list[str] | None
        if p.action == "del":
            argv = ["userdel", *(["-r"] if a.remove else []), "--", a.name]
        elif p.action == "add":
            argv = ["useradd", *(["-r"] if a.system else []), "-m" if a.create_home else "-M"]
            argv += [*(["-d", a.home] if a.home else []), *(["-s", a.shell] if a.shell else [])]
            argv += [*(["-g", p.primary] if p.primary else [])]
            argv += [*(["-G", ",".join(p.set_groups)] if p.set_groups else []), "--", a.name]
        else:
            argv = self._usermod(p)
        lines = [] if argv is None else [join(argv)]
        if not (p.password and a.password is not None):
            return [Op(op_script(*lines))]
        # The hash goes in a private upload read by chpasswd, never on a command line
        # (ps, logs) nor in the script (shown with -vv).
        line = f"{a.name}:{a.password}\n".encode()
        return [Op(op_script(*lines, 'chpasswd -e < "$PROVISION_SRC"'), upload=line)]

    def _usermod(self, p: UserPlan) -> list[str] | None:
        """usermod's argv, None when only the password changes."""
        argv = [
            *(["-s", p.shell] if p.shell else []),
            *(["-d", p.home] if p.home else []),
            *(["-g", p.primary] if p.primary else []),
        ]
        if p.set_groups is not None:
            argv += [*(["-a"] if p.append else []), "-G", ",".join(p.set_groups)]
        return ["usermod", *argv, "--", self.args.name] if argv else None

    def provides(self, change: Change[UserPlan]) -> frozenset[Provision]:
        p = change.payload
        if p.action != "add":
            return frozenset()
        made = {Provision(Kind.USER, self.args.name)}
        if p.primary is None:
            made.add(Provision(Kind.GROUP, self.args.name))  # useradd's own-named group
        return frozenset(made)

    def touches(self, change: Change[UserPlan]) -> Footprint:
        """The accounts, the home (made, or removed with `remove`) and the mail spool;
        anywhere when the home is useradd's default (its settings decide where)."""
        home = paths(self.args.home) if self.args.home else None
        return None if home is None else home | MAIL | ACCOUNTS_ONLY
