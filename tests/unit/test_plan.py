"""`provision plan`, `show` and `apply --plan` on local hosts (a real sh, files in a temp
directory per host), as a user runs them: the plan file, what apply changes, exit codes.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest

from provisioner.modules.service import ServiceModule
from provisioner.planfile import plan_schema, read
from provisioner.probes.systemd import UnitState
from provisioner.runner.expect import plan_digest
from tests.unit.run_cli import ROOT, provision

INVENTORY = """\
all:
  vars:
    db_password: s3cret-Inventory-pw
  hosts:
    h1: {connection: local}
    h2: {connection: local}
"""

# Idempotent: run twice, the second run changes nothing. Each host has its own directory
# (made by the test: the plan's first tasks are then judged by what is there, not blocked).
SITE = """\
- hosts: all
  gather_facts: false
  vars_files: [vars.yml]
  tasks:
    - name: motd
      template: {src: templates/motd.j2, dest: "{{ out }}/{{ inventory_hostname }}/motd"}
    - name: settings
      lineinfile: {path: "{{ out }}/{{ inventory_hostname }}/settings", line: "a=1", create: true}
    - name: secret file
      copy: {content: "token=s3cret-NoLog-value\\n", dest: "{{ out }}/{{ inventory_hostname }}/key"}
      no_log: true
    - name: stamp
      command: touch {{ out }}/{{ inventory_hostname }}/stamp
      args: {creates: "{{ out }}/{{ inventory_hostname }}/stamp"}
