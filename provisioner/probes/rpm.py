"""RPM hosts: which package manager, what rpm has installed, what the repositories offer.

`RepoListing` and `CheckUpdate` ask yum/dnf (read-only; they may refresh the
metadata cache). yum/dnf block forever on a held lock, so they first wait as
apply would (`lock_wait`), then give up naming the holder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from provisioner.errors import ProbeError
from provisioner.probes.base import Probe
from provisioner.probes.footprint import PACKAGES, Footprint
from provisioner.shell import join, q

QF = r"%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n"
NOT_INSTALLED = re.compile(
    r"package .* is not installed|no package provides .*|file .* is not owned by any package"
)
# yum/dnf could not read a repository (dead mirror, no DNS, 403): an earlier task that
# repoints the repositories may cure that, so it is a missing dependency, not a bad probe.
REPO_UNREADABLE = re.compile(
    r"Failed to download metadata|Cannot find a valid baseurl|Could not resolve host"
    r"|Cannot retrieve repository metadata|Cannot prepare internal mirrorlist|Errno 14"
)
# What names the URL and the cause: dnf's "Status code: 403 for URL", curl's "Couldn't
# resolve host name for URL", yum's "URL: [Errno 14] HTTP Error 403 - Forbidden".
REPO_CAUSE = re.compile(
    r"Status code: \d+ for \S+.*|Curl error \(\d+\): .*|\S+: \[Errno 14\] .*"
    r"|Could not retrieve mirrorlist .*"
)
REPO_FAILED = re.compile(
    r"Failed to download metadata for repo '[^']*'|Cannot find a valid baseurl.*"
)
# -q hides dnf's "Errors during downloading metadata" lines (the URL and the cause);
# errorlevel 3 brings them back and nothing else. yum 3 knows the option too.
SAY_ERRORS = "--setopt=errorlevel=3"
Manager = Literal["dnf", "yum"]
MANAGERS: dict[str, Manager] = {"dnf": "dnf", "yum": "yum"}
PICK_MANAGER = "if command -v dnf >/dev/null 2>&1; then pm=dnf; else pm=yum; fi"
SAY_MANAGER = 'echo "pm=$pm"'  # first line of a yum/dnf probe: its messages name the tool


def _said_manager(stdout: str) -> tuple[str, str]:
    """(the manager a probe said it used, the rest of its output on one line)."""
    first, _, rest = stdout.partition("\n")
    return first.removeprefix("pm="), " ".join(rest.splitlines())


def repo_error(lines: list[str]) -> str:
    """yum/dnf's reason a repository could not be read, short, with the URL and the cause
    when it said them: "Failed to download metadata for repo 'base': Status code: 403 for
    http://…/repomd.xml (IP: …)"."""
    causes = list(dict.fromkeys(m.group(0).strip() for ln in lines if (m := REPO_CAUSE.search(ln))))
    failed = next((m.group(0) for ln in lines if (m := REPO_FAILED.search(ln))), "")
    if not causes:
        return " ".join(" ".join(lines).split())[:300]
    text = "; ".join(causes)
    return (f"{failed}: {text}" if failed else text)[:600]


# What decides which package manager a host has: the programs on its PATH.
MANAGER_PLACES = frozenset(
    {PACKAGES, "/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/local/sbin"}
)


# What a repository query depends on on the host: the package manager, its settings
# and repositories (and the releasever: the release package, in rpm's database).
REPO_PLACES = MANAGER_PLACES | {
    "/etc/yum.repos.d",
    "/etc/yum.conf",
    "/etc/yum",
    "/etc/dnf",
    "/etc/pki/rpm-gpg",
    "/etc/os-release",
}


