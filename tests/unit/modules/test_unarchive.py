"""unarchive: archives made here (tar in each compression, zip), unpacked for real with
this machine's GNU tar and unzip, from the controller (uploaded) or from the 'host'."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

from provisioner.errors import ModuleArgsError, ProbeError
from provisioner.modules import _archive, lookup
from provisioner.modules.base import (
    CONVERGED,
    Blocked,
    Change,
    Failed,
    Kind,
    ModuleContext,
    Provision,
)
from provisioner.modules.unarchive import UnarchiveModule
from tests.unit.modules.host import converge, observe, run_op, sh, syntax_ok

APP = {
    "app/": None,
    "app/bin/": None,
    "app/bin/run": b"#!/bin/sh\necho run\n",
    "app/README": b"read me\n",
    "app/conf/": None,
    "app/conf/app.conf": b"port=8080\n",
}


TarMode = Literal["w", "w:gz", "w:bz2", "w:xz"]


def make_tar(path: Path, files: dict[str, bytes | None], mode: TarMode = "w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name.rstrip("/"))
            info.mtime = 1_700_000_000
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tf.addfile(info, io.BytesIO(data))
    return path


def make_zip(path: Path, files: dict[str, bytes | None]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, (2023, 11, 14, 22, 13, 20))
            info.external_attr = ((0o40755 if data is None else 0o100644) << 16) | (
                0x10 if data is None else 0
            )
            zf.writestr(info, data or b"")
    return path


MAKERS: dict[str, Callable[[Path, dict[str, bytes | None]], Path]] = {
    "app.tar": lambda d, f: make_tar(d / "app.tar", f, "w"),
    "app.tar.gz": lambda d, f: make_tar(d / "app.tar.gz", f, "w:gz"),
    "app.tgz": lambda d, f: make_tar(d / "app.tgz", f, "w:gz"),
    "app.tar.bz2": lambda d, f: make_tar(d / "app.tar.bz2", f, "w:bz2"),
    "app.tar.xz": lambda d, f: make_tar(d / "app.tar.xz", f, "w:xz"),
    "app.zip": lambda d, f: make_zip(d / "app.zip", f),
}


@dataclass
class Site:
    """A controller dir with the archive, and the host's dest."""

    ctl: Path
    dest: Path
    archive: Path

    def module(self, remote: bool = False, **args: Any) -> UnarchiveModule:
        src = str(self.archive) if remote else self.archive.name
        raw = {"src": src, "dest": str(self.dest), "remote_src": remote, **args}
        return UnarchiveModule.from_dict(raw, ModuleContext(base_dir=self.ctl))


def site(tmp: Path, name: str, files: dict[str, bytes | None] | None = None) -> Site:
    (tmp / "ctl").mkdir(exist_ok=True)
    (tmp / "dest").mkdir(exist_ok=True)
    return Site(tmp / "ctl", tmp / "dest", MAKERS[name](tmp / "ctl", files or APP))


def tree(root: Path) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        out[rel] = None if p.is_dir() else p.read_bytes()
    return out


UNPACKED = {n.rstrip("/"): d for n, d in APP.items()}


@dataclass(frozen=True)
class Case:
    id: str
    archive: str
    remote: bool = False
    args: dict[str, Any] = field(default_factory=dict)
    before: dict[str, bytes | None] = field(default_factory=dict)  # in dest first
    summary: tuple[str, ...] | None = None  # None: not checked beyond the head
    after: dict[str, bytes | None] = field(default_factory=lambda: dict(UNPACKED))


CASES = [
    *(Case(f"{name}, from the controller", name) for name in MAKERS),
    *(Case(f"{name}, on the host", name, remote=True) for name in ("app.tar.xz", "app.zip")),
    Case(
        "some members there already, one of another size",
        "app.tar.gz",
        before={"app": None, "app/README": b"read me\n", "app/bin": None, "app/bin/run": b"x"},
        summary=(
            "unpack app.tar.gz into {dest} (3 of 6 members missing or different)",
            "size differs: app/bin/run",
            "missing: app/conf",
            "missing: app/conf/app.conf",
        ),
    ),
    Case(
        "files that are not in the archive are left alone",
        "app.zip",
        before={"keep.txt": b"mine\n"},
        after={**UNPACKED, "keep.txt": b"mine\n"},
    ),
    Case(
        "exclude: not unpacked, not checked",
        "app.tgz",
        args={"exclude": ["app/conf", "*.md"]},
        after={k: v for k, v in UNPACKED.items() if not k.startswith("app/conf")},
    ),
    Case(
        "exclude from a zip",
        "app.zip",
        args={"exclude": "app/README"},
        after={k: v for k, v in UNPACKED.items() if k != "app/README"},
    ),
    Case(
        "--strip-components, from the controller",
        "app.tgz",
        args={"extra_opts": ["--strip-components=1"]},
        after={k.removeprefix("app/"): v for k, v in UNPACKED.items() if k != "app"},
    ),
    Case(
        "--strip-components N, on the host",
        "app.tar",
        remote=True,
        args={"extra_opts": ["--strip-components", "1"]},
        after={k.removeprefix("app/"): v for k, v in UNPACKED.items() if k != "app"},
    ),
    Case(
        "--transform, on the host (the listing follows it)",
        "app.tar.bz2",
        remote=True,
        args={"extra_opts": ["--transform", "s,^app,srv,"]},
        after={"srv" + k.removeprefix("app"): v for k, v in UNPACKED.items()},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_unpack_and_converge(tmp_path: Path, case: Case) -> None:
    s = site(tmp_path, case.archive)
    for name, data in case.before.items():
        target = s.dest / name
        if data is None:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.write_bytes(data)
    module = s.module(case.remote, **case.args)
    assert syntax_ok(module.probe())
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change), first
    src = str(s.archive) if case.remote else s.archive.name
    if case.summary is not None:
        assert first.summary == tuple(x.format(dest=s.dest) for x in case.summary)
    else:
        assert first.summary[0].startswith(f"unpack {src} into {s.dest} (")
    assert again is CONVERGED
    assert tree(s.dest) == case.after


def test_creates_skips_without_looking_at_members(tmp_path: Path) -> None:
    s = site(tmp_path, "app.tar.gz")
    (s.dest / "app").mkdir()
    module = s.module(creates=str(s.dest / "app"))
    state = observe(module)
    assert module.plan(state) is CONVERGED
    assert state[0].members == 0 and tree(s.dest) == {"app": None}


def test_creates_missing_but_members_there_is_converged_as_ansible_says(tmp_path: Path) -> None:
    s = site(tmp_path, "app.zip")
    first, _ = converge(s.module(), tmp_path)
    assert isinstance(first, Change)
    module = s.module(creates=str(s.dest / "not-in-the-archive"))
    assert module.plan(observe(module)) is CONVERGED


def test_mode_is_given_to_every_member_and_checked(tmp_path: Path) -> None:
    s = site(tmp_path, "app.tgz")
    converge(s.module(), tmp_path)
    module = s.module(mode="0750")
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change)
    assert first.summary[0].endswith("(6 of 6 members missing or different)")
    assert first.summary[1] == "mode differs: app"
    assert again is CONVERGED
    assert {stat.S_IMODE((s.dest / n).stat().st_mode) for n in UNPACKED} == {0o750}


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_owner_and_group_of_every_member(tmp_path: Path) -> None:
    s = site(tmp_path, "app.tar")
    module = s.module(owner="nobody", group="nogroup" if _has_group("nogroup") else "nobody")
    first, again = converge(module, tmp_path)
    assert isinstance(first, Change) and again is CONVERGED
    assert {(s.dest / n).owner() for n in UNPACKED} == {"nobody"}


def _has_group(name: str) -> bool:
    import grp

    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


