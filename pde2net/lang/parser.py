"""Source text to Lark syntax tree, with syntax errors turned into located SpecErrors."""

from __future__ import annotations

import functools
import os
import re
import sys
import unicodedata
from importlib import resources
from pathlib import Path

import lark
from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from pde2net import usercache
from pde2net.ir import Loc
from pde2net.lang.errors import SpecError, source_lines_of
from pde2net.lang.expressions import loc_of
from pde2net.lang.postlex import MAX_TOKENS, NewlinePostLex, TooManyTokens

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
    "VBAR": "'|'",
    "QUOTE": "'''",
    "_ARROW": "'->'",
    "DECL_KW": "a declaration (state, weight, norm, param, grid, stencil)",
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


def cache_file() -> str | bool:
    """Where Lark keeps the analysed grammar between runs, or False for no cache.

    Building the LALR tables takes about half a second of every command; Lark caches
    them as a pickle keyed by the grammar's hash, in the user's own cache directory
    (`pde2net.usercache`: never one others can write to, since a pickle is code).
    PDE2NET_PARSER_CACHE=0 (or PDE2NET_CACHE=0) turns it off."""
    root = usercache.directory()
    if os.environ.get("PDE2NET_PARSER_CACHE", "1") == "0" or root is None:
        return False
    version = "".join(map(str, sys.version_info[:2]))
    return str(root / f"grammar-lark{lark.__version__}-py{version}.cache")


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
        cache=cache_file(),
    )


MAX_NESTING = 100  # levels of the syntax tree; the later stages recurse on it


def load() -> None:
    """Build the parser now (it is built once per process, in about half a second)."""
    _parser()


def parse(text: str, file: str = "<spec>") -> lark.Tree:
    """Parse spec text; a syntax error raises SpecError at the offending token."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(err, text, file) from None
    except RecursionError:  # never seen: Lark's LALR parser is iterative
        raise SpecError("the spec nests too deeply", Loc(file, 1, 1)) from None
    except TooManyTokens as err:
        token = err.token
        raise SpecError(
            f"the spec is too long: more than {MAX_TOKENS:,} tokens (names, numbers and "
            "symbols); a spec written by hand has a few thousand",
            Loc(file, token.line or 1, token.column or 1),
        ) from None
    _check_nesting(tree, file)
    _check_names(tree, file)
    return tree


def _check_names(tree: lark.Tree, file: str) -> None:
    """Names with a double underscore (dunders among them) are the generated code's."""
    reserved = list(tree.scan_values(lambda v: isinstance(v, Token) and "__" in v))
    reserved = [t for t in reserved if t.type == "NAME"]
    if reserved:
        first = min(reserved, key=lambda t: (t.line, t.column))
        raise SpecError(
            f"'{first}': names containing '__' are reserved for the generated Python code; "
            f"rename it (e.g. '{first.strip('_').replace('__', '_') or 'x'}')",
            Loc(file, first.line, first.column, first.column + len(first)),
        )


def _check_nesting(tree: lark.Tree, file: str) -> None:
    """Refuse a tree deeper than MAX_NESTING at its first too-deep node (iteratively)."""
    stack: list[tuple[lark.Tree | Token, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, lark.Tree):
            continue
        if depth > MAX_NESTING:
            where = loc_of(node, file)
            raise SpecError(
                f"this expression is too long or nests too deeply (more than {MAX_NESTING} "
                "levels of operators, calls or brackets); split it with constants or "
                "functions",
                Loc(file, where.line, where.column),
            )
        stack.extend((kid, depth + 1) for kid in node.children if kid is not None)


def _syntax_error(err: UnexpectedInput, text: str, file: str) -> SpecError:
    line, column = max(err.line, 1), max(err.column, 1)
    postlex: NewlinePostLex = _parser().options.postlex
    if isinstance(err, UnexpectedCharacters):
        char = text[err.pos_in_stream] if err.pos_in_stream < len(text) else "?"
        hint = ""
        if not char.isascii() or not char.isprintable():
            # look-alikes (Cyrillic К, fullwidth ｕ) and invisible characters: say which
            hint = f" (U+{ord(char):04X} {unicodedata.name(char, 'unnamed')})"
        if char.isalpha() and not char.isascii():
            hint += "; names are written with ASCII letters, digits and '_'"
        return SpecError(f"unexpected character {char!r}{hint}", Loc(file, line, column))
    # `accepts` (what the parser can really take here) is exact; `expected` may hold
    # terminals that LALR's merged lookaheads only seem to allow.
    accepted = set(getattr(err, "accepts", None) or err.expected or ())
    expected = sorted({_READABLE.get(t, f"'{t.lower()}'") for t in accepted})
    hint = f"; expected {_join(expected)}" if expected and len(expected) <= 6 else ""
    at_end = isinstance(err, UnexpectedEOF) or (
        isinstance(err, UnexpectedToken) and err.token.type == "$END"
    )
    # The tokens before the offending one (the lexer may refuse that one before the
    # post-lexer sees it, so it is not always the last one passed on).
    offending = None if at_end else err.token
    history = [t for t in postlex.recent if offending is None or t.start_pos < offending.start_pos]
    unclosed = _unclosed(postlex.open, history, offending, accepted, file)
    if unclosed is not None:
        return unclosed
    if at_end:
        lines = source_lines_of(text)
        return SpecError("unexpected end of file" + hint, Loc(file, len(lines), len(lines[-1]) + 1))
    assert isinstance(err, UnexpectedToken)
    token = err.token
    known = _known_mistake(token, history, accepted, text, file)
    if known is not None:
        return known
    shown = "end of line" if token.type == "_NL" else repr(str(token))
    end = column + len(str(token)) if token.type != "_NL" else None
    return SpecError(f"unexpected {shown}{hint}", Loc(file, line, column, end))


_CLOSER = {"LPAR": ")", "LSQB": "]", "LBRACE": "}"}
_CLOSER_TYPE = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}
_TOP_LEVEL = {"CONST", "PDE", "NETWORK"}  # keywords that can only start a top-level item


