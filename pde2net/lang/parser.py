"""Source text to Lark syntax tree, with syntax errors turned into located SpecErrors."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from pde2net.ir import Loc
from pde2net.lang.errors import SpecError
from pde2net.lang.postlex import NewlinePostLex

# What the parser's terminal names mean to a person.
_READABLE = {
    "NAME": "a name",
    "NUMBER": "a number",
    "KERNEL": "a kernel size such as 3x3",
    "_NL": "end of line",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "COMMA": "','",
    "COLON": "':'",
    "EQUAL": "'='",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "CIRCUMFLEX": "'^'",
    "QUOTE": "'''",
    "_ARROW": "'->'",
    "DECL_KW": "a declaration (state, weight, norm, param, grid)",
    "FN_KW": "'fn'",
    "DERIV": "an equation dt(u) = ...",
    "$END": "end of file",
}


def grammar_text() -> str:
    """The grammar, from the installed package or, in a source checkout, from grammars/."""
    packaged = resources.files("pde2net").joinpath("grammars/pde.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parents[2] / "grammars" / "pde.lark").read_text("utf-8")


@functools.cache
def _parser() -> lark.Lark:
    return lark.Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        strict=True,
        postlex=NewlinePostLex(),
        propagate_positions=True,
        maybe_placeholders=True,
        cache=False,
    )


def parse(text: str, file: str = "<spec>") -> lark.Tree:
    """Parse spec text; a syntax error raises SpecError at the offending token."""
    try:
        return _parser().parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(err, text, file) from None


def _syntax_error(err: UnexpectedInput, text: str, file: str) -> SpecError:
    line, column = max(err.line, 1), max(err.column, 1)
    if isinstance(err, UnexpectedCharacters):
        char = text[err.pos_in_stream] if err.pos_in_stream < len(text) else "?"
        return SpecError(f"unexpected character {char!r}", Loc(file, line, column))
    expected = sorted({_READABLE.get(t, f"'{t.lower()}'") for t in (err.expected or ())})
    hint = f"; expected {_join(expected)}" if expected and len(expected) <= 6 else ""
    if isinstance(err, UnexpectedEOF) or (
        isinstance(err, UnexpectedToken) and err.token.type == "$END"
    ):
        lines = text.splitlines() or [""]
        return SpecError("unexpected end of file" + hint, Loc(file, len(lines), len(lines[-1]) + 1))
    assert isinstance(err, UnexpectedToken)
    token = err.token
    shown = "end of line" if token.type == "_NL" else repr(str(token))
    end = column + len(str(token)) if token.type != "_NL" else None
    return SpecError(f"unexpected {shown}{hint}", Loc(file, line, column, end))


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
