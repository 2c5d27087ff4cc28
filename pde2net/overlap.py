"""A cold `compile` spends two independent second-long waits: SymPy checking the spec
(its import and the analysis) and importing torch, onnx and onnxruntime. Where there is
a core to spare, the check runs in a forked child while this process imports, and its
result comes back pickled (a few KiB); anything short of a result (an error in the spec,
no fork, one core) and the caller checks here as before, so errors read the same. The
child can go on with a second job on that result (compile's: certify's perturbed
export, `certify.perturbed`, beside the parent's own export), whose result the parent
takes when it gets there, or does that work itself. `PDE2NET_OVERLAP=0` turns it off."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, Generic, TypeVar

T = TypeVar("T")
U = TypeVar("U")


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


class Pending(Generic[T, U]):
    """The child's results, once this process is ready to wait for them."""

    def __init__(self, pid: int | None, reader: int | None) -> None:
        self._pid = pid
        self._pipe = os.fdopen(reader, "rb") if reader is not None else None

    def result(self) -> T | None:
        """What `work` returned, or None where the child did not return it."""
        message = self._receive()
        if message is None:
            return None
        value, caught = message
        for text, category, filename, lineno in caught:
            warnings.warn_explicit(text, category, filename, lineno)
        return value

    def later(self) -> U | None:
        """What `then` returned (after `result`), or None where it did not."""
        return self._receive()

    def _receive(self) -> Any:
        """The next message (8 bytes of length, then a pickle); None at the end."""
        if self._pipe is None:
            return None
        head = self._pipe.read(8)
        size = int.from_bytes(head, "big") if len(head) == 8 else 0
        data = self._pipe.read(size) if size else b""
        if not size or len(data) != size:
            self.close()  # the child failed or has nothing more to say
            return None
        return pickle.loads(data)

    def close(self) -> None:
        """Ends the child if it is still at work (nobody waits for it: done, Ctrl-C, an
        error here) and reaps it."""
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(self._pid, signal.SIGKILL)
                os.waitpid(self._pid, 0)
            self._pid = None


@contextmanager
def in_child(
    work: Callable[[], T], then: Callable[[T], U] | None = None
) -> Iterator[Pending[T, U]]:
    """`work` run in a forked child for the duration, then `then(work's value)` there
    too; `.result()` and `.later()` wait for them in turn. Call it before this process
    starts threads (torch's): the child is a copy of this one."""
    if not available():
        yield Pending(None, None)
        return
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        try:
            os.close(reader)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)  # the parent speaks for both; on a failure it redoes the work
            with os.fdopen(writer, "wb") as pipe:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("default")
                    value = work()
                found = [(str(w.message), w.category, w.filename, w.lineno) for w in caught]
                _send(pipe, (value, found))
                if then is not None:
                    with contextlib.suppress(OSError):
                        os.nice(10)  # optional work: the parent's comes first
                    _send(pipe, then(value))
        finally:  # any failure: the parent does the work itself
            os._exit(0)
    os.close(writer)
    pending: Pending[T, U] = Pending(pid, reader)
    try:
        yield pending
    finally:
        pending.close()


def _send(pipe: BinaryIO, value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(len(data).to_bytes(8, "big") + data)
    pipe.flush()