def _unclosed(
    still_open: list[Token],
    history: list[Token],
    token: Token | None,
    accepted: set[str],
    file: str,
) -> SpecError | None:
    """A bracket or brace left open, reported at the opener, when that is the likely
    mistake: the parser wanted the closer where the next line (or the file) began."""
    if not still_open or _CLOSER_TYPE[still_open[-1].type] not in accepted:
        return None
    opener = still_open[-1]
    if token is None:
        where = "before the end of the file"
    else:
        if not history or not history[-1].line < token.line or token.line <= opener.line:
            return None  # the offending token does not start a later line
        if opener.type == "LBRACE" and token.type not in _TOP_LEVEL:
            return None
        where = f"before line {token.line}"
    closer = _CLOSER[opener.type]
    return SpecError(
        f"'{opener}' is not closed: '{closer}' is missing {where}",
        Loc(file, opener.line, opener.column, opener.column + 1),
    )


def _known_mistake(
    token: Token, history: list[Token], accepted: set[str], text: str, file: str
) -> SpecError | None:
    """A clearer message for a few common slips, or None."""
    before = history[-1] if history else None
    same_line = before is not None and before.line == token.line
    kernel = same_line and before.type == "NUMBER" and re.fullmatch(r"(x[0-9]+)+", str(token))
    after_equal = len(history) >= 2 and history[-2].type == "EQUAL"
    if kernel and before.end_pos == token.start_pos and after_equal:
        return SpecError(
            f"a kernel size such as {before}{token} cannot follow '='; write it as the "
            "first argument, e.g. conv(3x3, 3 -> 16)",
            Loc(file, before.line, before.column, token.end_column),
        )
    if (
        same_line
        and before.type == "NUMBER"
        and token.type in ("NAME", "LPAR")
        and "STAR" in accepted
    ):
        operand = str(token) if token.type == "NAME" else "(...)"
        return SpecError(
            f"a number cannot be applied like an operator; write '{before} * {operand}' to "
            "multiply",
            Loc(file, before.line, before.column, token.end_column),
        )
    if same_line and before.type == "STAR" and token.type == "STAR":
        return SpecError(
            "'**' is not an operator; write '^' for a power, e.g. u^2",
            Loc(file, before.line, before.column, token.end_column),
        )
    if token.type == "SLASH" and text.startswith("//", token.start_pos):
        return SpecError(
            "unexpected '//'; comments start with '#'",
            Loc(file, token.line, token.column, token.column + 2),
        )
    if before is not None and before.type in ("INPUT", "OUTPUT") and token.type == "LPAR":
        return SpecError(
            f"'{before}' is a keyword here: it starts the {before} line, e.g. "
            f"'{'input image(3, 32, 32)' if before.type == 'INPUT' else 'output linear(64 -> 10)'}'"
            f"; a pde or function named '{before}' cannot be used as a layer, rename it",
            Loc(file, before.line, before.column, before.end_column),
        )
    if token.type == "NAME" and {"COMMA", "BY"} <= accepted:
        return SpecError(
            f"expected ',' before '{token}' (layers on one line are separated by commas)",
            Loc(file, token.line, token.column, token.end_column),
        )
    return None


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
