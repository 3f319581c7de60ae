"""A repository that cannot be read is reported with its URL and the cause, as yum/dnf
said them; and a dry run says what it could not check.

The dnf lines are what the lab's dnf 4.14 printed (with -q and errorlevel 3) for a mirror
answering 403 and 404 and for a name that does not resolve; the yum line is yum 3's
(CentOS 7) wording for the 403 a vault mirror gives."""

from __future__ import annotations

import pytest

from provisioner.modules.base import Change, Kind, Provision
from provisioner.modules.package import PackageModule, PackagePlan
from provisioner.probes.rpm import CheckUpdate, RepoListing, repo_error
from provisioner.runner.dryrun import PlannedChange, unchecked

FAILED = (
    "Error: Failed to download metadata for repo 'base': Cannot download repomd.xml: "
    "Cannot download repodata/repomd.xml: All mirrors were tried"
)
URL = "http://10.66.0.1:8081/7.9.2009/os/x86_64/repodata/repomd.xml"
DNF = {
    "403": f"  - Status code: 403 for {URL} (IP: 10.66.0.1)",
    "404": f"  - Status code: 404 for {URL} (IP: 10.66.0.1)",
    "dns": "  - Curl error (6): Couldn't resolve host name for "
    "http://vault.lab.invalid/7.9.2009/os/x86_64/repodata/repomd.xml "
    "[Could not resolve host: vault.lab.invalid]",
}


def dnf_said(cause: str) -> list[str]:
    return ["Errors during downloading metadata for repository 'base':", cause, FAILED]


@pytest.mark.parametrize("fault", sorted(DNF))
def test_the_url_and_the_cause_come_first(fault: str) -> None:
    assert repo_error(dnf_said(DNF[fault])) == (
        f"Failed to download metadata for repo 'base': {DNF[fault].strip().removeprefix('- ')}"
    )


def test_yums_errno_14_line_names_the_url() -> None:
    said = [
        f"{URL}: [Errno 14] HTTP Error 403 - Forbidden",
        "Trying other mirror.",
        "One of the configured repositories failed (CentOS-7 - Base),",
    ]
    assert repo_error(said) == f"{URL}: [Errno 14] HTTP Error 403 - Forbidden"


def test_without_a_cause_it_is_what_was_said() -> None:
    assert repo_error([FAILED]) == FAILED


def test_the_listing_probe_asks_for_the_cause_and_keeps_it() -> None:
    probe = RepoListing("lab-hello", lock_timeout=0)
    assert "--setopt=errorlevel=3" in probe.command()
    found = probe.parse("\n".join(["pm=dnf", *dnf_said(DNF["403"])]), 1)
    assert not found.available and f"Status code: 403 for {URL}" in found.unreadable


def test_check_update_keeps_the_cause_from_stderr() -> None:
    probe = CheckUpdate(("lab-hello",), lock_timeout=0)
    stdout = "\n".join(["pm=dnf", *(f"stderr: {line}" for line in dnf_said(DNF["dns"]))])
    assert "Could not resolve host: vault.lab.invalid" in probe.parse(stdout, 1).unreadable


def test_a_dry_run_says_an_install_was_judged_by_repositories_an_earlier_task_changes() -> None:
    module = PackageModule.from_dict({"name": "lab-hello"})
    install = Change(("+ lab-hello",), PackagePlan("dnf", install=("lab-hello",)))
    # The repositories decide it, and the packages there: an earlier install may bring it.
    assert module.judged_by(install) == {Provision(Kind.REPO), Provision(Kind.INSTALLED)}
    repoint = PlannedChange("Point base at the mirror", frozenset({Provision(Kind.REPO)}))
    other = PlannedChange("Write the motd", frozenset({Provision(Kind.PATH, "/etc/motd")}))
    assert unchecked(module.judged_by(install), [other]) == ()
    assert unchecked(module.judged_by(install), [repoint, other]) == (
        "not checked: judged by the repositories there now; "
        "'Point base at the mirror' would change them first",
    )
    installs = PlannedChange("Install Docker", frozenset({Provision(Kind.INSTALLED)}))
    assert unchecked(module.judged_by(install), [installs]) == (
        "not checked: judged by the installed packages there now; 'Install Docker' would"
        " change them first",
    )
    # A repository offers packages, it installs none: no such note for it.
    offers = PlannedChange("Add a repository", frozenset({Provision(Kind.PACKAGE)}))
    assert not [n for n in unchecked(module.judged_by(install), [offers]) if "installed" in n]
    remove = Change(("- lab-hello",), PackagePlan("dnf", remove=("lab-hello",)))
    assert module.judged_by(remove) == frozenset()
