"""The `pde2net` command's entry point.

Kept apart from `cli.py` so that Ctrl-C at any moment, while the command starts up
(importing click, SymPy, torch) included, ends with one line and exit code 130 instead
of a traceback or click's "Aborted!" with the "unstable" code 1.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def main() -> None:
    try:
        from pde2net.cli import run

        run()
    except KeyboardInterrupt:
        interrupted()


def interrupted() -> None:
    """One line on stderr, exit 130."""
    try:
        sys.stderr.write("pde2net: interrupted\n")
        sys.stderr.flush()
    finally:
        raise SystemExit(EXIT_INTERRUPTED)