"""


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    (tmp_path / "hosts.yml").write_text(INVENTORY)
    (tmp_path / "site.yml").write_text(SITE)
    (tmp_path / "vars.yml").write_text(f"out: {tmp_path / 'out'}\ngreeting: hello\n")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "motd.j2").write_text(
        "{{ greeting }} {{ inventory_hostname }}\npw {{ db_password }}\n"
    )
    for host in ("h1", "h2"):
        (tmp_path / "out" / host).mkdir(parents=True)
    return tmp_path


def run(site: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return provision(*args, cwd=site)


def make_plan(site: Path, name: str = "change.plan", *extra: str) -> Path:
    res = run(site, "plan", "-i", "hosts.yml", "site.yml", "-o", name, *extra)
    assert res.returncode == 0, res.stderr + res.stdout
    return site / name


def results(res: subprocess.CompletedProcess[str]) -> list[tuple[str, str, str]]:
    doc = json.loads(res.stdout)
    return [(r["host"], r["task"], r["status"]) for r in doc["results"]]


def test_plan_prints_the_diff_and_writes_a_file_that_round_trips(site: Path) -> None:
    res = run(site, "plan", "-i", "hosts.yml", "site.yml", "-o", "change.plan")
    assert res.returncode == 0, res.stderr
    assert "would change" in res.stdout and "+hello h1" in res.stdout
    path = site / "change.plan"
    saved = read(path)
    assert sorted(saved.hosts) == ["h1", "h2"]
    tasks = [(t.task, t.status) for t in saved.hosts["h1"].tasks]
    assert tasks == [
        ("motd", "changed"),
        ("settings", "changed"),
        ("secret file", "changed"),
        ("stamp", "changed"),
    ]
    assert all(t.probed and t.probed.startswith("sha256:") for t in saved.hosts["h1"].tasks)
    assert saved.inputs.playbook == "site.yml" and saved.inputs.inventory == "hosts.yml"
    assert {"site.yml", "hosts.yml", "vars.yml", "templates/motd.j2"} <= set(saved.inputs.files)
    text = path.read_text()
    assert json.loads(text) == saved.model_dump(mode="json")  # nothing lost, nothing added
    assert text.count("\n") > 50, "indented: a pull request's diff shows the tasks that differ"
    shown = run(site, "show", "change.plan")
    assert shown.returncode == 0, shown.stderr
    assert "motd" in shown.stdout and "+hello h1" in shown.stdout and "h2" in shown.stdout
    as_json = run(site, "show", "change.plan", "--output", "json")
    assert json.loads(as_json.stdout) == json.loads(text)


def test_secrets_never_go_into_the_plan_file(site: Path) -> None:
    path = make_plan(site)
    text = path.read_text()
    assert "s3cret-NoLog-value" not in text, "a no_log task's content"
    assert "s3cret-Inventory-pw" not in text, "a password variable rendered into a diff"
    secret = next(t for t in read(path).hosts["h1"].tasks if t.task == "secret file")
    assert secret.changes == ["(changes hidden: no_log)"] and secret.diff is None
    assert secret.probed, "its digest stands for its diff"


def test_a_plan_applied_on_fresh_hosts_makes_exactly_its_changes(site: Path) -> None:
    path = make_plan(site)
    planned = {
        (h, t.task)
        for h, host in read(path).hosts.items()
        for t in host.tasks
        if t.status == "changed"
    }
    res = run(site, "apply", "--plan", "change.plan", "-o", "json")
    assert res.returncode == 0, res.stderr
    changed = {(h, t) for h, t, s in results(res) if s == "changed"}
    assert changed == planned
    assert (site / "out" / "h2" / "motd").read_text().startswith("hello h2\n")
    assert (site / "out" / "h1" / "stamp").exists()
    again = run(site, "apply", "-i", "hosts.yml", "site.yml", "-o", "json")
    assert json.loads(again.stdout)["hosts"]["h1"]["changed"] == 0


def test_a_plan_made_against_converged_hosts_applies_nothing(site: Path) -> None:
    assert run(site, "apply", "-i", "hosts.yml", "site.yml").returncode == 0
    path = make_plan(site)
    assert {t.status for h in read(path).hosts.values() for t in h.tasks} == {"ok"}
    res = run(site, "apply", "--plan", "change.plan", "-o", "json")
    assert res.returncode == 0, res.stderr
    assert {s for _, _, s in results(res)} == {"ok"}
    assert "stale" not in res.stderr


def test_a_drifted_host_stops_at_the_drifted_task_and_the_other_converges(site: Path) -> None:
    make_plan(site)
    (site / "out" / "h1" / "settings").write_text("b=2\n")  # by hand, after the plan
    res = run(site, "apply", "--plan", "change.plan", "-o", "json")
    assert res.returncode == 3, res.stderr
    got = results(res)
    assert [(t, s) for h, t, s in got if h == "h1"] == [("motd", "changed"), ("settings", "stale")]
    assert [s for h, _, s in got if h == "h2"] == ["changed"] * 4
    assert (site / "out" / "h1" / "settings").read_text() == "b=2\n", "the drifted file is left"
    assert not (site / "out" / "h1" / "stamp").exists(), "later tasks do not run"
    assert (site / "out" / "h2" / "stamp").exists()
    assert json.loads(res.stdout)["hosts"]["h1"]["stale"] is True
    assert "plan is stale for h1 at 'settings'" in res.stderr
    assert "not run on h1: secret file, stamp" in res.stderr


def test_a_task_ok_in_the_plan_that_is_no_longer_ok_is_drift(site: Path) -> None:
    assert run(site, "apply", "-i", "hosts.yml", "site.yml").returncode == 0
    make_plan(site)
    (site / "out" / "h2" / "stamp").unlink()  # the command would run again now
    res = run(site, "apply", "--plan", "change.plan", "-o", "json")
    assert res.returncode == 3, res.stderr
    assert ("h2", "stamp", "stale") in results(res)
    assert not (site / "out" / "h2" / "stamp").exists()


@pytest.mark.parametrize("name", ["site.yml", "hosts.yml", "vars.yml", "templates/motd.j2"])
def test_apply_refuses_a_plan_whose_files_changed_naming_the_file(site: Path, name: str) -> None:
    make_plan(site)
    with (site / name).open("a") as f:
        f.write("\n# edited after the plan\n")
    res = run(site, "apply", "--plan", "change.plan")
    assert res.returncode == 1
    assert f"{name} changed since the plan was made" in res.stderr
    assert not (site / "out" / "h1" / "motd").exists(), "nothing was applied"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{"format": "provisioner-plan", "version": 1, "hosts": ', "not JSON"),
        ('{"check": true, "hosts": {}}', "not a plan file"),
        ('{"format": "provisioner-plan", "version": 99}', "version 99"),
        ('{"format": "provisioner-plan", "version": 1, "hosts": []}', "broken plan file"),
    ],
)
def test_a_corrupt_or_foreign_plan_file_is_bad_input_naming_it(
    site: Path, text: str, said: str
) -> None:
    (site / "bad.plan").write_text(text)
    for args in (["apply", "--plan", "bad.plan"], ["show", "bad.plan"]):
        res = run(site, *args)
        assert res.returncode == 1
        assert "bad.plan" in res.stderr and said in res.stderr
        assert "Traceback" not in res.stderr


def test_apply_plan_refuses_what_the_plan_decides(site: Path) -> None:
    make_plan(site)
    for extra in (["site.yml"], ["--limit", "h1"], ["--tags", "x"], ["-i", "hosts.yml"]):
        res = run(site, "apply", "--plan", "change.plan", *extra)
        assert res.returncode == 1, extra
        assert "cannot be given: the plan names" in res.stderr


def test_extra_vars_come_from_the_plan_and_must_not_differ(site: Path) -> None:
    make_plan(site, "change.plan", "-e", "greeting=hi")
    assert read(site / "change.plan").inputs.extra_vars == {"greeting": "hi"}
    other = run(site, "apply", "--plan", "change.plan", "-e", "greeting=bye")
    assert other.returncode == 1
    assert "extra vars differ" in other.stderr
    res = run(site, "apply", "--plan", "change.plan")
    assert res.returncode == 0, res.stderr
    assert (site / "out" / "h1" / "motd").read_text().startswith("hi h1\n")


def test_secret_extra_vars_are_masked_and_must_be_given_again(site: Path) -> None:
    make_plan(site, "change.plan", "-e", "api_token=s3cret-Extra-token")
    assert "s3cret-Extra-token" not in (site / "change.plan").read_text()
    res = run(site, "apply", "--plan", "change.plan")
    assert res.returncode == 1 and "pass the same -e options again" in res.stderr
    res = run(site, "apply", "--plan", "change.plan", "-e", "api_token=s3cret-Extra-token")
    assert res.returncode == 0, res.stderr


def test_the_digest_is_of_what_the_task_would_do_not_of_volatile_probe_fields() -> None:
    """`systemctl show` answers timestamps and PIDs that differ between two looks: the
    service's plan does not read them, so its digest is the same; what it reads does."""
    module = ServiceModule.from_dict({"name": "docker", "state": "started", "enabled": True})

    def unit(active: str, since: str, pid: str) -> UnitState:
        props = {"ActiveEnterTimestamp": since, "MainPID": pid, "InvocationID": pid * 4}
        return UnitState("loaded", active, "disabled", False, props)

    one = plan_digest(module.plan(unit("inactive", "Thu 2026-12-03 08:00:00 UTC", "0")))
    two = plan_digest(module.plan(unit("inactive", "Thu 2026-12-03 09:30:12 UTC", "41")))
    assert one == two
    assert plan_digest(module.plan(unit("active", "Thu 2026-12-03 09:30:12 UTC", "41"))) != one