@dataclass(frozen=True)
class PackageManager(Probe[Manager]):
    """dnf where it exists (EL8+), else yum; and rpm must be there."""

    def command(self) -> str:
        return f"{PICK_MANAGER}\n{SAY_MANAGER}\ncommand -v rpm >/dev/null 2>&1 || echo norpm=1"

    def reads(self, stdout: str) -> Footprint:
        return MANAGER_PLACES

    def parse(self, stdout: str, exit_code: int) -> Manager:
        if "norpm=1" in stdout.split():
            raise ProbeError("rpm is not installed on the host: is it an EL host?")
        for line in stdout.splitlines():
            if line.startswith("pm=") and line[3:] in MANAGERS:
                return MANAGERS[line[3:]]
        raise ProbeError(f"package: cannot understand probe output: {stdout[:200]!r}")


@dataclass(frozen=True)
class Installed:
    name: str
    epoch: int
    version: str
    release: str
    arch: str


def rpm_query(text: str, provides: bool) -> str:
    base = f"rpm -q --qf {q(QF)} {q(text)}"
    return f"{base} || rpm -q --qf {q(QF)} --whatprovides {q(text)}" if provides else base


@dataclass(frozen=True)
class RpmQuery(Probe[tuple[Installed, ...]]):
    """What rpm finds installed for `text` (a name, a name-version label), and with
    `provides` for a capability too (vim → vim-enhanced, /usr/bin/vim)."""

    text: str
    provides: bool = False

    def command(self) -> str:
        return rpm_query(self.text, self.provides)

    def reads(self, stdout: str) -> Footprint:
        return frozenset({PACKAGES})

    def parse(self, stdout: str, exit_code: int) -> tuple[Installed, ...]:
        found: list[Installed] = []
        seen = False
        for line in stdout.splitlines():
            parts = line.split("\t")
            if len(parts) == 5:
                name, epoch, version, release, arch = parts
                if epoch != "(none)" and not epoch.isdigit():
                    raise ProbeError(f"rpm printed an odd epoch for {self.text}: {line!r}")
                found.append(
                    Installed(name, 0 if epoch == "(none)" else int(epoch), version, release, arch)
                )
            elif NOT_INSTALLED.fullmatch(line.strip()):
                seen = True
            elif line.strip():
                raise ProbeError(f"cannot understand rpm output for {self.text}: {line!r}")
        if not found and not seen:
            raise ProbeError(f"rpm -q {self.text} printed nothing (exit {exit_code})")
        return tuple(found)


@dataclass(frozen=True)
class Availability:
    available: bool  # installed already, or an enabled repository has it
    unreadable: str = ""  # yum/dnf's error when an enabled repository could not be read


def repo_options(enable: tuple[str, ...], disable: tuple[str, ...]) -> tuple[str, ...]:
    """yum/dnf options for this transaction's repositories (disabled first, as Ansible
    passes them: `--disablerepo='*' --enablerepo=epel` means epel alone)."""
    return (*(f"--disablerepo={r}" for r in disable), *(f"--enablerepo={r}" for r in enable))


def _words(words: tuple[str, ...]) -> str:
    """Quoted words, each after a space ('' for none)."""
    return "".join(f" {q(w)}" for w in words)


def makecache(options: tuple[str, ...]) -> str:
    """sh refreshing the expired metadata of the enabled repositories (yum: `fast`, only
    what is out of date, as dnf's makecache does by itself)."""
    opts = _words(("-q", *options))
    return f'if [ "$pm" = yum ]; then yum{opts} makecache fast; else "$pm"{opts} makecache; fi'


