"""Where a message points: a place in a spec file, or on the command line.

Kept apart from `ir` (which needs SymPy) so that the command line and certify can report
located errors without importing SymPy."""

from __future__ import annotations

from dataclasses import dataclass

COMMAND_LINE = "<command line>"  # the file name of errors in --set options


@dataclass(frozen=True)
class Loc:
    """A place in a spec file (1-based line and column)."""

    file: str
    line: int
    column: int
    end_column: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"
