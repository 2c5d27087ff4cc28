"""The `pde2net` command's entry point.

Kept apart from `cli.py` so that Ctrl-C at any moment, while the command starts up
(importing click, SymPy, torch) included, ends with one line and exit code 130 instead
of a traceback or click's "Aborted!" with the "unstable" code 1.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def main() -> None:
    try:
        from pde2net.cli import run

        run()
    except KeyboardInterrupt:
        interrupted()


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
