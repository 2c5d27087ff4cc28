"""Atomic output: every file is written to a temporary sibling, then renamed into place."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path


def write_atomically(files: Mapping[Path, bytes]) -> None:
    """Write all files or none: temporaries first, renames only once all are on disk.

    Any failure or interruption (an exception, Ctrl-C, SIGTERM, SIGHUP) leaves the
    existing outputs as they were and no partial file behind: before the renames, each
    existing output is kept as a hard link, and a failed rename puts the old files back
    and removes the new ones. Each rename itself is atomic on POSIX. (A SIGKILL can
    still leave a hidden `.NAME.*.tmp` temporary, never a partial NAME.)
    """
    staged: list[tuple[str, Path]] = []  # temporaries written, in the order of `files`
    backups: dict[Path, str] = {}  # existing outputs, kept until the renames are done
    renamed: list[Path] = []
    committed = False
    with _termination_as_exception():
        try:
            for path, data in files.items():
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
                staged.append((tmp, path))
                os.fchmod(fd, 0o666 & ~_umask())
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
            for _, path in staged:
                if path.exists():
                    backups[path] = _keep(path)
            for tmp, path in staged:
                os.replace(tmp, path)
                renamed.append(path)
            committed = True
        finally:
            if not committed:
                for path in reversed(renamed):  # roll back, newest first
                    if path in backups:
                        os.replace(backups.pop(path), path)
                    else:
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(path)
            for leftover in [tmp for tmp, _ in staged] + list(backups.values()):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(leftover)


def _keep(path: Path) -> str:
    """A hard link to `path` under a hidden name (a copy where links are not possible)."""
    fd, keep = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent)
    os.close(fd)
    os.unlink(keep)
    try:
        os.link(path, keep)
    except OSError:
        shutil.copy2(path, keep)
    return keep


@contextlib.contextmanager
def _termination_as_exception() -> Iterator[None]:
    """SIGTERM and SIGHUP raise SystemExit while the block runs (in the main thread,
    where their handlers are the default ones), so that the cleanup above still runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is signal.SIG_DFL:
            previous[number] = signal.signal(number, _exit_on_signal)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