@pytest.mark.parametrize("remote", [False, True])
def test_list_files(tmp_path: Path, remote: bool) -> None:
    s = site(tmp_path, "app.tar.gz")
    module = s.module(remote, list_files=True)
    state = observe(module)
    assert module.fields(state) == {
        "dest": str(s.dest),
        "src": str(s.archive) if remote else s.archive.name,
        "files": ["app", "app/bin", "app/bin/run", "app/README", "app/conf", "app/conf/app.conf"],
    }


# --- missing things ---------------------------------------------------------------------


def test_missing_dest_waits_for_an_earlier_directory(tmp_path: Path) -> None:
    s = site(tmp_path, "app.tgz")
    s.dest.rmdir()
    module = s.module()
    blocked = module.plan(observe(module))
    assert isinstance(blocked, Blocked) and blocked.message == f"directory {s.dest} not found"
    # what `file: state=directory` of dest (or a parent's child) provides covers it
    assert Provision(Kind.PATH, str(s.dest)).covers(blocked.need)


def test_missing_archive_on_the_host_waits_for_an_earlier_download(tmp_path: Path) -> None:
    s = site(tmp_path, "app.zip")
    s.archive.unlink()
    module = s.module(remote=True)
    blocked = module.plan(observe(module))
    assert isinstance(blocked, Blocked)
    assert blocked.need == Provision(Kind.PATH, str(s.archive))


def test_zip_without_unzip_names_the_package(tmp_path: Path) -> None:
    s = site(tmp_path, "app.zip")
    module = s.module()
    bare = tmp_path / "bare"
    bare.mkdir()
    for tool in ("sh", "cat", "awk", "stat", "tar", "head", "tr", "printf"):
        found = shutil.which(tool)
        if found:
            os.symlink(found, bare / tool)
    r = subprocess.run(["/bin/sh", "-c", module.probe()], env={"PATH": str(bare)},
                       capture_output=True, text=True, check=False)  # fmt: skip
    blocked = module.plan(module.parse(r.stdout))
    assert isinstance(blocked, Blocked) and blocked.need == Provision(Kind.PACKAGE, "unzip")
    assert blocked.message == "unzip not found: zip archives need it: install the unzip package"


def test_not_an_archive(tmp_path: Path) -> None:
    (tmp_path / "ctl").mkdir()
    (tmp_path / "ctl" / "x.tar.gz").write_bytes(b"plain text, no archive\n")
    with pytest.raises(ModuleArgsError, match="is not a tar .* or zip archive"):
        UnarchiveModule.from_dict(
            {"src": "x.tar.gz", "dest": "/srv"}, ModuleContext(base_dir=tmp_path / "ctl")
        )


def test_not_an_archive_on_the_host(tmp_path: Path) -> None:
    (tmp_path / "dest").mkdir()
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"plain text\n")
    module = UnarchiveModule.from_dict(
        {"src": str(junk), "dest": str(tmp_path / "dest"), "remote_src": True}
    )
    r = sh(module.probe())
    with pytest.raises(ProbeError, match=r"cannot list .*junk.tgz \(tar exit 2\)"):
        module.parse(r.stdout)


def test_too_many_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_archive, "MAX_MEMBERS", 3)
    s = site(tmp_path, "app.tar")
    with pytest.raises(ModuleArgsError, match="more than 3 members, too many to check"):
        s.module()
    module = s.module(remote=True)
    assert isinstance(module.plan(observe(module)), Failed)
    with_creates = s.module(remote=True, creates=str(s.dest / "app"))
    plan = with_creates.plan(observe(with_creates))
    assert isinstance(plan, Change) and plan.summary[0].endswith(f"({s.dest}/app is missing)")