@dataclass(frozen=True)
class RepoListing(Probe[Availability]):
    """Can an enabled repository provide `text`? Asked only when rpm has nothing for it,
    so a converged rerun never waits for repository metadata. `options`: the task's
    `--enablerepo=`/`--disablerepo=`; `refresh`: update the metadata cache first."""

    text: str
    lock_timeout: int
    options: tuple[str, ...] = ()
    refresh: bool = False

    def command(self) -> str:
        installed = rpm_query(self.text, provides=True)
        locked = "\n".join(lock_wait(self.lock_timeout))
        listing = (
            f'"$pm" -q{_words(self.options)} list available --showduplicates'
            f" {SAY_ERRORS} {q(self.text)}"
        )
        # A failed refresh says nothing the listing will not say again.
        fresh = f"{makecache(self.options)} >/dev/null 2>&1\n" if self.refresh else ""
        return (
            f"{PICK_MANAGER}\n{SAY_MANAGER}\n"
            f"{{ {installed}; }} >/dev/null 2>&1 || ( {locked}\n{fresh}{listing} ) 2>&1"
        )

    def reads(self, stdout: str) -> Footprint:
        return REPO_PLACES

    def parse(self, stdout: str, exit_code: int) -> Availability:
        if exit_code == 0:
            return Availability(True)
        pm, text = _said_manager(stdout)
        if REPO_UNREADABLE.search(text):
            return Availability(False, repo_error(stdout.splitlines()[1:]))
        if "No matching Packages" not in text:
            raise ProbeError(f"{pm} cannot list {self.text!r} (exit {exit_code}): {text[:300]}")
        return Availability(False)


ERR = "stderr: "  # how CheckUpdate marks the lines yum/dnf wrote to stderr


@dataclass(frozen=True)
class Updates:
    found: tuple[tuple[str, str], ...] = ()  # (name, available [E:]V-R)
    unreadable: str = ""  # yum/dnf's error when an enabled repository could not be read


@dataclass(frozen=True)
class CheckUpdate(Probe[Updates]):
    """`yum/dnf -q check-update NAMES`: the updates of these packages."""

    names: tuple[str, ...]
    lock_timeout: int
    options: tuple[str, ...] = ()  # --enablerepo=/--disablerepo=
    refresh: bool = False  # update the metadata cache first

    def command(self) -> str:
        locked = "\n".join(lock_wait(self.lock_timeout))
        # A failed refresh says nothing check-update will not say again.
        fresh = f"{makecache(self.options)} >/dev/null 2>&1 || :\n" if self.refresh else ""
        check = f'"$pm" -q{_words(self.options)} check-update {SAY_ERRORS} {join(self.names)}'
        # Its stderr (why it failed: dnf says so only there) comes back marked, on
        # stdout; POSIX has no pipefail, so its exit code travels out on fd 3.
        marked = (
            f'rc=$( {{ {{ {check} 2>&1 1>&4 4>&-; echo "$?" >&3; }}'
            f" | sed 's/^/{ERR}/' >&4; }} 3>&1 )"
        )
        return (
            f"{PICK_MANAGER}\n{SAY_MANAGER}\n( ( {locked}\n) 2>&1 || exit 1\n"
            f'{fresh}exec 4>&1\n{marked}\nexit "$rc" )'
        )

    def parse(self, stdout: str, exit_code: int) -> Updates:
        pm, _ = _said_manager(stdout)
        lines = stdout.splitlines()[1:]
        errors = " ".join(ln[len(ERR) :] for ln in lines if ln.startswith(ERR))
        listed = tuple(ln for ln in lines if not ln.startswith(ERR))
        if exit_code not in (0, 100):
            detail = (errors or " ".join(listed))[:300]
            if REPO_UNREADABLE.search(errors or " ".join(listed)):
                said = [ln[len(ERR) :] for ln in lines if ln.startswith(ERR)] or list(listed)
                return Updates(unreadable=repo_error(said))
            raise ProbeError(
                f"{pm} check-update failed (exit {exit_code}){': ' + detail if detail else ''}"
            )
        if exit_code == 0:
            return Updates()
        return Updates(tuple(parse_check_update(listed).items()))


def parse_check_update(lines: tuple[str, ...]) -> dict[str, str]:
    """`yum/dnf -q check-update` lines → {name: available [E:]V-R}.

    yum wraps a long name onto its own line; the 'Obsoleting Packages' section
    (and anything not shaped name.arch EVR repo) is not an update."""
    out: dict[str, str] = {}
    pending: str | None = None
    for line in lines:
        if line.strip().lower().startswith("obsoleting"):
            break
        words = line.split()
        if pending is not None:
            words, pending = [pending, *words], None
        if len(words) == 1:
            pending = words[0]
        elif len(words) == 3 and "." in words[0]:
            out.setdefault(words[0].rpartition(".")[0], words[1])
    return out


