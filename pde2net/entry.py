"""The `pde2net` command's entry point.

Kept apart from `cli.py` so that Ctrl-C at any moment, while the command starts up
(importing click, SymPy, torch) included, ends with one line and exit code 130 instead
of a traceback or click's "Aborted!" with the "unstable" code 1.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
from typing import NoReturn

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


_signalled = False  # set by the first Ctrl-C, whatever exception it then turns into


def _on_sigint(signum: int, frame: object) -> None:
    global _signalled
    _signalled = True
    raise KeyboardInterrupt


def was_interrupted() -> bool:
    """Whether Ctrl-C was pressed: a KeyboardInterrupt raised while a C extension
    initialises comes out as another exception (`ImportError: initialization failed`),
    which is an interruption, not an internal error."""
    return _signalled


def main() -> None:
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not ignored
        signal.signal(signal.SIGINT, _on_sigint)
    try:
        from pde2net.cli import run

        run()
    except KeyboardInterrupt:
        interrupted()
    except SystemExit as done:
        if sys.gettrace() is not None or sys.getprofile() is not None:
            raise  # a debugger, profiler or coverage tool reports at the normal exit
        finish(done.code)


def finish(code: object) -> NoReturn:
    """Exit with SystemExit's `code` without tearing the interpreter down: with torch,
    onnx and SymPy loaded, CPython's module teardown and final garbage collection take
    0.4 s here, more than the work of many commands. The atexit handlers (weakref
    finalizers, temporary directories, multiprocessing's workers) still run and the
    standard streams are flushed; every file pde2net writes is closed by then."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"), as CPython prints it
        sys.stderr.write(f"{code}\n")
        status = 1
    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe (`| head`)
                stream.flush()
        os._exit(status)


def interrupted() -> NoReturn:
    """One line on stderr, exit 130. The exit is os._exit (the cleanups of `finally`
    blocks, such as an atomic write's rollback, have run by now): CPython kills itself
    with SIGINT at exit, whatever SystemExit said, once a KeyboardInterrupt escaped any
    nested interpreter run, as one can while torch is being imported."""
    try:
        sys.stdout.flush()
        sys.stderr.write("pde2net: interrupted\n")
        sys.stderr.flush()
    finally:
        os._exit(EXIT_INTERRUPTED)
