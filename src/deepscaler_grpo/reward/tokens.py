"""A cursor over the tokens of one answer, shared by the small recursive-descent readers (``bignum``, ``periodic``).

    cursor = TokenCursor(["2", "^", "{", "10", "}"])
    cursor.take()          # "2"
    cursor.take("^")       # "^"; ValueError when the next token is another one
"""

from __future__ import annotations


class TokenCursor:
    """The tokens and the position of the next one; readers raise ValueError on anything unexpected."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.at = tokens, 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ValueError(f"expected {expected or 'a token'}, found {token!r}")
        self.at += 1
        return token