@dataclass(frozen=True)
class GpgPubkeys(Probe[tuple[str, ...]]):
    """The OpenPGP keys rpm has imported, as gpg-pubkey VERSION-RELEASE."""

    def command(self) -> str:
        return "rpm -q gpg-pubkey --qf '%{VERSION}-%{RELEASE}\\n'"

    def parse(self, stdout: str, exit_code: int) -> tuple[str, ...]:
        installed = []
        for line in stdout.splitlines():
            if re.fullmatch(r"[0-9a-f]{8,40}-[0-9a-f]+", line.strip()):
                installed.append(line.strip())
            elif line.strip() and line.strip() != "package gpg-pubkey is not installed":
                raise ProbeError(f"cannot understand rpm output: {line!r}")
        if exit_code not in (0, 1):
            raise ProbeError(f"rpm -q gpg-pubkey failed (exit {exit_code})")
        return tuple(installed)


# --- waiting for the package manager lock ------------------------------------

# Pid files of a running yum (EL7) or dnf (EL8/9), and rpm's transaction lock.
PID_FILES = ("/var/run/yum.pid", "/run/yum.pid", "/var/run/dnf.pid", "/run/dnf.pid")
PID_GLOBS = ("/var/lib/dnf/", "/var/cache/dnf/")
RPM_LOCK = "/var/lib/rpm/.rpm.lock"


def lock_wait(timeout: int, root: str = "") -> list[str]:
    """sh that waits until no other process holds the package manager lock,
    at most `timeout` seconds, then fails naming the holder from
    /proc/PID/comm. `root` prefixes the lock paths (tests only)."""
    files = " ".join(
        [*(q(root + f) for f in PID_FILES), *(q(root + d) + "*.pid" for d in PID_GLOBS)]
    )
    lock = q(root + RPM_LOCK)
    return [
        "provision_lock_holder() {",
        f"  for f in {files}; do",
        '    [ -f "$f" ] || continue',
        '    pid=$(cat -- "$f" 2>/dev/null) || continue',
        '    case $pid in ""|*[!0-9]*) continue ;; esac',
        '    if [ "$pid" != "$$" ] && [ -d "/proc/$pid" ]; then echo "$pid"; return 0; fi',
        "  done",
        f"  [ -e {lock} ] || return 0",
        "  if command -v fuser >/dev/null 2>&1; then",
        # psmisc fuser takes no "--"; the path is absolute anyway.
        f"    fuser {lock} 2>/dev/null | tr -cs 0-9 '\\n' | grep . | head -n 1",
        "  else",
        # No psmisc: look for the lock among every process's open files.
        f"    find /proc/[0-9]*/fd -lname {q(root + '*/rpm/.rpm.lock')} 2>/dev/null"
        " | sed -n 's|^/proc/\\([0-9]*\\)/.*|\\1|p' | head -n 1",
        "  fi",
        "}",
        "provision_waited=0",
        'while provision_holder=$(provision_lock_holder) && [ -n "$provision_holder" ]; do',
        f'  if [ "$provision_waited" -ge {timeout} ]; then',
        '    comm=$(cat "/proc/$provision_holder/comm" 2>/dev/null) || comm=unknown',
        # The command line too: yum-cron or PackageKit show in comm, a script in argv.
        "    args=$(tr '\\0' ' ' < \"/proc/$provision_holder/cmdline\" 2>/dev/null)",
        "    args=${args% }",
        f'    echo "package manager lock still held after {timeout}s by $comm'
        ' (pid $provision_holder: $args)" >&2',
        "    exit 1",
        "  fi",
        "  sleep 1",
        "  provision_waited=$((provision_waited + 1))",
        "done",
    ]
