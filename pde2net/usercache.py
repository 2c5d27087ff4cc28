"""This user's cache directory, used only when no one else can write to it.

Two things are kept between runs: Lark's parser tables (a pickle, which runs code when
loaded) and certify's reference graphs (what a model file is compared against). What is
read back from there is trusted like the installed package itself, so the directory
must belong to this user and be writable by no one else (like Python's own
__pycache__); otherwise nothing is cached. PDE2NET_CACHE=0 turns all caching off.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def directory() -> Path | None:
    """`$XDG_CACHE_HOME/pde2net` (default `~/.cache/pde2net`), made 0700 if missing; None
    when caching is off or the directory is not this user's alone."""
    if os.environ.get("PDE2NET_CACHE", "1") == "0" or not hasattr(os, "getuid"):
        return None
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pde2net"
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = root.stat()
    except (OSError, RuntimeError):  # RuntimeError: no home directory
        return None
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    return root


def write(path: Path, data: bytes) -> None:
    """Write `path` atomically (a reader sees the old file or the whole new one); a cache
    that cannot be written is only a missed speed-up, so errors are swallowed."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass
