"""Newline handling between the lexer and the LALR parser.

Newlines end statements, but a statement may continue on the next line wherever it is
visibly unfinished: inside brackets, after an opening brace, a comma or an operator.
Tokens are passed on at once (never buffered), because Lark's contextual lexer picks
the terminals it accepts from the parser's current state.
"""

from __future__ import annotations

from collections.abc import Iterator

from lark import Token

_OPEN = {"LPAR", "LSQB"}
_CLOSE = {"RPAR", "RSQB"}
# After these tokens a newline cannot end a statement.
_CONTINUES = {
    "_NL",
    "LBRACE",
    "COMMA",
    "PLUS",
    "MINUS",
    "STAR",
    "SLASH",
    "CIRCUMFLEX",
    "EQUAL",
    "COLON",
    "_ARROW",
}


class NewlinePostLex:
    """Drops newlines that cannot end a statement and collapses runs of them."""

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        previous: str | None = None
        for token in stream:
            if token.type == "_NL":
                if depth > 0 or previous is None or previous in _CONTINUES:
                    continue
            elif token.type in _OPEN:
                depth += 1
            elif token.type in _CLOSE:
                depth = max(depth - 1, 0)
            previous = token.type
            yield token
