"""The decimal policy: when a rounded decimal equals an exact value.

A decimal (``85.71``, ``0.866``, ``2.3148\\times10^{-3}``, ``4.4e-5``) with at least ``digits`` significant
digits equals an exact value that has no finite decimal expansion (``\\frac{600}{7}``, ``\\frac{\\sqrt3}{2}``,
``\\pi``) when the exact value rounds to it at the decimal's own precision: ``|exact - decimal|`` is at most
half a unit in its last place. This works in both directions (a decimal gold accepts the exact answer, an
exact gold accepts the decimal answer). Everything else stays exact: integers (``123456788`` is not
``123456789``), two decimals (``0.1`` is not ``0.10000001``), and values with a finite expansion (gold
``\\frac{3}{16}`` needs ``0.1875``, not ``0.188``: it can be written exactly).

``digits`` is ``VerifierPolicy.decimal_digits``, passed with every call (0: no decimal ever equals an exact
value); there is no process-wide setting.

    rounds_to(Fraction(2, 3), "0.6667", digits=4)   # True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

PLAIN_DECIMAL_RE = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)")
SCIENTIFIC_RE = re.compile(  # 2.3148\times10^{-3}, 2.3148 \cdot 10^{-3}, 2.3148e-3, 2.3148E-03
    r"([+-]?(?:\d+\.\d*|\.\d+|\d+))\s*(?:(?:\\times|\\cdot|\*|×)\s*10\s*\^\s*(?:\{\s*([+-]?\d{1,3})\s*\}|([+-]?\d))"
    r"|[eE]([+-]?\d{1,3}))"
)
_MAX_DIGITS = 60  # longer decimals are compared exactly


@dataclass(frozen=True)
class Decimal:
    """A decimal as written: its value, its significant digits and its unit in the last place."""

    value: Fraction
    significant: int
    last_place: Fraction  # 10^-places: half of it is the rounding tolerance


def significant_digits(text: str) -> int:
    """Significant digits of a plain decimal: ``0.0120`` -> 3, ``85.71`` -> 4."""
    digits = re.sub(r"\D", "", text).lstrip("0")
    return len(digits)


def read_decimal(text: str) -> Decimal | None:
    """A plain decimal (``0.866``) or a decimal in scientific notation (``2.3148\\times10^{-3}``), else None.

    An integer mantissa counts only with an exponent (``5\\times10^{-3}``); plain integers are exact.
    """
    text = text.strip()
    if len(text) > _MAX_DIGITS:
        return None
    mantissa, exponent = text, 0
    if not PLAIN_DECIMAL_RE.fullmatch(text):
        match = SCIENTIFIC_RE.fullmatch(text)
        if match is None:
            return None
        mantissa, exponent = match.group(1), int(match.group(2) or match.group(3) or match.group(4))
    places = len(mantissa.split(".", 1)[1]) if "." in mantissa else 0
    scale = Fraction(10) ** exponent
    return Decimal(Fraction(mantissa) * scale, significant_digits(mantissa), scale / 10**places)


def terminates(value: Fraction) -> bool:
    """True when ``value`` has a finite decimal expansion (its denominator is 2^a 5^b)."""
    den = value.denominator
    for prime in (2, 5):
        while den % prime == 0:
            den //= prime
    return den == 1


def rounds_to(exact: Fraction, decimal: str, digits: int) -> bool:
    """True when ``decimal`` is ``exact`` rounded at its own precision, under the policy above.

    ``exact`` is the exact value or, for an irrational one, a 40-digit approximation; the caller
    checks that the exact value does not terminate (``terminates``).
    """
    read = read_decimal(decimal) if digits > 0 else None
    if read is None or read.significant < digits:
        return False
    return abs(exact - read.value) <= read.last_place / 2
