"""Huge exact numbers compared without expanding them: ``big_number_verdict(pred, gold)``.

Arithmetic answers whose value has thousands of digits (``2\\cdot3^{2008}``, ``\\frac{2^{1009}}{2^{1009}+1009}``,
``\\binom{2000}{1000}``) are refused by the symbolic size guard. Here both sides are read by a small parser
(integers, decimals, ``+ - \\cdot \\times / ^ !``, ``\\frac``, ``\\binom``, brackets; nothing else, no ``eval``) and
evaluated modulo three 61-bit primes, and exactly while the value stays below ``EXACT_BITS``; factorials and
binomials may take ``MAX_WORK`` steps per answer in all. Values that agree
modulo all three primes are equal: two different rationals of the sizes allowed here agree modulo a prime
only when it divides their difference, and no policy can aim at three fixed 61-bit primes by chance. Exponents,
factorial and binomial arguments must be exact integers (exponents within ``MAX_EXPONENT``).

    big_number_verdict("6\\\\times3^{2007}", "2\\\\cdot3^{2008}")   # True; None when either side is not arithmetic
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from deepscaler_grpo.reward.tokens import TokenCursor

PRIMES = (2**61 - 1, 2306843009213693953, 2307843009213693997)
EXACT_BITS = 4096
MAX_EXPONENT = 10**12
MAX_WORK = 20_000  # factorial and binomial steps per answer: a few milliseconds, whatever the answer
MAX_DEPTH = 60
_TOKEN_RE = re.compile(r"\s*(\d+(?:\.\d+)?|\\(?:frac|binom|cdot|times|div)(?![A-Za-z])|[-+*/^!(){}\[\]])")


class _Unreadable(ValueError):
    """Not plain arithmetic, or beyond the bounds: no verdict."""


@dataclass(frozen=True)
class _Value:
    exact: Fraction | None  # None once the value is too large to hold exactly
    residues: tuple[int | None, ...]  # value mod each prime; None where a division by a multiple of it occurred


def _residue(value: Fraction, prime: int) -> int | None:
    den = value.denominator % prime
    return None if den == 0 else value.numerator % prime * pow(den, -1, prime) % prime


def _number(value: Fraction) -> _Value:
    return _Value(value, tuple(_residue(value, p) for p in PRIMES))


def _small(value: Fraction | None) -> Fraction | None:
    fits = value is not None and max(abs(value.numerator), value.denominator).bit_length() <= EXACT_BITS
    return value if fits else None


def _combine(a: _Value, b: _Value, op: str) -> _Value:
    exact = None
    if a.exact is not None and b.exact is not None and not (op == "/" and b.exact == 0):
        exact = _small({"+": a.exact + b.exact, "-": a.exact - b.exact, "*": a.exact * b.exact}.get(op)
                       if op != "/" else a.exact / b.exact)
    residues = []
    for x, y, p in zip(a.residues, b.residues, PRIMES):
        if x is None or y is None or (op == "/" and y == 0):
            residues.append(None)
        else:
            residues.append({"+": (x + y) % p, "-": (x - y) % p, "*": x * y % p}[op] if op != "/" else
                            x * pow(y, -1, p) % p)
    if op == "/" and b.exact == 0:
        raise _Unreadable("division by zero")
    return _Value(exact, tuple(residues))


def _integer(value: _Value, limit: int) -> int:
    if value.exact is None or value.exact.denominator != 1 or abs(value.exact) > limit:
        raise _Unreadable("an exponent or argument that is not a small exact integer")
    return int(value.exact)


def _power(base: _Value, exponent: int) -> _Value:
    exact = None
    if base.exact is not None and (base.exact == 0 or abs(exponent) * max(
            abs(base.exact.numerator), base.exact.denominator).bit_length() <= EXACT_BITS):
        exact = base.exact**exponent if not (base.exact == 0 and exponent < 0) else None
    residues = tuple(None if r is None or (r == 0 and exponent < 0) else pow(r, exponent, p)
                     for r, p in zip(base.residues, PRIMES))
    return _Value(exact, residues)


def _factorial(n: int) -> _Value:
    if n < 0 or n > MAX_WORK:
        raise _Unreadable("factorial out of range")
    residues = []
    for p in PRIMES:
        acc = 1
        for i in range(2, n + 1):
            acc = acc * i % p
        residues.append(acc)
    return _Value(_small(Fraction(math.factorial(n))) if n <= 400 else None, tuple(residues))


def _binomial(n: int, k: int) -> _Value:
    """C(n, k) modulo each prime in k steps (n < every prime, so no factor vanishes)."""
    if k < 0 or n < 0 or k > n:
        return _number(Fraction(0))
    k = min(k, n - k)
    residues = []
    for p in PRIMES:
        top = bottom = 1
        for i in range(k):
            top, bottom = top * (n - i) % p, bottom * (i + 1) % p
        residues.append(top * pow(bottom, -1, p) % p)
    return _Value(_small(Fraction(math.comb(n, k))) if n <= 2000 else None, tuple(residues))


class _Parser(TokenCursor):
    """Recursive descent over the tokens of one answer (grammar in ``expr`` / ``term`` / ``unary`` / ``power``)."""

    def __init__(self, text: str) -> None:
        tokens, position = [], 0
        for match in _TOKEN_RE.finditer(text):
            if match.start() != position:
                raise _Unreadable("a character that is not arithmetic")
            tokens.append(match.group(1))
            position = match.end()
        if text[position:].strip():
            raise _Unreadable("a character that is not arithmetic")
        super().__init__(tokens)
        self.depth, self.work = 0, 0

    def spend(self, steps: int) -> None:
        """Count factorial / binomial steps against ``MAX_WORK`` (``1000! \\cdot 1000! \\cdots`` adds up)."""
        self.work += max(steps, 0)
        if self.work > MAX_WORK:
            raise _Unreadable("too much work")

    def expr(self) -> _Value:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Unreadable("too deep")
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            value = _combine(value, self.term(), op)
        self.depth -= 1
        return value

    def term(self) -> _Value:
        value = self.unary()
        while True:
            token = self.peek()
            if token in ("*", "\\cdot", "\\times", "/", "\\div"):
                op = "/" if self.take() in ("/", "\\div") else "*"
                value = _combine(value, self.unary(), op)
            elif token in ("(", "{", "[", "\\frac", "\\binom") or (
                    self.at and self.tokens[self.at - 1] in (")", "}", "]", "!") and token is not None
                    and token[0].isdigit()):
                value = _combine(value, self.unary(), "*")  # 2(3+1), \frac12(x), 1000!\,1000!
            else:
                return value

    def unary(self) -> _Value:
        if self.peek() in ("-", "+"):
            sign = self.take()
            value = self.unary()
            return _combine(_number(Fraction(0)), value, "-") if sign == "-" else value
        return self.power()

    def power(self) -> _Value:
        base = self.postfix()
        if self.peek() != "^":
            return base
        self.take()
        if self.peek() == "{":
            exponent = self.group("{", "}")
        else:
            token = self.take()
            exponent = _number(Fraction(token)) if token[0].isdigit() else self.fail()
        return _power(base, _integer(exponent, MAX_EXPONENT))

    def postfix(self) -> _Value:
        value = self.primary()
        while self.peek() == "!":
            self.take()
            n = _integer(value, MAX_WORK)
            self.spend(n)
            value = _factorial(n)
        return value

    def group(self, left: str, right: str) -> _Value:
        self.take(left)
        value = self.expr()
        self.take(right)
        return value

    def primary(self) -> _Value:
        token = self.peek()
        if token is not None and token[0].isdigit():
            return _number(Fraction(self.take()))
        if token in ("(", "{", "["):
            return self.group(token, {"(": ")", "{": "}", "[": "]"}[token])
        if token in ("\\frac", "\\binom"):
            self.take()
            top, bottom = self.group("{", "}"), self.group("{", "}")
            if token == "\\frac":
                return _combine(top, bottom, "/")
            n, k = _integer(top, 10**7), _integer(bottom, 10**7)
            self.spend(min(k, n - k))
            return _binomial(n, k)
        return self.fail()

    def fail(self) -> _Value:
        raise _Unreadable(f"unexpected {self.peek()!r}")


def evaluate(text: str) -> _Value | None:
    """The value of an arithmetic answer (module doc), or None when it is not one or breaks a bound."""
    try:
        parser = _Parser(text)
        value = parser.expr()
        return value if parser.peek() is None and parser.tokens else None
    except (_Unreadable, RecursionError, ValueError, ZeroDivisionError, OverflowError, KeyError, IndexError):
        return None


def big_number_verdict(pred: str, gold: str) -> bool | None:
    """True / False for two arithmetic answers (module doc), None when either is not one."""
    if not (_HUGE_HINT_RE.search(pred) or _HUGE_HINT_RE.search(gold)):
        return None  # small values: the exact fast path and the symbolic grader already decide them
    values = evaluate(pred), evaluate(gold)
    if values[0] is None or values[1] is None:
        return None
    (a, b) = values
    if a.exact is not None and b.exact is not None:
        return a.exact == b.exact
    known = [(x, y) for x, y in zip(a.residues, b.residues) if x is not None and y is not None]
    return all(x == y for x, y in known) if len(known) >= 2 else None


_HUGE_HINT_RE = re.compile(r"\^\s*\{?\s*\d{3,}|\d{40,}|\d{3,}\s*!|\\binom")  # what the size guard would refuse
