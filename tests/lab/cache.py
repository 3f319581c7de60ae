"""The build cache under /var/cache/provisioner-lab (PROVISIONER_LAB_CACHE).

Entries are named by a hash of what built them (package lists, recipe version and the
source of the modules that hold the recipe), built in a temporary directory beside their
final place and renamed when complete, so a crash never leaves a half entry behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from .config import CACHE_DIR
from .system import log


def recipe_hash(*parts: str | ModuleType) -> str:
    """Hash of strings and of modules' source text: change either and the key changes."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, ModuleType):
            assert part.__file__ is not None
            digest.update(Path(part.__file__).read_bytes())
        else:
            digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


@contextmanager
def locked() -> Iterator[None]:
    """Serialise builds between concurrent `up`s."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def entry(name: str, build: Callable[[Path], None]) -> Path:
    """CACHE_DIR/name, built by build(tmp_path) unless it already exists."""
    final = CACHE_DIR / name
    if final.exists():
        log.info("cache hit: %s", final)
        return final
    tmp = CACHE_DIR / f".{name}.tmp"
    if tmp.exists() or tmp.is_symlink():
        remove(tmp)
    log.info("building %s", final)
    try:
        build(tmp)
    except BaseException:
        remove(tmp)
        raise
    tmp.rename(final)
    _prune_older(name)
    return final


def _prune_older(name: str) -> None:
    """Remove entries of the same kind built by other recipes (a lower dir is ~400 MB).

    Safe because only `up` builds, after `down`: no lab uses an older entry then.
    """
    kind = name.split("-", 1)[0] + "-"
    for other in CACHE_DIR.glob(f"{kind}*"):
        if other.name != name and not other.name.startswith("."):
            log.info("removing stale cache entry %s", other)
            remove(other)


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
