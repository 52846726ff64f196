"""General solutions of trigonometric equations: families ``a + k T`` compared as sets of angles.

``periodic_verdict(pred, gold)`` (on cleaned answers) reads each side as a list of families, one integer
parameter each (any letter, renamed freely: ``k\\pi`` = ``n\\pi``), with offsets and periods that are rational
multiples of pi or degrees (``\\frac{\\pi}{4} + 2m\\pi``, ``30^\\circ + k \\cdot 180^\\circ``). Two sides are equal
when their unions are the same set: every family is unrolled to residues modulo the least common period,
so ``\\frac{\\pi}{4} + k\\pi`` = ``\\frac{\\pi}{4} + 2k\\pi, \\frac{5\\pi}{4} + 2k\\pi`` and ``\\frac{k\\pi}{2}`` =
``k\\pi, \\frac{\\pi}{2} + k\\pi``. Anything else (a side without a parameter, a non-linear term) gives None.

    periodic_verdict("-\\\\frac{3\\\\pi}{4} + n\\\\pi", "\\\\frac{\\\\pi}{4} + k\\\\pi")   # True
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from deepscaler_grpo.reward.forms import split_top_level
from deepscaler_grpo.reward.tokens import TokenCursor

MAX_RESIDUES = 720  # families unrolled per side
_TOKEN_RE = re.compile(r"\s*(\d+(?:\.\d+)?|\\pi(?![A-Za-z])|\\frac|\\cdot|\\times|\^\s*\{?\s*\\circ\s*\}?|°|"
                       r"[A-Za-z]|[-+*/(){}])")
_LHS_RE = re.compile(r"^\s*[A-Za-z](?:_\{?\w+\}?)?\s*=\s*")
Form = dict[tuple[int, int], Fraction]  # (power of pi, power of the parameter) -> coefficient, powers 0 or 1
ONE, PI, PARAMETER = (0, 0), (1, 0), (0, 1)


def _times(a: Form, b: Form) -> Form:
    out: Form = {}
    for (pa, ka), ca in a.items():
        for (pb, kb), cb in b.items():
            if pa + pb > 1 or ka + kb > 1:
                raise ValueError("not linear in pi and the parameter")
            out[(pa + pb, ka + kb)] = out.get((pa + pb, ka + kb), Fraction(0)) + ca * cb
    return out


def _plus(a: Form, b: Form, sign: int = 1) -> Form:
    out = dict(a)
    for monomial, c in b.items():
        out[monomial] = out.get(monomial, Fraction(0)) + sign * c
    return out


class _Linear(TokenCursor):
    """Recursive descent over one family: sums of products of numbers, pi, degrees and the parameter."""

    def __init__(self, text: str, parameter: str) -> None:
        super().__init__([m.group(1) for m in _TOKEN_RE.finditer(text)])
        if re.sub(r"\s+", "", "".join(self.tokens)) != re.sub(r"\s+", "", text):
            raise ValueError("not a family")
        self.parameter = parameter

    def expr(self) -> Form:
        value = self.product() if self.peek() not in ("+", "-") else {ONE: Fraction(0)}
        while self.peek() in ("+", "-"):
            sign = 1 if self.take() == "+" else -1
            value = _plus(value, self.product(), sign)
        return value

    def product(self) -> Form:
        value = self.factor()
        while self.peek() is not None and self.peek() not in ("+", "-", ")", "}"):
            if self.peek() == "/":
                self.take()
                value = _divided(value, self.factor())
            else:
                if self.peek() in ("\\cdot", "\\times", "*"):
                    self.take()
                value = _times(value, self.factor())
        return value

    def factor(self) -> Form:
        token = self.take()
        if token[0].isdigit():
            value: Form = {ONE: Fraction(token)}
        elif token == "\\pi":
            value = {PI: Fraction(1)}
        elif token == self.parameter:
            value = {PARAMETER: Fraction(1)}
        elif token in ("(", "{"):
            value = self.expr()
            self.take(")" if token == "(" else "}")
        elif token == "\\frac":
            top = self.factor()
            value = _divided(top, self.factor())
        else:
            raise ValueError(f"unexpected {token}")
        if self.peek() is not None and (self.peek().startswith("^") or self.peek() == "°"):
            self.take()
            value = _times(value, {PI: Fraction(1, 180)})  # degrees
        return value


def _divided(a: Form, b: Form) -> Form:
    if set(b) - {ONE} or not b.get(ONE):
        raise ValueError("division by a non-constant")
    return {m: c / b[ONE] for m, c in a.items()}


def _family(item: str) -> tuple[Fraction, Fraction] | None:
    """(offset, period) in units of pi for one item ``a + k T``, period > 0; None when it is not one."""
    item = _LHS_RE.sub("", item)
    letters = set(re.findall(r"(?<![\\A-Za-z])[A-Za-z](?![A-Za-z])", re.sub(r"\\[A-Za-z]+", " ", item)))
    if len(letters) != 1:
        return None
    try:
        parser = _Linear(item, letters.pop())
        form = parser.expr()
        if parser.peek() is not None:
            return None
    except (ValueError, ZeroDivisionError, IndexError, RecursionError):
        return None
    if form.get(ONE) or form.get(PARAMETER) or not form.get((1, 1)):
        return None  # offsets and periods must be multiples of pi (or degrees)
    return form.get(PI, Fraction(0)), abs(form[(1, 1)])


def _residues(families: list[tuple[Fraction, Fraction]], period: Fraction) -> set[Fraction] | None:
    out: set[Fraction] = set()
    for offset, step in families:
        count = period / step
        if count.denominator != 1 or count > MAX_RESIDUES:
            return None
        out |= {(offset + j * step) % period for j in range(int(count))}
    return out


def _lcm(values: list[Fraction]) -> Fraction:
    numerator = math.lcm(*(v.numerator for v in values))
    denominator = math.gcd(*(v.denominator for v in values))
    return Fraction(numerator, denominator)


def periodic_verdict(pred: str, gold: str) -> bool | None:
    """True / False when both sides are lists of families ``a + kT`` (module doc), else None."""
    if "\\pi" not in pred + gold and "circ" not in pred + gold:
        return None
    sides = []
    for text in (pred, gold):
        families = [_family(item) for item in split_top_level(text)]
        if not families or None in families:
            return None
        sides.append(families)
    period = _lcm([step for families in sides for _, step in families])  # type: ignore[misc]
    residues = [_residues(families, period) for families in sides]  # type: ignore[arg-type]
    return None if None in residues else residues[0] == residues[1]
