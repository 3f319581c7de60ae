"""The saved plan of `provision plan` (docs/plan-schema.json): what a dry run found,
per host and task, and what it was made from, for a reviewer to read and for
`provision apply --plan` to apply exactly.

JSON, keys sorted, two spaces of indent, one task a block: a pull request's diff of
two plans shows the tasks that differ. Secrets stay out: a `no_log` task's changes
and diff are the dry run's masked ones (`(changes hidden: no_log)`), its probe digest
stands for them; extra vars are written masked; and every value the run knows as a
secret is masked in the whole text (`scrub`) before it is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from provisioner.errors import InputError, Location
from provisioner.events import RunSummary, Status, TaskResult

FORMAT: Literal["provisioner-plan"] = "provisioner-plan"
VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class PlanTask(_Model):
    """One task (one loop item) on one host, as the dry run reported it."""

    play: str
    """The play's name."""
    task: str
    """The task's name."""
    where: str
    """file:line:col of the task, the file relative to the plan's directory."""
    module: str
    item: str | None = None
    """The loop item's label; null without a loop; `(hidden)` for a no_log task."""
    handler: bool = False
    status: Literal["ok", "changed", "skipped", "failed"]
    """What the dry run found: changed means would change (or would run, `would_run`)."""
    would_run: bool = False
    """A command or shell task that would run: it runs at apply."""
    at_apply: bool = False
    """The plan leaves it to apply: it reads what an earlier change decides, or waits for
    what one brings (a unit a package installs). `apply --plan` does not hold it to
    `probed`, since the earlier change is made by then."""
    why: str | None = None
    """Why it is decided at apply, or skipped."""
    changes: list[str] = []
    """What would change, one line each (`(changes hidden: no_log)` for a no_log task)."""
    diff: str | None = None
    """A unified diff of a file's content, when there is one (never for a no_log task)."""
    probed: str | None = None
    """sha256 of what the module would do, from what its probes found on the host (a
    no_log task's changes and diff are in it, not in the file). `apply --plan` asks the
    host again and runs the task only if this is the same. Null: the dry run made none
    (skipped, run on the controller, decided at apply)."""


class PlanHost(_Model):
    tasks: list[PlanTask]
    """In the order they ran in the dry run."""


class PlanInputs(_Model):
    """What the plan was made from; paths relative to the plan file's directory."""

    playbook: str
    inventory: str | None
    """Null: no -i (localhost only)."""
    roles_path: list[str] = []
    files: dict[str, str]
    """Every controller file the dry run read (playbooks, roles, vars files, templates, the
    inventory and its host_vars) → its sha256; `apply --plan` refuses to run if one changed."""
    extra_vars: dict[str, Any] = {}
    """The -e variables, secrets masked."""
    extra_vars_digest: str
    """sha256 of the -e variables as they were (unmasked)."""
    extra_vars_masked: bool = False
    """Some -e values were secrets and are masked: `apply --plan` needs the same -e again."""


class PlanOptions(_Model):
    limit: str | None = None
    """--limit as given to `provision plan`; `apply --plan` runs the hosts in `hosts`."""
    tags: list[str] = []
    skip_tags: list[str] = []
    start_at_task: str | None = None


class PlanFile(_Model):
    """A saved plan: `provision plan -o FILE` writes it, `provision show FILE` prints it,
    `provision apply --plan FILE` applies it."""

    format: Literal["provisioner-plan"]
    version: int
    """The file format's version (1); another is refused."""
    tool_version: str
    """The version of provision that made it."""
    created: str
    """When it was made: UTC, ISO 8601."""
    inputs: PlanInputs
    options: PlanOptions
    hosts: dict[str, PlanHost]
    """The hosts planned, by inventory name: `apply --plan` applies these and no other."""
    left_out: dict[str, str] = {}
    """Hosts the dry run could not plan (a task failed, unreachable) → why: not applied."""


def plan_schema() -> dict[str, Any]:
    """The plan file's JSON Schema (docs/plan-schema.json)."""
    schema = PlanFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "provision plan -o FILE"
    return schema


class PlanError(InputError):
    """A plan file that cannot be used: names the file."""


