"""Located errors: every user mistake carries file, line and column."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pde2net.loc import Loc


class SpecError(Exception):
    """A mistake in a spec or its overrides, reported GCC-style with the source line."""

    def __init__(self, message: str, loc: Loc | None, notes: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.notes = list(notes)

    def render(self, source: str | None = None) -> str:
        """`file:line:col: error: message`, then the line and a caret under the column."""
        where = f"{self.loc}: " if self.loc else ""
        lines = [printable(f"{where}error: {self.message}")]
        # Lines as the parser counts them (only "\n" ends one, unlike str.splitlines).
        source_lines = source_lines_of(source) if source is not None else []
        if self.loc and 1 <= self.loc.line <= len(source_lines):
            width = 1
            if self.loc.end_column and self.loc.end_column > self.loc.column:
                width = self.loc.end_column - self.loc.column
            text, column, width = clip(
                printable(source_lines[self.loc.line - 1]), self.loc.column, width
            )
            gutter = f"{self.loc.line:>5} | "
            lines.append(gutter + text)
            pad = "".join(c if c == "\t" else " " for c in text[: column - 1])
            lines.append(" " * (len(gutter) - 2) + "| " + pad + "^" + "~" * (width - 1))
        lines.extend(printable(f"note: {note}") for note in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{self.loc}: error: {self.message}" if self.loc else f"error: {self.message}"


LINE_WIDTH = 160  # the most of a source line an error shows


def clip(text: str, column: int, width: int) -> tuple[str, int, int]:
    """A window of at most LINE_WIDTH characters of `text` around the caret at `column`
    (1-based) spanning `width`, with `…` where it was cut; the caret's new column and
    width. An error on a 10 MB line shows a line, not 10 MB."""
    if len(text) <= LINE_WIDTH:
        return text, column, width
    width = min(width, LINE_WIDTH // 2)
    start = max(0, min(column - 1 - LINE_WIDTH // 4, len(text) - LINE_WIDTH + 2))
    window = text[start : start + LINE_WIDTH - 2]
    head = "…" if start > 0 else ""
    tail = "…" if start + len(window) < len(text) else ""
    return head + window + tail, column - start + len(head), width


def abbreviate(text: str, width: int = 40) -> str:
    """`text`, or its start and end around `…` when longer than `width` (a 5,000-digit
    number in a message)."""
    if len(text) <= width:
        return text
    half = (width - 1) // 2
    return f"{text[:half]}…{text[-half:]}"


def source_lines_of(source: str) -> list[str]:
    """The lines of a spec as the parser numbers them: split at "\n" only (a form feed
    or U+2028 does not end a line), without a line ending's "\r"; an empty file has one
    empty line."""
    lines = source.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()  # the text after the last newline is not a line
    return [line.removesuffix("\r") for line in lines]


def printable(text: str) -> str:
    """`text` with control and other unprintable characters (a terminal escape, a NUL,
    a zero-width space) shown as U+FFFD, one for one, so the caret stays aligned."""
    return "".join(c if c.isprintable() or c == "\t" else "\ufffd" for c in text)


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """' (did you mean 'relu'?)' when a close candidate exists, else ''."""
    close = difflib.get_close_matches(name, sorted(set(candidates) - {name}), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
