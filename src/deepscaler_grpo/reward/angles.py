"""Angles: degrees with minutes and seconds, and an angle in degrees against the same angle in radians.

``angle_verdict(pred, gold)`` (on cleaned answers) decides two kinds of pairs and leaves the rest (None):

- degrees, minutes, seconds: ``60^\\circ 42'`` is 60.7 degrees (``30'`` is half a degree, never 0.3), equal to
  ``60.7^\\circ``, ``60.7`` or another spelling of the same angle;
- an explicit degree sign against a rational multiple of pi: ``120^\\circ`` = ``\\frac{2\\pi}{3}``; a bare number
  is no angle in degrees (``90`` is not ``\\frac{\\pi}{2}``), so the degree sign must be written.

    angle_verdict("30.5^\\\\circ", "30^\\\\circ 30'")   # True
"""

from __future__ import annotations

import re
from fractions import Fraction

from deepscaler_grpo.reward.normalize import parse_number

_DEGREE = r"(?:\^\s*\{?\s*\\circ\s*\}?|°)"
_NUMBER = r"(\d+(?:\.\d+)?)"
_DMS_RE = re.compile(  # 60^\circ 42', 10^\circ 15' 36'', 60° 42'
    r"\s*([+-]?)\s*" + _NUMBER + r"\s*" + _DEGREE + r"\s*(?:" + _NUMBER + r"\s*'(?!'))?\s*(?:" + _NUMBER + r"\s*'')?\s*"
)
_DEGREES_RE = re.compile(r".*\d\s*" + _DEGREE + r"\s*")  # an explicit degree sign after a number
_PI_RE = re.compile(r"\\pi(?![A-Za-z])")


def degrees(text: str) -> tuple[Fraction, bool] | None:
    """(value in degrees, had minutes or seconds) of an angle written with a degree sign, else None."""
    match = _DMS_RE.fullmatch(text)
    if match:
        sign, whole, minutes, seconds = match.groups()
        value = Fraction(whole) + Fraction(minutes or 0) / 60 + Fraction(seconds or 0) / 3600
        return (-value if sign == "-" else value), bool(minutes or seconds)
    if _DEGREES_RE.fullmatch(text):
        number = parse_number(text)
        if number is not None and isinstance(number.value, Fraction) and not number.percent:
            return number.value, False
    return None


def pi_multiple(text: str) -> Fraction | None:
    """r for an answer that is r * pi with r rational (``\\frac{2\\pi}{3}``, ``\\frac34\\pi``, ``-\\pi``), else None."""
    if len(_PI_RE.findall(text)) != 1:
        return None
    rest = _PI_RE.sub("", text).replace(" ", "").replace("{}", "{1}").replace("\\cdot", "")
    rest = "1" + rest if rest[:1] in ("/", "") else rest
    rest = rest[0] + "1" + rest[1:] if rest in ("-", "+") or rest[:2] in ("-/", "+/") else rest
    number = parse_number(rest)
    return number.value if number is not None and isinstance(number.value, Fraction) and not number.percent else None


def angle_verdict(pred: str, gold: str) -> bool | None:
    """Decide the two kinds of angle pairs of the module doc; None for anything else."""
    pred_deg, gold_deg = degrees(pred), degrees(gold)
    if pred_deg is not None and gold_deg is not None:
        return pred_deg[0] == gold_deg[0] if pred_deg[1] or gold_deg[1] else None
    for angle, other in ((pred_deg, gold), (gold_deg, pred)):
        if angle is None:
            continue
        if angle[1]:  # minutes or seconds against a plain number: the same angle in decimal degrees
            number = parse_number(other)
            if number is not None and isinstance(number.value, Fraction) and not number.percent:
                return number.value == angle[0]
        ratio = pi_multiple(other)
        if ratio is not None:
            return angle[0] == ratio * 180
    return None
