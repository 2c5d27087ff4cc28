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
    directories = sorted({path.parent for path in files})
    with _termination_as_exception(), _locked(directories):
        _remove_leftovers(files)
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
            with _signals_held():  # no signal between a rename and its bookkeeping
                for tmp, path in staged:
                    renamed.append(path)  # listed first: rolling back an undone rename is harmless
                    os.replace(tmp, path)
                committed = True
        finally:
            with _signals_held():
                if not committed:
                    for path in reversed(renamed):  # roll back, newest first
                        if path in backups:
                            # a no-op when the rename never happened (the backup is a
                            # hard link to the same file); the backup goes below either way
                            os.replace(backups[path], path)
                        else:
                            with contextlib.suppress(FileNotFoundError):
                                os.unlink(path)
                for leftover in [tmp for tmp, _ in staged] + list(backups.values()):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(leftover)


@contextlib.contextmanager
def _locked(directories: list[Path]) -> Iterator[None]:
    """An exclusive advisory lock (flock) on each output directory itself, so that two
    compiles into one directory take turns instead of mixing their files. Locking the
    directory's own descriptor leaves no lock file behind. Where flock is missing
    (not POSIX), nothing is locked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fds = []
    try:
        for directory in directories:
            directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(directory, os.O_RDONLY)
            fds.append(fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        for fd in reversed(fds):
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _remove_leftovers(files: Mapping[Path, bytes]) -> None:
    """Temporaries and backups of these outputs that a killed run (SIGKILL, power loss)
    left: hidden `.NAME.*.tmp` and `.NAME.*.old` files. Only called under the
    directory lock, so no running compile still needs them."""
    for path in files:
        if not path.parent.is_dir():
            continue
        for suffix in ("tmp", "old"):
            for leftover in path.parent.glob(f".{glob_escape(path.name)}.*.{suffix}"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(leftover)


def glob_escape(name: str) -> str:
    """`name` with glob's special characters taken literally."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Defer SIGINT, SIGTERM and SIGHUP while the block runs: their Python handlers (which
    always run in the main thread, whichever thread the kernel picked) only note the
    signal, and the first one noted is raised again when the block ends."""
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    numbers = [getattr(signal, n) for n in names if hasattr(signal, n)]
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {n: signal.signal(n, lambda signum, frame: pending.append(signum)) for n in numbers}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if pending:
            signal.raise_signal(pending[0])


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