def test_the_plan_schema_in_docs_is_the_file_format_and_a_real_plan_validates(
    site: Path,
) -> None:
    documented = json.loads((ROOT / "docs" / "plan-schema.json").read_text())
    assert documented == plan_schema(), "docs/plan-schema.json: regenerate it from planfile"
    path = make_plan(site)
    jsonschema.Draft202012Validator(documented).validate(json.loads(path.read_text()))


def test_a_host_the_dry_run_could_not_plan_is_left_out_and_not_applied(site: Path) -> None:
    (site / "site.yml").write_text(
        SITE.replace(
            "  tasks:\n",
            "  tasks:\n    - name: not h2\n      assert: {that: \"inventory_hostname != 'h2'\"}\n",
            1,
        )
    )
    res = run(site, "plan", "-i", "hosts.yml", "site.yml", "-o", "change.plan")
    assert res.returncode == 2, "the dry run's own exit code: a task failed"
    saved = read(site / "change.plan")
    assert list(saved.hosts) == ["h1"] and "not h2" in saved.left_out["h2"]
    assert "h2 is left out of the plan" in res.stderr
    applied = run(site, "apply", "--plan", "change.plan", "-o", "json")
    assert applied.returncode == 0, applied.stderr
    assert {h for h, _, _ in results(applied)} == {"h1"}
    assert not (site / "out" / "h2" / "motd").exists()


TWO_PLAYS = """\
- hosts: all
  gather_facts: false
  vars_files: [vars.yml]
  tasks:
    - name: lines of one file
      lineinfile:
        path: "{{ out }}/{{ inventory_hostname }}/conf"
        line: "{{ item }}"
        create: true
      loop: [a, b, c]
- hosts: all
  gather_facts: false
  vars_files: [vars.yml]
  tasks:
    - name: later file
      copy: {content: "later\\n", dest: "{{ out }}/{{ inventory_hostname }}/later"}
    - name: last
      copy: {content: "last\\n", dest: "{{ out }}/{{ inventory_hostname }}/last"}
"""


def test_drift_after_an_earlier_change_of_the_same_apply_is_found_and_items_are_not(
    site: Path,
) -> None:
    """Each loop item edits the file the one before it changed: not drift. A file changed
    by hand that a later play manages, read only after this apply changed the host: drift."""
    (site / "site.yml").write_text(TWO_PLAYS)
    make_plan(site)
    (site / "out" / "h1" / "later").write_text("by hand\n")
    res = run(site, "apply", "--plan", "change.plan", "-o", "json")
    assert res.returncode == 3, res.stderr
    got = results(res)
    assert [(t, s) for h, t, s in got if h == "h1"] == [
        *[("lines of one file", "changed")] * 3,
        ("later file", "stale"),
    ]
    assert [s for h, _, s in got if h == "h2"] == ["changed"] * 5
    assert (site / "out" / "h1" / "conf").read_text() == "a\nb\nc\n"
    assert (site / "out" / "h1" / "later").read_text() == "by hand\n"
    assert not (site / "out" / "h1" / "last").exists()
