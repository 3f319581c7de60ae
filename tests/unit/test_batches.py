"""serial batches, max_fail_percentage, any_errors_fatal, run_once and delegate_to:
localhost, on four 'hosts' that are temp directories driven by a real sh."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import PlaybookErrors
from provisioner.events import PlayStarted, RunSummary, Status
from provisioner.inventory import Host, load_inventory
from provisioner.playbook.load import load_playbook
from provisioner.report import to_json
from provisioner.runner import Runner, RunOptions
from tests.unit.test_runner import ShHost

NAMES = ("h1", "h2", "h3", "h4")


@pytest.fixture
def four(tmp_path: Path) -> dict[str, Any]:
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n" + "".join(f"    {n}: {{host: 127.0.0.1}}\n" for n in NAMES))
    hosts = {}
    for name in NAMES:
        (tmp_path / name).mkdir()
        hosts[name] = ShHost(name, tmp_path / name)
    return {"dir": tmp_path, "inventory": inv, "hosts": hosts}


def run(lab: dict[str, Any], body: str) -> tuple[RunSummary, list[PlayStarted]]:
    book = lab["dir"] / "play.yml"
    book.write_text(body)
    hosts: dict[str, ShHost] = lab["hosts"]
    plays: list[PlayStarted] = []

    def connect(host: Host) -> ShHost:
        return hosts[host.name]

    def listen(event: object) -> None:
        if isinstance(event, PlayStarted):
            plays.append(event)

    runner = Runner(
        load_playbook(book), load_inventory(lab["inventory"]), connect, RunOptions(), listen
    )
    return runner.run(), plays


def ran(summary: RunSummary, task: str) -> list[str]:
    """The hosts where `task` has a result, in order."""
    return [r.host for r in summary.results if r.task == task]


def flag(lab: dict[str, Any], host: str, name: str) -> str | None:
    path = lab["dir"] / host / name
    return path.read_text().strip() if path.exists() else None


# A task that fails on the hosts named in `bad`, then one that marks the host done.
FAILING = """
- hosts: all
  {keywords}
  tasks:
    - name: maybe fail
      fail: {{msg: broken}}
      when: inventory_hostname in {bad}
    - name: mark
      test_flag: {{path: done, value: "yes"}}
- name: second
  hosts: all
  tasks:
    - name: second play
      test_flag: {{path: second, value: "yes"}}
"""


@pytest.mark.parametrize(
    ("serial", "sizes"),
    [
        ("2", [("h1", "h2"), ("h3", "h4")]),
        ("'50%'", [("h1", "h2"), ("h3", "h4")]),
        ("'30%'", [("h1",), ("h2",), ("h3",), ("h4",)]),  # rounds down, at least one
        ("[1, 2]", [("h1",), ("h2", "h3"), ("h4",)]),  # the last size repeats
        ("[1, '100%']", [("h1",), ("h2", "h3", "h4")]),
        ("3", [("h1", "h2", "h3"), ("h4",)]),
    ],
)
def test_serial_runs_the_play_in_batches(
    four: dict[str, Any], serial: str, sizes: list[tuple[str, ...]]
) -> None:
    summary, plays = run(four, FAILING.format(keywords=f"serial: {serial}", bad="[]"))
    first = [p for p in plays if p.play == "hosts: all"][: len(sizes)]
    assert [p.hosts for p in first] == sizes
    assert first[0].batch == f"batch 1 of {len(sizes)}"
    # Each batch runs the whole play before the next batch starts.
    first_play = [r.host for r in summary.results if r.play == "hosts: all"]
    batch_of = {h: number for number, batch in enumerate(sizes) for h in batch}
    assert [batch_of[h] for h in first_play] == sorted(batch_of[h] for h in first_play)
    assert len(first_play) == 8  # two tasks on each host
    assert all(flag(four, h, "second") == "yes" for h in NAMES)
    assert summary.stopped == [] and summary.exit_code == 0


def test_a_batch_whose_hosts_all_fail_stops_the_playbook(four: dict[str, Any]) -> None:
    summary, _ = run(four, FAILING.format(keywords="serial: 2", bad="['h1', 'h2']"))
    assert ran(summary, "mark") == []  # neither h3 nor h4 ran: their batch never started
    assert ran(summary, "second play") == []
    [stop] = summary.stopped
    assert stop.reason == "batch 1 of 2: every host failed"
    assert stop.stopped == ("h3", "h4")
    assert to_json(summary)["stopped"] == [
        {"play": "hosts: all", "reason": stop.reason, "hosts": ["h3", "h4"]}
    ]
    assert summary.exit_code == 2


def test_one_failed_host_of_a_batch_lets_the_others_go_on(four: dict[str, Any]) -> None:
    summary, _ = run(four, FAILING.format(keywords="serial: 2", bad="['h1']"))
    assert sorted(ran(summary, "mark")) == ["h2", "h3", "h4"]
    assert sorted(ran(summary, "second play")) == ["h2", "h3", "h4"]
    assert summary.stopped == []


@pytest.mark.parametrize(
    ("limit", "bad", "stops"),
    [
        (25, "['h1']", False),  # 1 of 4 is 25%: reached, not exceeded
        (24, "['h1']", True),
        (0, "['h3']", True),  # any failure
        (50, "['h1', 'h2']", False),
        (49, "['h1', 'h2']", True),
    ],
)
def test_max_fail_percentage_stops_the_play_when_exceeded(
    four: dict[str, Any], limit: int, bad: str, stops: bool
) -> None:
    summary, _ = run(four, FAILING.format(keywords=f"max_fail_percentage: {limit}", bad=bad))
    assert bool(summary.stopped) is stops
    if stops:
        assert "more than max_fail_percentage" in summary.stopped[0].reason
        assert ran(summary, "second play") == []
    else:
        assert len(ran(summary, "second play")) == 4 - bad.count("h")


def test_any_errors_fatal_stops_every_host_at_its_next_task(four: dict[str, Any]) -> None:
    summary, _ = run(four, FAILING.format(keywords="any_errors_fatal: true", bad="['h2']"))
    [stop] = summary.stopped
    assert stop.reason == "any_errors_fatal: h2 failed 'maybe fail'"
    assert ran(summary, "second play") == []
    # Hosts run in parallel, not in lockstep: one may have marked itself before h2
    # failed; none goes on after, and none of the rest runs the next play.
    assert "h2" not in ran(summary, "mark")
    assert summary.exit_code == 2


def test_a_rescued_failure_is_not_fatal(four: dict[str, Any]) -> None:
    body = """
