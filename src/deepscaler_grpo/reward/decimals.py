"""The decimal policy: when a rounded decimal equals an exact value.

A plain decimal (``85.71``, ``0.866``) with at least ``min_significant_digits`` significant digits
equals an exact value that has no finite decimal expansion (``\\frac{600}{7}``, ``\\frac{\\sqrt3}{2}``,
``\\pi``) when the exact value rounds to it at the decimal's own precision: ``|exact - decimal|`` is at
most half a unit in its last place. This works in both directions (a decimal gold accepts the exact
answer, an exact gold accepts the decimal answer). Everything else stays exact: integers
(``123456788`` is not ``123456789``), two decimals (``0.1`` is not ``0.10000001``), and values with a
finite expansion (gold ``\\frac{3}{16}`` needs ``0.1875``, not ``0.188``: it can be written exactly).

The default, 3 significant digits, is for RL training: a decimal with 3 correct digits is a
computed answer, not a guess (``0.9`` never matches ``\\frac{\\sqrt3}{2}``), and rejecting it would
teach the policy that a right value is wrong. ``DEEPSCALER_VERIFIER_DECIMAL_DIGITS=0`` (or
``set_decimal_digits(0)``) restores the strict policy: no decimal ever equals an exact value.
"""

from __future__ import annotations

import os
import re
from fractions import Fraction

DEFAULT_DECIMAL_DIGITS = 3
PLAIN_DECIMAL_RE = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)")
_MAX_DIGITS = 60  # longer decimals are compared exactly


def _from_env() -> int:
    """$DEEPSCALER_VERIFIER_DECIMAL_DIGITS, else the default."""
    value = os.environ.get("DEEPSCALER_VERIFIER_DECIMAL_DIGITS", "")
    return int(value) if value.isdigit() else DEFAULT_DECIMAL_DIGITS


_SETTINGS = {"digits": _from_env()}


def decimal_digits() -> int:
    """The configured minimum number of significant digits (0: decimals never equal exact values)."""
    return _SETTINGS["digits"]


def set_decimal_digits(digits: int) -> None:
    """Set the minimum significant digits for this process (sent to the workers with each request)."""
    if digits < 0:
        raise ValueError(f"digits must be >= 0, got {digits}")
    _SETTINGS["digits"] = int(digits)


def significant_digits(text: str) -> int:
    """Significant digits of a plain decimal: ``0.0120`` -> 3, ``85.71`` -> 4."""
    digits = re.sub(r"\D", "", text).lstrip("0")
    return len(digits)


def terminates(value: Fraction) -> bool:
    """True when ``value`` has a finite decimal expansion (its denominator is 2^a 5^b)."""
    den = value.denominator
    for prime in (2, 5):
        while den % prime == 0:
            den //= prime
    return den == 1


def rounds_to(exact: Fraction, decimal: str, digits: int | None = None) -> bool:
    """True when ``decimal`` is ``exact`` rounded at its own precision, under the policy above.

    ``exact`` is the exact value or, for an irrational one, a 40-digit approximation; the caller
    checks that the exact value does not terminate (``terminates``).
    """
    digits = decimal_digits() if digits is None else digits
    text = decimal.strip()
    if not digits or not PLAIN_DECIMAL_RE.fullmatch(text) or len(text) > _MAX_DIGITS:
        return False
    if significant_digits(text) < digits:
        return False
    places = len(text.split(".", 1)[1])
    return abs(exact - Fraction(text)) <= Fraction(1, 2 * 10**places)
