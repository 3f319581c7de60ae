"""Build, sign and verify small stand-in rpm packages with Debian's rpmbuild/rpmsign."""

from __future__ import annotations

import glob
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .system import LabError, run


@dataclass(frozen=True)
class File:
    """One path a package owns: a file with `content` (or a copy of the controller's file
    `copy_from`, a glob: the last match by name), a symlink to `target`, or a dir."""

    path: str
    content: str | None = None
    mode: int = 0o644
    target: str | None = None
    config: bool = False
    directory: bool = False
    copy_from: str | None = None


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    release: str
    summary: str
    arch: str = "noarch"
    epoch: int | None = None
    provides: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    recommends: tuple[str, ...] = ()  # weak: dnf installs them when it can, yum 3 never
    conflicts: tuple[str, ...] = ()
    files: tuple[File, ...] = ()
    pre: str = ""
    post: str = ""
    preun: str = ""
    postun: str = ""
    description: str = field(default="Stand-in package of the provisioner lab.")

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}-{self.release}.{self.arch}.rpm"

    @property
    def evr(self) -> str:
        epoch = f"{self.epoch}:" if self.epoch is not None else ""
        return f"{epoch}{self.version}-{self.release}"


def _spec(pkg: Package, tree: Path) -> str:
    lines = [
        f"Name: {pkg.name}",
        f"Version: {pkg.version}",
        f"Release: {pkg.release}",
        f"Summary: {pkg.summary}",
        "License: MIT",
        f"BuildArch: {pkg.arch}",
        "AutoReqProv: no",
    ]
    if pkg.epoch is not None:
        lines.append(f"Epoch: {pkg.epoch}")
    lines += [f"Provides: {p}" for p in pkg.provides]
    lines += [f"Requires: {r}" for r in pkg.requires]
    lines += [f"Recommends: {r}" for r in pkg.recommends]
    lines += [f"Conflicts: {c}" for c in pkg.conflicts]
    lines += [
        "",
        "%description",
        pkg.description,
        "",
        "%install",
        f"cp -a {tree}/. %{{buildroot}}/",
    ]
    for section, body in (
        ("pre", pkg.pre),
        ("post", pkg.post),
        ("preun", pkg.preun),
        ("postun", pkg.postun),
    ):
        if body:
            lines += ["", f"%{section}", body.strip()]
    lines += ["", "%files"]
    for f in pkg.files:
        if f.directory:
            lines.append(f"%dir %attr({f.mode:o},root,root) {f.path}")
        elif f.target is not None:
            lines.append(f.path)
        else:
            prefix = "%config(noreplace) " if f.config else ""
            lines.append(f"{prefix}%attr({f.mode:o},root,root) {f.path}")
    return "\n".join(lines) + "\n"


def _lay_out(pkg: Package, tree: Path) -> None:
    for f in pkg.files:
        dest = tree / f.path.lstrip("/")
        if f.directory:
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        if f.target is not None:
            dest.symlink_to(f.target)
        elif f.copy_from is not None:
            found = sorted(glob.glob(f.copy_from))
            if not found:
                raise LabError(f"{pkg.name} needs the controller's {f.copy_from}: none found")
            shutil.copyfile(found[-1], dest)
            dest.chmod(f.mode)
        else:
            dest.write_text(f.content or "")
            dest.chmod(f.mode)


def build(pkg: Package, out_dir: Path) -> Path:
    """rpmbuild one package into out_dir; return the rpm's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="provlab-rpm-") as tmp:
        top = Path(tmp)
        tree = top / "tree"
        tree.mkdir()
        _lay_out(pkg, tree)
        spec = top / f"{pkg.name}.spec"
        spec.write_text(_spec(pkg, tree))
        run(
            [
                "rpmbuild",
                "-bb",
                "--quiet",
                "--define",
                f"_topdir {top}",
                "--define",
                f"_rpmdir {top / 'out'}",
                "--define",
                "_build_id_links none",
                "--define",
                "debug_package %{nil}",
                "--define",
                "__os_install_post %{nil}",
                "--define",
                "_binary_payload w9.gzdio",
                spec,
            ]
        )
        built = top / "out" / pkg.arch / pkg.filename
        if not built.exists():
            raise LabError(f"rpmbuild did not produce {built}")
        dest = out_dir / pkg.filename
        shutil.copy2(built, dest)
        return dest


def sign(rpms: list[Path], gnupg_home: Path, key_id: str, public_key: Path) -> None:
    """rpmsign the packages, then prove each signature verifies against the public key.

    rpmsign exits 0 even when gpg fails, hence the rpmkeys --checksig round trip.
    """
    run(
        [
            "rpmsign",
            "--addsign",
            "--define",
            "__gpg /usr/bin/gpg",
            "--define",
            f"_gpg_path {gnupg_home}",
            "--define",
            f"_gpg_name {key_id}",
            *rpms,
        ],
        env={"GNUPGHOME": str(gnupg_home)},
    )
    with tempfile.TemporaryDirectory(prefix="provlab-rpmdb-") as db:
        run(["rpmkeys", "--dbpath", db, "--import", public_key])
        for rpm in rpms:
            out = run(["rpmkeys", "--dbpath", db, "--checksig", rpm], check=False)
            if out.returncode != 0 or "signatures OK" not in out.stdout:
                raise LabError(f"signature of {rpm.name} does not verify: {out.stdout.strip()}")
