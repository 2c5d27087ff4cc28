"""A cold `compile` spends two independent second-long waits: SymPy checking the spec
(its import and the analysis) and importing torch, onnx and onnxruntime. Where there is
a core to spare, the check runs in a forked child while this process imports, and its
result comes back pickled (a few KiB); anything short of a result (an error in the spec,
no fork, one core) and the caller checks here as before, so errors read the same.
`PDE2NET_OVERLAP=0` turns it off."""

from __future__ import annotations

import os
import pickle
import signal
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


def available() -> bool:
    """A fork to spare: POSIX fork, more than one core to run on, not turned off, and
    torch not imported yet (nothing to overlap then; and its threads make a fork unsafe)."""
    if os.environ.get("PDE2NET_OVERLAP", "1") == "0" or not hasattr(os, "fork"):
        return False
    if "torch" in sys.modules:
        return False
    if sys.platform != "linux":  # fork without exec is unsafe with macOS frameworks
        return False
    return len(os.sched_getaffinity(0)) > 1


class Pending(Generic[T]):
    """The child's result, once this process is ready to wait for it."""

    def __init__(self, pid: int | None, reader: int | None) -> None:
        self._pid, self._reader = pid, reader

    def result(self) -> T | None:
        """The child's return value, or None where it did not return one."""
        if self._pid is None or self._reader is None:
            return None
        with os.fdopen(self._reader, "rb") as pipe:
            data = pipe.read()
        self._reader = None
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        if not data or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return None
        value, caught = pickle.loads(data)
        for message, category, filename, lineno in caught:
            warnings.warn_explicit(message, category, filename, lineno)
        return value

    def close(self) -> None:
        """Ends the child if nobody waited for it (Ctrl-C, an error here)."""
        if self._reader is not None:
            os.close(self._reader)
            self._reader = None
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
                os.waitpid(self._pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self._pid = None


@contextmanager
def in_child(work: Callable[[], T]) -> Iterator[Pending[T]]:
    """`work` run in a forked child for the duration; `.result()` waits for it. Call it
    before this process starts threads (torch's): the child is a copy of this one."""
    if not available():
        yield Pending(None, None)
        return
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        code = 1
        try:
            os.close(reader)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)  # the parent speaks for both; on a failure it redoes the work
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("default")
                value = work()
            found = [(str(w.message), w.category, w.filename, w.lineno) for w in caught]
            data = pickle.dumps((value, found), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(writer, "wb") as pipe:
                pipe.write(data)
            code = 0
        except BaseException:  # any failure: the parent does the work
            code = 1
        finally:
            os._exit(code)
    os.close(writer)
    pending: Pending[T] = Pending(pid, reader)
    try:
        yield pending
    finally:
        pending.close()
