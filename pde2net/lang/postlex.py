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
_PAIRS = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}
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


MAX_TOKENS = 50_000  # far beyond any real spec; parsing costs ~20 µs a token


class TooManyTokens(Exception):
    """The spec has more than MAX_TOKENS tokens; `token` is the first one too many."""

    def __init__(self, token: Token) -> None:
        super().__init__(f"more than {MAX_TOKENS} tokens")
        self.token = token


class NewlinePostLex:
    """Drops newlines that cannot end a statement and collapses runs of them."""

    always_accept = ("_NL",)

    def __init__(self) -> None:
        # For syntax errors: the last tokens passed on (newest last, the offending one
        # included) and the brackets and braces still open, innermost last.
        self.recent: list[Token] = []
        self.open: list[Token] = []

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = count = 0
        previous: str | None = None
        self.recent, self.open = [], []
        for token in stream:
            count += token.type != "_NL"  # line breaks and comments are not tokens that cost
            if count > MAX_TOKENS:
                raise TooManyTokens(token)
            if token.type == "_NL":
                if depth > 0 or previous is None or previous in _CONTINUES:
                    continue
            elif token.type in _OPEN:
                depth += 1
            elif token.type in _CLOSE:
                depth = max(depth - 1, 0)
            previous = token.type
            self._track(token)
            yield token

    def _track(self, token: Token) -> None:
        self.recent = [*self.recent[-2:], token]
        if token.type in _PAIRS:
            self.open.append(token)
        elif self.open and _PAIRS.get(self.open[-1].type) == token.type:
            self.open.pop()
