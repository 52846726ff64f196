"""Exact values of plain numeric answers: integers with thousands separators, decimals, scientific notation,
fractions in every spelling (``-2/3``, ``\\frac{-2}{3}``, mixed ``2\\frac{1}{2}``), powers, repeating decimals
(``0.\\overline{3}``) and infinity, as ``fractions.Fraction`` (float only for +-infinity). Every input is bounded
(digit counts, exponents) before any integer conversion. Used by ``fast``, which cleans the text first (percent, degrees, units, labels).

    parse_value("\\frac{-2}{3}")   # Fraction(-2, 3)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

MAX_DIGITS = 400


MAX_POWER_EXPONENT = 400


_INT = r"\d{1,3}(?:,\d{3})+|\d+"


_UNSIGNED = rf"(?:(?:{_INT})(?:\.\d*)?|\.\d+)"


NUM_RE = re.compile(rf"([+-]?)({_UNSIGNED})(?:[eE]([+-]?\d{{1,4}}))?")


_SCI_RE = re.compile(
    rf"([+-]?)(?:({_UNSIGNED})(?:\\times|\\cdot|\*|×|x))?10\^(?:\{{\s*([+-]?\d{{1,4}})\s*\}}|([+-]?\d))"
)


_POW_RE = re.compile(r"([+-]?)(\d{1,6})\^(?:\{\s*(\d{1,3})\s*\}|(\d))")


_FRAC_RE = re.compile(r"([+-]?)(?:(\d+))?\\frac\{([^{}]*)\}\{([^{}]*)\}")


_SLASH_RE = re.compile(rf"([+-]?)\(?([+-]?{_UNSIGNED})\)?/\(?([+-]?{_UNSIGNED})\)?")


_REPEAT_RE = re.compile(r"([+-]?)(\d*)\.(\d*)\\(?:overline|bar|dot)\{?(\d+)\}?")


_INF_RE = re.compile(r"([+-]?)(?:\\infty|\\infinity|\\inf|∞|oo|infinity)")


@dataclass(frozen=True)
class Number:
    """An exact value parsed from an answer.

    ``percent`` records a trailing % sign; ``plain`` that it was written as a bare integer or
    decimal (not a fraction, power or repeating decimal), for the percent-as-unit reading.
    """

    value: Fraction | float  # float only for +-infinity
    percent: bool = False
    plain: bool = False


def balanced(s: str) -> bool:
    """True when every ``{`` in ``s`` is closed in order."""
    depth = 0
    for char in s:
        depth += (char == "{") - (char == "}")
        if depth < 0:
            return False
    return depth == 0


def strip_outer_braces(s: str) -> str:
    while len(s) >= 2 and s[0] == "{" and s[-1] == "}" and balanced(s[1:-1]):
        s = s[1:-1].strip()
    return s


def _to_fraction(sign: str, digits: str, exponent: str | None = None) -> Fraction | None:
    digits = digits.replace(",", "")
    if len(digits) > MAX_DIGITS or not digits.strip("."):
        return None
    value = Fraction(digits)
    if exponent:
        power = int(exponent)
        if abs(power) > MAX_POWER_EXPONENT:
            return None
        value *= Fraction(10) ** power
    return -value if sign == "-" else value


def _frac_part(s: str) -> Fraction | None:
    """Numerator/denominator of ``\\frac``: a plain signed number (braces allowed)."""
    s = strip_outer_braces(s.replace(" ", ""))
    match = NUM_RE.fullmatch(s)
    if match is None or "," in match.group(2):
        return None
    return _to_fraction(match.group(1), match.group(2), match.group(3))


def _parse_frac(s: str) -> Fraction | None:
    match = _FRAC_RE.fullmatch(s)
    if match is None:
        return None
    sign, whole, num_s, den_s = match.groups()
    num, den = _frac_part(num_s), _frac_part(den_s)
    if num is None or den is None or den == 0:
        return None
    value = num / den
    if whole:  # mixed number: 2\frac{1}{2} = 5/2
        if value < 0 or len(whole) > MAX_DIGITS:
            return None
        value = int(whole) + value
    return -value if sign == "-" else value


def _parse_repeating(s: str) -> Fraction | None:
    match = _REPEAT_RE.fullmatch(s)
    if match is None:
        return None
    sign, whole, fixed, period = match.groups()
    if len(whole) + len(fixed) + len(period) > MAX_DIGITS:
        return None
    base = Fraction(int(whole or "0")) + (Fraction(int(fixed), 10 ** len(fixed)) if fixed else 0)
    value = base + Fraction(int(period), (10 ** len(period) - 1) * 10 ** len(fixed))
    return -value if sign == "-" else value


def parse_value(s: str) -> Fraction | float | None:
    for regex, build in (
        (NUM_RE, lambda m: _to_fraction(m.group(1), m.group(2), m.group(3))),
        (_SCI_RE, lambda m: _to_fraction(m.group(1), m.group(2) or "1", m.group(3) or m.group(4))),
        (_SLASH_RE, _slash_value),
        (_POW_RE, _power_value),
        (_INF_RE, lambda m: float("-inf") if m.group(1) == "-" else float("inf")),
    ):
        match = regex.fullmatch(s)
        if match is not None:
            return build(match)
    return _parse_frac(s) if "\\frac" in s else _parse_repeating(s) if "\\" in s else None


def _slash_value(match: re.Match[str]) -> Fraction | None:
    sign, num_s, den_s = match.groups()
    if "," in num_s + den_s:
        return None
    num, den = _frac_part(num_s), _frac_part(den_s)
    if num is None or den is None or den == 0:
        return None
    return -num / den if sign == "-" else num / den


def _power_value(match: re.Match[str]) -> Fraction | None:
    sign, base, exp_braced, exp_digit = match.groups()
    exponent = int(exp_braced or exp_digit)
    if exponent * len(base) > MAX_DIGITS:
        return None
    value = Fraction(int(base) ** exponent)
    return -value if sign == "-" else value

