"""More modules on a fresh lab host, as CentOS 7 (el7) and as AlmaLinux 9 (el9): the dry
run changes nothing and says what apply changes, apply leaves the state asked for, and a
rerun changes nothing. Here sysctl, timedatectl, hostnamectl, chpasswd, tar, getent
shadow, systemctl's NeedDaemonReload and dnf's downgrade answer for real; firewall-cmd is
the lab's stand-in, and pip Debian's own with the lab's package index (tests/lab/README.md)."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.helpers import Run, provision, snapshot, statuses
from tests.lab.api import Host, Lab

pytestmark = pytest.mark.lab

DATA = Path(__file__).parent / "data"
PLAYBOOK = DATA / "more-modules.yml"
ARCHIVE = DATA / "more-modules-site.tar.gz"
# The playbook's lab_user_hash: crypt(3) SHA-512 of "lab user secret".
HASH = (
    "$6$provlabsalt$45RCByvxx9NbhQH98Dq3RD5LGpDVTkwRkfQIHLpa/c9LkAZh/3/"
    "wYqq16xBfHYpPx3wXz9j7zvLvyFH/QgBSv."
)
FACT_TASKS = {"Service facts", "Package facts"}  # read only: ok in every run
MAIN_CHANGES = {
    "A directory",
    "What the facts say",
    "A kernel parameter",
    "A primary group with a gid",
    "A supplementary group",
    "A user with a password, a primary group and another",
    "Passwords expire after 90 days",
    "The user's ssh key",
    "The cron.d directory (cronie's; the lab has no cron)",
    "A job in a cron.d file",
    "A variable in that file",
    "A time zone",
    "Somewhere to unpack",
    "An archive from the controller, unpacked for the user",
    "A download owned by the user",
    "An option in yum's configuration",
    "The lab's repository (lab-hello 1.0 and 1.1)",
    "A package at its newest",
    "The same package downgraded",
    "firewalld installed",
    "firewalld running",
    "A port open now and at boot",
    "A service open until firewalld restarts",
    "pip's index",
    "pip trusts it (plain http)",
    "pip installed",
    "A Python package at a version",
    "A unit file",
    "The unit running and enabled",
    "A drop-in directory",
    "A drop-in for the running unit",
    "systemd told of the drop-in",
    "The new name in /etc/hosts",
    "A host name",
}
VAULT_TASK = "Point the CentOS 7 repositories at the vault"
VAULT_HANDLER = "Forget what yum cached from the old mirrors"
VAULT_REPOS = {"base", "updates", "extras", "centosplus"}
BUS_DAEMONS = ("systemd-timedated.service", "systemd-hostnamed.service")
WATCHED = r"""
echo '## srv'; ls -laR --time-style=+%s /srv
echo '## accounts'; cat /etc/passwd; sha256sum /etc/shadow /etc/gshadow
echo '## files'; sha256sum /etc/login.defs /etc/dnf/dnf.conf /etc/hosts /etc/hostname
ls -la --time-style=+%s /etc/sysctl.d /etc/systemd/system /home; ls -la /etc/cron.d 2>&1
echo '## clock and name'; readlink /etc/localtime; hostname
echo '## kernel'; sysctl -n net.ipv4.tcp_keepalive_time
"""


@dataclass
class Story:
    profile: str
    host: Host
    key: Path
    pubkey: str
    before: str
    after_dry_run: str
    dry: Run
    dry_text: Run
    apply: Run
    rerun: Run


@pytest.fixture(scope="module", params=["el7", "el9"])
def story(
    request: pytest.FixtureRequest, lab: Lab, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Story]:
    profile: str = request.param
    host = lab.hosts[0]
    lab.reset(host, profile=profile)
    key = tmp_path_factory.mktemp(f"key-{profile}") / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lab-user@controller", "-f", key],
        check=True,
    )
    pubkey = key.with_suffix(".pub").read_text().strip()
    args = (
        "-i", lab.inventory_path, PLAYBOOK, "--limit", host.name,
        "-e", f"lab_user_pubkey={pubkey}",
    )  # fmt: skip

    def state() -> str:
        return without_bus_daemons(snapshot(lab, host) + lab.ssh(host, WATCHED).stdout)

    before = state()
    dry = provision("apply", *args, "--check", "-o", "json")
    dry_text = provision("apply", *args, "--check", "--diff", "-v")
    after = state()
    apply = provision("apply", *args, "-o", "json")
    rerun = provision("apply", *args, "-o", "json")
    yield Story(profile, host, key, pubkey, before, after, dry, dry_text, apply, rerun)
    lab.reset(host)


def without_bus_daemons(text: str) -> str:
    """The snapshot less the lines of the daemons D-Bus starts on demand and that stop
    when idle: asking `timedatectl status` or `hostnamectl` (the probes) starts them, and
    that changes nothing a host keeps."""
    return "".join(
        line for line in text.splitlines(keepends=True) if not line.startswith(BUS_DAEMONS)
    )


def tasks(doc_statuses: set[tuple[str, str, str]]) -> set[str]:
    return {task for (_, task, _) in doc_statuses}


def expected_changes(profile: str) -> set[tuple[str, str]]:
    """(task, item) of every task a fresh host of this profile changes."""
    out = {(task, "") for task in MAIN_CHANGES}
    if profile == "el7":
        out |= {(VAULT_TASK, repo) for repo in VAULT_REPOS} | {(VAULT_HANDLER, "")}
    return out


def test_dry_run_changes_nothing(story: Story) -> None:
    assert story.dry.code == 0, story.dry.output
    assert story.dry_text.code == 0, story.dry_text.output
    assert story.after_dry_run == story.before


def test_dry_run_predicts_the_apply(story: Story) -> None:
    assert not statuses(story.dry.doc, "failed"), story.dry.output
    assert story.apply.code == 0, story.apply.output
    would = statuses(story.dry.doc, "changed")
    changed = statuses(story.apply.doc, "changed")
    decided = {
        r["task"]
        for r in story.dry.doc["results"]
        if r["status"] == "changed" and (r["msg"] or "").startswith("decided at apply")
    }
    # What the dry run could not be sure of (a pip.conf a package may drop, a package an
    # earlier install may bring) it flagged as decided at apply; here each did change.
    assert decided <= {task for (_, task, _) in changed}, decided
    assert changed <= would  # nothing changed that the dry run did not say would
    assert would == changed
    assert {(task, item) for (_, task, item) in would} == expected_changes(story.profile)
    # The dry run saw no lab-hello installed; apply installed 1.1 first, then went down.
    downgrade = [
        r for r in story.apply.doc["results"] if r["task"] == "The same package downgraded"
    ]
    assert downgrade[0]["changes"] == ["lab-hello 1.1 → 1.0 (downgrade)"], downgrade


def test_rerun_changes_nothing(story: Story) -> None:
    assert story.rerun.code == 0, story.rerun.output
    assert statuses(story.rerun.doc, "changed") == set()
    assert statuses(story.rerun.doc, "failed") == set()
    assert tasks(statuses(story.rerun.doc, "ok")) >= MAIN_CHANGES | FACT_TASKS


def test_the_password_hash_is_never_shown(story: Story) -> None:
    runs = (story.dry, story.dry_text, story.apply, story.rerun)
    for run in runs:
        assert HASH not in run.output
        assert "provlabsalt" not in run.output
    user_task = "A user with a password, a primary group and another"
    said = [r["changes"] for r in story.apply.doc["results"] if r["task"] == user_task]
    assert said == [["+ user lab-user", "group: lab-team", "groups: +lab-ops", "password: set"]]


def test_the_host_is_as_asked(story: Story, lab: Lab) -> None:
    def sh(command: str) -> str:
        proc = lab.ssh(story.host, command)
        assert proc.returncode == 0, (command, proc.stderr)
        return proc.stdout

    base = "/srv/more"
    journald = sh("systemctl show -p SubState --value systemd-journald").strip()
    enablement = sh("systemctl is-enabled systemd-journald || :").strip()
    yum = sh("rpm -q --qf '%{VERSION}-%{RELEASE}' yum")
    assert sh(f"cat {base}/facts.txt") == f"journald {journald} {enablement}\nyum {yum}\n"

    assert sh("sysctl -n net.ipv4.tcp_keepalive_time") == "600\n"
    assert sh("cat /etc/sysctl.d/90-lab.conf") == "net.ipv4.tcp_keepalive_time=600\n"

    assert sh("getent group lab-team").startswith("lab-team:x:4343:")
    assert sh("id -gn lab-user; id -nG lab-user") == "lab-team\nlab-team lab-ops\n"
    assert sh("getent passwd lab-user").rstrip().endswith(":/home/lab-user:/bin/bash")
    assert sh("getent shadow lab-user | cut -d: -f2") == HASH + "\n"
    assert sh("grep '^PASS_MAX_DAYS' /etc/login.defs") == "PASS_MAX_DAYS\t90\n"

    ssh_dir = "/home/lab-user/.ssh"
    assert sh(f"cat {ssh_dir}/authorized_keys") == story.pubkey + "\n"
    assert sh(f"stat -c '%a %U %G' {ssh_dir} {ssh_dir}/authorized_keys") == (
        "700 lab-user lab-team\n600 lab-user lab-team\n"
    )
    login = subprocess.run(
        [
            "ssh", "-i", str(story.key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", f"UserKnownHostsFile={lab.known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "-o", "ConnectTimeout=10", f"lab-user@{story.host.ip}", "id -un",
        ],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert (login.returncode, login.stdout) == (0, "lab-user\n"), login.stderr

    assert sh("cat /etc/cron.d/lab-cleanup") == (
        'MAILTO="root"\n#Ansible: nightly cleanup\n'
        f"30 2 * * * root find {base}/tmp -type f -mtime +7 -delete\n"
    )
    assert sh("readlink /etc/localtime") == "../usr/share/zoneinfo/Europe/Paris\n"
    assert sh("timedatectl show -p Timezone --value") == "Europe/Paris\n"
    assert sh("hostname; cat /etc/hostname") == "web01.lab.test\nweb01.lab.test\n"

    listed = sh(f"cd {base}/www && find site -printf '%M %u:%g %p\\n'")
    assert sorted(listed.splitlines()) == unpacked_listing(), listed
    assert sh(f"cat {base}/www/site/bin/run.sh") == "#!/bin/sh\necho 'it runs'\n"

    with urllib.request.urlopen(f"{lab.repo_url}/base/RPM-GPG-KEY-lab", timeout=10) as resp:
        sha = hashlib.sha256(resp.read()).hexdigest()
    assert sh(f"stat -c '%a %U %G' {base}/lab.key; sha256sum < {base}/lab.key") == (
        f"640 lab-user lab-team\n{sha}  -\n"
    )

    assert sh("grep '^installonly_limit' /etc/dnf/dnf.conf") == "installonly_limit=2\n"
    assert sh("lab-hello") == "lab-hello 1.0\n"
    assert sh("rpm -q --qf '%{VERSION}\\n' lab-hello") == "1.0\n"  # the one version left

    assert sh("cat /etc/pip.conf") == (
        f"[global]\nindex-url = {lab.repo_url}/pypi/simple/\n"
        f"trusted-host = {lab.repo_url.removeprefix('http://')}\n"
    )
    pip = "pip3 list --format=freeze --disable-pip-version-check 2>/dev/null"
    assert sh(f"{pip} | grep -i '^lab-greet=='") == "lab-greet==1.0\n"
    greet = "import lab_greet; print(lab_greet.hello())"
    assert sh(f"/usr/libexec/platform-python -c '{greet}'") == "hello from lab-greet 1.0\n"

    # firewalld's stand-in (tests/lab/README.md) answers as firewall-cmd does
    assert sh("firewall-cmd --state; systemctl is-enabled firewalld") == "running\nenabled\n"
    assert sh("firewall-cmd --list-ports; firewall-cmd --permanent --list-ports") == (
        "8080/tcp\n8080/tcp\n"
    )
    assert sh("firewall-cmd --list-services; firewall-cmd --permanent --list-services") == (
        "ssh dhcpv6-client http\nssh dhcpv6-client\n"
    )

    assert sh("systemctl is-active lab-tick; systemctl is-enabled lab-tick") == "active\nenabled\n"
    assert sh("systemctl show -p Environment --value lab-tick") == "GREETING=hello\n"
    assert sh("systemctl show -p NeedDaemonReload --value lab-tick") == "no\n"


def unpacked_listing() -> list[str]:
    """`find -printf '%M %u:%g %p'` of the archive's members as unarchive leaves them:
    the archive's modes (root keeps them), every one owned by lab-user:lab-team."""
    lines = []
    with tarfile.open(fileobj=io.BytesIO(ARCHIVE.read_bytes())) as tar:
        for m in tar.getmembers():
            kind = "d" if m.isdir() else "-"
            perms = "".join(
                ch if m.mode & (1 << (8 - i)) else "-" for i, ch in enumerate("rwxrwxrwx")
            )
            lines.append(f"{kind}{perms} lab-user:lab-team {m.name}")
    return sorted(lines)