- hosts: all
  any_errors_fatal: true
  tasks:
    - block:
        - fail: {msg: broken}
          when: inventory_hostname == 'h1'
      rescue:
        - debug: {msg: fixed}
    - name: mark
      test_flag: {path: done, value: "yes"}
"""
    summary, _ = run(four, body)
    assert summary.stopped == [] and sorted(ran(summary, "mark")) == list(NAMES)


def test_any_errors_fatal_on_a_task_only(four: dict[str, Any]) -> None:
    body = """
- hosts: all
  tasks:
    - name: soft
      fail: {msg: soft}
      when: inventory_hostname == 'h1'
    - name: hard
      fail: {msg: hard}
      when: inventory_hostname == 'h2'
      any_errors_fatal: true
    - name: mark
      test_flag: {path: done, value: "yes"}
- name: later
  hosts: all
  tasks:
    - debug: {msg: later}
"""
    # A later play: the stop stops something even when the others finished first.
    summary, _ = run(four, body)
    assert summary.stopped[0].reason == "any_errors_fatal: h2 failed 'hard'"
    assert "h1" not in ran(summary, "hard")  # h1 stopped at its own failure, as always


def test_meta_end_play_skips_the_later_batches_but_not_the_next_play(
    four: dict[str, Any],
) -> None:
    body = """
- hosts: all
  serial: 2
  tasks:
    - meta: end_play
    - name: never
      test_flag: {path: never, value: "yes"}
- hosts: all
  tasks:
    - name: next play
      test_flag: {path: next, value: "yes"}
"""
    summary, plays = run(four, body)
    assert [p.hosts for p in plays if p.play == "hosts: all"][0] == ("h1", "h2")
    assert ran(summary, "never") == []
    assert sorted(ran(summary, "next play")) == list(NAMES)
    assert summary.stopped == []


def test_run_once_runs_on_one_host_and_every_host_gets_its_result(
    four: dict[str, Any],
) -> None:
    body = """
- hosts: all
  serial: 2
  tasks:
    - name: once
      command: "echo from-{{ inventory_hostname }}"
      register: said
      run_once: true
    - name: pick
      set_fact: {chosen: "{{ said.stdout }}"}
      run_once: true
    - name: write
      test_flag: {path: got, value: "{{ said.stdout }} {{ chosen }}"}
"""
    summary, _ = run(four, body)
    once = ran(summary, "once")
    assert len(once) == 2  # one host per batch
    first, second = once
    assert first in ("h1", "h2") and second in ("h3", "h4")
    for host in ("h1", "h2"):
        assert flag(four, host, "got") == f"from-{first} from-{first}"
    for host in ("h3", "h4"):
        assert flag(four, host, "got") == f"from-{second} from-{second}"


def test_a_failed_run_once_task_fails_every_host_of_the_batch(four: dict[str, Any]) -> None:
    body = """
- hosts: all
  tasks:
    - name: once
      command: "false"
      run_once: true
    - name: after
      test_flag: {path: after, value: "yes"}
"""
    summary, _ = run(four, body)
    assert ran(summary, "after") == []
    failed = [r for r in summary.results if r.status is Status.FAILED]
    assert len(failed) == 4
    assert sum("run_once: the task failed on" in r.msg for r in failed) == 3


def test_delegate_to_localhost_runs_on_the_controller(four: dict[str, Any]) -> None:
    out = four["dir"] / "controller.txt"
    body = f"""