def test_the_upload_is_the_archive_and_nothing_is_left(tmp_path: Path) -> None:
    s = site(tmp_path, "app.tar.xz")
    module = s.module()
    change = module.plan(observe(module))
    assert isinstance(change, Change)
    (op,) = module.commands(change)
    assert op.upload == s.archive.read_bytes()
    assert 'tar -x -J -f "$PROVISION_SRC" -C' in op.script
    assert run_op(op, lambda sc, e=None: sh(sc, env=e), tmp_path).rc == 0


def test_provides_what_it_unpacks(tmp_path: Path) -> None:
    s = site(tmp_path, "app.tgz", {"etc/systemd/system/app.service": b"[Unit]\n"})
    module = s.module()
    change = module.plan(observe(module))
    assert isinstance(change, Change)
    found = module.provides(change)
    assert Provision(Kind.PATH, f"{s.dest}/etc/systemd/system/app.service") in found
    remote = s.module(remote=True)
    assert remote.provides(change) == frozenset({Provision(Kind.PATH)})


# --- odd values ---------------------------------------------------------------------------

ODD = "a b'$(touch pwned)`touch pwned2`;\"*"


def test_odd_member_names_and_dest(tmp_path: Path) -> None:
    files: dict[str, bytes | None] = {f"{ODD}/": None, f"{ODD}/{ODD}.txt": b"odd\n", "x\ty": b"t"}
    for remote in (False, True):
        root = tmp_path / str(remote)
        root.mkdir()
        s = site(root, "app.tgz", files)
        odd_dest = s.dest / ODD
        odd_dest.mkdir()
        s.dest = odd_dest
        module = s.module(remote, exclude=["*.none"], mode="0700")
        first, again = converge(module, root)
        assert isinstance(first, Change) and again is CONVERGED
        assert tree(odd_dest) == {ODD: None, f"{ODD}/{ODD}.txt": b"odd\n", "x\ty": b"t"}
    assert not list(Path.cwd().glob("pwned*")) and not list(tmp_path.rglob("pwned*"))


# --- arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"src": "https://example.com/a.tgz", "dest": "/srv"}, "URLs are not supported yet"),
        ({"src": "a.tgz", "dest": "srv"}, "must be an absolute path"),
        ({"src": "a.tgz", "dest": "/srv", "remote_src": True}, "must be an absolute path"),
        ({"src": "/a.tgz", "dest": "/srv", "extra_opts": ["-C", "/"]}, "'-C' is not supported"),
        ({"src": "/a.tgz", "dest": "/srv", "extra_opts": "--directory=/x"}, "not supported"),
        ({"src": "/a.tgz", "dest": "/srv", "keep_newer": True}, "unknown argument 'keep_newer'"),
    ],
)
def test_bad_arguments(args: dict[str, Any], error: str) -> None:
    with pytest.raises(ModuleArgsError, match=error):
        UnarchiveModule.validate_args(args)


def test_a_transform_of_a_controller_archive_needs_creates(tmp_path: Path) -> None:
    s = site(tmp_path, "app.tgz")
    with pytest.raises(ModuleArgsError, match="--transform changes which members land where"):
        s.module(extra_opts=["--transform=s/a/b/"])
    assert s.module(extra_opts=["--transform=s/a/b/"], creates="/srv/b").members


def test_zip_junk_paths_needs_creates(tmp_path: Path) -> None:
    s = site(tmp_path, "app.zip")
    with pytest.raises(ModuleArgsError, match="-j changes where a zip's members land"):
        s.module(extra_opts=["-j"])
    module = s.module(remote=True, extra_opts=["-j"])
    assert module.plan(observe(module)) == Failed(
        "unarchive: extra_opts -j changes where a zip's members land: give `creates`"
    )


def test_missing_controller_file(tmp_path: Path) -> None:
    with pytest.raises(ModuleArgsError, match="src file .*nope.tgz not found"):
        UnarchiveModule.from_dict(
            {"src": "nope.tgz", "dest": "/srv"}, ModuleContext(base_dir=tmp_path)
        )


def test_answers_to_its_full_name() -> None:
    assert lookup("ansible.builtin.unarchive") is UnarchiveModule