def digest_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest_value(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return digest_bytes(text.encode("utf-8", "surrogateescape"))


def relative(path: Path, base: Path) -> str:
    """`path` as the plan writes it: relative to the plan's directory when it can be."""
    absolute = Path(os.path.abspath(path))
    try:
        return Path(os.path.relpath(absolute, os.path.abspath(base))).as_posix()
    except ValueError:  # another drive (Windows)
        return absolute.as_posix()


def resolved(text: str, base: Path) -> Path:
    path = Path(text)
    return path if path.is_absolute() else Path(os.path.abspath(base / path))


def _split_where(where: str) -> tuple[str, str]:
    """`file:line:col` → file, `:line:col` (a file name may hold a colon)."""
    parts = where.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return parts[0], f":{parts[1]}:{parts[2]}"
    return where, ""


def relative_where(where: str, base: Path) -> str:
    file, rest = _split_where(where)
    return relative(Path(file), base) + rest if file else where


def resolved_where(where: str, base: Path) -> str:
    file, rest = _split_where(where)
    return str(resolved(file, base)) + rest if file else where


def file_digests(paths: Iterable[Path], base: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in sorted(set(paths)):
        try:
            out[relative(path, base)] = digest_bytes(path.read_bytes())
        except OSError:
            continue  # read once and gone now: nothing of it was used
    return out


def changed_files(plan: PlanFile, base: Path) -> list[str]:
    """The recorded files whose content differs now (or that are gone), by their name."""
    found = []
    for name, digest in sorted(plan.inputs.files.items()):
        try:
            now = digest_bytes(resolved(name, base).read_bytes())
        except OSError:
            now = "gone"
        if now != digest:
            found.append(name)
    return found


def _task(result: TaskResult, base: Path) -> PlanTask:
    at_apply = result.undecided or result.blocked
    why = result.msg if (at_apply or result.status is Status.SKIPPED) and result.msg else None
    return PlanTask(
        play=result.play,
        task=result.task,
        where=relative_where(result.where, base),
        module=result.module,
        item=result.item or None,
        handler=result.handler,
        status=result.status.value,  # type: ignore[arg-type]  # failed hosts are left out
        would_run=result.would_run and result.status is Status.CHANGED,
        at_apply=at_apply,
        why=why,
        changes=list(result.summary),
        diff=result.diff,
        probed=result.digest or None,
    )


def planned_hosts(summary: RunSummary, base: Path) -> tuple[dict[str, PlanHost], dict[str, str]]:
    """The hosts the dry run planned, and those it left out with why."""
    left: dict[str, str] = {}
    for result in summary.results:
        failing = result.status is Status.FAILED and not (result.ignored or result.rescued)
        if (failing or result.status is Status.UNREACHABLE) and result.host not in left:
            left[result.host] = f"{result.status.value}: {result.task}: {result.msg}"[:500]
    hosts: dict[str, list[PlanTask]] = {h: [] for h in summary.hosts if h not in left}
    for result in summary.results:
        if result.host in hosts:
            hosts[result.host].append(_task(result, base))
    return {h: PlanHost(tasks=t) for h, t in hosts.items()}, left


def build(
    summary: RunSummary,
    inputs: PlanInputs,
    options: PlanOptions,
    tool_version: str,
    base: Path,
    now: datetime | None = None,
) -> PlanFile:
    """`base`: the plan file's directory, which its paths are relative to."""
    hosts, left = planned_hosts(summary, base)
    created = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return PlanFile(
        format=FORMAT,
        version=VERSION,
        tool_version=tool_version,
        created=created,
        inputs=inputs,
        options=options,
        hosts=hosts,
        left_out=left,
    )


def dumps(plan: PlanFile, scrub: Callable[[str], str] = lambda text: text) -> str:
    data = plan.model_dump(mode="json")
    return scrub(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)) + "\n"


def write(plan: PlanFile, path: Path, scrub: Callable[[str], str] = lambda text: text) -> None:
    """Atomically: a reader sees the old plan or the new one, never half of one."""
    text = dumps(plan, scrub)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read(path: Path) -> PlanFile:
    """A plan file, checked; PlanError naming the file (and the field) if it is none."""
    where = Location(str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise PlanError(f"cannot read the plan file: {why}", where) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(
            f"not a plan file (not JSON: {exc.msg})", Location(str(path), exc.lineno, exc.colno)
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PlanError(f'not a plan file (no "format": "{FORMAT}")', where)
    if data.get("version") != VERSION:
        raise PlanError(
            f"plan format version {data.get('version')!r}; this provision reads version {VERSION}"
            " (make the plan again with this provision)",
            where,
        )
    try:
        return PlanFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise PlanError(f"a broken plan file: {field}: {first['msg']}", where) from None


def hosts_limit(plan: PlanFile) -> str:
    """The plan's hosts as a --limit pattern (exact names)."""
    return ",".join(plan.hosts)