- hosts: all
  tasks:
    - name: on the controller
      shell: "echo {{{{ inventory_hostname }}}} >> {out}"
      delegate_to: localhost
    - name: on the host
      test_flag: {{path: here, value: "yes"}}
"""
    summary, _ = run(four, body)
    assert sorted(out.read_text().split()) == list(NAMES)
    for name, host in four["hosts"].items():
        assert not any(str(out) in script for script in host.runs), name
        assert flag(four, name, "here") == "yes"
    assert summary.exit_code == 0


def test_delegate_to_another_host_is_said_not_supported_where_it_runs(
    four: dict[str, Any],
) -> None:
    body = """
- hosts: h1
  tasks:
    - name: elsewhere
      command: "true"
      delegate_to: "{{ groups['all'][1] }}"
"""
    summary, _ = run(four, body)
    [result] = summary.results
    assert result.status is Status.FAILED
    assert "delegate_to 'h2': only the controller (localhost) is supported yet" in result.msg
    assert "(the task would run on h1)" in result.msg


@pytest.mark.parametrize(
    ("keywords", "says"),
    [
        ("serial: lots", "serial: 'lots' is neither a number of hosts nor a percentage"),
        ("serial: -1", "serial: '-1' is neither a number of hosts nor a percentage"),
        ("max_fail_percentage: 120", "max_fail_percentage"),
    ],
)
def test_bad_play_keywords_are_load_errors(four: dict[str, Any], keywords: str, says: str) -> None:
    book = four["dir"] / "play.yml"
    book.write_text(f"- hosts: all\n  {keywords}\n  tasks: []\n")
    with pytest.raises(PlaybookErrors) as exc:
        load_playbook(book)
    [msg] = [str(e) for e in exc.value.errors]
    assert says in msg and "play.yml:" in msg


def test_magic_variables_of_the_inventory_and_the_batch(four: dict[str, Any]) -> None:
    four["inventory"].write_text(
        "all:\n  vars: {colour: blue}\n  children:\n    web:\n      hosts:\n"
        "        h1: {host: 127.0.0.1, colour: red}\n        h2: {host: 127.0.0.1}\n"
        "    db:\n      hosts:\n        h3: {host: 127.0.0.1}\n        h4: {host: 127.0.0.1}\n"
    )
    body = """
- hosts: all
  serial: 2
  tasks:
    - name: write
      test_flag:
        path: seen
        value: >-
          {{ groups['web'] | join(',') }} {{ groups['all'] | length }}
          {{ hostvars['h1']['colour'] }} {{ hostvars[groups['db'][0]].colour }}
          {{ ansible_play_batch | join(',') }} {{ play_hosts | join(',') }}
          {{ ansible_play_hosts_all | length }}
"""
    summary, _ = run(four, body)
    assert summary.exit_code == 0
    assert flag(four, "h2", "seen") == "h1,h2 4 red blue h1,h2 h1,h2 4"
    assert flag(four, "h4", "seen") == "h1,h2 4 red blue h3,h4 h3,h4 4"


def test_changed_when_and_failed_when_judge_any_module(four: dict[str, Any]) -> None:
    body = """
- hosts: h1
  tasks:
    - name: quiet
      test_flag: {path: a, value: "1"}
      changed_when: false
      register: quiet
    - name: judged by its result
      test_flag: {path: b, value: "2"}
      failed_when: quiet.changed
    - name: fails on purpose
      test_flag: {path: c, value: "3"}
      failed_when: "'3' in 'x3'"
"""
    summary, _ = run(four, body)
    got = [(r.task, r.status) for r in summary.results]
    assert got == [
        ("quiet", Status.OK),
        ("judged by its result", Status.CHANGED),
        ("fails on purpose", Status.FAILED),
    ]
    assert flag(four, "h1", "a") == "1"  # changed_when: false still applies the change
    assert summary.results[-1].msg.startswith("failed_when: ")


def test_a_last_play_whose_hosts_all_failed_stops_nothing_more_and_says_nothing(
    four: dict[str, Any],
) -> None:
    body = "- hosts: all\n  tasks:\n    - fail: {msg: broken}\n"
    summary, _ = run(four, body)
    assert summary.exit_code == 2 and summary.stopped == []


def test_a_host_that_finished_an_earlier_play_is_named_when_a_later_one_stops_it(
    four: dict[str, Any],
) -> None:
    body = """
- hosts: all
  tasks:
    - debug: {msg: first}
- name: second
  hosts: all
  any_errors_fatal: true
  tasks:
    - name: slow on the others
      command: "sleep 1"
      when: inventory_hostname != 'h1'
    - fail: {msg: broken}
      when: inventory_hostname == 'h1'
    - name: after
      debug: {msg: after}
"""
    summary, _ = run(four, body)
    [stop] = summary.stopped
    assert stop.reason == "any_errors_fatal: h1 failed 'fail'"
    assert set(stop.stopped) == {"h2", "h3", "h4"}  # they had not finished the play
    assert ran(summary, "after") == []
